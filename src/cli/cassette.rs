//! `proton-vcr cassette`: tools for cassette files.

use clap::{Args, Subcommand};
use proton_vcr::cassette;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Work with cassette files: scan them for credentials, upgrade their format.
#[derive(Debug, Args)]
pub struct CassetteArgs {
    #[command(subcommand)]
    pub command: CassetteCommand,
}

#[derive(Debug, Subcommand)]
pub enum CassetteCommand {
    /// Scan cassettes for anything credential-like; exit 1 on a finding.
    ///
    /// Looks for AWS access key ids (AKIA…, ASIA…), secret-key-shaped strings,
    /// session tokens, Authorization / X-Amz-Security-Token / Cookie / SSE-C
    /// key / x-api-key headers and presigned URL signatures; in files that
    /// parse as cassettes, also for secrets services hand out written
    /// verbatim (what `cassette redact` replaces). Findings are printed
    /// masked, as FILE:LINE:COLUMN. Every *.json file below a folder is
    /// scanned, whether or not it parses.
    ///
    /// As a pre-commit hook (.git/hooks/pre-commit):
    ///   proton-vcr cassette check cassettes/
    /// As a CI step:
    ///   proton-vcr cassette check cassettes/ || exit 1
    #[command(verbatim_doc_comment)]
    Check {
        /// Cassette files or folders.
        #[arg(required = true, value_name = "FILE|DIR")]
        paths: Vec<PathBuf>,
    },
    /// Replace secrets in cassettes recorded without redaction, in place.
    ///
    /// Members that hold secrets services hand out (secret keys, session
    /// tokens, passwords, SecretString, SSM parameter values, KMS plaintext;
    /// the service model's sensitive members) become placeholders of the
    /// same shape, the same secret the same placeholder; access key ids
    /// become ids no real key can have; SSE-C key, x-api-key and signing
    /// headers are dropped. `proton-vcr record` does this as it records.
    /// Run `cassette check` afterwards: what it still finds must be removed
    /// by hand or re-recorded.
    #[command(verbatim_doc_comment)]
    Redact {
        /// Cassette files or folders.
        #[arg(required = true, value_name = "FILE|DIR")]
        paths: Vec<PathBuf>,
    },
    /// Rewrite cassettes in format 2, in place.
    ///
    /// Format 1 files become format 2 with the same meaning: each JSON body
    /// becomes the exact bytes format 1 replay sent (compact JSON). A
    /// recording journal left by an interrupted recording is folded in.
    /// Files already in canonical format 2 are left untouched, so running
    /// it twice changes nothing the second time. Prints one line per file
    /// and a summary. Every *.json file below a folder is upgraded.
    ///
    ///   proton-vcr cassette upgrade cassettes/
    #[command(verbatim_doc_comment)]
    Upgrade {
        /// Cassette files or folders.
        #[arg(required = true, value_name = "FILE|DIR")]
        paths: Vec<PathBuf>,
    },
}

pub async fn run(args: CassetteArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        CassetteCommand::Check { paths } => check(&paths),
        CassetteCommand::Redact { paths } => redact(&paths),
        CassetteCommand::Upgrade { paths } => upgrade(&paths),
    }
}

/// What `upgrade` did to one file.
enum Upgraded {
    FromV1,
    Journal,
    /// Its journal added nothing, and is left where it is.
    IdleJournal,
    Canonicalised,
    Unchanged,
}

