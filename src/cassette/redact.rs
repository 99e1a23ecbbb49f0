//! What never reaches a cassette, and what is rewritten on the way.
//!
//! Secrets: no header that carries one (Authorization, X-Amz-Security-Token,
//! Cookie, ...) and no occurrence, anywhere in the bytes, of the credentials
//! in use. The check runs on every interaction's raw parts and again on the
//! serialised bytes of the whole file, before every write; a hit refuses the
//! write. It looks through encodings a secret could hide in: percent- and
//! form-encoding, JSON escapes, base64 (standard and URL-safe) and gzip,
//! nested up to three deep. The credentials themselves are known only to
//! `sigv4`, which answers through [`SecretScan`], and says which bytes its
//! secrets hold: text is decoded only when an escape in it stands for such a
//! byte or one another decoding reads (a JSON `\n` or a `%20` is left as it
//! is), and bytes are searched only where they hold a stretch of such bytes
//! as long as the shortest secret.
//!
//! Secrets the service hands out: [`redact_secrets`] drops headers that
//! carry one (SSE-C keys, `x-api-key`) and replaces sensitive members with
//! stable placeholders (see `sensitive`) before the leak checks run.
//!
//! Account ids: `--redact-account-id` replaces every real account id with
//! one value. Real ids are learned from the text of the cassette itself (the
//! account field of ARNs, and members named like `accountId` or
//! `<Account>`), plus any the credentials name, and replaced everywhere,
//! ARNs included, whenever the file is written, so an id learned late is
//! also removed from interactions recorded earlier. Base64 bodies are not
//! rewritten.

use super::model::{Body, Headers, Interaction};
pub use super::sensitive::Placeholders;
use super::sensitive::{self, SensitiveMembers, Side};
use regex::bytes::Regex;
use std::collections::BTreeSet;
use std::fmt;
use std::sync::LazyLock;

/// Finds the secrets in use in some bytes. Implemented by the signer, the
/// only holder of credentials.
pub trait SecretScan: Send + Sync {
    /// What secret `bytes` holds (e.g. "the secret access key in use"), never
    /// the secret itself.
    fn find_secret(&self, bytes: &[u8]) -> Option<&'static str>;

    /// The length of the shortest secret [`SecretScan::find_secret`] finds
    /// (0 when not known): shorter bytes cannot hold one.
    fn shortest_secret(&self) -> usize {
        0
    }

    /// Every byte value that occurs in some form of a secret that
    /// [`SecretScan::find_secret`] finds (all of them when not known): an
    /// escape that decodes to none of these (nor to a byte another decoding
    /// reads) cannot be part of a secret, so text whose escapes are all such
    /// is not decoded.
    fn secret_bytes(&self) -> ByteSet {
        ByteSet::ALL
    }
}

/// A set of byte values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteSet([u64; 4]);

impl Default for ByteSet {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl ByteSet {
    pub const EMPTY: Self = Self([0; 4]);
    pub const ALL: Self = Self([u64::MAX; 4]);

    /// The bytes `bytes` holds.
    pub const fn of(bytes: &[u8]) -> Self {
        let mut set = Self::EMPTY;
        let mut i = 0;
        while i < bytes.len() {
            set = set.with(bytes[i]);
            i += 1;
        }
        set
    }

    #[must_use]
    pub const fn with(mut self, byte: u8) -> Self {
        self.0[(byte >> 6) as usize] |= 1 << (byte & 63);
        self
    }

    #[must_use]
    pub const fn union(mut self, other: Self) -> Self {
        let mut i = 0;
        while i < 4 {
            self.0[i] |= other.0[i];
            i += 1;
        }
        self
    }

    pub const fn contains(&self, byte: u8) -> bool {
        self.0[(byte >> 6) as usize] & (1 << (byte & 63)) != 0
    }
}

/// Headers that carry credentials or session state: never in a cassette.
pub const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "x-amz-security-token",
    "cookie",
    "set-cookie",
];

/// Request and response headers whose value is a secret or derived from
/// one: dropped from every recording (the upstream still gets them).
pub const SECRET_VALUE_HEADERS: &[&str] = &[
    "x-amz-server-side-encryption-customer-key",
    "x-amz-server-side-encryption-customer-key-md5",
    "x-amz-copy-source-server-side-encryption-customer-key",
    "x-amz-copy-source-server-side-encryption-customer-key-md5",
    "x-api-key",
    // IAM Identity Center's access token (SSO GetRoleCredentials and the
    // other portal calls carry it here).
    "x-amz-sso_bearer_token",
];

/// Drops secret-bearing headers and replaces sensitive members of both
/// bodies with placeholders; returns how many values were replaced.
/// `signing_name` is the service in the request's SigV4 scope, which picks
/// the operation's sensitive members out of the service facts.
pub fn redact_secrets(
    interaction: &mut Interaction,
    signing_name: Option<&str>,
    placeholders: &mut Placeholders,
) -> usize {
    let request = &mut interaction.request;
    let body = request.body.to_bytes();
    let (path, query) = request
        .uri
        .split_once('?')
        .unwrap_or((request.uri.as_str(), ""));
    let members = SensitiveMembers::of(
        signing_name,
        crate::services::RequestLine {
            method: &request.method,
            path,
            query,
            target: request.headers.get("x-amz-target"),
            body: &body,
            headers: None,
        },
    );
    for headers in [&mut request.headers, &mut interaction.response.headers] {
        drop_secret_headers(headers, &members.headers);
    }
    let mut count = 0;
    if let Some((path, query)) = interaction.request.uri.split_once('?') {
        let mut query = query.as_bytes().to_vec();
        let replaced = super::sensitive::redact_query(&mut query, members, placeholders);
        if replaced > 0 {
            // Placeholders are written percent-encoded: the query stays text.
            interaction.request.uri = format!("{path}?{}", String::from_utf8_lossy(&query));
            count += replaced;
        }
    }
    count += redact_recorded_body(
        &mut interaction.request.body,
        interaction.request.headers.get("content-type"),
        members,
        Side::Request,
        placeholders,
    );
    count += redact_recorded_body(
        &mut interaction.response.body,
        interaction.response.headers.get("content-type"),
        members,
        Side::Response,
        placeholders,
    );
    count
}

/// A secret that [`redact_cassette`] replaces or drops.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unredacted {
    pub interaction: usize,
    /// "a `x-api-key` header in the request", "a secret member in the response body".
    pub what: String,
    /// The first characters of the original value's text, to find it by.
    pub start_of_value: Option<String>,
}

/// Replaces what [`redact_secrets`] would have replaced in every
/// interaction of a cassette written without it, and drops signing headers;
/// returns what was changed, in order.
pub fn redact_cassette(cassette: &mut super::Cassette) -> Vec<Unredacted> {
    let mut placeholders = Placeholders::default();
    let signing_name = cassette.provenance.service.clone();
    let mut found = Vec::new();
    for (i, interaction) in cassette.interactions.iter_mut().enumerate() {
        for (side, headers) in [
            ("request", &mut interaction.request.headers),
            ("response", &mut interaction.response.headers),
        ] {
            let names: Vec<String> = headers
                .iter_grouped()
                .map(|(n, _)| n)
                .filter(|n| SECRET_HEADERS.contains(n) || SECRET_VALUE_HEADERS.contains(n))
                .map(str::to_string)
                .collect();
            for name in names {
                found.push(Unredacted {
                    interaction: i,
                    what: format!("a `{name}` header in the {side}"),
                    start_of_value: None,
                });
                headers.remove(&name);
            }
        }
        let before = interaction.clone();
        if redact_secrets(interaction, signing_name.as_deref(), &mut placeholders) > 0 {
            for (side, old, new) in [
                ("request", &before.request.body, &interaction.request.body),
                (
                    "response",
                    &before.response.body,
                    &interaction.response.body,
                ),
            ] {
                let (old, new) = (
                    String::from_utf8_lossy(old.bytes()),
                    String::from_utf8_lossy(new.bytes()),
                );
                if old == new {
                    continue;
                }
                let at = old
                    .bytes()
                    .zip(new.bytes())
                    .position(|(a, b)| a != b)
                    .unwrap_or(0);
                found.push(Unredacted {
                    interaction: i,
                    what: format!("a secret member in the {side} body"),
                    start_of_value: old.get(at..).map(|v| v.chars().take(12).collect()),
                });
            }
        }
    }
    found
}

