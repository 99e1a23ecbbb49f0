//! Sensitive members and the placeholders that stand in for them.
//!
//! Before an interaction is written, every value the service model marks
//! sensitive (the service facts table's sensitive paths, in requests and
//! responses) and every known credential shape (`SecretAccessKey`,
//! `SessionToken`, access key ids, `SecretString`, `SecretBinary`,
//! `Plaintext`) is replaced by a placeholder. The same secret gets the same
//! placeholder throughout one recording, so a replayed `CreateAccessKey`
//! followed by `DeleteAccessKey` still pairs up. Placeholders keep the shape
//! clients parse: an access key id stays 20 characters starting `AKIA` or
//! `ASIA` but holds a `0` no real key id can hold; a secret access key stays
//! 40 characters; a blob stays valid base64.
//!
//! Redaction works on bytes: JSON, XML and form bodies (and a request's
//! query) are scanned, and only the text of a secret value is replaced;
//! every other byte stays as it was. JSON the walk cannot follow is
//! scanned pair by pair, each value judged by its name.

use crate::services::{self, RequestLine, ShapeType};
use std::collections::HashMap;

/// Marks every placeholder, so a placeholder is never redacted again and
/// `cassette check` can tell a redacted value from a leaked one.
pub const PLACEHOLDER_MARK: &str = "REDACTED";

/// What a secret looks like, which decides its placeholder's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Shape {
    AccessKeyId,
    SecretAccessKey,
    SessionToken,
    Blob,
    Text,
}

/// Stable placeholders for one recording: the same secret, the same stand-in.
#[derive(Debug)]
pub struct Placeholders {
    /// Tells this recording's placeholders from those of an earlier one
    /// appended to the same cassette.
    session: u16,
    by_secret: HashMap<(Shape, String), String>,
    next: u32,
}

impl Default for Placeholders {
    fn default() -> Self {
        let session = uuid::Uuid::new_v4().as_u128() as u16;
        Self {
            session,
            by_secret: HashMap::new(),
            next: 0,
        }
    }
}

impl Placeholders {
    fn stand_in(&mut self, shape: Shape, name: &str, secret: &str) -> Option<String> {
        if secret.is_empty() || is_placeholder(secret) {
            return None;
        }
        let key = (shape, secret.to_string());
        if let Some(found) = self.by_secret.get(&key) {
            return Some(found.clone());
        }
        self.next += 1;
        let (s, n) = (self.session, self.next);
        let placeholder = match shape {
            // 20 characters like a key id; `0` is outside the base32
            // alphabet real key ids use, so this can never be one.
            Shape::AccessKeyId => {
                let prefix = secret.get(..4).unwrap_or("ASIA");
                format!("{prefix}REDACT{s:04X}0{:05}", n % 100_000)
            }
            // 40 characters like a secret access key; `-` is outside base64.
            Shape::SecretAccessKey => format!("REDACTED-secret-access-key-{s:04x}{n:09}"),
            Shape::SessionToken => format!("REDACTED-session-token-{s:04x}-{n}"),
            Shape::Blob => {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD
                    .encode(format!("{PLACEHOLDER_MARK}-{s:04x}-{n}"))
            }
            Shape::Text => {
                let name: String = name
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric())
                    .take(40)
                    .collect();
                if name.is_empty() {
                    format!("{PLACEHOLDER_MARK}-{s:04x}-{n}")
                } else {
                    format!("{PLACEHOLDER_MARK}-{name}-{s:04x}-{n}")
                }
            }
        };
        self.by_secret.insert(key, placeholder.clone());
        Some(placeholder)
    }
}

/// Whether a value is one of our placeholders (or base64 of one), in the
/// exact forms [`Placeholders`] writes. A secret that merely holds the
/// word (`"note": "REDACTED in logs"` inside a secret string) is not one,
/// and is replaced like any other.
pub fn is_placeholder(value: &str) -> bool {
    fn text_form(text: &str) -> bool {
        text.strip_prefix(PLACEHOLDER_MARK)
            .and_then(|rest| rest.strip_prefix('-'))
            .is_some_and(|rest| {
                !rest.is_empty()
                    && rest.len() <= 96
                    && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
    }
    // An access key id's stand-in: four letters, `REDACT`, four hex
    // digits, `0` and five digits.
    let key_id_form = |text: &str| {
        let b = text.as_bytes();
        b.len() == 20
            && b[..4].iter().all(u8::is_ascii_uppercase)
            && &b[4..10] == b"REDACT"
            && b[10..14].iter().all(u8::is_ascii_hexdigit)
            && b[14] == b'0'
            && b[15..].iter().all(u8::is_ascii_digit)
    };
    if text_form(value) || key_id_form(value) {
        return true;
    }
    use base64::Engine as _;
    value.len() <= 160
        && base64::engine::general_purpose::STANDARD
            .decode(value)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .is_some_and(|text| text_form(&text))
}

/// An AWS access key id: `AKIA`/`ASIA`/... and 16 base32 characters.
pub fn looks_like_access_key_id(value: &str) -> bool {
    value.len() == 20
        && ["AKIA", "ASIA", "ABIA", "ACCA"]
            .iter()
            .any(|p| value.starts_with(p))
        && value[4..]
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
}

/// One step of a sensitive path pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Seg {
    Key(String),
    AnyIndex,
    AnyKey,
}

/// A sensitive path from the facts table, parsed.
#[derive(Clone, Debug)]
struct Pattern {
    segs: Vec<Seg>,
    shape: ShapeType,
}

fn parse_pattern(path: &str, shape: ShapeType) -> Option<Pattern> {
    let mut rest = path.strip_prefix('$')?;
    let mut segs = Vec::new();
    while !rest.is_empty() {
        if let Some(tail) = rest.strip_prefix("[*]") {
            segs.push(Seg::AnyIndex);
            rest = tail;
        } else if let Some(tail) = rest.strip_prefix('.') {
            let end = tail.find(['.', '[']).unwrap_or(tail.len());
            let name = &tail[..end];
            segs.push(if name == "*" {
                Seg::AnyKey
            } else {
                Seg::Key(name.to_string())
            });
            rest = &tail[end..];
        } else {
            return None;
        }
    }
    Some(Pattern { segs, shape })
}

/// A step of a concrete place in a body.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Key(String),
    Index,
}

