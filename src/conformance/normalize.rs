//! Normalisation: replaces values that legitimately differ between two
//! services (generated ids, timestamps, account ids, regions) by placeholders
//! that keep identity.
//!
//! Each side of a comparison (the recording, the target) has its own
//! [`Normalizer`] for the whole cassette. The first time it meets a value of
//! a kind it hands out the next number for that kind, and the same value gets
//! the same placeholder ever after: if the recording's retry returned the
//! same `createdAt` as the first call, both show `<timestamp:1>`; if the
//! target's retry returned a fresh one, the target shows `<timestamp:2>` and
//! the diff says so.
//!
//! What is replaced, first rule that applies wins:
//! 1. user rules by JSON path (`$.a[*].b`), then by member name;
//! 2. members the model types as timestamps (plus a built-in list), whole value;
//! 3. generated-id members (`id`, `deploymentId`, ...), whole value;
//! 4. in any string: user regexes; ARNs (region and account replaced,
//!    partition, service, resource type and name kept); a bare 12-digit
//!    account id; UUIDs anywhere.
//!
//! Pure and linear in the size of the value: no IO, one pass, and the
//! regexes only run on strings that can hold a match.

use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;

/// Timestamp members of Proton's outputs, used with whatever the model
/// reports (the model is the authority; this list keeps the check useful
/// when the model is not at hand).
pub const FALLBACK_TIMESTAMP_MEMBERS: &[&str] = &[
    "completedAt",
    "createdAt",
    "lastDeploymentAttemptedAt",
    "lastDeploymentSucceededAt",
    "lastModifiedAt",
    "requestedAt",
    "resolvedAt",
    "startedAt",
    "targetResourceCreatedAt",
];

/// Members that hold identifiers the service generates.
pub const GENERATED_ID_MEMBERS: &[&str] = &[
    "id",
    "deploymentId",
    "environmentAccountConnectionId",
    "lastAttemptedDeploymentId",
    "lastSucceededDeploymentId",
    "lastSuccessfulEnvironmentDeploymentId",
    "lastSuccessfulServicePipelineDeploymentId",
];

/// The placeholder kind of generated identifiers; the runner carries the
/// target's ids into later requests by this kind.
pub const ID_KIND: &str = "id";
const TIMESTAMP_KIND: &str = "timestamp";
const ACCOUNT_KIND: &str = "account";
const REGION_KIND: &str = "region";

/// The format tag of a rules file.
pub const RULES_FORMAT_V1: &str = "proton-vcr.normalize/1";

/// What to replace, beyond the built-in rules.
#[derive(Clone, Debug)]
pub struct NormalizeRules {
    timestamp_members: HashSet<String>,
    id_members: HashSet<String>,
    paths: Vec<(JsonPathPattern, String)>,
    members: HashMap<String, String>,
    regexes: Vec<(regex::Regex, String)>,
    uuid: regex::Regex,
}

/// One user rule: what it selects and the placeholder kind it gives.
#[derive(Clone, Debug)]
pub enum UserRule {
    /// A JSON path (`$.environment.spec`, `$.items[*].arn`): the whole value.
    Path(JsonPathPattern, String),
    /// Every member with this name, at any depth: the whole value.
    Member(String, String),
    /// Every match inside any string.
    Regex(regex::Regex, String),
}

/// A JSON path with `[*]` / `.*` wildcards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonPathPattern {
    text: String,
    segments: Vec<PatternSegment>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum PatternSegment {
    Member(String),
    Index(usize),
    Any,
}

/// A rule that cannot be used, and why.
#[derive(Debug)]
pub struct RuleError {
    pub origin: String,
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.origin, self.message)
    }
}

impl std::error::Error for RuleError {}

impl Default for NormalizeRules {
    fn default() -> Self {
        Self::with_timestamp_members(Vec::new())
    }
}

impl NormalizeRules {
    /// The built-in rules, with the timestamp members the Proton model names.
    pub fn proton() -> Self {
        Self::with_timestamp_members(crate::model::Model::proton().timestamp_member_names())
    }

