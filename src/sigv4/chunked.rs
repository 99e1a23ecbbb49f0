//! `Content-Encoding: aws-chunked` payloads: S3 uploads sent as a chain of
//! chunks instead of one body.
//!
//! ```text
//! client framing ──> decode ──> the request as meant (payload, trailers as headers)
//!                                 ├─ matcher and cassette (same for every chunk size)
//!                                 └─ Signer::sign ──> encode, re-signed with the real key
//! ```
//! Three kinds exist, named by the client's `X-Amz-Content-SHA256`:
//! - `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: plain chunks, then trailers (the
//!   JS SDK v3 and other SDKs send checksums this way);
//! - `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`: every chunk carries a signature
//!   that chains from the request's own (the seed);
//! - `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`: the same, then trailers
//!   signed as `AWS4-HMAC-SHA256-TRAILER`.
//!
//! The client's chunk signatures were made with throw-away credentials, so
//! they are dropped on decode; [`Streaming::encode`] frames the payload in
//! the client's chunk sizes again and [`ChunkSigner`] makes a new chain with
//! the real key. SigV4a (`STREAMING-AWS4-ECDSA-P256-SHA256-*`) is refused:
//! it signs with a key pair this proxy cannot derive.

use crate::http::Request;
use bytes::Bytes;
use http::HeaderValue;
use http::header::HeaderName;
use sha2::{Digest, Sha256};

/// `X-Amz-Content-SHA256` of each kind.
pub const UNSIGNED_TRAILER: &str = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
pub const SIGNED: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
pub const SIGNED_TRAILER: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";

/// The hex SHA-256 of nothing, a fixed line of every chunk's string to sign.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Which framing a streaming upload uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamingKind {
    UnsignedTrailer,
    Signed,
    SignedTrailer,
}

impl StreamingKind {
    /// The `X-Amz-Content-SHA256` value that announces this kind.
    pub fn content_sha256(self) -> &'static str {
        match self {
            StreamingKind::UnsignedTrailer => UNSIGNED_TRAILER,
            StreamingKind::Signed => SIGNED,
            StreamingKind::SignedTrailer => SIGNED_TRAILER,
        }
    }

    fn signed(self) -> bool {
        !matches!(self, StreamingKind::UnsignedTrailer)
    }

    fn has_trailer(self) -> bool {
        !matches!(self, StreamingKind::Signed)
    }
}

/// How a streaming upload was framed, kept so the forwarded request is framed
/// the same way; the payload itself is the decoded request's body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Streaming {
    pub kind: StreamingKind,
    /// Data length of each non-empty chunk, in order.
    pub chunk_sizes: Vec<usize>,
    /// Trailer names (lower case), in the order sent.
    pub trailer_names: Vec<String>,
}

/// Decodes an aws-chunked request into the request it stands for: the body
/// is the payload, `aws-chunked` leaves `Content-Encoding`, the framing
/// headers go, and each trailer becomes a header. `Ok(None)` for a request
/// that is not aws-chunked; `Err` says what is wrong with the framing.
pub fn decode(request: &Request) -> Result<Option<(Request, Streaming)>, String> {
    let announced = request.header("x-amz-content-sha256");
    let encodings: Vec<&str> = request
        .headers
        .get_all("content-encoding")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    let chunked_encoding = encodings
        .iter()
        .any(|e| e.eq_ignore_ascii_case("aws-chunked"));
    let kind = match announced {
        Some(UNSIGNED_TRAILER) => StreamingKind::UnsignedTrailer,
        Some(SIGNED) => StreamingKind::Signed,
        Some(SIGNED_TRAILER) => StreamingKind::SignedTrailer,
        Some(other) if other.starts_with("STREAMING-") => {
            return Err(format!(
                "X-Amz-Content-SHA256 `{other}` is a streaming upload this proxy cannot re-sign (SigV4a signs with a key pair, not a secret key); configure the client for SigV4, or to send the body in one piece"
            ));
        }
        // An aws-chunked body announced otherwise: decode the framing, and
        // send it on as unsigned chunks with trailers.
        _ if chunked_encoding => StreamingKind::UnsignedTrailer,
        _ => return Ok(None),
    };
    let framing = parse(&request.body, kind)?;
    if let Some(declared) = request.header("x-amz-decoded-content-length") {
        let declared: usize = declared.trim().parse().map_err(|_| {
            format!("X-Amz-Decoded-Content-Length `{declared}` is not a byte count")
        })?;
        if declared != framing.payload.len() {
            return Err(format!(
                "X-Amz-Decoded-Content-Length says {declared} bytes but the chunks hold {}",
                framing.payload.len()
            ));
        }
    }
    let mut decoded = request.clone();
    decoded.body = Bytes::from(framing.payload);
    let remaining: Vec<&str> = encodings
        .iter()
        .copied()
        .filter(|e| !e.eq_ignore_ascii_case("aws-chunked"))
        .collect();
    decoded.headers.remove("content-encoding");
    if !remaining.is_empty() {
        if let Ok(value) = HeaderValue::from_str(&remaining.join(",")) {
            decoded.headers.insert("content-encoding", value);
        }
    }
    decoded.headers.remove("x-amz-decoded-content-length");
    decoded.headers.remove("x-amz-trailer");
    decoded.headers.remove("x-amz-content-sha256");
    let mut trailer_names = Vec::new();
    for (name, value) in framing.trailers {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("the trailer name `{name}` is not a header name"))?;
        let value = HeaderValue::from_str(&value)
            .map_err(|_| format!("the trailer `{name}` has a value that is not header text"))?;
        decoded.headers.insert(header, value);
        trailer_names.push(name);
    }
    Ok(Some((
        decoded,
        Streaming {
            kind,
            chunk_sizes: framing.chunk_sizes,
            trailer_names,
        },
    )))
}

