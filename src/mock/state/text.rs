//! [`Text`]: a string held in its owner's own memory when it is short.
//!
//! A `String` field is a pointer to an allocation elsewhere: reading a
//! resource's names from it waits for the resource, then for each name's
//! allocation, one cold line after another when the resource is one of
//! thousands. A [`Text`] holds up to `N` bytes in place (a longer one falls
//! back to an allocation of its own), so the names an answer copies arrive
//! with the resource's own lines. [`Name`] is the size of a `String`;
//! [`Arn`] holds the ARNs the mock makes.

use super::table::{Inline, InlineKey};
use std::borrow::Borrow;
use std::hash::{Hash, Hasher};

/// A text held in place up to `N` bytes (at most 255), else in an
/// allocation. It compares, orders, hashes and prints as the text it holds.
#[derive(Clone)]
pub struct Text<const N: usize>(Repr<N>);

#[derive(Clone)]
enum Repr<const N: usize> {
    Inline { len: u8, bytes: [u8; N] },
    Heap(Box<str>),
}

/// A name (of a service, an instance, an environment...): as big as a
/// `String`, in place up to 22 bytes.
pub type Name = Text<22>;

/// An ARN: in place up to 94 bytes, which holds the ARNs the mock makes
/// for its resources and deployments.
pub type Arn = Text<94>;

impl<const N: usize> Text<N> {
    pub fn new(text: &str) -> Self {
        match u8::try_from(text.len()) {
            Ok(len) if text.len() <= N => {
                let mut bytes = [0; N];
                bytes[..text.len()].copy_from_slice(text.as_bytes());
                Self(Repr::Inline { len, bytes })
            }
            _ => Self(Repr::Heap(text.into())),
        }
    }

    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Inline { len, bytes } => {
                let bytes = bytes.get(..usize::from(*len)).unwrap_or_default();
                // SAFETY: only `new` writes `bytes` and `len`, with a whole
                // `&str`: the first `len` bytes are that text's, valid UTF-8.
                unsafe { std::str::from_utf8_unchecked(bytes) }
            }
            Repr::Heap(text) => text,
        }
    }

    /// Starts loading the text when it is held elsewhere ([`super::warm`]);
    /// in place, it comes with its owner's lines.
    #[inline]
    pub fn warm(&self) {
        if let Repr::Heap(text) = &self.0 {
            super::warm::text(text);
        }
    }
}

impl<const N: usize> Default for Text<N> {
    fn default() -> Self {
        Self::new("")
    }
}

impl<const N: usize> std::ops::Deref for Text<N> {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl<const N: usize> AsRef<str> for Text<N> {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl<const N: usize> Borrow<str> for Text<N> {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl<const N: usize> From<&str> for Text<N> {
    fn from(text: &str) -> Self {
        Self::new(text)
    }
}

impl<const N: usize> From<String> for Text<N> {
    fn from(text: String) -> Self {
        if text.len() <= N {
            Self::new(&text)
        } else {
            Self(Repr::Heap(text.into_boxed_str()))
        }
    }
}

impl<const N: usize> From<&String> for Text<N> {
    fn from(text: &String) -> Self {
        Self::new(text)
    }
}

impl<const N: usize> PartialEq for Text<N> {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl<const N: usize> Eq for Text<N> {}

impl<const N: usize> PartialEq<str> for Text<N> {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl<const N: usize> PartialEq<&str> for Text<N> {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl<const N: usize> PartialEq<String> for Text<N> {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl<const N: usize> PartialOrd for Text<N> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<const N: usize> Ord for Text<N> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl<const N: usize> Hash for Text<N> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl<const N: usize> InlineKey for Text<N> {
    fn inline(&self) -> Option<Inline> {
        self.as_str().inline()
    }
}

impl<const N: usize> std::fmt::Debug for Text<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_str().fmt(f)
    }
}

impl<const N: usize> std::fmt::Display for Text<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_texts_read_back_as_written() {
        let long = "é".repeat(40);
        for text in ["", "s1", "a-name-of-exactly-22-b", &long] {
            let name = Name::new(text);
            assert_eq!(name.as_str(), text);
            assert_eq!(Name::from(text.to_string()), name);
            assert_eq!(name.to_string(), text);
        }
        assert!(matches!(
            Name::new("a-name-of-exactly-22-b").0,
            Repr::Inline { .. }
        ));
        assert!(matches!(Name::new(&long).0, Repr::Heap(_)));
        assert_eq!(std::mem::size_of::<Name>(), std::mem::size_of::<String>());
        assert_eq!(
            std::mem::size_of::<Option<Name>>(),
            std::mem::size_of::<String>()
        );
        assert!(Name::new("a") < Name::new("b") && Arn::new("a") == *"a");
    }
}
