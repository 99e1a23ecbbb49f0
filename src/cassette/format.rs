//! Cassette formats on disk: the only serde types for them. Everything else
//! works on the in-memory model in `cassette::model`; this file converts.
//!
//! Format 2 is written; formats 1 and 2 are read. They differ only in what a
//! `json` body means: in format 2 it is the recorded bytes (indented in the
//! file, every other byte as recorded); in format 1 it is a value whose
//! compact serialisation is sent. See `docs/cassette-format.md`.
//!
//! Readers ignore fields they do not know (later versions may add some) but
//! reject a `format` they do not know.

use super::model::{
    Body, Cassette, HeaderValues, Headers, Interaction, Provenance, RecordedRequest,
    RecordedResponse,
};
use super::raw_json;
use base64::Engine;
use bytes::{Bytes, BytesMut};
use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

pub const FORMAT_V1: &str = "proton-vcr.cassette/1";
pub const FORMAT_V2: &str = "proton-vcr.cassette/2";

/// The nesting level of a body's `json` member in a written cassette file:
/// file, interactions, interaction, request or response, body.
const BODY_LEVEL: usize = 5;

// Every struct declares its fields in alphabetical order, and serde writes
// them in declaration order: serialising gives the canonical sorted form
// directly, with no intermediate `Value` tree. Text is `Cow`s so that writing
// borrows from the model instead of copying the cassette, and reading
// borrows from the file's bytes where it can. `B` is the body: `BodyIn` when
// reading, `BodyOut` when writing.

#[derive(Serialize)]
pub(super) struct CassetteFile<'a, B> {
    pub format: Cow<'a, str>,
    pub interactions: Vec<InteractionFile<'a, B>>,
    pub name: Cow<'a, str>,
    pub provenance: ProvenanceFile<'a>,
}

#[derive(Serialize, Deserialize)]
pub(super) struct ProvenanceFile<'a> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<Cow<'a, str>>,
    pub kind: Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_at: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<Cow<'a, str>>,
    #[serde(default)]
    pub sources: Cow<'a, [String]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<Cow<'a, str>>,
}

#[derive(Serialize, Deserialize)]
pub(super) struct InteractionFile<'a, B> {
    pub elapsed_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Cow<'a, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<Cow<'a, str>>,
    pub request: RequestFile<'a, B>,
    pub response: ResponseFile<'a, B>,
}

#[derive(Serialize, Deserialize)]
pub(super) struct RequestFile<'a, B> {
    #[serde(default = "none", skip_serializing_if = "Option::is_none")]
    pub body: Option<B>,
    #[serde(default)]
    pub headers: HeadersFile<'a>,
    pub method: Cow<'a, str>,
    pub uri: Cow<'a, str>,
}

#[derive(Serialize, Deserialize)]
pub(super) struct ResponseFile<'a, B> {
    #[serde(default = "none", skip_serializing_if = "Option::is_none")]
    pub body: Option<B>,
    #[serde(default)]
    pub headers: HeadersFile<'a>,
    pub status: u16,
}

fn none<B>() -> Option<B> {
    None
}

/// `{"name": "value"}`, or `{"name": ["value", "value"]}` for a header sent
/// more than once. Read straight into the model's `Headers`: a cassette holds
/// two header maps per interaction, and building a map only to copy it out
/// would double the work and the peak memory of loading a large cassette.
#[derive(Default)]
pub(super) struct HeadersFile<'a>(pub Cow<'a, Headers>);

impl Serialize for HeadersFile<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (name, values) in self.0.iter_grouped() {
            match (values.len(), values.first()) {
                (1, Some(one)) => map.serialize_entry(name, one)?,
                _ => map.serialize_entry(name, &Values(values))?,
            }
        }
        map.end()
    }
}

/// A repeated header's values, written as an array.
struct Values<'a>(HeaderValues<'a>);

impl Serialize for Values<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.clone())
    }
}

impl<'de> Deserialize<'de> for HeadersFile<'_> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(HeadersVisitor)
    }
}

struct HeadersVisitor;

