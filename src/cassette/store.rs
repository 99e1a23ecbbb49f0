//! Reading and writing cassette files: one file or a folder of them, errors
//! that name the file, line and column, and canonical bytes (sorted keys,
//! two-space indent, trailing newline) so that saving an unchanged cassette
//! gives the same bytes and a re-recording makes a small diff.

use super::format::{CassetteFile, FORMAT_V1, FORMAT_V2, Version};
use super::journal;
use super::model::{Cassette, LoadedCassette};
use super::reader;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why a cassette could not be read or written.
#[derive(Debug)]
pub struct CassetteError {
    pub path: PathBuf,
    /// 1-based line and column, when the problem is at a place in the file.
    pub position: Option<(usize, usize)>,
    pub message: String,
}

impl fmt::Display for CassetteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, column)) => write!(
                f,
                "{}:{line}:{column}: {}",
                self.path.display(),
                self.message
            ),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

impl std::error::Error for CassetteError {}

impl CassetteError {
    pub(super) fn at(path: &Path, message: impl Into<String>) -> Self {
        Self {
            path: path.to_path_buf(),
            position: None,
            message: message.into(),
        }
    }
}

/// Parses cassette bytes (format 1 or 2); `path` is only used in errors.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Cassette, CassetteError> {
    parse_versioned(path, bytes).map(|(cassette, _)| cassette)
}

/// [`parse`], also saying which format the bytes were in.
pub fn parse_versioned(path: &Path, bytes: &[u8]) -> Result<(Cassette, Version), CassetteError> {
    reader::read(path, bytes, u64::MAX, |_| {})
}

/// [`parse_versioned`] on a file's `bytes`, with the exchanges its
/// recording journal adds (as [`load_file`] adds them) and how many those
/// are: for a command that also needs the file's own bytes.
pub fn parse_with_journal(
    path: &Path,
    bytes: &[u8],
) -> Result<(Cassette, Version, usize), CassetteError> {
    let (mut cassette, version) = parse_versioned(path, bytes)?;
    let base = (bytes.len() as u64, journal::crc32(bytes));
    let added = journal::recover_into(path, Some(base), &mut cassette)?;
    Ok((cassette, version, added))
}

pub(super) fn check_format(
    path: &Path,
    format: &serde_json::Value,
) -> Result<Version, CassetteError> {
    if let Some(version) = format.as_str().and_then(Version::of) {
        return Ok(version);
    }
    Err(CassetteError::at(
        path,
        format!(
            "unknown cassette format {format}; this proton-vcr reads \"{FORMAT_V2}\" and \"{FORMAT_V1}\" (a newer tool may have written the file: upgrade proton-vcr)"
        ),
    ))
}

/// `error` as a cassette error at `position` (1-based line, column) in the file.
pub(super) fn json_error(
    path: &Path,
    error: &serde_json::Error,
    position: (usize, usize),
) -> CassetteError {
    use serde_json::error::Category;
    let what = match error.classify() {
        Category::Io => "could not be read",
        Category::Syntax => "is not valid JSON",
        Category::Data => "is not a valid cassette",
        Category::Eof => "ends too early (truncated JSON)",
    };
    // serde_json appends " at line L column C"; the position is shown up front.
    let detail = error.to_string();
    let detail = detail
        .rsplit_once(" at line ")
        .map(|(head, _)| head.to_string())
        .unwrap_or(detail);
    CassetteError {
        path: path.to_path_buf(),
        position: Some(position),
        message: format!("the file {what}: {detail}"),
    }
}

/// The largest file read as a cassette or journal. Anything bigger is
/// refused before it is read: a cassette is loaded whole into memory.
pub const MAX_CASSETTE_BYTES: u64 = 2 << 30;

/// Reads a file that must be a regular file of at most `MAX_CASSETTE_BYTES`.
/// The file is opened without blocking, so a FIFO or device named as a
/// cassette is refused instead of hanging or filling memory.
pub fn read_regular_file(path: &Path) -> Result<Vec<u8>, CassetteError> {
    use std::io::Read;
    let (file, len) = open_regular_file(path)?;
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(MAX_CASSETTE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| CassetteError::at(path, format!("cannot read the cassette: {e}")))?;
    if bytes.len() as u64 > MAX_CASSETTE_BYTES {
        return Err(CassetteError::at(
            path,
            "grew over the size limit while read",
        ));
    }
    Ok(bytes)
}