fn drop_secret_headers(headers: &mut Headers, sensitive: &[String]) {
    let names: Vec<String> = headers
        .iter_grouped()
        .map(|(name, _)| name)
        .filter(|name| SECRET_VALUE_HEADERS.contains(name) || sensitive.iter().any(|s| s == name))
        .map(str::to_string)
        .collect();
    for name in names {
        headers.remove(&name);
    }
}

fn redact_recorded_body(
    body: &mut Body,
    content_type: Option<&str>,
    members: &SensitiveMembers,
    side: Side,
    placeholders: &mut Placeholders,
) -> usize {
    if body.is_empty() {
        return 0;
    }
    let mut bytes = body.bytes().to_vec();
    let count = sensitive::redact_body(&mut bytes, content_type, members, side, placeholders);
    if count > 0 {
        *body = Body::new(bytes);
    }
    count
}

/// A secret found where it must not be written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leak {
    /// What was found: "the session token in use", "an Authorization header".
    pub what: String,
    /// Where: "the response body", "the cassette".
    pub place: String,
}

impl fmt::Display for Leak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} in {}", self.what, self.place)
    }
}

/// Checks one interaction's headers and the raw bytes of its URI, header
/// values and bodies (before any encoding hides them).
pub fn check_interaction(interaction: &Interaction, scan: &dyn SecretScan) -> Result<(), Leak> {
    let mut search = Search::new(scan);
    let parts = [
        (
            "request",
            &interaction.request.headers,
            &interaction.request.body,
        ),
        (
            "response",
            &interaction.response.headers,
            &interaction.response.body,
        ),
    ];
    for (side, headers, body) in parts {
        for (name, values) in headers.iter_grouped() {
            if SECRET_HEADERS.contains(&name) {
                return Err(Leak {
                    what: format!("a `{name}` header"),
                    place: format!("the {side}"),
                });
            }
            let found = search.find(name.as_bytes()).or_else(|| {
                values
                    .into_iter()
                    .find_map(|value| search.find(value.as_bytes()))
            });
            if let Some(what) = found {
                return Err(Leak {
                    what: what.to_string(),
                    place: format!("the {side} header `{name}`"),
                });
            }
        }
        if let Some(what) = search.find(body.bytes()) {
            return Err(Leak {
                what: what.to_string(),
                place: format!("the {side} body"),
            });
        }
    }
    if let Some(what) = search.find(interaction.request.uri.as_bytes()) {
        return Err(Leak {
            what: what.to_string(),
            place: "the request URI".to_string(),
        });
    }
    Ok(())
}

/// [`SecretScan::find_secret`] on the bytes and on what they decode to:
/// a secret hidden by one or more common encodings is still found.
pub fn find_encoded(scan: &dyn SecretScan, bytes: &[u8]) -> Option<&'static str> {
    Search::new(scan).find(bytes)
}

/// How many encodings deep a secret is looked for.
const DECODE_DEPTH: usize = 3;

/// The shortest input `inflate::gunzip` decodes.
const GZIP_MIN: usize = 18;

/// The most decoded bytes one check looks at (or eight times the bytes
/// checked, when that is more), so a crafted body cannot make the check
/// itself the problem.
const DECODE_BUDGET: usize = 64 << 20;

/// The most views one decoding step makes of one view.
const VIEWS_PER_STEP: usize = 64;

/// Bytes that, made by undoing an escape, can start or extend something a
/// decoding reads: base64 (both alphabets and padding), a percent escape,
/// a JSON escape, a gzip header; and every byte outside ASCII, which
/// changes what is text.
const DECODINGS_READ: ByteSet = ByteSet::of(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_=%\\\x1f\x8b\x08",
)
.union(ByteSet([0, 0, u64::MAX, u64::MAX]));

/// One secret check: the views of some bytes, searched depth first.
///
/// Views are the bytes themselves and what they decode to: percent- and
/// form-decoded and JSON-unescaped text, each run of base64, each gzip
/// stream, and so on to [`DECODE_DEPTH`]. Undoing the escapes of text
/// changes only the bytes the escapes make; when none of those is a byte a
/// secret holds or a decoding reads (a JSON `\n`, a `%20`), the decoded
/// text holds nothing the text itself does not show, except base64 runs
/// that start just after an escape: those are read from the text with the
/// escape's tail cut off, and the decoded copy is not made.
struct Search<'a> {
    scan: &'a dyn SecretScan,
    /// Bytes an escape must make for undoing it to matter.
    telling: ByteSet,
    /// Views shorter than this neither hold a secret nor decode to one.
    too_short: usize,
    /// Views shorter than this hold no secret.
    shortest: usize,
    /// The bytes the forms of the secrets hold.
    secret_bytes: ByteSet,
    budget: usize,
}

/// Escapes of a view that were not undone because nothing they make
/// matters; base64 runs right after one are also read without its tail.
#[derive(Clone, Copy, Default)]
struct Kept {
    json: bool,
}

impl<'a> Search<'a> {
    fn new(scan: &'a dyn SecretScan) -> Self {
        let secret_bytes = scan.secret_bytes();
        Self {
            scan,
            telling: secret_bytes.union(DECODINGS_READ),
            secret_bytes,
            // No decoding makes bytes longer except gunzip, which needs 18
            // bytes: a view shorter than both that and the shortest secret
            // cannot hold one, nor can anything it decodes to.
            too_short: scan.shortest_secret().min(GZIP_MIN),
            shortest: scan.shortest_secret(),
            budget: DECODE_BUDGET,
        }
    }

