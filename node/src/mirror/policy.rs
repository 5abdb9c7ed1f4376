//! The URL policy of mirrors: which origins a node agrees to fetch from.
//!
//! A repository URL comes from a signed record, that is from anyone. Fetching
//! it must not let its author make the node run commands (`ext::`), read its
//! own files (`file://`, local paths), use ssh keys, or reach services that
//! only the node can reach (loopback, the LAN, cloud metadata at
//! 169.254.169.254…). So before any network access:
//!
//! 1. [`UrlPolicy::check_syntax`] (pure): `https://` only (`http://` when
//!    configured), a host, no credentials, no other transport;
//! 2. [`UrlPolicy::resolve`]: the host's addresses are resolved once and
//!    every one of them is checked by [`classify`] (pure); a single
//!    forbidden address refuses the URL;
//! 3. the `git` process is then pinned to exactly those addresses
//!    (`http.curloptResolve`) and follows no redirect
//!    (`http.followRedirects=false`), so a DNS answer that changes between
//!    the check and the connection (rebinding) or a redirect to a private
//!    address cannot reach anything that was not checked.
//!
//! A refusal is a [`Refused`] that says why; no connection is attempted.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Which origins may be mirrored; from `[mirror]` in the configuration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UrlPolicy {
    /// Plain `http://` origins (`mirror.allow_http`).
    pub allow_http: bool,
    /// Hosts resolving to loopback addresses (`mirror.allow_loopback`: tests, demos).
    pub allow_loopback: bool,
    /// Hosts resolving to private, link-local or CGNAT addresses
    /// (`mirror.allow_private`: a node on a LAN mirroring a LAN forge).
    pub allow_private: bool,
}

/// Why a URL is refused.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Not an absolute URL (a local path, `ext::…`, garbage).
    #[error("`{url}` is not an absolute https:// URL")]
    NotAUrl {
        /// The URL as given (shortened).
        url: String,
    },
    /// A scheme other than https (or http when allowed).
    #[error("the `{scheme}` transport is not allowed for mirrors (only https{http})")]
    Scheme {
        /// The scheme found.
        scheme: String,
        /// `" and http"` when http is allowed.
        http: &'static str,
    },
    /// User name or password in the URL.
    #[error("credentials in a repository URL are not allowed")]
    Credentials,
    /// No host.
    #[error("the URL has no host")]
    NoHost,
    /// Control characters or spaces.
    #[error("the URL contains spaces or control characters")]
    Characters,
    /// The host name did not resolve.
    #[error("cannot resolve `{host}`: {reason}")]
    Resolve {
        /// The host.
        host: String,
        /// The resolver's reason.
        reason: String,
    },
    /// The host resolves to (or is) an address in a forbidden range.
    #[error("`{host}` resolves to {addr}, a {range} address: refused")]
    Address {
        /// The host.
        host: String,
        /// The forbidden address.
        addr: IpAddr,
        /// The range's name (`loopback`, `private`…).
        range: Range,
    },
}

/// The ranges of addresses that [`classify`] tells apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Range {
    /// A public unicast address.
    Public,
    /// 127.0.0.0/8, ::1.
    Loopback,
    /// 10/8, 172.16/12, 192.168/16, fc00::/7.
    Private,
    /// 169.254/16, fe80::/10.
    LinkLocal,
    /// 100.64.0.0/10 (carrier-grade NAT).
    Cgnat,
    /// 224/4, ff00::/8.
    Multicast,
    /// 0.0.0.0/8, ::.
    Unspecified,
    /// Broadcast, documentation, benchmarking, 240/4, site-local, and other
    /// special-purpose ranges that no forge lives at.
    Reserved,
}

impl std::fmt::Display for Range {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Range::Public => "public",
            Range::Loopback => "loopback",
            Range::Private => "private",
            Range::LinkLocal => "link-local",
            Range::Cgnat => "carrier-grade NAT",
            Range::Multicast => "multicast",
            Range::Unspecified => "unspecified",
            Range::Reserved => "reserved",
        })
    }
}

