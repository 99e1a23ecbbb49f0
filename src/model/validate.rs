//! Input validation as an awsJson service does it: the body must fit the
//! shapes' JSON types (otherwise the request cannot even be read, a
//! `SerializationException`, reported at once), then every constraint is
//! checked and all violations are reported together in AWS's words
//! (`N validation errors detected: ...; ...`, a `ValidationException`).
//!
//! Unknown members are ignored, as AWS JSON services do, but no value may
//! nest deeper than [`MAX_DEPTH`], wherever it is: that bounds the recursion
//! here and in whatever later walks the stored input.

use super::path::{Path, Seg};
use super::shapes::{Bounds, Constraints, Kind, Member, Schema, Shape, TimestampFormat};
use super::{ValidationError, ValidationKind};
use base64::Engine;
use serde_json::{Map, Number, Value};

/// How deeply a request or response may nest.
pub(super) const MAX_DEPTH: usize = 64;

/// Nesting shown in a message before the rest is elided.
const SHOWN_DEPTH: usize = 4;

pub(super) fn validate(
    schema: &Schema,
    shape: &Shape,
    input: &Value,
) -> Result<(), ValidationError> {
    let empty;
    let input = if input.is_null() {
        // An empty body is an input with no members.
        empty = Value::Object(Map::new());
        &empty
    } else {
        input
    };
    let mut walk = Walk {
        schema,
        violations: Vec::new(),
    };
    walk.value(input, shape, &shape.constraints, &Path::ROOT)?;
    match walk.violations.first() {
        None => Ok(()),
        Some((member, _)) => {
            let n = walk.violations.len();
            let plural = if n == 1 { "" } else { "s" };
            let list: Vec<&str> = walk.violations.iter().map(|(_, m)| m.as_str()).collect();
            Err(ValidationError {
                member: member.clone(),
                message: format!("{n} validation error{plural} detected: {}", list.join("; ")),
                kind: ValidationKind::Constraint,
            })
        }
    }
}

struct Walk<'s> {
    schema: &'s Schema,
    /// (member path, one violation in AWS's words)
    violations: Vec<(String, String)>,
}

