//! The pre-approval's `IPAddress`: the address TPP will see when the signer connects. TPP
//! silently ignores a pre-approval whose address differs, and signing then stops at a manual
//! approval, so `auto` pre-approves the route's source address only where that is what TPP
//! sees, and refuses to guess where NAT sits in between. The decision ([`judge`]) is pure;
//! DNS, the route lookup and the echo request are at the edge ([`find`]).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use reqwest::{Method, Url};

use crate::config::{InputError, RunError, RunnerIp, TppConfig};
use crate::http::{Call, Http};

/// What `auto` makes of the route's source address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// TPP sees this address: pre-approve it.
    Use,
    /// TPP sees another address (the NAT's), so a pre-approval for this one would not be used.
    Refuse(Nat),
}

/// Why NAT is taken to sit between the runner and TPP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nat {
    /// `RUNNER_ENVIRONMENT=github-hosted`: GitHub's runners reach the internet through NAT, always.
    GithubHosted,
    /// A private address does not travel the internet: something translates it on the way.
    PrivateToPublic,
}

/// Addresses that are not routed on the internet, so a packet from one to a public address has
/// been translated on the way: RFC 1918, shared address space (CGNAT, 100.64/10), link-local,
/// unique local (`fc00::/7`).
pub fn is_private(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_private() || v4.is_link_local() || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80
        }
    }
}

/// Whether TPP sees `runner` (the local source address of the route to `tpp`). A loopback TPP
/// sees the loopback address; a public runner address is seen as it is; a private runner
/// address is seen only by a private TPP, which is taken to be on the same private network.
/// A private address towards a public TPP is always translated.
pub fn judge(runner: IpAddr, tpp: IpAddr, github_hosted: bool) -> Verdict {
    let (runner, tpp) = (runner.to_canonical(), tpp.to_canonical());
    if tpp.is_loopback() || !is_private(runner) || is_private(tpp) {
        return Verdict::Use;
    }
    Verdict::Refuse(if github_hosted { Nat::GithubHosted } else { Nat::PrivateToPublic })
}

/// The one-line refusal: names `runner-ip`, says why, offers the three ways out.
pub fn refusal(runner: IpAddr, tpp: IpAddr, nat: Nat) -> String {
    let why = match nat {
        Nat::GithubHosted => "GitHub-hosted runners always reach the internet through NAT",
        Nat::PrivateToPublic => "a private address reaches a public one only through NAT",
    };
    format!(
        "auto found the private address {runner} towards TPP's public address {tpp}, but {why}, so TPP would see the NAT's address and not use the pre-approval; set runner-ip to the runner's egress IP, to from-url:<https URL> of an address-echo endpoint you trust, or to none (the pre-approval then holds for any address)"
    )
}

/// The address to pre-approve, and how it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunnerAddress {
    /// `None`: no `IPAddress` is sent, and the pre-approval holds for any address.
    pub ip: Option<IpAddr>,
    /// `auto (route to TPP)`, `from-url <url>`, `given` or `none`, for the summary and report.
    pub source: String,
}

/// An address-echo answer: plain text holding an IP, or JSON with an `ip` field.
pub fn parse_echo(body: &[u8]) -> Option<IpAddr> {
    let text = std::str::from_utf8(body).ok()?.trim();
    let ip = match text.parse::<IpAddr>() {
        Ok(ip) => ip,
        Err(_) => match serde_json::from_str::<serde_json::Value>(text).ok()?.get("ip")? {
            serde_json::Value::String(s) => s.trim().parse().ok()?,
            _ => return None,
        },
    };
    let ip = ip.to_canonical();
    (!ip.is_unspecified() && !ip.is_multicast()).then_some(ip)
}

/// What an unusable echo answer held, on one line and short: a huge or binary body is only counted.
fn describe(body: &[u8]) -> String {
    match std::str::from_utf8(body).map(str::trim) {
        Ok("") => "an empty body".into(),
        Ok(text) if text.chars().count() <= 60 && !text.chars().any(char::is_control) => format!("`{text}`"),
        _ => format!("{} bytes", body.len()),
    }
}