/// Words in a member name that say it holds a secret.
const SECRET_WORDS: &[&str] = &[
    "secret",
    "password",
    "passphrase",
    "passwd",
    "token",
    "credential",
    "privatekey",
    "private_key",
    "plaintext",
    "apikey",
    "api_key",
    "presharedkey",
    "keymaterial",
    "keyblock",
    "customerkey",
    "sharedkey",
    "accesskey",
    "signingkey",
    "cookie",
    // Identity providers' tokens, by provider name (Cognito Identity).
    "logins",
];

/// Token-named members that are not secrets: pagination and idempotency
/// tokens, and counts of model tokens.
const NOT_SECRET_WORDS: &[&str] = &[
    "nexttoken",
    "clienttoken",
    "clientrequesttoken",
    "maxtokens",
];

impl Pattern {
    /// Models mark names, descriptions, e-mail addresses and the like
    /// sensitive too (they are kept out of logs); only members that hold a
    /// secret are replaced in a cassette: by their name, blobs, and SSM
    /// parameter values.
    fn holds_a_secret(&self, operation: &str) -> bool {
        let keys: Vec<String> = self
            .segs
            .iter()
            .filter_map(|s| match s {
                Seg::Key(k) => Some(k.to_ascii_lowercase()),
                _ => None,
            })
            .collect();
        let Some(last) = keys.last() else {
            return self.shape == ShapeType::Blob;
        };
        if NOT_SECRET_WORDS.iter().any(|w| last.contains(w)) {
            return false;
        }
        self.shape == ShapeType::Blob
            || keys
                .iter()
                .any(|k| SECRET_WORDS.iter().any(|w| k.contains(w)))
            || (last == "value"
                && (operation.contains("Parameter")
                    || keys.iter().any(|k| k.contains("parameter"))))
    }

    /// Whether `path` is at or below this pattern (everything inside a
    /// sensitive structure is sensitive).
    fn covers(&self, path: &[Step]) -> bool {
        self.segs.len() <= path.len()
            && self
                .segs
                .iter()
                .zip(path)
                .all(|(seg, step)| match (seg, step) {
                    (Seg::Key(a), Step::Key(b)) => a == b,
                    (Seg::AnyIndex, Step::Index) | (Seg::AnyKey, Step::Key(_)) => true,
                    _ => false,
                })
    }

    /// For XML and forms, where lists and maps add wrapper elements: the
    /// pattern's names appear in order among `names`, the last one included.
    fn covers_names(&self, names: &[&str]) -> bool {
        let keys: Vec<&str> = self
            .segs
            .iter()
            .filter_map(|s| match s {
                Seg::Key(k) => Some(k.as_str()),
                _ => None,
            })
            .collect();
        if keys.is_empty() {
            // `$` or only wildcards: the whole body is sensitive.
            return true;
        }
        let mut at = 0;
        for name in names {
            if at < keys.len() && keys[at] == *name {
                at += 1;
            }
        }
        at == keys.len()
    }
}

/// Which side of an exchange a body is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Request,
    Response,
}

/// The sensitive members of one exchange's operation, found in the facts.
#[derive(Clone, Debug, Default)]
pub struct SensitiveMembers {
    input: Vec<Pattern>,
    output: Vec<Pattern>,
    /// Members the model marks sensitive whose own names do not say they
    /// hold a secret (a map such as `AuthParameters`): a value inside one
    /// is replaced when its own name or key says so (`PASSWORD`).
    marked_input: Vec<Pattern>,
    marked_output: Vec<Pattern>,
    /// Request headers (lower case) that carry a sensitive member.
    pub headers: Vec<String>,
}

