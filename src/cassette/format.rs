//! Cassette format v1 on disk: the only serde types for it. Everything else
//! works on the in-memory model in `cassette::model`; this file converts.
//!
//! Readers ignore fields they do not know (later versions may add some) but
//! reject a `format` they do not know.

use super::model::{
    Body, Cassette, Headers, Interaction, Provenance, RecordedRequest, RecordedResponse,
};
use base64::Engine;
use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use std::borrow::Cow;
use std::fmt;

pub const FORMAT_V1: &str = "proton-vcr.cassette/1";

// Every struct declares its fields in alphabetical order, and serde writes
// them in declaration order: serialising gives the canonical sorted form
// directly, with no intermediate `Value` tree. Text and bodies are `Cow`s so
// that writing borrows from the model instead of copying the cassette (the
// recorder writes the whole file for every exchange); reading owns them.

#[derive(Serialize, Deserialize)]
pub(super) struct CassetteV1<'a> {
    pub format: Cow<'a, str>,
    pub interactions: Vec<InteractionV1<'a>>,
    pub name: Cow<'a, str>,
    pub provenance: ProvenanceV1<'a>,
}

#[derive(Serialize, Deserialize)]
pub(super) struct ProvenanceV1<'a> {
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
pub(super) struct InteractionV1<'a> {
    pub elapsed_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Cow<'a, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<Cow<'a, str>>,
    pub request: RequestV1<'a>,
    pub response: ResponseV1<'a>,
}

#[derive(Serialize, Deserialize)]
pub(super) struct RequestV1<'a> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<BodyV1<'a>>,
    #[serde(default)]
    pub headers: HeadersV1<'a>,
    pub method: Cow<'a, str>,
    pub uri: Cow<'a, str>,
}

#[derive(Serialize, Deserialize)]
pub(super) struct ResponseV1<'a> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<BodyV1<'a>>,
    #[serde(default)]
    pub headers: HeadersV1<'a>,
    pub status: u16,
}

/// `{"name": "value"}`, or `{"name": ["value", "value"]}` for a header sent
/// more than once. Read straight into the model's `Headers`: a cassette holds
/// two header maps per interaction, and building a map only to copy it out
/// would double the work and the peak memory of loading a large cassette.
#[derive(Default)]
pub(super) struct HeadersV1<'a>(pub Cow<'a, Headers>);

impl Serialize for HeadersV1<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (name, values) in self.0.iter_grouped() {
            match values {
                [one] => map.serialize_entry(name, one)?,
                many => map.serialize_entry(name, many)?,
            }
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for HeadersV1<'_> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(HeadersVisitor)
    }
}

struct HeadersVisitor;

impl<'de> Visitor<'de> for HeadersVisitor {
    type Value = HeadersV1<'static>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of header names to a string or an array of strings")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<HeadersV1<'static>, A::Error> {
        let mut headers = Headers::default();
        while let Some(name) = map.next_key::<String>()? {
            let HeaderValuesV1(values) = map.next_value()?;
            for value in values {
                headers.append(&name, value);
            }
        }
        Ok(HeadersV1(Cow::Owned(headers)))
    }
}

/// One header's values: a string or an array of strings.
struct HeaderValuesV1(Vec<String>);

impl<'de> Deserialize<'de> for HeaderValuesV1 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(HeaderValuesVisitor)
    }
}

struct HeaderValuesVisitor;