/// Opens a file that must be a regular file of at most
/// `MAX_CASSETTE_BYTES`; returns it with its size.
fn open_regular_file(path: &Path) -> Result<(std::fs::File, u64), CassetteError> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| CassetteError::at(path, format!("cannot read the cassette: {e}")))?;
    let metadata = file
        .metadata()
        .map_err(|e| CassetteError::at(path, format!("cannot stat the cassette: {e}")))?;
    if !metadata.is_file() {
        return Err(CassetteError::at(
            path,
            "is not a regular file (a FIFO, device or socket); give a cassette file",
        ));
    }
    if metadata.len() > MAX_CASSETTE_BYTES {
        return Err(CassetteError::at(
            path,
            format!(
                "is {} bytes, over the {MAX_CASSETTE_BYTES}-byte limit for a cassette; split it into several files in a folder",
                metadata.len()
            ),
        ));
    }
    Ok((file, metadata.len()))
}

/// Loads one cassette file, with the exchanges its recording journal holds
/// if a recording was cut short (see `cassette::journal`). The file is read
/// in pieces (see `cassette::reader`); its checksum, which names the
/// journal's base, is taken on the way only when a journal is there.
pub fn load_file(path: &Path) -> Result<LoadedCassette, CassetteError> {
    let (file, _) = open_regular_file(path)?;
    let mut base = journal::exists(path).then(|| (0u64, journal::Crc32::default()));
    let (mut cassette, _) = reader::read(path, file, MAX_CASSETTE_BYTES, |bytes| {
        if let Some((len, crc)) = &mut base {
            *len += bytes.len() as u64;
            crc.update(bytes);
        }
    })?;
    journal::recover_into(
        path,
        base.map(|(len, crc)| (len, crc.finish())),
        &mut cassette,
    )?;
    Ok(LoadedCassette {
        path: path.to_path_buf(),
        cassette,
    })
}

/// Loads a cassette file, or every `*.json` file below a folder (sorted by
/// path, so the order is the same on every machine).
pub fn load(path: &Path) -> Result<Vec<LoadedCassette>, CassetteError> {
    let files = cassette_files(path)?;
    if files.is_empty() {
        return Err(CassetteError::at(
            path,
            "the folder holds no *.json cassette",
        ));
    }
    files.iter().map(|file| load_file(file)).collect()
}

/// The cassette files `path` names: itself when it is not a folder, else
/// every `*.json` below it, sorted. One symlink policy for every command:
/// symbolic links are followed, to files and to folders alike, and a folder
/// reached twice (a loop, or two links to one folder) is listed once.
pub fn cassette_files(path: &Path) -> Result<Vec<PathBuf>, CassetteError> {
    crate::files::json_files(path, "cassette").map_err(|e| CassetteError::at(&e.path, e.message))
}

/// The canonical bytes of a cassette.
pub fn to_bytes(cassette: &Cassette) -> Vec<u8> {
    // The format types declare their fields sorted, and header maps are
    // sorted; bodies are written as recorded.
    let mut bytes = serde_json::to_vec_pretty(&CassetteFile::from_model(cassette))
        .expect("cassette types always serialise");
    bytes.push(b'\n');
    bytes
}

/// Writes `bytes` to `path` so that a reader sees the old file or the new
/// one, never a mix: a temporary file beside it, flushed, then renamed. The
/// temporary file is created new (`O_EXCL`, so a planted file or symbolic
/// link at its name is never opened) under a name no other write uses.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    refuse_symlink(path)?;
    let dir = parent_dir(path);
    std::fs::create_dir_all(dir)?;
    let (tmp, mut file) = create_temporary(path)?;
    let result = (|| {
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)?;
        sync_dir(dir);
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Refuses to rewrite a cassette through a symbolic link: the new file
/// would take the link's place and the file it points to would stay as it
/// was. The error names the file to give instead.
pub fn refuse_symlink(path: &Path) -> std::io::Result<()> {
    let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if !is_link {
        return Ok(());
    }
    let target = std::fs::read_link(path)
        .map(|t| format!(" (to {})", t.display()))
        .unwrap_or_default();
    Err(std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!(
            "it is a symbolic link{target}; a rewrite would replace the link, not the file it points to: give the file itself"
        ),
    ))
}

