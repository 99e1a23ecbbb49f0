//! Reading a cassette file in pieces. The file is read through a window of
//! about a megabyte and each interaction is parsed from the window and
//! turned into the model before the next is read, so loading holds the
//! model and one window, never the whole file next to the model it becomes
//! (a cassette of a hundred thousand interactions would otherwise peak at
//! more than twice its size).
//!
//! serde_json parses every value (the interactions, the other top-level
//! members); this file reads only the punctuation of the top-level object and
//! of the `interactions` array between them, and gives errors the line and
//! column in the whole file.

use super::format::{BodyArena, BodyIn, InteractionFile, ProvenanceFile, Version};
use super::model::{Cassette, Interaction, Provenance};
use super::store::{CassetteError, check_format};
use serde::de::{DeserializeOwned, IgnoredAny};
use std::io::Read;
use std::path::Path;

/// How much is read at a time; the window grows beyond it only to hold an
/// interaction larger than it.
const WINDOW: usize = 1 << 20;

/// How close to the end of the window a parse error must be to be taken as
/// the window cutting a value short (a number or literal cut in two is a
/// syntax error, not an early end, to serde_json).
const CUT_MARGIN: usize = 16;

/// Reads a cassette (format 1 or 2) from `source`, which holds at most
/// `limit` bytes; `observe` sees every byte read, in order. `path` is only
/// used in errors.
pub(super) fn read(
    path: &Path,
    source: impl Read,
    limit: u64,
    observe: impl FnMut(&[u8]),
) -> Result<(Cassette, Version), CassetteError> {
    read_in_windows(path, source, limit, observe, WINDOW)
}

/// [`read`] with the window's least size given.
fn read_in_windows(
    path: &Path,
    source: impl Read,
    limit: u64,
    observe: impl FnMut(&[u8]),
    window: usize,
) -> Result<(Cassette, Version), CassetteError> {
    let mut window = Window {
        path,
        source,
        observe,
        limit,
        window,
        read: 0,
        buf: Vec::new(),
        pos: 0,
        end: 0,
        eof: false,
        line: 1,
        column: 0,
    };
    window.cassette()
}

struct Window<'p, R, O> {
    path: &'p Path,
    source: R,
    observe: O,
    limit: u64,
    /// The least size of `buf`.
    window: usize,
    /// Bytes read from `source` so far.
    read: u64,
    buf: Vec<u8>,
    /// The next byte to parse.
    pos: usize,
    /// The end of the bytes read into `buf`.
    end: usize,
    /// `source` has no more bytes.
    eof: bool,
    /// The 1-based line and the 0-based column of `buf[0]` in the file.
    line: usize,
    column: usize,
}

/// One attempt at parsing a value at the start of the window.
enum Attempt<T> {
    /// The value and how many bytes it took.
    Parsed(T, usize),
    /// The window ends before the value does.
    More,
    Json(serde_json::Error),
    /// The value parsed but does not make a valid cassette.
    Invalid(String),
}

/// What kind of problem an error is, for its message.
enum Problem {
    Syntax,
    Data,
    Eof,
}

/// The members of the top-level object, as they are read.
#[derive(Default)]
struct Members {
    version: Option<Version>,
    name: Option<String>,
    provenance: Option<Provenance>,
    interactions: Option<Vec<Interaction>>,
    /// Interactions read before `format`, kept as text until it says what
    /// their bodies mean, with where each starts (line, column).
    deferred: Vec<(Vec<u8>, usize, usize)>,
    bodies: BodyArena,
}

