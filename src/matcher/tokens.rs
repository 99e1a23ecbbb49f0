//! Idempotency tokens: where they are, and how live tokens are bound to
//! recorded ones.
//!
//! The AWS CLI and the SDKs put a fresh UUID into each idempotency token on
//! every run, so a recorded token never equals a live one. Instead, the first
//! time a live token is matched to a recorded call, the two are bound to each
//! other for the rest of the replay, one to one: a retry with the same live
//! token then finds the recorded retry, and a new live token can only take a
//! recorded call whose token is not bound yet.
//!
//! Where tokens are comes from two places: the paths a user names
//! (`--token-path`, and Proton's own), and the service facts table, which
//! knows every idempotency-token member of every AWS service. An awsJson
//! request is looked up by its `X-Amz-Target`, a query-protocol form by its
//! `Action` and `Version`, a restJson request by method and URI template.

use crate::services::{self, Protocol, TokenLocation, UriTemplate};
use std::collections::HashMap;
use std::sync::OnceLock;

/// Where a token sits in a request, as matching reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TokenSpot {
    /// Object keys from the JSON body's root.
    Json(Vec<String>),
    /// A pair of a form-encoded body (the query protocol).
    Form(String),
    /// A query-string parameter.
    Query(String),
}

/// What [`model_token_spots`] reads of a request.
pub(crate) struct TokenQuery<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub target: Option<&'a str>,
    /// `Action` and `Version` of a form body.
    pub action: Option<(&'a str, &'a str)>,
}

/// The idempotency tokens the service facts table knows for a request.
pub(crate) fn model_token_spots(request: &TokenQuery<'_>) -> Vec<TokenSpot> {
    let facts = services::facts();
    if let Some((prefix, op)) = request.target.and_then(|t| t.rsplit_once('.')) {
        return facts
            .by_target_prefix(prefix)
            .and_then(|s| s.operation(op))
            .map(|op| spots(op.tokens(), false))
            .unwrap_or_default();
    }
    if let Some((action, version)) = request.action {
        return facts
            .services()
            .iter()
            .filter(|s| s.api_version == version)
            .filter(|s| {
                s.protocols
                    .iter()
                    .any(|p| matches!(p, Protocol::Query | Protocol::Ec2))
            })
            .find_map(|s| s.operation(action))
            .map(|op| spots(op.tokens(), true))
            .unwrap_or_default();
    }
    // A rest request names no service: every rest operation with a token
    // is a candidate, and the best fitting template's tokens count.
    let mut best: Option<((usize, usize, usize), Vec<TokenSpot>)> = None;
    for (method, template, found) in rest_operations_with_tokens() {
        if !method.eq_ignore_ascii_case(request.method) {
            continue;
        }
        let Some(score) = template.score(request.path, request.query) else {
            continue;
        };
        match &mut best {
            Some((b, spots)) if *b == score => {
                for spot in found {
                    if !spots.contains(spot) {
                        spots.push(spot.clone());
                    }
                }
            }
            Some((b, _)) if *b > score => {}
            _ => best = Some((score, found.clone())),
        }
    }
    best.map(|(_, spots)| spots).unwrap_or_default()
}

fn spots(tokens: &[TokenLocation], form: bool) -> Vec<TokenSpot> {
    tokens
        .iter()
        .filter_map(|t| match t {
            TokenLocation::Body(path) => {
                let members: Vec<String> = path
                    .strip_prefix("$.")?
                    .split('.')
                    .map(str::to_string)
                    .collect();
                Some(if form {
                    TokenSpot::Form(members.join("."))
                } else {
                    TokenSpot::Json(members)
                })
            }
            TokenLocation::Query(name) => Some(TokenSpot::Query(name.clone())),
            // Headers do not take part in matching.
            TokenLocation::Header(_) => None,
        })
        .collect()
}

type RestTokens = Vec<(String, UriTemplate, Vec<TokenSpot>)>;

/// Every restJson/restXml operation that has a body or query token.
fn rest_operations_with_tokens() -> &'static RestTokens {
    static INDEX: OnceLock<RestTokens> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut out = Vec::new();
        for service in services::facts().services() {
            if !service.protocol().is_rest() {
                continue;
            }
            for op in service.operations() {
                let found = spots(op.tokens(), false);
                if let (false, Some((method, template))) = (found.is_empty(), &op.http) {
                    out.push((method.clone(), template.clone(), found));
                }
            }
        }
        out
    })
}

/// The one-to-one binding of live tokens to recorded tokens.
#[derive(Debug, Default)]
pub struct TokenBindings {
    live_to_recorded: HashMap<String, String>,
    recorded_to_live: HashMap<String, String>,
}

impl TokenBindings {
    /// Whether a recorded call with `recorded` tokens may answer a live call
    /// with `live` tokens (same paths, same order) under the current bindings.
    pub fn compatible(&self, live: &[Option<String>], recorded: &[Option<String>]) -> bool {
        live.iter().zip(recorded).all(|(l, r)| match (l, r) {
            (None, None) => true,
            (Some(l), Some(r)) => match self.live_to_recorded.get(l) {
                Some(bound) => bound == r,
                None => !self.recorded_to_live.contains_key(r),
            },
            _ => false,
        })
    }

    pub fn bind(&mut self, live: &[Option<String>], recorded: &[Option<String>]) {
        for (l, r) in live.iter().zip(recorded) {
            if let (Some(l), Some(r)) = (l, r) {
                self.live_to_recorded.insert(l.clone(), r.clone());
                self.recorded_to_live.insert(r.clone(), l.clone());
            }
        }
    }

    /// Whether every live token is bound to the recorded token in its place
    /// (and presence agrees): the live call retries that recorded call.
    pub fn bound(&self, live: &[Option<String>], recorded: &[Option<String>]) -> bool {
        live.len() == recorded.len()
            && live.iter().zip(recorded).all(|(l, r)| match (l, r) {
                (None, None) => true,
                (Some(l), Some(r)) => self.recorded_for(l) == Some(r.as_str()),
                _ => false,
            })
    }

    /// The recorded token a live token is bound to.
    pub fn recorded_for(&self, live: &str) -> Option<&str> {
        self.live_to_recorded.get(live).map(String::as_str)
    }

    pub fn clear(&mut self) {
        self.live_to_recorded.clear();
        self.recorded_to_live.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    #[test]
    fn a_bound_live_token_only_takes_its_recorded_token() {
        let mut b = TokenBindings::default();
        assert!(b.compatible(&[t("live1")], &[t("rec1")]));
        b.bind(&[t("live1")], &[t("rec1")]);
        assert!(b.compatible(&[t("live1")], &[t("rec1")]));
        assert!(!b.compatible(&[t("live1")], &[t("rec2")]));
        // rec1 is taken: a new live token may not have it.
        assert!(!b.compatible(&[t("live2")], &[t("rec1")]));
        assert!(b.compatible(&[t("live2")], &[t("rec2")]));
        // Presence must agree.
        assert!(!b.compatible(&[None], &[t("rec2")]));
    }
}
