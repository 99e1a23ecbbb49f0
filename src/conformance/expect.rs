//! What a cassette says about the evidence behind each response: the
//! interaction's `expect` block, read from the cassette as written.
//!
//! ```json
//! "expect": {
//!   "cite":  {"status": "https://...", "$.environment.arn": "https://..."},
//!   "paths": {"$.environment.lastAttemptedDeploymentId":
//!               {"presence": "optional", "same_as": 6, "why": "..."}},
//!   "rule":  {"id": "idempotent-create/same-parameters", "operation": "CreateEnvironment",
//!             "role": "under-test", "paths": ["status", "error", "$.environment.arn"]}
//! }
//! ```
//!
//! `cite` is for people and for `conformance/reference/check.py`; a run uses
//! `paths` (what the evidence leaves open) and `rule` (which steps decide a
//! rule of the contract, and by which paths). Pure: no IO.

use super::compare::{DiffKind, Difference};
use serde_json::Value;

/// Whether a path must be there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    /// Present, with any value (the recording holds none).
    Required,
    /// May be absent; when the recording holds a value, a present value must
    /// equal it, otherwise any value goes.
    Optional,
}

/// One path the evidence cannot settle.
#[derive(Clone, Debug, PartialEq)]
pub struct PathExpect {
    pub path: String,
    pub presence: Presence,
    /// The value must equal the one the target gave at this path at that step.
    pub same_as: Option<usize>,
    /// The value must differ from the one the target gave at that step.
    pub differs_from: Option<usize>,
    pub why: String,
}

/// Whether a step is the rule's test itself or a check of its effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleRole {
    UnderTest,
    Check,
}

impl RuleRole {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleRole::UnderTest => "under-test",
            RuleRole::Check => "check",
        }
    }
}

/// The rule of the contract a step decides.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleMark {
    /// `<group>/<rule>`, e.g. `client-token-create/same-parameters`.
    pub id: String,
    pub operation: String,
    pub role: RuleRole,
    /// Differences at these paths (or above or below them) break the rule.
    pub paths: Vec<String>,
}

/// An interaction's expectations.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepExpect {
    pub paths: Vec<PathExpect>,
    pub rule: Option<RuleMark>,
}

impl StepExpect {
    /// Reads an `expect` block; the message says what is wrong where.
    pub fn parse(value: &Value) -> Result<Self, String> {
        let Value::Object(block) = value else {
            return Err("`expect` is not an object".into());
        };
        let mut out = StepExpect::default();
        if let Some(paths) = block.get("paths") {
            let Value::Object(paths) = paths else {
                return Err("`expect.paths` is not an object".into());
            };
            for (path, spec) in paths {
                out.paths.push(parse_path(path, spec)?);
            }
        }
        if let Some(rule) = block.get("rule") {
            out.rule = Some(parse_rule(rule)?);
        }
        Ok(out)
    }

    fn find(&self, path: &str) -> Option<&PathExpect> {
        self.paths.iter().find(|p| p.path == path)
    }

    /// Drops the differences the evidence allows and adds those it requires:
    /// a required path the target left out, and identity to earlier steps,
    /// looked up with `earlier` (a step number to the target's normalised
    /// body at that step).
    pub fn apply(
        &self,
        target_body: Option<&Value>,
        state: Option<usize>,
        differences: &mut Vec<Difference>,
        earlier: &dyn Fn(usize) -> Option<Value>,
    ) {
        differences.retain(|d| {
            let Some(expect) = self.find(&d.path) else {
                return true;
            };
            match (d.kind, expect.presence) {
                // The recording holds no value: any present value goes.
                (DiffKind::Extra, _) => false,
                (DiffKind::Missing, Presence::Optional) => false,
                _ => true,
            }
        });
        for expect in &self.paths {
            let now = target_body.and_then(|b| lookup(b, &expect.path));
            if expect.presence == Presence::Required
                && now.is_none()
                && !differences.iter().any(|d| d.path == expect.path)
            {
                differences.push(Difference {
                    kind: DiffKind::Missing,
                    ..Difference::new(
                        expect.path.clone(),
                        state,
                        Some(Value::String("(present, any value)".into())),
                        None,
                    )
                });
            }
            let Some(now) = now else { continue };
            for (step, must_equal) in [(expect.same_as, true), (expect.differs_from, false)] {
                let Some(step) = step else { continue };
                let Some(then) = earlier(step).and_then(|b| lookup(&b, &expect.path).cloned())
                else {
                    continue;
                };
                if (then == *now) != must_equal {
                    let relation = if must_equal {
                        "same as"
                    } else {
                        "differs from"
                    };
                    differences.push(Difference {
                        kind: DiffKind::Identity,
                        ..Difference::new(
                            expect.path.clone(),
                            state,
                            Some(Value::String(format!(
                                "{relation} step {step}: {}",
                                show(&then)
                            ))),
                            Some(now.clone()),
                        )
                    });
                }
            }
        }
    }
}

