//! Where a value sits inside a request or response, kept as a chain of stack
//! frames so that walking a document allocates nothing until a problem has
//! to be named.

use crate::json::push_member;

#[derive(Clone, Copy)]
pub(super) enum Seg<'a> {
    Member(&'a str),
    Index(usize),
    Key(&'a str),
}

#[derive(Clone, Copy)]
pub(super) struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    seg: Option<Seg<'a>>,
    /// Segments from the root: how deeply this value is nested.
    pub depth: usize,
}

impl<'a> Path<'a> {
    pub const ROOT: Path<'static> = Path {
        parent: None,
        seg: None,
        depth: 0,
    };

    pub fn child(&'a self, seg: Seg<'a>) -> Path<'a> {
        Path {
            parent: Some(self),
            seg: Some(seg),
            depth: self.depth + 1,
        }
    }

    /// `source.s3.bucket`, `tags[0].key`; map keys as `.key` or `["odd key"]`.
    pub fn render(&self) -> String {
        self.render_from(String::new())
    }

    /// The same, after a root marker such as `$`.
    pub fn render_from(&self, root: impl Into<String>) -> String {
        let mut segs = Vec::with_capacity(self.depth);
        let mut at = Some(self);
        while let Some(p) = at {
            segs.extend(p.seg);
            at = p.parent;
        }
        let mut out = root.into();
        for seg in segs.iter().rev() {
            match seg {
                Seg::Member(name) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(name);
                }
                Seg::Index(i) => out.push_str(&format!("[{i}]")),
                Seg::Key(key) => push_member(&mut out, key),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_members_indexes_and_keys() {
        let root = Path::ROOT;
        let tags = root.child(Seg::Member("tags"));
        let first = tags.child(Seg::Index(0));
        let key = first.child(Seg::Member("key"));
        assert_eq!(key.render(), "tags[0].key");
        assert_eq!(key.render_from("$"), "$.tags[0].key");
        assert_eq!(key.depth, 3);
        let odd = tags.child(Seg::Key("a b"));
        assert_eq!(odd.render(), "tags[\"a b\"]");
        assert_eq!(root.render_from("$"), "$");
    }
}