struct Framing {
    payload: Vec<u8>,
    chunk_sizes: Vec<usize>,
    trailers: Vec<(String, String)>,
}

/// Reads `SIZE[;chunk-signature=SIG]\r\nDATA\r\n ... 0[;...]\r\n[TRAILERS]\r\n`.
/// Signatures are not checked: they were made with the client's throw-away key.
fn parse(body: &[u8], kind: StreamingKind) -> Result<Framing, String> {
    let mut rest = body;
    let mut payload = Vec::new();
    let mut chunk_sizes = Vec::new();
    loop {
        let (line, after) = split_line(rest)
            .ok_or("the aws-chunked body ends inside a chunk header; send the whole body")?;
        let line = std::str::from_utf8(line)
            .map_err(|_| "an aws-chunked chunk header is not text".to_string())?;
        let (size, extension) = line.split_once(';').unwrap_or((line, ""));
        let size = usize::from_str_radix(size.trim(), 16)
            .map_err(|_| format!("the aws-chunked chunk header `{line}` has no hex size"))?;
        if kind.signed() && !extension.trim_start().starts_with("chunk-signature=") {
            return Err(format!(
                "the chunk header `{line}` has no chunk-signature, which {} requires",
                kind.content_sha256()
            ));
        }
        rest = after;
        if size == 0 {
            break;
        }
        let data = rest.get(..size).ok_or_else(|| {
            format!("an aws-chunked chunk says {size} bytes but the body ends first")
        })?;
        payload.extend_from_slice(data);
        chunk_sizes.push(size);
        rest = rest[size..]
            .strip_prefix(b"\r\n")
            .ok_or("an aws-chunked chunk is not followed by CRLF")?;
    }
    let mut trailers = Vec::new();
    loop {
        let Some((line, after)) = split_line(rest) else {
            // The final empty line may be missing; nothing else may follow.
            if rest.is_empty() {
                break;
            }
            return Err("the aws-chunked trailers do not end with CRLF".into());
        };
        rest = after;
        if line.is_empty() {
            break;
        }
        let line = std::str::from_utf8(line)
            .map_err(|_| "an aws-chunked trailer is not text".to_string())?;
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("the aws-chunked trailer `{line}` has no `name:value`"))?;
        let name = name.trim().to_ascii_lowercase();
        if name == "x-amz-trailer-signature" {
            continue;
        }
        if !kind.has_trailer() {
            return Err(format!(
                "a trailer `{name}` follows the chunks, which {} does not allow",
                kind.content_sha256()
            ));
        }
        trailers.push((name, value.trim().to_string()));
    }
    if !rest.is_empty() {
        return Err("bytes follow the end of the aws-chunked body".into());
    }
    Ok(Framing {
        payload,
        chunk_sizes,
        trailers,
    })
}

fn split_line(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = bytes.windows(2).position(|w| w == b"\r\n")?;
    Some((&bytes[..end], &bytes[end + 2..]))
}

/// Makes the chain of chunk and trailer signatures for one request, from
/// the signing key and the request's own (seed) signature.
pub(super) struct ChunkSigner<'a> {
    pub signing_key: &'a [u8],
    /// `YYYYMMDDTHHMMSSZ`, the request's `X-Amz-Date`.
    pub amz_date: &'a str,
    /// `YYYYMMDD/REGION/SERVICE/aws4_request`.
    pub scope: &'a str,
    pub previous: String,
}

