//! Writing a cassette while it is recorded.
//!
//! Durability: each write replaces the whole file atomically (a temporary
//! file beside it, flushed, then renamed), and a recorded exchange is
//! answered to its client only once the file holding it is in place. So the
//! file on disk is always a complete, loadable cassette, and a crash or
//! SIGKILL loses only the exchanges whose answers had not been sent yet.
//! A journal appended to and compacted later would write less per exchange,
//! but a SIGKILL would leave a file other tools cannot read until proton-vcr
//! runs again; recording sessions are small and AWS answers slowly, so the
//! simpler, always-valid file wins. Bursts are coalesced: one writer thread
//! takes every exchange waiting, writes once, and acknowledges them all.
//!
//! Interactions are kept ordered by request start (not completion), and
//! every write first passes the secret checks of [`super::redact`]: a write
//! that would leak is refused, and the exchanges in it are not recorded.

use super::model::{Cassette, Interaction};
use super::redact::{
    AccountRedaction, Leak, SECRET_HEADERS, SecretScan, check_bytes, check_interaction,
};
use super::store::{CassetteError, load_file, to_bytes, write_atomic};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::oneshot;

/// What to do with a cassette file that already exists.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
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
    /// The recording has been stopped.
    Closed,
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::Secret(leak) => write!(f, "refused to write {leak}"),
            WriteError::Io(message) => f.write_str(message),
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

/// Told when an entry is on disk, or why it is not.
type Done = oneshot::Sender<Result<(), WriteError>>;

enum Job {
    Write(Box<Entry>, Done),
    Close(oneshot::Sender<()>),
}

/// How a cassette is written.
pub struct WriterOptions {
    pub mode: WriteMode,
    pub scan: Arc<dyn SecretScan>,
    pub redaction: Option<AccountRedaction>,
}

/// Records into one cassette file from any number of tasks.
pub struct CassetteWriter {
    jobs: mpsc::Sender<Job>,
    path: PathBuf,
}

