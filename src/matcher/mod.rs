//! Which recorded interaction answers a live request.
//!
//! Requests are compared the way AWS services read them, never byte for byte:
//! - awsJson (an `X-Amz-Target` header): the operation plus the JSON body
//!   compared as JSON (key order and white space do not matter);
//! - restJson and others: method, path, query (as a set of pairs, without a
//!   presigned URL's signature), the headers that change the answer (the
//!   header-bound members the service model compares, see
//!   `services::HeaderUse`: `Range`, conditions, copy source and range,
//!   checksum mode, not SDK-computed checksums or content types) and the
//!   body as JSON, as form pairs (the query protocol), or as bytes.
//!
//! Signing and transport headers never take part. Idempotency tokens are left
//! out of the comparison and matched by binding instead (see `tokens`), and
//! so are the generated values the client chose, such as resource names made
//! with `uuid4()` (see `bind`); answers then carry the live values (see
//! `substitute`).
//!
//! Interactions are indexed by a 128-bit hash of that comparison key (two
//! independently seeded hashes, so an accidental or crafted collision is out
//! of reach and a hit needs no second comparison), so finding a candidate
//! costs the same for a cassette of ten or of a hundred thousand. A long
//! cassette's recorded requests are keyed on several threads at load, in
//! chunks, and added to the index in their recorded order. Keying a
//! live request (parsing its body, finding its tokens) is most of the work,
//! so the views of recent small requests are remembered and a request sent
//! again byte for byte is not keyed twice. A recorded response is turned
//! into a sendable one the first time it is served, not at load: a large
//! cassette loads faster and holds one form of each answer.

mod bind;
#[cfg(test)]
mod bind_tests;
mod substitute;
mod tokens;

pub use bind::BindMode;
pub use tokens::TokenBindings;
use tokens::{TokenQuery, TokenSpot, model_token_spots};

use crate::cassette::{
    Body, HeaderValues, Interaction, LoadedCassette, MASKED, RecordedRequest, SECRET_HEADERS,
    SECRET_VALUE_HEADERS, SensitiveMembers,
};
use crate::form;
use crate::http::exchange::X_AMZ_TARGET;
use crate::http::{Request, Response};
use crate::json::{JsonDifference, TokenPath, diff, diff_paths_capped};
use crate::sigv4::QueryAuth;
use bind::{Learned, Pairs, ValueBindings};
use bytes::Bytes;
use serde_json::Value;
use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::io::Write;
use std::sync::{Arc, Mutex};

/// What to do when every recorded answer to a request has been used.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
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
    pub bind: BindMode,
}

/// The recorded call closest to a missed request: its place among the
/// candidates, the paths where the bodies differ, and its body without tokens.
type Closest = (usize, Differing, Value);

/// Where a candidate differs from a live request: the first paths (as many
/// as a miss names) and how many there are in all.
struct Differing {
    paths: Vec<String>,
    count: usize,
}

/// How many differing paths a miss keeps to name (its message names
/// [`MAX_LISTED_PATHS`]; a body too large to diff, up to this many).
const KEPT_PATHS: usize = 200;

/// A request reduced to what matching compares.
struct View {
    operation: String,
    key: Key,
    /// Operation, sorted query pairs and the body without its token members:
    /// equal for two requests exactly when they match (tokens aside).
    canonical: Vec<u8>,
    /// Where the tokens are (see [`spots_bound`]), and their values there.
    spots: Vec<TokenSpot>,
    tokens: Vec<Option<String>>,
    /// The hash of the canonical form with generated values masked (the
    /// key itself when there are none, or values are not bound).
    skeleton: Key,
    /// The generated values in the canonical form, in order.
    values: Vec<Box<str>>,
}

/// Whether binding the values the client chose was considered for a miss,
/// and what to tell the client about it.
struct Binding {
    considered: bool,
    text: String,
}

/// The hash of a request's canonical form.
type Key = u128;

/// The two independently seeded hashers that make a [`Key`].
#[derive(Clone, Default)]
struct KeyHasher(RandomState, RandomState);

impl KeyHasher {
    fn key(&self, canonical: &[u8]) -> Key {
        (u128::from(self.0.hash_one(canonical)) << 64) | u128::from(self.1.hash_one(canonical))
    }
}

/// The parts of a request that matching reads, borrowed from a live
/// [`Request`] or a [`RecordedRequest`] alike.
struct Parts<'a> {
    method: &'a str,
    uri: &'a str,
    target: Option<&'a str>,
    content_type: Option<&'a str>,
    /// The headers that change the answer (see [`answer_headers`]), sorted
    /// by name, values trimmed and joined.
    answer_headers: Vec<(&'a str, Cow<'a, str>)>,
    body: &'a Body,
    /// The body's pairs, decoded once, when it is a URL-encoded form; only
    /// when keying needs them (a request keyed before is not decoded).
    form: OnceCell<Option<Vec<(String, String)>>>,
}

impl<'a> Parts<'a> {
    fn of_recorded(request: &'a RecordedRequest) -> Self {
        let target = request.headers.get("x-amz-target");
        let headers = request
            .headers
            .iter_grouped()
            .map(|(name, values)| (name, Values::Recorded(values)));
        let content_type = request.headers.get("content-type");
        Self {
            method: &request.method,
            uri: &request.uri,
            target,
            content_type,
            answer_headers: answer_headers(&request.method, &request.uri, target, headers),
            body: &request.body,
            form: OnceCell::new(),
        }
    }

    fn of_live(request: &'a Request, body: &'a Body) -> Self {
        let method = request.method.as_str();
        let uri = request.uri.path_and_query().map_or("/", |pq| pq.as_str());
        // One pass over the few headers a request has costs less than two
        // lookups by name; the first value of each, as a lookup finds.
        let (mut target, mut content_type) = (None, None);
        for (name, value) in &request.headers {
            if *name == X_AMZ_TARGET {
                target = target.or(Some(value));
            } else if *name == http::header::CONTENT_TYPE {
                content_type = content_type.or(Some(value));
            }
        }
        let target = target.and_then(|v| v.to_str().ok());
        let content_type = content_type.and_then(|v| v.to_str().ok());
        let headers = request
            .headers
            .keys()
            .map(|name| (name.as_str(), Values::Live(request.headers.get_all(name))));
        Self {
            method,
            uri,
            target,
            content_type,
            answer_headers: answer_headers(method, uri, target, headers),
            body,
            form: OnceCell::new(),
        }
    }
}

impl Parts<'_> {
    /// The pairs of a URL-encoded form body; the content type first, since
    /// checking that a body is text reads all of it.
    fn form(&self) -> Option<&[(String, String)]> {
        self.form
            .get_or_init(|| {
                form::is_form(self.content_type)
                    .then(|| self.body.text().map(form::pairs))
                    .flatten()
            })
            .as_deref()
    }
}

/// A header's values, recorded or live.
enum Values<'a> {
    Recorded(HeaderValues<'a>),
    Live(http::header::GetAll<'a, http::HeaderValue>),
}

impl<'a> Values<'a> {
    /// The values trimmed, joined by `, ` when there are several.
    fn joined(self) -> Cow<'a, str> {
        let mut all: Vec<&'a str> = match self {
            Values::Recorded(values) => values.map(str::trim).collect(),
            Values::Live(values) => values
                .iter()
                .map(|v| v.to_str().map_or("(not text)", str::trim))
                .collect(),
        };
        match all.len() {
            1 => Cow::Borrowed(all.remove(0)),
            _ => Cow::Owned(all.join(", ")),
        }
    }
}

/// The headers of a REST request that change its answer, as the service
/// model binds them (`services::header_index`: `Range`, conditions, copy
/// source and range, checksum mode, ...), sorted by name. An awsJson call
/// (`X-Amz-Target`) has none, and a header the recorder never writes never
/// counts.
fn answer_headers<'a>(
    method: &str,
    uri: &str,
    target: Option<&str>,
    headers: impl Iterator<Item = (&'a str, Values<'a>)>,
) -> Vec<(&'a str, Cow<'a, str>)> {
    if target.is_some() {
        return Vec::new();
    }
    let index = crate::services::header_index();
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    let mut out: Vec<(&'a str, Cow<'a, str>)> = headers
        .filter(|(name, _)| {
            index.bindings(name).is_some_and(|bindings| {
                !SECRET_HEADERS.contains(name)
                    && !SECRET_VALUE_HEADERS.contains(name)
                    && bindings.compared(method, path, query)
            })
        })
        .map(|(name, values)| (name, values.joined()))
        .collect();
    out.sort();
    out
}