impl ChunkSigner<'_> {
    /// Signs one chunk's data (empty for the final chunk) and moves the chain on.
    pub fn chunk(&mut self, data: &[u8]) -> String {
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n{}\n{}\n{}\n{EMPTY_SHA256}\n{}",
            self.amz_date,
            self.scope,
            self.previous,
            sha256_hex(data)
        );
        self.previous =
            aws_sigv4::sign::v4::calculate_signature(self.signing_key, string_to_sign.as_bytes());
        self.previous.clone()
    }

    /// Signs the trailers, given as `name:value\n` lines.
    pub fn trailer(&mut self, canonical: &str) -> String {
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256-TRAILER\n{}\n{}\n{}\n{}",
            self.amz_date,
            self.scope,
            self.previous,
            sha256_hex(canonical.as_bytes())
        );
        self.previous =
            aws_sigv4::sign::v4::calculate_signature(self.signing_key, string_to_sign.as_bytes());
        self.previous.clone()
    }
}

impl Streaming {
    /// The headers the framed request carries besides the signature:
    /// `Content-Encoding` (aws-chunked first), the decoded length and the
    /// trailer names. Trailer values leave the headers for the body.
    pub fn frame_headers(&self, request: &mut Request) -> Result<Vec<(String, String)>, String> {
        let mut trailers = Vec::new();
        for name in &self.trailer_names {
            let value = request.header(name).unwrap_or("").to_string();
            request.headers.remove(name.as_str());
            trailers.push((name.clone(), value));
        }
        let encoding = match request.header("content-encoding") {
            Some(other) if !other.is_empty() => format!("aws-chunked,{other}"),
            _ => "aws-chunked".to_string(),
        };
        let mut set = |name: &'static str, value: &str| -> Result<(), String> {
            let value = HeaderValue::from_str(value)
                .map_err(|_| format!("`{value}` cannot be the {name} header"))?;
            request.headers.insert(name, value);
            Ok(())
        };
        set("content-encoding", &encoding)?;
        set(
            "x-amz-decoded-content-length",
            &request.body.len().to_string(),
        )?;
        if !self.trailer_names.is_empty() {
            set("x-amz-trailer", &self.trailer_names.join(","))?;
        }
        Ok(trailers)
    }

    /// Frames `payload` in the client's chunk sizes (the last size repeats if
    /// the payload is longer), signing each chunk when `signer` is given.
    pub(super) fn encode(
        &self,
        payload: &[u8],
        trailers: &[(String, String)],
        mut signer: Option<ChunkSigner<'_>>,
    ) -> Vec<u8> {
        let mut out = Vec::with_capacity(payload.len() + 256);
        let mut rest = payload;
        let mut sizes = self.chunk_sizes.iter().copied();
        let mut last = 64 * 1024;
        let header = |out: &mut Vec<u8>, data: &[u8], signer: &mut Option<ChunkSigner<'_>>| {
            out.extend_from_slice(format!("{:x}", data.len()).as_bytes());
            if let Some(signer) = signer {
                out.extend_from_slice(b";chunk-signature=");
                out.extend_from_slice(signer.chunk(data).as_bytes());
            }
            out.extend_from_slice(b"\r\n");
        };
        while !rest.is_empty() {
            let size = sizes.next().unwrap_or(last).clamp(1, rest.len());
            last = size;
            let (data, after) = rest.split_at(size);
            header(&mut out, data, &mut signer);
            out.extend_from_slice(data);
            out.extend_from_slice(b"\r\n");
            rest = after;
        }
        header(&mut out, &[], &mut signer);
        if self.kind.has_trailer() && !trailers.is_empty() {
            let canonical: String = trailers
                .iter()
                .map(|(name, value)| format!("{name}:{value}\n"))
                .collect();
            out.extend_from_slice(canonical.replace('\n', "\r\n").as_bytes());
            if let Some(signer) = &mut signer {
                out.extend_from_slice(b"x-amz-trailer-signature:");
                out.extend_from_slice(signer.trailer(&canonical).as_bytes());
                out.extend_from_slice(b"\r\n");
            }
        }
        out.extend_from_slice(b"\r\n");
        out
    }
}

