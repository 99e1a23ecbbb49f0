//! Which recorded interaction answers a live request.
//!
//! Requests are compared the way AWS services read them, never byte for byte:
//! - awsJson (an `X-Amz-Target` header): the operation plus the JSON body
//!   compared as JSON (key order and white space do not matter);
//! - restJson and others: method, path, query (as a set of pairs) and the
//!   body as JSON, as form pairs (the query protocol), or as bytes.
//!
//! Signing and transport headers never take part. Idempotency tokens are left
//! out of the comparison and matched by binding instead (see `tokens`).
//!
//! Interactions are indexed by a hash of that comparison key, so finding a
//! candidate costs the same for a cassette of ten or of a hundred thousand.

mod json_diff;
mod tokens;

pub use json_diff::{JsonDifference, diff, diff_paths, push_member};
pub use tokens::{TokenBindings, TokenPath};

use crate::cassette::{Body, LoadedCassette, RecordedRequest};
use crate::http::{Request, Response};
use serde_json::Value;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

/// What to do when every recorded answer to a request has been used.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Repeats {
    /// Keep answering with the last recorded answer (waiters keep polling).
    #[default]
    Last,
    /// Treat it as a miss.
    Strict,
}

/// How requests are matched.
#[derive(Clone, Debug, Default)]
pub struct MatchOptions {
    pub tokens: Vec<TokenPath>,
    pub repeats: Repeats,
}

/// A request reduced to what matching compares.
struct View {
    operation: String,
    key: u64,
    /// The body without its token members, for diagnostics.
    body: Option<Value>,
    canonical: String,
    tokens: Vec<Option<String>>,
}

struct Entry {
    cassette: usize,
    index: usize,
    key: u64,
    tokens: Vec<Option<String>>,
    response: Response,
}

/// Where a served answer came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    pub cassette: usize,
    pub interaction: usize,
    /// True when the answer had been used already (`--repeats last`).
    pub repeated: bool,
}

/// Why no recorded interaction answers a request.
#[derive(Clone, Debug)]
pub struct Miss {
    pub operation: String,
    /// One line a client can show.
    pub reason: String,
    /// A unified diff of the live body against the closest candidate.
    pub detail: Option<String>,
}

/// Matching state for one replay: which interactions were used and how live
/// tokens are bound.
pub struct Matcher {
    cassettes: Vec<LoadedCassette>,
    options: MatchOptions,
    entries: Vec<Entry>,
    buckets: HashMap<u64, Bucket>,
    by_operation: HashMap<String, Vec<usize>>,
    used: Vec<bool>,
    bindings: TokenBindings,
}

#[derive(Default)]
struct Bucket {
    entries: Vec<usize>,
    /// Entries before this position are all used.
    first_unused: usize,
    last_served: Option<usize>,
}

impl Matcher {
    pub fn new(cassettes: Vec<LoadedCassette>, options: MatchOptions) -> Self {
        let mut matcher = Self {
            cassettes: Vec::new(),
            options,
            entries: Vec::new(),
            buckets: HashMap::new(),
            by_operation: HashMap::new(),
            used: Vec::new(),
            bindings: TokenBindings::default(),
        };
        for cassette in cassettes {
            matcher.add(cassette);
        }
        matcher
    }

    /// Adds a cassette's interactions after those already loaded.
    pub fn add(&mut self, loaded: LoadedCassette) {
        let c = self.cassettes.len();
        for (i, interaction) in loaded.cassette.interactions.iter().enumerate() {
            self.index(
                c,
                i,
                &interaction.request,
                interaction.response.to_exchange(),
            );
        }
        self.cassettes.push(loaded);
    }

    /// Adds one exchange (e.g. one just recorded) as if it had been recorded
    /// and already used.
    pub fn add_used(&mut self, cassette: usize, request: &RecordedRequest, response: Response) {
        let index = self
            .cassettes
            .get(cassette)
            .map_or(0, |c| c.cassette.interactions.len());
        let id = self.index(cassette, index, request, response);
        self.mark_used(id);
    }

    fn index(
        &mut self,
        cassette: usize,
        index: usize,
        request: &RecordedRequest,
        response: Response,
    ) -> usize {
        let view = view_of_recorded(request, &self.options.tokens);
        let id = self.entries.len();
        self.buckets.entry(view.key).or_default().entries.push(id);
        self.by_operation
            .entry(view.operation)
            .or_default()
            .push(id);
        self.entries.push(Entry {
            cassette,
            index,
            key: view.key,
            tokens: view.tokens,
            response,
        });
        self.used.push(false);
        id
    }

