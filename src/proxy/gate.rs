//! The gate phase: which requests the proxy serves at all, decided before
//! any cassette is read or any credential is used.
//!
//! - Only origin-form requests (`METHOD /path?query`). `CONNECT`
//!   (authority-form), an absolute URI (absolute-form) and `OPTIONS *`
//!   (asterisk-form) are what a client sends to a forward proxy, and
//!   proton-vcr is not one. HTTP/2 requests arrive here already in origin
//!   form (the serve loop moves `:authority` to Host), so the same rule
//!   covers both protocols.
//! - No browser-shaped requests. A page open in a browser can send requests
//!   to loopback, and with DNS rebinding read the answers; AWS clients never
//!   send `Origin` or `Sec-Fetch-*`, and name the proxy by a loopback
//!   address or the address it listens on. So a request with `Origin` or any
//!   `Sec-Fetch-*` header is refused unless its origin is allowed by name
//!   (`--allow-origin`), and so is a Host that is neither loopback, the
//!   listen address, nor a name allowed with `--allow-host`.
//!
//! Refusals are 403 `RequestRefusedException`, never forwarded or recorded.
//! Their log lines show the request target without its query
//! ([`logged_target`]): a presigned query holds the signer's key id and
//! session token.

use crate::http::{AwsError, ListenError, Origin, Request, check_loopback};
use http::{HeaderName, HeaderValue, Method};
use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};

/// The error code of every request the gate refuses.
pub const REFUSED_CODE: &str = "RequestRefusedException";

/// Who may reach a server: the network beyond loopback, and browsers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Access {
    /// Listening on anything but loopback needs this.
    pub allow_remote: bool,
    /// Origins (`https://app.example`) whose browser requests are served.
    pub allowed_origins: Vec<String>,
    /// Host names, beyond loopback and the listen address, clients may use.
    pub allowed_hosts: Vec<String>,
}

impl Access {
    /// Refuses a non-loopback listen address unless remote access is allowed;
    /// `what` names the server and why that matters.
    pub fn check_listen(&self, listen: SocketAddr, what: &str) -> Result<(), ListenError> {
        check_loopback(listen, self.allow_remote, what)
    }
}

/// The gate of one server: its access rules and the address it listens on.
#[derive(Clone, Debug)]
pub struct Gate {
    access: Access,
    listen: IpAddr,
}

impl Gate {
    pub fn new(access: Access, listen: IpAddr) -> Self {
        Self { access, listen }
    }

    /// Every check, in order.
    pub fn check(&self, request: &Request) -> Result<(), AwsError> {
        check_target(request)?;
        // One pass over the headers finds what both checks read: every
        // request comes through here, and a lookup by name costs more than
        // looking at the few headers a request has.
        let mut origin = None;
        let mut fetch_metadata = None;
        let mut host = None;
        for (name, value) in &request.headers {
            if *name == http::header::HOST {
                host = host.or(Some(value));
            } else if *name == http::header::ORIGIN {
                origin = origin.or(Some(value));
            } else if fetch_metadata.is_none() && name.as_str().starts_with("sec-fetch-") {
                fetch_metadata = Some(name);
            }
        }
        self.check_browser(origin, fetch_metadata)?;
        self.check_host(host)
    }

    fn check_browser(
        &self,
        origin: Option<&HeaderValue>,
        fetch_metadata: Option<&HeaderName>,
    ) -> Result<(), AwsError> {
        if origin.is_none() && fetch_metadata.is_none() {
            return Ok(());
        }
        let origin = origin.map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        if let Some(origin) = &origin {
            let origin = origin.trim_end_matches('/');
            if self
                .access
                .allowed_origins
                .iter()
                .any(|allowed| allowed.trim_end_matches('/').eq_ignore_ascii_case(origin))
            {
                return Ok(());
            }
        }
        let sent = match (&origin, fetch_metadata) {
            (Some(origin), _) => format!("Origin `{origin}`"),
            (None, Some(name)) => format!("`{name}` and no Origin"),
            (None, None) => String::new(),
        };
        Err(refused(format!(
            "proton-vcr refused a request from a web browser ({sent}): a page must not spend your AWS credentials or read your cassettes; if this page is yours, start proton-vcr with --allow-origin ORIGIN"
        )))
    }