/// How a value appears in a violation message.
#[derive(Clone, Copy)]
enum Shown<'v> {
    Null,
    Value(&'v Value),
    Text(&'v str),
}

impl Walk<'_> {
    fn value(
        &mut self,
        v: &Value,
        shape: &Shape,
        c: &Constraints,
        path: &Path,
    ) -> Result<(), ValidationError> {
        if path.depth > MAX_DEPTH {
            return Err(too_deep(path));
        }
        match &shape.kind {
            Kind::Structure(members) => self.structure(v, members, path)?,
            Kind::Union(members) => self.union(v, members, path)?,
            Kind::List { member, sparse } => self.list(v, member, *sparse, c, path)?,
            Kind::Map { key, value, sparse } => self.map(v, key, value, *sparse, c, path)?,
            Kind::String => {
                let Value::String(s) = v else {
                    return Err(wrong_type(v, "a string", path));
                };
                self.string(s, c, path);
            }
            Kind::Boolean => {
                if !v.is_boolean() {
                    return Err(wrong_type(v, "a boolean", path));
                }
            }
            Kind::Integer { min, max } => self.integer(v, *min, *max, c, path)?,
            Kind::BigInteger => {
                if !v.as_f64().is_some_and(|f| f.fract() == 0.0) {
                    return Err(wrong_type(v, "an integer", path));
                }
                self.range(v, c, path);
            }
            Kind::Float => match v {
                Value::Number(_) => self.range(v, c, path),
                Value::String(s) if matches!(s.as_str(), "NaN" | "Infinity" | "-Infinity") => {}
                _ => return Err(wrong_type(v, "a number", path)),
            },
            Kind::BigDecimal => {
                if !v.is_number() {
                    return Err(wrong_type(v, "a number", path));
                }
                self.range(v, c, path);
            }
            Kind::Timestamp => match c.timestamp_format {
                TimestampFormat::EpochSeconds if !v.is_number() => {
                    return Err(wrong_type(v, "a timestamp in epoch seconds", path));
                }
                TimestampFormat::Text if !v.is_string() => {
                    return Err(wrong_type(v, "a timestamp string", path));
                }
                _ => {}
            },
            Kind::Blob => self.blob(v, c, path)?,
            Kind::Document => {
                if nests_deeper(v, MAX_DEPTH.saturating_sub(path.depth)) {
                    return Err(too_deep(path));
                }
            }
        }
        Ok(())
    }

    fn structure(
        &mut self,
        v: &Value,
        members: &[Member],
        path: &Path,
    ) -> Result<(), ValidationError> {
        let object = expect_object(v, path)?;
        for m in members {
            let child = path.child(Seg::Member(&m.name));
            match object.get(&m.name) {
                None | Some(Value::Null) if m.required => self.null(&child, m),
                None | Some(Value::Null) => {}
                Some(x) => self.member(x, m, &child)?,
            }
        }
        unknown_members_depth(object, members, path)
    }

    /// Exactly one member set.
    fn union(&mut self, v: &Value, members: &[Member], path: &Path) -> Result<(), ValidationError> {
        let object = expect_object(v, path)?;
        let mut set = 0;
        for m in members {
            if let Some(x) = object.get(&m.name).filter(|x| !x.is_null()) {
                set += 1;
                self.member(x, m, &path.child(Seg::Member(&m.name)))?;
            }
        }
        unknown_members_depth(object, members, path)?;
        if set != 1 {
            return Err(ValidationError {
                member: path.render(),
                message: format!(
                    "Union at '{}' must have exactly one member set, found {set}",
                    path.render()
                ),
                kind: ValidationKind::Serialization,
            });
        }
        Ok(())
    }

    fn list(
        &mut self,
        v: &Value,
        member: &Member,
        sparse: bool,
        c: &Constraints,
        path: &Path,
    ) -> Result<(), ValidationError> {
        let Value::Array(items) = v else {
            return Err(wrong_type(v, "a list", path));
        };
        if let Some(bounds) = &c.length {
            self.length(items.len(), bounds, Shown::Value(v), c, path);
        }
        for (i, x) in items.iter().enumerate() {
            let child = path.child(Seg::Index(i));
            if !x.is_null() {
                self.member(x, member, &child)?;
            } else if !sparse {
                self.null(&child, member);
            }
        }
        Ok(())
    }

    fn map(
        &mut self,
        v: &Value,
        key: &Member,
        value: &Member,
        sparse: bool,
        c: &Constraints,
        path: &Path,
    ) -> Result<(), ValidationError> {
        let object = expect_object(v, path)?;
        if let Some(bounds) = &c.length {
            self.length(object.len(), bounds, Shown::Value(v), c, path);
        }
        for (k, x) in object {
            let child = path.child(Seg::Key(k));
            self.string(k, &key.constraints, &child);
            if !x.is_null() {
                self.member(x, value, &child)?;
            } else if !sparse {
                self.null(&child, value);
            }
        }
        Ok(())
    }

    /// A required member, or an item of a collection that is not sparse, is
    /// null or missing.
    fn null(&mut self, path: &Path, m: &Member) {
        self.violation(
            path,
            Shown::Null,
            &m.constraints,
            "Member must not be null".into(),
        );
    }

    fn integer(
        &mut self,
        v: &Value,
        min: i64,
        max: i64,
        c: &Constraints,
        path: &Path,
    ) -> Result<(), ValidationError> {
        let n = match v {
            Value::Number(n) => n.as_i64().filter(|n| (min..=max).contains(n)),
            _ => None,
        };
        let Some(n) = n else {
            return Err(wrong_type(
                v,
                &format!("an integer from {min} to {max}"),
                path,
            ));
        };
        if let Some(values) = &c.int_enum_values {
            if !values.contains(&n) {
                let set: Vec<String> = values.iter().map(i64::to_string).collect();
                self.enum_violation(v, c, path, &set);
            }
        }
        self.range(v, c, path);
        Ok(())
    }

    fn blob(&mut self, v: &Value, c: &Constraints, path: &Path) -> Result<(), ValidationError> {
        let Value::String(text) = v else {
            return Err(wrong_type(v, "base64 text", path));
        };
        let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(text) else {
            return Err(wrong_type(v, "base64 text", path));
        };
        if let Some(bounds) = &c.length {
            self.length(bytes.len(), bounds, Shown::Value(v), c, path);
        }
        Ok(())
    }

    fn member(&mut self, v: &Value, m: &Member, path: &Path) -> Result<(), ValidationError> {
        let schema = self.schema;
        self.value(v, &schema.shapes[m.shape], &m.constraints, path)
    }

    fn string(&mut self, s: &str, c: &Constraints, path: &Path) {
        if let Some(bounds) = &c.length {
            // Smithy counts a string's length in Unicode scalar values.
            self.length(s.chars().count(), bounds, Shown::Text(s), c, path);
        }
        if let Some(pattern) = &c.pattern {
            if !pattern.accepts(s) {
                let constraint = format!(
                    "Member must satisfy regular expression pattern: {}",
                    pattern.source()
                );
                self.violation(path, Shown::Text(s), c, constraint);
            }
        }
        if let Some(values) = &c.enum_values {
            if !values.iter().any(|e| e == s) {
                let constraint = format!(
                    "Member must satisfy enum value set: [{}]",
                    values.join(", ")
                );
                self.violation(path, Shown::Text(s), c, constraint);
            }
        }
    }

    fn length(
        &mut self,
        len: usize,
        bounds: &Bounds<u64>,
        shown: Shown,
        c: &Constraints,
        path: &Path,
    ) {
        let len = len as u64;
        if let Some(min) = bounds.min.filter(|min| len < *min) {
            let constraint = format!("Member must have length greater than or equal to {min}");
            self.violation(path, shown, c, constraint);
        } else if let Some(max) = bounds.max.filter(|max| len > *max) {
            let constraint = format!("Member must have length less than or equal to {max}");
            self.violation(path, shown, c, constraint);
        }
    }

    fn range(&mut self, v: &Value, c: &Constraints, path: &Path) {
        let (Some(bounds), Some(x)) = (&c.range, v.as_f64()) else {
            return;
        };
        let beyond = |bound: &Option<Number>, outside: fn(f64, f64) -> bool| {
            bound
                .as_ref()
                .filter(|b| b.as_f64().is_some_and(|b| outside(x, b)))
                .cloned()
        };
        if let Some(min) = beyond(&bounds.min, |x, b| x < b) {
            self.violation(
                path,
                Shown::Value(v),
                c,
                format!("Member must have value greater than or equal to {min}"),
            );
        }
        if let Some(max) = beyond(&bounds.max, |x, b| x > b) {
            self.violation(
                path,
                Shown::Value(v),
                c,
                format!("Member must have value less than or equal to {max}"),
            );
        }
    }

    fn enum_violation(&mut self, v: &Value, c: &Constraints, path: &Path, set: &[String]) {
        let constraint = format!("Member must satisfy enum value set: [{}]", set.join(", "));
        self.violation(path, Shown::Value(v), c, constraint);
    }

    /// Records `Value 'x' at 'path' failed to satisfy constraint: ...`; AWS
    /// leaves the value out for sensitive members.
    fn violation(&mut self, path: &Path, shown: Shown, c: &Constraints, constraint: String) {
        let member = path.render();
        let value = match shown {
            Shown::Null => " null".to_string(),
            _ if c.sensitive => String::new(),
            Shown::Text(s) => format!(" '{s}'"),
            Shown::Value(v) => format!(" '{}'", describe(v, SHOWN_DEPTH)),
        };
        let message =
            format!("Value{value} at '{member}' failed to satisfy constraint: {constraint}");
        self.violations.push((member, message));
    }
}