    fn mark_used(&mut self, id: usize) {
        self.used[id] = true;
        let entry = &self.entries[id];
        let bucket = self.buckets.entry(entry.key).or_default();
        bucket.last_served = Some(id);
        while bucket
            .entries
            .get(bucket.first_unused)
            .is_some_and(|&e| self.used[e])
        {
            bucket.first_unused += 1;
        }
    }

    pub fn cassettes(&self) -> &[LoadedCassette] {
        &self.cassettes
    }

    /// Forgets which interactions were used and every token binding.
    pub fn rewind(&mut self) {
        self.used.iter_mut().for_each(|u| *u = false);
        for bucket in self.buckets.values_mut() {
            bucket.first_unused = 0;
            bucket.last_served = None;
        }
        self.bindings.clear();
    }

    /// (used, total) interactions.
    pub fn progress(&self) -> (usize, usize) {
        (self.used.iter().filter(|u| **u).count(), self.used.len())
    }

    /// Finds the answer to `request`, marking it used and binding its tokens.
    pub fn answer(&mut self, request: &Request) -> Result<(Hit, Response), Miss> {
        let recorded = RecordedRequest::from_exchange(request);
        let view = view_of_recorded(&recorded, &self.options.tokens);
        if let Some(id) = self.find_unused(&view) {
            let tokens = self.entries[id].tokens.clone();
            self.bindings.bind(&view.tokens, &tokens);
            self.mark_used(id);
            return Ok(self.hit(id, false));
        }
        if self.options.repeats == Repeats::Last {
            if let Some(id) = self.buckets.get(&view.key).and_then(|b| b.last_served) {
                let entry = &self.entries[id];
                if self.same_request(id, &view)
                    && self.bindings.compatible(&view.tokens, &entry.tokens)
                {
                    return Ok(self.hit(id, true));
                }
            }
        }
        Err(self.explain_miss(&view))
    }

    fn hit(&self, id: usize, repeated: bool) -> (Hit, Response) {
        let entry = &self.entries[id];
        let hit = Hit {
            cassette: entry.cassette,
            interaction: entry.index,
            repeated,
        };
        (hit, entry.response.clone())
    }

    fn find_unused(&self, view: &View) -> Option<usize> {
        let bucket = self.buckets.get(&view.key)?;
        bucket.entries[bucket.first_unused..]
            .iter()
            .copied()
            .filter(|&id| !self.used[id])
            .find(|&id| {
                self.bindings
                    .compatible(&view.tokens, &self.entries[id].tokens)
                    && self.same_request(id, view)
            })
    }

    /// Guards against a hash collision: compares the full canonical forms.
    fn same_request(&self, id: usize, view: &View) -> bool {
        match self.recorded_request(id) {
            Some(request) => {
                view_of_recorded(request, &self.options.tokens).canonical == view.canonical
            }
            // Recorded on the fly (`add_used`): the hash is all there is.
            None => true,
        }
    }

    fn recorded_request(&self, id: usize) -> Option<&RecordedRequest> {
        let entry = &self.entries[id];
        self.cassettes
            .get(entry.cassette)?
            .cassette
            .interactions
            .get(entry.index)
            .map(|i| &i.request)
    }

