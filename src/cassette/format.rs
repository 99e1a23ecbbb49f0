//! Cassette format v1 on disk: the only serde types for it. Everything else
//! works on the in-memory model in `cassette::model`; this file converts.
//!
//! Readers ignore fields they do not know (later versions may add some) but
//! reject a `format` they do not know.

use super::model::{
    Body, Cassette, Headers, Interaction, Provenance, RecordedRequest, RecordedResponse,
};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

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
    pub headers: BTreeMap<String, HeaderValueV1>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<BodyV1>,
}

#[derive(Serialize, Deserialize)]
pub(super) struct ResponseV1 {
    pub status: u16,
    #[serde(default)]
    pub headers: BTreeMap<String, HeaderValueV1>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<BodyV1>,
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
pub(super) enum HeaderValueV1 {
    One(String),
    Many(Vec<String>),
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
                headers: headers_into_model(self.request.headers),
                body: body_into_model(self.request.body)
                    .map_err(|e| format!("request body: {e}"))?,
            },
            response: RecordedResponse {
                status: self.response.status,
                headers: headers_into_model(self.response.headers),
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
                headers: headers_from_model(&interaction.request.headers),
                body: body_from_model(&interaction.request.body),
            },
            response: ResponseV1 {
                status: interaction.response.status,
                headers: headers_from_model(&interaction.response.headers),
                body: body_from_model(&interaction.response.body),
            },
        }
    }
}

fn headers_into_model(headers: BTreeMap<String, HeaderValueV1>) -> Headers {
    let mut out = Headers::default();
    for (name, value) in headers {
        match value {
            HeaderValueV1::One(v) => out.append(&name, v),
            HeaderValueV1::Many(vs) => vs.into_iter().for_each(|v| out.append(&name, v)),
        }
    }
    out
}

fn headers_from_model(headers: &Headers) -> BTreeMap<String, HeaderValueV1> {
    headers
        .iter_grouped()
        .map(|(name, values)| {
            let value = match values {
                [one] => HeaderValueV1::One(one.clone()),
                many => HeaderValueV1::Many(many.to_vec()),
            };
            (name.to_string(), value)
        })
        .collect()
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
