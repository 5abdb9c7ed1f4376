//! Endorsements written by the operator: `essaim endorse` and the form on
//! an initiative's page both describe what they want in an
//! [`EndorseRequest`]; this module turns it into a body to sign (or, for a
//! revocation, a new version of an existing endorsement with `revoked`).
//! The protocol crate checks the field rules when the body is signed.

use std::collections::BTreeSet;

use essaim_protocol::record::Subject;
use essaim_protocol::vocab::EndorsementType;
use essaim_protocol::{Address, Body, HubId, Kind, Territory};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::store::{Store, StoreError};

/// What the operator asks for.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndorseRequest {
    /// The initiative (`z6Mk…/slug`, `did:key:…/slug` or its full address)
    /// or a hub id (`z6Mk…`).
    pub subject: String,
    /// `label`, `replication`, `funding` or `recommendation`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The label's name (`label`).
    #[serde(default)]
    pub label: Option<String>,
    /// End of validity: `YYYY-MM-DD` (valid through that day, UTC) or unix seconds.
    #[serde(default)]
    pub until: Option<String>,
    /// Where (`replication`: required; `funding`: optional).
    #[serde(default)]
    pub territory: Option<String>,
    /// Who carries the replication.
    #[serde(default)]
    pub carrier: Option<String>,
    /// Amount granted in euro cents (`funding`).
    #[serde(default)]
    pub amount_cents: Option<u64>,
    /// The funding programme (`funding`).
    #[serde(default)]
    pub programme: Option<String>,
    /// A free comment.
    #[serde(default)]
    pub comment: Option<String>,
}

/// Why an endorsement cannot be made.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum EndorseError {
    /// A field is wrong; the message says how to write it.
    #[error("{field}: {message}")]
    Field {
        /// The request's field.
        field: &'static str,
        /// What to write instead.
        message: String,
    },
    /// The endorsement to revoke is not there.
    #[error("no endorsement of this hub at {0} on this node")]
    NotFound(String),
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The record breaks a rule of the format.
    #[error(transparent)]
    Record(#[from] essaim_protocol::RecordError),
}

impl EndorseError {
    /// The request field at fault, if any.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            EndorseError::Field { field, .. } => Some(field),
            _ => None,
        }
    }
}

fn field(field: &'static str, message: impl Into<String>) -> EndorseError {
    EndorseError::Field {
        field,
        message: message.into(),
    }
}

/// The subject as written: an initiative (`hub/slug` or a full address) or
/// a hub id.
pub fn parse_subject(text: &str) -> Result<Subject, EndorseError> {
    let text = text.trim();
    if text.contains('/') {
        let address = Address::parse_initiative(text).map_err(|rule| {
            field(
                "subject",
                format!(
                    "`{text}`: {rule}; write the initiative as HUB/SLUG (z6Mk…/epicerie-solidaire)"
                ),
            )
        })?;
        Ok(Subject::Initiative(address))
    } else {
        HubId::parse_lenient(text)
            .map(Subject::Hub)
            .map_err(|rule| {
                field(
                    "subject",
                    format!(
                        "`{text}`: {rule}; write HUB/SLUG for an initiative or z6Mk… for a hub"
                    ),
                )
            })
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day number (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `YYYY-MM-DD` → the first second after that day (UTC), so that the
/// endorsement is valid through the day; or unix seconds as they are.
pub fn parse_until(text: &str) -> Result<u64, EndorseError> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(secs);
    }
    let bad = || field("until", format!("`{text}` is not a date: write YYYY-MM-DD"));
    let mut parts = text.splitn(3, '-');
    let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let (Ok(y), Ok(m), Ok(d)) = (y.parse::<i64>(), m.parse::<u32>(), d.parse::<u32>()) else {
        return Err(bad());
    };
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(bad());
    }
    let days = days_from_civil(y, m, d);
    // A day that does not exist (31 February) comes out as another date.
    if civil_from_days(days) != (y, m, d) {
        return Err(bad());
    }
    Ok(((days + 1) * 86_400) as u64)
}