    fn find(&mut self, bytes: &[u8]) -> Option<&'static str> {
        // Large bodies get room in proportion: one decoded copy of a big
        // base64 upload must not use up what its base64 decoding needs.
        self.budget = DECODE_BUDGET.max(bytes.len().saturating_mul(8));
        self.search(bytes).or_else(|| self.decode(bytes, 0))
    }

    /// [`SecretScan::find_secret`], unless `view` has no stretch of secret
    /// bytes as long as the shortest secret (decoded base64, mostly).
    fn search(&self, view: &[u8]) -> Option<&'static str> {
        long_stretches(
            view,
            self.shortest,
            |b| self.secret_bytes.contains(b),
            |_, _| Some(self.scan.find_secret(view)),
        )
        .flatten()
    }

    /// Searches a view made by decoding at `depth`, and what it decodes to.
    fn view(&mut self, view: &[u8], depth: usize) -> Option<&'static str> {
        if view.len() < self.too_short {
            return None;
        }
        if let Some(found) = self.search(view) {
            return Some(found);
        }
        // The deepest views are searched, not decoded further.
        if depth < DECODE_DEPTH {
            self.decode(view, depth)
        } else {
            None
        }
    }

    /// Whether `view`, made from `of`, is one to look at; charges the budget.
    fn keep(&mut self, view: &[u8], of: &[u8]) -> bool {
        if view.is_empty() || view == of || view.len() > self.budget {
            return false;
        }
        self.budget -= view.len();
        true
    }

    /// Searches what `bytes` (a view at `depth`) decode to.
    fn decode(&mut self, bytes: &[u8], depth: usize) -> Option<&'static str> {
        let next = depth + 1;
        let mut made = 0;
        let mut kept = Kept::default();
        // Percent-encoding and JSON escapes are text encodings: a binary body
        // (an S3 object, say) holds `%`, `+` and `\\` by chance, and copying
        // megabytes of it per layer would make every large upload slow to
        // record. Secrets in binary bodies are still looked for raw, in
        // base64 runs and in gzip streams.
        let marks = Marks::of(bytes);
        let (has_percent, has_json) = (marks.percent, marks.json);
        if (has_percent || has_json) && std::str::from_utf8(bytes).is_ok() {
            if has_percent && self.percent_tells(bytes) {
                let plain = crate::form::decode(bytes, true);
                if self.keep(&plain, bytes) {
                    made += 1;
                    if let Some(found) = self.view(&plain, next) {
                        return Some(found);
                    }
                }
            }
            if has_json {
                if self.json_tells(bytes) {
                    let plain = json_unescape(bytes);
                    if self.keep(&plain, bytes) {
                        made += 1;
                        if let Some(found) = self.view(&plain, next) {
                            return Some(found);
                        }
                    }
                } else {
                    kept.json = true;
                }
            }
        }
        // Base64 wrapped in lines (MIME at 76 characters, PEM at 64, or in a
        // JSON string with `\n` escapes) is read with its line breaks out.
        if let Some(joined) = unwrapped(bytes) {
            if self.keep(&joined, bytes) {
                made += 1;
                if let Some(found) = self.view(&joined, next) {
                    return Some(found);
                }
            }
        }
        // A run decodes to at most three bytes for four characters.
        let shortest_run = (BASE64_MIN_DECODED.max(self.too_short) * 4).div_ceil(3);
        let (mut decoded, mut earlier) = (Vec::new(), Vec::new());
        let found = base64_runs(bytes, kept, shortest_run, &mut |run| {
            if !base64_decode(run, &mut decoded, &mut earlier) {
                return None;
            }
            for view in [&decoded, &earlier] {
                if self.keep(view, run) {
                    made += 1;
                    if let Some(found) = self.view(view, next) {
                        return Some(found);
                    }
                }
            }
            None
        });
        if found.is_some() {
            return found;
        }
        let mut at = 0;
        while let Some(start) = gzip_magic(bytes, at).filter(|_| marks.gzip) {
            if made > VIEWS_PER_STEP {
                break;
            }
            if let Some(plain) = super::inflate::gunzip(&bytes[start..], self.budget.min(16 << 20))
            {
                if self.keep(&plain, bytes) {
                    made += 1;
                    if let Some(found) = self.view(&plain, next) {
                        return Some(found);
                    }
                }
            }
            at = start + 3;
        }
        None
    }

    /// Whether form-decoding `text` could show what the text does not: a
    /// `+` (a space, and a break in a base64 run), or an escape of a byte
    /// that matters.
    fn percent_tells(&self, text: &[u8]) -> bool {
        memchr::memchr(b'+', text).is_some()
            || memchr::memchr_iter(b'%', text)
                .filter_map(|at| crate::form::escape_at(text, at))
                .any(|byte| self.telling.contains(byte))
    }

    /// Whether undoing the JSON escapes of `text` makes a byte that matters.
    fn json_tells(&self, text: &[u8]) -> bool {
        let mut from = 0;
        while let Some(at) = memchr::memchr(b'\\', &text[from..]) {
            let at = from + at;
            let Some((c, len)) = json_escape(text, at) else {
                // A backslash that starts no escape (`\u` without a character
                // after it, or one before a character outside ASCII) stays, in
                // a text that still changes; one that ends the text changes
                // nothing.
                return at + 1 < text.len();
            };
            let mut buf = [0u8; 4];
            if c.encode_utf8(&mut buf)
                .bytes()
                .any(|b| self.telling.contains(b))
            {
                return true;
            }
            from = at + len;
        }
        false
    }
}

/// Which decodings' marks some bytes hold.
struct Marks {
    /// `%` or `+`.
    percent: bool,
    /// `\`.
    json: bool,
    /// The first byte of a gzip header.
    gzip: bool,
}

impl Marks {
    fn of(bytes: &[u8]) -> Self {
        // Decoded base64 is short: one pass there beats three searches.
        if bytes.len() <= 64 {
            let marks = bytes.iter().fold(0, |marks, b| {
                marks
                    | match b {
                        b'%' | b'+' => 1,
                        b'\\' => 2,
                        0x1f => 4,
                        _ => 0,
                    }
            });
            return Self {
                percent: marks & 1 != 0,
                json: marks & 2 != 0,
                gzip: marks & 4 != 0,
            };
        }
        Self {
            percent: memchr::memchr2(b'%', b'+', bytes).is_some(),
            json: memchr::memchr(b'\\', bytes).is_some(),
            gzip: memchr::memchr(0x1f, bytes).is_some(),
        }
    }
}

/// The character the JSON escape at `at` stands for and its length, as
/// [`json_unescape`] reads it; `None` when the backslash starts none.
fn json_escape(bytes: &[u8], at: usize) -> Option<(char, usize)> {
    match *bytes.get(at + 1)? {
        b'u' => bytes
            .get(at + 2..at + 6)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .and_then(char::from_u32)
            .map(|c| (c, 6)),
        b'n' => Some(('\n', 2)),
        b't' => Some(('\t', 2)),
        b'r' => Some(('\r', 2)),
        // A backslash before a character outside ASCII escapes nothing: taking
        // the character's first byte alone would leave text that is not UTF-8,
        // which no further text decoding reads.
        c if c.is_ascii() => Some((c as char, 2)),
        _ => None,
    }
}

/// Undoes JSON string escapes (`\/`, `\u002B`, ...) wherever they are.
pub(super) fn json_unescape(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        // Text between escapes is copied as it is, a run at a time.
        let plain = bytes[i..]
            .iter()
            .position(|b| *b == b'\\')
            .unwrap_or(bytes.len() - i);
        out.extend_from_slice(&bytes[i..i + plain]);
        i += plain;
        if i == bytes.len() {
            break;
        }
        if let Some((c, len)) = json_escape(bytes, i) {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            i += len;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// Where the next gzip stream (`1f 8b 08`) starts, at `from` or after.
fn gzip_magic(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(found) = memchr::memchr(0x1f, bytes.get(at..)?) {
        let start = at + found;
        if bytes.get(start + 1..start + 3) == Some(&[0x8b, 8][..]) {
            return Some(start);
        }
        at = start + 1;
    }
    None
}

/// Which bytes each base64 alphabet may hold: bit 1 the standard one
/// (`+`, `/`), bit 2 the URL-safe one (`-`, `_`), both for letters, digits
/// and the padding `=`.
static BASE64_BYTES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = if c.is_ascii_alphanumeric() || c == b'=' {
            3
        } else if c == b'+' || c == b'/' {
            1
        } else if c == b'-' || c == b'_' {
            2
        } else {
            0
        };
        b += 1;
    }
    table
};

/// The shortest run of base64 looked at, and the fewest bytes it must
/// decode to.
const BASE64_MIN_RUN: usize = 16;
const BASE64_MIN_DECODED: usize = 12;

/// Calls `each` on every run of base64 alphabet (either variant) of at
/// least `shortest` characters, until it finds something; `=` inside a run
/// (`token=...`) also ends one. After a JSON escape in `kept`, or any
/// percent escape, the run is also read without the escape's tail (`n` of
/// `\n`, `3A` of `%3A`): that is the run the unescaped text holds, or would
/// hold if form-decoding, which reads each `+` as a space, did not break it.
fn base64_runs<'b>(
    bytes: &'b [u8],
    kept: Kept,
    shortest: usize,
    each: &mut dyn FnMut(&'b [u8]) -> Option<&'static str>,
) -> Option<&'static str> {
    let shortest = shortest.max(BASE64_MIN_RUN);
    long_stretches(
        bytes,
        shortest,
        |b| BASE64_BYTES[usize::from(b)] != 0,
        |start, end| {
            let run = &bytes[start..end];
            let tail = match start.checked_sub(1).map(|before| bytes[before]) {
                Some(b'\\') if kept.json => {
                    json_escape(bytes, start - 1).map_or(0, |(_, len)| len - 1)
                }
                Some(b'%') if crate::form::escape_at(bytes, start - 1).is_some() => 2,
                _ => 0,
            };
            [Some(run), run.get(tail..).filter(|_| tail > 0)]
                .into_iter()
                .flatten()
                .find_map(|run| run_pieces(run, shortest, each))
        },
    )
}