fn expect_object<'v>(v: &'v Value, path: &Path) -> Result<&'v Map<String, Value>, ValidationError> {
    v.as_object()
        .ok_or_else(|| wrong_type(v, "an object", path))
}

/// Unknown members are not read, only bounded in depth.
fn unknown_members_depth(
    object: &Map<String, Value>,
    members: &[Member],
    path: &Path,
) -> Result<(), ValidationError> {
    for (k, x) in object {
        if !(x.is_object() || x.is_array()) {
            continue;
        }
        if members
            .binary_search_by(|m| m.name.as_str().cmp(k))
            .is_err()
        {
            let child = path.child(Seg::Member(k));
            if child.depth > MAX_DEPTH || nests_deeper(x, MAX_DEPTH - child.depth) {
                return Err(too_deep(&child));
            }
        }
    }
    Ok(())
}

/// Whether `v` has anything more than `budget` levels below it.
pub(super) fn nests_deeper(v: &Value, budget: usize) -> bool {
    let deeper = |x: &Value| budget == 0 || nests_deeper(x, budget - 1);
    match v {
        Value::Array(items) => items.iter().any(deeper),
        Value::Object(map) => map.values().any(deeper),
        _ => false,
    }
}

fn too_deep(path: &Path) -> ValidationError {
    let member = path.render();
    ValidationError {
        message: format!("Value at '{member}' nests deeper than {MAX_DEPTH} levels"),
        member,
        kind: ValidationKind::Serialization,
    }
}

fn wrong_type(v: &Value, expected: &str, path: &Path) -> ValidationError {
    let member = path.render();
    let at = if member.is_empty() {
        "the input".to_string()
    } else {
        format!("'{member}'")
    };
    ValidationError {
        message: format!("Expected {expected} at {at}, found {}", json_type(v)),
        member,
        kind: ValidationKind::Serialization,
    }
}

pub(super) fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A value as AWS's messages print it: strings bare, lists `[a, b]`,
/// objects `{k=v}`.
fn describe(v: &Value, depth: usize) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(_) | Value::Object(_) if depth == 0 => "...".to_string(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(|x| describe(x, depth - 1)).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(map) => {
            let entries: Vec<String> = map
                .iter()
                .map(|(k, x)| format!("{k}={}", describe(x, depth - 1)))
                .collect();
            format!("{{{}}}", entries.join(", "))
        }
        other => other.to_string(),
    }
}