    /// The built-in rules, with `extra` timestamp members besides the fallback list.
    pub fn with_timestamp_members(extra: Vec<String>) -> Self {
        let mut timestamp_members: HashSet<String> = FALLBACK_TIMESTAMP_MEMBERS
            .iter()
            .map(|s| s.to_string())
            .collect();
        timestamp_members.extend(extra);
        Self {
            timestamp_members,
            id_members: GENERATED_ID_MEMBERS.iter().map(|s| s.to_string()).collect(),
            paths: Vec::new(),
            members: HashMap::new(),
            regexes: Vec::new(),
            uuid: regex::Regex::new(
                "(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            )
            .unwrap_or_else(|_| unreachable!("the UUID pattern is a valid regex")),
        }
    }

    pub fn add(&mut self, rule: UserRule) {
        match rule {
            UserRule::Path(path, kind) => self.paths.push((path, kind)),
            UserRule::Member(name, kind) => {
                self.members.insert(name, kind);
            }
            UserRule::Regex(regex, kind) => self.regexes.push((regex, kind)),
        }
    }

    /// Reads a rules file:
    /// `{"format": "proton-vcr.normalize/1", "rules": [{"member": "x", "as": "id"}, {"path": "$.a", "as": "k"}, {"regex": "b-[0-9]+", "as": "build"}]}`.
    pub fn add_file(&mut self, path: &Path) -> Result<(), RuleError> {
        let origin = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| RuleError {
            origin: origin.clone(),
            message: format!("cannot read the rules file: {e}"),
        })?;
        let file: RulesFile = serde_json::from_slice(&bytes).map_err(|e| RuleError {
            origin: origin.clone(),
            message: format!("not a rules file ({e}); see docs/conformance.md for the format"),
        })?;
        if file.format != RULES_FORMAT_V1 {
            return Err(RuleError {
                origin,
                message: format!(
                    "unknown rules format {:?}; this proton-vcr reads {RULES_FORMAT_V1:?}",
                    file.format
                ),
            });
        }
        for (index, entry) in file.rules.into_iter().enumerate() {
            let at = format!("{origin}: rules[{index}]");
            let selectors = [&entry.path, &entry.member, &entry.regex]
                .iter()
                .filter(|s| s.is_some())
                .count();
            if selectors != 1 {
                return Err(RuleError {
                    origin: at,
                    message: "give exactly one of \"path\", \"member\" or \"regex\"".into(),
                });
            }
            let kind = check_kind(&entry.kind).map_err(|message| RuleError {
                origin: at.clone(),
                message,
            })?;
            let rule = if let Some(path) = entry.path {
                UserRule::Path(
                    JsonPathPattern::parse(&path).map_err(|message| RuleError {
                        origin: at.clone(),
                        message,
                    })?,
                    kind,
                )
            } else if let Some(member) = entry.member {
                UserRule::Member(member, kind)
            } else {
                let source = entry.regex.unwrap_or_default();
                UserRule::Regex(
                    regex::Regex::new(&source).map_err(|e| RuleError {
                        origin: at.clone(),
                        message: format!("invalid regex: {e}"),
                    })?,
                    kind,
                )
            };
            self.add(rule);
        }
        Ok(())
    }

    fn is_plain(&self) -> bool {
        self.paths.is_empty()
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    format: String,
    rules: Vec<RuleEntry>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleEntry {
    path: Option<String>,
    member: Option<String>,
    regex: Option<String>,
    #[serde(rename = "as")]
    kind: String,
}

impl UserRule {
    /// Parses `SELECTOR=KIND`: a selector starting with `$` is a JSON path,
    /// one written `/.../` a regex, anything else a member name.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (selector, kind) = text.rsplit_once('=').ok_or_else(|| {
            format!("`{text}` is not SELECTOR=KIND (e.g. `deploymentId=id`, `$.spec=spec`, `/b-[0-9]+/=build`)")
        })?;
        let kind = check_kind(kind)?;
        if selector.starts_with('$') {
            return Ok(UserRule::Path(JsonPathPattern::parse(selector)?, kind));
        }
        if let Some(source) = selector.strip_prefix('/').and_then(|s| s.strip_suffix('/')) {
            let regex =
                regex::Regex::new(source).map_err(|e| format!("invalid regex `{source}`: {e}"))?;
            return Ok(UserRule::Regex(regex, kind));
        }
        if selector.is_empty() {
            return Err(format!("`{text}` names no member"));
        }
        Ok(UserRule::Member(selector.to_string(), kind))
    }
}

