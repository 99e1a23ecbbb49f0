//! Template bundles: a test maps `s3://bucket/key` to a local `.tar.gz` (or
//! folder) with `--bundle` or `POST /__mock/bundles`, and registering a
//! template version from that S3 object then reads the bundle as Proton
//! would: its `schema/schema.yaml` becomes the version's `schema`, and a
//! bundle Proton could not register ends the registration in
//! REGISTRATION_FAILED with the reason. Unmapped objects are not read.
//!
//! This is the mock's only file IO. It runs before the state is locked, and
//! its outcome reaches the operations as a value ([`BundleRead`]); the
//! archive is read in memory, never extracted.

use super::state::TemplateKind;
use flate2::read::GzDecoder;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A mapped bundle's schema, or why Proton would refuse the bundle.
pub type BundleRead = Result<String, String>;

/// Largest file read from a bundle (a schema or a manifest).
const MAX_FILE_BYTES: u64 = 1 << 20;
/// Most entries looked at in an archive.
const MAX_ENTRIES: usize = 10_000;

/// `s3://bucket/key` -> local path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BundleMap(BTreeMap<String, PathBuf>);

impl BundleMap {
    pub fn insert(&mut self, uri: String, path: PathBuf) {
        self.0.insert(uri, path);
    }

    pub fn get(&self, bucket: &str, key: &str) -> Option<&Path> {
        self.0.get(&uri(bucket, key)).map(PathBuf::as_path)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

pub fn uri(bucket: &str, key: &str) -> String {
    format!("s3://{bucket}/{key}")
}

/// Reads `s3://bucket/key=PATH` (the flag's and the admin call's form).
pub fn parse_mapping(text: &str) -> Result<(String, PathBuf), String> {
    let (uri, path) = text
        .split_once('=')
        .ok_or_else(|| format!("'{text}' is not s3://BUCKET/KEY=PATH"))?;
    check_uri(uri)?;
    if path.is_empty() {
        return Err(format!("'{text}' names no local path after '='"));
    }
    Ok((uri.to_string(), PathBuf::from(path)))
}

/// An `s3://bucket/key` with a bucket and a key.
pub fn check_uri(uri: &str) -> Result<(), String> {
    match uri
        .strip_prefix("s3://")
        .and_then(|rest| rest.split_once('/'))
    {
        Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() => Ok(()),
        _ => Err(format!(
            "'{uri}' is not an S3 URI of the form s3://BUCKET/KEY"
        )),
    }
}

/// What registering a version of `kind` from the bundle at `path` finds.
pub fn read(path: &Path, kind: TemplateKind) -> BundleRead {
    let files = if path.is_dir() {
        read_folder(path)?
    } else {
        read_archive(path)?
    };
    check(kind, &files)
}

/// The files the mock reads from a bundle, by path relative to the bundle root.
#[derive(Debug, Default)]
struct Files {
    schema: Option<String>,
    manifests: Vec<String>,
}

/// The bundle root is the archive's or folder's top, or its single top-level
/// folder (`tar czf bundle.tar.gz my-template/`).
fn relative(path: &str) -> Option<(String, bool)> {
    let parts: Vec<&str> = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    let parts = if parts.len() == 3 {
        &parts[1..]
    } else {
        &parts[..]
    };
    match parts {
        ["schema", "schema.yaml"] => Some(("schema".to_string(), true)),
        [dir, "manifest.yaml"] => Some((dir.to_string(), false)),
        _ => None,
    }
}

fn text(bytes: Vec<u8>, name: &str) -> Result<String, String> {
    String::from_utf8(bytes).map_err(|_| format!("{name} is not UTF-8 text"))
}

fn read_archive(path: &Path) -> Result<Files, String> {
    let file = std::fs::File::open(path).map_err(|error| {
        format!(
            "the bundle mapped to this S3 object cannot be opened ({}): {error}",
            path.display()
        )
    })?;
    let mut archive = tar::Archive::new(GzDecoder::new(file));
    let entries = archive
        .entries()
        .map_err(|error| format!("the bundle is not a gzip-compressed tar archive: {error}"))?;
    let mut files = Files::default();
    for (index, entry) in entries.enumerate() {
        if index == MAX_ENTRIES {
            return Err(format!("the bundle has more than {MAX_ENTRIES} entries"));
        }
        let entry = entry
            .map_err(|error| format!("the bundle is not a gzip-compressed tar archive: {error}"))?;
        let name = entry
            .path()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some((dir, schema)) = relative(&name) else {
            continue;
        };
        let mut bytes = Vec::new();
        entry
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|error| format!("{name} in the bundle cannot be read: {error}"))?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(format!("{name} in the bundle is larger than 1 MiB"));
        }
        if schema {
            files.schema = Some(text(bytes, &name)?);
        } else {
            files.manifests.push(dir);
        }
    }
    Ok(files)
}

