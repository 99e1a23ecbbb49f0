//! The recording journal: an append-only file beside a cassette being
//! recorded (`NAME.json.journal`), so that recording one exchange costs in
//! proportion to that exchange, not to the cassette.
//!
//! The first line names the journal format and the canonical file it
//! extends (its length and CRC-32). Each further line is one exchange:
//! `CRC32 JSON\n`, the JSON holding the interaction in format 2 (compact)
//! and its place in the recording. Lines are appended in batches, each
//! batch flushed with one `fdatasync` before any exchange in it is
//! answered. On a clean stop the journal is folded into the canonical file
//! (written whole, atomically) and removed.
//!
//! After a crash, every reader (`load_file`, so replay, `record --mode
//! append`, conform and `cassette check`) adds the journal's exchanges to
//! the canonical file's. A last line cut short by the crash is dropped; a
//! bad line followed by good ones is an error, as it is not a crash's trace.
//! A journal whose base is not the canonical file on disk (the fold's
//! rename happened, its removal did not) is stale and ignored.

use super::format::{BodyArena, BodyIn, BodyOut, InteractionFile, Layout, Version};
use super::model::{Cassette, Interaction};
use super::store::{CassetteError, read_regular_file};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

const MAGIC: &str = "proton-vcr.journal/1";

/// `NAME.json.journal` for the cassette `NAME.json`.
pub fn journal_path(cassette: &Path) -> PathBuf {
    let mut name = cassette.as_os_str().to_owned();
    name.push(".journal");
    PathBuf::from(name)
}

/// The journal's first line for a canonical file holding `base`.
pub(super) fn header(base: &[u8]) -> String {
    header_for(base.len() as u64, crc32(base))
}

/// The journal's first line for a canonical file of `len` bytes whose
/// CRC-32 is `crc`.
fn header_for(len: u64, crc: u32) -> String {
    format!("{MAGIC} base={len}:{crc:08x}\n")
}

/// Whether `cassette` has a journal beside it (a recording under way, or
/// one cut short).
pub(super) fn exists(cassette: &Path) -> bool {
    std::fs::symlink_metadata(journal_path(cassette)).is_ok()
}

/// One exchange as a journal line.
#[derive(Serialize)]
struct RecordOut<'a> {
    interaction: InteractionFile<'a, BodyOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<&'a str>,
    seq: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    service: Option<&'a str>,
    start_ns: u64,
}

#[derive(Deserialize)]
struct RecordIn<'a> {
    #[serde(borrow)]
    interaction: InteractionFile<'a, BodyIn<'a>>,
    #[serde(default)]
    region: Option<String>,
    seq: u64,
    #[serde(default)]
    service: Option<String>,
    start_ns: u64,
}

/// Where an exchange belongs in the recording, and the signing scope that
/// fills in the cassette's provenance.
pub(super) struct Place<'a> {
    pub start_ns: u64,
    pub seq: u64,
    pub scope: Option<(&'a str, &'a str)>,
}

/// The JSON of a journal line (without its checksum and newline).
pub(super) fn record_json(interaction: &Interaction, place: &Place<'_>) -> Vec<u8> {
    let record = RecordOut {
        interaction: InteractionFile::from_model(interaction, Layout::Compact),
        region: place.scope.map(|(region, _)| region),
        seq: place.seq,
        service: place.scope.map(|(_, service)| service),
        start_ns: place.start_ns,
    };
    serde_json::to_vec(&record).expect("journal records always serialise")
}

/// `json` framed as a journal line.
pub(super) fn line(json: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(json.len() + 10);
    out.extend_from_slice(format!("{:08x} ", crc32(json)).as_bytes());
    out.extend_from_slice(json);
    out.push(b'\n');
    out
}