fn check_kind(kind: &str) -> Result<String, String> {
    let ok = kind.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && kind
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(kind.to_string())
    } else {
        Err(format!(
            "placeholder kind `{kind}` must be lower-case letters, digits and dashes (e.g. `id`, `build-number`)"
        ))
    }
}

impl JsonPathPattern {
    /// Parses `$`, `$.a.b`, `$.a[0]`, `$.a[*].b`, `$["odd key"]`, `$.a.*`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = |why: &str| {
            format!(
                "`{text}` is not a JSON path ({why}); write e.g. `$.environment.spec` or `$.items[*].arn`"
            )
        };
        let rest = text
            .strip_prefix('$')
            .ok_or_else(|| bad("it must start with `$`"))?;
        let mut segments = Vec::new();
        let mut chars = rest.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '.' => {
                    let start = at + 1;
                    let mut end = start;
                    while let Some(&(i, c)) = chars.peek() {
                        if c == '.' || c == '[' {
                            break;
                        }
                        end = i + c.len_utf8();
                        chars.next();
                    }
                    let name = rest.get(start..end).unwrap_or_default();
                    match name {
                        "" => return Err(bad("empty member name")),
                        "*" => segments.push(PatternSegment::Any),
                        _ => segments.push(PatternSegment::Member(name.to_string())),
                    }
                }
                '[' => {
                    let close = rest
                        .get(at..)
                        .and_then(find_close)
                        .ok_or_else(|| bad("unclosed `[`"))?;
                    let inner = rest.get(at + 1..at + close).unwrap_or_default();
                    let segment = if inner == "*" {
                        PatternSegment::Any
                    } else if let Ok(index) = inner.parse::<usize>() {
                        PatternSegment::Index(index)
                    } else if inner.starts_with('"') {
                        let name: String =
                            serde_json::from_str(inner).map_err(|_| bad("bad quoted member"))?;
                        PatternSegment::Member(name)
                    } else {
                        return Err(bad("`[...]` holds a number, `*` or a quoted name"));
                    };
                    segments.push(segment);
                    while chars.peek().is_some_and(|&(i, _)| i <= at + close) {
                        chars.next();
                    }
                }
                _ => return Err(bad("expected `.` or `[`")),
            }
        }
        Ok(Self {
            text: text.to_string(),
            segments,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    fn matches(&self, path: &[Segment<'_>]) -> bool {
        self.segments.len() == path.len()
            && self.segments.iter().zip(path).all(|(p, s)| match (p, s) {
                (PatternSegment::Any, _) => true,
                (PatternSegment::Member(a), Segment::Member(b)) => a == b,
                (PatternSegment::Index(a), Segment::Index(b)) => a == b,
                _ => false,
            })
    }
}

/// The offset of the `]` closing the `[` at the start of `tail`, skipping
/// over a quoted name.
fn find_close(tail: &str) -> Option<usize> {
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in tail.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            ']' if !in_string => return Some(i),
            _ => {}
        }
    }
    None
}

#[derive(Clone, Copy, Debug)]
enum Segment<'a> {
    Member(&'a str),
    Index(usize),
}