/// A slug for a new endorsement: its type, its subject and the time, so
/// that two endorsements never share an address by accident.
fn new_slug(kind: EndorsementType, subject: &Subject, seq: u64) -> String {
    let about = match subject {
        Subject::Initiative(address) => address.slug.to_string(),
        Subject::Hub(hub) => hub.short().to_ascii_lowercase().chars().take(12).collect(),
    };
    let stamp = base36(seq);
    let prefix = kind.code();
    let room = essaim_protocol::limits::SLUG_MAX - prefix.len() - stamp.len() - 2;
    let about: String = about.chars().take(room).collect();
    let about = about.trim_matches('-');
    format!("{prefix}-{about}-{stamp}")
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

fn text_field(value: &Option<String>) -> Option<String> {
    value
        .as_ref()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// The body of a new endorsement by `own`, at `now` (seconds) with `seq`.
pub fn build(
    request: &EndorseRequest,
    own: HubId,
    now: u64,
    seq: u64,
) -> Result<Body, EndorseError> {
    let kind = EndorsementType::from_code(request.kind.trim()).ok_or_else(|| {
        field(
            "type",
            format!(
                "`{}` is not an endorsement type: label, replication, funding or recommendation",
                request.kind
            ),
        )
    })?;
    let subject = parse_subject(&request.subject)?;
    let mut body = json!({
        "v": 1, "kind": "endorsement", "author": own.to_string(),
        "slug": new_slug(kind, &subject, seq), "seq": seq, "created": now,
        "subject": subject.to_string(), "type": kind.code(),
    });
    let set = |body: &mut Value, name: &str, value: Value| {
        body[name] = value;
    };
    if kind == EndorsementType::Label {
        let label = text_field(&request.label)
            .ok_or_else(|| field("label", "a label needs its name (--label NAME)"))?;
        set(&mut body, "label", json!(label));
    }
    if let Some(territory) = text_field(&request.territory) {
        let territory = Territory::parse(&territory)
            .map_err(|e| field("territory", format!("`{territory}`: {e}")))?;
        set(&mut body, "territory", json!(territory.to_string()));
    }
    if kind == EndorsementType::Replication && request.territory.is_none() {
        return Err(field(
            "territory",
            "a replication says where: --replicated-in dep:69 (or reg:84, com:69123)",
        ));
    }
    if let Some(carrier) = text_field(&request.carrier) {
        set(&mut body, "carrier", json!(carrier));
    }
    if kind == EndorsementType::Funding {
        let amount = request
            .amount_cents
            .ok_or_else(|| field("amount_cents", "funding needs an amount in euro cents"))?;
        set(&mut body, "amount_cents", json!(amount));
        let programme = text_field(&request.programme).ok_or_else(|| {
            field(
                "programme",
                "funding needs its programme (--programme NAME)",
            )
        })?;
        set(&mut body, "programme", json!(programme));
    }
    if let Some(comment) = text_field(&request.comment) {
        set(&mut body, "comment", json!(comment));
    }
    if let Some(until) = text_field(&request.until) {
        let until = parse_until(&until)?;
        if until <= now {
            return Err(field("until", "the end of validity is already past"));
        }
        set(&mut body, "valid_until", json!(until));
    }
    Ok(Body::from_json(body)?)
}

/// The address of an endorsement as written: full (`did:key:…/endorsement/slug`)
/// or short (`z6Mk…/endorsement/slug`).
pub fn parse_endorsement_address(text: &str) -> Result<Address, EndorseError> {
    let text = text.trim();
    let bad = || {
        field(
            "revoke",
            format!("`{text}` is not an endorsement's address: write HUB/endorsement/SLUG"),
        )
    };
    let mut parts = text.rsplitn(3, '/');
    let (Some(slug), Some(kind), Some(hub)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    if kind != Kind::Endorsement.code() {
        return Err(bad());
    }
    Ok(Address {
        author: HubId::parse_lenient(hub).map_err(|_| bad())?,
        kind: Kind::Endorsement,
        slug: slug.parse().map_err(|_| bad())?,
    })
}

/// A new version of `own`'s endorsement at `address`, revoked.
pub fn revoke(
    store: &Store,
    own: HubId,
    address: &Address,
    now: u64,
    seq: u64,
) -> Result<Body, EndorseError> {
    if address.author != own {
        return Err(field(
            "revoke",
            "only the hub that issued an endorsement can revoke it, and this one is another hub's",
        ));
    }
    let head = store
        .head(address)?
        .ok_or_else(|| EndorseError::NotFound(address.to_string()))?;
    let Body::Endorsement(mut endorsement) = head.record.body().clone() else {
        return Err(EndorseError::NotFound(address.to_string()));
    };
    if endorsement.revoked {
        return Err(field("revoke", "this endorsement is already revoked"));
    }
    endorsement.revoked = true;
    endorsement.seq = seq.max(endorsement.seq + 1);
    endorsement.created = now.max(endorsement.created);
    if endorsement
        .valid_until
        .is_some_and(|u| u <= endorsement.created)
    {
        endorsement.valid_until = None;
    }
    Ok(Body::Endorsement(endorsement))
}

/// Initiatives with an endorsement whose validity ended in `(since, now]`:
/// their search documents (labels, deployments) must change.
pub fn expired_subjects(
    store: &Store,
    since: u64,
    now: u64,
) -> Result<BTreeSet<Address>, StoreError> {
    let mut out = BTreeSet::new();
    let mut after = 0;
    loop {
        let page = store.heads_of_kind(Kind::Endorsement, None, after, u64::MAX, 2_000)?;
        let Some(last) = page.last().map(|h| h.change) else {
            break;
        };
        for head in &page {
            if let Body::Endorsement(e) = head.record.body()
                && e.valid_until.is_some_and(|u| u > since && u <= now)
                && let Subject::Initiative(address) = &e.subject
            {
                out.insert(address.clone());
            }
        }
        after = last;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_valid_through_their_day() {
        assert_eq!(parse_until("1970-01-01").unwrap(), 86_400);
        assert_eq!(parse_until("2026-12-31").unwrap(), 1_798_761_600);
        assert!(parse_until("2026-02-31").is_err());
        assert!(parse_until("demain").is_err());
        assert!(parse_until("2026-13-01").is_err());
        assert_eq!(parse_until("1800000000").unwrap(), 1_800_000_000);
    }

    #[test]
    fn slugs_are_valid_and_bounded() {
        let hub = essaim_protocol::HubKey::from_seed(&[1; 32]).hub_id();
        let subject = Subject::Initiative(Address {
            author: hub,
            kind: Kind::Initiative,
            slug: "a".repeat(64).parse().unwrap(),
        });
        let slug = new_slug(EndorsementType::Recommendation, &subject, u64::MAX);
        assert!(slug.len() <= 64);
        assert!(
            slug.parse::<essaim_protocol::record::Slug>().is_ok(),
            "{slug}"
        );
        let slug = new_slug(
            EndorsementType::Label,
            &Subject::Hub(hub),
            1_795_000_000_000,
        );
        assert!(
            slug.parse::<essaim_protocol::record::Slug>().is_ok(),
            "{slug}"
        );
    }

    #[test]
    fn hostile_requests_are_refused_with_the_field() {
        let hub = essaim_protocol::HubKey::from_seed(&[1; 32]).hub_id();
        let subject = format!("{}/epicerie", hub.short());
        let base = EndorseRequest {
            subject: subject.clone(),
            kind: "label".into(),
            ..Default::default()
        };
        assert_eq!(
            build(&base, hub, 1_700_000_000, 1).unwrap_err().field(),
            Some("label")
        );
        let bad_type = EndorseRequest {
            kind: "<script>".into(),
            ..base.clone()
        };
        assert_eq!(
            build(&bad_type, hub, 1, 1).unwrap_err().field(),
            Some("type")
        );
        let bad_subject = EndorseRequest {
            subject: "../../etc/passwd".into(),
            label: Some("x".into()),
            ..base.clone()
        };
        assert!(build(&bad_subject, hub, 1, 1).is_err());
        let replication = EndorseRequest {
            kind: "replication".into(),
            territory: Some("dep:99".into()),
            ..base.clone()
        };
        assert_eq!(
            build(&replication, hub, 1, 1).unwrap_err().field(),
            Some("territory")
        );
        let ok = EndorseRequest {
            kind: "replication".into(),
            territory: Some("dep:69".into()),
            carrier: Some("Coop".into()),
            ..base
        };
        assert!(build(&ok, hub, 1_700_000_000, 1_700_000_000_000).is_ok());
    }
}
