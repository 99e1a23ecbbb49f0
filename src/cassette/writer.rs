//! Writing a cassette while it is recorded.
//!
//! Durability: each answered exchange is in the recording journal (see
//! `cassette::journal`), flushed to disk, before its answer is sent, so a
//! crash or SIGKILL loses only exchanges whose answers had not been sent.
//! Writing an exchange writes one record: the cost follows the exchange, not
//! the cassette.
//!
//! Each exchange is redacted, checked and serialised on the task that
//! recorded it, so exchanges are prepared in parallel. One writer thread
//! then takes every record waiting, writes them together and flushes once
//! (group commit), then acknowledges them all; while it flushes, the next
//! batch gathers, so a flush carries every exchange that arrived during the
//! one before, and it may wait a little for more (see [`Pace`]). A task
//! that queues a record wakes the thread only when the thread sleeps
//! waiting for that many records, so a batch costs one wake-up however
//! many exchanges it carries. The writer keeps no exchange in memory: a
//! clean stop reads the journal back and folds it into the canonical file,
//! written whole and atomically; a stop that was not clean is recovered by
//! the next load.
//!
//! The cassette is locked while recorded (`cassette::lock`): a second
//! recorder fails at once. Temporary files an interrupted write left are
//! removed when the lock is taken.
//!
//! Interactions are ordered by request start (not completion). Each
//! exchange first has the secrets services hand out replaced by placeholders
//! ([`super::redact::redact_secrets`]), then every write passes the secret
//! checks of [`super::redact`]: a write that would leak is refused, and the
//! exchanges in it are not recorded.

use super::journal::{self, Journal, Place};
use super::lock::CassetteLock;
use super::model::{Cassette, Interaction};
use super::redact::{
    AccountRedaction, Leak, Placeholders, SECRET_HEADERS, SecretScan, check_bytes,
    check_interaction, redact_secrets,
};
use super::store::{
    CassetteError, clean_temporaries, load_file, parent_dir, refuse_symlink, sync_dir, to_bytes,
    write_atomic,
};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// What to do with a cassette file that already exists.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WriteMode {
    /// Refuse to start if the file exists.
    #[default]
    New,
    /// Keep its interactions and add the new ones after them.
    Append,
    /// Replace it.
    Overwrite,
}

/// Why an exchange was not recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteError {
    /// Writing would have put a secret in the file.
    Secret(Leak),
    /// The file could not be written.
    Io(String),
    /// Replay could not send the exchange as it came (a status that is not
    /// final, a header HTTP cannot carry): a cassette holding it would not load.
    Unreplayable(String),
    /// The recording has been stopped.
    Closed,
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::Secret(leak) => write!(f, "refused to write {leak}"),
            WriteError::Io(message) => f.write_str(message),
            WriteError::Unreplayable(why) => {
                write!(f, "replay could not send this exchange as it came: {why}")
            }
            WriteError::Closed => f.write_str("the recording has stopped"),
        }
    }
}

impl std::error::Error for WriteError {}

/// Where an interaction goes: the time since the recording's first request
/// started, and a sequence number for requests that start together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct StartKey {
    pub since_first: Duration,
    pub seq: u64,
}

/// One exchange to record.
#[derive(Debug)]
pub struct Entry {
    pub start: StartKey,
    /// `elapsed_ms` is filled in by the writer.
    pub interaction: Interaction,
    /// An account id the credentials named, for redaction.
    pub account_hint: Option<String>,
    /// The region and service the request was signed for, for provenance.
    pub scope: Option<(String, String)>,
}

/// Told when a record is on disk, or why it is not.
type Done = oneshot::Sender<Result<(), WriteError>>;

/// The records waiting for the writer thread. A task that adds one wakes
/// the thread only when the thread sleeps waiting for that many records,
/// so a batch costs one wake-up however many exchanges it carries.
struct Queue {
    waiting: Mutex<Waiting>,
    wake: Condvar,
}

#[derive(Default)]
struct Waiting {
    /// Journal records (their JSON), redacted and checked, in arrival order.
    records: Vec<Vec<u8>>,
    done: Vec<Done>,
    /// Asked to stop once the records before it are written.
    close: Option<oneshot::Sender<()>>,
    /// Every `CassetteWriter` is gone.
    abandoned: bool,
    /// The writer thread takes no more records.
    stopped: bool,
    /// The writer thread sleeps until this many records wait (0: it is
    /// not asleep on records).
    wake_at: usize,
}

