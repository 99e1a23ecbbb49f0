//! The gate phase: which requests the proxy serves at all, decided before
//! any cassette is read or any credential is used.
//!
//! Only origin-form requests (`METHOD /path?query`) are served. `CONNECT`
//! (authority-form), an absolute URI (absolute-form) and `OPTIONS *`
//! (asterisk-form) are what a client sends to a forward proxy, and proton-vcr
//! is not one: it answers them with a 403 and never records or forwards them.
//! HTTP/2 requests arrive here already in origin form (the serve loop moves
//! `:authority` to Host), so the same rule covers both protocols.

use crate::http::{AwsError, Origin, Request};
use http::Method;

/// The error code of every request the gate refuses.
pub const REFUSED_CODE: &str = "RequestRefusedException";

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

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: Method, uri: &str) -> Request {
        Request::new(method, uri).unwrap()
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
}