impl<R: Read, O: FnMut(&[u8])> Window<'_, R, O> {
    fn cassette(&mut self) -> Result<(Cassette, Version), CassetteError> {
        if self.peek()? != Some(b'{') {
            return Err(self.unexpected("the cassette object, `{`"));
        }
        self.pos += 1;
        let mut members = Members::default();
        if self.peek()? == Some(b'}') {
            self.pos += 1;
        } else {
            loop {
                if self.peek()? != Some(b'"') {
                    return Err(self.unexpected("a member name"));
                }
                let key: String = self.value()?;
                if self.peek()? != Some(b':') {
                    return Err(self.unexpected("`:`"));
                }
                self.pos += 1;
                self.member(&key, &mut members)?;
                match self.peek()? {
                    Some(b',') => self.pos += 1,
                    Some(b'}') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(self.unexpected("`,` or `}`")),
                }
            }
        }
        if self.peek()?.is_some() {
            return Err(self.error(Problem::Syntax, "trailing characters", self.pos));
        }
        let missing =
            |field: &str| self.error(Problem::Data, &format!("missing field `{field}`"), self.pos);
        let version = members.version.ok_or_else(|| missing("format"))?;
        let mut interactions = members
            .interactions
            .ok_or_else(|| missing("interactions"))?;
        let name = members.name.ok_or_else(|| missing("name"))?;
        let provenance = members.provenance.ok_or_else(|| missing("provenance"))?;
        for (text, line, column) in std::mem::take(&mut members.deferred) {
            let index = interactions.len();
            let attempt = interaction_at(&text, index, version, true, &mut members.bodies);
            interactions.push(self.settle(attempt, line, column)?.0);
        }
        Ok((
            Cassette {
                name,
                provenance,
                interactions,
            },
            version,
        ))
    }

    /// Reads the value of the top-level member `key`.
    fn member(&mut self, key: &str, members: &mut Members) -> Result<(), CassetteError> {
        let seen = match key {
            "format" => members.version.is_some(),
            "name" => members.name.is_some(),
            "provenance" => members.provenance.is_some(),
            "interactions" => members.interactions.is_some(),
            _ => false,
        };
        if seen {
            return Err(self.error(Problem::Data, &format!("duplicate field `{key}`"), self.pos));
        }
        match key {
            "format" => {
                let format: serde_json::Value = self.value()?;
                members.version = Some(check_format(self.path, &format)?);
            }
            "name" => members.name = Some(self.value()?),
            "provenance" => {
                let provenance: ProvenanceFile<'static> = self.value()?;
                members.provenance = Some(provenance.into_model());
            }
            "interactions" => {
                members.interactions = Some(self.interactions(members)?);
            }
            _ => {
                self.value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }

    /// Reads the `interactions` array, turning each into the model as soon
    /// as it is parsed.
    fn interactions(&mut self, members: &mut Members) -> Result<Vec<Interaction>, CassetteError> {
        match self.peek()? {
            Some(b'[') => {}
            None => return Err(self.unexpected("`[`")),
            Some(_) => {
                return Err(self.error(Problem::Data, "`interactions` must be an array", self.pos));
            }
        }
        self.pos += 1;
        let mut interactions = Vec::new();
        if self.peek()? == Some(b']') {
            self.pos += 1;
            return Ok(interactions);
        }
        loop {
            let index = interactions.len() + members.deferred.len();
            match members.version {
                Some(version) => {
                    let bodies = &mut members.bodies;
                    interactions.push(self.parse(|bytes, complete| {
                        interaction_at(bytes, index, version, complete, bodies)
                    })?)
                }
                None => {
                    let start = self.skip_white_space()?;
                    let (line, column) = self.position(start);
                    let raw: Box<serde_json::value::RawValue> = self.value()?;
                    let text = raw.get().as_bytes().to_vec();
                    members.deferred.push((text, line, column));
                }
            }
            match self.peek()? {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(interactions);
                }
                _ => return Err(self.unexpected("`,` or `]`")),
            }
        }
    }

    /// Parses one value of an owned type.
    fn value<T: DeserializeOwned>(&mut self) -> Result<T, CassetteError> {
        self.parse(|bytes, complete| {
            let mut stream = serde_json::Deserializer::from_slice(bytes).into_iter::<T>();
            match stream.next() {
                None => Attempt::More,
                Some(Err(error)) => cut_or(error, bytes, complete),
                Some(Ok(value)) => {
                    let used = stream.byte_offset();
                    // A number or literal that ends the window may go on
                    // in the next read.
                    if used == bytes.len() && !complete {
                        Attempt::More
                    } else {
                        Attempt::Parsed(value, used)
                    }
                }
            }
        })
    }

    /// Runs `attempt` on the window from the next byte, reading more for as
    /// long as it asks, and moves past what it parsed. `attempt` is told
    /// whether the window holds the rest of the file.
    fn parse<T>(
        &mut self,
        mut attempt: impl FnMut(&[u8], bool) -> Attempt<T>,
    ) -> Result<T, CassetteError> {
        loop {
            let outcome = attempt(&self.buf[self.pos..self.end], self.eof);
            if let Attempt::More = outcome {
                if self.eof {
                    // Only white space was left.
                    return Err(self.error(Problem::Eof, "EOF while parsing a value", self.end));
                }
                self.fill()?;
                continue;
            }
            if let Attempt::Parsed(value, used) = outcome {
                self.pos += used;
                return Ok(value);
            }
            let (line, column) = self.position(self.pos);
            return self.settle(outcome, line, column).map(|(value, _)| value);
        }
    }

    /// The value of a finished attempt at a value starting at (`line`,
    /// `column`), or the error it met.
    fn settle<T>(
        &self,
        attempt: Attempt<T>,
        line: usize,
        column: usize,
    ) -> Result<(T, usize), CassetteError> {
        match attempt {
            Attempt::Parsed(value, used) => Ok((value, used)),
            Attempt::More => Err(self.error(Problem::Eof, "EOF while parsing a value", self.end)),
            Attempt::Invalid(message) => Err(CassetteError::at(self.path, message)),
            Attempt::Json(error) => {
                // serde_json counts from the start of the value.
                let at = if error.line() <= 1 {
                    (line, column + error.column())
                } else {
                    (line + error.line() - 1, error.column())
                };
                Err(super::store::json_error(self.path, &error, at))
            }
        }
    }

    /// The next byte that is not white space, reading as needed; `None` at
    /// the end of the file.
    fn peek(&mut self) -> Result<Option<u8>, CassetteError> {
        let at = self.skip_white_space()?;
        Ok(self.buf.get(at).copied().filter(|_| at < self.end))
    }

    /// Moves past white space; returns the position of the next byte.
    fn skip_white_space(&mut self) -> Result<usize, CassetteError> {
        loop {
            while self.pos < self.end && matches!(self.buf[self.pos], b' ' | b'\t' | b'\n' | b'\r')
            {
                self.pos += 1;
            }
            if self.pos < self.end || self.eof {
                return Ok(self.pos);
            }
            self.fill()?;
        }
    }

    /// Drops the bytes before `pos` and reads more after the rest, growing
    /// the window when the rest fills it.
    fn fill(&mut self) -> Result<(), CassetteError> {
        let (line, column) = self.position(self.pos);
        self.line = line;
        self.column = column;
        self.buf.copy_within(self.pos..self.end, 0);
        self.end -= self.pos;
        self.pos = 0;
        if self.end == self.buf.len() {
            let grown = (self.buf.len() * 2).max(self.window);
            self.buf.resize(grown, 0);
        }
        loop {
            match self.source.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    (self.observe)(&self.buf[self.end..self.end + n]);
                    self.end += n;
                    self.read += n as u64;
                    if self.read > self.limit {
                        return Err(CassetteError::at(
                            self.path,
                            "grew over the size limit while read",
                        ));
                    }
                    return Ok(());
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(CassetteError::at(
                        self.path,
                        format!("cannot read the cassette: {e}"),
                    ));
                }
            }
        }
    }

    /// The 1-based line and 0-based column of `buf[at]` in the file.
    fn position(&self, at: usize) -> (usize, usize) {
        let before = &self.buf[..at];
        match before.iter().rposition(|&b| b == b'\n') {
            Some(newline) => (self.line + count_newlines(before), at - newline - 1),
            None => (self.line, self.column + at),
        }
    }

    /// An error for the byte at `pos` (or the end of the file) when `what`
    /// was expected there.
    fn unexpected(&self, what: &str) -> CassetteError {
        match self.buf.get(self.pos).filter(|_| self.pos < self.end) {
            None => self.error(Problem::Eof, "EOF while parsing the cassette", self.end),
            Some(&byte) => self.error(
                Problem::Syntax,
                &format!(
                    "expected {what}, found `{}`",
                    char::from(byte).escape_default()
                ),
                self.pos,
            ),
        }
    }

    fn error(&self, problem: Problem, detail: &str, at: usize) -> CassetteError {
        let (line, column) = self.position(at);
        let what = match problem {
            Problem::Syntax => "is not valid JSON",
            Problem::Data => "is not a valid cassette",
            Problem::Eof => "ends too early (truncated JSON)",
        };
        CassetteError {
            path: self.path.to_path_buf(),
            position: Some((line, column + 1)),
            message: format!("the file {what}: {detail}"),
        }
    }
}