/// Calls `each` with the start and end of every stretch of bytes that
/// `is_in` holds and that is `shortest` bytes long or more, in order, until
/// it returns something.
fn long_stretches<T>(
    bytes: &[u8],
    shortest: usize,
    is_in: impl Fn(u8) -> bool,
    mut each: impl FnMut(usize, usize) -> Option<T>,
) -> Option<T> {
    let shortest = shortest.max(1);
    let half = shortest / 2;
    let is_in_at = |at: usize| bytes.get(at).is_some_and(|b| is_in(*b));
    // A long enough stretch holds one of every `shortest` positions, and one
    // that holds `at` also holds the byte `shortest / 2` before or after it.
    let mut at = shortest - 1;
    while at < bytes.len() {
        if !is_in_at(at) || !(at.checked_sub(half).is_some_and(is_in_at) || is_in_at(at + half)) {
            at += shortest;
            continue;
        }
        let start = bytes[..at]
            .iter()
            .rposition(|b| !is_in(*b))
            .map_or(0, |p| p + 1);
        let end = bytes[at..]
            .iter()
            .position(|b| !is_in(*b))
            .map_or(bytes.len(), |p| at + p);
        at = end + shortest;
        if end - start >= shortest {
            if let Some(found) = each(start, end) {
                return Some(found);
            }
        }
    }
    None
}

/// A run, and its pieces between `=` signs when it holds one inside.
fn run_pieces<'b>(
    run: &'b [u8],
    shortest: usize,
    each: &mut dyn FnMut(&'b [u8]) -> Option<&'static str>,
) -> Option<&'static str> {
    if run.len() < shortest {
        return None;
    }
    if let Some(found) = each(run) {
        return Some(found);
    }
    let inner = run.contains(&b'=') && run.iter().rposition(|b| *b != b'=').is_some();
    if inner {
        for piece in run.split(|b| *b == b'=').filter(|p| p.len() >= shortest) {
            if let Some(found) = each(piece) {
                return Some(found);
            }
        }
    }
    None
}

/// How many base64 characters a line must hold for the break after it to
/// be taken for wrapping (MIME lines hold 76, PEM lines 64).
const WRAPPED_LINE: usize = 40;

/// `bytes` with every line break inside base64 text taken out: a break
/// (`\n`, `\r\n`, or their JSON escapes) after a line of at least
/// [`WRAPPED_LINE`] base64 characters and before another; `None` when
/// there is none.
fn unwrapped(bytes: &[u8]) -> Option<Vec<u8>> {
    let is_base64 = |b: &u8| BASE64_BYTES[usize::from(*b)] != 0;
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    for at in memchr::memchr2_iter(b'\n', b'\\', bytes) {
        if at < copied {
            continue;
        }
        let (start, end) = if bytes[at] == b'\n' {
            let cr = at > 0 && bytes[at - 1] == b'\r';
            (at - usize::from(cr), at + 1)
        } else if bytes.get(at + 1..at + 4) == Some(b"r\\n") {
            (at, at + 4)
        } else if bytes.get(at + 1) == Some(&b'n') {
            (at, at + 2)
        } else {
            continue;
        };
        let line_before = start
            .checked_sub(WRAPPED_LINE)
            .is_some_and(|from| bytes[from..start].iter().all(is_base64));
        if line_before && bytes.get(end).is_some_and(is_base64) {
            let joined = out.get_or_insert_with(|| Vec::with_capacity(bytes.len()));
            joined.extend_from_slice(&bytes[copied..start]);
            copied = end;
        }
    }
    let mut joined = out?;
    joined.extend_from_slice(&bytes[copied..]);
    Some(joined)
}

/// The six bits each base64 character stands for, in either alphabet
/// (`+` and `-` are 62, `/` and `_` 63); `NOT_BASE64` for other bytes,
/// the padding `=` among them.
static BASE64_VALUES: [u8; 256] = {
    let mut table = [NOT_BASE64; 256];
    let mut i = 0;
    while i < 64 {
        let letters = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        if i < 62 {
            table[letters[i] as usize] = i as u8;
        }
        i += 1;
    }
    table[b'+' as usize] = 62;
    table[b'-' as usize] = 62;
    table[b'/' as usize] = 63;
    table[b'_' as usize] = 63;
    table
};

const NOT_BASE64: u8 = 0xff;

/// Decodes `part` (no padding, not one character past a quantum) into
/// `out`, leftover bits ignored; false at a byte that is not base64.
fn decode_quanta(part: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    out.reserve(part.len() / 4 * 3 + 2);
    let mut quanta = part.chunks_exact(4);
    for quantum in &mut quanta {
        let Some(bits) = sextets(quantum) else {
            return false;
        };
        out.extend_from_slice(&bits.to_be_bytes()[1..]);
    }
    let rest = quanta.remainder();
    let Some(bits) = sextets(rest) else {
        return false;
    };
    // Two characters hold one byte, three hold two.
    match rest.len() {
        2 => out.push((bits >> 4) as u8),
        3 => out.extend_from_slice(&((bits >> 2) as u16).to_be_bytes()),
        _ => {}
    }
    true
}

/// The bits of up to four base64 characters, six each, the last lowest;
/// `None` at a byte that is not base64.
fn sextets(chars: &[u8]) -> Option<u32> {
    chars.iter().try_fold(0u32, |bits, c| {
        let value = BASE64_VALUES[usize::from(*c)];
        (value != NOT_BASE64).then(|| bits << 6 | u32::from(value))
    })
}

/// Decodes a run into `out` (the standard alphabet first, then the
/// URL-safe one, at the first of the four alignments that decodes to 12
/// bytes or more); false when none does. When the standard alphabet only
/// decodes past an alignment the URL-safe one decodes at (a run whose
/// URL-safe signs are all in its first three characters), that URL-safe
/// decoding goes to `earlier` (empty otherwise): the run may be either.
fn base64_decode(run: &[u8], out: &mut Vec<u8>, earlier: &mut Vec<u8>) -> bool {
    let end = run.iter().rposition(|b| *b != b'=').map_or(0, |p| p + 1);
    let trimmed = &run[..end];
    // A byte outside an alphabet fails the decodings with it; a run of
    // one alphabet, the usual case, needs no look at each alignment.
    let alphabets = trimmed
        .iter()
        .fold(3, |bits, b| bits & BASE64_BYTES[usize::from(*b)]);
    earlier.clear();
    match decode_alphabet(trimmed, alphabets, 1, 4, out) {
        // Both alphabets decode a run of letters and digits alike.
        Some(_) if alphabets == 3 => true,
        Some(skip) => {
            if decode_alphabet(trimmed, alphabets, 2, skip, earlier).is_none() {
                earlier.clear();
            }
            true
        }
        None => alphabets != 3 && decode_alphabet(trimmed, alphabets, 2, 4, out).is_some(),
    }
}

/// Decodes `trimmed` (a run without its trailing `=`) in the alphabet of
/// `bit` into `out`, at the first of the first `alignments` alignments
/// that decodes to 12 bytes or more; returns that alignment.
fn decode_alphabet(
    trimmed: &[u8],
    alphabets: u8,
    bit: u8,
    alignments: usize,
    out: &mut Vec<u8>,
) -> Option<usize> {
    // Where the bytes outside this alphabet are, in a run that has some.
    let outside = |i: &usize| BASE64_BYTES[usize::from(trimmed[*i])] & bit == 0;
    let (first, last) = if alphabets & bit == 0 {
        (
            (0..trimmed.len()).find(outside).unwrap_or(trimmed.len()),
            (0..trimmed.len()).rfind(outside).unwrap_or(0),
        )
    } else {
        (trimmed.len(), 0)
    };
    // A run may start mid-quantum (text before it that looks like
    // base64): try each of the four alignments.
    for skip in 0..alignments {
        let part = trimmed.get(skip..)?;
        let end = skip + part.len() - usize::from(part.len() % 4 == 1);
        let clean =
            first >= end || last < skip || (first < skip && !(skip..end).any(|i| outside(&i)));
        if clean
            && unpadded(&trimmed[skip..end]).is_some_and(|part| decode_quanta(part, out))
            && out.len() >= BASE64_MIN_DECODED
        {
            return Some(skip);
        }
    }
    None
}

