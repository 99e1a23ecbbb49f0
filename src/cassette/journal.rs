//! The recording journal: a file beside a cassette being recorded
//! (`NAME.json.journal`), so that recording one exchange costs in
//! proportion to that exchange, not to the cassette.
//!
//! The first line names the journal format and the canonical file it
//! extends (its length and CRC-32). Each further line is one frame:
//! `CRC32 BATCH JSON\n`, the JSON holding the interaction in format 2
//! (compact) and its place in the recording, BATCH the number of the group
//! commit that wrote it, and the CRC-32 covering `BATCH JSON`. Frames are
//! written in batches, each batch flushed with one `fdatasync` before any
//! exchange in it is answered; a batch is written only once the one before
//! it is on disk.
//!
//! The file is kept longer than its frames: zeros, written and flushed a
//! chunk at a time ahead of the frames, which later batches overwrite in
//! place. An `fdatasync` then has only data to flush: the file's size and
//! block map are not changed by a batch that fits, so no filesystem
//! metadata commit is waited for. (Appending instead made every flush a
//! metadata commit, shared with whatever else the disk was doing.) On a
//! clean stop the journal is folded into the canonical file (written whole,
//! atomically) and removed.
//!
//! After a crash, every reader (`load_file`, so replay, `record --mode
//! append`, conform and `cassette check`) adds the journal's exchanges to
//! the canonical file's. The frames end at the first that is not whole and
//! valid: a zero byte (the unused tail), a frame cut short or failing its
//! checksum. Past that point lie only zeros or what remains of the batch
//! the crash interrupted, whose pages may have reached the disk in any
//! order; a valid frame of a later batch there means a flushed frame was
//! damaged, which is an error rather than a crash's trace, as is a frame
//! whose checksum holds but whose record cannot be read. A journal whose
//! base is not the canonical file on disk (the fold's rename happened, its
//! removal did not) is stale and ignored.

use super::format::{BodyArena, BodyIn, BodyOut, InteractionFile, Layout, Version};
use super::model::{Cassette, Interaction};
use super::store::{CassetteError, read_regular_file};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{self, Write as _};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

const MAGIC: &str = "proton-vcr.journal/2";

/// How far ahead of its frames the journal is zero-filled, at a time.
const CHUNK: u64 = 1 << 20;

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

/// One exchange as a journal record.
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

/// The JSON of a journal record (framed by [`Journal::commit`]).
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

/// Appends `json` framed as a line of batch `batch` (its number as text)
/// to `out`.
fn frame(batch: &str, json: &[u8], out: &mut Vec<u8>) {
    let mut crc = Crc32::default();
    crc.update(batch.as_bytes());
    crc.update(b" ");
    crc.update(json);
    let sum = crc.finish();
    out.reserve(json.len() + batch.len() + 11);
    // Writing to a Vec cannot fail.
    let _ = write!(out, "{sum:08x} {batch} ");
    out.extend_from_slice(json);
    out.push(b'\n');
}

/// An open journal being written: frames up to `end`, zeros from there to
/// `zeroed` (the file's length, unless a failure cut it).
pub(super) struct Journal {
    file: File,
    end: u64,
    zeroed: u64,
    batch: u64,
    frames: Vec<u8>,
}

