//! Values the client chose: finding them, binding live ones to recorded ones,
//! and following those bindings.
//!
//! Test suites name their resources with `uuid4()`, timestamps or random hex,
//! so every run sends values no recording holds. A value qualifies for
//! binding when it looks generated (a UUID, or a run of 8 or more letters and
//! digits with both kinds, or of 8 or more digits) and the recording shows the
//! client chose it: its first appearance in the cassette is in a request, not
//! in any earlier answer.
//!
//! A live request that matches no recorded one exactly is compared with the
//! recorded requests that have the same skeleton (the request with every
//! generated value masked by its kind and length). Where they differ only at
//! values the client chose, each live value is bound to the recorded one, one
//! to one, for the rest of the replay. A live value qualifies only the first
//! time it is seen: not in an earlier live request, not in any recorded
//! answer, not bound already, and shaped like the recorded value (same kind,
//! same length, same letter case).
//!
//! Later requests carrying a bound live value anywhere (a queue URL, an ARN,
//! an S3 path) are read with the recorded value in its place, and answers get
//! the live value wherever the recorded one appears (see `substitute`).

use super::WordHashing;
use std::collections::{HashMap, HashSet};
use std::ops::Range;

/// Which values replay binds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BindMode {
    /// Idempotency tokens, and generated-looking values the recording shows
    /// the client chose (resource names, ids, keys, message bodies).
    #[default]
    Auto,
    /// Only the idempotency-token members (the service model's and
    /// `--token-path`): every other value must match literally.
    Tokens,
    /// Nothing: every value, tokens included, must match literally.
    None,
}

/// Where the generated-looking values are in `text`: UUIDs, and maximal runs
/// of ASCII letters and digits that look random.
pub fn generated_spans(text: &[u8]) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    let mut i = 0;
    while i < text.len() {
        if !text[i].is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        if is_uuid_at(text, i) {
            spans.push(i..i + UUID_LEN);
            i += UUID_LEN;
            continue;
        }
        let end = text[i..]
            .iter()
            .position(|b| !b.is_ascii_alphanumeric())
            .map_or(text.len(), |n| i + n);
        if looks_random(&text[i..end]) {
            spans.push(i..end);
        }
        i = end;
    }
    spans
}

const UUID_LEN: usize = 36;

/// A UUID starts at `i` and is not part of a longer run.
fn is_uuid_at(text: &[u8], i: usize) -> bool {
    let Some(candidate) = text.get(i..i + UUID_LEN) else {
        return false;
    };
    let shaped = candidate.iter().enumerate().all(|(n, b)| match n {
        8 | 13 | 18 | 23 => *b == b'-',
        _ => b.is_ascii_hexdigit(),
    });
    shaped
        && !text
            .get(i + UUID_LEN)
            .is_some_and(|b| b.is_ascii_alphanumeric())
}

/// Eight or more characters that mix letters and digits (hex, base32,
/// base62 ids), or that hold eight or more digits (timestamps and random
/// numbers, alone or after a letter or two). Words, even with a digit or two
/// in them, do not qualify.
fn looks_random(run: &[u8]) -> bool {
    if run.len() < 8 {
        return false;
    }
    let digits = run.iter().filter(|b| b.is_ascii_digit()).count();
    let letters = run.len() - digits;
    digits >= 8 || (digits >= 2 && letters >= 2)
}

/// What a generated value looks like, for masking and for the shape check:
/// the kind, the length, and which letter cases it uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shape {
    uuid: bool,
    len: usize,
    lower: bool,
    upper: bool,
}

impl Shape {
    pub fn of(value: &[u8]) -> Self {
        Self {
            uuid: value.len() == UUID_LEN && is_uuid_at(value, 0),
            len: value.len(),
            lower: value.iter().any(u8::is_ascii_lowercase),
            upper: value.iter().any(u8::is_ascii_uppercase),
        }
    }

