//! JSON text handled as text: deciding whether a body can be stored as JSON
//! without losing a byte, indenting it for the file, and taking the
//! indentation out again. No value tree is built, so member order, number
//! spellings, escapes and duplicate members are all kept as written.
//!
//! The round trip rests on one fact: a JSON text with no white space outside
//! its strings is exactly the text that remains when every white space byte
//! outside strings is removed from any indented spelling of it.

use bytes::BytesMut;
use serde::de::IgnoredAny;

/// The deepest nesting stored as JSON. A cassette file nests a body five
/// levels deep, and readers stop at 128.
const MAX_DEPTH: usize = 100;

/// True when `bytes` is one JSON value with no white space outside its
/// strings, valid UTF-8, no raw control character in a string, and nested at
/// most [`MAX_DEPTH`] deep: a body that the file can hold as JSON and give
/// back byte for byte.
pub fn is_compact_json(bytes: &[u8]) -> bool {
    if bytes.is_empty() || std::str::from_utf8(bytes).is_err() {
        return false;
    }
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &byte in bytes {
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            } else if byte < 0x20 {
                return false;
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b' ' | b'\t' | b'\n' | b'\r' => return false,
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return false;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    serde_json::from_slice::<IgnoredAny>(bytes).is_ok()
}

/// Appends `text` to `out` without the white space bytes outside strings.
pub fn minify_into(text: &[u8], out: &mut BytesMut) {
    out.reserve(text.len());
    // Runs of bytes to keep are copied whole; only white space between
    // them is skipped.
    let mut kept_from = 0;
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'"' => i = string_end(text, i + 1),
            b' ' | b'\t' | b'\n' | b'\r' => {
                out.extend_from_slice(&text[kept_from..i]);
                while i < text.len() && matches!(text[i], b' ' | b'\t' | b'\n' | b'\r') {
                    i += 1;
                }
                kept_from = i;
            }
            _ => i += 1,
        }
    }
    out.extend_from_slice(&text[kept_from..]);
}

/// The position after the quote that closes the string whose text starts
/// at `from` (the end of `text` if none does).
fn string_end(text: &[u8], mut from: usize) -> usize {
    while let Some(&byte) = text.get(from) {
        match byte {
            b'"' => return from + 1,
            b'\\' => from += 2,
            _ => from += 1,
        }
    }
    text.len()
}

/// Indents compact JSON the way the cassette file is indented (two spaces,
/// `": "` after a member name, empty objects and arrays kept as `{}` and
/// `[]`), for a value that starts `level` levels deep.
pub fn indent(compact: &str, level: usize) -> String {
    let bytes = compact.as_bytes();
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 2);
    let mut depth = level;
    let mut in_string = false;
    let mut escaped = false;
    let newline = |out: &mut Vec<u8>, depth: usize| {
        out.push(b'\n');
        out.resize(out.len() + 2 * depth, b' ');
    };
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        i += 1;
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
            out.push(byte);
            continue;
        }
        match byte {
            b'"' => {
                in_string = true;
                out.push(byte);
            }
            b'{' | b'[' => {
                out.push(byte);
                if matches!(bytes.get(i), Some(b'}' | b']')) {
                    out.push(bytes[i]);
                    i += 1;
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(byte);
            }
            b',' => {
                out.push(byte);
                newline(&mut out, depth);
            }
            b':' => out.extend_from_slice(b": "),
            _ => out.push(byte),
        }
    }
    // Only ASCII was added to valid UTF-8.
    String::from_utf8(out).unwrap_or_else(|_| compact.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_json_is_recognised_and_anything_else_is_not() {
        for yes in [
            &b"{}"[..],
            b"[]",
            b"1e3",
            b"-0.0",
            b"123456789012345678901234567890",
            br#"{"b":1,"a":{"c":[1,2,{}]}}"#,
            br#"{"a":1,"a":2}"#,
            br#""\u00e9 \" \\""#,
            "\"caf\u{e9}\"".as_bytes(),
        ] {
            assert!(is_compact_json(yes), "{}", String::from_utf8_lossy(yes));
        }
        for no in [
            &b""[..],
            b"1e3\n",
            b" {}",
            br#"{"a": 1}"#,
            b"{",
            b"nul",
            b"\"a\nb\"",
            b"\"\xff\"",
            b"1 2",
            b"\xef\xbb\xbf{}",
        ] {
            assert!(!is_compact_json(no), "{}", String::from_utf8_lossy(no));
        }
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(!is_compact_json(deep.as_bytes()));
    }

    #[test]
    fn indenting_then_minifying_gives_the_bytes_back() {
        let compact = r#"{"z":[1,{"y":"a, b: {c}","x":[]}],"a":{},"n":1.50E+3,"s":"\",\\"}"#;
        let indented = indent(compact, 1);
        assert_eq!(
            indented,
            "{\n    \"z\": [\n      1,\n      {\n        \"y\": \"a, b: {c}\",\n        \"x\": []\n      }\n    ],\n    \"a\": {},\n    \"n\": 1.50E+3,\n    \"s\": \"\\\",\\\\\"\n  }"
        );
        let mut minified = BytesMut::new();
        minify_into(indented.as_bytes(), &mut minified);
        assert_eq!(&minified[..], compact.as_bytes());
        // The indented text is JSON meaning the same.
        let a: serde_json::Value = serde_json::from_str(compact).unwrap();
        let b: serde_json::Value = serde_json::from_str(&indented).unwrap();
        assert_eq!(a, b);
    }
}