impl Journal {
    /// Creates the journal at `path` (which must not exist) for a
    /// canonical file holding `base`, flushed with its first chunk of zeros.
    pub fn create(path: &Path, base: &[u8]) -> io::Result<Self> {
        use std::os::unix::fs::OpenOptionsExt;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o644)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)?;
        let header = header(base);
        file.write_all_at(header.as_bytes(), 0)?;
        let end = header.len() as u64;
        let mut journal = Self {
            file,
            end,
            zeroed: end,
            batch: 0,
            frames: Vec::new(),
        };
        journal.zero_ahead(end);
        journal.file.sync_all()?;
        Ok(journal)
    }

    /// Writes one batch of records (their JSON) and flushes it. On failure
    /// nothing of the batch is left for a reader to find: the file is cut
    /// back to its last good frame.
    pub fn commit<'a>(&mut self, records: impl IntoIterator<Item = &'a [u8]>) -> io::Result<()> {
        let batch = (self.batch + 1).to_string();
        let mut frames = std::mem::take(&mut self.frames);
        frames.clear();
        for json in records {
            frame(&batch, json, &mut frames);
        }
        let result = self.write(&frames);
        // The buffer is kept for the next batch, unless one big exchange grew it.
        if frames.capacity() <= 4 * CHUNK as usize {
            self.frames = frames;
        }
        result
    }

    fn write(&mut self, frames: &[u8]) -> io::Result<()> {
        let end = self.end + frames.len() as u64;
        let written = self.file.write_all_at(frames, self.end).and_then(|()| {
            if end > self.zeroed {
                self.zeroed = end;
                self.zero_ahead(end);
            }
            self.file.sync_data()
        });
        match written {
            Ok(()) => {
                self.end = end;
                self.batch += 1;
                Ok(())
            }
            Err(e) => {
                // Zeros are written again, a chunk ahead, by the next batch.
                let _ = self.file.set_len(self.end);
                self.zeroed = self.end;
                Err(e)
            }
        }
    }

    /// Zero-fills the file from `zeroed` (which `end` reached) to a chunk
    /// past `end`, so the batches that follow overwrite in place. Without
    /// room (a full disk, a file size limit) the journal is left at `end`
    /// and grows as it is written.
    fn zero_ahead(&mut self, end: u64) {
        static ZEROS: [u8; 64 << 10] = [0; 64 << 10];
        let target = (end / CHUNK + 2) * CHUNK;
        let mut at = self.zeroed;
        while at < target {
            let n = (target - at).min(ZEROS.len() as u64);
            if let Err(e) = self.file.write_all_at(&ZEROS[..n as usize], at) {
                tracing::debug!("the journal grows as it is written: no room ahead of it ({e})");
                let _ = self.file.set_len(end);
                self.zeroed = end;
                return;
            }
            at += n;
        }
        self.zeroed = target;
    }

    /// The records written so far, parsed (for the fold on a clean stop).
    pub fn records(&self, path: &Path) -> Result<Vec<Recovered>, CassetteError> {
        let len = usize::try_from(self.end)
            .map_err(|_| CassetteError::at(path, "the journal is too large to read back"))?;
        let mut bytes = vec![0; len];
        self.file
            .read_exact_at(&mut bytes, 0)
            .map_err(|e| CassetteError::at(path, format!("cannot read the journal back: {e}")))?;
        let start = bytes
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |at| at + 1);
        let mut bodies = BodyArena::default();
        let mut records = Vec::new();
        let end = read_frames(path, &bytes[start..], 2, &mut bodies, &mut records)?;
        if end.is_some() {
            return Err(CassetteError::at(
                path,
                "the journal no longer holds what was written to it",
            ));
        }
        Ok(records)
    }
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
    let Some(end) = bytes.iter().position(|&b| b == b'\n') else {
        // Killed while the header was written: nothing was recorded in it.
        return Ok(0);
    };
    let first = String::from_utf8_lossy(&bytes[..=end]);
    if !first.starts_with(MAGIC) {
        return Err(CassetteError {
            path,
            position: Some((1, 1)),
            message: format!(
                "is not a proton-vcr recording journal of this version (expected \"{MAGIC}\"); move it away to load the cassette"
            ),
        });
    }
    if first != base {
        tracing::warn!(journal = %path.display(), "ignored: it extends another version of the cassette file (most often the one before a fold that ended, whose exchanges are in it); move it away once you have looked");
        return Ok(0);
    }
    let mut records = Vec::new();
    let mut bodies = BodyArena::default();
    if let Some(line) = read_frames(&path, &bytes[end + 1..], 2, &mut bodies, &mut records)? {
        tracing::warn!(journal = %path.display(), line, "dropped what follows the last whole record: a batch cut short by a crash (its exchanges were never answered)");
    }
    let count = records.len();
    add_records(cassette, records);
    if count > 0 {
        tracing::info!(journal = %path.display(), count, "recovered exchanges recorded before an unclean stop");
    }
    Ok(count)
}