impl<'de> Visitor<'de> for HeadersVisitor {
    type Value = HeadersFile<'static>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of header names to a string or an array of strings")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<HeadersFile<'static>, A::Error> {
        let mut pairs: Vec<(Text<'de>, Text<'de>)> =
            Vec::with_capacity(map.size_hint().unwrap_or(8));
        while let Some(name) = map.next_key::<Text<'de>>()? {
            match map.next_value()? {
                HeaderValuesFile::One(value) => pairs.push((name, value)),
                HeaderValuesFile::Many(values) => {
                    pairs.extend(values.into_iter().map(|value| (name.clone(), value)));
                }
            }
        }
        let pairs = pairs.iter().map(|(name, value)| (&*name.0, &*value.0));
        Ok(HeadersFile(Cow::Owned(Headers::from_pairs(pairs))))
    }
}

/// Text borrowed from the file when it has no escapes.
#[derive(Clone)]
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(TextVisitor)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: serde::de::Error>(self, value: &'de str) -> Result<Text<'de>, E> {
        Ok(Text(Cow::Borrowed(value)))
    }

    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Text<'de>, E> {
        Ok(Text(Cow::Owned(value.to_string())))
    }

    fn visit_string<E: serde::de::Error>(self, value: String) -> Result<Text<'de>, E> {
        Ok(Text(Cow::Owned(value)))
    }
}

/// One header's values: a string or an array of strings.
enum HeaderValuesFile<'a> {
    One(Text<'a>),
    Many(Vec<Text<'a>>),
}

impl<'de> Deserialize<'de> for HeaderValuesFile<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(HeaderValuesVisitor)
    }
}

struct HeaderValuesVisitor;

impl<'de> Visitor<'de> for HeaderValuesVisitor {
    type Value = HeaderValuesFile<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a header value: a string, or an array of strings for a repeated header")
    }

    fn visit_borrowed_str<E: serde::de::Error>(
        self,
        value: &'de str,
    ) -> Result<HeaderValuesFile<'de>, E> {
        Ok(HeaderValuesFile::One(Text(Cow::Borrowed(value))))
    }

    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<HeaderValuesFile<'de>, E> {
        Ok(HeaderValuesFile::One(Text(Cow::Owned(value.to_string()))))
    }

    fn visit_string<E: serde::de::Error>(self, value: String) -> Result<HeaderValuesFile<'de>, E> {
        Ok(HeaderValuesFile::One(Text(Cow::Owned(value))))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<HeaderValuesFile<'de>, A::Error> {
        let mut values = Vec::new();
        while let Some(value) = seq.next_element::<Text<'de>>()? {
            values.push(value);
        }
        Ok(HeaderValuesFile::Many(values))
    }
}

/// A body as read: `json` kept as its text in the file, borrowed, until the
/// format says what it means.
pub(super) enum BodyIn<'a> {
    Json(&'a RawValue),
    Text(Cow<'a, str>),
    Base64(Cow<'a, str>),
}

/// What a body object must hold, for the errors that say so.
const BODY_KINDS: &str = "a body is an object with exactly one of `json`, `text` or `base64`";

impl<'de: 'a, 'a> Deserialize<'de> for BodyIn<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(BodyVisitor(std::marker::PhantomData))
    }
}

struct BodyVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for BodyVisitor<'a> {
    type Value = BodyIn<'a>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(BODY_KINDS)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<BodyIn<'a>, A::Error> {
        use serde::de::Error;
        let mut body = None;
        while let Some(kind) = map.next_key::<Cow<'de, str>>()? {
            let read = match &*kind {
                "json" => BodyIn::Json(map.next_value()?),
                "text" => BodyIn::Text(map.next_value::<Text<'de>>()?.0),
                "base64" => BodyIn::Base64(map.next_value::<Text<'de>>()?.0),
                other => {
                    return Err(A::Error::custom(format!("{BODY_KINDS}, not `{other}`")));
                }
            };
            if body.replace(read).is_some() {
                return Err(A::Error::custom(format!("{BODY_KINDS}; this one has two")));
            }
        }
        body.ok_or_else(|| A::Error::custom(format!("{BODY_KINDS}; this one is empty")))
    }
}

/// A body as written in format 2.
#[derive(Serialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum BodyOut<'a> {
    Json(Box<RawValue>),
    Text(Cow<'a, str>),
    Base64(String),
}

