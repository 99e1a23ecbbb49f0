//! Idempotency tokens: where they are, and how live tokens are bound to
//! recorded ones.
//!
//! The AWS CLI and the SDKs put a fresh UUID into each idempotency token on
//! every run, so a recorded token never equals a live one. Instead, the first
//! time a live token is matched to a recorded call, the two are bound to each
//! other for the rest of the replay, one to one: a retry with the same live
//! token then finds the recorded retry, and a new live token can only take a
//! recorded call whose token is not bound yet.

use std::collections::HashMap;

/// A JSON member that holds an idempotency token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenPath {
    /// The operation it applies to (`CreateEnvironmentTemplateVersion`), or
    /// every operation when `None`.
    pub operation: Option<String>,
    /// Object keys from the body's root.
    pub members: Vec<String>,
}

impl TokenPath {
    /// Parses `clientToken`, `$.a.b`, or `Operation:$.a.b`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (operation, path) = match text.split_once(':') {
            Some((op, path)) if !op.is_empty() => (Some(op.to_string()), path),
            _ => (None, text),
        };
        let path = path.strip_prefix('$').unwrap_or(path);
        let path = path.strip_prefix('.').unwrap_or(path);
        let members: Vec<String> = path.split('.').map(str::to_string).collect();
        if members.iter().any(|m| m.is_empty()) {
            return Err(format!(
                "`{text}` is not a token path; write `clientToken`, `$.outer.token` or `Operation:$.token`"
            ));
        }
        Ok(Self { operation, members })
    }

    /// Whether this path applies to an operation label such as
    /// `AwsProton20200720.CreateEnvironmentTemplateVersion`.
    pub fn applies_to(&self, operation: &str) -> bool {
        match &self.operation {
            None => true,
            Some(op) => operation == op || operation.rsplit('.').next() == Some(op.as_str()),
        }
    }
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

    #[test]
    fn parses_paths_with_and_without_operation() {
        let p = TokenPath::parse("CreateThing:$.spec.token").unwrap();
        assert_eq!(p.operation.as_deref(), Some("CreateThing"));
        assert_eq!(p.members, ["spec", "token"]);
        assert!(p.applies_to("Svc20200101.CreateThing"));
        assert!(!p.applies_to("Svc20200101.CreateOther"));
        assert_eq!(
            TokenPath::parse("clientToken").unwrap().members,
            ["clientToken"]
        );
        assert!(TokenPath::parse("$.a..b").is_err());
    }
}