impl CassetteWriter {
    /// Opens `path` according to the mode and writes it once, so a path that
    /// cannot be written fails now. `fresh` gives the name and provenance of
    /// a new file; an appended file keeps its own.
    pub fn open(
        path: &Path,
        fresh: Cassette,
        options: WriterOptions,
    ) -> Result<Self, CassetteError> {
        let error = |message: String| CassetteError {
            path: path.to_path_buf(),
            position: None,
            message,
        };
        if path.is_dir() {
            return Err(error(
                "is a folder; record into a cassette file (e.g. cassettes/my-scenario.json)".into(),
            ));
        }
        let exists = path.exists();
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
        let keys = (0..cassette.interactions.len() as u64)
            .map(|i| {
                (
                    0,
                    StartKey {
                        since_first: Duration::ZERO,
                        seq: i,
                    },
                )
            })
            .collect();
        let mut state = State {
            path: path.to_path_buf(),
            cassette,
            keys,
            base_ms,
            scan: options.scan,
            redaction: options.redaction,
            service_known: false,
        };
        state.service_known = state.cassette.provenance.service.is_some();
        state.write().map_err(|e| error(e.to_string()))?;
        let (jobs, receiver) = mpsc::channel();
        std::thread::Builder::new()
            .name("cassette-writer".into())
            .spawn(move || state.run(receiver))
            .map_err(|e| error(format!("cannot start the writer thread: {e}")))?;
        Ok(Self {
            jobs,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records `entry`; returns once the file holding it is in place.
    pub async fn write(&self, entry: Entry) -> Result<(), WriteError> {
        let (done, wait) = oneshot::channel();
        self.jobs
            .send(Job::Write(Box::new(entry), done))
            .map_err(|_| WriteError::Closed)?;
        wait.await.unwrap_or(Err(WriteError::Closed))
    }

    /// Finishes the writes already queued, then stops; later writes fail
    /// with [`WriteError::Closed`].
    pub async fn close(&self) {
        let (done, wait) = oneshot::channel();
        if self.jobs.send(Job::Close(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

struct State {
    path: PathBuf,
    cassette: Cassette,
    /// Parallel to `cassette.interactions`: (0 for interactions that were
    /// in the file, 1 for this recording; start).
    keys: Vec<(u8, StartKey)>,
    base_ms: u64,
    scan: Arc<dyn SecretScan>,
    redaction: Option<AccountRedaction>,
    service_known: bool,
}

impl State {
    fn run(mut self, jobs: mpsc::Receiver<Job>) {
        while let Ok(first) = jobs.recv() {
            let mut batch = Vec::new();
            let mut close = None;
            let mut next = Some(first);
            while let Some(job) = next {
                match job {
                    Job::Write(entry, done) => batch.push((entry, done)),
                    Job::Close(done) => {
                        close = Some(done);
                        break;
                    }
                }
                next = jobs.try_recv().ok();
            }
            if !batch.is_empty() {
                self.write_batch(batch);
            }
            if let Some(done) = close {
                let _ = done.send(());
                return;
            }
        }
    }

    fn write_batch(&mut self, batch: Vec<(Box<Entry>, Done)>) {
        let mut added = Vec::new();
        let mut waiting = Vec::new();
        for (entry, done) in batch {
            if let Err(leak) = check_interaction(&entry.interaction, &*self.scan) {
                tracing::error!(
                    "not recorded: {leak} (the client gets a 500; nothing was written)"
                );
                let _ = done.send(Err(WriteError::Secret(leak)));
                continue;
            }
            let key = (1, entry.start);
            let at = self.keys.partition_point(|k| *k <= key);
            let mut interaction = entry.interaction;
            let ms = u64::try_from(entry.start.since_first.as_millis()).unwrap_or(u64::MAX);
            interaction.elapsed_ms = self.base_ms.saturating_add(ms);
            self.keys.insert(at, key);
            self.cassette.interactions.insert(at, interaction);
            if let (Some(redaction), Some(account)) = (&mut self.redaction, &entry.account_hint) {
                redaction.learn(account);
            }
            if !self.service_known {
                if let Some((region, service)) = entry.scope {
                    self.cassette.provenance.region.get_or_insert(region);
                    self.cassette.provenance.service = Some(service);
                    self.service_known = true;
                }
            }
            added.push(key);
            waiting.push(done);
        }
        if waiting.is_empty() {
            return;
        }
        let result = self.write();
        if let Err(error) = &result {
            tracing::error!(path = %self.path.display(), "not recorded: {error}");
            for key in &added {
                if let Some(at) = self.keys.iter().position(|k| k == key) {
                    self.keys.remove(at);
                    self.cassette.interactions.remove(at);
                }
            }
        }
        for done in waiting {
            let _ = done.send(result.clone());
        }
    }

    /// Serialises, redacts, checks, and replaces the file.
    fn write(&mut self) -> Result<(), WriteError> {
        for (i, interaction) in self.cassette.interactions.iter().enumerate() {
            for headers in [&interaction.request.headers, &interaction.response.headers] {
                if let Some((name, _)) = headers
                    .iter_grouped()
                    .find(|(name, _)| SECRET_HEADERS.contains(name))
                {
                    return Err(WriteError::Secret(Leak {
                        what: format!("a `{name}` header"),
                        place: format!("interaction {i}"),
                    }));
                }
            }
        }
        let mut bytes = to_bytes(&self.cassette);
        if let Some(redaction) = &mut self.redaction {
            redaction.apply(&mut bytes);
        }
        check_bytes(&bytes, &*self.scan).map_err(WriteError::Secret)?;
        write_atomic(&self.path, &bytes).map_err(|e| {
            WriteError::Io(format!(
                "cannot write the cassette {}: {e}",
                self.path.display()
            ))
        })
    }
}

/// `2026-05-01T12:00:00.000Z` for a time.
pub fn rfc3339(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(i64::try_from(days).unwrap_or(0));
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cassette::{
        Body, Headers, Provenance, RecordedRequest, RecordedResponse, load_file,
    };

    struct NoSecrets;
    impl SecretScan for NoSecrets {
        fn find_secret(&self, bytes: &[u8]) -> Option<&'static str> {
            bytes
                .windows(6)
                .any(|w| w == b"SECRET")
                .then_some("the canary")
        }
    }

    fn fresh() -> Cassette {
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
                expect: None,
                note: None,
                request: RecordedRequest {
                    method: "POST".into(),
                    uri: "/".into(),
                    headers: Headers::default(),
                    body: Body::Text(body.into()),
                },
                response: RecordedResponse {
                    status: 200,
                    headers: Headers::default(),
                    body: Body::Empty,
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

    #[test]
    fn formats_timestamps() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_millis(1_777_636_800_250)),
            "2026-05-01T12:00:00.250Z"
        );
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00.000Z"
        );
    }
}