/// How bodies are laid out when written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Layout {
    /// Indented JSON bodies, for the pretty-printed canonical file.
    Pretty,
    /// Compact JSON bodies, for one-line journal records.
    Compact,
}

/// The formats this build reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

impl Version {
    pub fn of(format: &str) -> Option<Self> {
        match format {
            FORMAT_V1 => Some(Version::V1),
            FORMAT_V2 => Some(Version::V2),
            _ => None,
        }
    }
}

impl ProvenanceFile<'_> {
    pub fn into_model(self) -> Provenance {
        Provenance {
            kind: self.kind.into_owned(),
            endpoint: self.endpoint.map(Cow::into_owned),
            service: self.service.map(Cow::into_owned),
            region: self.region.map(Cow::into_owned),
            recorded_at: self.recorded_at.map(Cow::into_owned),
            tool: self.tool.map(Cow::into_owned),
            sources: self.sources.into_owned(),
        }
    }
}

impl<'a> CassetteFile<'a, BodyOut<'a>> {
    pub fn from_model(cassette: &'a Cassette) -> Self {
        let p = &cassette.provenance;
        Self {
            format: Cow::Borrowed(FORMAT_V2),
            name: Cow::Borrowed(&cassette.name),
            provenance: ProvenanceFile {
                kind: Cow::Borrowed(&p.kind),
                endpoint: p.endpoint.as_deref().map(Cow::Borrowed),
                service: p.service.as_deref().map(Cow::Borrowed),
                region: p.region.as_deref().map(Cow::Borrowed),
                recorded_at: p.recorded_at.as_deref().map(Cow::Borrowed),
                tool: p.tool.as_deref().map(Cow::Borrowed),
                sources: Cow::Borrowed(&p.sources),
            },
            interactions: cassette
                .interactions
                .iter()
                .map(|i| InteractionFile::from_model(i, Layout::Pretty))
                .collect(),
        }
    }
}

impl<'a> InteractionFile<'a, BodyIn<'a>> {
    pub fn into_model(
        self,
        version: Version,
        arena: &mut BodyArena,
    ) -> Result<Interaction, String> {
        let interaction = Interaction {
            elapsed_ms: self.elapsed_ms,
            endpoint: self.endpoint.map(Cow::into_owned),
            expect: self.expect.map(Cow::into_owned),
            note: self.note.map(Cow::into_owned),
            request: RecordedRequest {
                method: self.request.method.into_owned(),
                uri: self.request.uri.into_owned(),
                headers: self.request.headers.0.into_owned(),
                body: body_into_model(self.request.body, version, arena)
                    .map_err(|e| format!("request body: {e}"))?,
            },
            response: RecordedResponse {
                status: self.response.status,
                headers: self.response.headers.0.into_owned(),
                body: body_into_model(self.response.body, version, arena)
                    .map_err(|e| format!("response body: {e}"))?,
            },
        };
        servable(&interaction)?;
        Ok(interaction)
    }
}

/// Whether `name` is an HTTP field name (a token: letters, digits and
/// ``!#$%&'*+-.^_`|~``). Checked byte by byte: building an
/// `http::HeaderName` for each of a long cassette's headers allocates.
fn is_token(name: &str) -> bool {
    static TOKEN: [bool; 256] = {
        let mut table = [false; 256];
        let mut b = 0;
        while b < 256 {
            let c = b as u8;
            table[b] = c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'|'
                        | b'~'
                );
            b += 1;
        }
        table
    };
    // Folded without an early exit, so the loop runs over whole words.
    !name.is_empty() && name.bytes().fold(true, |ok, b| ok & TOKEN[usize::from(b)])
}

/// Whether `value` is an HTTP field value `http::HeaderValue` accepts: no
/// control character but a tab (bytes past ASCII are allowed).
fn is_field_value(value: &str) -> bool {
    value.bytes().fold(true, |ok, b| {
        ok & ((b >= 0x20) & (b != 0x7f) | (b == b'\t'))
    })
}

/// The most header values one recorded message may hold.
pub const MAX_HEADER_VALUES: usize = 10_000;