struct Entry {
    cassette: usize,
    index: usize,
    key: Key,
    tokens: Vec<Option<String>>,
    values: Vec<Box<str>>,
    /// Built from the recorded response when first served.
    response: Option<Response>,
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
    /// The recorded answer of the call this request retries (its tokens are
    /// bound to that call's). A forward phase answers with it rather than
    /// send an answered call upstream again.
    pub bound_answer: Option<Box<Response>>,
}

/// Reduces live requests to what matching compares. It holds no matching
/// state, so a server can key each request before it takes the lock on the
/// [`Matcher`] the keyer came from, and hold that lock only to look up.
#[derive(Clone)]
pub struct Keyer {
    /// Shared, so the copy each miss carries stays small.
    tokens: Arc<[TokenPath]>,
    bind: BindMode,
    hasher: KeyHasher,
    recent: Arc<RecentViews>,
}

/// A live request keyed by a [`Keyer`], ready for [`Matcher::answer_keyed`].
pub struct KeyedRequest<'a> {
    request: &'a Request,
    body: Body,
    view: Arc<View>,
}

impl Keyer {
    fn new(tokens: &[TokenPath], bind: BindMode) -> Self {
        Self {
            tokens: tokens.into(),
            bind,
            hasher: KeyHasher::default(),
            recent: Arc::default(),
        }
    }

    pub fn key<'a>(&self, request: &'a Request) -> KeyedRequest<'a> {
        let body = Body::new(request.body.clone());
        let parts = Parts::of_live(request, &body);
        let view = self.recent.view(&parts, || {
            view_of(&parts, &self.tokens, self.bind, &self.hasher)
        });
        KeyedRequest {
            request,
            body,
            view,
        }
    }
}

/// The views of recent live requests with small bodies: a request sent
/// again byte for byte as it was (a waiter polling, a call a suite makes in
/// every test) is keyed without parsing its body again. A view depends on
/// nothing but what [`Parts`] holds and the keyer, so the view remembered for
/// an equal request is the one keying would make.
#[derive(Default)]
struct RecentViews {
    seen: Mutex<HashedMap<u64, (Recent, Arc<View>)>>,
    hashing: WordHashing,
}

/// Makes [`WordHasher`]s from one seed, chosen at random per run.
#[derive(Clone, Debug)]
pub(crate) struct WordHashing(u64);

impl Default for WordHashing {
    fn default() -> Self {
        Self(RandomState::new().hash_one(0_u64))
    }
}

impl BuildHasher for WordHashing {
    type Hasher = WordHasher;

    fn build_hasher(&self) -> WordHasher {
        WordHasher(self.0)
    }
}

/// Hashes what a request is looked up by on every request (the id of a
/// remembered view, the generated values seen), eight bytes to a
/// multiplication: SipHash's rounds over every byte cost more than the rest
/// of the lookup. Where two inputs share a hash, the maps compare them whole,
/// so a shared hash costs only time; the seed per run keeps which inputs
/// share one from being known in advance.
pub(crate) struct WordHasher(u64);

/// The odd 64-bit constant of Fibonacci hashing (2^64 / the golden ratio).
const WORD_MIX: u64 = 0x9e37_79b9_7f4a_7c15;

impl WordHasher {
    /// Folds `word` in: the high and low halves of a full product, xored, so
    /// every bit of the word reaches every bit of the state.
    fn mix(&mut self, word: u64) {
        let product = u128::from(self.0 ^ word) * u128::from(WORD_MIX);
        self.0 = (product as u64) ^ ((product >> 64) as u64);
    }
}

impl Hasher for WordHasher {
    fn finish(&self) -> u64 {
        let product = u128::from(self.0) * u128::from(WORD_MIX ^ 0xff51_afd7_ed55_8ccd);
        (product as u64) ^ ((product >> 64) as u64)
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut eight = [0_u8; 8];
            eight.copy_from_slice(word);
            self.mix(u64::from_le_bytes(eight));
        }
        let rest = words.remainder();
        let mut last = [0_u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        // The length tells `ab` from `ab\0`.
        last[7] ^= rest.len() as u8;
        self.mix(u64::from_le_bytes(last));
    }

    fn write_u8(&mut self, n: u8) {
        self.mix(u64::from(n));
    }

    fn write_usize(&mut self, n: usize) {
        self.mix(n as u64);
    }

    fn write_u64(&mut self, n: u64) {
        self.mix(n);
    }
}

/// What [`view_of`] reads of a request, owned (see [`RecentViews`]).
struct Recent {
    method: Box<str>,
    uri: Box<str>,
    target: Option<Box<str>>,
    content_type: Option<Box<str>>,
    answer_headers: Box<[(Box<str>, Box<str>)]>,
    /// A copy, so the connection's read buffer is not held.
    body: Bytes,
}

impl Recent {
    fn of(parts: &Parts<'_>) -> Self {
        Self {
            method: parts.method.into(),
            uri: parts.uri.into(),
            target: parts.target.map(Into::into),
            content_type: parts.content_type.map(Into::into),
            answer_headers: parts
                .answer_headers
                .iter()
                .map(|(name, value)| ((*name).into(), value.as_ref().into()))
                .collect(),
            body: Bytes::copy_from_slice(parts.body.bytes()),
        }
    }

    fn is(&self, parts: &Parts<'_>) -> bool {
        *self.method == *parts.method
            && *self.uri == *parts.uri
            && self.target.as_deref() == parts.target
            && self.content_type.as_deref() == parts.content_type
            && self.answer_headers.len() == parts.answer_headers.len()
            && self
                .answer_headers
                .iter()
                .zip(&parts.answer_headers)
                .all(|((n, v), (name, value))| **n == **name && **v == **value)
            && self.body == parts.body.bytes()
    }
}

/// At most this many views are remembered; past it, the memory starts over.
const RECENT_VIEWS: usize = 256;
/// Requests with larger bodies are keyed afresh every time: parsing is then
/// no longer the cost that matters, and remembered views stay small.
const RECENT_BODY_BYTES: usize = 4096;

impl RecentViews {
    fn view(&self, parts: &Parts<'_>, make: impl FnOnce() -> View) -> Arc<View> {
        if parts.body.bytes().len() > RECENT_BODY_BYTES {
            return Arc::new(make());
        }
        let id = self.hashing.hash_one((
            parts.method,
            parts.uri,
            parts.target,
            parts.content_type,
            &parts.answer_headers,
            &parts.body.bytes()[..],
        ));
        let lock = || self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, view)) = lock().get(&id).filter(|(recent, _)| recent.is(parts)) {
            return view.clone();
        }
        let view = Arc::new(make());
        let mut recent = lock();
        if recent.len() >= RECENT_VIEWS {
            recent.clear();
        }
        recent.insert(id, (Recent::of(parts), view.clone()));
        view
    }
}

/// Keys are hashes already: a map of them hashes by their low bits.
#[derive(Default)]
struct KeyBits(u64);

impl Hasher for KeyBits {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, hash: u64) {
        self.0 = hash;
    }

    fn write_u128(&mut self, key: u128) {
        self.0 = key as u64;
    }
}

/// A map keyed by hashes (see [`KeyBits`]).
type HashedMap<K, V> = HashMap<K, V, BuildHasherDefault<KeyBits>>;
type KeyMap<V> = HashedMap<Key, V>;

/// Matching state for one replay: which interactions were used and how live
/// tokens are bound.
pub struct Matcher {
    cassettes: Vec<LoadedCassette>,
    options: MatchOptions,
    entries: Vec<Entry>,
    keyer: Keyer,
    buckets: KeyMap<Bucket>,
    by_operation: HashMap<String, Vec<usize>>,
    used: Vec<bool>,
    bindings: TokenBindings,
    /// Entries by skeleton, when values are bound.
    skeletons: KeyMap<Vec<usize>>,
    values: ValueBindings,
    /// Learned from the cassettes the first time a binding is considered.
    learned: Option<Learned>,
}