fn show(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn parse_path(path: &str, spec: &Value) -> Result<PathExpect, String> {
    let at = |m: &str| format!("`expect.paths` {path:?}: {m}");
    if !path.starts_with('$') {
        return Err(at("not a JSON path from `$`"));
    }
    let Value::Object(spec) = spec else {
        return Err(at("not an object"));
    };
    let presence = match spec.get("presence").and_then(Value::as_str) {
        Some("required") => Presence::Required,
        Some("optional") => Presence::Optional,
        _ => return Err(at("\"presence\" must be \"required\" or \"optional\"")),
    };
    let step = |key: &str| -> Result<Option<usize>, String> {
        match spec.get(key) {
            None => Ok(None),
            Some(v) => match v.as_u64() {
                Some(n) if n >= 1 => Ok(Some(n as usize)),
                _ => Err(at(&format!("\"{key}\" must be a step number from 1"))),
            },
        }
    };
    let why = spec
        .get("why")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if why.trim().is_empty() {
        return Err(at(
            "\"why\" is required: say why the evidence leaves it open",
        ));
    }
    Ok(PathExpect {
        path: path.to_string(),
        presence,
        same_as: step("same_as")?,
        differs_from: step("differs_from")?,
        why,
    })
}

fn parse_rule(rule: &Value) -> Result<RuleMark, String> {
    let text = |key: &str| {
        rule.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .ok_or_else(|| format!("`expect.rule` needs \"{key}\""))
    };
    let role = match text("role")?.as_str() {
        "under-test" => RuleRole::UnderTest,
        "check" => RuleRole::Check,
        other => {
            return Err(format!(
                "`expect.rule.role` {other:?} is neither \"under-test\" nor \"check\""
            ));
        }
    };
    let paths = rule
        .get("paths")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter(|p| !p.is_empty())
        .ok_or("`expect.rule` needs \"paths\", the paths that decide the rule")?;
    Ok(RuleMark {
        id: text("id")?,
        operation: text("operation")?,
        role,
        paths,
    })
}

/// The value at `$.a.b[0].c`, if there.
pub fn lookup<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    let mut node = value;
    for segment in segments(path)? {
        node = match segment {
            Segment::Member(name) => node.as_object()?.get(name)?,
            Segment::Item(i) => node.as_array()?.get(i)?,
            Segment::Any => return None,
        };
    }
    Some(node)
}

enum Segment<'p> {
    Member(&'p str),
    Item(usize),
    Any,
}

fn segments(path: &str) -> Option<Vec<Segment<'_>>> {
    let mut rest = path.strip_prefix('$')?;
    let mut out = Vec::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            out.push(Segment::Member(&after[..end]));
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']')?;
            let inner = &after[..end];
            out.push(if inner == "*" {
                Segment::Any
            } else {
                Segment::Item(inner.parse().ok()?)
            });
            rest = &after[end + 1..];
        } else {
            return None;
        }
    }
    Some(out)
}

