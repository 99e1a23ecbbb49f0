//! Output conformance: whether a response body is what an AWS SDK expects
//! from the operation's output shape. Reports missing required members,
//! JSON types the shape does not allow, members the shape does not have, and
//! timestamps finer than the milliseconds real Proton sends. Constraint traits
//! (length, pattern, enum) are not checked: services may return enum values
//! newer than the model, and SDKs accept them.

use super::path::{Path, Seg};
use super::shapes::{Kind, Member, Schema, Shape, TimestampFormat};
use super::validate::{MAX_DEPTH, json_type, nests_deeper};
use serde_json::Value;

pub(super) fn check(schema: &Schema, shape: &Shape, output: &Value) -> Vec<String> {
    let mut check = Check {
        schema,
        problems: Vec::new(),
    };
    check.value(
        output,
        shape,
        shape.constraints.timestamp_format,
        &Path::ROOT,
    );
    check.problems
}

struct Check<'s> {
    schema: &'s Schema,
    problems: Vec<String>,
}

impl Check<'_> {
    fn value(&mut self, v: &Value, shape: &Shape, format: TimestampFormat, path: &Path) {
        if path.depth > MAX_DEPTH {
            self.problem(path, &format!("nested deeper than {MAX_DEPTH} levels"));
            return;
        }
        let expected = match &shape.kind {
            Kind::Structure(members) => return self.structure(v, members, false, path),
            Kind::Union(members) => return self.structure(v, members, true, path),
            Kind::List { member, sparse } => {
                let Value::Array(items) = v else {
                    return self.wrong_type(v, "a list", path);
                };
                for (i, x) in items.iter().enumerate() {
                    self.element(x, member, *sparse, &path.child(Seg::Index(i)));
                }
                return;
            }
            Kind::Map { value, sparse, .. } => {
                let Value::Object(object) = v else {
                    return self.wrong_type(v, "an object", path);
                };
                for (k, x) in object {
                    self.element(x, value, *sparse, &path.child(Seg::Key(k)));
                }
                return;
            }
            Kind::Document => {
                if nests_deeper(v, MAX_DEPTH.saturating_sub(path.depth)) {
                    self.problem(path, &format!("nested deeper than {MAX_DEPTH} levels"));
                }
                return;
            }
            Kind::Timestamp if format == TimestampFormat::EpochSeconds => {
                if let Value::Number(n) = v {
                    let text = n.to_string();
                    let decimals = text.split_once('.').map_or(0, |(_, frac)| frac.len());
                    if decimals > 3 && !text.contains(['e', 'E']) {
                        self.problem(
                            path,
                            &format!("timestamp {text} is finer than milliseconds"),
                        );
                    }
                    return;
                }
                "a timestamp in epoch seconds"
            }
            Kind::Timestamp | Kind::String | Kind::Blob if v.is_string() => return,
            Kind::Timestamp | Kind::String => "a string",
            Kind::Blob => "base64 text",
            Kind::Boolean if v.is_boolean() => return,
            Kind::Boolean => "a boolean",
            Kind::Integer { min, max } => {
                if v.as_i64().is_some_and(|n| (*min..=*max).contains(&n)) {
                    return;
                }
                "an integer within its type's range"
            }
            Kind::BigInteger if v.as_f64().is_some_and(|f| f.fract() == 0.0) => return,
            Kind::BigInteger => "an integer",
            Kind::Float
                if v.is_number()
                    || matches!(v.as_str(), Some("NaN" | "Infinity" | "-Infinity")) =>
            {
                return;
            }
            Kind::BigDecimal if v.is_number() => return,
            Kind::Float | Kind::BigDecimal => "a number",
        };
        self.wrong_type(v, expected, path);
    }

    /// A structure's members, or a union's (of which exactly one is set).
    fn structure(&mut self, v: &Value, members: &[Member], union: bool, path: &Path) {
        let Value::Object(object) = v else {
            return self.wrong_type(v, "an object", path);
        };
        let mut set = 0;
        for m in members {
            let child = path.child(Seg::Member(&m.name));
            match object.get(&m.name) {
                None | Some(Value::Null) if m.required => {
                    self.problem(&child, "missing required member")
                }
                None | Some(Value::Null) => {}
                Some(x) => {
                    set += 1;
                    self.member(x, m, &child);
                }
            }
        }
        for key in object.keys() {
            if members
                .binary_search_by(|m| m.name.as_str().cmp(key))
                .is_err()
            {
                self.problem(&path.child(Seg::Member(key)), "unknown member");
            }
        }
        if union && set != 1 {
            self.problem(
                path,
                &format!("a union must have exactly one member set, found {set}"),
            );
        }
    }

    fn element(&mut self, x: &Value, m: &Member, sparse: bool, path: &Path) {
        if !x.is_null() {
            self.member(x, m, path);
        } else if !sparse {
            self.problem(path, "null in a collection that is not sparse");
        }
    }

    fn member(&mut self, v: &Value, m: &Member, path: &Path) {
        let schema = self.schema;
        self.value(
            v,
            &schema.shapes[m.shape],
            m.constraints.timestamp_format,
            path,
        );
    }

    fn wrong_type(&mut self, v: &Value, expected: &str, path: &Path) {
        self.problem(
            path,
            &format!("expected {expected}, found {}", json_type(v)),
        );
    }

    fn problem(&mut self, path: &Path, what: &str) {
        self.problems
            .push(format!("{}: {what}", path.render_from("$")));
    }
}