/// The range an address belongs to. IPv6 addresses that embed an IPv4
/// address (mapped `::ffff:a.b.c.d`, compatible `::a.b.c.d`, NAT64
/// `64:ff9b::/96`, 6to4 `2002::/16`) are judged by the IPv4 address.
pub fn classify(addr: IpAddr) -> Range {
    match addr {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(a: Ipv4Addr) -> Range {
    let [o0, o1, o2, _] = a.octets();
    if o0 == 0 {
        Range::Unspecified
    } else if a.is_loopback() {
        Range::Loopback
    } else if a.is_private() {
        Range::Private
    } else if a.is_link_local() {
        Range::LinkLocal
    } else if o0 == 100 && (o1 & 0xc0) == 64 {
        Range::Cgnat
    } else if a.is_multicast() {
        Range::Multicast
    } else if a.is_broadcast()
        || o0 >= 240
        || (o0 == 192 && o1 == 0 && o2 == 0)
        || (o0 == 192 && o1 == 0 && o2 == 2)
        || (o0 == 198 && o1 == 51 && o2 == 100)
        || (o0 == 203 && o1 == 0 && o2 == 113)
        || (o0 == 198 && (o1 & 0xfe) == 18)
    {
        Range::Reserved
    } else {
        Range::Public
    }
}

fn classify_v6(a: Ipv6Addr) -> Range {
    let s = a.segments();
    if a.is_unspecified() {
        return Range::Unspecified;
    }
    if a.is_loopback() {
        return Range::Loopback;
    }
    if let Some(v4) = a.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    // IPv4-compatible (deprecated) ::a.b.c.d and NAT64 64:ff9b::/96.
    if (s[..6] == [0; 6]) || (s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4]) {
        let [a0, a1] = s[6].to_be_bytes();
        let [a2, a3] = s[7].to_be_bytes();
        return classify_v4(Ipv4Addr::new(a0, a1, a2, a3));
    }
    // 6to4: 2002:AABB:CCDD::/48 embeds AA.BB.CC.DD.
    if s[0] == 0x2002 {
        let [a0, a1] = s[1].to_be_bytes();
        let [a2, a3] = s[2].to_be_bytes();
        return match classify_v4(Ipv4Addr::new(a0, a1, a2, a3)) {
            Range::Public => Range::Public,
            _ => Range::Reserved,
        };
    }
    if (s[0] & 0xfe00) == 0xfc00 {
        Range::Private
    } else if (s[0] & 0xffc0) == 0xfe80 {
        Range::LinkLocal
    } else if (s[0] & 0xff00) == 0xff00 {
        Range::Multicast
    } else if (s[0] & 0xffc0) == 0xfec0
        || (s[0] == 0x2001 && s[1] == 0x0db8)
        || (s[0] == 0x2001 && s[1] == 0)
        || s[0] == 0x0100 && s[1..4] == [0; 3]
    {
        // Site-local, documentation, Teredo, discard-only.
        Range::Reserved
    } else {
        Range::Public
    }
}

/// A URL that passed the policy, with the addresses the connection must use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedUrl {
    /// The URL, normalised (`https://host[:port]/path`): what `git` is given.
    pub url: url::Url,
    /// The host as written in the URL (a name or an address literal).
    pub host: String,
    /// The port (443, 80 or explicit).
    pub port: u16,
    /// Every address the host resolved to, all allowed.
    pub addrs: Vec<IpAddr>,
}

impl CheckedUrl {
    /// The `http.curloptResolve` value that pins `git`'s connection to the
    /// checked addresses (`host:port:addr,addr`); `None` for an address
    /// literal, which needs no resolution.
    pub fn curl_resolve(&self) -> Option<String> {
        if self.host.parse::<IpAddr>().is_ok() || self.host.starts_with('[') {
            return None;
        }
        let addrs: Vec<String> = self
            .addrs
            .iter()
            .map(|a| match a {
                IpAddr::V4(v4) => v4.to_string(),
                IpAddr::V6(v6) => format!("[{v6}]"),
            })
            .collect();
        Some(format!("{}:{}:{}", self.host, self.port, addrs.join(",")))
    }
}

/// Most characters of a refused URL repeated in an error.
const SHOWN_MAX: usize = 120;

fn shown(url: &str) -> String {
    let mut s: String = url.chars().take(SHOWN_MAX).collect();
    if url.chars().count() > SHOWN_MAX {
        s.push('…');
    }
    s
}

impl UrlPolicy {
    /// Whether an address in `range` may be connected to.
    pub fn allows(&self, range: Range) -> bool {
        match range {
            Range::Public => true,
            Range::Loopback => self.allow_loopback,
            Range::Private | Range::LinkLocal | Range::Cgnat => self.allow_private,
            Range::Multicast | Range::Unspecified | Range::Reserved => false,
        }
    }