    /// Whether a live value of this shape may stand for a recorded value of
    /// shape `recorded`: same kind and length, and no letter case the
    /// recorded value never uses (unless it has no letters at all, as a
    /// random hex string sometimes has not).
    pub fn may_stand_for(&self, recorded: &Shape) -> bool {
        let cases_fit = (!recorded.lower && !recorded.upper)
            || ((!self.lower || recorded.lower) && (!self.upper || recorded.upper));
        self.uuid == recorded.uuid && self.len == recorded.len && cases_fit
    }

    /// The bytes that stand for a value of this kind and length in a skeleton.
    fn mask(&self, out: &mut Vec<u8>) {
        out.push(0);
        out.push(if self.uuid { b'U' } else { b'R' });
        out.extend_from_slice(self.len.to_string().as_bytes());
        out.push(0);
    }
}

/// `text` with every generated value masked by its kind and length, and
/// those values in order; `None` when it holds no generated value.
pub fn skeleton(text: &[u8]) -> Option<(Vec<u8>, Vec<Box<str>>)> {
    let spans = generated_spans(text);
    if spans.is_empty() {
        return None;
    }
    let mut masked = Vec::with_capacity(text.len());
    let mut values = Vec::with_capacity(spans.len());
    let mut at = 0;
    for span in spans {
        masked.extend_from_slice(&text[at..span.start]);
        let value = &text[span.clone()];
        Shape::of(value).mask(&mut masked);
        // Spans are ASCII letters, digits and dashes.
        values.push(String::from_utf8_lossy(value).into());
        at = span.end;
    }
    masked.extend_from_slice(&text[at..]);
    Some((masked, values))
}

/// Replaces, in every string of `value`, each value of `sent` with the one
/// at its place in `followed` (a request as sent, and as read with the
/// recorded values in place of bound live ones).
pub fn follow_json(value: &mut serde_json::Value, sent: &[Box<str>], followed: &[Box<str>]) {
    let map: HashMap<Box<str>, Box<str>> = sent
        .iter()
        .zip(followed)
        .filter(|(s, f)| s != f)
        .map(|(s, f)| (s.clone(), f.clone()))
        .collect();
    replace_in_json(value, &map);
}

/// Replaces, in every string of `value`, the generated values found in `map`.
fn replace_in_json(value: &mut serde_json::Value, map: &HashMap<Box<str>, Box<str>>) {
    match value {
        serde_json::Value::String(text) => {
            if let Some(replaced) = ValueBindings::replace(text.as_bytes(), map) {
                *text = String::from_utf8_lossy(&replaced).into_owned();
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| replace_in_json(v, map)),
        serde_json::Value::Object(members) => {
            members.values_mut().for_each(|v| replace_in_json(v, map))
        }
        _ => {}
    }
}

/// Live values paired with the recorded values they stand for.
pub type Pairs = Vec<(Box<str>, Box<str>)>;

/// Why a live value was not bound to a recorded one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The recorded value first appears in an answer: the server chose it.
    NotChosenByClient { recorded: String },
    /// The recorded value is bound to another live value already.
    RecordedTaken { recorded: String, live: String },
    /// The live value is bound to another recorded value already.
    LiveTaken { live: String, recorded: String },
    /// The live value was sent before without being bound.
    LiveSeen { live: String },
    /// The live value is one a recorded answer holds.
    LiveInAnswer { live: String },
    /// One live value in the request stands for two recorded ones.
    TwoForOne {
        live: String,
        first: String,
        second: String,
    },
    /// The two values do not look alike (kind, length or letter case).
    Shape { live: String, recorded: String },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::NotChosenByClient { recorded } => write!(
                f,
                "recorded `{recorded}` first appears in an answer, so the server chose it and it must match literally"
            ),
            Refusal::RecordedTaken { recorded, live } => {
                write!(f, "recorded `{recorded}` is already bound to live `{live}`")
            }
            Refusal::LiveTaken { live, recorded } => {
                write!(f, "live `{live}` is already bound to recorded `{recorded}`")
            }
            Refusal::LiveSeen { live } => write!(
                f,
                "live `{live}` was sent before without being bound, so it is not a new value the client chose"
            ),
            Refusal::LiveInAnswer { live } => write!(
                f,
                "live `{live}` appears in a recorded answer, so it is not a value the client chose"
            ),
            Refusal::TwoForOne {
                live,
                first,
                second,
            } => write!(
                f,
                "live `{live}` stands where the recording has two different values, `{first}` and `{second}`"
            ),
            Refusal::Shape { live, recorded } => write!(
                f,
                "live `{live}` does not look like recorded `{recorded}` (kind, length or letter case)"
            ),
        }
    }
}