    fn check_host(&self, host: Option<&HeaderValue>) -> Result<(), AwsError> {
        // Browsers always send Host; a client without one is not a page.
        let Some(value) = host else {
            return Ok(());
        };
        // A Host in visible ASCII, as clients send it, is read in place;
        // only a refusal pays for a copy.
        let host = match value.to_str() {
            Ok(host) => Cow::Borrowed(host),
            Err(_) => String::from_utf8_lossy(value.as_bytes()),
        };
        if self.host_allowed(&host) {
            return Ok(());
        }
        Err(refused(format!(
            "proton-vcr refused Host `{host}`: it answers only requests for a loopback address (127.0.0.1, [::1], localhost) or the address it listens on, so a page cannot reach it through a DNS name it controls; if this name is yours, start proton-vcr with --allow-host NAME"
        )))
    }

    fn host_allowed(&self, host: &str) -> bool {
        let name = host_name(host);
        // What nearly every client sends, before the general rules.
        if name == "127.0.0.1"
            || name.eq_ignore_ascii_case("localhost")
            || ends_with_ignore_case(name, ".localhost")
        {
            return true;
        }
        if let Ok(ip) = name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            // A DNS rebinding attack needs a name; an address names this
            // host only if it is loopback or the one listened on (any
            // address, when listening on all of them).
            return ip.is_loopback() || ip == self.listen || self.listen.is_unspecified();
        }
        self.access
            .allowed_hosts
            .iter()
            .any(|allowed| allowed.eq_ignore_ascii_case(name))
    }
}

