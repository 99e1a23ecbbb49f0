//! Answering with the live values: the one case where a served byte differs
//! from the recording.
//!
//! Wherever a bound recorded value appears in a recorded answer (body or
//! header; inside a queue URL, an ARN, an XML element or a JSON string), the
//! client gets the live value it chose instead. Values and their images have
//! the same length, so no length changes. When the body changed, the
//! checksums that cover it are computed again, and only those:
//! `x-amz-crc32` (DynamoDB), `x-amz-checksum-crc32`, `-crc32c`, `-crc64nvme`,
//! `-sha1`, `-sha256` (S3 and flexible checksums; composite `...-N` values
//! are left alone) and `Content-MD5`. MD5 digests in hex of a changed body
//! or JSON string (an S3 `ETag`, SQS's `MD5OfBody`) are bound like values
//! (see `digests`), so every later answer carries the live digest too.

use super::bind::{Pairs, ValueBindings};
use crate::http::Response;
use base64::Engine;
use http::HeaderValue;
use serde_json::Value;
use std::collections::HashMap;

/// `response` with live values in place of the recorded ones bound to them;
/// `None` when it holds none.
pub fn substitute(response: &Response, to_live: &HashMap<Box<str>, Box<str>>) -> Option<Response> {
    let body = ValueBindings::replace(&response.body, to_live);
    let mut headers = response.headers.clone();
    let mut changed = body.is_some();
    for value in headers.values_mut() {
        let Some(replaced) = ValueBindings::replace(value.as_bytes(), to_live) else {
            continue;
        };
        if let Ok(replaced) = HeaderValue::from_bytes(&replaced) {
            *value = replaced;
            changed = true;
        }
    }
    if !changed {
        return None;
    }
    if let Some(body) = &body {
        recompute_checksums(&mut headers, body);
    }
    Some(Response {
        status: response.status,
        headers,
        body: body.map_or_else(|| response.body.clone(), Into::into),
    })
}

/// The MD5 digests a substitution changes: of the recorded request body and
/// of the answer body, and of each of their JSON strings, that the live
/// values alter, as (live digest, recorded digest) in lower-case hex. Bound
/// like the values themselves, they keep every answer consistent: an S3
/// `ETag`, whether in the answer to the upload, the download or a listing,
/// and SQS's `MD5OfBody` and `MD5OfMessageBody`.
pub fn digests(
    request_body: &[u8],
    answer_body: &[u8],
    to_live: &HashMap<Box<str>, Box<str>>,
) -> Pairs {
    let mut pairs = Pairs::new();
    // The recorded digests paired so far: a body of many changed strings
    // looks each up once, not along the list.
    let mut seen = std::collections::HashSet::new();
    let mut add = |before: &[u8], after: &[u8]| {
        let recorded: Box<str> = hex(&md5(before)).into();
        if seen.insert(recorded.clone()) {
            let live: Box<str> = hex(&md5(after)).into();
            pairs.push((live, recorded));
        }
    };
    for body in [request_body, answer_body] {
        if let Some(changed) = ValueBindings::replace(body, to_live) {
            add(body, &changed);
            for (before, after) in changed_strings(body, to_live) {
                add(before.as_bytes(), after.as_bytes());
            }
        }
    }
    pairs
}

/// The JSON strings in `body` a substitution changes, before and after.
fn changed_strings(body: &[u8], to_live: &HashMap<Box<str>, Box<str>>) -> Vec<(String, String)> {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    collect_changed(&value, to_live, &mut out);
    out
}

fn collect_changed(
    value: &Value,
    to_live: &HashMap<Box<str>, Box<str>>,
    out: &mut Vec<(String, String)>,
) {
    match value {
        Value::String(text) => {
            if let Some(replaced) = ValueBindings::replace(text.as_bytes(), to_live) {
                out.push((
                    text.clone(),
                    String::from_utf8_lossy(&replaced).into_owned(),
                ));
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_changed(v, to_live, out)),
        Value::Object(members) => members
            .values()
            .for_each(|v| collect_changed(v, to_live, out)),
        _ => {}
    }
}

/// Recomputes the checksum headers present that cover `body`.
fn recompute_checksums(headers: &mut http::HeaderMap, body: &[u8]) {
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let names: Vec<http::HeaderName> = headers.keys().cloned().collect();
    for name in names {
        let current = headers
            .get(&name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let value = match name.as_str() {
            "x-amz-crc32" => Some(crc32(body).to_string()),
            // Composite checksums of multipart objects cover parts, not this body.
            _ if current.contains('-') => None,
            "x-amz-checksum-crc32" => Some(b64(&crc32(body).to_be_bytes())),
            "x-amz-checksum-crc32c" => Some(b64(&crc32c(body).to_be_bytes())),
            "x-amz-checksum-crc64nvme" => Some(b64(&crc64nvme(body).to_be_bytes())),
            "x-amz-checksum-sha1" => Some(b64(ring::digest::digest(
                &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
                body,
            )
            .as_ref())),
            "x-amz-checksum-sha256" => Some(b64(
                ring::digest::digest(&ring::digest::SHA256, body).as_ref()
            )),
            "content-md5" => Some(b64(&md5(body))),
            _ => None,
        };
        if let Some(Ok(value)) = value.map(|v| HeaderValue::from_str(&v)) {
            headers.insert(name, value);
        }
    }
}

/// A reflected CRC (the form every AWS checksum uses), bit by bit: bodies
/// that substitution changes are small, and this runs only for them.
fn crc_reflected(poly: u64, mask: u64, data: &[u8]) -> u64 {
    let mut crc = mask;
    for byte in data {
        crc ^= u64::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ poly
            } else {
                crc >> 1
            };
        }
    }
    (crc ^ mask) & mask
}