/// How many `\n` bytes `bytes` holds. Every byte read passes through here
/// once (the window keeps the line it starts on), so it counts in byte-wide
/// lanes the compiler can vectorise.
fn count_newlines(bytes: &[u8]) -> usize {
    bytes
        .chunks(255)
        .map(|chunk| {
            let in_chunk = chunk
                .iter()
                .fold(0u8, |n, &b| n.wrapping_add(u8::from(b == b'\n')));
            usize::from(in_chunk)
        })
        .sum()
}

/// Parses the interaction at the start of `bytes` and turns it into the
/// model; `complete` says `bytes` holds the rest of the file.
fn interaction_at(
    bytes: &[u8],
    index: usize,
    version: Version,
    complete: bool,
    bodies: &mut BodyArena,
) -> Attempt<Interaction> {
    let mut stream =
        serde_json::Deserializer::from_slice(bytes).into_iter::<InteractionFile<'_, BodyIn<'_>>>();
    match stream.next() {
        None => Attempt::More,
        Some(Err(error)) => cut_or(error, bytes, complete),
        Some(Ok(file)) => {
            let used = stream.byte_offset();
            match file.into_model(version, bodies) {
                Ok(interaction) => Attempt::Parsed(interaction, used),
                Err(e) => Attempt::Invalid(format!("interaction {index}: {e}")),
            }
        }
    }
}