/// Whether `interaction` can be sent as it was recorded: a final status,
/// headers HTTP can carry, and a `content-length` that frames its body.
/// Every reader applies it, and the writer too, so that a recording never
/// holds an exchange the next load refuses.
/// Replay sends recorded headers as they are, so a wrong length would cut
/// the answer short or run it into the next one on the connection.
pub(super) fn servable(interaction: &Interaction) -> Result<(), String> {
    let status = interaction.response.status;
    if !(200..=999).contains(&status) {
        return Err(format!(
            "response status {status} is not a final HTTP status (200 to 999); fix the `status` of the response"
        ));
    }
    let head = interaction.request.method.eq_ignore_ascii_case("HEAD");
    for (side, headers, body, framed) in [
        (
            "request",
            &interaction.request.headers,
            interaction.request.body.bytes(),
            true,
        ),
        (
            "response",
            &interaction.response.headers,
            interaction.response.body.bytes(),
            // A HEAD answer states the length of a body it does not carry,
            // and 204 and 304 carry none.
            !head && status != 204 && status != 304,
        ),
    ] {
        if headers.len() > MAX_HEADER_VALUES {
            return Err(format!(
                "the {side} has {} header values, more than the {MAX_HEADER_VALUES} a message may hold",
                headers.len()
            ));
        }
        for (name, value) in headers.iter() {
            if !is_token(name) {
                return Err(format!(
                    "the {side} header name {name:?} cannot be sent over HTTP (letters, digits and `!#$%&'*+-.^_`|~` only)"
                ));
            }
            if !is_field_value(value) {
                return Err(format!(
                    "the {side} header `{name}` has a value HTTP cannot carry (a line break or a control character)"
                ));
            }
        }
        if framed {
            // Every value: a repeated header is sent repeated.
            let lengths = headers.iter().filter(|(name, _)| *name == "content-length");
            for (_, length) in lengths {
                let digits = !length.is_empty() && length.bytes().all(|b| b.is_ascii_digit());
                if !digits || length.parse::<usize>() != Ok(body.len()) {
                    return Err(format!(
                        "the {side}'s content-length is {length:?} but its body holds {} bytes; remove the header or fix it",
                        body.len()
                    ));
                }
            }
        }
    }
    Ok(())
}

impl<'a> InteractionFile<'a, BodyOut<'a>> {
    pub fn from_model(interaction: &'a Interaction, layout: Layout) -> Self {
        Self {
            elapsed_ms: interaction.elapsed_ms,
            endpoint: interaction.endpoint.as_deref().map(Cow::Borrowed),
            expect: interaction.expect.as_ref().map(Cow::Borrowed),
            note: interaction.note.as_deref().map(Cow::Borrowed),
            request: RequestFile {
                method: Cow::Borrowed(&interaction.request.method),
                uri: Cow::Borrowed(&interaction.request.uri),
                headers: HeadersFile(Cow::Borrowed(&interaction.request.headers)),
                body: body_from_model(&interaction.request.body, layout),
            },
            response: ResponseFile {
                status: interaction.response.status,
                headers: HeadersFile(Cow::Borrowed(&interaction.response.headers)),
                body: body_from_model(&interaction.response.body, layout),
            },
        }
    }
}

fn body_into_model(
    body: Option<BodyIn<'_>>,
    version: Version,
    arena: &mut BodyArena,
) -> Result<Body, String> {
    Ok(match body {
        None => Body::default(),
        Some(BodyIn::Json(raw)) => match version {
            Version::V2 => {
                let text = raw.get().as_bytes();
                arena.body(text.len(), |out| raw_json::minify_into(text, out))
            }
            Version::V1 => {
                let value: Value = serde_json::from_str(raw.get())
                    .map_err(|e| format!("`json` is not valid JSON ({e})"))?;
                Body::from_json(&value)
            }
        },
        Some(BodyIn::Text(text)) => {
            arena.body(text.len(), |out| out.extend_from_slice(text.as_bytes()))
        }
        Some(BodyIn::Base64(data)) => Body::new(
            base64::engine::general_purpose::STANDARD
                .decode(data.as_bytes())
                .map_err(|e| format!("`base64` is not valid base64 ({e})"))?,
        ),
    })
}

