//! Writing the operations' outputs. Most answers are built as a JSON tree
//! ([`Obj`]) and serialised once. The answers that must cost the same
//! whatever the state holds are written straight to JSON text ([`Text`]):
//! a tree is a few allocations per member, and in a large state the
//! allocator's search for free blocks reads memory the caches no longer
//! hold. Both take their members through [`Members`], so one rendering
//! function writes either, and the tests hold the text to the tree's bytes.

use super::Millis;
use crate::mock::state::digits;
use serde_json::{Map, Value};

/// An operation's answer: a tree to serialise, or JSON text already written.
pub enum Output {
    Tree(Value),
    Text(Vec<u8>),
}

/// The members of an output structure, written in order; absent optional
/// members are left out. [`Text`] writes members as they come, so a
/// rendering function gives them in the order a tree sorts its keys.
pub trait Members: Sized {
    fn str(self, member: &str, value: &str) -> Self;

    /// A version number as the string the model wants.
    fn num(self, member: &str, value: u64) -> Self;

    /// A timestamp: epoch seconds with millisecond precision, as a JSON number.
    fn time(self, member: &str, ms: Millis) -> Self;

    fn opt(self, member: &str, value: Option<&str>) -> Self {
        match value {
            Some(value) => self.str(member, value),
            None => self,
        }
    }

    /// Applies `add` only when `cond` holds, for members some answers leave out.
    fn when(self, cond: bool, add: impl FnOnce(Self) -> Self) -> Self {
        if cond { add(self) } else { self }
    }
}

/// An output structure built as a JSON tree.
pub struct Obj(Map<String, Value>);

impl Obj {
    pub fn new() -> Self {
        Self(Map::new())
    }

    pub fn value(mut self, member: &str, value: Value) -> Self {
        self.0.insert(member.to_string(), value);
        self
    }

    pub fn opt_value(self, member: &str, value: Option<&Value>) -> Self {
        match value {
            Some(value) => self.value(member, value.clone()),
            None => self,
        }
    }

    pub fn build(self) -> Value {
        Value::Object(self.0)
    }
}

impl Members for Obj {
    fn str(mut self, member: &str, value: &str) -> Self {
        self.0
            .insert(member.to_string(), Value::String(value.to_string()));
        self
    }

    fn num(self, member: &str, value: u64) -> Self {
        self.str(member, digits(value, &mut [0; 20]))
    }

    fn time(mut self, member: &str, ms: Millis) -> Self {
        self.0.insert(member.to_string(), timestamp(ms));
        self
    }
}

pub fn timestamp(ms: Millis) -> Value {
    serde_json::Number::from_f64(seconds(ms)).map_or(Value::Null, Value::Number)
}

fn seconds(ms: Millis) -> f64 {
    ms as f64 / 1000.0
}

/// An output structure written as compact JSON text after the bytes its
/// buffer already holds, byte for byte what serialising the [`Obj`] of the
/// same members gives.
pub struct Text {
    out: Vec<u8>,
    empty: bool,
}

impl Text {
    pub fn open(mut out: Vec<u8>) -> Self {
        out.push(b'{');
        Self { out, empty: true }
    }

    pub fn close(mut self) -> Vec<u8> {
        self.out.push(b'}');
        self.out
    }

    fn member(&mut self, member: &str) {
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
        string(&mut self.out, member);
        self.out.push(b':');
    }

    /// A member whose value is a structure, its members written by `write`.
    pub fn object(mut self, member: &str, write: impl FnOnce(Text) -> Text) -> Self {
        self.member(member);
        self.out = write(Text::open(std::mem::take(&mut self.out))).close();
        self
    }

    /// A member whose value is an array of structures, each item's members
    /// written by `write`.
    pub fn array<T>(
        mut self,
        member: &str,
        items: impl IntoIterator<Item = T>,
        mut write: impl FnMut(Text, T) -> Text,
    ) -> Self {
        self.member(member);
        self.out.push(b'[');
        for (at, item) in items.into_iter().enumerate() {
            if at > 0 {
                self.out.push(b',');
            }
            self.out = write(Text::open(std::mem::take(&mut self.out)), item).close();
        }
        self.out.push(b']');
        self
    }
}

impl Members for Text {
    fn str(mut self, member: &str, value: &str) -> Self {
        self.member(member);
        string(&mut self.out, value);
        self
    }

    fn num(mut self, member: &str, value: u64) -> Self {
        self.member(member);
        self.out.push(b'"');
        self.out
            .extend_from_slice(digits(value, &mut [0; 20]).as_bytes());
        self.out.push(b'"');
        self
    }

