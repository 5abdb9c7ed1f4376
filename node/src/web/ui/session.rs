//! Operator sessions: a login with the operator token gives a random session
//! id in an `HttpOnly; SameSite=Strict` cookie, and a CSRF token that every
//! form of the operator carries. Sessions live in memory: a restart logs the
//! operator out, which is the safe default for a node that may run for months.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Name of the session cookie.
pub(crate) const COOKIE: &str = "essaim_session";
/// How long a session lasts without use.
pub(crate) const IDLE: Duration = Duration::from_secs(12 * 3600);
/// Most sessions kept at once (the oldest goes first).
const MAX_SESSIONS: usize = 256;

/// A logged-in operator.
#[derive(Clone, Debug)]
pub(crate) struct Session {
    /// The session id (the cookie's value).
    pub(crate) id: String,
    /// The token the operator's forms carry.
    pub(crate) csrf: String,
}

impl Session {
    /// Whether a form's CSRF token is this session's (in constant time).
    pub(crate) fn csrf_matches(&self, token: &str) -> bool {
        constant_time_eq(self.csrf.as_bytes(), token.as_bytes())
    }
}

/// The sessions of this node.
#[derive(Default)]
pub(crate) struct Sessions {
    map: Mutex<HashMap<String, (Session, Instant)>>,
}

impl Sessions {
    /// A new session; `None` only if the system's random source fails.
    pub(crate) fn create(&self) -> Option<Session> {
        let session = Session {
            id: random_hex()?,
            csrf: random_hex()?,
        };
        let mut map = self.map.lock().ok()?;
        let now = Instant::now();
        map.retain(|_, (_, used)| now.duration_since(*used) < IDLE);
        if map.len() >= MAX_SESSIONS
            && let Some(oldest) = map
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(id, _)| id.clone())
        {
            map.remove(&oldest);
        }
        map.insert(session.id.clone(), (session.clone(), now));
        Some(session)
    }

    /// The live session with this id, which counts as a use.
    pub(crate) fn get(&self, id: &str) -> Option<Session> {
        let mut map = self.map.lock().ok()?;
        let now = Instant::now();
        let (session, used) = map.get_mut(id)?;
        if now.duration_since(*used) >= IDLE {
            map.remove(id);
            return None;
        }
        *used = now;
        Some(session.clone())
    }

    /// End a session.
    pub(crate) fn remove(&self, id: &str) {
        if let Ok(mut map) = self.map.lock() {
            map.remove(id);
        }
    }
}

fn random_hex() -> Option<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Equality whose time does not depend on where the inputs differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_random_found_and_ended() {
        let sessions = Sessions::default();
        let a = sessions.create().unwrap();
        let b = sessions.create().unwrap();
        assert_ne!(a.id, b.id);
        assert_ne!(a.id, a.csrf);
        assert_eq!(a.id.len(), 64);
        assert_eq!(sessions.get(&a.id).unwrap().csrf, a.csrf);
        assert!(sessions.get("nope").is_none());
        assert!(a.csrf_matches(&a.csrf));
        assert!(!a.csrf_matches(&b.csrf));
        assert!(!a.csrf_matches(""));
        sessions.remove(&a.id);
        assert!(sessions.get(&a.id).is_none());
        assert!(sessions.get(&b.id).is_some());
    }

    #[test]
    fn the_oldest_session_goes_when_full() {
        let sessions = Sessions::default();
        let first = sessions.create().unwrap();
        for _ in 0..MAX_SESSIONS {
            sessions.create().unwrap();
        }
        assert!(sessions.get(&first.id).is_none());
    }
}