impl SensitiveMembers {
    /// The sensitive members of the operation a request calls, or none when
    /// the table cannot tell the operation.
    pub fn of(signing_name: Option<&str>, request: RequestLine<'_>) -> &'static Self {
        static NONE: SensitiveMembers = SensitiveMembers {
            input: Vec::new(),
            output: Vec::new(),
            marked_input: Vec::new(),
            marked_output: Vec::new(),
            headers: Vec::new(),
        };
        let facts = services::facts();
        let op: Option<&services::Operation> = match facts.service_of(signing_name, request) {
            Some(service) => service.operation_of(request),
            // A recorded rest request names no service: the rest operation
            // with secret inputs whose template fits best, if any.
            None if request.target.is_none() => rest_with_secrets()
                .iter()
                .filter(|(method, _, _)| method.eq_ignore_ascii_case(request.method))
                .filter_map(|(_, template, op)| {
                    Some((template.score(request.path, request.query)?, *op))
                })
                .max_by_key(|(score, _)| *score)
                .map(|(_, op)| op),
            None => None,
        };
        op.and_then(|op| by_operation().get(&(op as *const services::Operation as usize)))
            .unwrap_or(&NONE)
    }

    fn of_operation(op: &services::Operation) -> Self {
        if op.sensitive_input().is_empty()
            && op.sensitive_output().is_empty()
            && op.header_members().is_empty()
        {
            return Self::default();
        }
        // (holding a secret by name, only marked)
        let split = |members: &mut dyn Iterator<Item = (&str, ShapeType)>| {
            members
                .filter_map(|(p, s)| parse_pattern(p, s))
                .partition::<Vec<_>, _>(|p| p.holds_a_secret(&op.name))
        };
        let (input, marked_input) = split(&mut op.sensitive_input_members());
        let (output, marked_output) = split(&mut op.sensitive_output_members());
        Self {
            input,
            output,
            marked_input,
            marked_output,
            headers: op.sensitive_headers().collect(),
        }
    }

    fn patterns(&self, side: Side) -> (&[Pattern], &[Pattern]) {
        match side {
            Side::Request => (&self.input, &self.marked_input),
            Side::Response => (&self.output, &self.marked_output),
        }
    }
}

/// What matching compares in place of a sensitive request value: the
/// recorded request holds a placeholder where the live one holds the secret.
pub const MASKED: &str = "(sensitive)";

/// Whether a member name always holds a secret (not access key ids, which
/// are identifiers that replayed calls pass back as placeholders).
fn secret_name(name: &str) -> bool {
    matches!(
        known_shape(name, ""),
        Some(Shape::SecretAccessKey | Shape::SessionToken | Shape::Text | Shape::Blob)
    )
}

impl SensitiveMembers {
    /// Sets every sensitive value of a JSON request body to [`MASKED`].
    pub fn mask_json(&self, value: &mut serde_json::Value) {
        let mut path = Vec::new();
        mask_walk(value, &mut path, self.patterns(Side::Request));
    }

    /// Whether [`SensitiveMembers::mask_json`] would change anything.
    pub fn touches_json(&self, value: &serde_json::Value) -> bool {
        let mut copy_needed = false;
        let mut path = Vec::new();
        touch_walk(
            value,
            &mut path,
            self.patterns(Side::Request),
            &mut copy_needed,
        );
        copy_needed
    }

    /// Whether a form pair's key names a sensitive input member.
    pub fn masks_form_key(&self, key: &str) -> bool {
        let names = form_names(key);
        let name = names.last().copied().unwrap_or("");
        secret_name(name)
            || is_secret(
                name,
                covering(self.patterns(Side::Request), |p| p.covers_names(&names)),
            )
    }
}

/// Whether the string at `path` is masked: a secret by its name, or by
/// what covers it.
fn masked_at(path: &[Step], patterns: (&[Pattern], &[Pattern])) -> bool {
    let name = match path.last() {
        Some(Step::Key(k)) => k.as_str(),
        _ => "",
    };
    secret_name(name) || is_secret(name, covering(patterns, |p| p.covers(path)))
}

fn touch_walk(
    value: &serde_json::Value,
    path: &mut Vec<Step>,
    patterns: (&[Pattern], &[Pattern]),
    hit: &mut bool,
) {
    use serde_json::Value;
    if *hit {
        return;
    }
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                path.push(Step::Key(key.clone()));
                touch_walk(child, path, patterns, hit);
                path.pop();
            }
        }
        Value::Array(items) => {
            for child in items {
                path.push(Step::Index);
                touch_walk(child, path, patterns, hit);
                path.pop();
            }
        }
        Value::String(_) => *hit = masked_at(path, patterns),
        _ => {}
    }
}

fn mask_walk(
    value: &mut serde_json::Value,
    path: &mut Vec<Step>,
    patterns: (&[Pattern], &[Pattern]),
) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                path.push(Step::Key(key.clone()));
                mask_walk(child, path, patterns);
                path.pop();
            }
        }
        Value::Array(items) => {
            for child in items {
                path.push(Step::Index);
                mask_walk(child, path, patterns);
                path.pop();
            }
        }
        Value::String(text) if masked_at(path, patterns) => *text = MASKED.to_string(),
        _ => {}
    }
}

/// The sensitive members of every operation that has any, parsed once; keyed
/// by the operation's address in the static table.
fn by_operation() -> &'static HashMap<usize, SensitiveMembers> {
    static INDEX: std::sync::OnceLock<HashMap<usize, SensitiveMembers>> =
        std::sync::OnceLock::new();
    INDEX.get_or_init(|| {
        let mut out = HashMap::new();
        for service in services::facts().services() {
            for op in service.operations() {
                let members = SensitiveMembers::of_operation(op);
                if !(members.input.is_empty()
                    && members.output.is_empty()
                    && members.marked_input.is_empty()
                    && members.marked_output.is_empty()
                    && members.headers.is_empty())
                {
                    out.insert(op as *const services::Operation as usize, members);
                }
            }
        }
        out
    })
}

type RestSecrets = Vec<(String, services::UriTemplate, &'static services::Operation)>;

/// Every restJson/restXml operation with an input member that holds a secret.
fn rest_with_secrets() -> &'static RestSecrets {
    static INDEX: std::sync::OnceLock<RestSecrets> = std::sync::OnceLock::new();
    INDEX.get_or_init(|| {
        let mut out = Vec::new();
        for service in services::facts().services() {
            if !service.protocol().is_rest() {
                continue;
            }
            for op in service.operations() {
                if let Some((method, template)) = &op.http {
                    let key = op as *const services::Operation as usize;
                    if by_operation()
                        .get(&key)
                        .is_some_and(|m| !(m.input.is_empty() && m.marked_input.is_empty()))
                    {
                        out.push((method.clone(), template.clone(), op));
                    }
                }
            }
        }
        out
    })
}