impl<'de> Visitor<'de> for HeaderValuesVisitor {
    type Value = HeaderValuesV1;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a header value: a string, or an array of strings for a repeated header")
    }

    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<HeaderValuesV1, E> {
        Ok(HeaderValuesV1(vec![value.to_string()]))
    }

    fn visit_string<E: serde::de::Error>(self, value: String) -> Result<HeaderValuesV1, E> {
        Ok(HeaderValuesV1(vec![value]))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<HeaderValuesV1, A::Error> {
        let mut values = Vec::new();
        while let Some(value) = seq.next_element::<String>()? {
            values.push(value);
        }
        Ok(HeaderValuesV1(values))
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum BodyV1<'a> {
    Json(Cow<'a, Value>),
    Text(Cow<'a, str>),
    Base64(Cow<'a, str>),
}

/// Only the `format` member, to name an unknown format before anything else.
#[derive(Deserialize)]
pub(super) struct FormatOnly {
    pub format: Option<Value>,
}

impl<'a> CassetteV1<'a> {
    pub fn into_model(self) -> Result<Cassette, String> {
        let interactions = self
            .interactions
            .into_iter()
            .enumerate()
            .map(|(i, interaction)| {
                interaction
                    .into_model()
                    .map_err(|e| format!("interaction {i}: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let p = self.provenance;
        Ok(Cassette {
            name: self.name.into_owned(),
            provenance: Provenance {
                kind: p.kind.into_owned(),
                endpoint: p.endpoint.map(Cow::into_owned),
                service: p.service.map(Cow::into_owned),
                region: p.region.map(Cow::into_owned),
                recorded_at: p.recorded_at.map(Cow::into_owned),
                tool: p.tool.map(Cow::into_owned),
                sources: p.sources.into_owned(),
            },
            interactions,
        })
    }

    pub fn from_model(cassette: &'a Cassette) -> Self {
        let p = &cassette.provenance;
        Self {
            format: Cow::Borrowed(FORMAT_V1),
            name: Cow::Borrowed(&cassette.name),
            provenance: ProvenanceV1 {
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
                .map(InteractionV1::from_model)
                .collect(),
        }
    }
}

impl<'a> InteractionV1<'a> {
    fn into_model(self) -> Result<Interaction, String> {
        Ok(Interaction {
            elapsed_ms: self.elapsed_ms,
            expect: self.expect.map(Cow::into_owned),
            note: self.note.map(Cow::into_owned),
            request: RecordedRequest {
                method: self.request.method.into_owned(),
                uri: self.request.uri.into_owned(),
                headers: self.request.headers.0.into_owned(),
                body: body_into_model(self.request.body)
                    .map_err(|e| format!("request body: {e}"))?,
            },
            response: RecordedResponse {
                status: self.response.status,
                headers: self.response.headers.0.into_owned(),
                body: body_into_model(self.response.body)
                    .map_err(|e| format!("response body: {e}"))?,
            },
        })
    }

    fn from_model(interaction: &'a Interaction) -> Self {
        Self {
            elapsed_ms: interaction.elapsed_ms,
            expect: interaction.expect.as_ref().map(Cow::Borrowed),
            note: interaction.note.as_deref().map(Cow::Borrowed),
            request: RequestV1 {
                method: Cow::Borrowed(&interaction.request.method),
                uri: Cow::Borrowed(&interaction.request.uri),
                headers: HeadersV1(Cow::Borrowed(&interaction.request.headers)),
                body: body_from_model(&interaction.request.body),
            },
            response: ResponseV1 {
                status: interaction.response.status,
                headers: HeadersV1(Cow::Borrowed(&interaction.response.headers)),
                body: body_from_model(&interaction.response.body),
            },
        }
    }
}

fn body_into_model(body: Option<BodyV1<'_>>) -> Result<Body, String> {
    Ok(match body {
        None => Body::Empty,
        Some(BodyV1::Json(value)) => Body::Json(value.into_owned()),
        Some(BodyV1::Text(text)) => Body::Text(text.into_owned()),
        Some(BodyV1::Base64(data)) => Body::Binary(
            base64::engine::general_purpose::STANDARD
                .decode(data.as_bytes())
                .map_err(|e| format!("`base64` is not valid base64 ({e})"))?,
        ),
    })
}

fn body_from_model(body: &Body) -> Option<BodyV1<'_>> {
    match body {
        Body::Empty => None,
        Body::Json(value) => Some(BodyV1::Json(Cow::Borrowed(value))),
        Body::Text(text) => Some(BodyV1::Text(Cow::Borrowed(text))),
        Body::Binary(bytes) => Some(BodyV1::Base64(Cow::Owned(
            base64::engine::general_purpose::STANDARD.encode(bytes),
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::CassetteV1;
    use crate::cassette::{parse, to_bytes};
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
        let value = serde_json::to_value(CassetteV1::from_model(&cassette)).unwrap();
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
        let grouped: Vec<_> = headers.iter_grouped().collect();
        assert_eq!(
            grouped,
            [
                ("content-type", &["text/plain".to_string()][..]),
                ("x-amz-target", &["Svc.Op".to_string()][..]),
                ("x-multi", &["1".to_string(), "2".to_string()][..]),
            ]
        );
        let saved = String::from_utf8(to_bytes(&cassette)).unwrap();
        assert!(
            saved.contains("\"x-multi\": [\n            \"1\",\n            \"2\"\n          ]"),
            "{saved}"
        );
        assert!(saved.contains("\"x-amz-target\": \"Svc.Op\""), "{saved}");
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
}