/// Where the bodies of a cassette being read are put: blocks shared by many
/// bodies, each body a slice of one. A cassette of many small bodies then
/// costs a few large allocations instead of one per body, in time and in
/// the allocator's bookkeeping. Blocks start small and grow to
/// [`BodyArena::MAX_BLOCK`], so a small cassette holds little spare room.
#[derive(Default)]
pub(super) struct BodyArena {
    block: BytesMut,
    /// The size of the last block taken.
    last_block: usize,
}

impl BodyArena {
    const MIN_BLOCK: usize = 4 << 10;
    const MAX_BLOCK: usize = 1 << 20;

    /// A body of at most `most` bytes, written by `write` (which appends).
    fn body(&mut self, most: usize, write: impl FnOnce(&mut BytesMut)) -> Body {
        if most > Self::MAX_BLOCK / 4 {
            // A large body gets its own allocation, sized to fit.
            let mut own = BytesMut::with_capacity(most);
            write(&mut own);
            // Kept as written when it fills what was reserved; a shorter
            // one (minified JSON) is copied once to give the rest back.
            return Body::new(if own.len() == most {
                own.freeze()
            } else {
                Bytes::copy_from_slice(&own)
            });
        }
        if self.block.capacity() - self.block.len() < most {
            self.last_block = (self.last_block * 2).clamp(Self::MIN_BLOCK, Self::MAX_BLOCK);
            self.block = BytesMut::with_capacity(self.last_block);
        }
        write(&mut self.block);
        Body::new(self.block.split().freeze())
    }
}

/// The most readable spelling that gives the bytes back: JSON when the body
/// is compact JSON, else text when UTF-8, else base64.
fn body_from_model(body: &Body, layout: Layout) -> Option<BodyOut<'_>> {
    let bytes = body.bytes();
    if bytes.is_empty() {
        return None;
    }
    if raw_json::is_compact_json(bytes) {
        let compact = std::str::from_utf8(bytes).unwrap_or_default();
        let text = match layout {
            Layout::Pretty => raw_json::indent(compact, BODY_LEVEL),
            Layout::Compact => compact.to_string(),
        };
        if let Ok(raw) = RawValue::from_string(text) {
            return Some(BodyOut::Json(raw));
        }
    }
    Some(match std::str::from_utf8(bytes) {
        Ok(text) => BodyOut::Text(Cow::Borrowed(text)),
        Err(_) => BodyOut::Base64(base64::engine::general_purpose::STANDARD.encode(bytes)),
    })
}

#[cfg(test)]
mod tests {
    use super::CassetteFile;
    use crate::cassette::{Body, Version, parse, parse_versioned, to_bytes};
    use std::path::Path;