/// `part` without the padding that ends its last quantum (`ab=`, `ab==`,
/// `abc=`: a character dropped past the last quantum can leave some);
/// `None` for padding no quantum ends with.
fn unpadded(part: &[u8]) -> Option<&[u8]> {
    if part.last() != Some(&b'=') {
        return Some(part);
    }
    let pads = part.iter().rev().take_while(|b| **b == b'=').count();
    let last_quantum = match part.len() % 4 {
        0 => 4,
        rest => rest,
    };
    (pads == 0 || pads + 2 <= last_quantum).then(|| &part[..part.len() - pads])
}

/// Checks the serialised bytes about to be written.
pub fn check_bytes(bytes: &[u8], scan: &dyn SecretScan) -> Result<(), Leak> {
    match find_encoded(scan, bytes) {
        Some(what) => Err(Leak {
            what: what.to_string(),
            place: "the cassette".to_string(),
        }),
        None => Ok(()),
    }
}

/// The default `--redact-account-id` value, the one AWS documentation uses.
pub const DOCUMENTATION_ACCOUNT_ID: &str = "123456789012";

/// Replaces real account ids with one stand-in, consistently.
#[derive(Clone, Debug)]
pub struct AccountRedaction {
    replacement: String,
    known: BTreeSet<String>,
}

/// `arn:PARTITION:SERVICE:REGION:ACCOUNT:`, plain or percent-encoded.
static ARN_ACCOUNT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"arn(?::|%3[aA])aws[a-z-]*(?::|%3[aA])[A-Za-z0-9-]*(?::|%3[aA])[a-z0-9-]*(?::|%3[aA])([0-9]{12})(?::|%3[aA])")
        .expect("a fixed pattern compiles")
});

/// `"accountId": "…"`, `"OwnerAccountId":"…"`, `<Account>…</Account>`.
static NAMED_ACCOUNT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?:account[a-z_]*\\?"\s*:\s*\\?"|account(?:id)?>)([0-9]{12})\b"#)
        .expect("a fixed pattern compiles")
});

impl AccountRedaction {
    /// `replacement` must be twelve digits, so ARNs keep their shape.
    pub fn new(replacement: &str) -> Result<Self, String> {
        if replacement.len() != 12 || !replacement.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("`{replacement}` is not a 12-digit account id"));
        }
        Ok(Self {
            replacement: replacement.to_string(),
            known: BTreeSet::new(),
        })
    }

    /// An account id known from elsewhere (e.g. the credentials).
    pub fn learn(&mut self, account_id: &str) {
        if account_id.len() == 12 && account_id.bytes().all(|b| b.is_ascii_digit()) {
            self.known.insert(account_id.to_string());
        }
    }

    /// Learns the account ids in `bytes`, then replaces every known one in
    /// place (same length, so JSON stays valid). Digits next to other digits
    /// are part of a longer number and left alone.
    pub fn apply(&mut self, bytes: &mut [u8]) {
        for pattern in [&*ARN_ACCOUNT, &*NAMED_ACCOUNT] {
            for captures in pattern.captures_iter(bytes) {
                if let Some(id) = captures
                    .get(1)
                    .and_then(|m| std::str::from_utf8(m.as_bytes()).ok())
                {
                    if id != self.replacement {
                        self.known.insert(id.to_string());
                    }
                }
            }
        }
        for id in &self.known {
            replace_bounded(bytes, id.as_bytes(), self.replacement.as_bytes());
        }
    }
}