fn read_folder(root: &Path) -> Result<Files, String> {
    // The folder itself, or its single subfolder, is the bundle root.
    let mut base = root.to_path_buf();
    if !root.join("schema").is_dir() {
        let subfolders: Vec<PathBuf> = std::fs::read_dir(root)
            .map_err(|error| format!("the bundle folder cannot be read: {error}"))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        if let [only] = subfolders.as_slice() {
            base = only.clone();
        }
    }
    let mut files = Files::default();
    let schema = base.join("schema").join("schema.yaml");
    if schema.is_file() {
        let size = std::fs::metadata(&schema).map(|m| m.len()).unwrap_or(0);
        if size > MAX_FILE_BYTES {
            return Err("schema/schema.yaml in the bundle is larger than 1 MiB".to_string());
        }
        let bytes = std::fs::read(&schema)
            .map_err(|error| format!("schema/schema.yaml in the bundle cannot be read: {error}"))?;
        files.schema = Some(text(bytes, "schema/schema.yaml")?);
    }
    for entry in std::fs::read_dir(&base)
        .map_err(|error| format!("the bundle folder cannot be read: {error}"))?
        .filter_map(Result::ok)
    {
        if entry.path().join("manifest.yaml").is_file() {
            files
                .manifests
                .push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    Ok(files)
}

/// The checks the user guide's bundle layout and schema requirements imply.
fn check(kind: TemplateKind, files: &Files) -> BundleRead {
    let schema = files
        .schema
        .as_deref()
        .ok_or("the template bundle has no schema/schema.yaml")?;
    let infrastructure = match kind {
        TemplateKind::Environment => "infrastructure",
        TemplateKind::Service => "instance_infrastructure",
    };
    if !files.manifests.iter().any(|dir| dir == infrastructure) {
        return Err(format!(
            "the template bundle has no {infrastructure}/manifest.yaml"
        ));
    }
    let top_level = |key: &str| {
        schema
            .lines()
            .any(|line| !line.starts_with([' ', '\t', '#']) && line.split(':').next() == Some(key))
    };
    if !top_level("schema") {
        return Err("schema/schema.yaml has no top-level 'schema' key".to_string());
    }
    let has = |key: &str| {
        schema
            .lines()
            .any(|line| line.trim_start().split(':').next() == Some(key))
    };
    if !has("openapi") {
        return Err("schema/schema.yaml does not declare 'format: openapi'".to_string());
    }
    let input_type = match kind {
        TemplateKind::Environment => "environment_input_type",
        TemplateKind::Service => "service_input_type",
    };
    if !has(input_type) {
        return Err(format!("schema/schema.yaml does not name its {input_type}"));
    }
    Ok(schema.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &str = "schema:\n  format:\n    openapi: \"3.0.0\"\n  environment_input_type: \"In\"\n  types:\n    In:\n      type: object\n";

    fn files(schema: Option<&str>, manifests: &[&str]) -> Files {
        Files {
            schema: schema.map(str::to_string),
            manifests: manifests.iter().map(|m| m.to_string()).collect(),
        }
    }

    #[test]
    fn a_complete_environment_bundle_gives_its_schema() {
        let ok = check(
            TemplateKind::Environment,
            &files(Some(SCHEMA), &["infrastructure"]),
        );
        assert_eq!(ok.as_deref(), Ok(SCHEMA));
    }

    #[test]
    fn each_missing_piece_is_a_reason() {
        let env = TemplateKind::Environment;
        assert!(
            check(env, &files(None, &["infrastructure"]))
                .unwrap_err()
                .contains("schema/schema.yaml")
        );
        assert!(
            check(env, &files(Some(SCHEMA), &[]))
                .unwrap_err()
                .contains("infrastructure/manifest.yaml")
        );
        assert!(
            check(env, &files(Some("types: {}\n"), &["infrastructure"]))
                .unwrap_err()
                .contains("'schema'")
        );
        let service = check(
            TemplateKind::Service,
            &files(Some(SCHEMA), &["instance_infrastructure"]),
        );
        assert!(service.unwrap_err().contains("service_input_type"));
    }

    #[test]
    fn paths_are_read_from_the_root_or_one_folder_down() {
        let found = |dir: &str, schema| Some((dir.to_string(), schema));
        assert_eq!(relative("schema/schema.yaml"), found("schema", true));
        assert_eq!(relative("./env/schema/schema.yaml"), found("schema", true));
        assert_eq!(
            relative("env/infrastructure/manifest.yaml"),
            found("infrastructure", false)
        );
        assert_eq!(relative("a/b/schema/schema.yaml"), None);
        assert_eq!(relative("README.md"), None);
    }

    #[test]
    fn mappings_parse_or_say_what_is_wrong() {
        assert_eq!(
            parse_mapping("s3://b/k.tar.gz=/tmp/x.tar.gz"),
            Ok((
                "s3://b/k.tar.gz".to_string(),
                PathBuf::from("/tmp/x.tar.gz")
            ))
        );
        assert!(parse_mapping("s3://b=/x").is_err());
        assert!(parse_mapping("b/k=/x").is_err());
        assert!(parse_mapping("s3://b/k=").is_err());
    }

    #[test]
    fn an_unreadable_archive_is_a_reason_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("not.tar.gz");
        std::fs::write(&path, b"plain text").unwrap();
        let reason = read(&path, TemplateKind::Environment).unwrap_err();
        assert!(reason.contains("gzip"), "{reason}");
        let missing = read_archive(&dir.path().join("missing.tar.gz")).unwrap_err();
        assert!(missing.contains("cannot be opened"), "{missing}");
    }
}
