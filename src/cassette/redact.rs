//! What never reaches a cassette, and what is rewritten on the way.
//!
//! Secrets: no header that carries one (Authorization, X-Amz-Security-Token,
//! Cookie, ...) and no occurrence, anywhere in the bytes, of the credentials
//! in use. The check runs on every interaction's raw parts and again on the
//! serialised bytes of the whole file, before every write; a hit refuses the
//! write. The credentials themselves are known only to `sigv4`, which answers
//! through [`SecretScan`].
//!
//! Account ids: `--redact-account-id` replaces every real account id with
//! one value. Real ids are learned from the text of the cassette itself (the
//! account field of ARNs, and members named like `accountId` or
//! `<Account>`), plus any the credentials name, and replaced everywhere,
//! ARNs included, whenever the file is written, so an id learned late is
//! also removed from interactions recorded earlier. Base64 bodies are not
//! rewritten.

use super::model::Interaction;
use regex::bytes::Regex;
use std::collections::BTreeSet;
use std::fmt;
use std::sync::LazyLock;

/// Finds the secrets in use in some bytes. Implemented by the signer, the
/// only holder of credentials.
pub trait SecretScan: Send + Sync {
    /// What secret `bytes` holds (e.g. "the secret access key in use"), never
    /// the secret itself.
    fn find_secret(&self, bytes: &[u8]) -> Option<&'static str>;
}

/// Headers that carry credentials or session state: never in a cassette.
pub const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "x-amz-security-token",
    "cookie",
    "set-cookie",
];

/// A secret found where it must not be written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leak {
    /// What was found: "the session token in use", "an Authorization header".
    pub what: String,
    /// Where: "the response body", "the cassette".
    pub place: String,
}

impl fmt::Display for Leak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} in {}", self.what, self.place)
    }
}

/// Checks one interaction's headers and the raw bytes of its URI, header
/// values and bodies (before any encoding hides them).
pub fn check_interaction(interaction: &Interaction, scan: &dyn SecretScan) -> Result<(), Leak> {
    let parts = [
        (
            "request",
            &interaction.request.headers,
            &interaction.request.body,
        ),
        (
            "response",
            &interaction.response.headers,
            &interaction.response.body,
        ),
    ];
    for (side, headers, body) in parts {
        for (name, values) in headers.iter_grouped() {
            if SECRET_HEADERS.contains(&name) {
                return Err(Leak {
                    what: format!("a `{name}` header"),
                    place: format!("the {side}"),
                });
            }
            for value in values {
                if let Some(what) = scan
                    .find_secret(value.as_bytes())
                    .or_else(|| scan.find_secret(name.as_bytes()))
                {
                    return Err(Leak {
                        what: what.to_string(),
                        place: format!("the {side} header `{name}`"),
                    });
                }
            }
        }
        if let Some(what) = scan.find_secret(body.bytes()) {
            return Err(Leak {
                what: what.to_string(),
                place: format!("the {side} body"),
            });
        }
    }
    if let Some(what) = scan.find_secret(interaction.request.uri.as_bytes()) {
        return Err(Leak {
            what: what.to_string(),
            place: "the request URI".to_string(),
        });
    }
    Ok(())
}

/// Checks the serialised bytes about to be written.
pub fn check_bytes(bytes: &[u8], scan: &dyn SecretScan) -> Result<(), Leak> {
    match scan.find_secret(bytes) {
        Some(what) => Err(Leak {
            what: what.to_string(),
            place: "the cassette".to_string(),
        }),
        None => Ok(()),
    }
}

/// The default `--redact-account-id` value, the one AWS documentation uses.
pub const DOCUMENTATION_ACCOUNT_ID: &str = "123456789012";

/// Replaces real account ids with one stand-in, consistently.
#[derive(Clone, Debug)]
pub struct AccountRedaction {
    replacement: String,
    known: BTreeSet<String>,
}

/// `arn:PARTITION:SERVICE:REGION:ACCOUNT:`, plain or percent-encoded.
static ARN_ACCOUNT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"arn(?::|%3[aA])aws[a-z-]*(?::|%3[aA])[A-Za-z0-9-]*(?::|%3[aA])[a-z0-9-]*(?::|%3[aA])([0-9]{12})(?::|%3[aA])")
        .expect("a fixed pattern compiles")
});

/// `"accountId": "…"`, `"OwnerAccountId":"…"`, `<Account>…</Account>`.
static NAMED_ACCOUNT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?:account[a-z_]*\\?"\s*:\s*\\?"|account(?:id)?>)([0-9]{12})\b"#)
        .expect("a fixed pattern compiles")
});