/// Cassettes this long are keyed on several threads (a shorter one is
/// keyed on one in about ten milliseconds or less).
const PARALLEL_INDEX_FROM: usize = 4_096;

/// How many interactions are keyed before they are added to the index:
/// their keyed forms (with the canonical text) are held only this many at
/// a time.
const INDEX_CHUNK: usize = 8_192;

/// `view` of every request in `chunk`, in order, on up to `threads`
/// threads: keying a request reads only the request and the options, so
/// the requests of a long cassette are keyed side by side.
fn views_of(
    chunk: &[Interaction],
    threads: usize,
    view: impl Fn(&RecordedRequest) -> View + Sync,
) -> Vec<View> {
    let view = &view;
    let keyed = |part: &[Interaction]| part.iter().map(|i| view(&i.request)).collect::<Vec<_>>();
    if threads <= 1 || chunk.len() < 2 {
        return keyed(chunk);
    }
    let per = chunk.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let (first, rest) = chunk.split_at(per.min(chunk.len()));
        let others: Vec<_> = rest
            .chunks(per)
            .map(|part| scope.spawn(move || keyed(part)))
            .collect();
        let mut views = keyed(first);
        for other in others {
            match other.join() {
                Ok(part) => views.extend(part),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        views
    })
}

#[derive(Default)]
struct Bucket {
    entries: Vec<usize>,
    /// Entries before this position are all used.
    first_unused: usize,
    last_served: Option<usize>,
}

impl Matcher {
    pub fn new(cassettes: Vec<LoadedCassette>, mut options: MatchOptions) -> Self {
        if options.bind == BindMode::None {
            options.tokens.clear();
        }
        let keyer = Keyer::new(&options.tokens, options.bind);
        let mut matcher = Self {
            cassettes: Vec::new(),
            options,
            entries: Vec::new(),
            keyer,
            buckets: KeyMap::default(),
            by_operation: HashMap::new(),
            used: Vec::new(),
            bindings: TokenBindings::default(),
            skeletons: KeyMap::default(),
            values: ValueBindings::default(),
            learned: None,
        };
        for cassette in cassettes {
            matcher.add(cassette);
        }
        matcher
    }

    /// Adds a cassette's interactions after those already loaded.
    pub fn add(&mut self, loaded: LoadedCassette) {
        let c = self.cassettes.len();
        let n = loaded.cassette.interactions.len();
        self.entries.reserve(n);
        self.used.reserve(n);
        self.buckets.reserve(n);
        let threads = if n < PARALLEL_INDEX_FROM {
            1
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
        };
        let interactions = &loaded.cassette.interactions;
        for (at, chunk) in (0..n)
            .step_by(INDEX_CHUNK)
            .zip(interactions.chunks(INDEX_CHUNK))
        {
            let views = views_of(chunk, threads, |request| {
                self.view(&Parts::of_recorded(request))
            });
            for (i, view) in (at..).zip(views) {
                self.insert(c, i, view, None);
            }
        }
        self.cassettes.push(loaded);
        self.learned = None;
    }

    /// Adds one exchange (e.g. one just recorded) as if it had been recorded
    /// and already used, its tokens bound to themselves.
    pub fn add_used(&mut self, cassette: usize, request: &RecordedRequest, response: Response) {
        let index = self
            .cassettes
            .get(cassette)
            .map_or(0, |c| c.cassette.interactions.len());
        let view = self.view(&Parts::of_recorded(request));
        let id = self.insert(cassette, index, view, Some(response));
        let key = self.entries[id].key;
        let last_served = self.buckets.get(&key).and_then(|b| b.last_served);
        self.mark_used(id);
        self.learned = None;
        // Not a served answer: a repeat of it is forwarded again (a waiter
        // polling a status sees it change); only a retry bound by its token
        // is answered with it.
        if let Some(bucket) = self.buckets.get_mut(&key) {
            bucket.last_served = last_served;
        }
        // The live call is the recorded one: its tokens are bound to themselves.
        let tokens = self.entries[id].tokens.clone();
        self.bindings.bind(&tokens, &tokens);
    }

    /// Adds the keyed request `view` of interaction `index` of `cassette`
    /// to the index; its entry's id.
    fn insert(
        &mut self,
        cassette: usize,
        index: usize,
        view: View,
        response: Option<Response>,
    ) -> usize {
        let id = self.entries.len();
        self.buckets.entry(view.key).or_default().entries.push(id);
        if !view.values.is_empty() {
            self.skeletons.entry(view.skeleton).or_default().push(id);
        }
        self.by_operation
            .entry(view.operation)
            .or_default()
            .push(id);
        self.entries.push(Entry {
            cassette,
            index,
            key: view.key,
            tokens: view.tokens,
            values: view.values,
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
        self.values.clear();
    }

    /// (used, total) interactions.
    pub fn progress(&self) -> (usize, usize) {
        (self.used.iter().filter(|u| **u).count(), self.used.len())
    }

    /// Finds the answer to `request`, marking it used and binding its tokens.
    pub fn answer(&mut self, request: &Request) -> Result<(Hit, Response), Miss> {
        let keyed = self.keyer.key(request);
        self.answer_keyed(&keyed)
    }

    /// The keyer for [`Matcher::answer_keyed`]: keys match only in the
    /// matcher it came from.
    pub fn keyer(&self) -> Keyer {
        self.keyer.clone()
    }

    /// [`Matcher::answer`] for a request keyed by this matcher's [`Keyer`].
    pub fn answer_keyed(&mut self, keyed: &KeyedRequest<'_>) -> Result<(Hit, Response), Miss> {
        self.lookup(keyed).map_err(|context| context.explain(keyed))
    }

    /// [`Matcher::answer_keyed`], except that a miss comes back unexplained:
    /// a server calls [`MissContext::explain`] after releasing its lock, so
    /// a large request that misses does not hold up the others.
    pub fn lookup(
        &mut self,
        keyed: &KeyedRequest<'_>,
    ) -> Result<(Hit, Response), Box<MissContext>> {
        let followed = self.follow(&keyed.view);
        let answer = self.lookup_view(keyed, followed);
        self.values.saw(&keyed.view.values);
        answer
    }

    /// [`Matcher::lookup`] of `followed`, the request read with the recorded
    /// values in place of the bound live ones (`None`: as sent).
    fn lookup_view(
        &mut self,
        keyed: &KeyedRequest<'_>,
        followed: Option<View>,
    ) -> Result<(Hit, Response), Box<MissContext>> {
        let view = followed.as_ref().unwrap_or(&*keyed.view);
        if let Some(id) = self.find_unused(view) {
            let tokens = self.entries[id].tokens.clone();
            self.bindings.bind(&view.tokens, &tokens);
            self.mark_used(id);
            return Ok(self.hit(id, false));
        }
        if self.options.repeats == Repeats::Last {
            if let Some(id) = self.buckets.get(&view.key).and_then(|b| b.last_served) {
                if self
                    .bindings
                    .compatible(&view.tokens, &self.entries[id].tokens)
                {
                    return Ok(self.hit(id, true));
                }
            }
        }
        if let Some((id, pairs)) = self.find_bindable(&keyed.view) {
            tracing::debug!(
                bound = ?pairs,
                interaction = self.entries[id].index,
                "bound values the client chose"
            );
            self.values.bind(pairs);
            let tokens = self.entries[id].tokens.clone();
            self.bindings.bind(&view.tokens, &tokens);
            self.mark_used(id);
            return Ok(self.hit(id, false));
        }
        let binding = self.explain_binding(&keyed.view);
        let mut context = self.miss_context(view);
        if let Some(id) = self.bound_retry(view) {
            context.bound_answer = Some(Box::new(self.hit(id, true).1));
        }
        if binding.is_some() || followed.is_some() {
            context.binding = Some(Box::new(MissBinding {
                explained: binding,
                followed,
            }));
        }
        Err(Box::new(context))
    }

    /// The view of a request carrying bound live values, read with the
    /// recorded values in their place; `None` when it carries none.
    fn follow(&self, view: &View) -> Option<View> {
        let map = self.values.to_recorded();
        if map.is_empty() || !view.values.iter().any(|v| map.contains_key(v)) {
            return None;
        }
        let canonical = ValueBindings::replace(&view.canonical, map)?;
        let operation = ValueBindings::replace(view.operation.as_bytes(), map).map_or_else(
            || view.operation.clone(),
            |o| String::from_utf8_lossy(&o).into_owned(),
        );
        Some(View {
            operation,
            key: self.keyer.hasher.key(&canonical),
            canonical,
            spots: view.spots.clone(),
            tokens: view.tokens.clone(),
            skeleton: view.skeleton,
            values: view
                .values
                .iter()
                .map(|v| map.get(v).cloned().unwrap_or_else(|| v.clone()))
                .collect(),
        })
    }

    fn binds_values(&self) -> bool {
        self.options.bind == BindMode::Auto
    }

    /// What the cassettes say about generated values, learned once.
    fn learned(&mut self) -> &Learned {
        if self.learned.is_none() {
            let mut learned = Learned::default();
            let mut answered: HashMap<usize, HashSet<Box<str>>> = HashMap::new();
            for entry in &self.entries {
                let recorded = self
                    .cassettes
                    .get(entry.cassette)
                    .and_then(|c| c.cassette.interactions.get(entry.index))
                    .map(|i| i.response.to_exchange());
                let Some(response) = entry.response.as_ref().or(recorded.as_ref()) else {
                    continue;
                };
                let mut texts: Vec<&[u8]> = vec![&response.body];
                texts.extend(response.headers.values().map(|v| v.as_bytes()));
                learned.exchange(
                    answered.entry(entry.cassette).or_default(),
                    &entry.values,
                    &texts,
                );
            }
            self.learned = Some(learned);
        }
        self.learned.get_or_insert_with(Learned::default)
    }

    /// An unused recorded request that differs from `live` (as sent) only at
    /// generated values that may be bound, and the pairs to bind.
    fn find_bindable(&mut self, live: &View) -> Option<(usize, Pairs)> {
        if !self.binds_values() || live.values.is_empty() {
            return None;
        }
        let candidates = self.skeletons.get(&live.skeleton)?.clone();
        self.learned();
        let learned = self.learned.as_ref()?;
        candidates.into_iter().find_map(|id| {
            let entry = &self.entries[id];
            if self.used[id]
                || entry.values.len() != live.values.len()
                || !self.bindings.compatible(&live.tokens, &entry.tokens)
            {
                return None;
            }
            let pairs = self
                .values
                .plan(&live.values, &entry.values, learned)
                .ok()?;
            Some((id, pairs))
        })
    }

    /// A used interaction this request retries: same key, and every token
    /// the request carries is bound to that interaction's.
    fn bound_retry(&self, view: &View) -> Option<usize> {
        if !view.tokens.iter().any(Option::is_some) {
            return None;
        }
        let bucket = self.buckets.get(&view.key)?;
        bucket.entries.iter().copied().find(|&id| {
            self.used[id] && self.bindings.bound(&view.tokens, &self.entries[id].tokens)
        })
    }

    fn hit(&mut self, id: usize, repeated: bool) -> (Hit, Response) {
        let entry = &self.entries[id];
        let hit = Hit {
            cassette: entry.cassette,
            interaction: entry.index,
            repeated,
        };
        let response = match &entry.response {
            Some(response) => response.clone(),
            None => {
                let response = self
                    .cassettes
                    .get(entry.cassette)
                    .and_then(|c| c.cassette.interactions.get(entry.index))
                    .map(|i| i.response.to_exchange())
                    .unwrap_or_else(|| Response::new(http::StatusCode::INTERNAL_SERVER_ERROR));
                self.entries[id].response = Some(response.clone());
                response
            }
        };
        if self.values.is_empty() {
            return (hit, response);
        }
        let request_body = self
            .recorded_request(id)
            .map(|r| r.body.to_bytes())
            .unwrap_or_default();
        let digests = substitute::digests(&request_body, &response.body, self.values.to_live());
        self.values.bind_derived(digests);
        match substitute::substitute(&response, self.values.to_live()) {
            Some(substituted) => (hit, substituted),
            None => (hit, response),
        }
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
            })
    }

