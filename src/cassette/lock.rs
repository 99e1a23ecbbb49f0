//! The exclusive lock on a cassette being written: `NAME.json.lock` beside
//! it, held with `flock` for as long as the recording runs and holding the
//! holder's process id. A second recorder of the same cassette fails at once
//! and names the holder; the kernel drops the lock when its holder dies, so a
//! lock file left by a killed process never blocks anyone.

use super::store::CassetteError;
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Held while a cassette is written; released (and its file removed) on drop.
#[derive(Debug)]
pub struct CassetteLock {
    path: PathBuf,
    file: std::fs::File,
}

/// `NAME.json.lock` for the cassette `NAME.json`.
pub fn lock_path(cassette: &Path) -> PathBuf {
    let mut name = cassette.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

impl CassetteLock {
    /// Takes the lock on `cassette`, or fails at once naming who holds it.
    pub fn acquire(cassette: &Path) -> Result<Self, CassetteError> {
        let path = lock_path(cassette);
        let error = |message: String| CassetteError::at(cassette, message);
        loop {
            let mut file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o644)
                .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
                .open(&path)
                .map_err(|e| {
                    error(format!(
                        "cannot open its lock file {} ({e}); if it is a symbolic link, remove it",
                        path.display()
                    ))
                })?;
            let metadata = file
                .metadata()
                .map_err(|e| error(format!("cannot stat {}: {e}", path.display())))?;
            if !metadata.is_file() {
                return Err(error(format!(
                    "its lock file {} is not a regular file; remove it",
                    path.display()
                )));
            }
            // SAFETY: flock on a descriptor this function owns.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(error(format!(
                    "is being recorded by another process ({}); stop it first, or record into another file",
                    if holder.is_empty() {
                        format!("it holds {}", path.display())
                    } else {
                        format!("{holder}, holding {}", path.display())
                    }
                )));
            }
            // The holder before us may have removed the file after we opened
            // it: then this lock guards nothing; take it again.
            match std::fs::symlink_metadata(&path) {
                Ok(now) if now.dev() == metadata.dev() && now.ino() == metadata.ino() => {}
                _ => continue,
            }
            let holder = format!("pid {}", std::process::id());
            let written = file
                .set_len(0)
                .and_then(|()| file.rewind())
                .and_then(|()| file.write_all(holder.as_bytes()));
            if let Err(e) = written {
                return Err(error(format!("cannot write {}: {e}", path.display())));
            }
            return Ok(Self { path, file });
        }
    }
}

impl Drop for CassetteLock {
    fn drop(&mut self) {
        // Removed while still locked, so no one can lock the old file after.
        let _ = std::fs::remove_file(&self.path);
        // SAFETY: unlocks the descriptor this value owns.
        unsafe { libc::flock(self.file.as_raw_fd(), libc::LOCK_UN) };
    }
}