impl AccountRedaction {
    /// `replacement` must be twelve digits, so ARNs keep their shape.
    pub fn new(replacement: &str) -> Result<Self, String> {
        if replacement.len() != 12 || !replacement.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("`{replacement}` is not a 12-digit account id"));
        }
        Ok(Self {
            replacement: replacement.to_string(),
            known: BTreeSet::new(),
        })
    }

    /// An account id known from elsewhere (e.g. the credentials).
    pub fn learn(&mut self, account_id: &str) {
        if account_id.len() == 12 && account_id.bytes().all(|b| b.is_ascii_digit()) {
            self.known.insert(account_id.to_string());
        }
    }

    /// Learns the account ids in `bytes`, then replaces every known one in
    /// place (same length, so JSON stays valid). Digits next to other digits
    /// are part of a longer number and left alone.
    pub fn apply(&mut self, bytes: &mut [u8]) {
        for pattern in [&*ARN_ACCOUNT, &*NAMED_ACCOUNT] {
            for captures in pattern.captures_iter(bytes) {
                if let Some(id) = captures
                    .get(1)
                    .and_then(|m| std::str::from_utf8(m.as_bytes()).ok())
                {
                    if id != self.replacement {
                        self.known.insert(id.to_string());
                    }
                }
            }
        }
        for id in &self.known {
            replace_bounded(bytes, id.as_bytes(), self.replacement.as_bytes());
        }
    }
}

fn replace_bounded(bytes: &mut [u8], from: &[u8], to: &[u8]) {
    let n = from.len();
    if n == 0 || n != to.len() || bytes.len() < n {
        return;
    }
    let mut i = 0;
    while i + n <= bytes.len() {
        let before_ok = i == 0 || bytes.get(i - 1).is_none_or(|b| !b.is_ascii_digit());
        let after_ok = bytes.get(i + n).is_none_or(|b| !b.is_ascii_digit());
        if before_ok && after_ok && bytes.get(i..i + n) == Some(from) {
            if let Some(slot) = bytes.get_mut(i..i + n) {
                slot.copy_from_slice(to);
            }
            i += n;
        } else {
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cassette::Body;

    #[test]
    fn replaces_account_ids_learned_from_arns_everywhere() {
        let mut redaction = AccountRedaction::new(DOCUMENTATION_ACCOUNT_ID).unwrap();
        let mut text = br#"{"arn":"arn:aws:proton:us-east-1:111122223333:environment/e","owner":"111122223333","n":1111222233334,"q":"arn%3Aaws%3Aiam%3A%3A444455556666%3Arole%2Fx","other":"444455556666"}"#.to_vec();
        redaction.apply(&mut text);
        let text = String::from_utf8(text).unwrap();
        assert_eq!(
            text,
            r#"{"arn":"arn:aws:proton:us-east-1:123456789012:environment/e","owner":"123456789012","n":1111222233334,"q":"arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fx","other":"123456789012"}"#
        );
    }

    #[test]
    fn learns_named_account_members_and_hints() {
        let mut redaction = AccountRedaction::new("000000000000").unwrap();
        redaction.learn("999988887777");
        let mut text =
            b"<Account>111122223333</Account> {\"OwnerAccountId\": \"555566667777\"} 999988887777"
                .to_vec();
        redaction.apply(&mut text);
        assert_eq!(
            String::from_utf8(text).unwrap(),
            "<Account>000000000000</Account> {\"OwnerAccountId\": \"000000000000\"} 000000000000"
        );
    }

    #[test]
    fn the_replacement_must_look_like_an_account_id() {
        assert!(AccountRedaction::new("12345").is_err());
        assert!(AccountRedaction::new("12345678901a").is_err());
    }

    struct Canary;
    impl SecretScan for Canary {
        fn find_secret(&self, bytes: &[u8]) -> Option<&'static str> {
            bytes
                .windows(6)
                .any(|w| w == b"CANARY")
                .then_some("the canary")
        }
    }

    #[test]
    fn finds_secrets_and_secret_headers_in_an_interaction() {
        use crate::cassette::{Headers, RecordedRequest, RecordedResponse};
        let clean = Interaction {
            elapsed_ms: 0,
            endpoint: None,
            expect: None,
            note: None,
            request: RecordedRequest {
                method: "POST".into(),
                uri: "/".into(),
                headers: Headers::default(),
                body: Body::default(),
            },
            response: RecordedResponse {
                status: 200,
                headers: Headers::default(),
                body: Body::from("fine"),
            },
        };
        assert_eq!(check_interaction(&clean, &Canary), Ok(()));
        let mut leaky = clean.clone();
        leaky.response.body = Body::from_bytes(b"\x00CANARY");
        assert_eq!(
            check_interaction(&leaky, &Canary).unwrap_err().to_string(),
            "the canary in the response body"
        );
        let mut cookie = clean.clone();
        cookie.request.headers.append("Cookie", "a=b".into());
        assert_eq!(
            check_interaction(&cookie, &Canary).unwrap_err().to_string(),
            "a `cookie` header in the request"
        );
        let mut uri = clean;
        uri.request.uri = "/?t=CANARY".into();
        assert!(check_interaction(&uri, &Canary).is_err());
        assert!(check_bytes(b"{\"x\":\"CANARY\"}", &Canary).is_err());
    }
}