impl Queue {
    fn new() -> Self {
        Self {
            waiting: Mutex::new(Waiting::default()),
            wake: Condvar::new(),
        }
    }

    /// Adds `record`; `Err` gives it back when the writer takes no more.
    fn push(&self, record: Vec<u8>, done: Done) -> Result<(), Done> {
        let mut waiting = lock(&self.waiting);
        if waiting.stopped || waiting.close.is_some() {
            return Err(done);
        }
        waiting.records.push(record);
        waiting.done.push(done);
        let wake = waiting.wake_at != 0 && waiting.records.len() >= waiting.wake_at;
        if wake {
            waiting.wake_at = 0;
        }
        drop(waiting);
        if wake {
            self.wake.notify_one();
        }
        Ok(())
    }

    /// Ends the recording once the records already queued are written.
    fn close(&self, done: oneshot::Sender<()>) -> Result<(), oneshot::Sender<()>> {
        let mut waiting = lock(&self.waiting);
        if waiting.stopped || waiting.close.is_some() {
            return Err(done);
        }
        waiting.close = Some(done);
        drop(waiting);
        self.wake.notify_one();
        Ok(())
    }

    fn abandon(&self) {
        lock(&self.waiting).abandoned = true;
        self.wake.notify_one();
    }

    /// Takes no more records and drops those waiting, whose tasks then see
    /// [`WriteError::Closed`]; run as the writer thread ends, also by a panic.
    fn shut(&self) {
        let mut waiting = lock(&self.waiting);
        waiting.stopped = true;
        waiting.records.clear();
        waiting.done.clear();
        waiting.close = None;
    }