    fn view(&self, request: &Parts<'_>) -> View {
        view_of(
            request,
            &self.options.tokens,
            self.options.bind,
            &self.keyer.hasher,
        )
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

    /// Whether a binding was considered for a request with generated
    /// values (as sent), and why it was refused; `None` when it has none.
    fn explain_binding(&mut self, sent: &View) -> Option<Binding> {
        if !self.binds_values() || sent.values.is_empty() {
            return None;
        }
        let Some(candidates) = self.skeletons.get(&sent.skeleton).cloned() else {
            return Some(Binding {
                considered: false,
                text: "no binding was considered: no recorded request differs from this one only at generated values".to_string(),
            });
        };
        self.learned();
        let learned = self.learned.as_ref()?;
        let mut refusals = Vec::new();
        for &id in &candidates {
            let entry = &self.entries[id];
            let reason = if self.used[id] {
                "it was already used".to_string()
            } else if !self.bindings.compatible(&sent.tokens, &entry.tokens) {
                "its idempotency token is bound to another live token".to_string()
            } else {
                match self.values.plan(&sent.values, &entry.values, learned) {
                    Err(refusal) => refusal.to_string(),
                    Ok(_) => continue,
                }
            };
            refusals.push(format!("{} ({reason})", self.describe(id)));
            if refusals.len() == 3 {
                break;
            }
        }
        let more = candidates.len().saturating_sub(refusals.len());
        let text = format!(
            "a binding of the values the client chose was considered and refused for {}{}",
            refusals.join("; "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        );
        Some(Binding {
            considered: true,
            text,
        })
    }

    /// What explaining a miss of `view` needs, copied out so the comparing
    /// runs after the caller's lock is released. At most
    /// [`MAX_MISS_CANDIDATES`] recorded calls are copied: those with the same
    /// key first (a used one may be what this request retries), then unused
    /// ones, then used ones.
    fn miss_context(&self, view: &View) -> MissContext {
        let Some(all) = self.by_operation.get(&view.operation) else {
            let mut known: Vec<String> = self.by_operation.keys().cloned().collect();
            known.sort();
            known.truncate(12);
            return MissContext {
                known,
                candidates: None,
                total: 0,
                keyer: self.keyer.clone(),
                binding: None,
                bound_answer: None,
            };
        };
        let same_key = self
            .buckets
            .get(&view.key)
            .map_or(&[][..], |b| b.entries.as_slice());
        let unused = all.iter().filter(|&&id| !self.used[id]);
        let used = all.iter().filter(|&&id| self.used[id]);
        let mut chosen: Vec<usize> = Vec::new();
        for &id in same_key.iter().chain(unused).chain(used) {
            if chosen.len() == MAX_MISS_CANDIDATES {
                break;
            }
            if !chosen.contains(&id) {
                chosen.push(id);
            }
        }
        let candidates = chosen
            .into_iter()
            .filter_map(|id| {
                Some(Candidate {
                    request: self.recorded_request(id)?.clone(),
                    used: self.used[id],
                    retry: self
                        .bindings
                        .compatible(&view.tokens, &self.entries[id].tokens),
                    place: self.describe(id),
                })
            })
            .collect();
        MissContext {
            known: Vec::new(),
            candidates: Some(candidates),
            total: all.len(),
            keyer: self.keyer.clone(),
            binding: None,
            bound_answer: None,
        }
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

/// When a differing member looks like an idempotency token (its name says
/// so, or both values look like UUIDs), how to bind it instead.
fn token_hint(operation: &str, recorded: &Value, live: &Value) -> String {
    let looks_like_token = |d: &JsonDifference<'_>| {
        let name = d.path.rsplit(['.', '[']).next().unwrap_or("");
        let uuid = |v: Option<&Value>| v.and_then(Value::as_str).is_some_and(is_uuid_like);
        name.to_ascii_lowercase().contains("token") || (uuid(d.left) && uuid(d.right))
    };
    let plain = |path: &str| {
        path.strip_prefix("$.").is_some_and(|rest| {
            rest.split('.').all(|m| {
                !m.is_empty()
                    && m.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            })
        })
    };
    let suggestions: Vec<String> = diff(recorded, live)
        .iter()
        .filter(|d| d.left.is_some() && d.right.is_some() && looks_like_token(d))
        .filter(|d| plain(&d.path))
        .map(|d| match operation.rsplit_once('.') {
            Some((_, op)) if !operation.contains(' ') => format!("--token-path {op}:{}", d.path),
            _ => format!("--token-path {}", d.path),
        })
        .collect();
    if suggestions.is_empty() {
        return String::new();
    }
    format!(
        "; if that is an idempotency token that changes on every run, bind it instead of comparing it: {}",
        suggestions.join(" ")
    )
}

/// `8-4-4-4-12` hex digits, the shape SDKs give generated tokens.
fn is_uuid_like(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// At most this many recorded calls are compared to explain one miss.
pub const MAX_MISS_CANDIDATES: usize = 32;
/// At most this many differing paths are named in a miss's one line.
const MAX_LISTED_PATHS: usize = 12;
/// Bodies larger than this (pretty-printed) get no text diff in the log.
const MAX_DIFF_BYTES: usize = 64 * 1024;

/// A miss, with what explaining it needs; see [`Matcher::lookup`].
pub struct MissContext {
    /// The operations the cassettes hold, when none is this one.
    known: Vec<String>,
    candidates: Option<Vec<Candidate>>,
    /// How many recorded calls of this operation there are.
    total: usize,
    keyer: Keyer,
    /// What binding the values the client chose adds (boxed: most misses
    /// have none).
    binding: Option<Box<MissBinding>>,
    /// The recorded answer of the call this request retries, if any.
    bound_answer: Option<Box<Response>>,
}

/// A miss's part in binding the values the client chose.
struct MissBinding {
    /// Whether a binding was considered, and why it was refused.
    explained: Option<Binding>,
    /// The request read with recorded values in place of bound live ones.
    followed: Option<View>,
}

/// A recorded call of the missed operation, as it stood at the miss.
struct Candidate {
    request: RecordedRequest,
    used: bool,
    /// Its tokens are compatible with the live request's bindings.
    retry: bool,
    place: String,
}

impl MissContext {
    /// Why `keyed` found no answer: linear in the sizes of the request and
    /// of the candidates copied, with a size cap on the text diff.
    pub fn explain(&self, keyed: &KeyedRequest<'_>) -> Miss {
        // A refused binding explains a generated value better than the
        // token-path hint does.
        let explained = self.binding.as_ref().and_then(|b| b.explained.as_ref());
        let considered = explained.is_some_and(|b| b.considered);
        let mut miss = self.explain_literal(keyed, !considered);
        if let Some(binding) = explained {
            miss.reason = format!("{}; {}", miss.reason, binding.text);
        }
        miss
    }

    fn explain_literal(&self, keyed: &KeyedRequest<'_>, token_hints: bool) -> Miss {
        let followed = self.binding.as_ref().and_then(|b| b.followed.as_ref());
        let view = followed.unwrap_or(&*keyed.view);
        let live = &Parts::of_live(keyed.request, &keyed.body);
        let miss = |reason: String, detail: Option<String>| Miss {
            operation: view.operation.clone(),
            reason,
            detail,
            bound_answer: self.bound_answer.clone(),
        };
        let Some(candidates) = &self.candidates else {
            let known = &self.known;
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
        let sensitive = sensitive_of(live);
        let live_body = live.body.json().map_or(Value::Null, |value| {
            let mut value = without_tokens(&value, &view.spots, sensitive);
            if let Some(followed) = followed {
                bind::follow_json(&mut value, &keyed.view.values, &followed.values);
            }
            value
        });
        let (best, used_retry) = self.closest(candidates, live, view, &live_body, sensitive);
        if let Some(id) = used_retry {
            return miss(
                format!(
                    "the matching recorded {} request ({}) was already used; run with `--repeats last` to answer it again, or POST /__vcr/rewind on the admin listener (--admin-listen) to start over",
                    view.operation, candidates[id].place
                ),
                None,
            );
        }
        let Some((id, differing, recorded_body)) = best else {
            return miss(
                format!("no recorded interaction for {}", view.operation),
                None,
            );
        };
        let place = &candidates[id].place;
        if differing.count > 0 {
            let detail = unified_diff(&recorded_body, &live_body, &differing);
            let compared = if self.total > candidates.len() {
                format!(
                    " (of the {} recorded calls, {} were compared)",
                    self.total,
                    candidates.len()
                )
            } else {
                String::new()
            };
            return miss(
                format!(
                    "no recorded {} request matches; the closest is {place}{compared}, which differs at {}{}",
                    view.operation,
                    capped_list(&differing, MAX_LISTED_PATHS),
                    if token_hints {
                        token_hint(&view.operation, &recorded_body, &live_body)
                    } else {
                        String::new()
                    }
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

    /// The candidate closest to a live request: fewest differing paths;
    /// among equals, a used call this request is a retry of, then unused
    /// ones, then the earliest. Also the used retry that matches exactly,
    /// if there is one.
    fn closest(
        &self,
        candidates: &[Candidate],
        live: &Parts<'_>,
        view: &View,
        live_body: &Value,
        sensitive: &'static SensitiveMembers,
    ) -> (Option<Closest>, Option<usize>) {
        let (tokens, bind) = (&self.keyer.tokens, self.keyer.bind);
        let mut best: Option<Closest> = None;
        let mut used_retry = None;
        for (id, candidate) in candidates.iter().enumerate() {
            let request = &candidate.request;
            let parts = Parts::of_recorded(request);
            let recorded = view_of(&parts, tokens, bind, &self.keyer.hasher);
            // A candidate calls the same operation, so its spots are where
            // the live request's are looked for.
            let recorded_body = request.body.json().map_or(Value::Null, |value| {
                without_tokens(&value, &recorded.spots, sensitive)
            });
            let (mut paths, mut count) = diff_paths_capped(&recorded_body, live_body, KEPT_PATHS);
            if count == 0 && recorded.canonical != view.canonical {
                let differing = differing_headers(&parts.answer_headers, &live.answer_headers);
                paths.push(if differing.is_empty() {
                    "(query or non-JSON body)".to_string()
                } else {
                    format!("(header {})", differing.join(", "))
                });
                count = 1;
            }
            if count == 0 && candidate.used && candidate.retry {
                used_retry = Some(id);
            }
            let better = match &best {
                None => true,
                Some((b, bp, _)) => (count, candidate.used) < (bp.count, candidates[*b].used),
            };
            if better {
                best = Some((id, Differing { paths, count }, recorded_body));
            }
        }
        (best, used_retry)
    }
}

/// The names of the headers that change the answer and differ between two
/// requests (present in one only, or with other values).
fn differing_headers(a: &[(&str, Cow<'_, str>)], b: &[(&str, Cow<'_, str>)]) -> Vec<String> {
    let mut names: Vec<&str> = a
        .iter()
        .filter(|pair| !b.contains(pair))
        .chain(b.iter().filter(|pair| !a.contains(pair)))
        .map(|(name, _)| *name)
        .collect();
    names.sort_unstable();
    names.dedup();
    names.into_iter().map(str::to_string).collect()
}

fn capped_list(differing: &Differing, max: usize) -> String {
    let named = &differing.paths[..differing.paths.len().min(max)];
    match differing.count.saturating_sub(named.len()) {
        0 => named.join(", "),
        more => format!("{} and {more} more", named.join(", ")),
    }
}

/// A unified diff of the two bodies, or, when either is too large for a
/// text diff to stay cheap, the differing paths.
fn unified_diff(recorded: &Value, live: &Value, differing: &Differing) -> String {
    let a = serde_json::to_string_pretty(recorded).unwrap_or_default();
    let b = serde_json::to_string_pretty(live).unwrap_or_default();
    if a.len() > MAX_DIFF_BYTES || b.len() > MAX_DIFF_BYTES {
        return format!(
            "the bodies are too large to show as a diff ({} and {} bytes); they differ at {}",
            a.len(),
            b.len(),
            capped_list(differing, KEPT_PATHS)
        );
    }
    similar::TextDiff::from_lines(&a, &b)
        .unified_diff()
        .header("recorded", "live")
        .to_string()
}

/// The operation a request calls: its `X-Amz-Target`, else method and path
/// (and the query protocol's `Action`).
pub fn operation_label(request: &RecordedRequest) -> String {
    label_of(&Parts::of_recorded(request))
}

fn label_of(request: &Parts<'_>) -> String {
    if let Some(target) = request.target {
        return target.to_string();
    }
    let path = request.uri.split('?').next().unwrap_or("/");
    // `/bucket/` and `/bucket` are one S3 bucket (the JS SDK v3 sends the
    // first, boto3 the second); deeper, a trailing slash is part of a key.
    let path = match path.strip_suffix('/') {
        Some(one) if one.len() > 1 && !one[1..].contains('/') => one,
        _ => path,
    };
    match form_action(request) {
        Some(action) => format!("{} {path} Action={action}", request.method),
        None => format!("{} {path}", request.method),
    }
}

fn form_action<'a>(request: &'a Parts<'_>) -> Option<&'a str> {
    form_pair(request, "Action")
}

/// The value of the form body's pair `key`.
fn form_pair<'a>(request: &'a Parts<'_>, key: &str) -> Option<&'a str> {
    request
        .form()?
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// The token spots matching binds (none with `--bind none`).
fn spots_bound(
    request: &Parts<'_>,
    operation: &str,
    token_paths: &[TokenPath],
    bind: BindMode,
) -> Vec<TokenSpot> {
    match bind {
        BindMode::None => Vec::new(),
        BindMode::Auto | BindMode::Tokens => token_spots(request, operation, token_paths),
    }
}

/// Where the tokens of a request are: the paths the user named that apply
/// to its operation, then those the service facts table knows.
fn token_spots(request: &Parts<'_>, operation: &str, token_paths: &[TokenPath]) -> Vec<TokenSpot> {
    let mut spots: Vec<TokenSpot> = token_paths
        .iter()
        .filter(|p| p.applies_to(operation))
        .map(|p| TokenSpot::Json(p.members.clone()))
        .collect();
    let (path, query) = request.uri.split_once('?').unwrap_or((request.uri, ""));
    let action = form_pair(request, "Action").zip(form_pair(request, "Version"));
    let known = model_token_spots(&TokenQuery {
        method: request.method,
        path,
        query,
        target: request.target,
        action,
    });
    for spot in known {
        if !spots.contains(&spot) {
            spots.push(spot);
        }
    }
    spots
}

/// The sensitive input members of the operation a request calls: the
/// recorded request holds placeholders there, the live one the secrets.
fn sensitive_of(request: &Parts<'_>) -> &'static SensitiveMembers {
    let (path, query) = request.uri.split_once('?').unwrap_or((request.uri, ""));
    let body: &[u8] = if form::is_form(request.content_type) {
        request.body.bytes()
    } else {
        &[]
    };
    SensitiveMembers::of(
        None,
        crate::services::RequestLine {
            method: request.method,
            path,
            query,
            target: request.target,
            body,
            headers: None,
        },
    )
}

/// A JSON body as matching compares it: without its token members, and with
/// sensitive members masked.
fn without_tokens(value: &Value, spots: &[TokenSpot], sensitive: &SensitiveMembers) -> Value {
    let mut value = value.clone();
    for spot in spots {
        if let TokenSpot::Json(members) = spot {
            take_member(&mut value, members);
        }
    }
    sensitive.mask_json(&mut value);
    value
}

/// Removes the pair named `key` (the query protocol's `ClientToken` is
/// `clientToken` in the EC2 model), returning its value.
fn take_pair(pairs: &mut Vec<(String, String)>, key: &str) -> Option<String> {
    let at = pairs
        .iter()
        .position(|(k, _)| k.eq_ignore_ascii_case(key))?;
    Some(pairs.remove(at).1)
}

fn view_of(
    request: &Parts<'_>,
    token_paths: &[TokenPath],
    bind: BindMode,
    hasher: &KeyHasher,
) -> View {
    let operation = label_of(request);
    let spots = spots_bound(request, &operation, token_paths, bind);
    let sensitive = sensitive_of(request);
    let mut tokens = vec![None; spots.len()];
    let mut canonical = Vec::with_capacity(128);
    canonical.extend_from_slice(operation.as_bytes());
    canonical.push(b'\n');
    let query = request.uri.split_once('?').map(|(_, q)| q).unwrap_or("");
    let auth = QueryAuth::of(query);
    let mut query_pairs = form::pairs(query);
    // A presigned URL's signature changes on every presign and never counts,
    // nor does `x-id`: the operation's name, which some SDKs add (the JS SDK
    // v3 to S3 calls) and others omit.
    query_pairs.retain(|(k, _)| !auth.is_signing_param(k) && k != "x-id");
    for (spot, token) in spots.iter().zip(tokens.iter_mut()) {
        if let TokenSpot::Query(name) = spot {
            *token = take_pair(&mut query_pairs, name);
        }
    }
    // A secret in the query is a placeholder in the recording, as in a form body.
    mask_pairs(&mut query_pairs, sensitive);
    query_pairs.sort();
    push_pairs(&mut canonical, &query_pairs);
    canonical.push(b'\n');
    for (name, value) in &request.answer_headers {
        let _ = writeln!(canonical, "{name}:{value}");
    }
    canonical.push(b'\n');
    match (request.body.json(), request.form()) {
        (Some(mut value), _) => {
            for (spot, token) in spots.iter().zip(tokens.iter_mut()) {
                if let TokenSpot::Json(members) = spot {
                    *token = take_member(&mut value, members);
                }
            }
            sensitive.mask_json(&mut value);
            write_json(&mut canonical, &value);
        }
        (None, Some(form)) => {
            let mut pairs = form.to_vec();
            for (spot, token) in spots.iter().zip(tokens.iter_mut()) {
                if let TokenSpot::Form(name) = spot {
                    *token = take_pair(&mut pairs, name);
                }
            }
            mask_pairs(&mut pairs, sensitive);
            pairs.sort();
            push_pairs(&mut canonical, &pairs);
        }
        (None, _) => canonical.extend_from_slice(request.body.bytes()),
    }
    let key = hasher.key(&canonical);
    let (skeleton, values) = match bind {
        BindMode::Auto => bind::skeleton(&canonical)
            .map_or((key, Vec::new()), |(masked, values)| {
                (hasher.key(&masked), values)
            }),
        BindMode::Tokens | BindMode::None => (key, Vec::new()),
    };
    View {
        operation,
        key,
        canonical,
        spots,
        tokens,
        skeleton,
        values,
    }
}

fn push_pairs(out: &mut Vec<u8>, pairs: &[(String, String)]) {
    for (k, v) in pairs {
        let _ = write!(out, "{k}={v}&");
    }
}

/// Compact JSON; serde_json sorts object keys, so key order never matters.
/// Sets the value of every pair whose key names a sensitive member to
/// [`MASKED`]: the recording holds a placeholder there.
fn mask_pairs(pairs: &mut [(String, String)], sensitive: &SensitiveMembers) {
    for (key, value) in pairs {
        if sensitive.masks_form_key(key) {
            *value = MASKED.to_string();
        }
    }
}

fn write_json(out: &mut Vec<u8>, value: &Value) {
    // Writing a `Value` into memory cannot fail.
    let _ = serde_json::to_writer(out, &Canonical(value));
}

/// A JSON value written for keying: a number with no fraction is written
/// as an integer, so `1.0` (one SDK) and `1` (another) key alike, as the
/// miss explanation already compares them. Integers beyond 2^53, which a
/// float cannot hold exactly, are written as they are.
struct Canonical<'a>(&'a Value);

impl serde::Serialize for Canonical<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
        match self.0 {
            Value::Number(n) => match n.as_f64() {
                Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < EXACT => {
                    serializer.serialize_i64(f as i64)
                }
                _ => n.serialize(serializer),
            },
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&Canonical(item))?;
                }
                seq.end()
            }
            Value::Object(members) => {
                let mut map = serializer.serialize_map(Some(members.len()))?;
                for (key, member) in members {
                    map.serialize_entry(key, &Canonical(member))?;
                }
                map.end()
            }
            other => other.serialize(serializer),
        }
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
            body: Body::from_json(&json!({"clientToken": token, "name": "a"})),
        }
    }

    fn matcher(tokens: &[&str], repeats: Repeats) -> Matcher {
        let interactions = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| Interaction {
                elapsed_ms: i as u64,
                endpoint: None,
                expect: None,
                note: None,
                request: request(t),
                response: RecordedResponse {
                    status: 200,
                    headers: Headers::default(),
                    body: Body::from_json(&json!({"n": i})),
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
            ..MatchOptions::default()
        };
        Matcher::new(
            vec![LoadedCassette {
                path: "t.json".into(),
                cassette,
            }],
            options,
        )
    }

    #[test]
    fn a_large_miss_is_explained_with_capped_paths_and_no_text_diff() {
        // 40 recorded calls, more than are compared; the live body differs
        // from each of them at 20,000 places (about 1 MB).
        let mut m = matcher(&["t"; 40], Repeats::Strict);
        let items: Vec<Value> = (0..20_000)
            .map(|i| json!({"k": i, "v": "x".repeat(30)}))
            .collect();
        let mut live = Request::new(http::Method::POST, "/").unwrap();
        live.headers
            .insert("x-amz-target", "Svc.CreateThing".parse().unwrap());
        live.body = serde_json::to_vec(&json!({"clientToken": "u", "name": "a", "items": items}))
            .unwrap()
            .into();
        assert!(live.body.len() > 900_000);
        let keyed = m.keyer().key(&live);
        let context = m.lookup(&keyed).expect_err("a miss");
        assert_eq!(
            context.candidates.as_ref().map(Vec::len),
            Some(MAX_MISS_CANDIDATES)
        );
        let miss = context.explain(&keyed);
        assert!(
            miss.reason.contains("differs at $.items"),
            "{}",
            miss.reason
        );
        assert!(
            miss.reason
                .contains("(of the 40 recorded calls, 32 were compared)"),
            "{}",
            miss.reason
        );
        let detail = miss.detail.unwrap();
        assert!(detail.contains("too large to show as a diff"), "{detail}");
        assert!(detail.len() < 20_000, "{}", detail.len());
    }

    #[test]
    fn many_differing_paths_are_named_up_to_a_cap() {
        let paths: Vec<String> = (0..30).map(|i| format!("$.a{i}")).collect();
        let differing = |paths: &[String], count| Differing {
            paths: paths.to_vec(),
            count,
        };
        assert_eq!(
            capped_list(&differing(&paths, 30), 12),
            format!("{} and 18 more", paths[..12].join(", "))
        );
        assert_eq!(capped_list(&differing(&paths[..2], 2), 12), "$.a0, $.a1");
        // Only the first paths are kept; the count says how many more.
        assert_eq!(
            capped_list(&differing(&paths[..12], 1_000_000), 12),
            format!("{} and 999988 more", paths[..12].join(", "))
        );
    }

    fn answer(m: &mut Matcher, token: &str) -> Result<Value, String> {
        let live = request(token).to_exchange().unwrap();
        m.answer(&live)
            .map(|(_, r)| serde_json::from_slice(&r.body).unwrap())
            .map_err(|miss| miss.reason)
    }

    fn exchange(target: &str, body: Value) -> RecordedRequest {
        let mut headers = Headers::default();
        headers.append("x-amz-target", target.into());
        headers.append("content-type", "application/x-amz-json-1.0".into());
        RecordedRequest {
            method: "POST".into(),
            uri: "/".into(),
            headers,
            body: Body::from_json(&body),
        }
    }

    fn replay_of(requests: Vec<RecordedRequest>) -> Matcher {
        replay_binding(requests, BindMode::default())
    }

    fn replay_binding(requests: Vec<RecordedRequest>, bind: BindMode) -> Matcher {
        let interactions = requests
            .into_iter()
            .enumerate()
            .map(|(i, request)| Interaction {
                elapsed_ms: i as u64,
                endpoint: None,
                expect: None,
                note: None,
                request,
                response: RecordedResponse {
                    status: 200,
                    headers: Headers::default(),
                    body: Body::from_json(&json!({"n": i})),
                },
            })
            .collect();
        let cassette = Cassette {
            name: "t".into(),
            provenance: Provenance::recorded("e", "s", "r", "t".into()),
            interactions,
        };
        Matcher::new(
            vec![LoadedCassette {
                path: "t.json".into(),
                cassette,
            }],
            MatchOptions {
                bind,
                ..MatchOptions::default()
            },
        )
    }

    #[test]
    fn a_cassette_keyed_on_several_threads_answers_each_request_with_its_own_interaction() {
        // Longer than one keying chunk and past the threshold for keying on
        // several threads; every fifth request is the one before it again,
        // so repeats must keep their recorded order too.
        let n = INDEX_CHUNK * 2 + 1_000;
        assert!(n >= PARALLEL_INDEX_FROM);
        let get = |i: usize| {
            exchange(
                "Svc.GetThing",
                json!({"name": format!("thing-{}", i - i % 5 / 4)}),
            )
        };
        let mut m = replay_of((0..n).map(get).collect());
        for i in 0..n {
            let (hit, response) = m.answer(&get(i).to_exchange().unwrap()).expect("a hit");
            assert_eq!(hit.interaction, i, "request {i}");
            let body: Value = serde_json::from_slice(&response.body).unwrap();
            assert_eq!(body, json!({"n": i}));
        }
    }

    #[test]
    fn keying_on_any_number_of_threads_keeps_the_recorded_order() {
        // Whatever the machine's cores, every split of a chunk, uneven ones
        // included, gives the views of one thread, in the same order.
        let requests: Vec<_> = (0..23)
            .map(|i| exchange("Svc.GetThing", json!({"name": format!("thing-{i}")})))
            .collect();
        let m = replay_of(requests);
        let interactions = &m.cassettes[0].cassette.interactions;
        let canonical = |threads| -> Vec<Vec<u8>> {
            views_of(interactions, threads, |r| m.view(&Parts::of_recorded(r)))
                .into_iter()
                .map(|view| view.canonical)
                .collect()
        };
        let one = canonical(1);
        assert_eq!(one.len(), interactions.len());
        for threads in 2..=8 {
            assert_eq!(canonical(threads), one, "{threads} threads");
        }
    }

    #[test]
    fn tokens_the_service_facts_know_bind_without_token_paths() {
        let put = |token: &str| {
            exchange(
                "DynamoDB_20120810.TransactWriteItems",
                json!({"ClientRequestToken": token, "TransactItems": []}),
            )
        };
        let mut m = replay_of(vec![put("rec-1"), put("rec-2")]);
        let answer = |m: &mut Matcher, r: RecordedRequest| {
            m.answer(&r.to_exchange().unwrap())
                .map(|(hit, _)| hit.interaction)
                .map_err(|miss| miss.reason)
        };
        assert_eq!(answer(&mut m, put("live-1")), Ok(0));
        assert_eq!(answer(&mut m, put("live-2")), Ok(1));
        // A member that is no token still has to match.
        let other = exchange(
            "DynamoDB_20120810.TransactWriteItems",
            json!({"ClientRequestToken": "live-3", "TransactItems": [1]}),
        );
        assert!(answer(&mut m, other).is_err());
    }

    #[test]
    fn a_miss_on_a_token_looking_member_names_token_path() {
        let call = |id: &str| exchange("Svc_2020.DoThing", json!({"RequestId": id, "name": "a"}));
        // A generated value the client chose binds by default; with tokens
        // only, the miss suggests a token path.
        let recorded = || vec![call("0f8fad5b-d9cb-469f-a165-70867728950e")];
        let live = call("7c9e6679-7425-40de-944b-e07fc1f90ae7");
        let mut m = replay_of(recorded());
        assert!(m.answer(&live.to_exchange().unwrap()).is_ok());
        let mut m = replay_binding(recorded(), BindMode::Tokens);
        let miss = m
            .answer(
                &call("7c9e6679-7425-40de-944b-e07fc1f90ae7")
                    .to_exchange()
                    .unwrap(),
            )
            .unwrap_err();
        assert!(
            miss.reason.contains("--token-path DoThing:$.RequestId"),
            "{}",
            miss.reason
        );
        let named = |t: &str| exchange("Svc_2020.DoThing", json!({"pageToken": t}));
        let mut m = replay_of(vec![named("a")]);
        let miss = m.answer(&named("b").to_exchange().unwrap()).unwrap_err();
        assert!(
            miss.reason.contains("--token-path DoThing:$.pageToken"),
            "{}",
            miss.reason
        );
        // A plain difference gets no such advice.
        let plain = |n: &str| exchange("Svc_2020.DoThing", json!({"name": n}));
        let mut m = replay_of(vec![plain("a")]);
        let miss = m.answer(&plain("b").to_exchange().unwrap()).unwrap_err();
        assert!(!miss.reason.contains("--token-path"), "{}", miss.reason);
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

    #[test]
    fn a_request_sent_again_reuses_its_view_and_any_other_is_keyed_afresh() {
        let m = matcher(&["r1"], Repeats::Last);
        let keyer = m.keyer();
        let live = request("a").to_exchange().unwrap();
        let first = keyer.key(&live).view;
        let again = keyer.key(&live.clone()).view;
        assert!(Arc::ptr_eq(&first, &again), "the same bytes: the same view");
        // Equal as JSON, other bytes: keyed afresh, to the same key.
        let mut spaced = live.clone();
        spaced.body = Bytes::from(r#"{ "name": "a", "clientToken": "a" }"#);
        let spaced = keyer.key(&spaced).view;
        assert!(!Arc::ptr_eq(&first, &spaced));
        assert_eq!((spaced.key, &spaced.tokens), (first.key, &first.tokens));
        // Any part keying reads tells two requests apart.
        let mut other_target = live.clone();
        other_target
            .headers
            .insert("x-amz-target", "Svc.DeleteThing".parse().unwrap());
        let mut other_type = live.clone();
        other_type.headers.insert(
            "content-type",
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        let mut other_uri = live.clone();
        other_uri.uri = "/?x=1".parse().unwrap();
        for (other, same_key) in [
            (other_target, false),
            (other_type, true),
            (other_uri, false),
        ] {
            let view = keyer.key(&other).view;
            assert!(!Arc::ptr_eq(&first, &view));
            // A JSON body is read as JSON whatever its content type says.
            assert_eq!(view.key == first.key, same_key);
        }
        // Large bodies are never remembered, and the memory stays bounded.
        let mut large = live.clone();
        large.body = Bytes::from(format!(r#"{{"name":"{}"}}"#, "x".repeat(RECENT_BODY_BYTES)));
        assert!(!Arc::ptr_eq(
            &keyer.key(&large).view,
            &keyer.key(&large).view
        ));
        for i in 0..RECENT_VIEWS * 2 {
            keyer.key(&request(&i.to_string()).to_exchange().unwrap());
        }
        let remembered = keyer.recent.seen.lock().unwrap().len();
        assert!((1..=RECENT_VIEWS).contains(&remembered), "{remembered}");
    }
}

#[cfg(test)]
mod header_tests {
    use super::*;
    use crate::cassette::{Cassette, Headers, Interaction, Provenance, RecordedResponse};

    fn get(range: &str) -> RecordedRequest {
        let mut headers = Headers::default();
        headers.append("range", range.into());
        headers.append("if-none-match", "\"abc\"".into());
        RecordedRequest {
            method: "GET".into(),
            uri: "/bucket/key".into(),
            headers,
            body: Body::from_bytes(b""),
        }
    }

    #[test]
    fn ranged_gets_of_one_object_get_their_own_bytes() {
        let interactions = ["bytes=0-4", "bytes=5-9"]
            .iter()
            .map(|range| Interaction {
                elapsed_ms: 0,
                endpoint: None,
                expect: None,
                note: None,
                request: get(range),
                response: RecordedResponse {
                    status: 206,
                    headers: Headers::default(),
                    body: Body::from_bytes(range.as_bytes()),
                },
            })
            .collect();
        let cassette = Cassette {
            name: "ranges".into(),
            provenance: Provenance::recorded("e", "s3", "r", "t".into()),
            interactions,
        };
        let mut m = Matcher::new(
            vec![LoadedCassette {
                path: "ranges.json".into(),
                cassette,
            }],
            MatchOptions::default(),
        );
        for range in ["bytes=5-9", "bytes=0-4"] {
            let live = get(range).to_exchange().unwrap();
            let (_, response) = m.answer(&live).unwrap();
            assert_eq!(&response.body[..], range.as_bytes());
        }
        let miss = m
            .answer(&get("bytes=10-14").to_exchange().unwrap())
            .unwrap_err();
        assert!(miss.reason.contains("(header range)"), "{}", miss.reason);
    }

    fn request(method: &str, uri: &str, headers: &[(&str, &str)]) -> RecordedRequest {
        let mut all = Headers::default();
        for (name, value) in headers {
            all.append(name, value.to_string());
        }
        RecordedRequest {
            method: method.into(),
            uri: uri.into(),
            headers: all,
            body: Body::from_bytes(b"data"),
        }
    }

    fn key(request: &RecordedRequest) -> Vec<u8> {
        let parts = Parts::of_recorded(request);
        view_of(&parts, &[], BindMode::Auto, &KeyHasher::default()).canonical
    }

    #[test]
    fn numbers_key_by_value_whichever_sdk_spelled_them() {
        let body = |text: &str| {
            let mut r = request("POST", "/", &[("x-amz-target", "Svc.List")]);
            r.body = Body::from_bytes(text.as_bytes());
            r.headers
                .append("content-type", "application/x-amz-json-1.0".into());
            r
        };
        assert_eq!(key(&body(r#"{"Limit":1}"#)), key(&body(r#"{"Limit":1.0}"#)));
        assert_eq!(
            key(&body(r#"{"N":[-0.0,2e3]}"#)),
            key(&body(r#"{"N":[0,2000]}"#))
        );
        assert_ne!(key(&body(r#"{"Limit":1}"#)), key(&body(r#"{"Limit":1.5}"#)));
        // Beyond 2^53 a float is not exact: kept apart.
        assert_ne!(
            key(&body(r#"{"Id":9007199254740993}"#)),
            key(&body(r#"{"Id":9007199254740993.0}"#))
        );
    }

    #[test]
    fn a_secret_the_recording_replaced_in_the_query_does_not_count() {
        let live = request(
            "GET",
            "/?Action=CreateLoginProfile&UserName=bob&Password=IamPassw0rd-Secret&Version=2010-05-08",
            &[],
        );
        let recorded = request(
            "GET",
            "/?Action=CreateLoginProfile&UserName=bob&Password=REDACTED-Password-0a1b-1&Version=2010-05-08",
            &[],
        );
        assert_eq!(key(&live), key(&recorded));
        let other_user = request(
            "GET",
            "/?Action=CreateLoginProfile&UserName=eve&Password=IamPassw0rd-Secret&Version=2010-05-08",
            &[],
        );
        assert_ne!(key(&live), key(&other_user));
    }

    #[test]
    fn what_one_sdk_adds_to_a_call_does_not_count() {
        let boto = request("PUT", "/b/k", &[("x-amz-meta-purpose", "x")]);
        let js = request(
            "PUT",
            "/b/k?x-id=PutObject",
            &[
                ("x-amz-meta-purpose", "x"),
                ("x-amz-sdk-checksum-algorithm", "CRC32"),
                ("x-amz-checksum-crc32", "Y4wNKQ=="),
                ("content-type", "application/octet-stream"),
                ("content-md5", "abc"),
                ("amz-sdk-invocation-id", "1"),
                ("x-amzn-trace-id", "Root=1"),
            ],
        );
        assert_eq!(key(&boto), key(&js));
        assert_eq!(
            key(&request("PUT", "/b/", &[])),
            key(&request("PUT", "/b", &[]))
        );
        // What the caller asked for counts.
        let other_metadata = request("PUT", "/b/k", &[("x-amz-meta-purpose", "y")]);
        assert_ne!(key(&boto), key(&other_metadata));
        let copy = |range: &str| {
            request(
                "PUT",
                "/b/k?partNumber=1&uploadId=u",
                &[
                    ("x-amz-copy-source", "b/src"),
                    ("x-amz-copy-source-range", range),
                ],
            )
        };
        assert_ne!(key(&copy("bytes=0-9")), key(&copy("bytes=10-19")));
        let get = |mode: Option<&str>| {
            let headers: Vec<(&str, &str)> = mode
                .map(|m| ("x-amz-checksum-mode", m))
                .into_iter()
                .collect();
            request("GET", "/b/k", &headers)
        };
        assert_ne!(key(&get(None)), key(&get(Some("ENABLED"))));
        // A trailing slash deeper than the bucket is part of the key.
        assert_ne!(
            key(&request("GET", "/b/dir/", &[])),
            key(&request("GET", "/b/dir", &[]))
        );
    }
}