/// `error`, unless it is where the window ends and more may follow.
fn cut_or<T>(error: serde_json::Error, bytes: &[u8], complete: bool) -> Attempt<T> {
    if !complete && offset_of(bytes, error.line(), error.column()) + CUT_MARGIN >= bytes.len() {
        Attempt::More
    } else {
        Attempt::Json(error)
    }
}

/// The byte offset of serde_json's (line, column) in `bytes`.
fn offset_of(bytes: &[u8], line: usize, column: usize) -> usize {
    let start = match line {
        0 | 1 => 0,
        _ => bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(line - 2)
            .map_or(bytes.len(), |(i, _)| i + 1),
    };
    start + column
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Gives at most `step` bytes a read, so that every value is cut by
    /// the window somewhere.
    struct Dribble<'a> {
        bytes: &'a [u8],
        step: usize,
    }

    impl Read for Dribble<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.bytes.len());
            buf[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            Ok(n)
        }
    }

    fn whole(text: &str) -> Result<(Cassette, Version), String> {
        read(Path::new("c.json"), text.as_bytes(), u64::MAX, |_| {}).map_err(|e| e.to_string())
    }

    fn dribbled(text: &str, step: usize) -> Result<(Cassette, Version), String> {
        let source = Dribble {
            bytes: text.as_bytes(),
            step,
        };
        read_in_windows(Path::new("c.json"), source, u64::MAX, |_| {}, 4).map_err(|e| e.to_string())
    }

    const V2: &str = r#"{
  "format": "proton-vcr.cassette/2",
  "interactions": [
    {
      "elapsed_ms": 1,
      "request": {"method": "POST", "uri": "/?a=1", "headers": {"X-Amz-Target": "S.Op", "x-m": ["1", "2"]},
                  "body": {"json": {"n": 1.50E+3, "big": 123456789012345678901234567890, "s": "\u00e9\n"}}},
      "response": {"status": 200, "headers": {"content-type": "text/plain"}, "body": {"text": "caf\u00e9 \"q\""}}
    },
    {"elapsed_ms": 22, "note": "n", "expect": {"any": [1, true, null]},
     "request": {"method": "GET", "uri": "/"},
     "response": {"status": 204, "body": {"base64": "AAEC/w=="}}}
  ],
  "name": "all",
  "provenance": {"kind": "recorded", "endpoint": "https://e", "sources": ["u"]},
  "unknown": [1.5e3, {"deep": [false]}],
  "later": 12345
}
"#;

    #[test]
    fn reading_in_pieces_gives_what_reading_whole_gives() {
        let moved = V2
            .replace("\"format\": \"proton-vcr.cassette/2\",\n", "")
            .replace(
                "\"later\": 12345",
                "\"later\": 12345, \"format\": \"proton-vcr.cassette/1\"",
            );
        for text in [V2, &moved] {
            let expected = whole(text).unwrap();
            assert_eq!(expected.0.interactions.len(), 2);
            for step in [1, 2, 3, 7, 64] {
                assert_eq!(dribbled(text, step).unwrap(), expected, "step {step}");
            }
        }
        let (cassette, version) = whole(V2).unwrap();
        assert_eq!(version, Version::V2);
        let first = &cassette.interactions[0];
        assert_eq!(
            &first.request.body.bytes()[..],
            br#"{"n":1.50E+3,"big":123456789012345678901234567890,"s":"\u00e9\n"}"#
        );
        assert_eq!(
            &first.response.body.bytes()[..],
            "caf\u{e9} \"q\"".as_bytes()
        );
        assert_eq!(first.request.headers.get("x-amz-target"), Some("S.Op"));
        assert_eq!(
            &cassette.interactions[1].response.body.bytes()[..],
            b"\x00\x01\x02\xff"
        );
        // Read before `format`, the interactions still follow format 1.
        let (cassette, version) = whole(&moved).unwrap();
        assert_eq!(version, Version::V1);
        assert_eq!(
            &cassette.interactions[0].request.body.bytes()[..],
            "{\"big\":1.2345678901234568e+29,\"n\":1500.0,\"s\":\"\u{e9}\\n\"}".as_bytes()
        );
    }

    #[test]
    fn errors_name_the_same_place_however_the_file_is_read() {
        let cases = [
            (
                V2.replace("\"elapsed_ms\": 22", "\"elapsed_ms\": 2x"),
                "c.json:10:21: the file is not valid JSON: expected `,` or `}`",
            ),
            (
                V2.replace("\"status\": 204", "\"status\": \"204\""),
                "c.json:12:33: the file is not a valid cassette: invalid type: string \"204\", expected u16",
            ),
            (
                V2.replace("AAEC/w==", "A"),
                "c.json: interaction 1: response body: `base64` is not valid base64",
            ),
            (
                V2.replace("  ],\n", "  ]\n"),
                "c.json:14:3: the file is not valid JSON: expected `,` or `}`, found `\\\"`",
            ),
            (
                V2.replace("\"name\": \"all\",\n", ""),
                "c.json:18:1: the file is not a valid cassette: missing field `name`",
            ),
            (
                format!("{V2}x"),
                "c.json:19:1: the file is not valid JSON: trailing characters",
            ),
            (
                V2.replace("\"later\": 12345", "\"name\": \"again\""),
                "c.json:17:10: the file is not a valid cassette: duplicate field `name`",
            ),
            (
                V2.replace("proton-vcr.cassette/2", "proton-vcr.cassette/9"),
                "c.json: unknown cassette format \"proton-vcr.cassette/9\"",
            ),
            (
                V2[..V2.len() / 2].to_string(),
                "c.json:8:82: the file ends too early (truncated JSON): EOF while parsing a string",
            ),
        ];
        for (text, expected) in cases {
            let error = whole(&text).unwrap_err();
            assert!(error.starts_with(expected), "{error}\nexpected: {expected}");
            for step in [1, 5] {
                assert_eq!(dribbled(&text, step).unwrap_err(), error, "step {step}");
            }
        }
    }

    #[test]
    fn every_cut_of_a_file_is_an_error_and_never_a_panic() {
        for end in 0..V2.trim_end().len() {
            let error = whole(&V2[..end]).unwrap_err();
            assert_eq!(dribbled(&V2[..end], 3).unwrap_err(), error, "cut at {end}");
        }
    }

    #[test]
    fn the_size_limit_holds_while_reading() {
        let error = read(Path::new("c.json"), V2.as_bytes(), 100, |_| {}).unwrap_err();
        assert!(
            error.to_string().contains("grew over the size limit"),
            "{error}"
        );
        let mut seen = Vec::new();
        read(Path::new("c.json"), V2.as_bytes(), u64::MAX, |b| {
            seen.extend_from_slice(b)
        })
        .unwrap();
        assert_eq!(seen, V2.as_bytes(), "every byte is observed once, in order");
    }
}