    /// Waits for the next batch: at least one record (or a stop), then,
    /// while fewer than `pace.expected` wait, up to `pace.gather` for the
    /// rest. Moves the batch into `records` and `done` (which must be
    /// empty); returns the close to acknowledge, or `Stop::Now` when the
    /// writer is left without one, once this batch is written.
    fn next_batch(&self, pace: &Pace, records: &mut Vec<Vec<u8>>, done: &mut Vec<Done>) -> Stop {
        let mut waiting = lock(&self.waiting);
        let ending = |w: &Waiting| w.close.is_some() || w.abandoned;
        while waiting.records.is_empty() && !ending(&waiting) {
            waiting.wake_at = 1;
            waiting = self
                .wake
                .wait(waiting)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        if waiting.records.len() < pace.expected && !ending(&waiting) {
            let until = Instant::now() + pace.gather;
            while waiting.records.len() < pace.expected && !ending(&waiting) {
                let left = until.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                waiting.wake_at = pace.expected;
                waiting = self
                    .wake
                    .wait_timeout(waiting, left)
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .0;
            }
        }
        waiting.wake_at = 0;
        std::mem::swap(records, &mut waiting.records);
        std::mem::swap(done, &mut waiting.done);
        if let Some(close) = waiting.close.take() {
            waiting.stopped = true;
            Stop::Close(close)
        } else if waiting.abandoned {
            waiting.stopped = true;
            Stop::Now
        } else {
            Stop::No
        }
    }

    /// How many records wait now.
    fn len(&self) -> usize {
        lock(&self.waiting).records.len()
    }
}

/// Whether the writer stops after the batch it took.
enum Stop {
    No,
    Close(oneshot::Sender<()>),
    /// Every sender is gone without a close.
    Now,
}

/// How a cassette is written.
pub struct WriterOptions {
    pub mode: WriteMode,
    pub scan: Arc<dyn SecretScan>,
    pub redaction: Option<AccountRedaction>,
}

/// Records into one cassette file from any number of tasks.
pub struct CassetteWriter {
    queue: Arc<Queue>,
    path: PathBuf,
    redactor: Arc<Redactor>,
}

/// What turns an exchange into a record, shared by the tasks that record
/// and the writer thread (which redacts the whole cassette at the fold).
struct Redactor {
    /// The latest `elapsed_ms` of the cassette appended to.
    base_ms: u64,
    scan: Arc<dyn SecretScan>,
    redaction: Mutex<Option<AccountRedaction>>,
    /// Stand-ins for the secrets services hand out, stable for this recording.
    placeholders: Mutex<Placeholders>,
}

impl CassetteWriter {
    /// Locks `path`, opens it according to the mode, folds in what an
    /// interrupted recording left, writes it once (so a path that cannot be
    /// written fails now) and starts its journal. `fresh` gives the name and
    /// provenance of a new file; an appended file keeps its own.
    pub fn open(
        path: &Path,
        fresh: Cassette,
        options: WriterOptions,
    ) -> Result<Self, CassetteError> {
        let error = |message: String| CassetteError::at(path, message);
        if path.is_dir() {
            return Err(error(
                "is a folder; record into a cassette file (e.g. cassettes/my-scenario.json)".into(),
            ));
        }
        refuse_symlink(path).map_err(|e| error(format!("cannot record into it: {e}")))?;
        std::fs::create_dir_all(parent_dir(path)).map_err(|e| {
            error(format!(
                "cannot write the cassette: cannot create its folder ({e})"
            ))
        })?;
        let lock = CassetteLock::acquire(path)?;
        clean_temporaries(path);
        let exists = std::fs::symlink_metadata(path).is_ok();
        let cassette = match (options.mode, exists) {
            (WriteMode::New, true) => {
                return Err(error(
                    "already exists; pass --mode append to add to it or --mode overwrite to replace it".into(),
                ));
            }
            (WriteMode::Append, true) => load_file(path)?.cassette,
            _ => fresh,
        };
        let base_ms = cassette
            .interactions
            .iter()
            .map(|i| i.elapsed_ms)
            .max()
            .unwrap_or(0);
        let redactor = Arc::new(Redactor {
            base_ms,
            scan: options.scan,
            redaction: Mutex::new(options.redaction),
            placeholders: Mutex::new(Placeholders::default()),
        });
        let mut state = State {
            path: path.to_path_buf(),
            cassette,
            redactor: Arc::clone(&redactor),
            journal: None,
            lock: Some(lock),
        };
        state.fold().map_err(|e| error(e.to_string()))?;
        let queue = Arc::new(Queue::new());
        let taken = Arc::clone(&queue);
        std::thread::Builder::new()
            .name("cassette-writer".into())
            .spawn(move || state.run(&taken))
            .map_err(|e| error(format!("cannot start the writer thread: {e}")))?;
        Ok(Self {
            queue,
            path: path.to_path_buf(),
            redactor,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records `entry`; returns once it is on disk.
    pub async fn write(&self, entry: Entry) -> Result<(), WriteError> {
        if let Err(why) = super::format::servable(&entry.interaction) {
            tracing::error!("not recorded: {why} (the client gets a 500; nothing was written)");
            return Err(WriteError::Unreplayable(why));
        }
        let record = self.redactor.record(entry).map_err(|leak| {
            tracing::error!("not recorded: {leak} (the client gets a 500; nothing was written)");
            WriteError::Secret(leak)
        })?;
        let (done, wait) = oneshot::channel();
        if self.queue.push(record, done).is_err() {
            return Err(WriteError::Closed);
        }
        wait.await.unwrap_or(Err(WriteError::Closed))
    }

    /// Finishes the writes already queued, folds the journal into the
    /// cassette file, then stops; later writes fail with
    /// [`WriteError::Closed`].
    pub async fn close(&self) {
        let (done, wait) = oneshot::channel();
        if self.queue.close(done).is_ok() {
            let _ = wait.await;
        }
    }
}

impl Drop for CassetteWriter {
    fn drop(&mut self) {
        self.queue.abandon();
    }
}

impl Redactor {
    /// The journal record for `entry`: redacted, and checked for secrets.
    fn record(&self, mut entry: Entry) -> Result<Vec<u8>, Leak> {
        let ms = u64::try_from(entry.start.since_first.as_millis()).unwrap_or(u64::MAX);
        entry.interaction.elapsed_ms = self.base_ms.saturating_add(ms);
        let signing_name = entry.scope.as_ref().map(|(_, service)| service.as_str());
        {
            let mut placeholders = lock(&self.placeholders);
            redact_secrets(&mut entry.interaction, signing_name, &mut placeholders);
        }
        check_interaction(&entry.interaction, &*self.scan)?;
        refuse_secret_headers(&entry.interaction, "this exchange")?;
        let place = Place {
            start_ns: u64::try_from(entry.start.since_first.as_nanos()).unwrap_or(u64::MAX),
            seq: entry.start.seq,
            scope: entry
                .scope
                .as_ref()
                .map(|(region, service)| (region.as_str(), service.as_str())),
        };
        let mut json = journal::record_json(&entry.interaction, &place);
        if let Some(redaction) = &mut *lock(&self.redaction) {
            if let Some(account) = &entry.account_hint {
                redaction.learn(account);
            }
            redaction.apply(&mut json);
        }
        check_bytes(&json, &*self.scan)?;
        Ok(json)
    }

    /// Serialises, redacts and checks the whole cassette.
    fn canonical_bytes(&self, cassette: &Cassette) -> Result<Vec<u8>, WriteError> {
        for (i, interaction) in cassette.interactions.iter().enumerate() {
            refuse_secret_headers(interaction, &format!("interaction {i}"))
                .map_err(WriteError::Secret)?;
        }
        let mut bytes = to_bytes(cassette);
        if let Some(redaction) = &mut *lock(&self.redaction) {
            redaction.apply(&mut bytes);
        }
        check_bytes(&bytes, &*self.scan).map_err(WriteError::Secret)?;
        Ok(bytes)
    }
}

/// Locks `mutex`, also after a panic elsewhere while it was held (what it
/// guards stays usable: a panic cannot leave it half-changed in a way that
/// matters to redaction).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

struct State {
    path: PathBuf,
    /// The cassette as it was when the recording started; the recording's
    /// exchanges are only in the journal until the fold.
    cassette: Cassette,
    redactor: Arc<Redactor>,
    journal: Option<Journal>,
    /// Released once the journal is folded, before the close is acknowledged.
    lock: Option<CassetteLock>,
}

impl State {
    fn run(mut self, queue: &Queue) {
        struct Shut<'a>(&'a Queue);
        impl Drop for Shut<'_> {
            fn drop(&mut self) {
                self.0.shut();
            }
        }
        let _shut = Shut(queue);
        let mut records = Vec::new();
        let mut waiting = Vec::new();
        let mut pace = Pace::default();
        loop {
            let stop = queue.next_batch(&pace, &mut records, &mut waiting);
            if !records.is_empty() {
                let started = Instant::now();
                let result = self.commit(&records);
                // Those flushed and those that queued meanwhile: how many
                // exchanges are being recorded at once.
                pace.learn(started.elapsed(), records.len() + queue.len());
                records.clear();
                for done in waiting.drain(..) {
                    let _ = done.send(result.clone());
                }
            }
            match stop {
                Stop::No => {}
                Stop::Close(done) => {
                    self.stop();
                    let _ = done.send(());
                    return;
                }
                // Every sender is gone without a close: fold as a clean stop would.
                Stop::Now => {
                    self.stop();
                    return;
                }
            }
        }
    }

    /// Writes one batch of records to the journal and flushes it.
    fn commit(&mut self, records: &[Vec<u8>]) -> Result<(), WriteError> {
        let Some(journal) = &mut self.journal else {
            return Err(WriteError::Closed);
        };
        journal
            .commit(records.iter().map(Vec::as_slice))
            .map_err(|e| {
                let error = WriteError::Io(format!(
                    "cannot write the cassette {} (its journal {}): {e}",
                    self.path.display(),
                    journal::journal_path(&self.path).display()
                ));
                tracing::error!(path = %self.path.display(), "not recorded: {error}");
                error
            })
    }

    fn stop(&mut self) {
        if let Err(error) = self.fold_final() {
            tracing::error!(path = %self.path.display(), "the recording stays in its journal, which the next load recovers: {error}");
        }
        self.lock = None;
    }

    /// Writes the whole cassette and starts an empty journal after it.
    fn fold(&mut self) -> Result<(), WriteError> {
        let bytes = self.redactor.canonical_bytes(&self.cassette)?;
        let io = |e: std::io::Error| {
            WriteError::Io(format!(
                "cannot write the cassette {}: {e}",
                self.path.display()
            ))
        };
        write_atomic(&self.path, &bytes).map_err(io)?;
        let journal_path = journal::journal_path(&self.path);
        let _ = std::fs::remove_file(&journal_path);
        let journal = Journal::create(&journal_path, &bytes).map_err(io)?;
        sync_dir(parent_dir(&self.path));
        self.journal = Some(journal);
        Ok(())
    }

    /// The clean stop: the journal read back, the whole cassette written,
    /// the journal removed.
    fn fold_final(&mut self) -> Result<(), WriteError> {
        let Some(journal) = self.journal.take() else {
            return Ok(());
        };
        let journal_path = journal::journal_path(&self.path);
        let records = journal
            .records(&journal_path)
            .map_err(|e| WriteError::Io(e.to_string()))?;
        drop(journal);
        journal::add_records(&mut self.cassette, records);
        let bytes = self.redactor.canonical_bytes(&self.cassette)?;
        write_atomic(&self.path, &bytes).map_err(|e| {
            WriteError::Io(format!(
                "cannot write the cassette {}: {e}",
                self.path.display()
            ))
        })?;
        let _ = std::fs::remove_file(journal_path);
        sync_dir(parent_dir(&self.path));
        Ok(())
    }
}

/// When a batch may wait for more exchanges before its flush starts.
///
/// A flush cannot take the exchanges that arrive while it runs. With N
/// clients recording at once and nothing waiting, the writer would start
/// flushing whatever came first, and the clients split into two groups
/// taking turns, N/2 a flush. So while fewer exchanges are waiting than
/// were being recorded at once at the last flush's end, a batch waits for
/// the rest, up to half a flush (at most [`MAX_GATHER`]). One client never
/// waits; on a fast disk the wait is a few microseconds.
#[derive(Default)]
struct Pace {
    /// Exchanges being recorded at once when the last flush ended.
    expected: usize,
    gather: Duration,
}

/// The longest a batch waits for more exchanges.
const MAX_GATHER: Duration = Duration::from_millis(2);

impl Pace {
    fn learn(&mut self, flush: Duration, at_once: usize) {
        self.expected = at_once;
        self.gather = (flush / 2).min(MAX_GATHER);
    }
}

fn refuse_secret_headers(interaction: &Interaction, place: &str) -> Result<(), Leak> {
    for headers in [&interaction.request.headers, &interaction.response.headers] {
        if let Some((name, _)) = headers
            .iter_grouped()
            .find(|(name, _)| SECRET_HEADERS.contains(name))
        {
            return Err(Leak {
                what: format!("a `{name}` header"),
                place: place.to_string(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::calendar::rfc3339;
    use crate::cassette::{
        Body, Headers, Provenance, RecordedRequest, RecordedResponse, load_file,
    };
    use std::time::UNIX_EPOCH;

    struct NoSecrets;
    impl SecretScan for NoSecrets {
        fn find_secret(&self, bytes: &[u8]) -> Option<&'static str> {
            bytes
                .windows(6)
                .any(|w| w == b"SECRET")
                .then_some("the canary")
        }
    }

    /// An empty recording, as the recorder starts one.
    pub(crate) fn fresh() -> Cassette {
        Cassette {
            name: "t".into(),
            provenance: Provenance::recorded(
                "http://127.0.0.1:1",
                "proton",
                "us-east-1",
                rfc3339(UNIX_EPOCH),
            ),
            interactions: Vec::new(),
        }
    }

    fn entry(ms: u64, seq: u64, body: &str) -> Entry {
        Entry {
            start: StartKey {
                since_first: Duration::from_millis(ms),
                seq,
            },
            interaction: Interaction {
                elapsed_ms: 0,
                endpoint: None,
                expect: None,
                note: None,
                request: RecordedRequest {
                    method: "POST".into(),
                    uri: "/".into(),
                    headers: Headers::default(),
                    body: Body::from(body),
                },
                response: RecordedResponse {
                    status: 200,
                    headers: Headers::default(),
                    body: Body::default(),
                },
            },
            account_hint: None,
            scope: None,
        }
    }

    fn options(mode: WriteMode) -> WriterOptions {
        WriterOptions {
            mode,
            scan: Arc::new(NoSecrets),
            redaction: None,
        }
    }

    #[tokio::test]
    async fn orders_by_start_and_refuses_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        let writer = CassetteWriter::open(&path, fresh(), options(WriteMode::New)).unwrap();
        assert_eq!(
            load_file(&path).unwrap().cassette.interactions.len(),
            0,
            "written at open"
        );
        writer.write(entry(30, 2, "late")).await.unwrap();
        writer.write(entry(10, 1, "early")).await.unwrap();
        let refused = writer.write(entry(20, 3, "a SECRET")).await.unwrap_err();
        assert!(matches!(refused, WriteError::Secret(_)), "{refused}");
        // What the next load would refuse is not written either.
        let mut switching = entry(25, 5, "upgrade");
        switching.interaction.response.status = 101;
        let refused = writer.write(switching).await.unwrap_err();
        assert!(
            matches!(&refused, WriteError::Unreplayable(why) if why.contains("status 101")),
            "{refused}"
        );
        writer.close().await;
        assert_eq!(
            writer.write(entry(40, 4, "after")).await,
            Err(WriteError::Closed)
        );
        let interactions = load_file(&path).unwrap().cassette.interactions;
        let bodies: Vec<_> = interactions
            .iter()
            .map(|i| (i.elapsed_ms, i.request.body.describe()))
            .collect();
        assert_eq!(
            bodies,
            [(10, "early".to_string()), (30, "late".to_string())]
        );
    }

    #[tokio::test]
    async fn modes_decide_what_happens_to_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        let writer = CassetteWriter::open(&path, fresh(), options(WriteMode::New)).unwrap();
        writer.write(entry(5, 0, "first run")).await.unwrap();
        writer.close().await;
        let error = CassetteWriter::open(&path, fresh(), options(WriteMode::New))
            .err()
            .unwrap();
        assert!(error.to_string().contains("--mode append"), "{error}");
        let writer = CassetteWriter::open(&path, fresh(), options(WriteMode::Append)).unwrap();
        writer.write(entry(0, 0, "second run")).await.unwrap();
        writer.close().await;
        let bodies: Vec<_> = load_file(&path)
            .unwrap()
            .cassette
            .interactions
            .iter()
            .map(|i| (i.elapsed_ms, i.request.body.describe()))
            .collect();
        assert_eq!(
            bodies,
            [(5, "first run".to_string()), (5, "second run".to_string())]
        );
        let writer = CassetteWriter::open(&path, fresh(), options(WriteMode::Overwrite)).unwrap();
        writer.close().await;
        assert!(load_file(&path).unwrap().cassette.interactions.is_empty());
    }

    /// The cassette and its journal as a crash would leave them: copied
    /// while the writer still runs.
    fn crash_copy(path: &Path, into: &Path) -> PathBuf {
        let copy = into.join("c.json");
        std::fs::copy(path, &copy).unwrap();
        std::fs::copy(journal::journal_path(path), journal::journal_path(&copy)).unwrap();
        copy
    }

    fn request_bodies(path: &Path) -> Vec<String> {
        load_file(path)
            .unwrap()
            .cassette
            .interactions
            .iter()
            .map(|i| i.request.body.describe())
            .collect()
    }

    #[tokio::test]
    async fn every_acknowledged_exchange_is_in_the_journal_and_a_load_recovers_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        let writer = CassetteWriter::open(&path, fresh(), options(WriteMode::New)).unwrap();
        let canonical_before = std::fs::read(&path).unwrap();
        for i in 0..20u64 {
            writer
                .write(entry(100 - i, i, &format!("call {i}")))
                .await
                .unwrap();
            let crashed = tempfile::tempdir().unwrap();
            let copy = crash_copy(&path, crashed.path());
            assert_eq!(request_bodies(&copy).len() as u64, i + 1);
        }
        // Writing an exchange never rewrote the cassette file.
        assert_eq!(std::fs::read(&path).unwrap(), canonical_before);
        let crashed = tempfile::tempdir().unwrap();
        let copy = crash_copy(&path, crashed.path());
        let expected: Vec<String> = (0..20).rev().map(|i| format!("call {i}")).collect();
        assert_eq!(request_bodies(&copy), expected, "ordered by request start");

        // A record cut short by the crash is dropped; the rest load.
        let journal = journal::journal_path(&copy);
        let mut bytes = std::fs::read(&journal).unwrap();
        let whole = bytes.len();
        bytes.extend_from_slice(b"0badc0de {\"interaction\":{\"elap");
        std::fs::write(&journal, &bytes).unwrap();
        assert_eq!(request_bodies(&copy), expected);
        // A damaged record with good ones after it is an error that says so.
        let first_record = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
        bytes[first_record + 20] ^= 0x01;
        bytes.truncate(whole);
        std::fs::write(&journal, &bytes).unwrap();
        let error = load_file(&copy).unwrap_err().to_string();
        assert!(error.contains("fails its checksum"), "{error}");
        assert!(error.contains(".journal:2:"), "{error}");

        // Appending to the crashed copy folds the journal in.
        let again = CassetteWriter::open(
            &crash_copy(&path, crashed.path()),
            fresh(),
            options(WriteMode::Append),
        )
        .unwrap();
        again.write(entry(0, 0, "after the crash")).await.unwrap();
        again.close().await;
        assert!(!journal.exists(), "a clean stop removes the journal");
        let bodies = request_bodies(&copy);
        assert_eq!(bodies.len(), 21);
        assert_eq!(bodies[20], "after the crash");

        writer.close().await;
        assert_eq!(request_bodies(&path), expected);
        assert!(!journal::journal_path(&path).exists());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn exchanges_recorded_at_once_are_all_acknowledged_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        let writer =
            Arc::new(CassetteWriter::open(&path, fresh(), options(WriteMode::New)).unwrap());
        let mut expected = Vec::new();
        // Rounds of different sizes, so batches wait for more than arrive.
        for (round, at_once) in [16u64, 3, 16, 1, 8].into_iter().enumerate() {
            let round = round as u64;
            let tasks: Vec<_> = (0..at_once)
                .map(|i| {
                    let writer = Arc::clone(&writer);
                    let seq = round * 100 + i;
                    tokio::spawn(async move {
                        writer.write(entry(seq, seq, &format!("call {seq}"))).await
                    })
                })
                .collect();
            for task in tasks {
                let written = tokio::time::timeout(Duration::from_secs(60), task)
                    .await
                    .expect("every write is acknowledged")
                    .unwrap();
                assert!(written.is_ok(), "{written:?}");
            }
            expected.extend((0..at_once).map(|i| format!("call {}", round * 100 + i)));
        }
        writer.close().await;
        assert_eq!(request_bodies(&path), expected);
    }

    #[tokio::test]
    async fn a_journal_the_cassette_already_holds_is_not_added_twice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        let writer = CassetteWriter::open(&path, fresh(), options(WriteMode::New)).unwrap();
        writer.write(entry(1, 0, "once")).await.unwrap();
        let stale = std::fs::read(journal::journal_path(&path)).unwrap();
        writer.close().await;
        // The fold renamed the cassette into place and was killed before
        // it removed the journal.
        std::fs::write(journal::journal_path(&path), stale).unwrap();
        assert_eq!(request_bodies(&path), ["once"]);
    }

    #[tokio::test]
    async fn a_writer_dropped_without_a_close_still_folds_its_journal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        let writer = CassetteWriter::open(&path, fresh(), options(WriteMode::New)).unwrap();
        writer.write(entry(1, 0, "kept")).await.unwrap();
        drop(writer);
        // The writer thread releases the lock last, once the fold is done.
        let lock = crate::cassette::lock_path(&path);
        let deadline = Instant::now() + Duration::from_secs(60);
        while lock.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(!lock.exists(), "the writer thread never finished");
        assert!(!journal::journal_path(&path).exists());
        assert_eq!(request_bodies(&path), ["kept"]);
    }