pub(super) fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    fn upload(content_sha256: &str, body: &[u8]) -> Request {
        let mut request = Request::new(Method::PUT, "/bucket/key").unwrap();
        request
            .headers
            .insert("x-amz-content-sha256", content_sha256.parse().unwrap());
        request
            .headers
            .insert("content-encoding", "aws-chunked".parse().unwrap());
        request.body = Bytes::copy_from_slice(body);
        request
    }

    #[test]
    fn unsigned_trailer_uploads_decode_to_their_payload_and_checksum() {
        let mut request = upload(
            UNSIGNED_TRAILER,
            b"5\r\nhello\r\n3\r\n, w\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n",
        );
        request
            .headers
            .insert("x-amz-decoded-content-length", "8".parse().unwrap());
        request
            .headers
            .insert("x-amz-trailer", "x-amz-checksum-crc32".parse().unwrap());
        let (decoded, streaming) = decode(&request).unwrap().unwrap();
        assert_eq!(&decoded.body[..], b"hello, w");
        assert_eq!(decoded.header("x-amz-checksum-crc32"), Some("AAAAAA=="));
        for gone in [
            "content-encoding",
            "x-amz-trailer",
            "x-amz-decoded-content-length",
        ] {
            assert!(!decoded.headers.contains_key(gone), "{gone} kept");
        }
        assert_eq!(streaming.chunk_sizes, [5, 3]);
        assert_eq!(streaming.trailer_names, ["x-amz-checksum-crc32"]);

        let mut again = decoded.clone();
        let trailers = streaming.frame_headers(&mut again).unwrap();
        assert_eq!(
            streaming.encode(&again.body, &trailers, None),
            request.body.to_vec(),
            "framing the payload again gives the client's bytes"
        );
        assert_eq!(again.header("content-encoding"), Some("aws-chunked"));
        assert_eq!(again.header("x-amz-decoded-content-length"), Some("8"));
        assert!(!again.headers.contains_key("x-amz-checksum-crc32"));
    }

    #[test]
    fn other_content_encodings_are_kept() {
        let mut request = upload(UNSIGNED_TRAILER, b"2\r\nab\r\n0\r\n\r\n");
        request
            .headers
            .insert("content-encoding", "aws-chunked, gzip".parse().unwrap());
        let (decoded, _) = decode(&request).unwrap().unwrap();
        assert_eq!(decoded.header("content-encoding"), Some("gzip"));
    }

    #[test]
    fn requests_without_chunks_are_left_alone() {
        let mut request = upload("UNSIGNED-PAYLOAD", b"plain");
        request.headers.remove("content-encoding");
        assert!(decode(&request).unwrap().is_none());
    }

    #[test]
    fn broken_framing_is_refused_with_a_reason() {
        let cases: &[(&str, &[u8], &str)] = &[
            (UNSIGNED_TRAILER, b"zz\r\nab\r\n0\r\n\r\n", "no hex size"),
            (UNSIGNED_TRAILER, b"10\r\nab\r\n", "body ends first"),
            (UNSIGNED_TRAILER, b"2\r\nabXX0\r\n\r\n", "CRLF"),
            (SIGNED, b"2\r\nab\r\n0\r\n\r\n", "chunk-signature"),
            (
                UNSIGNED_TRAILER,
                b"2\r\nab\r\n0\r\n\r\nextra",
                "follow the end",
            ),
            (
                SIGNED,
                b"0;chunk-signature=00\r\nx-amz-checksum-crc32:AA==\r\n\r\n",
                "does not allow",
            ),
            (
                "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
                b"0\r\n\r\n",
                "SigV4a",
            ),
        ];
        for (kind, body, reason) in cases {
            let error = decode(&upload(kind, body)).unwrap_err();
            assert!(error.contains(reason), "{kind} {body:?}: {error}");
        }
        let mut request = upload(UNSIGNED_TRAILER, b"2\r\nab\r\n0\r\n\r\n");
        request
            .headers
            .insert("x-amz-decoded-content-length", "3".parse().unwrap());
        assert!(decode(&request).unwrap_err().contains("says 3 bytes"));
    }

    /// The example of AWS's S3 documentation on signed chunks: 66560 bytes of
    /// `a` in 64 KiB chunks, its seed signature, and the chain it gives.
    #[test]
    fn chunk_signatures_follow_the_documented_example() {
        let signing_key = aws_sigv4::sign::v4::generate_signing_key(
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_369_353_600),
            "us-east-1",
            "s3",
        );
        let signer = ChunkSigner {
            signing_key: signing_key.as_ref(),
            amz_date: "20130524T000000Z",
            scope: "20130524/us-east-1/s3/aws4_request",
            previous: "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9".into(),
        };
        let streaming = Streaming {
            kind: StreamingKind::Signed,
            chunk_sizes: vec![65536, 1024],
            trailer_names: Vec::new(),
        };
        let framed = streaming.encode(&[b'a'; 66560], &[], Some(signer));
        let text = String::from_utf8_lossy(&framed);
        for expected in [
            "10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n",
            "400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n",
            "0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n",
        ] {
            assert!(text.contains(expected), "missing {expected}");
        }
        let (decoded, again) = decode(&upload(SIGNED, &framed)).unwrap().unwrap();
        assert_eq!(decoded.body.len(), 66560);
        assert_eq!(again, streaming);
    }
}