    /// Check a URL's form, without any network access.
    pub fn check_syntax(&self, raw: &str) -> Result<url::Url, Refused> {
        if raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(Refused::Characters);
        }
        let http = if self.allow_http { " and http" } else { "" };
        // `git` reads `<transport>::<address>` as "run git-remote-<transport>":
        // refuse it before the URL parser sees a scheme in it.
        if let Some((before, _)) = raw.split_once("::")
            && !before.contains('/')
        {
            return Err(Refused::Scheme {
                scheme: format!("{before}::"),
                http,
            });
        }
        let url = url::Url::parse(raw).map_err(|_| Refused::NotAUrl { url: shown(raw) })?;
        let scheme_ok = match url.scheme() {
            "https" => true,
            "http" => self.allow_http,
            _ => false,
        };
        if !scheme_ok {
            return Err(Refused::Scheme {
                scheme: url.scheme().to_owned(),
                http,
            });
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refused::Credentials);
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(Refused::NoHost);
        }
        if let Some(host) = url.host() {
            let literal = match host {
                url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
                url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
                url::Host::Domain(_) => None,
            };
            if let Some(addr) = literal {
                self.check_addr(&host.to_string(), addr)?;
            }
        }
        Ok(url)
    }

    fn check_addr(&self, host: &str, addr: IpAddr) -> Result<(), Refused> {
        let range = classify(addr);
        if self.allows(range) {
            Ok(())
        } else {
            Err(Refused::Address {
                host: host.to_owned(),
                addr,
                range,
            })
        }
    }

    /// Check the URL's form, then resolve its host and check every address.
    pub async fn resolve(&self, raw: &str) -> Result<CheckedUrl, Refused> {
        let url = self.check_syntax(raw)?;
        let host = url.host_str().unwrap_or_default().to_owned();
        let port = url.port_or_known_default().unwrap_or(443);
        let addrs: Vec<IpAddr> = match url.host() {
            Some(url::Host::Ipv4(v4)) => vec![IpAddr::V4(v4)],
            Some(url::Host::Ipv6(v6)) => vec![IpAddr::V6(v6)],
            _ => {
                let found = tokio::net::lookup_host((host.as_str(), port))
                    .await
                    .map_err(|e| Refused::Resolve {
                        host: host.clone(),
                        reason: e.to_string(),
                    })?;
                let mut addrs: Vec<IpAddr> = found.map(|a| a.ip()).collect();
                addrs.sort();
                addrs.dedup();
                addrs
            }
        };
        if addrs.is_empty() {
            return Err(Refused::Resolve {
                host,
                reason: "no address".into(),
            });
        }
        for addr in &addrs {
            self.check_addr(&host, *addr)?;
        }
        Ok(CheckedUrl {
            url,
            host,
            port,
            addrs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: UrlPolicy = UrlPolicy {
        allow_http: false,
        allow_loopback: false,
        allow_private: false,
    };

    #[test]
    fn hostile_syntax_is_refused_with_a_reason() {
        let corpus: &[(&str, &str)] = &[
            ("ext::sh -c touch% /tmp/pwned", "spaces"),
            ("ext::sh%20-c%20id", "ext::"),
            ("fd::17", "fd::"),
            ("https::ext::sh", "https::"),
            ("file:///etc/passwd", "`file`"),
            ("FILE:///etc/passwd", "`file`"),
            ("/srv/git/repo.git", "not an absolute"),
            ("../../repo.git", "not an absolute"),
            ("./repo", "not an absolute"),
            ("repo.git", "not an absolute"),
            ("ssh://git@example.org/r.git", "`ssh`"),
            ("git@example.org:r.git", "not an absolute"),
            ("git://example.org/r.git", "`git`"),
            ("http://example.org/r.git", "`http`"),
            ("ftp://example.org/r.git", "`ftp`"),
            ("https://user:pw@example.org/r.git", "credentials"),
            ("https://user@example.org/r.git", "credentials"),
            ("https://token:@example.org/r.git", "credentials"),
            ("https://", "not an absolute"),
            ("https://:443/r.git", "not an absolute"),
            ("https://example.org/r.git\n", "control"),
            ("https://exa mple.org/", "spaces"),
            ("https://127.0.0.1/r.git", "loopback"),
            ("https://127.1/r.git", "loopback"),
            ("https://2130706433/r.git", "loopback"),
            ("https://0x7f000001/r.git", "loopback"),
            ("https://[::1]/r.git", "loopback"),
            ("https://[::ffff:127.0.0.1]/r.git", "loopback"),
            ("https://[::ffff:10.0.0.1]/r.git", "private"),
            ("https://[::127.0.0.1]/r.git", "loopback"),
            ("https://[64:ff9b::a9fe:a9fe]/r.git", "link-local"),
            ("https://[2002:7f00:1::]/r.git", "reserved"),
            ("https://10.1.2.3/r.git", "private"),
            ("https://172.16.0.1/r.git", "private"),
            ("https://172.31.255.255/r.git", "private"),
            ("https://192.168.1.1/r.git", "private"),
            ("https://[fd00::1]/r.git", "private"),
            ("https://169.254.169.254/latest/meta-data", "link-local"),
            ("https://[fe80::1]/r.git", "link-local"),
            ("https://100.64.0.1/r.git", "carrier-grade NAT"),
            ("https://100.127.255.254/r.git", "carrier-grade NAT"),
            ("https://224.0.0.1/r.git", "multicast"),
            ("https://[ff02::1]/r.git", "multicast"),
            ("https://0.0.0.0/r.git", "unspecified"),
            ("https://[::]/r.git", "unspecified"),
            ("https://255.255.255.255/r.git", "reserved"),
            ("https://240.0.0.1/r.git", "reserved"),
            ("https://192.0.2.1/r.git", "reserved"),
            ("https://[2001:db8::1]/r.git", "reserved"),
        ];
        for (url, reason) in corpus {
            let err = STRICT
                .check_syntax(url)
                .expect_err(&format!("{url} must be refused"));
            assert!(err.to_string().contains(reason), "{url}: {err}");
        }
    }

    #[test]
    fn ordinary_urls_pass_and_are_normalised() {
        for (url, normal) in [
            (
                "https://codeberg.org/org/repo.git",
                "https://codeberg.org/org/repo.git",
            ),
            ("HTTPS://Example.ORG/r", "https://example.org/r"),
            (
                "https://93.184.215.14:8443/r",
                "https://93.184.215.14:8443/r",
            ),
            ("https://[2606:4700::1]/r", "https://[2606:4700::1]/r"),
        ] {
            assert_eq!(STRICT.check_syntax(url).unwrap().as_str(), normal);
        }
    }

    #[test]
    fn configuration_opens_what_it_names_only() {
        let open = UrlPolicy {
            allow_http: true,
            allow_loopback: true,
            allow_private: false,
        };
        assert!(open.check_syntax("http://127.0.0.1:8080/r.git").is_ok());
        assert!(open.check_syntax("http://[::1]/r.git").is_ok());
        assert!(open.check_syntax("http://10.0.0.1/r.git").is_err());
        for never in [
            "ext::sh",
            "file:///x",
            "ssh://h/r",
            "git://h/r",
            "https://224.0.0.1/",
            "https://0.0.0.0/",
        ] {
            let all = UrlPolicy {
                allow_http: true,
                allow_loopback: true,
                allow_private: true,
            };
            assert!(all.check_syntax(never).is_err(), "{never}");
        }
    }

    #[test]
    fn ranges() {
        for (addr, range) in [
            ("8.8.8.8", Range::Public),
            ("100.63.255.255", Range::Public),
            ("100.128.0.0", Range::Public),
            ("172.32.0.1", Range::Public),
            ("2606:4700::1", Range::Public),
            ("::ffff:8.8.8.8", Range::Public),
            ("2002:808:808::1", Range::Public),
            ("198.18.0.1", Range::Reserved),
            ("fec0::1", Range::Reserved),
        ] {
            assert_eq!(classify(addr.parse().unwrap()), range, "{addr}");
        }
    }

    #[tokio::test]
    async fn names_resolving_to_loopback_are_refused() {
        let err = STRICT.resolve("https://localhost/r.git").await.unwrap_err();
        assert!(
            matches!(
                err,
                Refused::Address {
                    range: Range::Loopback,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("localhost"), "{err}");
        let loopback = UrlPolicy {
            allow_loopback: true,
            ..STRICT
        };
        let ok = loopback.resolve("https://localhost:9/r.git").await.unwrap();
        assert!(ok.addrs.iter().all(|a| a.is_loopback()));
        let pin = ok.curl_resolve().unwrap();
        assert!(pin.starts_with("localhost:9:"), "{pin}");
        let literal = loopback.resolve("https://127.0.0.1:9/r").await.unwrap();
        assert_eq!(literal.curl_resolve(), None);
    }
}