    fn time(mut self, member: &str, ms: Millis) -> Self {
        self.member(member);
        // What serialising `timestamp(ms)` writes: the same f64, the same
        // formatter. Writing into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut self.out, &seconds(ms));
        self
    }
}

/// `text` as a JSON string, escaped as serde_json escapes it. Writing into
/// a Vec cannot fail.
fn string(out: &mut Vec<u8>, text: &str) {
    let _ = serde_json::to_writer(out, text);
}

/// `{member: value}`, the shape of every single-resource output.
pub fn wrap(member: &str, value: Value) -> Value {
    let mut out = Map::with_capacity(1);
    out.insert(member.to_string(), value);
    Value::Object(out)
}

/// [`wrap`] as text, the value's members written by `write`; `capacity`
/// is a guess at their length.
pub fn wrap_text(member: &str, capacity: usize, write: impl FnOnce(Text) -> Text) -> Vec<u8> {
    let out = Vec::with_capacity(capacity + member.len() + 8);
    Text::open(out).object(member, write).close()
}

/// A list output: `{member: [...], nextToken?}`.
pub fn list_output(member: &str, (page, next): (Vec<Value>, Option<String>)) -> Value {
    let mut out = Map::with_capacity(2);
    out.insert(member.to_string(), Value::Array(page));
    if let Some(next) = next {
        out.insert("nextToken".into(), Value::String(next));
    }
    Value::Object(out)
}

/// [`list_output`] as text, each item's members written by `write`;
/// `capacity` is a guess at an item's length.
pub fn list_text<T>(
    member: &str,
    (page, next): (Vec<T>, Option<String>),
    capacity: usize,
    write: impl FnMut(Text, T) -> Text,
) -> Vec<u8> {
    const NEXT: &str = "nextToken";
    let out = Text::open(Vec::with_capacity(capacity * page.len() + 64));
    // Members in the order a tree sorts them.
    let (before, after) = if NEXT < member {
        (next.as_deref(), None)
    } else {
        (None, next.as_deref())
    };
    out.opt(NEXT, before)
        .array(member, page, write)
        .opt(NEXT, after)
        .close()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same members, written to either writer.
    fn members<M: Members>(out: M, value: &str, number: u64, ms: Millis) -> M {
        out.str("a", value)
            .num("b", number)
            .time("c", ms)
            .str("d \"quoted\"", value)
    }

    #[test]
    fn text_writes_the_bytes_the_tree_serialises_to() {
        let awkward = [
            "",
            "plain",
            "quote \" and \\ back",
            "tab\tnew\nline",
            "\u{1}\u{7f}",
            "é €😀",
            "</script>",
        ];
        for value in awkward {
            for (ms, number) in [(0, 0), (1, 7), (1_767_225_600_123, u64::MAX), (999, 10)] {
                let tree =
                    serde_json::to_vec(&members(Obj::new(), value, number, ms).build()).unwrap();
                let text = members(Text::open(Vec::new()), value, number, ms).close();
                assert_eq!(
                    String::from_utf8_lossy(&text),
                    String::from_utf8_lossy(&tree),
                    "{value:?} {ms} {number}"
                );
            }
        }
        let tree = serde_json::to_vec(&Obj::new().build()).unwrap();
        let text = Text::open(Vec::new()).close();
        assert_eq!(text, tree, "an empty structure");
    }

    #[test]
    fn lists_as_text_match_their_trees_with_and_without_a_next_token() {
        for member in ["serviceInstances", "deployments", "a", "z"] {
            for next in [None, Some("MDAwMDAwMDAwMDEw".to_string())] {
                for len in [0, 1, 3] {
                    let items: Vec<u64> = (0..len).collect();
                    let tree = list_output(
                        member,
                        (
                            items
                                .iter()
                                .map(|n| Obj::new().num("n", *n).time("t", *n).build())
                                .collect(),
                            next.clone(),
                        ),
                    );
                    let text = list_text(member, (items, next.clone()), 16, |out, n| {
                        out.num("n", n).time("t", n)
                    });
                    assert_eq!(
                        String::from_utf8_lossy(&text),
                        serde_json::to_string(&tree).unwrap(),
                        "{member} {next:?} {len}"
                    );
                }
            }
        }
        let wrapped = wrap_text("serviceInstance", 8, |out| out.str("name", "i"));
        let tree = wrap("serviceInstance", Obj::new().str("name", "i").build());
        assert_eq!(wrapped, serde_json::to_vec(&tree).unwrap());
    }
}
