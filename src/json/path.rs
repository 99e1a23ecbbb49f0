//! Paths to members of a JSON document: how a path is spelled in messages
//! and reports (`$.spec.token`, `$["odd key"]`), and the paths a user or the
//! model names as holding an idempotency token.

use serde_json::Value;

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
        // Runs for every token path on every request: compares suffixes
        // instead of splitting the label.
        match &self.operation {
            None => true,
            Some(op) => {
                operation == op
                    || (operation
                        .strip_suffix(op.as_str())
                        .is_some_and(|head| head.ends_with('.'))
                        && !op.contains('.'))
            }
        }
    }
}

/// Appends `.key`, or `["key"]` when the key is not a plain identifier.
pub fn push_member(path: &mut String, key: &str) {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        path.push('.');
        path.push_str(key);
    } else {
        path.push_str(&format!("[{}]", Value::String(key.to_string())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_paths_with_and_without_operation() {
        let p = TokenPath::parse("CreateThing:$.spec.token").unwrap();
        assert_eq!(p.operation.as_deref(), Some("CreateThing"));
        assert_eq!(p.members, ["spec", "token"]);
        assert!(p.applies_to("Svc20200101.CreateThing"));
        assert!(!p.applies_to("Svc20200101.CreateOther"));
        assert!(!p.applies_to("Svc20200101.PreCreateThing"));
        assert!(p.applies_to("CreateThing"));
        let dotted = TokenPath::parse("Svc.CreateThing:token").unwrap();
        assert!(dotted.applies_to("Svc.CreateThing"));
        assert!(!dotted.applies_to("Other.Svc.CreateThing"));
        assert_eq!(
            TokenPath::parse("clientToken").unwrap().members,
            ["clientToken"]
        );
        assert!(TokenPath::parse("$.a..b").is_err());
    }

    #[test]
    fn plain_keys_are_dotted_others_quoted() {
        let mut path = String::from("$");
        push_member(&mut path, "a_b-1");
        push_member(&mut path, "odd key");
        push_member(&mut path, "");
        assert_eq!(path, r#"$.a_b-1["odd key"][""]"#);
    }
}
