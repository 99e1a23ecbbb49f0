//! Looks for anything credential-like in a cassette's bytes: AWS access key
//! ids, secret-key-shaped strings, session tokens, and signing headers. Used
//! by `proton-vcr cassette check` (a pre-commit hook and CI step) on files of
//! any origin, so it reads raw text and never needs the file to parse.
//!
//! A finding shows only a masked excerpt: the scanner must not be the thing
//! that prints a secret into a CI log.

use regex::Regex;
use std::sync::OnceLock;

/// One thing that looks like a credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// 1-based line and column of the match.
    pub line: usize,
    pub column: usize,
    pub kind: &'static str,
    /// The first characters of the match, then `…`.
    pub excerpt: String,
}

struct Rule {
    kind: &'static str,
    pattern: Regex,
    /// An extra test on the match, for shapes a regex says badly.
    accept: fn(&str) -> bool,
}

fn rules() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES.get_or_init(|| {
        let rule = |kind, pattern: &str, accept| Rule {
            kind,
            pattern: Regex::new(pattern).expect("built-in patterns compile"),
            accept,
        };
        vec![
            rule(
                "access key id",
                r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b",
                |_| true,
            ),
            rule(
                "session token",
                r"(?:FwoGZXIvYXdzE|IQoJb3JpZ2luX2Vj|FQoGZXIvYXdzE)[A-Za-z0-9/+=]{16,}",
                |_| true,
            ),
            rule(
                "secret access key",
                r"(?:^|[^A-Za-z0-9/+=])([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)",
                looks_like_secret_key,
            ),
            rule("authorization header", r#"(?i)"authorization"\s*:"#, |_| {
                true
            }),
            rule(
                "SigV4 authorization value",
                r"AWS4-HMAC-SHA256\s+Credential=",
                |_| true,
            ),
            rule(
                "security token header",
                r#"(?i)"x-amz-security-token"\s*:"#,
                |_| true,
            ),
            rule("cookie header", r#"(?i)"(?:set-)?cookie"\s*:"#, |_| true),
            rule(
                "SSE-C key header",
                r#"(?i)"x-amz-(?:copy-source-)?server-side-encryption-customer-key(?:-md5)?"\s*:"#,
                |_| true,
            ),
            rule("API key header", r#"(?i)"x-api-key"\s*:"#, |_| true),
            rule(
                "presigned URL signature",
                r"(?i)X-Amz-Signature=[0-9a-f]{16,}",
                |_| true,
            ),
        ]
    })
}

/// A 40-character base64 string is a secret access key's shape; hex digests
/// (SHA-1 is 40 hex digits) and single-case words are not.
fn looks_like_secret_key(candidate: &str) -> bool {
    let upper = candidate.chars().any(|c| c.is_ascii_uppercase());
    let lower = candidate.chars().any(|c| c.is_ascii_lowercase());
    let digit_or_symbol = candidate
        .chars()
        .any(|c| c.is_ascii_digit() || c == '/' || c == '+');
    upper && lower && digit_or_symbol
}

/// Every credential-like match in `text`, in order.
pub fn scan(text: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    for rule in rules() {
        for captures in rule.pattern.captures_iter(text) {
            let m = captures.get(1).or_else(|| captures.get(0));
            let Some(m) = m else { continue };
            if !(rule.accept)(m.as_str()) {
                continue;
            }
            let (line, column) = position(text, m.start());
            findings.push(Finding {
                line,
                column,
                kind: rule.kind,
                excerpt: mask(m.as_str()),
            });
        }
    }
    findings.sort_by_key(|f| (f.line, f.column));
    findings
}

/// Secrets a service handed out that were written verbatim (a cassette
/// recorded before sensitive members were replaced, or edited by hand):
/// what `proton-vcr cassette redact` would change. Empty when `bytes` is not
/// a cassette.
pub fn scan_members(path: &std::path::Path, text: &str) -> Vec<Finding> {
    let Ok(mut cassette) = super::parse(path, text.as_bytes()) else {
        return Vec::new();
    };
    let mut findings: Vec<Finding> = super::redact_cassette(&mut cassette)
        .into_iter()
        // Signing headers are found by the text rules already.
        .filter(|u| u.start_of_value.is_some() || !is_signing_header(&u.what))
        .map(|u| {
            let at = u.start_of_value.as_deref().and_then(|v| {
                let encoded = serde_json::to_string(v).ok()?;
                text.find(encoded.trim_matches('"'))
            });
            let (line, column) = at.map_or((1, 1), |at| position(text, at));
            Finding {
                line,
                column,
                kind: if u.start_of_value.is_some() {
                    "secret member"
                } else {
                    "secret header"
                },
                excerpt: format!(
                    "interaction {}: {}{}",
                    u.interaction,
                    u.what,
                    u.start_of_value
                        .map(|v| format!(", value {}", mask(&v)))
                        .unwrap_or_default()
                ),
            }
        })
        .collect();
    findings.sort_by_key(|f| (f.line, f.column));
    findings
}

fn is_signing_header(what: &str) -> bool {
    super::SECRET_HEADERS
        .iter()
        .any(|h| what.contains(&format!("`{h}`")))
}

fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(offset, |nl| offset - nl - 1) + 1;
    (line, column)
}

fn mask(secret: &str) -> String {
    let shown: String = secret.chars().take(4).collect();
    format!("{shown}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_credentials_and_masks_them() {
        let text = concat!(
            "{\n  \"a\": \"AKIAIOSFODNN7EXAMPLE\",\n",
            "  \"s\": \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\",\n",
            "  \"authorization\": \"x\"\n}"
        );
        let kinds: Vec<_> = scan(text).iter().map(|f| (f.line, f.kind)).collect();
        assert_eq!(
            kinds,
            [
                (2, "access key id"),
                (3, "secret access key"),
                (4, "authorization header")
            ]
        );
        assert!(scan(text).iter().all(|f| f.excerpt.chars().count() == 5));
    }

    #[test]
    fn ignores_hex_digests_uuids_and_arns() {
        let text = r#"{"sha1": "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12",
            "id": "6e0c2f57-1a2b-4c3d-8e9f-0a1b2c3d4e5f",
            "arn": "arn:aws:proton:us-east-1:123456789012:environment-template/serverless-env"}"#;
        assert_eq!(scan(text), []);
    }
}