/// The folder a cassette file is in.
pub(super) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Makes renames and removals in `dir` durable.
pub(super) fn sync_dir(dir: &Path) {
    if let Ok(dir) = std::fs::File::open(dir) {
        let _ = dir.sync_all();
    }
}

/// `.NAME.` : the start of every temporary file name for the cassette `path`.
fn temporary_prefix(path: &Path) -> String {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "cassette.json".into());
    format!(".{file_name}.")
}

fn create_temporary(path: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = parent_dir(path);
    let prefix = temporary_prefix(path);
    loop {
        let tmp = dir.join(format!(
            "{prefix}{}.{}.tmp",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)
        {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Removes the temporary files earlier writes of `path` left behind (a
/// process killed mid-write). Call it only while holding the cassette's
/// lock: then no other write of this cassette is under way. Returns how many
/// were removed.
pub fn clean_temporaries(path: &Path) -> usize {
    let prefix = temporary_prefix(path);
    let Ok(entries) = std::fs::read_dir(parent_dir(path)) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let is_ours = name.starts_with(&prefix) && name.ends_with(".tmp");
        // A symbolic link at such a name is removed, never followed.
        if is_ours && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    if removed > 0 {
        tracing::info!(cassette = %path.display(), removed, "removed temporary files left by an interrupted write");
    }
    removed
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_cassette_is_never_rewritten_through_a_symbolic_link() {
        let dir = std::env::temp_dir().join(format!("vcr-link-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (file, link) = (dir.join("real.json"), dir.join("link.json"));
        std::fs::write(&file, b"before").unwrap();
        std::os::unix::fs::symlink("real.json", &link).unwrap();
        let error = write_atomic(&link, b"after").unwrap_err().to_string();
        assert!(error.contains("symbolic link (to real.json)"), "{error}");
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read(&file).unwrap(), b"before");
        // The file itself is written.
        write_atomic(&file, b"after").unwrap();
        assert_eq!(std::fs::read(&link).unwrap(), b"after");
        let _ = std::fs::remove_dir_all(&dir);
    }
    use super::*;

    const EMPTY: &str = r#"{"format": "proton-vcr.cassette/2", "name": "e", "provenance": {"kind": "documented"}, "interactions": []}"#;

    #[test]
    fn only_regular_files_are_read_and_size_is_capped_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo.json");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        // Opening a FIFO for reading would block until a writer came.
        let error = load_file(&fifo).unwrap_err().to_string();
        assert!(error.contains("is not a regular file"), "{error}");
        let error = load_file(Path::new("/dev/zero")).unwrap_err().to_string();
        assert!(error.contains("is not a regular file"), "{error}");
        let big = dir.path().join("big.json");
        let file = std::fs::File::create(&big).unwrap();
        file.set_len(MAX_CASSETTE_BYTES + 1).unwrap();
        let error = load_file(&big).unwrap_err().to_string();
        assert!(error.contains("over the"), "{error}");
    }

    #[test]
    fn symbolic_links_are_followed_once_and_loops_end() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/a.json"), EMPTY).unwrap();
        let outside = dir.path().join("outside.json");
        std::fs::write(&outside, EMPTY).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("linked.json")).unwrap();
        // A loop back to the root, and a second way into `sub`.
        std::os::unix::fs::symlink(&root, root.join("sub/loop")).unwrap();
        std::os::unix::fs::symlink(root.join("sub"), root.join("again")).unwrap();
        let files = cassette_files(&root).unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|f| f.strip_prefix(&root).unwrap().display().to_string())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names.contains(&"linked.json".to_string()), "{names:?}");
        assert!(names.iter().any(|n| n.ends_with("a.json")), "{names:?}");
        assert_eq!(load(&root).unwrap().len(), 2);
    }
}