/// Adds journal records to `cassette`, ordered by request start.
pub(super) fn add_records(cassette: &mut Cassette, mut records: Vec<Recovered>) {
    records.sort_by_key(|record| (record.start_ns, record.seq));
    for record in records {
        if cassette.provenance.service.is_none() {
            if let Some((region, service)) = record.scope {
                cassette.provenance.region.get_or_insert(region);
                cassette.provenance.service = Some(service);
            }
        }
        cassette.interactions.push(record.interaction);
    }
}

/// A journal record read back.
pub(super) struct Recovered {
    start_ns: u64,
    seq: u64,
    interaction: Interaction,
    scope: Option<(String, String)>,
}

/// Reads the frames in `bytes` (the journal after its first line, which is
/// line `first_line`) into `records`. Returns `None` when every byte was a
/// whole frame or the zeros after them, else the line where the frames
/// stopped, cut short by a crash. A valid frame after that point from a
/// batch later than the interrupted one is an error: the journal is damaged.
fn read_frames(
    path: &Path,
    bytes: &[u8],
    first_line: usize,
    bodies: &mut BodyArena,
    records: &mut Vec<Recovered>,
) -> Result<Option<usize>, CassetteError> {
    let mut rest = bytes;
    let mut line = first_line;
    let mut last_batch = 0;
    let why = loop {
        if rest.first().is_none_or(|&b| b == 0) {
            if rest.iter().all(|&b| b == 0) {
                return Ok(None);
            }
            break "is not a record".to_string();
        }
        let Some(at) = rest.iter().position(|&b| b == b'\n') else {
            break "is cut short".to_string();
        };
        let (batch, json) = match parse_frame(&rest[..at]) {
            Ok(frame) => frame,
            Err(why) => break why,
        };
        // A frame whose checksum holds was written whole: one that cannot
        // be read is damage (or another version's), not a crash's trace,
        // and the frames after it must not be dropped in silence.
        let record = parse_record(json, bodies).map_err(|why| CassetteError {
            path: path.to_path_buf(),
            position: Some((line, 1)),
            message: format!(
                "the record holds its checksum but cannot be read ({why}): the journal is damaged or was written by another version; move it away to load the cassette without it"
            ),
        })?;
        last_batch = batch;
        records.push(record);
        rest = &rest[at + 1..];
        line += 1;
    };
    // The interrupted batch is `last_batch` or the next one; a frame of a
    // batch after that was written once this one was on disk.
    let later = rest
        .split(|&b| b == b'\n')
        .map(|text| &text[text.iter().take_while(|&&b| b == 0).count()..])
        .filter_map(|text| parse_frame(text).ok())
        .find(|(batch, _)| *batch > last_batch.saturating_add(1));
    if let Some((batch, _)) = later {
        return Err(CassetteError {
            path: path.to_path_buf(),
            position: Some((line, 1)),
            message: format!(
                "record {why}, and a record of a later batch ({batch}) follows it: the journal is damaged; move it away to load the cassette without it"
            ),
        });
    }
    Ok(Some(line))
}

/// The batch and JSON of a frame (a line without its newline), if its
/// checksum holds.
fn parse_frame(text: &[u8]) -> Result<(u64, &[u8]), String> {
    let (sum, rest) = match text.split_first_chunk::<9>() {
        Some((sum, rest)) if sum[8] == b' ' => (&sum[..8], rest),
        _ => return Err("has no checksum".into()),
    };
    let sum = std::str::from_utf8(sum)
        .ok()
        .and_then(|s| u32::from_str_radix(s, 16).ok())
        .ok_or("has no checksum")?;
    if sum != crc32(rest) {
        return Err("fails its checksum".into());
    }
    let space = rest
        .iter()
        .position(|&b| b == b' ')
        .ok_or("has no batch number")?;
    let batch = std::str::from_utf8(&rest[..space])
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or("has no batch number")?;
    Ok((batch, &rest[space + 1..]))
}