/// Adds the exchanges of `cassette_path`'s journal, if it has a current
/// one, to `cassette`, whose file held `base` bytes with that CRC-32 (when
/// not given, the file is read again to find them).
pub fn recover_into(
    cassette_path: &Path,
    base: Option<(u64, u32)>,
    cassette: &mut Cassette,
) -> Result<usize, CassetteError> {
    let path = journal_path(cassette_path);
    match std::fs::symlink_metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        _ => {}
    }
    let base = match base {
        Some((len, crc)) => header_for(len, crc),
        None => header(&read_regular_file(cassette_path)?),
    };
    let bytes = read_regular_file(&path)?;
    let error = |line: usize, message: String| CassetteError {
        path: path.clone(),
        position: Some((line, 1)),
        message,
    };
    let Some(end) = bytes.iter().position(|&b| b == b'\n') else {
        // Killed while the header was written: nothing was recorded in it.
        return Ok(0);
    };
    let first = String::from_utf8_lossy(&bytes[..=end]);
    if !first.starts_with(MAGIC) {
        return Err(error(
            1,
            format!(
                "is not a proton-vcr recording journal (expected \"{MAGIC}\"); move it away to load the cassette"
            ),
        ));
    }
    if first != base {
        tracing::warn!(journal = %path.display(), "ignored: it extends an earlier version of the cassette (its exchanges are already in it)");
        return Ok(0);
    }
    let mut records = Vec::new();
    let mut bodies = BodyArena::default();
    let mut rest = &bytes[end + 1..];
    let mut number = 1;
    while !rest.is_empty() {
        number += 1;
        let (text, complete) = match rest.iter().position(|&b| b == b'\n') {
            Some(at) => (&rest[..at], true),
            None => (rest, false),
        };
        rest = if complete {
            &rest[text.len() + 1..]
        } else {
            &[]
        };
        match parse_line(text, complete, &mut bodies) {
            Ok(record) => records.push(record),
            Err(_) if rest.is_empty() => {
                tracing::warn!(journal = %path.display(), line = number, "dropped the last record: cut short by a crash (its exchange was never answered)");
            }
            Err(message) => {
                return Err(error(
                    number,
                    format!(
                        "record {message}, and good records follow it: the journal is damaged; move it away to load the cassette without it"
                    ),
                ));
            }
        }
    }
    let count = records.len();
    records.sort_by_key(|(start, seq, _, _)| (*start, *seq));
    for (_, _, interaction, scope) in records {
        if cassette.provenance.service.is_none() {
            if let Some((region, service)) = scope {
                cassette.provenance.region.get_or_insert(region);
                cassette.provenance.service = Some(service);
            }
        }
        cassette.interactions.push(interaction);
    }
    if count > 0 {
        tracing::info!(journal = %path.display(), count, "recovered exchanges recorded before an unclean stop");
    }
    Ok(count)
}

type Recovered = (u64, u64, Interaction, Option<(String, String)>);

fn parse_line(text: &[u8], complete: bool, bodies: &mut BodyArena) -> Result<Recovered, String> {
    if !complete {
        return Err("is cut short".into());
    }
    let (sum, json) = match text.split_first_chunk::<9>() {
        Some((sum, json)) if sum[8] == b' ' => (&sum[..8], json),
        _ => return Err("has no checksum".into()),
    };
    let sum = std::str::from_utf8(sum)
        .ok()
        .and_then(|s| u32::from_str_radix(s, 16).ok())
        .ok_or("has no checksum")?;
    if sum != crc32(json) {
        return Err("fails its checksum".into());
    }
    let record: RecordIn<'_> =
        serde_json::from_slice(json).map_err(|e| format!("is not a journal record ({e})"))?;
    let interaction = record.interaction.into_model(Version::V2, bodies)?;
    let scope = record.region.zip(record.service);
    Ok((record.start_ns, record.seq, interaction, scope))
}

/// CRC-32 (IEEE 802.3, as zlib computes it).
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = Crc32::default();
    crc.update(bytes);
    crc.finish()
}

/// A CRC-32 taken over bytes given in pieces.
pub(super) struct Crc32(u32);

impl Default for Crc32 {
    fn default() -> Self {
        Self(!0)
    }
}

impl Crc32 {
    pub fn finish(&self) -> u32 {
        !self.0
    }

    pub fn update(&mut self, bytes: &[u8]) {
        static TABLE: std::sync::OnceLock<[[u32; 256]; 8]> = std::sync::OnceLock::new();
        let table = TABLE.get_or_init(|| {
            let mut table = [[0u32; 256]; 8];
            for i in 0..256u32 {
                let mut c = i;
                for _ in 0..8 {
                    c = if c & 1 != 0 {
                        0xEDB8_8320 ^ (c >> 1)
                    } else {
                        c >> 1
                    };
                }
                table[0][i as usize] = c;
            }
            for i in 0..256 {
                for k in 1..8 {
                    let prev = table[k - 1][i];
                    table[k][i] = (prev >> 8) ^ table[0][(prev & 0xff) as usize];
                }
            }
            table
        });
        let mut crc = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let lo = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]) ^ crc;
            let hi = u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]);
            crc = table[7][(lo & 0xff) as usize]
                ^ table[6][((lo >> 8) & 0xff) as usize]
                ^ table[5][((lo >> 16) & 0xff) as usize]
                ^ table[4][(lo >> 24) as usize]
                ^ table[3][(hi & 0xff) as usize]
                ^ table[2][((hi >> 8) & 0xff) as usize]
                ^ table[1][((hi >> 16) & 0xff) as usize]
                ^ table[0][(hi >> 24) as usize];
        }
        for &byte in chunks.remainder() {
            crc = (crc >> 8) ^ table[0][((crc ^ u32::from(byte)) & 0xff) as usize];
        }
        self.0 = crc;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_is_zlibs() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(
            crc32(b"The quick brown fox jumps over the lazy dog"),
            0x414F_A339
        );
    }
}