    #[tokio::test]
    async fn a_second_recorder_fails_at_once_naming_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        let writer = CassetteWriter::open(&path, fresh(), options(WriteMode::New)).unwrap();
        let error = CassetteWriter::open(&path, fresh(), options(WriteMode::Append))
            .err()
            .unwrap()
            .to_string();
        assert!(
            error.contains(&format!("pid {}", std::process::id())),
            "{error}"
        );
        assert!(error.contains("c.json.lock"), "{error}");
        writer.write(entry(1, 0, "kept")).await.unwrap();
        writer.close().await;
        assert!(!crate::cassette::lock_path(&path).exists());
        let writer = CassetteWriter::open(&path, fresh(), options(WriteMode::Append)).unwrap();
        writer.close().await;
        assert_eq!(request_bodies(&path), ["kept"]);
    }

    #[tokio::test]
    async fn temporary_files_are_never_followed_and_leftovers_are_removed_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "untouched").unwrap();
        // Leftovers of a killed write, one of them a planted link.
        let leftover = dir.path().join(".c.json.123.abc.tmp");
        std::fs::write(&leftover, "half a cassette").unwrap();
        let planted = dir
            .path()
            .join(format!(".c.json.{}.def.tmp", std::process::id()));
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        let writer = CassetteWriter::open(&path, fresh(), options(WriteMode::New)).unwrap();
        assert!(!leftover.exists());
        assert!(std::fs::symlink_metadata(&planted).is_err());
        writer.write(entry(1, 0, "x")).await.unwrap();
        writer.close().await;
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["c.json", "victim"]);
    }
}