/// One side's placeholder tables for one cassette.
///
/// The recorded side numbers values in order of first appearance. The
/// target side is *guided* by the recorded side: a value it has not seen
/// takes the number of the recorded value at the same place, if that number
/// is still free. Values pair up by where they occur, not by how many came
/// before, so one extra value early in a cassette does not renumber every
/// later one; and a target that returns a fresh value where the recording
/// repeated an earlier one still shows as a difference (`<id:1>` recorded,
/// `<id:target-1>` target).
#[derive(Debug)]
pub struct Normalizer<'r> {
    rules: &'r NormalizeRules,
    kinds: HashMap<String, KindTable>,
    guided: bool,
}

#[derive(Debug, Default)]
struct KindTable {
    labels: HashMap<String, String>,
    /// Original values by paired number.
    originals: HashMap<usize, String>,
    next: usize,
    unpaired: usize,
}

/// Placeholders of the recorded value at the current place, by kind, in the
/// order they occur: the numbers a new target value should take.
type Hints = HashMap<String, std::collections::VecDeque<usize>>;

fn hints_in(guide: Option<&Value>) -> Hints {
    let mut hints = Hints::new();
    let Some(Value::String(text)) = guide else {
        return hints;
    };
    let mut rest = text.as_str();
    while let Some(start) = rest.find('<') {
        rest = &rest[start + 1..];
        let Some(end) = rest.find('>') else { break };
        if let Some((kind, number)) = rest[..end].split_once(':') {
            if let Ok(number) = number.parse::<usize>() {
                hints.entry(kind.to_string()).or_default().push_back(number);
            }
        }
        rest = &rest[end + 1..];
    }
    hints
}

impl<'r> Normalizer<'r> {
    /// A side numbered in order of first appearance (the recorded side).
    pub fn new(rules: &'r NormalizeRules) -> Self {
        Self {
            rules,
            kinds: HashMap::new(),
            guided: false,
        }
    }

    /// A side numbered after the other side's normalised values (the target).
    pub fn guided(rules: &'r NormalizeRules) -> Self {
        Self {
            guided: true,
            ..Self::new(rules)
        }
    }

    /// The value with placeholders in place of what may legitimately differ.
    pub fn normalize(&mut self, value: &Value) -> Value {
        self.normalize_guided(value, None)
    }

    /// Like `normalize`, taking placeholder numbers from `guide` (the other
    /// side's normalised value) where this side meets a value first.
    pub fn normalize_guided(&mut self, value: &Value, guide: Option<&Value>) -> Value {
        let mut path = Vec::new();
        self.walk(value, guide, &mut path)
    }

    /// The original value behind `<kind:number>`, if this side has one.
    pub fn original(&self, kind: &str, number: usize) -> Option<&str> {
        self.kinds
            .get(kind)?
            .originals
            .get(&number)
            .map(String::as_str)
    }

    /// The highest placeholder number this side gave `kind`.
    pub fn highest(&self, kind: &str) -> usize {
        self.kinds
            .get(kind)
            .and_then(|t| t.originals.keys().max().copied())
            .unwrap_or(0)
    }

    fn placeholder(&mut self, kind: &str, value: &str, hints: &mut Hints) -> String {
        let hint = hints.get_mut(kind).and_then(|h| h.pop_front());
        let guided = self.guided;
        let table = match self.kinds.get_mut(kind) {
            Some(table) => table,
            None => self.kinds.entry(kind.to_string()).or_default(),
        };
        if let Some(label) = table.labels.get(value) {
            return format!("<{kind}:{label}>");
        }
        let label = match hint {
            Some(n) if guided && !table.originals.contains_key(&n) => {
                table.originals.insert(n, value.to_string());
                n.to_string()
            }
            _ if guided => {
                table.unpaired += 1;
                format!("target-{}", table.unpaired)
            }
            _ => {
                table.next += 1;
                table.originals.insert(table.next, value.to_string());
                table.next.to_string()
            }
        };
        table.labels.insert(value.to_string(), label.clone());
        format!("<{kind}:{label}>")
    }