fn parse_record(json: &[u8], bodies: &mut BodyArena) -> Result<Recovered, String> {
    let record: RecordIn<'_> =
        serde_json::from_slice(json).map_err(|e| format!("is not a journal record ({e})"))?;
    let interaction = record.interaction.into_model(Version::V2, bodies)?;
    Ok(Recovered {
        start_ns: record.start_ns,
        seq: record.seq,
        interaction,
        scope: record.region.zip(record.service),
    })
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
    use crate::cassette::store::{load_file, to_bytes};
    use crate::cassette::{Body, Headers, RecordedRequest, RecordedResponse};

    /// An empty cassette on disk at `dir/c.json` and a journal begun for it.
    fn begin(dir: &Path) -> (PathBuf, Journal) {
        let path = dir.join("c.json");
        let bytes = to_bytes(&crate::cassette::writer::tests::fresh());
        std::fs::write(&path, &bytes).unwrap();
        let journal = Journal::create(&journal_path(&path), &bytes).unwrap();
        (path, journal)
    }

    fn record(n: u64) -> Vec<u8> {
        let interaction = Interaction {
            elapsed_ms: n,
            endpoint: None,
            expect: None,
            note: None,
            request: RecordedRequest {
                method: "POST".into(),
                uri: "/".into(),
                headers: Headers::default(),
                body: Body::from(format!("call {n}").as_str()),
            },
            response: RecordedResponse {
                status: 200,
                headers: Headers::default(),
                body: Body::default(),
            },
        };
        let place = Place {
            start_ns: n,
            seq: n,
            scope: None,
        };
        record_json(&interaction, &place)
    }

    /// Commits calls `from..to` as one batch.
    fn commit(journal: &mut Journal, calls: std::ops::Range<u64>) {
        let records: Vec<Vec<u8>> = calls.map(record).collect();
        journal.commit(records.iter().map(Vec::as_slice)).unwrap();
    }

    fn calls(path: &Path) -> Vec<String> {
        load_file(path)
            .unwrap()
            .cassette
            .interactions
            .iter()
            .map(|i| i.request.body.describe())
            .collect()
    }

    fn expected(calls: std::ops::Range<u64>) -> Vec<String> {
        calls.map(|n| format!("call {n}")).collect()
    }

    /// The framed bytes of calls `range` as batch `batch`.
    fn frames(batch: u64, calls: std::ops::Range<u64>) -> Vec<u8> {
        let mut out = Vec::new();
        for n in calls {
            frame(&batch.to_string(), &record(n), &mut out);
        }
        out
    }

    /// Writes `bytes` into the journal at `at`, as a crash would leave a
    /// batch's pages.
    fn put(path: &Path, at: u64, bytes: &[u8]) {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(journal_path(path))
            .unwrap();
        file.write_all_at(bytes, at).unwrap();
    }

    #[test]
    fn batches_overwrite_zeros_written_ahead_and_a_load_stops_at_them() {
        let dir = tempfile::tempdir().unwrap();
        let (path, mut journal) = begin(dir.path());
        let size = || std::fs::metadata(journal_path(&path)).unwrap().len();
        let zeroed = size();
        assert!(zeroed >= CHUNK, "zeros written ahead at creation: {zeroed}");
        commit(&mut journal, 0..3);
        commit(&mut journal, 3..4);
        assert_eq!(size(), zeroed, "batches that fit leave the size alone");
        assert!(journal.end < zeroed);
        assert_eq!(calls(&path), expected(0..4));
        assert_eq!(journal.records(&journal_path(&path)).unwrap().len(), 4);
        // A batch past the zeros writes more of them ahead.
        let big: Vec<u8> = record(4)
            .into_iter()
            .chain(std::iter::repeat_n(b' ', 2 * CHUNK as usize))
            .collect();
        journal.commit([big.as_slice()]).unwrap();
        assert!(size() >= journal.end + CHUNK, "{} {}", size(), journal.end);
        commit(&mut journal, 5..6);
        assert_eq!(calls(&path), expected(0..6));
    }

    #[test]
    fn a_batch_cut_short_by_a_crash_is_dropped_wherever_its_pages_landed() {
        let dir = tempfile::tempdir().unwrap();
        let (path, mut journal) = begin(dir.path());
        commit(&mut journal, 0..2);
        commit(&mut journal, 2..3);
        let end = journal.end;
        let flushed = expected(0..3);
        // The batch in flight: its first frame cut short, then the zeros.
        let next = frames(3, 3..6);
        put(&path, end, &next[..40]);
        assert_eq!(calls(&path), flushed);
        // Its last page landed and its first did not: zeros, then the end
        // of one frame and a whole one.
        put(&path, end, &vec![0; next.len() / 2]);
        put(&path, end + next.len() as u64 / 2, &next[next.len() / 2..]);
        assert_eq!(calls(&path), flushed);
        // Its first frame torn in the middle, the ones after it whole.
        let mut torn = next.clone();
        torn[20] ^= 0x20;
        put(&path, end, &torn);
        assert_eq!(calls(&path), flushed);
        // Cut in its last frame: the whole frames before it are kept.
        put(&path, end, &vec![0; next.len()]);
        put(&path, end, &next[..next.len() - 5]);
        assert_eq!(calls(&path), expected(0..5));
    }

    #[test]
    fn a_damaged_flushed_frame_with_a_later_batch_after_it_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let (path, mut journal) = begin(dir.path());
        commit(&mut journal, 0..2);
        let second = journal.end;
        commit(&mut journal, 2..3);
        commit(&mut journal, 3..4);
        // A flushed frame of batch 2 damaged; batch 3 follows it.
        put(&path, second + 12, b"#");
        let error = load_file(&path).unwrap_err().to_string();
        assert!(error.contains("fails its checksum"), "{error}");
        assert!(error.contains("later batch (3)"), "{error}");
        assert!(error.contains(".journal:4:"), "{error}");
        // Zeros where a flushed frame was: the same.
        put(&path, second, &[0; 10]);
        let error = load_file(&path).unwrap_err().to_string();
        assert!(error.contains("is not a record"), "{error}");
    }

    #[test]
    fn parsing_a_file_with_its_journal_says_how_many_exchanges_the_journal_added() {
        let dir = tempfile::tempdir().unwrap();
        let (path, mut journal) = begin(dir.path());
        commit(&mut journal, 0..2);
        let bytes = std::fs::read(&path).unwrap();
        let (cassette, _, added) = crate::cassette::parse_with_journal(&path, &bytes).unwrap();
        assert_eq!(added, 2);
        assert_eq!(
            cassette.interactions,
            load_file(&path).unwrap().cassette.interactions
        );
        // A journal that extends another version of the file adds nothing.
        std::fs::write(&path, [&bytes[..], b" "].concat()).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let (cassette, _, added) = crate::cassette::parse_with_journal(&path, &bytes).unwrap();
        assert_eq!((added, cassette.interactions.len()), (0, 0));
    }

    #[test]
    fn a_whole_frame_that_cannot_be_read_is_an_error_not_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let (path, mut journal) = begin(dir.path());
        commit(&mut journal, 0..1);
        let second = journal.end;
        // A frame whose checksum holds but whose record is not one, then a
        // good frame of the same batch: neither may be dropped in silence.
        let mut bytes = Vec::new();
        frame("2", br#"{"not": "a record"}"#, &mut bytes);
        frame("2", &record(1), &mut bytes);
        put(&path, second, &bytes);
        let error = load_file(&path).unwrap_err().to_string();
        assert!(
            error.contains("holds its checksum but cannot be read"),
            "{error}"
        );
        assert!(error.contains(".journal:3:"), "{error}");
    }

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