fn ends_with_ignore_case(text: &str, suffix: &str) -> bool {
    text.len() >= suffix.len()
        && text.as_bytes()[text.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
}

/// The host of a Host header, without its port.
fn host_name(host: &str) -> &str {
    if host.starts_with('[') {
        return host
            .split_once(']')
            .map_or(host, |(v6, _)| &host[..=v6.len()]);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// Refuses a request that is not in origin form.
pub fn check_target(request: &Request) -> Result<(), AwsError> {
    let uri = &request.uri;
    let form = if request.method == Method::CONNECT {
        Some("a CONNECT request (authority-form)")
    } else if uri.scheme().is_some() || uri.authority().is_some() {
        Some("an absolute URI (absolute-form)")
    } else if !uri.path().starts_with('/') {
        Some("a request target that is not a path (asterisk-form, `OPTIONS *`)")
    } else {
        None
    };
    match form {
        None => Ok(()),
        Some(form) => Err(refused(format!(
            "proton-vcr refused {form}: it is not a forward proxy and answers only requests for a path (`POST /`); point the client at it with --endpoint-url http://HOST:PORT, not as an HTTP proxy"
        ))),
    }
}

pub(super) fn refused(message: String) -> AwsError {
    AwsError::new(Origin::Forbidden, REFUSED_CODE, message)
}

/// How a refused request's target is shown in a log line: scheme,
/// authority and path as sent, the query replaced by `?…`. A presigned
/// query carries `X-Amz-Credential` and `X-Amz-Security-Token`, which no
/// log line may hold.
pub fn logged_target(uri: &http::Uri) -> String {
    let mut shown = String::new();
    if let Some(scheme) = uri.scheme_str() {
        shown.push_str(scheme);
        shown.push_str("://");
    }
    if let Some(authority) = uri.authority() {
        shown.push_str(authority.as_str());
    }
    // An authority-form target (`CONNECT host:port`) has no path.
    if uri.authority().is_none() || uri.path() != "/" || uri.query().is_some() {
        shown.push_str(uri.path());
    }
    if uri.query().is_some() {
        shown.push_str("?…");
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: Method, uri: &str) -> Request {
        Request::new(method, uri).unwrap()
    }

    fn gate(listen: &str, access: Access) -> Gate {
        Gate::new(access, listen.parse().unwrap())
    }

    fn with(headers: &[(&'static str, &str)]) -> Request {
        let mut request = request(Method::POST, "/");
        for (name, value) in headers {
            request.headers.insert(*name, value.parse().unwrap());
        }
        request
    }

    #[test]
    fn hosts_must_be_loopback_the_listen_address_or_allowed() {
        let local = gate("127.0.0.1", Access::default());
        for host in [
            "127.0.0.1:4751",
            "127.0.0.2",
            "localhost:4751",
            "LOCALHOST",
            "api.localhost:1",
            "[::1]:4751",
        ] {
            assert!(local.check(&with(&[("host", host)])).is_ok(), "{host}");
        }
        assert!(local.check(&request(Method::POST, "/")).is_ok(), "no Host");
        for host in [
            "attacker.example",
            "attacker.example:4751",
            "10.0.0.5:4751",
            "[fe80::1]:1",
        ] {
            let error = local.check(&with(&[("host", host)])).unwrap_err();
            assert!(error.message.contains("--allow-host"), "{host}: {error}");
        }
        let lan = gate("10.0.0.5", Access::default());
        assert!(lan.check(&with(&[("host", "10.0.0.5:4751")])).is_ok());
        assert!(lan.check(&with(&[("host", "10.0.0.6:4751")])).is_err());
        let all = gate("0.0.0.0", Access::default());
        assert!(all.check(&with(&[("host", "10.0.0.6:4751")])).is_ok());
        assert!(
            all.check(&with(&[("host", "recorder.internal:4751")]))
                .is_err()
        );
        let named = gate(
            "0.0.0.0",
            Access {
                allowed_hosts: vec!["recorder.internal".into()],
                ..Access::default()
            },
        );
        assert!(
            named
                .check(&with(&[("host", "Recorder.Internal:4751")]))
                .is_ok()
        );
    }

    #[test]
    fn browser_requests_need_an_allowed_origin() {
        let strict = gate("127.0.0.1", Access::default());
        for headers in [
            &[("origin", "https://attacker.example")][..],
            &[("origin", "null")][..],
            &[("sec-fetch-site", "cross-site")][..],
            &[("sec-fetch-mode", "navigate")][..],
        ] {
            let error = strict.check(&with(headers)).unwrap_err();
            assert_eq!(error.status(), 403, "{headers:?}");
            assert!(error.message.contains("--allow-origin"), "{error}");
        }
        let allowing = gate(
            "127.0.0.1",
            Access {
                allowed_origins: vec!["http://localhost:3000/".into()],
                ..Access::default()
            },
        );
        assert!(
            allowing
                .check(&with(&[
                    ("origin", "http://localhost:3000"),
                    ("sec-fetch-site", "same-site")
                ]))
                .is_ok()
        );
        assert!(
            allowing
                .check(&with(&[("origin", "http://localhost:3001")]))
                .is_err()
        );
        assert!(
            allowing
                .check(&with(&[("sec-fetch-site", "none")]))
                .is_err()
        );
    }

    #[test]
    fn only_origin_form_passes() {
        assert!(check_target(&request(Method::POST, "/")).is_ok());
        assert!(check_target(&request(Method::GET, "/bucket/key?x=1")).is_ok());
        for (method, uri) in [
            (Method::CONNECT, "127.0.0.1:9"),
            (Method::CONNECT, "/"),
            (Method::POST, "http://127.0.0.1:9/"),
            (Method::GET, "https://example.com/x"),
            (Method::OPTIONS, "*"),
        ] {
            let error = check_target(&request(method.clone(), uri)).unwrap_err();
            assert_eq!(error.status(), 403, "{method} {uri}");
            assert_eq!(error.code, REFUSED_CODE);
        }
    }

    #[test]
    fn a_logged_target_never_shows_the_query() {
        let shown = |target: &str| logged_target(&target.parse::<http::Uri>().unwrap());
        let presigned = "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261201%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Security-Token=FwoGZXIvYXdz";
        assert_eq!(shown(presigned), "/b/k?…");
        assert_eq!(
            shown("http://evil.example/x?token=1"),
            "http://evil.example/x?…"
        );
        assert_eq!(shown("evil.example:443"), "evil.example:443");
        assert_eq!(shown("/plain"), "/plain");
        assert_eq!(shown("*"), "*");
    }
}