/// `name` in lower case without `_` and `-` (`NEW_PASSWORD` and
/// `newPassword` are both `newpassword`), written into `buffer`; `None`
/// for a name longer than it (no known credential name is).
fn folded<'b>(name: &str, buffer: &'b mut [u8; 64]) -> Option<&'b str> {
    let mut len = 0;
    for b in name.bytes().filter(|b| *b != b'_' && *b != b'-') {
        *buffer.get_mut(len)? = b.to_ascii_lowercase();
        len += 1;
    }
    std::str::from_utf8(&buffer[..len]).ok()
}

/// Member names that hold credentials or secrets in any service, whatever
/// the model marks: compared in lower case, without `_` and `-`. Some
/// services hand out credentials in members their models do not mark
/// sensitive (ECR's and CodeArtifact's `authorizationToken`, Lightsail's
/// `password` and `privateKey`, License Manager's `AccessToken`).
fn known_shape(name: &str, value: &str) -> Option<Shape> {
    let mut buffer = [0; 64];
    let shape = match folded(name, &mut buffer).unwrap_or("") {
        "secretaccesskey" => Some(Shape::SecretAccessKey),
        "sessiontoken" => Some(Shape::SessionToken),
        "secretstring" | "password" | "newpassword" | "oldpassword" | "previouspassword"
        | "proposedpassword" | "temporarypassword" | "masteruserpassword" | "privatekey"
        | "clientsecret" | "accesstoken" | "refreshtoken" | "idtoken" | "samlassertion" => {
            Some(Shape::Text)
        }
        // Base64 that clients decode (an ECR token is `AWS:password`).
        "secretbinary" | "plaintext" | "authorizationtoken" => Some(Shape::Blob),
        _ => None,
    };
    shape.or_else(|| looks_like_access_key_id(value).then_some(Shape::AccessKeyId))
}

/// Whether a member name or map key says its value is a secret
/// (`PASSWORD`, `SECRET_HASH`, `REFRESH_TOKEN`): for values inside what a
/// model marks sensitive.
fn names_a_secret(name: &str) -> bool {
    let long: String;
    let mut buffer = [0; 64];
    let name = match folded(name, &mut buffer) {
        Some(name) => name,
        // Too long for the buffer (a map key can be): folded on the heap.
        None => {
            long = name
                .bytes()
                .filter(|b| *b != b'_' && *b != b'-')
                .map(|b| char::from(b.to_ascii_lowercase()))
                .collect();
            &long
        }
    };
    // (the words with `_` never match a folded name; their forms without
    // it are in the list too)
    !NOT_SECRET_WORDS.iter().any(|w| name.contains(w))
        && SECRET_WORDS.iter().any(|w| name.contains(w))
}

/// What covers a place in a body: a member that holds a secret (with its
/// shape), or only one the model marks sensitive.
fn covering(
    (secret, marked): (&[Pattern], &[Pattern]),
    covers: impl Fn(&Pattern) -> bool,
) -> Covered {
    match secret.iter().find(|p| covers(p)) {
        Some(p) => Covered::Secret(p.shape),
        None if marked.iter().any(covers) => Covered::Marked,
        None => Covered::Not,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Covered {
    Secret(ShapeType),
    Marked,
    Not,
}

/// Whether the value named `name` at a place so covered is replaced (or,
/// in a request matched against a recording, masked).
fn is_secret(name: &str, covered: Covered) -> bool {
    match covered {
        Covered::Secret(_) => true,
        Covered::Marked => names_a_secret(name),
        Covered::Not => false,
    }
}

/// Decides the placeholder for a value at a place in a body.
struct Decider<'a> {
    patterns: (&'a [Pattern], &'a [Pattern]),
    placeholders: &'a mut Placeholders,
}

impl Decider<'_> {
    /// The placeholder for `value`, named `name`, at a place `covers`
    /// tells about; `None` to keep it.
    fn decide(
        &mut self,
        name: &str,
        covers: impl Fn(&Pattern) -> bool,
        value: &str,
    ) -> Option<String> {
        let covered = covering(self.patterns, covers);
        let shape = match (known_shape(name, value), covered) {
            (Some(shape), _) => shape,
            (None, Covered::Secret(ShapeType::Blob)) => Shape::Blob,
            (None, Covered::Secret(ShapeType::String | ShapeType::Aggregate)) => Shape::Text,
            (None, Covered::Marked) if names_a_secret(name) => Shape::Text,
            _ => return None,
        };
        self.placeholders.stand_in(shape, name, value)
    }
}

/// Replaces sensitive values in a body's bytes; returns how many. Bodies
/// that are neither JSON, XML nor a form are left as they are.
pub fn redact_body(
    bytes: &mut Vec<u8>,
    content_type: Option<&str>,
    members: &SensitiveMembers,
    side: Side,
    placeholders: &mut Placeholders,
) -> usize {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let edits: fn(&[u8], &mut Decider<'_>) -> Edits = match first {
        Some(b'{') | Some(b'[') => json_edits,
        Some(b'<') => xml_edits,
        _ if crate::form::is_form(content_type) => form_edits,
        _ => return 0,
    };
    replace(bytes, edits, members.patterns(side), placeholders)
}

