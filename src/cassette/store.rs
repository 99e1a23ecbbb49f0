//! Reading and writing cassette files: one file or a folder of them, errors
//! that name the file, line and column, and canonical bytes (sorted keys,
//! two-space indent, trailing newline) so that saving an unchanged cassette
//! gives the same bytes and a re-recording makes a small diff.

use super::format::{BodyIn, CassetteFile, FORMAT_V1, FORMAT_V2, FormatOnly, Version};
use super::model::{Cassette, LoadedCassette};
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
    fn at(path: &Path, message: impl Into<String>) -> Self {
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
    let file: CassetteFile<'_, BodyIn<'_>> = match serde_json::from_slice(bytes) {
        Ok(file) => file,
        Err(error) => {
            // An unknown format explains any other error better.
            if let Ok(FormatOnly {
                format: Some(format),
            }) = serde_json::from_slice::<FormatOnly>(bytes)
            {
                check_format(path, &format)?;
            }
            return Err(json_error(path, &error));
        }
    };
    let version = check_format(path, &serde_json::Value::String(file.format.to_string()))?;
    let cassette = file
        .into_model(version)
        .map_err(|message| CassetteError::at(path, message))?;
    Ok((cassette, version))
}

fn check_format(path: &Path, format: &serde_json::Value) -> Result<Version, CassetteError> {
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

fn json_error(path: &Path, error: &serde_json::Error) -> CassetteError {
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
        position: Some((error.line(), error.column())),
        message: format!("the file {what}: {detail}"),
    }
}

/// Loads one cassette file.
pub fn load_file(path: &Path) -> Result<LoadedCassette, CassetteError> {
    let bytes = std::fs::read(path)
        .map_err(|e| CassetteError::at(path, format!("cannot read the cassette: {e}")))?;
    let cassette = parse(path, &bytes)?;
    Ok(LoadedCassette {
        path: path.to_path_buf(),
        cassette,
    })
}

/// Loads a cassette file, or every `*.json` file below a folder (sorted by
/// path, so the order is the same on every machine).
pub fn load(path: &Path) -> Result<Vec<LoadedCassette>, CassetteError> {
    let metadata = std::fs::metadata(path).map_err(|e| {
        CassetteError::at(
            path,
            format!("cannot open ({e}); give a cassette file or a folder of them"),
        )
    })?;
    if metadata.is_file() {
        return Ok(vec![load_file(path)?]);
    }
    let mut files = Vec::new();
    collect_json_files(path, &mut files)?;
    if files.is_empty() {
        return Err(CassetteError::at(
            path,
            "the folder holds no *.json cassette",
        ));
    }
    files.sort();
    files.iter().map(|file| load_file(file)).collect()
}

fn collect_json_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), CassetteError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| CassetteError::at(dir, format!("cannot list the folder: {e}")))?;
    for entry in entries {
        let entry =
            entry.map_err(|e| CassetteError::at(dir, format!("cannot list the folder: {e}")))?;
        let path = entry.path();
        let file_type = entry
            .file_type()
            .map_err(|e| CassetteError::at(&path, format!("cannot stat: {e}")))?;
        if file_type.is_dir() {
            collect_json_files(&path, out)?;
        } else if file_type.is_file() && path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
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
/// one, never a mix: a temporary file beside it, flushed, then renamed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "cassette.json".into());
    let tmp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // Make the rename itself durable.
        if let Ok(dir) = std::fs::File::open(dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
