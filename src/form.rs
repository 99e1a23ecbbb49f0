//! URL-encoded forms (`a=1&b=x%20y`): the bodies of the query protocol
//! (SQS's and STS's `Action=...`) and query strings. Depends on nothing in the
//! crate, so the matcher, the signer and the error responses share it.

/// Whether a `Content-Type` names a URL-encoded form.
pub fn is_form(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"))
}

/// Decodes `a=1&b=x%20y` into pairs (`+` is a space).
pub fn pairs(text: &str) -> Vec<(String, String)> {
    raw_pairs(text)
        .map(|(k, v)| (field(k.as_bytes()), field(v.as_bytes())))
        .collect()
}

/// The decoded value of the first field named `key`; only the keys and
/// that one value are decoded.
pub fn value(text: &str, key: &str) -> Option<String> {
    raw_pairs(text).find_map(|(k, v)| (field(k.as_bytes()) == key).then(|| field(v.as_bytes())))
}

/// The encoded `key=value` pairs of a form (a key with no `=` has an empty
/// value; empty pairs are skipped).
fn raw_pairs(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
}

/// A form field's text: `%XX` escapes decoded and `+` read as a space.
pub fn field(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&decode(bytes, true)).into_owned()
}

/// Decodes `%XX` escapes; an escape that is not two hex digits stays as
/// it is. `+` becomes a space only with `plus_as_space` (form fields read
/// it so; paths do not).
pub fn decode(bytes: &[u8], plus_as_space: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                if let Some(b) = escape_at(bytes, i) {
                    out.push(b);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b'+' if plus_as_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// The byte of the escape at `at` (`%` and two hex digits), as [`decode`]
/// reads it; `None` when `at` starts no escape.
pub fn escape_at(bytes: &[u8], at: usize) -> Option<u8> {
    match bytes.get(at..at.checked_add(3)?)? {
        [b'%', h, l] => Some(hex(*h)? * 16 + hex(*l)?),
        _ => None,
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_two_hex_digits_make_an_escape() {
        assert_eq!(decode(b"%+1%2b%4", false), b"%+1+%4");
        assert_eq!(decode(b"%+1%2b%4", true), b"% 1+%4");
        assert_eq!(pairs("a=%2B+b"), [("a".to_string(), "+ b".to_string())]);
    }

    #[test]
    fn pairs_decode_escapes_plus_and_stray_percent() {
        assert_eq!(
            pairs("Action=Send%20It&b=a+b&c=100%&d"),
            [
                ("Action".to_string(), "Send It".to_string()),
                ("b".to_string(), "a b".to_string()),
                ("c".to_string(), "100%".to_string()),
                ("d".to_string(), String::new()),
            ]
        );
    }
}

#[cfg(test)]
mod content_type_tests {
    use super::*;

    #[test]
    fn a_form_is_named_by_its_content_type_with_or_without_parameters() {
        assert!(is_form(Some("application/x-www-form-urlencoded")));
        assert!(is_form(Some(
            "application/x-www-form-urlencoded; charset=utf-8"
        )));
        assert!(!is_form(Some("application/json")));
        assert!(!is_form(None));
    }
}