/// Replaces in `bytes` what `edits` finds; how many values (one edit a
/// value, also one that two passes decided on).
fn replace(
    bytes: &mut Vec<u8>,
    edits: fn(&[u8], &mut Decider<'_>) -> Edits,
    patterns: (&[Pattern], &[Pattern]),
    placeholders: &mut Placeholders,
) -> usize {
    let mut decider = Decider {
        patterns,
        placeholders,
    };
    let edits = edits(bytes, &mut decider);
    let count = edits.len();
    apply(bytes, edits);
    count
}

/// Replaces sensitive pairs of a request URI's query (a query-protocol
/// call sent as a GET carries its parameters there: `WebIdentityToken`,
/// `Password`), as in a form body; returns how many.
pub fn redact_query(
    query: &mut Vec<u8>,
    members: &SensitiveMembers,
    placeholders: &mut Placeholders,
) -> usize {
    replace(
        query,
        form_edits,
        members.patterns(Side::Request),
        placeholders,
    )
}

/// (start, end, replacement) byte ranges, in order, not overlapping.
type Edits = Vec<(usize, usize, Vec<u8>)>;

fn apply(bytes: &mut Vec<u8>, edits: Edits) {
    if edits.is_empty() {
        return;
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    for (start, end, replacement) in edits {
        out.extend_from_slice(&bytes[at..start]);
        out.extend_from_slice(&replacement);
        at = end;
    }
    out.extend_from_slice(&bytes[at..]);
    *bytes = out;
}

const MAX_DEPTH: usize = 256;

/// Walks JSON bytes, recording a replacement for each sensitive string.
struct JsonWalk<'a, 'd> {
    bytes: &'a [u8],
    pos: usize,
    path: Vec<Step>,
    edits: Edits,
    decider: &'a mut Decider<'d>,
}

fn json_edits(bytes: &[u8], decider: &mut Decider<'_>) -> Edits {
    let mut walk = JsonWalk {
        bytes,
        pos: 0,
        path: Vec::new(),
        edits: Vec::new(),
        decider,
    };
    match walk.value(0) {
        Some(()) => walk.edits,
        // JSON the walk cannot follow (a string serde_json refuses, nesting
        // past `MAX_DEPTH`, a body cut short) may still hold a credential:
        // what the walk found before it stopped, and every pair after,
        // judged by its name.
        None => {
            let mut edits = walk.edits;
            let found = edits.len();
            for edit in json_pair_edits(bytes, decider) {
                let overlaps = edits[..found]
                    .iter()
                    .any(|(start, end, _)| edit.0 < *end && *start < edit.1);
                if !overlaps {
                    edits.push(edit);
                }
            }
            edits.sort_by_key(|(start, _, _)| *start);
            edits
        }
    }
}

/// The end (past the closing quote) of the JSON string token whose
/// opening quote is at `start`.
fn string_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    loop {
        match bytes.get(i)? {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
}

/// A string token's text, its escapes undone as far as they go (an escape
/// serde_json refuses, such as a lone surrogate, is kept as written).
fn lenient_text(token: &[u8]) -> String {
    serde_json::from_slice(token).unwrap_or_else(|_| {
        let inner = token.get(1..token.len().saturating_sub(1)).unwrap_or(&[]);
        String::from_utf8_lossy(&super::redact::json_unescape(inner)).into_owned()
    })
}

/// Every `"name": "value"` pair of JSON-like bytes, found token by token
/// without following the structure; a value is replaced when its name
/// alone says it is a secret.
fn json_pair_edits(bytes: &[u8], decider: &mut Decider<'_>) -> Edits {
    let mut edits = Vec::new();
    let skip_ws = |mut at: usize| {
        while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
            at += 1;
        }
        at
    };
    let mut pos = 0;
    while let Some(quote) = bytes.get(pos..).and_then(|rest| memchr::memchr(b'"', rest)) {
        let start = pos + quote;
        let Some(end) = string_end(bytes, start) else {
            break;
        };
        pos = end;
        let colon = skip_ws(end);
        if bytes.get(colon) != Some(&b':') {
            continue;
        }
        let value_start = skip_ws(colon + 1);
        if bytes.get(value_start) != Some(&b'"') {
            pos = value_start;
            continue;
        }
        let Some(value_end) = string_end(bytes, value_start) else {
            break;
        };
        let name = lenient_text(&bytes[start..end]);
        let value = lenient_text(&bytes[value_start..value_end]);
        if let Some(placeholder) = decider.decide(&name, |_| false, &value) {
            if let Ok(encoded) = serde_json::to_vec(&placeholder) {
                edits.push((value_start, value_end, encoded));
            }
        }
        pos = value_end;
    }
    edits
}

impl JsonWalk<'_, '_> {
    fn ws(&mut self) {
        while self
            .bytes
            .get(self.pos)
            .is_some_and(u8::is_ascii_whitespace)
        {
            self.pos += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        self.ws();
        (self.bytes.get(self.pos) == Some(&byte)).then(|| self.pos += 1)
    }

    /// The span of a string token, quotes included.
    fn string_span(&mut self) -> Option<(usize, usize)> {
        self.ws();
        let start = self.pos;
        if self.bytes.get(start) != Some(&b'"') {
            return None;
        }
        let end = string_end(self.bytes, start)?;
        self.pos = end;
        Some((start, end))
    }

    fn value(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.ws();
        match *self.bytes.get(self.pos)? {
            b'{' => {
                self.pos += 1;
                if self.eat(b'}').is_some() {
                    return Some(());
                }
                loop {
                    let (s, e) = self.string_span()?;
                    let key: String = serde_json::from_slice(&self.bytes[s..e]).ok()?;
                    self.eat(b':')?;
                    self.path.push(Step::Key(key));
                    self.value(depth + 1)?;
                    self.path.pop();
                    if self.eat(b',').is_some() {
                        continue;
                    }
                    return self.eat(b'}');
                }
            }
            b'[' => {
                self.pos += 1;
                if self.eat(b']').is_some() {
                    return Some(());
                }
                loop {
                    self.path.push(Step::Index);
                    self.value(depth + 1)?;
                    self.path.pop();
                    if self.eat(b',').is_some() {
                        continue;
                    }
                    return self.eat(b']');
                }
            }
            b'"' => {
                let (s, e) = self.string_span()?;
                let value: String = serde_json::from_slice(&self.bytes[s..e]).ok()?;
                let name = self.path.iter().rev().find_map(|step| match step {
                    Step::Key(k) => Some(k.as_str()),
                    Step::Index => None,
                });
                let name = name.unwrap_or("").to_string();
                let path = &self.path;
                if let Some(placeholder) = self.decider.decide(&name, |p| p.covers(path), &value) {
                    let encoded = serde_json::to_vec(&placeholder).ok()?;
                    self.edits.push((s, e, encoded));
                }
                Some(())
            }
            _ => {
                let start = self.pos;
                while self
                    .bytes
                    .get(self.pos)
                    .is_some_and(|b| !b",]} \t\r\n".contains(b))
                {
                    self.pos += 1;
                }
                (self.pos > start).then_some(())
            }
        }
    }
}

/// Replaces the text of sensitive leaf elements of an XML document.
fn xml_edits(bytes: &[u8], decider: &mut Decider<'_>) -> Edits {
    let mut edits = Vec::new();
    let mut stack: Vec<&str> = Vec::new();
    let mut text_start: Option<usize> = None;
    let mut pos = 0;
    let find = |from: usize, needle: &[u8]| {
        bytes
            .get(from..)?
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|p| p + from)
    };
    while let Some(lt) = find(pos, b"<") {
        let rest = &bytes[lt..];
        if rest.starts_with(b"<![CDATA[") {
            // CDATA is text: the leaf's text runs on to the end tag.
            pos = find(lt, b"]]>").map_or(bytes.len(), |e| e + 3);
            continue;
        }
        if rest.starts_with(b"<?") || rest.starts_with(b"<!") {
            let close: &[u8] = if rest.starts_with(b"<!--") {
                b"-->"
            } else if rest.starts_with(b"<?") {
                b"?>"
            } else {
                b">"
            };
            pos = find(lt, close).map_or(bytes.len(), |e| e + close.len());
            continue;
        }
        let Some(gt) = find(lt, b">") else { break };
        let tag = std::str::from_utf8(&bytes[lt + 1..gt]).unwrap_or("");
        if let Some(name) = tag.strip_prefix('/') {
            let name = local_name(name.trim());
            if let (Some(start), Some(&open)) = (text_start, stack.last()) {
                if open == name {
                    let text = std::str::from_utf8(&bytes[start..lt]).unwrap_or("");
                    let value = xml_unescape(text);
                    let covers = |p: &Pattern| p.covers_names(&stack);
                    if let Some(placeholder) = decider.decide(name, covers, &value) {
                        edits.push((start, lt, placeholder.into_bytes()));
                    }
                }
            }
            if let Some(at) = stack.iter().rposition(|n| *n == name) {
                stack.truncate(at);
            }
            text_start = None;
        } else if tag.ends_with('/') {
            text_start = None;
        } else {
            let name = tag
                .split(|c: char| c.is_ascii_whitespace())
                .next()
                .unwrap_or("");
            stack.push(local_name(name));
            text_start = Some(gt + 1);
        }
        pos = gt + 1;
    }
    edits
}

fn local_name(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

fn xml_unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// Replaces sensitive pairs of a form-encoded body (`Password=...`,
/// `Tags.member.1.Value=...`).
fn form_edits(bytes: &[u8], decider: &mut Decider<'_>) -> Edits {
    let mut edits = Vec::new();
    let mut start = 0;
    for pair in bytes.split(|b| *b == b'&') {
        let end = start + pair.len();
        if let Some(eq) = pair.iter().position(|b| *b == b'=') {
            let key = crate::form::field(&pair[..eq]);
            let value = crate::form::field(&pair[eq + 1..]);
            let names = form_names(&key);
            let name = names.last().copied().unwrap_or("");
            let covers = |p: &Pattern| p.covers_names(&names);
            if let Some(placeholder) = decider.decide(name, covers, &value) {
                edits.push((start + eq + 1, end, form_encode(&placeholder).into_bytes()));
            }
        }
        start = end + 1;
    }
    edits
}

/// The member names a form key walks (`Tags.member.1.Value`: `Tags`,
/// `Value`), without list indexes and `member` wrappers.
fn form_names(key: &str) -> Vec<&str> {
    key.split('.')
        .filter(|s| !s.is_empty() && !s.bytes().all(|b| b.is_ascii_digit()) && *s != "member")
        .collect()
}

fn form_encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(service: &str, op: &str) -> SensitiveMembers {
        let op = services::facts()
            .service(service)
            .and_then(|s| s.operation(op))
            .unwrap();
        SensitiveMembers::of_operation(op)
    }

    #[test]
    fn only_members_that_hold_secrets_are_replaced() {
        let m = members("proton", "GetEnvironmentTemplate");
        assert!(m.output.is_empty(), "{:?}", m.output);
        let mut body =
            br#"{"environmentTemplate":{"name":"web","displayName":"Web","description":"d"}}"#
                .to_vec();
        let before = body.clone();
        let mut p = Placeholders::default();
        assert_eq!(redact_body(&mut body, None, &m, Side::Response, &mut p), 0);
        assert_eq!(body, before);
        let ssm = members("ssm", "GetParameter");
        assert_eq!(ssm.output.len(), 1);
        assert_eq!(members("ssm", "PutParameter").input.len(), 1);
        let cognito = members("cognito-idp", "InitiateAuth");
        assert!(!cognito.output.is_empty());
        // A rest request found without its service: by method and template.
        let line = RequestLine {
            method: "POST",
            path: "/create-connector-profile",
            ..Default::default()
        };
        let found = SensitiveMembers::of(None, line);
        let appflow = members("appflow", "CreateConnectorProfile");
        assert!(!appflow.input.is_empty());
        assert_eq!(found.input.len(), appflow.input.len());
        let mut body = br#"{"connectorProfileName":"p","connectorProfileConfig":{"connectorProfileCredentials":{"Redshift":{"username":"u","password":"pw-1234"}}}}"#.to_vec();
        let mut p = Placeholders::default();
        assert_eq!(
            redact_body(&mut body, None, found, Side::Request, &mut p),
            1
        );
        assert!(!String::from_utf8(body).unwrap().contains("pw-1234"));
    }

    #[test]
    fn json_secrets_are_replaced_and_every_other_byte_kept() {
        let body = br#"{ "ARN":"arn:aws:secretsmanager:us-east-1:1:secret:x",
  "SecretString" : "hunter2\"q", "SecretBinary":"c2VjcmV0", "n": [1, true, null] }"#;
        let mut bytes = body.to_vec();
        let mut p = Placeholders::default();
        let m = members("secretsmanager", "GetSecretValue");
        assert_eq!(redact_body(&mut bytes, None, &m, Side::Response, &mut p), 2);
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            !text.contains("hunter2") && !text.contains("c2VjcmV0"),
            "{text}"
        );
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert!(
            value["SecretString"]
                .as_str()
                .unwrap()
                .starts_with("REDACTED-SecretString-")
        );
        use base64::Engine as _;
        let blob = base64::engine::general_purpose::STANDARD
            .decode(value["SecretBinary"].as_str().unwrap())
            .unwrap();
        assert!(blob.starts_with(b"REDACTED"));
        // Only the two values changed.
        let before = String::from_utf8_lossy(body);
        assert!(text.starts_with(r#"{ "ARN":"arn:aws:secretsmanager:us-east-1:1:secret:x","#));
        assert!(
            text.ends_with(r#", "n": [1, true, null] }"#),
            "{before} -> {text}"
        );
        // The same secret gets the same placeholder; a second pass changes nothing.
        let mut again = body.to_vec();
        redact_body(&mut again, None, &m, Side::Response, &mut p);
        assert_eq!(again, bytes);
        assert_eq!(redact_body(&mut again, None, &m, Side::Response, &mut p), 0);
    }

    #[test]
    fn sts_xml_credentials_get_parseable_placeholders() {
        let body = "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n<AssumeRoleResult><Credentials>\n<AccessKeyId>ASIAQWERTYUIOPASDFGH</AccessKeyId>\n<SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>\n<SessionToken>FwoGZXIvYXdzEJr//////////wEaDE+token=</SessionToken>\n<Expiration>2026-12-01T16:00:00Z</Expiration></Credentials>\n<AssumedRoleUser><Arn>arn:aws:sts::1:assumed-role/r/s</Arn></AssumedRoleUser></AssumeRoleResult></AssumeRoleResponse>";
        let mut bytes = body.as_bytes().to_vec();
        let mut p = Placeholders::default();
        let m = members("sts", "AssumeRole");
        assert_eq!(redact_body(&mut bytes, None, &m, Side::Response, &mut p), 3);
        let text = String::from_utf8(bytes).unwrap();
        let between = |tag: &str| {
            let open = format!("<{tag}>");
            let s = text.find(&open).unwrap() + open.len();
            let e = text[s..].find('<').unwrap() + s;
            text[s..e].to_string()
        };
        let akid = between("AccessKeyId");
        assert_eq!(akid.len(), 20);
        assert!(
            akid.starts_with("ASIA") && !looks_like_access_key_id(&akid),
            "{akid}"
        );
        assert_eq!(between("SecretAccessKey").len(), 40);
        assert!(between("SessionToken").starts_with("REDACTED-session-token-"));
        assert_eq!(between("Expiration"), "2026-12-01T16:00:00Z");
        assert!(text.contains("arn:aws:sts::1:assumed-role/r/s"));
        assert!(crate::cassette::secrets::scan(&text).is_empty(), "{text}");
    }

    #[test]
    fn form_passwords_are_replaced_url_encoded() {
        let body =
            b"Action=CreateLoginProfile&UserName=bob&Password=p%40ss+word&Version=2010-05-08";
        let mut bytes = body.to_vec();
        let mut p = Placeholders::default();
        let m = members("iam", "CreateLoginProfile");
        let n = redact_body(
            &mut bytes,
            Some("application/x-www-form-urlencoded; charset=utf-8"),
            &m,
            Side::Request,
            &mut p,
        );
        assert_eq!(n, 1);
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            text.starts_with("Action=CreateLoginProfile&UserName=bob&Password=REDACTED-Password-")
        );
        assert!(text.ends_with("&Version=2010-05-08"));
    }

    /// Redacts `body` as `service`'s `op` would see it on `side`; the text
    /// after, and how many values were replaced.
    fn redacted(service: &str, op: &str, side: Side, body: &str) -> (String, usize) {
        let mut bytes = body.as_bytes().to_vec();
        let mut p = Placeholders::default();
        let count = redact_body(&mut bytes, None, &members(service, op), side, &mut p);
        (String::from_utf8(bytes).unwrap(), count)
    }

    #[test]
    fn credentials_in_members_no_model_marks_are_replaced() {
        // ECR's docker password (base64 of `AWS:...`) stays base64.
        let (text, n) = redacted(
            "ecr",
            "GetAuthorizationToken",
            Side::Response,
            r#"{"authorizationData":[{"authorizationToken":"QVdTOmV5SnpaV055WlhRaU9pSjRJbjA9","expiresAt":1.7E9,"proxyEndpoint":"https://1.dkr.ecr.us-east-1.amazonaws.com"}]}"#,
        );
        assert_eq!(n, 1);
        assert!(!text.contains("QVdTOmV5"), "{text}");
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let token = value["authorizationData"][0]["authorizationToken"]
            .as_str()
            .unwrap();
        assert!(is_placeholder(token), "{token}");
        assert!(text.ends_with(
            r#""expiresAt":1.7E9,"proxyEndpoint":"https://1.dkr.ecr.us-east-1.amazonaws.com"}]}"#
        ));
        let (text, n) = redacted(
            "lightsail",
            "GetInstanceAccessDetails",
            Side::Response,
            r#"{"accessDetails":{"username":"admin","password":"Lightsail-pw-1","privateKey":"-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----"}}"#,
        );
        assert_eq!(n, 2, "{text}");
        assert!(!text.contains("Lightsail-pw-1") && !text.contains("MIIE"));
        assert!(text.contains(r#""username":"admin""#));
        // A SAML assertion is a bearer credential, in a form body.
        let mut form = b"Action=AssumeRoleWithSAML&RoleArn=arn%3Ar&SAMLAssertion=PHNhbWxwOlJlc3BvbnNl&Version=2011-06-15".to_vec();
        let mut p = Placeholders::default();
        let m = members("sts", "AssumeRoleWithSAML");
        let content_type = Some("application/x-www-form-urlencoded");
        assert_eq!(
            redact_body(&mut form, content_type, &m, Side::Request, &mut p),
            1
        );
        let form = String::from_utf8(form).unwrap();
        assert!(!form.contains("PHNhbWxw"), "{form}");
    }

    #[test]
    fn secrets_keyed_inside_a_sensitive_map_are_replaced_and_masked_alike() {
        let body = r#"{"AuthFlow":"USER_PASSWORD_AUTH","ClientId":"abc","AuthParameters":{"USERNAME":"bob","PASSWORD":"Hunter2-pw","SECRET_HASH":"c2VjcmV0aGFzaA=="}}"#;
        let (text, n) = redacted("cognito-idp", "InitiateAuth", Side::Request, body);
        assert_eq!(n, 2, "{text}");
        assert!(!text.contains("Hunter2-pw") && !text.contains("c2VjcmV0aGFzaA"));
        assert!(text.contains(r#""USERNAME":"bob""#), "{text}");
        // Matching masks what the recording replaced, and nothing else.
        let m = members("cognito-idp", "InitiateAuth");
        let mut live: serde_json::Value = serde_json::from_str(body).unwrap();
        let mut recorded: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(m.touches_json(&live));
        m.mask_json(&mut live);
        m.mask_json(&mut recorded);
        assert_eq!(live, recorded);
        assert_eq!(live["AuthParameters"]["USERNAME"], "bob");
        // An identity provider's token, keyed by provider.
        let (text, n) = redacted(
            "cognito-identity",
            "GetOpenIdToken",
            Side::Request,
            r#"{"IdentityId":"us-east-1:1","Logins":{"accounts.google.com":"eyJhbGciOi.id-token.sig"}}"#,
        );
        assert_eq!(n, 1);
        assert!(!text.contains("eyJhbGciOi"), "{text}");
    }

    #[test]
    fn a_secret_that_mentions_redaction_is_still_replaced() {
        let secret = r#"{"password":"Pr0d-DB-Passw0rd!","note":"REDACTED in app logs"}"#;
        let body = serde_json::json!({"Name": "db", "SecretString": secret}).to_string();
        let (text, n) = redacted("secretsmanager", "GetSecretValue", Side::Response, &body);
        assert_eq!(n, 1);
        assert!(!text.contains("Pr0d-DB-Passw0rd"), "{text}");
        // Every placeholder form is known as one, so a second pass keeps them.
        let mut p = Placeholders::default();
        for shape in [
            Shape::AccessKeyId,
            Shape::SecretAccessKey,
            Shape::SessionToken,
            Shape::Blob,
            Shape::Text,
        ] {
            let stand_in = p
                .stand_in(shape, "Secret_String", "AKIAIOSFODNN7EXAMPLE")
                .unwrap();
            assert!(is_placeholder(&stand_in), "{shape:?}: {stand_in}");
        }
        for not_one in [
            "REDACTED in app logs",
            "REDACTED",
            "xREDACTED-1",
            "AKIAREDACT",
        ] {
            assert!(!is_placeholder(not_one), "{not_one}");
        }
    }

    #[test]
    fn credentials_in_json_the_walk_cannot_follow_are_still_replaced() {
        let credentials = r#""Credentials":{"AccessKeyId":"ASIAQWERTYUIOPASDFGH","SecretAccessKey":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY","SessionToken":"FwoGZXIvYXdzEJr//////////wEaDE+tok="}"#;
        let deep = format!("{}1{}", "[".repeat(300), "]".repeat(300));
        for (what, body) in [
            // A lone surrogate, which serde_json refuses.
            (
                "a lone surrogate",
                format!(r#"{{"Arn":"x\udc00",{credentials}}}"#),
            ),
            (
                "a raw tab in a string",
                format!("{{\"Note\":\"a\tb\",{credentials}}}"),
            ),
            (
                "nesting past the walk's depth",
                format!(r#"{{"Deep":{deep},{credentials}}}"#),
            ),
            ("a body cut short", format!(r#"{{{credentials},"More":["#)),
        ] {
            let (text, n) = redacted("sts", "AssumeRole", Side::Response, &body);
            assert_eq!(n, 3, "{what}: {text}");
            for secret in ["QWERTYUIOPASDFGH", "wJalrXUtnFEMI", "FwoGZXIvYXdz"] {
                assert!(!text.contains(secret), "{what}: {text}");
            }
            // What is around the three values is kept.
            let (head, tail) = (&body[..8], &body[body.len() - 2..]);
            assert!(
                text.starts_with(head) && text.ends_with(tail),
                "{what}: {text}"
            );
        }
    }
}