fn crc32(data: &[u8]) -> u32 {
    crc_reflected(0xEDB8_8320, 0xFFFF_FFFF, data) as u32
}

fn crc32c(data: &[u8]) -> u32 {
    crc_reflected(0x82F6_3B78, 0xFFFF_FFFF, data) as u32
}

fn crc64nvme(data: &[u8]) -> u64 {
    crc_reflected(0x9A6C_9329_AC4B_C9B5, u64::MAX, data)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// MD5 (RFC 1321), for the digests SQS and `Content-MD5` carry; nothing
/// here relies on it for security.
fn md5(data: &[u8]) -> [u8; 16] {
    const SHIFTS: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5,
        9, 14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10,
        15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ];
    let k: Vec<u32> = (0..64)
        .map(|i| ((i as f64 + 1.0).sin().abs() * 4_294_967_296.0) as u32)
        .collect();
    let mut state: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];
    let mut message = data.to_vec();
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&((data.len() as u64).wrapping_mul(8)).to_le_bytes());
    for chunk in message.chunks_exact(64) {
        let words: Vec<u32> = chunk
            .chunks_exact(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        let [mut a, mut b, mut c, mut d] = state;
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let rotated = a
                .wrapping_add(f)
                .wrapping_add(k[i])
                .wrapping_add(words[g])
                .rotate_left(SHIFTS[i]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(rotated);
        }
        state = [
            state[0].wrapping_add(a),
            state[1].wrapping_add(b),
            state[2].wrapping_add(c),
            state[3].wrapping_add(d),
        ];
    }
    let mut out = [0u8; 16];
    for (i, word) in state.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&word.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_match_their_published_check_values() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc64nvme(b"123456789"), 0xAE8B_1486_0A79_9888);
        assert_eq!(hex(&md5(b"")), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(
            hex(&md5(b"The quick brown fox jumps over the lazy dog")),
            "9e107d9d372bb6826bd81d3542a419d6"
        );
    }

    fn map(pairs: &[(&str, &str)]) -> HashMap<Box<str>, Box<str>> {
        pairs
            .iter()
            .map(|(r, l)| (Box::from(*r), Box::from(*l)))
            .collect()
    }

    #[test]
    fn substitutes_body_and_headers_and_recomputes_only_covering_checksums() {
        let recorded_body = br#"{"Item":{"id":{"S":"aaaa1111"}}}"#;
        let mut response = Response::new(http::StatusCode::OK);
        response.body = recorded_body.to_vec().into();
        response.set_header("x-amz-crc32", &crc32(recorded_body).to_string());
        response.set_header("location", "/bucket-aaaa1111");
        response.set_header("etag", "\"etag-kept\"");
        let to_live = map(&[("aaaa1111", "dddd4444")]);
        let out = substitute(&response, &to_live).unwrap();
        let expected = br#"{"Item":{"id":{"S":"dddd4444"}}}"#;
        assert_eq!(&out.body[..], expected);
        assert_eq!(
            out.header("x-amz-crc32"),
            Some(crc32(expected).to_string().as_str())
        );
        assert_eq!(out.header("location"), Some("/bucket-dddd4444"));
        assert_eq!(out.header("etag"), Some("\"etag-kept\""));
        assert!(substitute(&response, &map(&[("bbbb2222", "eeee5555")])).is_none());
    }

    #[test]
    fn digests_of_changed_bodies_and_strings_pair_live_with_recorded() {
        let to_live = map(&[("aaaa1111", "dddd4444")]);
        let pairs = digests(
            br#"{"MessageBody":"hi aaaa1111","QueueUrl":"q"}"#,
            b"I am aaaa1111",
            &to_live,
        );
        let pair = |before: &[u8], after: &[u8]| {
            (Box::from(hex(&md5(after))), Box::from(hex(&md5(before))))
        };
        assert!(
            pairs.contains(&pair(b"hi aaaa1111", b"hi dddd4444")),
            "{pairs:?}"
        );
        assert!(
            pairs.contains(&pair(b"I am aaaa1111", b"I am dddd4444")),
            "{pairs:?}"
        );
        assert_eq!(
            pairs.len(),
            3,
            "the request body, its string, the answer body"
        );
        assert!(digests(b"unchanged", b"", &to_live).is_empty());
    }

    #[test]
    fn a_header_only_change_keeps_the_body_checksums() {
        let mut response = Response::new(http::StatusCode::OK);
        response.body = b"payload".to_vec().into();
        response.set_header("x-amz-checksum-crc32", "QixqFQ==");
        response.set_header("location", "/bucket-aaaa1111");
        let out = substitute(&response, &map(&[("aaaa1111", "dddd4444")])).unwrap();
        assert_eq!(out.header("x-amz-checksum-crc32"), Some("QixqFQ=="));
        assert_eq!(&out.body[..], b"payload");
        assert_eq!(
            base64::engine::general_purpose::STANDARD.encode(crc32(b"payload").to_be_bytes()),
            "QixqFQ=="
        );
    }
}