fn upgrade(paths: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut files = Vec::new();
    for path in paths {
        files.extend(cassette::cassette_files(path)?);
    }
    let (mut from_v1, mut journals, mut canonicalised, mut unchanged) = (0, 0, 0, 0);
    for file in &files {
        match upgrade_file(file)? {
            Upgraded::FromV1 => {
                from_v1 += 1;
                println!("{}: upgraded from format 1", file.display());
            }
            Upgraded::Journal => {
                journals += 1;
                println!("{}: folded in its recording journal", file.display());
            }
            Upgraded::IdleJournal => {
                unchanged += 1;
                println!(
                    "{}: left {} where it is: it adds no exchange to this file (it extends another version of it, or recorded nothing); remove it once you have looked",
                    file.display(),
                    cassette::journal_path(file).display()
                );
            }
            Upgraded::Canonicalised => {
                canonicalised += 1;
                println!("{}: rewritten in canonical form", file.display());
            }
            Upgraded::Unchanged => unchanged += 1,
        }
    }
    println!(
        "{} file(s): {from_v1} upgraded from format 1, {journals} with a journal folded in, {canonicalised} rewritten in canonical form, {unchanged} already canonical format 2",
        files.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn upgrade_file(path: &Path) -> anyhow::Result<Upgraded> {
    // No recorder may write it meanwhile.
    let _lock = cassette::CassetteLock::acquire(path)?;
    cassette::clean_temporaries(path);
    let bytes = cassette::read_regular_file(path)?;
    // What the journal added: nothing when it extends another version of
    // the file or recorded nothing.
    let (loaded, version, added) = cassette::parse_with_journal(path, &bytes)?;
    let folded = added > 0;
    let journal = cassette::journal_path(path);
    let had_journal = journal.exists();
    let canonical = cassette::to_bytes(&loaded);
    if canonical == bytes && !folded {
        // A journal that added nothing may still hold what another version
        // of the file had: it is not this command's to remove.
        return Ok(if had_journal {
            Upgraded::IdleJournal
        } else {
            Upgraded::Unchanged
        });
    }
    cassette::write_atomic(path, &canonical)
        .map_err(|e| anyhow::anyhow!("{}: cannot write ({e})", path.display()))?;
    if folded {
        std::fs::remove_file(&journal)
            .map_err(|e| anyhow::anyhow!("{}: cannot remove ({e})", journal.display()))?;
    }
    Ok(match version {
        cassette::Version::V1 => Upgraded::FromV1,
        _ if folded => Upgraded::Journal,
        _ => Upgraded::Canonicalised,
    })
}

fn check(paths: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut files = Vec::new();
    for path in paths {
        for file in cassette::cassette_files(path)? {
            // The exchanges of a recording cut short are in its journal.
            let journal = cassette::journal_path(&file);
            files.push(file);
            if journal.exists() {
                files.push(journal);
            }
        }
    }
    files.sort();
    files.dedup();
    let mut findings = 0;
    for file in &files {
        let bytes = cassette::read_regular_file(file)?;
        let text = String::from_utf8_lossy(&bytes);
        let mut found = cassette::secrets::scan(&text);
        found.extend(cassette::secrets::scan_members(file, &text));
        for finding in found {
            findings += 1;
            println!(
                "{}:{}:{}: {} ({})",
                file.display(),
                finding.line,
                finding.column,
                finding.kind,
                finding.excerpt
            );
        }
    }
    if findings > 0 {
        eprintln!(
            "{findings} credential-like value(s) in {} file(s) scanned: remove them before committing. `proton-vcr cassette redact FILE` replaces secret members with placeholders and drops secret headers; credentials of your own (access keys, session tokens, Authorization) that remain were never written by `proton-vcr record`, which refuses to: re-record, or remove them by hand",
            files.len()
        );
        return Ok(ExitCode::from(1));
    }
    eprintln!("{} file(s) scanned: no credentials found", files.len());
    Ok(ExitCode::SUCCESS)
}

fn redact(paths: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut files = Vec::new();
    for path in paths {
        files.extend(cassette::cassette_files(path)?);
    }
    files.sort();
    let mut changed = 0;
    for file in &files {
        // No recorder may write it meanwhile.
        let _lock = cassette::CassetteLock::acquire(file)?;
        let mut loaded = cassette::load_file(file)?;
        let found = cassette::redact_cassette(&mut loaded.cassette);
        for u in &found {
            println!(
                "{}: interaction {}: replaced {}",
                file.display(),
                u.interaction,
                u.what
            );
        }
        if !found.is_empty() {
            changed += 1;
            cassette::write_atomic(file, &cassette::to_bytes(&loaded.cassette))
                .map_err(|e| anyhow::anyhow!("{}: cannot write ({e})", file.display()))?;
        }
    }
    eprintln!(
        "{} file(s) read, {changed} rewritten; run `proton-vcr cassette check` on them next",
        files.len()
    );
    Ok(ExitCode::SUCCESS)
}
