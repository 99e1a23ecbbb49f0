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
use std::fmt;

pub const FORMAT_V1: &str = "proton-vcr.cassette/1";

#[derive(Serialize, Deserialize)]
pub(super) struct CassetteV1 {
    pub format: String,
    pub name: String,
    pub provenance: ProvenanceV1,
    pub interactions: Vec<InteractionV1>,
}

#[derive(Serialize, Deserialize)]
pub(super) struct ProvenanceV1 {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    #[serde(default)]
    pub sources: Vec<String>,
}

#[derive(Serialize, Deserialize)]
pub(super) struct InteractionV1 {
    pub elapsed_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub request: RequestV1,
    pub response: ResponseV1,
}

#[derive(Serialize, Deserialize)]
pub(super) struct RequestV1 {
    pub method: String,
    pub uri: String,
    #[serde(default)]
    pub headers: HeadersV1,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<BodyV1>,
}

#[derive(Serialize, Deserialize)]
pub(super) struct ResponseV1 {
    pub status: u16,
    #[serde(default)]
    pub headers: HeadersV1,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<BodyV1>,
}

/// `{"name": "value"}`, or `{"name": ["value", "value"]}` for a header sent
/// more than once. Read straight into the model's `Headers`: a cassette holds
/// two header maps per interaction, and building a map only to copy it out
/// would double the work and the peak memory of loading a large cassette.
#[derive(Default)]
pub(super) struct HeadersV1(pub Headers);

impl Serialize for HeadersV1 {
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

impl<'de> Deserialize<'de> for HeadersV1 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(HeadersVisitor)
    }
}

struct HeadersVisitor;

impl<'de> Visitor<'de> for HeadersVisitor {
    type Value = HeadersV1;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of header names to a string or an array of strings")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<HeadersV1, A::Error> {
        let mut headers = Headers::default();
        while let Some(name) = map.next_key::<String>()? {
            let HeaderValuesV1(values) = map.next_value()?;
            for value in values {
                headers.append(&name, value);
            }
        }
        Ok(HeadersV1(headers))
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
pub(super) enum BodyV1 {
    Json(Value),
    Text(String),
    Base64(String),
}

/// Only the `format` member, to name an unknown format before anything else.
#[derive(Deserialize)]
pub(super) struct FormatOnly {
    pub format: Option<Value>,
}

impl CassetteV1 {
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
        Ok(Cassette {
            name: self.name,
            provenance: Provenance {
                kind: self.provenance.kind,
                endpoint: self.provenance.endpoint,
                service: self.provenance.service,
                region: self.provenance.region,
                recorded_at: self.provenance.recorded_at,
                tool: self.provenance.tool,
                sources: self.provenance.sources,
            },
            interactions,
        })
    }

    pub fn from_model(cassette: &Cassette) -> Self {
        let p = &cassette.provenance;
        Self {
            format: FORMAT_V1.to_string(),
            name: cassette.name.clone(),
            provenance: ProvenanceV1 {
                kind: p.kind.clone(),
                endpoint: p.endpoint.clone(),
                service: p.service.clone(),
                region: p.region.clone(),
                recorded_at: p.recorded_at.clone(),
                tool: p.tool.clone(),
                sources: p.sources.clone(),
            },
            interactions: cassette
                .interactions
                .iter()
                .map(InteractionV1::from_model)
                .collect(),
        }
    }
}

impl InteractionV1 {
    fn into_model(self) -> Result<Interaction, String> {
        Ok(Interaction {
            elapsed_ms: self.elapsed_ms,
            note: self.note,
            request: RecordedRequest {
                method: self.request.method,
                uri: self.request.uri,
                headers: self.request.headers.0,
                body: body_into_model(self.request.body)
                    .map_err(|e| format!("request body: {e}"))?,
            },
            response: RecordedResponse {
                status: self.response.status,
                headers: self.response.headers.0,
                body: body_into_model(self.response.body)
                    .map_err(|e| format!("response body: {e}"))?,
            },
        })
    }

    pub(super) fn from_model(interaction: &Interaction) -> Self {
        Self {
            elapsed_ms: interaction.elapsed_ms,
            note: interaction.note.clone(),
            request: RequestV1 {
                method: interaction.request.method.clone(),
                uri: interaction.request.uri.clone(),
                headers: HeadersV1(interaction.request.headers.clone()),
                body: body_from_model(&interaction.request.body),
            },
            response: ResponseV1 {
                status: interaction.response.status,
                headers: HeadersV1(interaction.response.headers.clone()),
                body: body_from_model(&interaction.response.body),
            },
        }
    }
}

fn body_into_model(body: Option<BodyV1>) -> Result<Body, String> {
    Ok(match body {
        None => Body::Empty,
        Some(BodyV1::Json(value)) => Body::Json(value),
        Some(BodyV1::Text(text)) => Body::Text(text),
        Some(BodyV1::Base64(data)) => Body::Binary(
            base64::engine::general_purpose::STANDARD
                .decode(data.as_bytes())
                .map_err(|e| format!("`base64` is not valid base64 ({e})"))?,
        ),
    })
}

fn body_from_model(body: &Body) -> Option<BodyV1> {
    match body {
        Body::Empty => None,
        Body::Json(value) => Some(BodyV1::Json(value.clone())),
        Body::Text(text) => Some(BodyV1::Text(text.clone())),
        Body::Binary(bytes) => Some(BodyV1::Base64(
            base64::engine::general_purpose::STANDARD.encode(bytes),
        )),
    }
}

#[cfg(test)]
mod tests {
    use crate::cassette::{parse, to_bytes};
    use std::path::Path;

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
