//! Finding the files a command is given: a file itself, or every `*.json`
//! below a folder, with one symbolic-link policy for every command (cassettes,
//! scenarios). Links are followed, to files and to folders alike; a folder
//! reached twice (a loop, or two links to one folder) is listed once.

use std::collections::HashSet;
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// A path that could not be listed, and why (with what to do).
#[derive(Debug)]
pub struct ListError {
    pub path: PathBuf,
    pub message: String,
}

/// `path` when it is not a folder, else every `*.json` file below it, sorted
/// by path so the order is the same on every machine. `what` names the files
/// in the message when `path` cannot be opened (`cassette`, `scenario`).
pub fn json_files(path: &Path, what: &str) -> Result<Vec<PathBuf>, ListError> {
    let metadata = std::fs::metadata(path).map_err(|e| ListError {
        path: path.to_path_buf(),
        message: format!("cannot open ({e}); give a {what} file or a folder of them"),
    })?;
    if !metadata.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    collect(path, &metadata, &mut HashSet::new(), &mut files)?;
    files.sort();
    Ok(files)
}

fn collect(
    dir: &Path,
    metadata: &Metadata,
    seen: &mut HashSet<(u64, u64)>,
    out: &mut Vec<PathBuf>,
) -> Result<(), ListError> {
    if !seen.insert((metadata.dev(), metadata.ino())) {
        tracing::debug!(folder = %dir.display(), "already listed (a symbolic link loop or a second link): skipped");
        return Ok(());
    }
    let unlistable = |e: std::io::Error| ListError {
        path: dir.to_path_buf(),
        message: format!("cannot list the folder: {e}"),
    };
    for entry in std::fs::read_dir(dir).map_err(unlistable)? {
        let path = entry.map_err(unlistable)?.path();
        // Follows symbolic links; a dangling one is named.
        let metadata = std::fs::metadata(&path).map_err(|e| ListError {
            message: format!("cannot stat ({e}); remove or fix the link"),
            path: path.clone(),
        })?;
        if metadata.is_dir() {
            collect(&path, &metadata, seen, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}