    #[test]
    fn written_bytes_are_sorted_at_every_level_with_every_field_present() {
        let text = r#"{"format": "proton-vcr.cassette/1", "name": "all",
          "provenance": {"kind": "recorded", "endpoint": "https://e", "service": "s", "region": "r",
                         "recorded_at": "2026-05-01T12:00:00.000Z", "tool": "t", "sources": ["u"]},
          "interactions": [
            {"elapsed_ms": 1, "note": "n",
             "request": {"method": "POST", "uri": "/?a=1", "headers": {"b": "1", "a": ["2", "3"]},
                         "body": {"json": {"z": 1, "a": {"y": 2.5, "b": null}}}},
             "response": {"status": 200, "headers": {"content-type": "text/plain"}, "body": {"text": "ok"}}},
            {"elapsed_ms": 2,
             "request": {"method": "GET", "uri": "/"},
             "response": {"status": 204, "body": {"base64": "AAEC"}}}]}"#;
        let cassette = parse(Path::new("all.json"), text.as_bytes()).unwrap();
        // A `Value` sorts every object's keys: the reference for the order.
        let value = serde_json::to_value(CassetteFile::from_model(&cassette)).unwrap();
        let mut sorted = serde_json::to_vec_pretty(&value).unwrap();
        sorted.push(b'\n');
        assert_eq!(
            String::from_utf8(to_bytes(&cassette)).unwrap(),
            String::from_utf8(sorted).unwrap()
        );
    }

    fn cassette_with_request_headers(headers: &str) -> String {
        format!(
            r#"{{"format": "proton-vcr.cassette/1", "name": "h", "provenance": {{"kind": "documented"}},
              "interactions": [{{"elapsed_ms": 0,
                "request": {{"method": "GET", "uri": "/", "headers": {headers}}},
                "response": {{"status": 200}}}}]}}"#
        )
    }

    #[test]
    fn headers_load_lower_cased_and_sorted_and_save_repeats_as_arrays() {
        let text = cassette_with_request_headers(
            r#"{"X-Amz-Target": "Svc.Op", "x-multi": ["1", "2"], "content-type": "text/plain"}"#,
        );
        let cassette = parse(Path::new("h.json"), text.as_bytes()).unwrap();
        let headers = &cassette.interactions[0].request.headers;
        assert_eq!(headers.get("x-amz-target"), Some("Svc.Op"));
        let grouped: Vec<(&str, Vec<&str>)> = headers
            .iter_grouped()
            .map(|(name, values)| (name, values.collect()))
            .collect();
        assert_eq!(
            grouped,
            [
                ("content-type", vec!["text/plain"]),
                ("x-amz-target", vec!["Svc.Op"]),
                ("x-multi", vec!["1", "2"]),
            ]
        );
        let saved = String::from_utf8(to_bytes(&cassette)).unwrap();
        assert!(
            saved.contains("\"x-multi\": [\n            \"1\",\n            \"2\"\n          ]"),
            "{saved}"
        );
        assert!(saved.contains("\"x-amz-target\": \"Svc.Op\""), "{saved}");
    }

    fn cassette_answering(method: &str, response: &str) -> String {
        format!(
            r#"{{"format": "proton-vcr.cassette/2", "name": "r", "provenance": {{"kind": "documented"}},
              "interactions": [{{"elapsed_ms": 0,
                "request": {{"method": "{method}", "uri": "/"}},
                "response": {response}}}]}}"#
        )
    }

    #[test]
    fn a_body_says_which_kinds_it_may_hold() {
        for (body, says) in [
            (r#"{}"#, "this one is empty"),
            (r#"{"text": "a", "base64": "YQ=="}"#, "this one has two"),
            (r#"{"yaml": "a"}"#, "not `yaml`"),
        ] {
            let text = cassette_answering("GET", &format!(r#"{{"status": 200, "body": {body}}}"#));
            let error = parse(Path::new("r.json"), text.as_bytes())
                .unwrap_err()
                .to_string();
            assert!(
                error.contains("exactly one of `json`, `text` or `base64`") && error.contains(says),
                "{error}"
            );
            assert!(!error.contains("not valid JSON"), "{error}");
        }
        let text = cassette_answering(
            "GET",
            r#"{"status": 200, "body": {"json": {"a": [1, 2.50]}}}"#,
        );
        let cassette = parse(Path::new("r.json"), text.as_bytes()).unwrap();
        assert_eq!(
            &cassette.interactions[0].response.body.bytes()[..],
            br#"{"a":[1,2.50]}"#
        );
    }

    #[test]
    fn an_answer_replay_could_not_send_as_recorded_does_not_load() {
        let many = (0..10_001)
            .map(|i| format!(r#""x-h{i}": "v""#))
            .collect::<Vec<_>>()
            .join(",");
        for (method, response, says) in [
            ("GET", r#"{"status": 42}"#.to_string(), "response status 42 is not a final HTTP status"),
            ("GET", r#"{"status": 101}"#.to_string(), "response status 101"),
            ("GET", r#"{"status": 1000}"#.to_string(), "response status 1000"),
            (
                "GET",
                r#"{"status": 200, "headers": {"content-length": "3"}, "body": {"text": "hello world"}}"#.to_string(),
                "the response's content-length is \"3\" but its body holds 11 bytes",
            ),
            (
                "GET",
                r#"{"status": 200, "headers": {"content-length": ["11", "3"]}, "body": {"text": "hello world"}}"#.to_string(),
                "the response's content-length is \"3\"",
            ),
            (
                "GET",
                r#"{"status": 200, "headers": {"content-length": "+2"}, "body": {"text": "ok"}}"#.to_string(),
                "the response's content-length is \"+2\"",
            ),
            (
                "GET",
                r#"{"status": 200, "headers": {"x-a": "line\nbreak"}}"#.to_string(),
                "the response header `x-a` has a value HTTP cannot carry",
            ),
            (
                "GET",
                r#"{"status": 200, "headers": {"bad name": "v"}}"#.to_string(),
                "the response header name \"bad name\" cannot be sent",
            ),
            (
                "GET",
                format!(r#"{{"status": 200, "headers": {{{many}}}}}"#),
                "the response has 10001 header values",
            ),
        ] {
            let text = cassette_answering(method, &response);
            let error = parse(Path::new("r.json"), text.as_bytes()).unwrap_err().to_string();
            assert!(error.contains("r.json") && error.contains(says), "{error}");
        }
        // A HEAD answer states the length of the body it leaves out, and
        // 204 and 304 carry none; UTF-8 in a value is text HTTP carries.
        for (method, response) in [
            (
                "HEAD",
                r#"{"status": 200, "headers": {"content-length": "11"}}"#,
            ),
            (
                "GET",
                r#"{"status": 304, "headers": {"content-length": "11"}}"#,
            ),
            (
                "GET",
                r#"{"status": 200, "headers": {"content-length": "2", "x-amz-meta-b": "café"}, "body": {"text": "ok"}}"#,
            ),
        ] {
            let text = cassette_answering(method, response);
            parse(Path::new("r.json"), text.as_bytes()).unwrap();
        }
    }

    #[test]
    fn a_header_value_that_is_not_text_is_named_with_its_place() {
        let text = cassette_with_request_headers(r#"{"x-count": 5}"#);
        let error = parse(Path::new("h.json"), text.as_bytes()).unwrap_err();
        let message = error.to_string();
        assert!(message.starts_with("h.json:3:"), "{message}");
        assert!(
            message.contains("expected a header value: a string, or an array of strings"),
            "{message}"
        );
    }

    #[test]
    fn v1_json_bodies_are_sent_compact_and_v2_bodies_exactly_as_recorded() {
        let v1 = r#"{"format": "proton-vcr.cassette/1", "name": "v1", "provenance": {"kind": "documented"},
          "interactions": [{"elapsed_ms": 0,
            "request": {"method": "POST", "uri": "/", "body": {"json": {"b": 1e3, "a": [1, 2]}}},
            "response": {"status": 200, "body": {"json": 12345678901234567890123}}}]}"#;
        let (cassette, version) = parse_versioned(Path::new("v1.json"), v1.as_bytes()).unwrap();
        assert_eq!(version, Version::V1);
        let interaction = &cassette.interactions[0];
        assert_eq!(
            &interaction.request.body.bytes()[..],
            br#"{"a":[1,2],"b":1000.0}"#
        );
        assert_eq!(
            &interaction.response.body.bytes()[..],
            b"1.2345678901234568e+22"
        );

        let mut cassette = cassette;
        let bodies: [&[u8]; 6] = [
            br#"{"b":1.712345678123E9,"a":"\u00e9\/","n":123456789012345678901234567890}"#,
            b"1e3\n",
            b"\xff\x00binary",
            br#"{"pretty": true}"#,
            b"",
            br#"{"nested":{"x":[[],{},[{"y":null}]]}}"#,
        ];
        for (i, bytes) in bodies.iter().enumerate() {
            let mut interaction = cassette.interactions[0].clone();
            interaction.request.body = Body::from_bytes(bytes);
            interaction.response.body = Body::from_bytes(bytes);
            interaction.elapsed_ms = i as u64;
            cassette.interactions.push(interaction);
        }
        let written = to_bytes(&cassette);
        let text = String::from_utf8(written.clone()).unwrap();
        assert!(
            text.contains("\"format\": \"proton-vcr.cassette/2\""),
            "{text}"
        );
        assert!(
            text.contains("\"json\": {\n            \"b\": 1.712345678123E9,\n"),
            "{text}"
        );
        assert!(text.contains("\"text\": \"1e3\\n\""), "{text}");
        assert!(text.contains("\"base64\": \"/wBiaW5hcnk=\""), "{text}");
        let (again, version) = parse_versioned(Path::new("v2.json"), &written).unwrap();
        assert_eq!(version, Version::V2);
        assert_eq!(again, cassette);
        assert_eq!(to_bytes(&again), written, "canonical bytes are stable");
    }
}