/// Finds the address to pre-approve, before anything is sent to TPP or AppViewX. `auto` looks
/// up TPP's address and the route to it; a refusal is an input error (exit 2), as is an echo
/// answer that holds no address; an echo endpoint that cannot be reached fails the run.
pub async fn find(cfg: &TppConfig, github_hosted: bool, http: &Http) -> Result<RunnerAddress, RunError> {
    let input_error = |message: String| RunError::Input(InputError { input: "runner-ip", message });
    match &cfg.runner_ip {
        RunnerIp::Fixed(ip) => Ok(RunnerAddress { ip: Some(*ip), source: "given".into() }),
        RunnerIp::Omit => Ok(RunnerAddress { ip: None, source: "none".into() }),
        RunnerIp::Auto => {
            let (local, tpp) = route_to(&cfg.base_url).await.map_err(|e| {
                RunError::Setup(format!(
                    "runner-ip auto: {e}; set runner-ip to an address, to from-url:<https URL> or to none"
                ))
            })?;
            match judge(local, tpp, github_hosted) {
                Verdict::Use => Ok(RunnerAddress { ip: Some(local), source: "auto (route to TPP)".into() }),
                Verdict::Refuse(nat) => Err(input_error(refusal(local, tpp, nat))),
            }
        }
        RunnerIp::FromUrl(url) => {
            let call = Call::new("runner-ip", "from-url", Method::GET, url.clone())
                .header("accept", "text/plain, application/json")
                .sent_in_plans();
            let reply =
                http.send(&call).await.map_err(|e| RunError::Setup(format!("runner-ip from-url {url}: {}", e.kind)))?;
            if reply.status >= 500 || reply.status == 429 {
                // The echo is down or busy (after the client's retries): no input to fix.
                return Err(RunError::Setup(format!(
                    "runner-ip from-url {url} answered HTTP {}: the address echo is unavailable; try again, or set runner-ip to an address",
                    reply.status
                )));
            }
            if !(200..300).contains(&reply.status) {
                return Err(input_error(format!(
                    "from-url {url} answered HTTP {}: give the URL of an endpoint that answers the caller's IP address",
                    reply.status
                )));
            }
            match parse_echo(&reply.body) {
                Some(ip) => Ok(RunnerAddress { ip: Some(ip), source: format!("from-url {url}") }),
                None => Err(input_error(format!(
                    "from-url {url} answered {}, not an IP address: it must answer the caller's address as plain text or as JSON with an `ip` field",
                    describe(&reply.body)
                ))),
            }
        }
    }
}

