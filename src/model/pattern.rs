//! Smithy `@pattern` checks. Smithy patterns are ECMA-262 regular
//! expressions matched anywhere in the value (not implicitly anchored). The
//! `regex` crate reads most of them as they are, except that ECMA's `\d` and
//! `\w` are ASCII-only while the crate's are Unicode-wide; the translation
//! below makes them ASCII, which also keeps bounded repeats like
//! `[\w+=,.@-]{1,512}` small enough to compile. Each pattern compiles on first
//! use and stays compiled; one the crate cannot read is not checked at all,
//! so an exotic pattern never rejects a valid request.

use regex::Regex;
use std::sync::OnceLock;

pub(super) struct Pattern {
    source: String,
    compiled: OnceLock<Option<Regex>>,
}

impl Pattern {
    pub fn new(source: &str) -> Self {
        Self {
            source: source.to_string(),
            compiled: OnceLock::new(),
        }
    }

    /// The pattern as the model writes it (what AWS quotes in its messages).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether `value` satisfies the pattern; `true` when it cannot be compiled.
    pub fn accepts(&self, value: &str) -> bool {
        self.compiled
            .get_or_init(|| Regex::new(&translate(&self.source)).ok())
            .as_ref()
            .is_none_or(|re| re.is_match(value))
    }
}

const DIGIT: &str = "0-9";
const WORD: &str = "0-9A-Za-z_";

/// Rewrites ECMA-262 `\d`, `\w` (and their negations outside classes) as
/// ASCII classes; everything else passes through.
fn translate(ecma: &str) -> String {
    let mut out = String::with_capacity(ecma.len() + 16);
    let mut in_class = false;
    let mut chars = ecma.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('d' | 'w' | 'D' | 'W')) => {
                    let set = if e.eq_ignore_ascii_case(&'d') {
                        DIGIT
                    } else {
                        WORD
                    };
                    match (in_class, e.is_ascii_lowercase()) {
                        (true, true) => out.push_str(set),
                        // A negated class inside a class cannot be spelled
                        // out; the Unicode reading is close enough there.
                        (true, false) => {
                            out.push('\\');
                            out.push(e);
                        }
                        (false, true) => {
                            out.push('[');
                            out.push_str(set);
                            out.push(']');
                        }
                        (false, false) => {
                            out.push_str("[^");
                            out.push_str(set);
                            out.push(']');
                        }
                    }
                }
                Some(e) => {
                    out.push('\\');
                    out.push(e);
                }
                None => out.push('\\'),
            },
            '[' if !in_class => {
                in_class = true;
                out.push(c);
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_and_word_classes_become_ascii_inside_and_outside_classes() {
        assert_eq!(translate(r"^\d{12}$"), r"^[0-9]{12}$");
        assert_eq!(translate(r"[\w+=,.@-]+"), r"[0-9A-Za-z_+=,.@-]+");
        assert_eq!(translate(r"\D\W"), r"[^0-9][^0-9A-Za-z_]");
        assert_eq!(translate(r"[0-9A-Za-z_\-]*"), r"[0-9A-Za-z_\-]*");
        assert_eq!(translate(r"a\[\d\]"), r"a\[[0-9]\]");
    }

    #[test]
    fn ecma_digits_are_ascii_only() {
        let p = Pattern::new(r"^\d{3}$");
        assert!(p.accepts("123"));
        assert!(!p.accepts("١٢٣"), "Arabic-Indic digits are not ECMA \\d");
    }

    #[test]
    fn unanchored_patterns_match_anywhere() {
        let p = Pattern::new("[A-Za-z0-9_.-].*/[A-Za-z0-9_.-].*");
        assert!(p.accepts("owner/repo"));
        assert!(!p.accepts("no-slash"));
    }

    #[test]
    fn a_pattern_the_crate_cannot_read_accepts_everything() {
        let p = Pattern::new(r"^(?<=a)b$");
        assert!(p.accepts("anything"));
    }
}