    fn explain_miss(&self, view: &View) -> Miss {
        let miss = |reason: String, detail: Option<String>| Miss {
            operation: view.operation.clone(),
            reason,
            detail,
        };
        let Some(candidates) = self.by_operation.get(&view.operation) else {
            let mut known: Vec<&str> = self.by_operation.keys().map(String::as_str).collect();
            known.sort();
            known.truncate(12);
            return miss(
                format!(
                    "no recorded interaction for {}; the cassettes hold: {}",
                    view.operation,
                    if known.is_empty() {
                        "nothing".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
                None,
            );
        };
        // Closest: fewest differing paths; among equals, a used call this
        // request is a retry of, then unused ones, then the earliest.
        let live_body = view.body.clone().unwrap_or(Value::Null);
        let mut best: Option<(usize, Vec<String>, Value)> = None;
        let mut used_retry = None;
        for &id in candidates {
            let Some(request) = self.recorded_request(id) else {
                continue;
            };
            let recorded = view_of_recorded(request, &self.options.tokens);
            let recorded_body = recorded.body.unwrap_or(Value::Null);
            let mut paths = diff_paths(&recorded_body, &live_body);
            if paths.is_empty() && recorded.canonical != view.canonical {
                paths.push("(query or non-JSON body)".to_string());
            }
            if paths.is_empty()
                && self.used[id]
                && self
                    .bindings
                    .compatible(&view.tokens, &self.entries[id].tokens)
            {
                used_retry = Some(id);
            }
            let better = match &best {
                None => true,
                Some((b, bp, _)) => (paths.len(), self.used[id]) < (bp.len(), self.used[*b]),
            };
            if better {
                best = Some((id, paths, recorded_body));
            }
        }
        if let Some(id) = used_retry {
            return miss(
                format!(
                    "the matching recorded {} request ({}) was already used; run with `--repeats last` to answer it again, or POST /__vcr/rewind to start over",
                    view.operation,
                    self.describe(id)
                ),
                None,
            );
        }
        let Some((id, paths, recorded_body)) = best else {
            return miss(
                format!("no recorded interaction for {}", view.operation),
                None,
            );
        };
        let place = self.describe(id);
        if !paths.is_empty() {
            let detail = unified_diff(&recorded_body, &live_body);
            return miss(
                format!(
                    "no recorded {} request matches; the closest is {place}, which differs at {}",
                    view.operation,
                    paths.join(", ")
                ),
                Some(detail),
            );
        }
        miss(
            format!(
                "the recorded {} request like this one ({place}) used an idempotency token that is already bound to another live token: this live call is neither a retry of that call nor a new call the cassette holds",
                view.operation
            ),
            None,
        )
    }

    fn describe(&self, id: usize) -> String {
        let entry = &self.entries[id];
        match self.cassettes.get(entry.cassette) {
            Some(c) => format!(
                "interaction {} of cassette '{}' ({})",
                entry.index,
                c.cassette.name,
                c.path.display()
            ),
            None => format!("interaction {}", entry.index),
        }
    }
}

fn unified_diff(recorded: &Value, live: &Value) -> String {
    let a = serde_json::to_string_pretty(recorded).unwrap_or_default();
    let b = serde_json::to_string_pretty(live).unwrap_or_default();
    similar::TextDiff::from_lines(&a, &b)
        .unified_diff()
        .header("recorded", "live")
        .to_string()
}

/// The operation a request calls: its `X-Amz-Target`, else method and path
/// (and the query protocol's `Action`).
pub fn operation_label(request: &RecordedRequest) -> String {
    if let Some(target) = request.headers.get("x-amz-target") {
        return target.to_string();
    }
    let path = request.uri.split('?').next().unwrap_or("/");
    match form_action(request) {
        Some(action) => format!("{} {path} Action={action}", request.method),
        None => format!("{} {path}", request.method),
    }
}

fn is_form(request: &RecordedRequest) -> bool {
    request
        .headers
        .get("content-type")
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"))
}

fn form_action(request: &RecordedRequest) -> Option<String> {
    let Body::Text(text) = &request.body else {
        return None;
    };
    if !is_form(request) {
        return None;
    }
    form_pairs(text)
        .into_iter()
        .find(|(k, _)| k == "Action")
        .map(|(_, v)| v)
}

fn view_of_recorded(request: &RecordedRequest, token_paths: &[TokenPath]) -> View {
    let operation = operation_label(request);
    let applicable: Vec<&TokenPath> = token_paths
        .iter()
        .filter(|p| p.applies_to(&operation))
        .collect();
    let mut tokens = Vec::with_capacity(applicable.len());
    let mut canonical = String::with_capacity(128);
    canonical.push_str(&operation);
    canonical.push('\n');
    let query = request.uri.split_once('?').map(|(_, q)| q).unwrap_or("");
    let mut query_pairs = form_pairs(query);
    query_pairs.sort();
    for (k, v) in &query_pairs {
        canonical.push_str(&format!("{k}={v}&"));
    }
    canonical.push('\n');
    let mut body_json = None;
    match &request.body {
        Body::Json(value) => {
            let mut value = value.clone();
            for path in &applicable {
                tokens.push(take_member(&mut value, &path.members));
            }
            canonical.push_str(&value.to_string());
            body_json = Some(value);
        }
        Body::Text(text) if is_form(request) => {
            tokens.extend(applicable.iter().map(|_| None));
            let mut pairs = form_pairs(text);
            pairs.sort();
            for (k, v) in pairs {
                canonical.push_str(&format!("{k}={v}&"));
            }
        }
        other => {
            tokens.extend(applicable.iter().map(|_| None));
            canonical.push_str(&other.describe());
        }
    }
    let mut hasher = DefaultHasher::new();
    canonical.hash(&mut hasher);
    View {
        operation,
        key: hasher.finish(),
        body: body_json,
        canonical,
        tokens,
    }
}

/// Removes the string at `members` from `value`, returning it.
fn take_member(value: &mut Value, members: &[String]) -> Option<String> {
    let (last, parents) = members.split_last()?;
    let mut current = value;
    for member in parents {
        current = current.get_mut(member.as_str())?;
    }
    let object = current.as_object_mut()?;
    match object.get(last.as_str()) {
        Some(Value::String(_)) => object.remove(last.as_str()).and_then(|v| match v {
            Value::String(s) => Some(s),
            _ => None,
        }),
        _ => None,
    }
}

/// Decodes `a=1&b=x%20y` into pairs (`+` is a space).
pub fn form_pairs(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        let escaped = (byte == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (byte, escaped) {
            (_, Some(decoded)) => {
                out.push(decoded);
                i += 3;
            }
            (b'+', None) => {
                out.push(b' ');
                i += 1;
            }
            (other, None) => {
                out.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_pairs_decode_escapes_plus_and_stray_percent() {
        assert_eq!(
            form_pairs("Action=Send%20It&b=a+b&c=100%&d"),
            [
                ("Action".to_string(), "Send It".to_string()),
                ("b".to_string(), "a b".to_string()),
                ("c".to_string(), "100%".to_string()),
                ("d".to_string(), String::new()),
            ]
        );
    }
}

#[cfg(test)]
mod binding_tests {
    use super::*;
    use crate::cassette::{Cassette, Headers, Interaction, Provenance, RecordedResponse};
    use serde_json::json;

    fn request(token: &str) -> RecordedRequest {
        let mut headers = Headers::default();
        headers.append("x-amz-target", "Svc.CreateThing".into());
        RecordedRequest {
            method: "POST".into(),
            uri: "/".into(),
            headers,
            body: Body::Json(json!({"clientToken": token, "name": "a"})),
        }
    }

    fn matcher(tokens: &[&str], repeats: Repeats) -> Matcher {
        let interactions = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| Interaction {
                elapsed_ms: i as u64,
                note: None,
                request: request(t),
                response: RecordedResponse {
                    status: 200,
                    headers: Headers::default(),
                    body: Body::Json(json!({"n": i})),
                },
            })
            .collect();
        let cassette = Cassette {
            name: "t".into(),
            provenance: Provenance::recorded("e", "s", "r", "t".into()),
            interactions,
        };
        let options = MatchOptions {
            tokens: vec![TokenPath::parse("clientToken").unwrap()],
            repeats,
        };
        Matcher::new(
            vec![LoadedCassette {
                path: "t.json".into(),
                cassette,
            }],
            options,
        )
    }

    fn answer(m: &mut Matcher, token: &str) -> Result<Value, String> {
        let live = request(token).to_exchange().unwrap();
        m.answer(&live)
            .map(|(_, r)| serde_json::from_slice(&r.body).unwrap())
            .map_err(|miss| miss.reason)
    }

    #[test]
    fn retries_follow_their_binding_and_new_tokens_take_unbound_calls() {
        let mut m = matcher(&["r1", "r1", "r2"], Repeats::Strict);
        assert_eq!(answer(&mut m, "a").unwrap(), json!({"n": 0}));
        assert_eq!(answer(&mut m, "a").unwrap(), json!({"n": 1}));
        assert!(answer(&mut m, "a").unwrap_err().contains("already used"));
        assert_eq!(answer(&mut m, "b").unwrap(), json!({"n": 2}));
        assert!(
            answer(&mut m, "c").is_err(),
            "every recorded token is bound"
        );
        m.rewind();
        assert_eq!(answer(&mut m, "c").unwrap(), json!({"n": 0}));
    }
}
