//! The JSON paths at which two values differ, e.g. `$.source.s3.key` or
//! `$.tags[1].value`: the matcher explains a replay miss with them, and the
//! conformance diff compares a target's answer to the recorded one.

use super::push_member;
use serde_json::Value;
use std::fmt::Write as _;

/// One place where two values differ: its path and each side's value there
/// (`None` where that side has no such member or item).
#[derive(Clone, Debug, PartialEq)]
pub struct JsonDifference<'a> {
    pub path: String,
    pub left: Option<&'a Value>,
    pub right: Option<&'a Value>,
}

/// Every place where `a` and `b` differ, in a stable order. A member present
/// on one side only is a difference at that member's path; numbers compare
/// by value (`1.0` equals `1`).
pub fn diff<'a>(a: &'a Value, b: &'a Value) -> Vec<JsonDifference<'a>> {
    let mut sink = Sink::keeping(usize::MAX);
    walk(a, b, &mut String::from("$"), &mut sink);
    sink.found
}

/// The first `keep` paths of [`diff`], and how many there are in all: one
/// that names a few of millions of differences (a miss explained) does not
/// pay for a string per difference.
pub fn diff_paths_capped(a: &Value, b: &Value, keep: usize) -> (Vec<String>, usize) {
    let mut sink = Sink::keeping(keep);
    walk(a, b, &mut String::from("$"), &mut sink);
    (sink.found.into_iter().map(|d| d.path).collect(), sink.count)
}

/// The differences a walk found: the first `keep` of them, and their count.
struct Sink<'a> {
    found: Vec<JsonDifference<'a>>,
    keep: usize,
    count: usize,
}

impl<'a> Sink<'a> {
    fn keeping(keep: usize) -> Self {
        Self {
            found: Vec::new(),
            keep,
            count: 0,
        }
    }

    fn push(&mut self, path: &str, left: Option<&'a Value>, right: Option<&'a Value>) {
        self.count += 1;
        if self.found.len() < self.keep {
            self.found.push(JsonDifference {
                path: path.to_string(),
                left,
                right,
            });
        }
    }
}

fn walk<'a>(a: &'a Value, b: &'a Value, path: &mut String, out: &mut Sink<'a>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let len = path.len();
                push_member(path, key);
                walk_child(x.get(key), y.get(key), path, out);
                path.truncate(len);
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            for i in 0..x.len().max(y.len()) {
                let len = path.len();
                let _ = write!(path, "[{i}]");
                walk_child(x.get(i), y.get(i), path, out);
                path.truncate(len);
            }
        }
        (Value::Number(x), Value::Number(y)) if x.as_f64() == y.as_f64() => {}
        _ if a == b => {}
        _ => out.push(path, Some(a), Some(b)),
    }
}

/// A member or item at `path`: compared when both sides have it, else a
/// difference on its own.
fn walk_child<'a>(
    left: Option<&'a Value>,
    right: Option<&'a Value>,
    path: &mut String,
    out: &mut Sink<'a>,
) {
    match (left, right) {
        (Some(l), Some(r)) => walk(l, r, path, out),
        (left, right) => out.push(path, left, right),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn diff_paths(a: &Value, b: &Value) -> Vec<String> {
        diff(a, b).into_iter().map(|d| d.path).collect()
    }

    #[test]
    fn names_nested_members_array_items_and_one_sided_members() {
        let a = json!({"a": {"b": 1, "c": [1, 2]}, "d": "x", "only_a": true});
        let b = json!({"a": {"b": 2, "c": [1, 3, 4]}, "d": "x", "odd key": 1});
        assert_eq!(
            diff_paths(&a, &b),
            [
                "$.a.b",
                "$.a.c[1]",
                "$.a.c[2]",
                "$[\"odd key\"]",
                "$.only_a"
            ]
        );
    }

    #[test]
    fn a_capped_walk_keeps_the_first_paths_and_counts_them_all() {
        let a = json!({"list": (0..1000).collect::<Vec<_>>(), "z": 1});
        let b = json!({"list": (1..1001).collect::<Vec<_>>(), "z": 2});
        let (paths, count) = diff_paths_capped(&a, &b, 3);
        assert_eq!(paths, ["$.list[0]", "$.list[1]", "$.list[2]"]);
        assert_eq!(count, 1001);
        assert_eq!(diff_paths(&a, &b).len(), count);
    }

    #[test]
    fn equal_numbers_in_different_notation_are_equal() {
        assert!(diff_paths(&json!({"t": 1.0}), &json!({"t": 1})).is_empty());
    }
}