/// What the recording says about generated values: which ones the client
/// chose, and which ones any answer holds.
#[derive(Debug, Default)]
pub struct Learned {
    pub chosen_by_client: HashSet<Box<str>>,
    pub in_answers: HashSet<Box<str>>,
}

impl Learned {
    /// Takes in one exchange, in cassette order: `request` holds the
    /// generated values of its request, `answer` the texts of its answer;
    /// `answered` is what the cassette's earlier answers held.
    pub fn exchange(
        &mut self,
        answered: &mut HashSet<Box<str>>,
        request: &[Box<str>],
        answer: &[&[u8]],
    ) {
        for value in request {
            if !answered.contains(value) {
                self.chosen_by_client.insert(value.clone());
            }
        }
        for text in answer {
            for span in generated_spans(text) {
                let value: Box<str> = String::from_utf8_lossy(&text[span]).into();
                answered.insert(value.clone());
                self.in_answers.insert(value);
            }
        }
    }
}

/// The one-to-one binding of live values to recorded ones, and every
/// generated value the live requests have carried.
#[derive(Debug, Default)]
pub struct ValueBindings {
    live_to_recorded: HashMap<Box<str>, Box<str>>,
    recorded_to_live: HashMap<Box<str>, Box<str>>,
    /// Looked up on every request: hashed with the cheaper [`WordHashing`].
    seen: HashSet<Box<str>, WordHashing>,
}

impl ValueBindings {
    pub fn is_empty(&self) -> bool {
        self.live_to_recorded.is_empty()
    }

    pub fn recorded_for(&self, live: &str) -> Option<&str> {
        self.live_to_recorded.get(live).map(|v| &**v)
    }

    pub fn live_for(&self, recorded: &str) -> Option<&str> {
        self.recorded_to_live.get(recorded).map(|v| &**v)
    }

    /// Records that a live request carried these values.
    pub fn saw(&mut self, values: &[Box<str>]) {
        for value in values {
            if !self.seen.contains(value) {
                self.seen.insert(value.clone());
            }
        }
    }

    /// The pairs to bind so a live request whose generated values are `live`
    /// (as sent) may take a recorded request whose values are `recorded`
    /// (same skeleton, so same count and shapes), or why not.
    pub fn plan(
        &self,
        live: &[Box<str>],
        recorded: &[Box<str>],
        learned: &Learned,
    ) -> Result<Pairs, Refusal> {
        let mut pairs: Pairs = Vec::new();
        // The pairs planned so far, by either side: a request with many
        // values looks each up once, not along the list.
        let mut by_live: HashMap<&str, &str> = HashMap::new();
        let mut by_recorded: HashMap<&str, &str> = HashMap::new();
        for (l, r) in live.iter().zip(recorded) {
            let followed = self.recorded_for(l).unwrap_or(l);
            if followed == &**r {
                continue;
            }
            if let Some(bound) = self.recorded_for(l) {
                return Err(Refusal::LiveTaken {
                    live: l.to_string(),
                    recorded: bound.to_string(),
                });
            }
            if let Some(first) = by_live.get(&**l) {
                if *first != &**r {
                    return Err(Refusal::TwoForOne {
                        live: l.to_string(),
                        first: first.to_string(),
                        second: r.to_string(),
                    });
                }
                continue;
            }
            if !learned.chosen_by_client.contains(r) {
                return Err(Refusal::NotChosenByClient {
                    recorded: r.to_string(),
                });
            }
            if let Some(other) = self.live_for(r) {
                return Err(Refusal::RecordedTaken {
                    recorded: r.to_string(),
                    live: other.to_string(),
                });
            }
            if let Some(other) = by_recorded.get(&**r) {
                // Two live values for one recorded value: the same refusal
                // as a recorded value bound already.
                return Err(Refusal::RecordedTaken {
                    recorded: r.to_string(),
                    live: other.to_string(),
                });
            }
            if self.seen.contains(l) {
                return Err(Refusal::LiveSeen {
                    live: l.to_string(),
                });
            }
            if learned.in_answers.contains(l) {
                return Err(Refusal::LiveInAnswer {
                    live: l.to_string(),
                });
            }
            if !Shape::of(l.as_bytes()).may_stand_for(&Shape::of(r.as_bytes())) {
                return Err(Refusal::Shape {
                    live: l.to_string(),
                    recorded: r.to_string(),
                });
            }
            by_live.insert(l, r);
            by_recorded.insert(r, l);
            pairs.push((l.clone(), r.clone()));
        }
        Ok(pairs)
    }