/// TPP's address and the local source address of the route to it: what TPP sees when no NAT
/// sits between them. Connecting a UDP socket picks the route without sending a packet. The
/// first address that routes is taken, as the HTTP client tries them in the resolver's order.
pub async fn route_to(url: &Url) -> Result<(IpAddr, IpAddr), String> {
    let port = url.port_or_known_default().unwrap_or(443);
    let host = match url.host() {
        Some(url::Host::Domain(d)) => d.to_string(),
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        None => return Err("the URL has no host".into()),
    };
    let addrs =
        tokio::net::lookup_host((host.as_str(), port)).await.map_err(|e| format!("cannot resolve {host}: {e}"))?;
    let mut last = format!("{host} has no address");
    for addr in addrs {
        let any: IpAddr = if addr.is_ipv4() { Ipv4Addr::UNSPECIFIED.into() } else { Ipv6Addr::UNSPECIFIED.into() };
        let attempt = std::net::UdpSocket::bind((any, 0)).and_then(|s| {
            s.connect(addr)?;
            s.local_addr()
        });
        match attempt {
            Ok(local) => return Ok((local.ip(), addr.ip())),
            Err(e) => last = format!("no route to {}: {e}", addr.ip()),
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses() {
        for ip in [
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.255.254",
            "169.254.1.1",
            "fd00::1",
            "fc00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "8.8.8.8",
            "172.32.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "203.0.113.7",
            "198.51.100.7",
            "2001:db8::1",
            "2606:4700::1",
            "::ffff:8.8.8.8",
        ] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
    }

    /// Every row: the route's source address, TPP's address, RUNNER_ENVIRONMENT=github-hosted,
    /// and what `auto` does.
    #[test]
    fn auto_uses_the_route_only_where_tpp_sees_it() {
        use Nat::{GithubHosted, PrivateToPublic};
        use Verdict::{Refuse, Use};
        let table: &[(&str, &str, bool, Verdict)] = &[
            // Loopback: the simulator, a TPP on the runner itself.
            ("127.0.0.1", "127.0.0.1", false, Use),
            ("127.0.0.1", "127.0.0.1", true, Use),
            ("::1", "::1", true, Use),
            // Both private: the same private network, no NAT between.
            ("10.1.0.5", "10.2.0.9", false, Use),
            ("192.168.1.20", "172.16.4.4", false, Use),
            ("100.64.3.2", "100.100.1.1", false, Use),
            ("fd12::5", "fd34::1", false, Use),
            ("10.1.0.5", "10.2.0.9", true, Use),
            // A public runner address is what anyone sees.
            ("198.51.100.4", "203.0.113.10", false, Use),
            ("198.51.100.4", "10.0.0.1", true, Use),
            ("2001:db8::5", "2001:db8:1::1", false, Use),
            // Private towards public: NAT on the way.
            ("10.1.0.5", "203.0.113.10", false, Refuse(PrivateToPublic)),
            ("10.1.0.5", "203.0.113.10", true, Refuse(GithubHosted)),
            ("172.17.0.2", "52.1.2.3", false, Refuse(PrivateToPublic)),
            ("100.64.0.9", "8.8.8.8", false, Refuse(PrivateToPublic)),
            ("169.254.3.3", "8.8.8.8", true, Refuse(GithubHosted)),
            ("fd00::2", "2606:4700::1", false, Refuse(PrivateToPublic)),
            ("::ffff:10.0.0.2", "::ffff:8.8.8.8", true, Refuse(GithubHosted)),
        ];
        for (runner, tpp, hosted, verdict) in table {
            assert_eq!(
                judge(runner.parse().unwrap(), tpp.parse().unwrap(), *hosted),
                *verdict,
                "{runner} → {tpp}, github-hosted {hosted}"
            );
        }
    }

    #[test]
    fn the_refusal_is_one_line_with_the_three_choices() {
        let m = refusal("10.1.0.5".parse().unwrap(), "203.0.113.10".parse().unwrap(), Nat::GithubHosted);
        assert!(!m.contains('\n'));
        for part in ["10.1.0.5", "203.0.113.10", "NAT", "GitHub-hosted", "egress IP", "from-url:", "none"] {
            assert!(m.contains(part), "{part}: {m}");
        }
    }

    #[test]
    fn echo_answers() {
        let ip = |s: &str| parse_echo(s.as_bytes()).map(|ip| ip.to_string());
        assert_eq!(ip("203.0.113.7\n").as_deref(), Some("203.0.113.7"));
        assert_eq!(ip(" 2001:db8::7 ").as_deref(), Some("2001:db8::7"));
        assert_eq!(ip("::ffff:203.0.113.7").as_deref(), Some("203.0.113.7"));
        assert_eq!(ip(r#"{"ip":"198.51.100.9","country":"NL"}"#).as_deref(), Some("198.51.100.9"));
        for bad in [
            "",
            "<html>hello</html>",
            r#"{"ip":7}"#,
            r#"{"address":"1.2.3.4"}"#,
            "0.0.0.0",
            "224.0.0.1",
            "1.2.3.4 5.6.7.8",
        ] {
            assert_eq!(ip(bad), None, "{bad}");
        }
        assert_eq!(describe(b"<html>hello</html>"), "`<html>hello</html>`");
        assert_eq!(describe(&[b'x'; 5000]), "5000 bytes");
        assert_eq!(describe(b"a\nb"), "3 bytes");
    }
}
