//! `proton-vcr cassette`: tools for cassette files.

use crate::cassette;
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Work with cassette files: scan them for credentials.
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
}

pub async fn run(args: CassetteArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        CassetteCommand::Check { paths } => check(&paths),
        CassetteCommand::Redact { paths } => redact(&paths),
    }
}

fn check(paths: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut files = Vec::new();
    for path in paths {
        collect(path, &mut files)?;
    }
    files.sort();
    let mut findings = 0;
    for file in &files {
        let bytes = std::fs::read(file)
            .map_err(|e| anyhow::anyhow!("{}: cannot read ({e})", file.display()))?;
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
        collect(path, &mut files)?;
    }
    files.sort();
    let mut changed = 0;
    for file in &files {
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

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let metadata = std::fs::metadata(path)
        .map_err(|e| anyhow::anyhow!("{}: cannot open ({e})", path.display()))?;
    if metadata.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    for entry in std::fs::read_dir(path)
        .map_err(|e| anyhow::anyhow!("{}: cannot list ({e})", path.display()))?
    {
        let entry = entry.map_err(|e| anyhow::anyhow!("{}: cannot list ({e})", path.display()))?;
        let child = entry.path();
        if child.is_dir() {
            collect(&child, out)?;
        } else if child.extension().is_some_and(|e| e == "json") {
            out.push(child);
        }
    }
    Ok(())
}