    pub fn bind(&mut self, pairs: Pairs) {
        for (live, recorded) in pairs {
            self.recorded_to_live.insert(recorded.clone(), live.clone());
            self.live_to_recorded.insert(live, recorded);
        }
    }

    /// Binds values derived from bound ones (digests of what they changed),
    /// unless either side is bound already.
    pub fn bind_derived(&mut self, pairs: Pairs) {
        for (live, recorded) in pairs {
            if live != recorded
                && !self.live_to_recorded.contains_key(&live)
                && !self.recorded_to_live.contains_key(&recorded)
            {
                self.recorded_to_live.insert(recorded.clone(), live.clone());
                self.live_to_recorded.insert(live, recorded);
            }
        }
    }

    pub fn clear(&mut self) {
        self.live_to_recorded.clear();
        self.recorded_to_live.clear();
        self.seen.clear();
    }

    /// `text` with every generated value found in `map` replaced by its
    /// image; `None` when nothing changed. Values and images have the same
    /// length, so the result has the length of `text`.
    pub fn replace(text: &[u8], map: &HashMap<Box<str>, Box<str>>) -> Option<Vec<u8>> {
        if map.is_empty() {
            return None;
        }
        let mut out: Option<Vec<u8>> = None;
        for span in generated_spans(text) {
            let Ok(value) = std::str::from_utf8(&text[span.clone()]) else {
                continue;
            };
            if let Some(image) = map.get(value) {
                if image.len() == span.len() {
                    out.get_or_insert_with(|| text.to_vec())[span]
                        .copy_from_slice(image.as_bytes());
                }
            }
        }
        out
    }

    /// Live values to recorded ones (reading a request).
    pub fn to_recorded(&self) -> &HashMap<Box<str>, Box<str>> {
        &self.live_to_recorded
    }