/// True when a difference at `path` decides a rule whose deciding paths are
/// `rule_paths`: it is one of them, lies below one, or above one (a whole
/// item or body that differs). `[*]` in a rule path matches any item.
pub fn decides(rule_paths: &[String], path: &str) -> bool {
    rule_paths.iter().any(|rule| {
        if !rule.starts_with('$') || !path.starts_with('$') {
            return rule == path;
        }
        let (Some(r), Some(p)) = (segments(rule), segments(path)) else {
            return false;
        };
        r.iter().zip(&p).all(|(a, b)| match (a, b) {
            (Segment::Any, Segment::Item(_)) => true,
            (Segment::Member(x), Segment::Member(y)) => x == y,
            (Segment::Item(x), Segment::Item(y)) => x == y,
            _ => false,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn expect(value: Value) -> StepExpect {
        StepExpect::parse(&value).unwrap()
    }

    #[test]
    fn optional_and_any_value_paths_drop_what_the_evidence_allows() {
        let e = expect(json!({"paths": {
            "$.a.id": {"presence": "optional", "why": "w"},
            "$.a.schema": {"presence": "required", "why": "w"}}}));
        let mut d = vec![
            Difference::new("$.a.id", None, None, Some(json!("<id:target-1>"))),
            Difference::new("$.a.schema", None, None, Some(json!("text"))),
            Difference::new("$.a.name", None, Some(json!("x")), Some(json!("y"))),
        ];
        e.apply(
            Some(&json!({"a": {"id": "<id:target-1>", "schema": "text", "name": "y"}})),
            None,
            &mut d,
            &|_| None,
        );
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].path, "$.a.name");
        let mut missing = Vec::new();
        e.apply(Some(&json!({"a": {}})), None, &mut missing, &|_| None);
        assert_eq!(missing.len(), 1);
        assert_eq!(missing[0].path, "$.a.schema");
        assert_eq!(missing[0].kind, DiffKind::Missing);
    }

    #[test]
    fn identity_to_an_earlier_step_is_checked_whatever_the_value() {
        let e = expect(json!({"paths": {
            "$.e.deployment": {"presence": "optional", "same_as": 2, "why": "w"},
            "$.e.other": {"presence": "optional", "differs_from": 2, "why": "w"}}}));
        let earlier = |step: usize| {
            (step == 2)
                .then(|| json!({"e": {"deployment": "<id:target-1>", "other": "<id:target-1>"}}))
        };
        let mut d = Vec::new();
        e.apply(
            Some(&json!({"e": {"deployment": "<id:target-2>", "other": "<id:target-1>"}})),
            None,
            &mut d,
            &earlier,
        );
        let paths: Vec<_> = d.iter().map(|d| (d.path.as_str(), d.kind)).collect();
        assert_eq!(
            paths,
            [
                ("$.e.deployment", DiffKind::Identity),
                ("$.e.other", DiffKind::Identity)
            ]
        );
        let mut none = Vec::new();
        e.apply(
            Some(&json!({"e": {"deployment": "<id:target-1>", "other": "<id:target-3>"}})),
            None,
            &mut none,
            &earlier,
        );
        assert!(none.is_empty());
    }

    #[test]
    fn rule_paths_decide_their_own_paths_those_below_and_whole_items_above() {
        let rule = vec!["status".to_string(), "$.items[*].arn".to_string()];
        assert!(decides(&rule, "status"));
        assert!(decides(&rule, "$.items[1].arn"));
        assert!(decides(&rule, "$.items[1]"));
        assert!(decides(&rule, "$"));
        assert!(!decides(&rule, "$.items[0].spec"));
        assert!(!decides(&rule, "error"));
    }

    #[test]
    fn bad_blocks_are_named() {
        let err = StepExpect::parse(&json!({"paths": {"$.a": {"presence": "maybe", "why": "w"}}}))
            .unwrap_err();
        assert!(err.contains("\"$.a\""), "{err}");
        let err = StepExpect::parse(
            &json!({"rule": {"id": "g/r", "operation": "Op", "role": "x", "paths": ["status"]}}),
        )
        .unwrap_err();
        assert!(err.contains("role"), "{err}");
    }
}