    fn walk<'v>(
        &mut self,
        value: &'v Value,
        guide: Option<&Value>,
        path: &mut Vec<Segment<'v>>,
    ) -> Value {
        match value {
            Value::Object(members) => {
                let mut out = Map::new();
                // Members the other side also has come first, so that a value
                // met first in a member the recording lacks (an optional one)
                // still pairs with its recorded counterpart.
                let (paired, unpaired): (Vec<_>, Vec<_>) = members
                    .iter()
                    .partition(|(key, _)| guide.is_some_and(|g| g.get(key.as_str()).is_some()));
                for (key, member) in paired.into_iter().chain(unpaired) {
                    path.push(Segment::Member(key));
                    let guide = guide.and_then(|g| g.get(key.as_str()));
                    let normalized = match self.whole_value_kind(key, member, path) {
                        Some(kind) => self.whole(&kind, member, guide),
                        None => self.walk(member, guide, path),
                    };
                    path.pop();
                    out.insert(key.clone(), normalized);
                }
                Value::Object(out)
            }
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        path.push(Segment::Index(i));
                        let guide = guide.and_then(|g| g.get(i));
                        let normalized = match self.path_kind(path) {
                            Some(kind) => self.whole(&kind, item, guide),
                            None => self.walk(item, guide, path),
                        };
                        path.pop();
                        normalized
                    })
                    .collect(),
            ),
            Value::String(text) => Value::String(self.string(text, &mut hints_in(guide))),
            other => other.clone(),
        }
    }

    fn path_kind(&self, path: &[Segment<'_>]) -> Option<String> {
        if self.rules.is_plain() {
            return None;
        }
        self.rules
            .paths
            .iter()
            .find(|(pattern, _)| pattern.matches(path))
            .map(|(_, kind)| kind.clone())
    }

    fn whole_value_kind(&self, key: &str, member: &Value, path: &[Segment<'_>]) -> Option<String> {
        if let Some(kind) = self.path_kind(path) {
            return Some(kind);
        }
        if let Some(kind) = self.rules.members.get(key) {
            return Some(kind.clone());
        }
        let scalar = matches!(member, Value::String(_) | Value::Number(_));
        if scalar && self.rules.timestamp_members.contains(key) {
            return Some(TIMESTAMP_KIND.to_string());
        }
        if member.is_string() && self.rules.id_members.contains(key) {
            return Some(ID_KIND.to_string());
        }
        None
    }

    /// A whole value as one placeholder. A timestamp sent as text instead of
    /// a number says so, so a type change still shows as a difference.
    fn whole(&mut self, kind: &str, value: &Value, guide: Option<&Value>) -> Value {
        let text = match value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        let placeholder = self.placeholder(kind, &text, &mut hints_in(guide));
        if kind == TIMESTAMP_KIND && value.is_string() {
            return Value::String(format!("{placeholder} (text)"));
        }
        Value::String(placeholder)
    }

    fn string(&mut self, text: &str, hints: &mut Hints) -> String {
        let mut current = std::borrow::Cow::Borrowed(text);
        let rules = self.rules;
        for (regex, kind) in &rules.regexes {
            if regex.is_match(&current) {
                let replaced = regex
                    .replace_all(&current, |caps: &regex::Captures<'_>| {
                        self.placeholder(kind, caps.get(0).map_or("", |m| m.as_str()), hints)
                    })
                    .into_owned();
                current = std::borrow::Cow::Owned(replaced);
            }
        }
        if let Some(rest) = current.strip_prefix("arn:") {
            return self.arn(rest, hints);
        }
        if current.len() == 12 && current.bytes().all(|b| b.is_ascii_digit()) {
            return self.placeholder(ACCOUNT_KIND, &current, hints);
        }
        self.uuids(&current, hints)
    }

    /// `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`, with REGION and
    /// ACCOUNT replaced and UUIDs in RESOURCE replaced.
    fn arn(&mut self, rest: &str, hints: &mut Hints) -> String {
        let mut parts = rest.splitn(5, ':');
        let (Some(partition), Some(service), Some(region), Some(account), Some(resource)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return format!("arn:{}", self.uuids(rest, hints));
        };
        let region = if region.is_empty() {
            String::new()
        } else {
            self.placeholder(REGION_KIND, region, hints)
        };
        let account = if account.is_empty() {
            String::new()
        } else {
            self.placeholder(ACCOUNT_KIND, account, hints)
        };
        let resource = self.uuids(resource, hints);
        format!("arn:{partition}:{service}:{region}:{account}:{resource}")
    }

    fn uuids(&mut self, text: &str, hints: &mut Hints) -> String {
        // A UUID needs 36 characters with dashes; most strings are not one.
        if text.len() < 36 || !text.contains('-') {
            return text.to_string();
        }
        let rules = self.rules;
        rules
            .uuid
            .replace_all(text, |caps: &regex::Captures<'_>| {
                let found = caps.get(0).map_or("", |m| m.as_str());
                self.placeholder(ID_KIND, found, hints)
            })
            .into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_value_first_met_in_a_member_the_recording_lacks_still_pairs() {
        let rules = NormalizeRules::proton();
        let (mut recorded, mut target) = (Normalizer::new(&rules), Normalizer::guided(&rules));
        let r = recorded.normalize(&json!({"createdAt": 1.0, "lastModifiedAt": 2.0}));
        // The target also sends an optional member, sorted before
        // lastModifiedAt, with the same new timestamp.
        let t = target.normalize_guided(
            &json!({"createdAt": 5.0, "lastDeploymentAttemptedAt": 6.0, "lastModifiedAt": 6.0}),
            Some(&r),
        );
        assert_eq!(t["lastModifiedAt"], r["lastModifiedAt"]);
        assert_eq!(t["lastDeploymentAttemptedAt"], "<timestamp:2>");
    }

    #[test]
    fn guided_target_pairs_values_by_place_so_an_extra_value_does_not_renumber_the_rest() {
        let rules = NormalizeRules::proton();
        let (mut recorded, mut target) = (Normalizer::new(&rules), Normalizer::guided(&rules));
        // The target has one extra distinct timestamp early on.
        let r1 = recorded.normalize(&json!({"createdAt": 1.0, "lastModifiedAt": 1.0}));
        let t1 =
            target.normalize_guided(&json!({"createdAt": 5.0, "lastModifiedAt": 6.0}), Some(&r1));
        assert_eq!(r1["lastModifiedAt"], "<timestamp:1>");
        assert_eq!(t1["lastModifiedAt"], "<timestamp:target-1>");
        // A later, new value still pairs with its recorded counterpart.
        let r2 = recorded
            .normalize(&json!({"createdAt": 2.0, "id": "6e0c2f57-1a2b-4c3d-8e9f-0a1b2c3d4e5f"}));
        let t2 = target.normalize_guided(
            &json!({"createdAt": 7.0, "id": "0f6b1c4e-3c1a-4bde-9f5e-6d0f1d2a7b10"}),
            Some(&r2),
        );
        assert_eq!(r2, t2);
        // A fresh id where the recording repeated an earlier one still differs.
        let r3 = recorded.normalize(&json!({"id": "6e0c2f57-1a2b-4c3d-8e9f-0a1b2c3d4e5f"}));
        let t3 = target.normalize_guided(
            &json!({"id": "11111111-2222-4333-8444-555555555555"}),
            Some(&r3),
        );
        assert_eq!(
            (r3["id"].as_str(), t3["id"].as_str()),
            (Some("<id:1>"), Some("<id:target-1>"))
        );
        assert_eq!(
            target.original("id", 1),
            Some("0f6b1c4e-3c1a-4bde-9f5e-6d0f1d2a7b10")
        );
    }

    #[test]
    fn same_value_same_placeholder_numbered_per_kind_in_order_of_first_appearance() {
        let rules = NormalizeRules::default();
        let mut side = Normalizer::new(&rules);
        let first =
            side.normalize(&json!({"createdAt": 1700000000.5, "lastModifiedAt": 1700000001.25}));
        let retry =
            side.normalize(&json!({"createdAt": 1700000000.5, "lastModifiedAt": 1700000009}));
        assert_eq!(
            first,
            json!({"createdAt": "<timestamp:1>", "lastModifiedAt": "<timestamp:2>"})
        );
        assert_eq!(
            retry,
            json!({"createdAt": "<timestamp:1>", "lastModifiedAt": "<timestamp:3>"})
        );
    }

    #[test]
    fn arns_keep_service_type_and_name_but_not_region_account_or_generated_ids() {
        let rules = NormalizeRules::default();
        let mut side = Normalizer::new(&rules);
        let value = side.normalize(&json!({
            "arn": "arn:aws:proton:us-east-1:123456789012:environment-account-connection/0f2a52b4-30c1-4b8d-a3a0-27b5c7f3cbb9",
            "environmentAccountId": "123456789012",
            "id": "0f2a52b4-30c1-4b8d-a3a0-27b5c7f3cbb9",
            "template": "arn:aws:proton:us-west-2:210987654321:environment-template/fargate-env:1.0",
            "name": "fargate-env"
        }));
        assert_eq!(
            value,
            json!({
                "arn": "arn:aws:proton:<region:1>:<account:1>:environment-account-connection/<id:1>",
                "environmentAccountId": "<account:1>",
                "id": "<id:1>",
                "template": "arn:aws:proton:<region:2>:<account:2>:environment-template/fargate-env:1.0",
                "name": "fargate-env"
            })
        );
        // The connection's id and the UUID in its ARN are one identity.
        assert_eq!(side.highest(ID_KIND), 1);
        assert_eq!(
            side.original(ID_KIND, 1),
            Some("0f2a52b4-30c1-4b8d-a3a0-27b5c7f3cbb9")
        );
    }

    #[test]
    fn timestamps_sent_as_text_are_told_apart_from_numbers() {
        let rules = NormalizeRules::default();
        let mut side = Normalizer::new(&rules);
        assert_eq!(
            side.normalize(&json!({"createdAt": "2026-01-01T00:00:00Z"})),
            json!({"createdAt": "<timestamp:1> (text)"})
        );
    }

    #[test]
    fn user_rules_by_path_member_and_regex() {
        let mut rules = NormalizeRules::default();
        rules.add(UserRule::parse("$.items[*].spec=spec").unwrap());
        rules.add(UserRule::parse("buildNumber=build").unwrap());
        rules.add(UserRule::parse("/run-[0-9]+/=run").unwrap());
        let mut side = Normalizer::new(&rules);
        let value = side.normalize(&json!({
            "items": [{"spec": {"a": 1}}, {"spec": "x"}],
            "nested": {"buildNumber": 41},
            "message": "run-7 then run-8 then run-7"
        }));
        assert_eq!(
            value,
            json!({
                "items": [{"spec": "<spec:1>"}, {"spec": "<spec:2>"}],
                "nested": {"buildNumber": "<build:1>"},
                "message": "<run:1> then <run:2> then <run:1>"
            })
        );
    }

    #[test]
    fn bad_rules_say_what_to_write() {
        assert!(
            UserRule::parse("nokind")
                .unwrap_err()
                .contains("SELECTOR=KIND")
        );
        assert!(
            UserRule::parse("x=Bad Kind")
                .unwrap_err()
                .contains("lower-case")
        );
        assert!(UserRule::parse("$.a[=k").unwrap_err().contains("unclosed"));
        assert!(
            UserRule::parse("/(/=k")
                .unwrap_err()
                .contains("invalid regex")
        );
    }

    #[test]
    fn json_path_patterns() {
        let p = JsonPathPattern::parse("$.a[*][\"odd.key\"][2].*").unwrap();
        assert_eq!(
            p.segments,
            vec![
                PatternSegment::Member("a".into()),
                PatternSegment::Any,
                PatternSegment::Member("odd.key".into()),
                PatternSegment::Index(2),
                PatternSegment::Any,
            ]
        );
        assert!(JsonPathPattern::parse("a.b").is_err());
        assert!(JsonPathPattern::parse("$..b").is_err());
    }
}