fn replace_bounded(bytes: &mut [u8], from: &[u8], to: &[u8]) {
    let n = from.len();
    if n == 0 || n != to.len() || bytes.len() < n {
        return;
    }
    let mut i = 0;
    while i + n <= bytes.len() {
        let before_ok = i == 0 || bytes.get(i - 1).is_none_or(|b| !b.is_ascii_digit());
        let after_ok = bytes.get(i + n).is_none_or(|b| !b.is_ascii_digit());
        if before_ok && after_ok && bytes.get(i..i + n) == Some(from) {
            if let Some(slot) = bytes.get_mut(i..i + n) {
                slot.copy_from_slice(to);
            }
            i += n;
        } else {
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cassette::Body;

    struct Needle;

    impl SecretScan for Needle {
        fn find_secret(&self, bytes: &[u8]) -> Option<&'static str> {
            let needle = b"s3cr3t+Key/value==xyz";
            bytes
                .windows(needle.len())
                .any(|w| w == needle)
                .then_some("the secret in use")
        }

        // Every encoding test below also proves that skipping views shorter
        // than this loses nothing.
        fn shortest_secret(&self) -> usize {
            b"s3cr3t+Key/value==xyz".len()
        }

        // And that leaving escapes of other bytes as they are loses nothing.
        fn secret_bytes(&self) -> ByteSet {
            ByteSet::of(b"s3cr3t+Key/value==xyz")
        }
    }

    /// A `method` call of `uri` answered 200, no headers, empty bodies.
    fn exchange(method: &str, uri: &str) -> Interaction {
        use crate::cassette::{Headers, RecordedRequest, RecordedResponse};
        Interaction {
            elapsed_ms: 0,
            endpoint: None,
            expect: None,
            note: None,
            request: RecordedRequest {
                method: method.into(),
                uri: uri.into(),
                headers: Headers::default(),
                body: Body::default(),
            },
            response: RecordedResponse {
                status: 200,
                headers: Headers::default(),
                body: Body::default(),
            },
        }
    }

    #[test]
    fn decoding_helpers_keep_their_meaning() {
        assert_eq!(
            json_unescape(br#"\"a\/b\u002Bc\\d\nend\"#),
            b"\"a/b+c\\d\nend\\".to_vec()
        );
        assert_eq!(json_unescape(b"no escapes"), b"no escapes".to_vec());
        assert_eq!(gzip_magic(b"\x1f\x1f\x8b\x08", 0), Some(1));
        assert_eq!(gzip_magic(b"\x1f\x8b\x08..\x1f\x8b\x08", 1), Some(5));
        assert_eq!(gzip_magic(b"\x1f\x8b", 0), None);
        // Letters and digits belong to both alphabets; each has its two signs.
        let runs = |bytes: &'static [u8], kept: Kept| {
            let mut runs: Vec<&[u8]> = Vec::new();
            base64_runs(bytes, kept, 16, &mut |run| {
                runs.push(run);
                None
            });
            runs
        };
        assert_eq!(
            runs(
                b"short a+b/c-d_e0123456789== x=AAAAAAAAAAAAAAAAAAAA=",
                Kept::default()
            ),
            [
                &b"a+b/c-d_e0123456789=="[..],
                &b"a+b/c-d_e0123456789"[..],
                &b"x=AAAAAAAAAAAAAAAAAAAA="[..],
                &b"AAAAAAAAAAAAAAAAAAAA"[..],
            ]
        );
        // After a JSON escape left as it is, or any percent escape, a run is
        // also read as the unescaped text holds it.
        let escaped = br#"a\nAAAAAAAAAAAAAAAA. b\u000aBBBBBBBBBBBBBBBB c%3ACCCCCCCCCCCCCCCC"#;
        assert_eq!(runs(escaped, Kept::default()).len(), 4);
        let kept = Kept { json: true };
        assert_eq!(
            runs(escaped, kept),
            [
                &b"nAAAAAAAAAAAAAAAA"[..],
                &b"AAAAAAAAAAAAAAAA"[..],
                &b"u000aBBBBBBBBBBBBBBBB"[..],
                &b"BBBBBBBBBBBBBBBB"[..],
                &b"3ACCCCCCCCCCCCCCCC"[..],
                &b"CCCCCCCCCCCCCCCC"[..],
            ]
        );
        let decode = |run: &[u8]| {
            let mut out = Vec::new();
            base64_decode(run, &mut out, &mut Vec::new()).then_some(out)
        };
        // Standard first; a run with a URL-safe sign decodes URL-safe.
        assert_eq!(
            decode(b"c2VjcmV0LXZhbHVlLWhlcmU="),
            Some(b"secret-value-here".to_vec())
        );
        assert_eq!(decode(b"Pz8_Pz8_Pz8_Pz8_"), Some(vec![b'?'; 12]));
        assert_eq!(decode(b"a+b-c/d_aaaaaaaaaaaa"), None);
        // The same bytes as a lenient decoder, at every length and alignment.
        use base64::Engine as _;
        let lenient = base64::engine::GeneralPurpose::new(
            &base64::alphabet::URL_SAFE,
            base64::engine::GeneralPurposeConfig::new()
                .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
                .with_decode_allow_trailing_bits(true),
        );
        let text = b"Pz8_Pz8_Pz8_Pz8_YWJj-_09AZaz";
        for start in 0..4 {
            for end in start..=text.len() {
                let part = &text[start..end];
                if part.len() % 4 == 1 {
                    continue;
                }
                let mut out = Vec::new();
                assert!(decode_quanta(part, &mut out));
                assert_eq!(Ok(out), lenient.decode(part), "{part:?}");
            }
        }
        assert!(!decode_quanta(b"ab=d", &mut Vec::new()));
        // A sign of the other alphabet before the quantum decoded is skipped.
        assert_eq!(decode(b"-Pz8/Pz8/Pz8/Pz8/"), Some(vec![b'?'; 12]));
        // So is one after it, where a character past the last quantum is dropped.
        assert_eq!(decode(b"-Pz8/Pz8/Pz8/Pz8/-"), Some(vec![b'?'; 12]));
        assert_eq!(decode(b"-Pz8/Pz8/-z8/Pz8/Pz8"), None);
    }

    #[test]
    fn sampling_finds_every_long_stretch() {
        // Every pattern of runs and gaps up to 14 bytes, every shortest length.
        for pattern in 0u32..1 << 14 {
            let bytes: Vec<u8> = (0..14)
                .map(|i| if pattern >> i & 1 == 1 { b'a' } else { b' ' })
                .collect();
            for shortest in 1..=15 {
                let mut want = Vec::new();
                let mut start = None;
                for (i, b) in bytes.iter().chain([&b' ']).enumerate() {
                    match (*b == b'a', start) {
                        (true, None) => start = Some(i),
                        (false, Some(s)) => {
                            if i - s >= shortest {
                                want.push((s, i));
                            }
                            start = None;
                        }
                        _ => {}
                    }
                }
                let mut got = Vec::new();
                long_stretches(
                    &bytes,
                    shortest,
                    |b| b == b'a',
                    |s, e| {
                        got.push((s, e));
                        None::<()>
                    },
                );
                assert_eq!(got, want, "{pattern:014b} {shortest}");
            }
        }
    }

    #[test]
    fn a_secret_is_found_through_encodings() {
        use base64::Engine as _;
        use base64::engine::general_purpose::{STANDARD, URL_SAFE};
        let secret = "s3cr3t+Key/value==xyz";
        let b64 = base64::engine::general_purpose::STANDARD.encode(secret);
        let url_b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
        let gzipped: &[u8] = &[
            31, 139, 8, 0, 0, 0, 0, 0, 2, 3, 171, 86, 74, 77, 206, 200, 87, 178, 82, 42, 54, 78,
            46, 50, 46, 209, 246, 78, 173, 212, 47, 75, 204, 41, 77, 181, 181, 173, 168, 172, 82,
            170, 5, 0, 216, 161, 150, 89, 32, 0, 0, 0,
        ];
        let b64_gzip = base64::engine::general_purpose::STANDARD.encode(gzipped);
        let url_b64_gzip = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(gzipped);
        let b64_of_b64 = STANDARD.encode(format!("{{\"inner\":\"{b64}\"}}"));
        let percent_of_b64 = b64
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D");
        for (how, bytes) in [
            ("plain", secret.as_bytes().to_vec()),
            ("percent", b"x=s3cr3t%2BKey%2Fvalue%3D%3Dxyz".to_vec()),
            (
                "json escapes",
                br#"{"a":"s3cr3t\u002bKey\/value==xyz"}"#.to_vec(),
            ),
            ("base64", format!(r#"{{"echo":"{b64}"}}"#).into_bytes()),
            (
                "base64 url-safe",
                format!("token={url_b64}&x=1").into_bytes(),
            ),
            ("gzip", gzipped.to_vec()),
            ("base64 of gzip", b64_gzip.clone().into_bytes()),
            ("percent of base64", percent_of_b64.into_bytes()),
            // Base64 right after an escape that is left as it is, read from
            // where the unescaped text starts it.
            (
                "base64 of gzip after a JSON \\n",
                format!(r#"{{"a":"line\n{b64_gzip}"}}"#).into_bytes(),
            ),
            (
                "base64 of gzip after a JSON \\u000a",
                format!(r#"{{"a":"line\u000a{b64_gzip}"}}"#).into_bytes(),
            ),
            (
                "base64 of gzip after %3A",
                format!("a=b%3A{url_b64_gzip}").into_bytes(),
            ),
            // Form-decoding reads its `+` as a space; the text holds it whole.
            (
                "base64 with a `+` right after a percent escape",
                format!("q=%20{}", STANDARD.encode([&b"\n"[..], gzipped].concat())).into_bytes(),
            ),
            ("base64 of base64", b64_of_b64.into_bytes()),
            (
                "JSON escapes in base64",
                STANDARD
                    .encode(br#"{"k":"s3cr3t\u002BKey\/value==xyz"}"#)
                    .into_bytes(),
            ),
            (
                "percent of JSON escapes",
                b"k=s3cr3t%5Cu002bKey%5C%2Fvalue%3D%3Dxyz".to_vec(),
            ),
        ] {
            assert_eq!(
                find_encoded(&Needle, &bytes),
                Some("the secret in use"),
                "{how}"
            );
        }
        // The secret at each offset of the bytes base64 holds, in either
        // alphabet, after text that ends a run.
        for before in ["", "a", "ab", "abc", "abcd"] {
            for engine in [&STANDARD, &URL_SAFE] {
                let hidden = engine.encode(format!("{before}{secret} and after"));
                let body = format!(r#"{{"x": "{hidden}"}}"#);
                assert_eq!(
                    find_encoded(&Needle, body.as_bytes()),
                    Some("the secret in use"),
                    "{body}"
                );
            }
        }
        assert_eq!(
            find_encoded(&Needle, b"nothing to see, c2VjcmV0IG5vdCBoZXJl"),
            None
        );
        // Base64 wrapped in lines, raw or in a JSON string, wherever the
        // lines break the secret.
        for before in ["", "a", "0123456789abcdefghijklmnopqrstuvwxyz0123456789"] {
            let encoded = STANDARD.encode(format!("{before}{secret} and a tail of text after it"));
            for (width, newline) in [(76, "\n"), (64, "\r\n"), (76, r"\n"), (64, r"\r\n")] {
                let lines: Vec<&str> = encoded
                    .as_bytes()
                    .chunks(width)
                    .map(|line| std::str::from_utf8(line).unwrap())
                    .collect();
                let body = format!(r#"{{"pem": "{}"}}"#, lines.join(newline));
                assert_eq!(
                    find_encoded(&Needle, body.as_bytes()),
                    Some("the secret in use"),
                    "{body}"
                );
            }
        }
        // Ordinary lines of text are not joined.
        assert_eq!(unwrapped(b"short line\nanother line\n"), None);
    }

    /// A secret that holds bytes escapes often stand for.
    struct Punctuated;

    impl SecretScan for Punctuated {
        fn find_secret(&self, bytes: &[u8]) -> Option<&'static str> {
            let needle = b"key: \"with\" colons 0123456789";
            bytes
                .windows(needle.len())
                .any(|w| w == needle)
                .then_some("the secret in use")
        }

        fn secret_bytes(&self) -> ByteSet {
            ByteSet::of(b"key: \"with\" colons 0123456789")
        }
    }

    #[test]
    fn escapes_of_bytes_a_secret_holds_are_undone() {
        for bytes in [
            &br#"{"s":"key: \"with\" colons 0123456789"}"#[..],
            br#"{"s":"key\u003a \u0022with\" colons\u00200123456789"}"#,
            b"s=key%3A+%22with%22%20colons+0123456789",
            b"s=key%3a%20%22with%22%20colons%200123456789",
        ] {
            assert_eq!(
                find_encoded(&Punctuated, bytes),
                Some("the secret in use"),
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    /// Counts the views searched.
    struct Counting<'a>(&'a std::sync::atomic::AtomicUsize, ByteSet);

    impl SecretScan for Counting<'_> {
        fn find_secret(&self, _: &[u8]) -> Option<&'static str> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            None
        }

        fn secret_bytes(&self) -> ByteSet {
            self.1
        }
    }

    #[test]
    fn text_whose_escapes_make_no_byte_that_matters_is_searched_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let body = br#"{"spec":"proton: EnvironmentSpec\nspec:\n  cidr: \"10.0.0.0/16\"\n","q":"a%20b%2C c"}"#;
        let views = |secret_bytes| {
            let count = AtomicUsize::new(0);
            find_encoded(&Counting(&count, secret_bytes), body);
            count.load(Ordering::Relaxed)
        };
        assert_eq!(views(ByteSet::of(b"AKIDEXAMPLE0123456789")), 1);
        // Not knowing which bytes a secret holds, every escape is undone.
        assert_eq!(views(ByteSet::ALL), 5);
    }

    #[test]
    fn base64_read_past_one_character_after_its_padding() {
        use base64::Engine as _;
        use base64::engine::general_purpose::STANDARD;
        // Text that looks like base64 before the run, and a character after
        // its padding: the one alignment that reads it drops that character
        // and ends on the padding.
        for tail in ["!", "!!"] {
            let hidden = STANDARD.encode(format!("{}{tail}", "s3cr3t+Key/value==xyz"));
            assert!(hidden.ends_with('='), "{hidden}");
            for before in ["a", "ab", "abc"] {
                let body = format!("{before}{hidden}x=&more");
                assert_eq!(
                    find_encoded(&Needle, body.as_bytes()),
                    Some("the secret in use"),
                    "{body}"
                );
            }
        }
    }

    #[test]
    fn url_safe_base64_whose_signs_all_open_the_run() {
        use base64::Engine as _;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        // The standard alphabet decodes such a run past its signs, into other
        // bytes; the URL-safe decoding from its start is read too.
        for lead in [
            &[0xfb][..],
            &[0xfb, 0xff],
            &[0x03, 0xef],
            &[0x00, 0x0f, 0x80],
        ] {
            let mut bytes = lead.to_vec();
            bytes.extend_from_slice(b"s3cr3t+Key/value==xyz and after");
            let hidden = URL_SAFE_NO_PAD.encode(&bytes);
            let signs: Vec<usize> = hidden.match_indices(['-', '_']).map(|(i, _)| i).collect();
            assert!(
                !signs.is_empty() && signs.iter().all(|i| *i < 3),
                "{hidden}"
            );
            let body = format!(r#"{{"x":"{hidden}"}}"#);
            assert_eq!(
                find_encoded(&Needle, body.as_bytes()),
                Some("the secret in use"),
                "{body}"
            );
        }
    }

    #[test]
    fn a_stray_backslash_before_text_outside_ascii_leaves_the_text_decodable() {
        // Only undoing the JSON escape, then the percent escape it makes,
        // shows the secret.
        let body = r#"{"note":"caf\é","k":"s3cr3t%2\u0042Key%2fvalue%3D%3Dxyz"}"#;
        assert_eq!(
            find_encoded(&Needle, body.as_bytes()),
            Some("the secret in use")
        );
    }

    /// Searches as the signer's keyring does: the raw and percent-encoded
    /// (upper- and lowercase) forms of some credentials, whose bytes it names.
    struct FakeKeyring {
        forms: Vec<Vec<u8>>,
        bytes: ByteSet,
        shortest: usize,
    }

    impl FakeKeyring {
        fn new(values: &[&str]) -> Self {
            let percent = |value: &str, lower: bool| -> Vec<u8> {
                let mut out = Vec::new();
                for byte in value.bytes() {
                    if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
                        out.push(byte);
                    } else if lower {
                        out.extend(format!("%{byte:02x}").bytes());
                    } else {
                        out.extend(format!("%{byte:02X}").bytes());
                    }
                }
                out
            };
            let forms: Vec<Vec<u8>> = values
                .iter()
                .flat_map(|v| [v.as_bytes().to_vec(), percent(v, true), percent(v, false)])
                .collect();
            Self {
                bytes: forms
                    .iter()
                    .fold(ByteSet::EMPTY, |set, form| set.union(ByteSet::of(form))),
                forms,
                shortest: values.iter().map(|v| v.len()).min().unwrap_or(0),
            }
        }
    }

    impl SecretScan for FakeKeyring {
        fn find_secret(&self, bytes: &[u8]) -> Option<&'static str> {
            self.forms
                .iter()
                .any(|form| memchr::memmem::find(bytes, form).is_some())
                .then_some("a credential in use")
        }

        fn shortest_secret(&self) -> usize {
            self.shortest
        }

        fn secret_bytes(&self) -> ByteSet {
            self.bytes
        }
    }

    /// One documented encoding of `bytes`, picked by `pick`, and its name.
    fn encode_once(bytes: &[u8], pick: &mut impl FnMut(usize) -> usize) -> (Vec<u8>, String) {
        use base64::Engine as _;
        use base64::engine::general_purpose::{
            STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD,
        };
        use std::io::Write as _;
        let text = std::str::from_utf8(bytes).ok();
        match (pick(5), text) {
            (0, Some(text)) => {
                // JSON string escapes: always `"`, `\` and controls; `/` and
                // other characters as `\uXXXX` some of the time.
                let (slash, often, upper) = (pick(2) == 0, pick(3), pick(2) == 0);
                let mut out = String::new();
                for c in text.chars() {
                    match c {
                        '"' => out.push_str("\\\""),
                        '\\' => out.push_str("\\\\"),
                        '\n' => out.push_str("\\n"),
                        '/' if slash => out.push_str("\\/"),
                        c if (c as u32) < 0x20 || pick(10) < often * 4 => {
                            for unit in c.encode_utf16(&mut [0; 2]) {
                                out.push_str(&if upper {
                                    format!("\\u{unit:04X}")
                                } else {
                                    format!("\\u{unit:04x}")
                                });
                            }
                        }
                        c => out.push(c),
                    }
                }
                (out.into_bytes(), format!("json(/{slash} u{often})"))
            }
            (1, _) => {
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
                gz.write_all(bytes).expect("writing to a vector");
                (gz.finish().expect("writing to a vector"), "gzip".into())
            }
            (2, _) => {
                let engine = [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD][pick(4)];
                (engine.encode(bytes).into_bytes(), "base64".into())
            }
            _ => {
                // Percent- or form-encoding, in either case, of what must be
                // escaped and some of what need not be.
                let (lower, often) = (pick(2) == 0, pick(3));
                let mut out = Vec::new();
                for &b in bytes {
                    if b == b' ' && pick(2) == 0 {
                        out.push(b'+');
                    } else if !(b.is_ascii_alphanumeric() || b"-_.~".contains(&b))
                        || pick(10) < often * 4
                    {
                        out.extend(
                            if lower {
                                format!("%{b:02x}")
                            } else {
                                format!("%{b:02X}")
                            }
                            .bytes(),
                        );
                    } else {
                        out.push(b);
                    }
                }
                (out, format!("percent(lower {lower} x{often})"))
            }
        }
    }

    #[test]
    fn a_credential_is_found_through_any_three_documented_encodings() {
        let credentials = [
            "AKIDFAKEFAKEFAKE7EXA",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYfakeKEY0/z",
            "IQoJb3JpZ2luX2VjEFAKE//////////wEaCXVzLWVhc3QtMSJHMEUCIQDfake+token/with==padding+FAKE=",
        ];
        let keyring = FakeKeyring::new(&credentials);
        // Text around each layer, each end of it something that ends a base64
        // run: escapes left as they are (`\n`, `%20`), a `=` that joins one.
        let around: [&[u8]; 12] = [
            b"",
            b" ",
            b"{\"a\":\"",
            b"\"}",
            b"&x=",
            b"&y=1&",
            b"\n",
            b"\\n",
            b"%20",
            b"%0A",
            b"\\u000a",
            " caf\u{e9} ".as_bytes(),
        ];
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut pick = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for case in 0..4000 {
            let mut bytes = around[pick(around.len())].to_vec();
            bytes.extend_from_slice(credentials[pick(credentials.len())].as_bytes());
            bytes.extend_from_slice(around[pick(around.len())]);
            let mut how = Vec::new();
            for _ in 0..=pick(3) {
                let (encoded, name) = encode_once(&bytes, &mut pick);
                how.push(name);
                bytes = around[pick(around.len())].to_vec();
                bytes.extend(encoded);
                bytes.extend_from_slice(around[pick(around.len())]);
            }
            assert_eq!(
                find_encoded(&keyring, &bytes),
                Some("a credential in use"),
                "case {case}, {how:?}: {}",
                String::from_utf8_lossy(&bytes)
            );
        }
    }

    #[test]
    fn replaces_account_ids_learned_from_arns_everywhere() {
        let mut redaction = AccountRedaction::new(DOCUMENTATION_ACCOUNT_ID).unwrap();
        let mut text = br#"{"arn":"arn:aws:proton:us-east-1:111122223333:environment/e","owner":"111122223333","n":1111222233334,"q":"arn%3Aaws%3Aiam%3A%3A444455556666%3Arole%2Fx","other":"444455556666"}"#.to_vec();
        redaction.apply(&mut text);
        let text = String::from_utf8(text).unwrap();
        assert_eq!(
            text,
            r#"{"arn":"arn:aws:proton:us-east-1:123456789012:environment/e","owner":"123456789012","n":1111222233334,"q":"arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fx","other":"123456789012"}"#
        );
    }

    #[test]
    fn learns_named_account_members_and_hints() {
        let mut redaction = AccountRedaction::new("000000000000").unwrap();
        redaction.learn("999988887777");
        let mut text =
            b"<Account>111122223333</Account> {\"OwnerAccountId\": \"555566667777\"} 999988887777"
                .to_vec();
        redaction.apply(&mut text);
        assert_eq!(
            String::from_utf8(text).unwrap(),
            "<Account>000000000000</Account> {\"OwnerAccountId\": \"000000000000\"} 000000000000"
        );
    }

    #[test]
    fn the_replacement_must_look_like_an_account_id() {
        assert!(AccountRedaction::new("12345").is_err());
        assert!(AccountRedaction::new("12345678901a").is_err());
    }

    struct Canary;
    impl SecretScan for Canary {
        fn find_secret(&self, bytes: &[u8]) -> Option<&'static str> {
            bytes
                .windows(6)
                .any(|w| w == b"CANARY")
                .then_some("the canary")
        }
    }

    #[test]
    fn recording_drops_headers_that_carry_a_secret() {
        use crate::cassette::Headers;
        let mut headers = Headers::default();
        headers.append(
            "X-Amz-Server-Side-Encryption-Customer-Key",
            "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=".into(),
        );
        headers.append(
            "x-amz-server-side-encryption-customer-key-MD5",
            "abc".into(),
        );
        headers.append("x-api-key", "k-123456".into());
        headers.append(
            "x-amz-sso_bearer_token",
            "aoaAAAAAGVzc28tYWNjZXNzLXRva2Vu".into(),
        );
        headers.append(
            "x-amz-server-side-encryption-customer-algorithm",
            "AES256".into(),
        );
        let mut interaction = exchange("PUT", "/bucket/key");
        interaction.request.headers = headers.clone();
        interaction.response.headers = headers;
        redact_secrets(&mut interaction, Some("s3"), &mut Placeholders::default());
        for headers in [&interaction.request.headers, &interaction.response.headers] {
            for name in SECRET_VALUE_HEADERS {
                assert_eq!(headers.get(name), None, "{name}");
            }
            // Which algorithm is in use is no secret, and replay needs it.
            assert_eq!(
                headers.get("x-amz-server-side-encryption-customer-algorithm"),
                Some("AES256")
            );
        }
    }

    #[test]
    fn finds_secrets_and_secret_headers_in_an_interaction() {
        let mut clean = exchange("POST", "/");
        clean.response.body = Body::from("fine");
        assert_eq!(check_interaction(&clean, &Canary), Ok(()));
        let mut leaky = clean.clone();
        leaky.response.body = Body::from_bytes(b"\x00CANARY");
        assert_eq!(
            check_interaction(&leaky, &Canary).unwrap_err().to_string(),
            "the canary in the response body"
        );
        let mut cookie = clean.clone();
        cookie.request.headers.append("Cookie", "a=b".into());
        assert_eq!(
            check_interaction(&cookie, &Canary).unwrap_err().to_string(),
            "a `cookie` header in the request"
        );
        // A header value is searched through encodings too, as a body is.
        let mut encoded = clean.clone();
        let hidden = {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode(b"token CANARY here")
        };
        encoded.response.headers.append("X-Debug", hidden);
        assert_eq!(
            check_interaction(&encoded, &Canary)
                .unwrap_err()
                .to_string(),
            "the canary in the response header `x-debug`"
        );
        let mut uri = clean;
        uri.request.uri = "/?t=CANARY".into();
        assert!(check_interaction(&uri, &Canary).is_err());
        assert!(check_bytes(b"{\"x\":\"CANARY\"}", &Canary).is_err());
    }

    #[test]
    fn secrets_in_a_request_query_are_replaced() {
        let call = |uri: &str| exchange("GET", uri);
        let mut placeholders = Placeholders::default();
        let mut sts = call(
            "/?Action=AssumeRoleWithWebIdentity&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr&RoleSessionName=s&WebIdentityToken=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln&Version=2011-06-15",
        );
        assert_eq!(redact_secrets(&mut sts, Some("sts"), &mut placeholders), 1);
        let uri = &sts.request.uri;
        assert!(!uri.contains("eyJhbGci"), "{uri}");
        assert!(uri.starts_with("/?Action=AssumeRoleWithWebIdentity&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr&RoleSessionName=s&WebIdentityToken=REDACTED-"), "{uri}");
        assert!(uri.ends_with("&Version=2011-06-15"), "{uri}");
        let mut iam = call(
            "/?Action=CreateLoginProfile&UserName=bob&Password=IamPassw0rd-Secret&Version=2010-05-08",
        );
        assert_eq!(redact_secrets(&mut iam, Some("iam"), &mut placeholders), 1);
        assert!(
            !iam.request.uri.contains("IamPassw0rd"),
            "{}",
            iam.request.uri
        );
        // A query without secrets is left as it was, byte for byte.
        let plain = "/?Action=GetCallerIdentity&Version=2011-06-15&X=%7e";
        let mut clean = call(plain);
        assert_eq!(
            redact_secrets(&mut clean, Some("sts"), &mut placeholders),
            0
        );
        assert_eq!(clean.request.uri, plain);
    }
}