    /// Recorded values to live ones (answering).
    pub fn to_live(&self) -> &HashMap<Box<str>, Box<str>> {
        &self.recorded_to_live
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<&str> {
        generated_spans(text.as_bytes())
            .into_iter()
            .map(|s| &text[s])
            .collect()
    }

    #[test]
    fn finds_uuids_hex_runs_and_timestamps_but_not_words() {
        assert_eq!(
            found("queue-7f574edd-d949-4cd9-8442-bbb300f50334"),
            ["7f574edd-d949-4cd9-8442-bbb300f50334"]
        );
        assert_eq!(
            found(r#"{"Key":"folder/9e3fc0be5fda4f8e8d2cf35cecc87219.txt","n":"1796136700"}"#),
            ["9e3fc0be5fda4f8e8d2cf35cecc87219", "1796136700"]
        );
        assert_eq!(found("listed-46619b530d86-0"), ["46619b530d86"]);
        assert_eq!(found("q4821937460"), ["q4821937460"]);
        assert!(found("my-fixed-queue us-east-1 Version=2010-03-31 Ec2Instance").is_empty());
        // A UUID glued to more letters is one run, judged as a run.
        assert_eq!(
            found("x7f574edd-d949-4cd9-8442-bbb300f50334"),
            ["x7f574edd", "bbb300f50334"]
        );
    }

    #[test]
    fn skeletons_mask_values_by_kind_and_length() {
        let (a, va) = skeleton(b"/bucket-7f574edd-d949-4cd9-8442-bbb300f50334/k-a1b2c3d4").unwrap();
        let (b, vb) = skeleton(b"/bucket-2dd78c10-1124-42f7-a862-2d0375129ab4/k-ffee0099").unwrap();
        assert_eq!(a, b);
        assert_eq!(va.len(), 2);
        assert_ne!(va, vb);
        let (c, _) = skeleton(b"/bucket-2dd78c10-1124-42f7-a862-2d0375129ab4/k-ffee00990").unwrap();
        assert!(skeleton(b"/fixed-name").is_none());
        assert_ne!(a, c, "a longer value is another skeleton");
    }

    fn values(list: &[&str]) -> Vec<Box<str>> {
        list.iter().map(|v| Box::<str>::from(*v)).collect()
    }

    fn learned(chosen: &[&str], answers: &[&str]) -> Learned {
        Learned {
            chosen_by_client: values(chosen).into_iter().collect(),
            in_answers: values(answers).into_iter().collect(),
        }
    }

    #[test]
    fn binds_one_to_one_and_says_why_not() {
        let learned = learned(&["aaaa1111", "bbbb2222"], &["cccc3333"]);
        let mut b = ValueBindings::default();
        let pairs = b
            .plan(&values(&["dddd4444"]), &values(&["aaaa1111"]), &learned)
            .unwrap();
        b.bind(pairs);
        b.saw(&values(&["dddd4444"]));
        assert_eq!(b.recorded_for("dddd4444"), Some("aaaa1111"));
        // Following the binding needs nothing new.
        assert_eq!(
            b.plan(&values(&["dddd4444"]), &values(&["aaaa1111"]), &learned),
            Ok(vec![])
        );
        assert!(matches!(
            b.plan(&values(&["dddd4444"]), &values(&["bbbb2222"]), &learned),
            Err(Refusal::LiveTaken { .. })
        ));
        assert!(matches!(
            b.plan(&values(&["eeee5555"]), &values(&["aaaa1111"]), &learned),
            Err(Refusal::RecordedTaken { .. })
        ));
        assert!(matches!(
            b.plan(&values(&["eeee5555"]), &values(&["cccc3333"]), &learned),
            Err(Refusal::NotChosenByClient { .. })
        ));
        assert!(matches!(
            b.plan(&values(&["cccc3333"]), &values(&["bbbb2222"]), &learned),
            Err(Refusal::LiveInAnswer { .. })
        ));
        assert!(matches!(
            b.plan(&values(&["EEEE5555"]), &values(&["bbbb2222"]), &learned),
            Err(Refusal::Shape { .. })
        ));
        assert!(matches!(
            b.plan(
                &values(&["ffff6666", "ffff6666"]),
                &values(&["bbbb2222", "aaaa1111"]),
                &learned
            ),
            Err(Refusal::TwoForOne { .. })
        ));
        // Within one request: two live values for one recorded value, and
        // one pair met twice.
        assert_eq!(
            b.plan(
                &values(&["ffff6666", "eeee5555"]),
                &values(&["bbbb2222", "bbbb2222"]),
                &learned
            ),
            Err(Refusal::RecordedTaken {
                recorded: "bbbb2222".into(),
                live: "ffff6666".into()
            })
        );
        assert_eq!(
            b.plan(
                &values(&["ffff6666", "ffff6666"]),
                &values(&["bbbb2222", "bbbb2222"]),
                &learned
            )
            .map(|pairs| pairs.len()),
            Ok(1)
        );
        b.saw(&values(&["99998888"]));
        assert!(matches!(
            b.plan(&values(&["99998888"]), &values(&["bbbb2222"]), &learned),
            Err(Refusal::LiveSeen { .. })
        ));
    }

    #[test]
    fn replaces_whole_values_only() {
        let map: HashMap<Box<str>, Box<str>> =
            [(Box::from("aaaa1111"), Box::from("dddd4444"))].into();
        assert_eq!(
            ValueBindings::replace(b"arn:x:q-aaaa1111 aaaa11119", &map).unwrap(),
            b"arn:x:q-dddd4444 aaaa11119"
        );
        assert_eq!(ValueBindings::replace(b"nothing here", &map), None);
    }
}
