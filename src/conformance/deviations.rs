//! Accepted deviations: differences a project has looked at and decided to
//! live with, each narrow (steps, kind, paths), with its reason and the date
//! it was accepted.
//!
//! The file (`conformance/deviations.json` by default) is versioned:
//!
//! ```json
//! {"format": "proton-vcr.deviations/2", "deviations": [
//!   {"cassette": "async-delete/delete-environment--retry-in-progress", "steps": [3],
//!    "kind": "missing", "paths": ["$.environmentTemplateVersion.schema"],
//!    "reason": "the mock does not read template bundles", "date": "2026-12-01"}]}
//! ```
//!
//! `steps` is a list of step numbers (from 1), or `"all"` together with
//! `every_step`, which says why the deviation holds wherever it occurs.
//! `kind` is `value` (both sides have a value and they differ), `extra` (the
//! target has a member the recording does not) or `missing` (the other way
//! round); a deviation accepts only differences of its kind. A listed path
//! accepts the difference at that path and everything below it. The
//! pseudo-paths `status`, `error`, `content-type` and `states` name what is
//! not in the body. Identity is never accepted: a generated value that the
//! recording says must be the same as (or differ from) another is checked
//! whatever the deviations say. While a run uses the list it notes which
//! paths accepted something, so those that accepted nothing are reported as
//! stale.

use super::compare::{DiffKind, Difference};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};

pub const DEVIATIONS_FORMAT: &str = "proton-vcr.deviations/2";

/// Which steps a deviation covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepRef {
    /// Every step, for the reason in `Deviation::every_step`.
    All,
    Steps(Vec<usize>),
}

impl fmt::Display for StepRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepRef::All => f.write_str("all steps"),
            StepRef::Steps(steps) => {
                let list: Vec<String> = steps.iter().map(usize::to_string).collect();
                write!(
                    f,
                    "step{} {}",
                    if steps.len() == 1 { "" } else { "s" },
                    list.join(", ")
                )
            }
        }
    }
}

/// What a deviation accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum DeviationKind {
    Value,
    Extra,
    Missing,
}

impl DeviationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviationKind::Value => "value",
            DeviationKind::Extra => "extra",
            DeviationKind::Missing => "missing",
        }
    }

    /// The deviation kind that would accept a difference; identity has none.
    pub fn of(kind: DiffKind) -> Option<Self> {
        match kind {
            DiffKind::Value => Some(DeviationKind::Value),
            DiffKind::Extra => Some(DeviationKind::Extra),
            DiffKind::Missing => Some(DeviationKind::Missing),
            DiffKind::Identity => None,
        }
    }
}

/// One accepted deviation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deviation {
    /// The cassette's `name`.
    pub cassette: String,
    pub steps: StepRef,
    /// Why it holds at every step (required with `StepRef::All`).
    pub every_step: Option<String>,
    pub kind: DeviationKind,
    pub paths: Vec<String>,
    pub reason: String,
    /// `YYYY-MM-DD`.
    pub date: String,
}

/// The accepted deviations of a run, with which paths accepted something.
#[derive(Clone, Debug, Default)]
pub struct Deviations {
    pub source: Option<PathBuf>,
    pub entries: Vec<Deviation>,
    used: Vec<Vec<bool>>,
}

/// A deviations file that cannot be used.
#[derive(Debug)]
pub struct DeviationsError {
    pub path: PathBuf,
    pub message: String,
}

impl fmt::Display for DeviationsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for DeviationsError {}

/// A deviation entry as it is written in the file (and printed ready to paste).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviationV2 {
    pub cassette: String,
    pub steps: StepsV2,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every_step: Option<String>,
    pub kind: String,
    pub paths: Vec<String>,
    pub reason: String,
    pub date: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StepsV2 {
    Numbers(Vec<usize>),
    Word(String),
}

#[derive(Deserialize)]
struct FormatOnly {
    format: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileV2 {
    #[allow(dead_code)]
    format: String,
    deviations: Vec<DeviationV2>,
}

impl Deviations {
    pub fn new(entries: Vec<Deviation>) -> Self {
        let used = entries.iter().map(|d| vec![false; d.paths.len()]).collect();
        Self {
            source: None,
            entries,
            used,
        }
    }

    pub fn load(path: &Path) -> Result<Self, DeviationsError> {
        let bytes = std::fs::read(path).map_err(|e| DeviationsError {
            path: path.to_path_buf(),
            message: format!("cannot read the deviations file: {e}"),
        })?;
        Self::parse(path, &bytes)
    }

    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Self, DeviationsError> {
        let error = |message: String| DeviationsError {
            path: path.to_path_buf(),
            message,
        };
        let expected =
            format!("expected {{\"format\": \"{DEVIATIONS_FORMAT}\", \"deviations\": [...]}}");
        let format: FormatOnly = serde_json::from_slice(bytes)
            .map_err(|e| error(format!("not a deviations file: {e}; {expected}")))?;
        if format.format == "proton-vcr.deviations/1" {
            return Err(error(format!(
                "format proton-vcr.deviations/1 accepted any difference at a path; {DEVIATIONS_FORMAT} \
                 entries name their \"steps\" (a list, or \"all\" with \"every_step\" saying why) and \
                 their \"kind\" (value, extra or missing): rewrite each entry so"
            )));
        }
        if format.format != DEVIATIONS_FORMAT {
            return Err(error(format!(
                "unknown format {:?}; this proton-vcr reads {DEVIATIONS_FORMAT:?}",
                format.format
            )));
        }
        let file: FileV2 = serde_json::from_slice(bytes)
            .map_err(|e| error(format!("not a deviations file: {e}; {expected}")))?;
        let mut entries = Vec::with_capacity(file.deviations.len());
        for (index, entry) in file.deviations.into_iter().enumerate() {
            let cassette = entry.cassette.clone();
            let deviation = entry
                .into_model()
                .map_err(|message| error(format!("deviations[{index}] ({cassette}): {message}")))?;
            entries.push(deviation);
        }
        let mut deviations = Self::new(entries);
        deviations.source = Some(path.to_path_buf());
        Ok(deviations)
    }

    /// The reason of the deviation accepting `difference` in steps
    /// `first..=last` of `cassette`, marking it used. Identity is never
    /// accepted.
    pub fn accept(
        &mut self,
        cassette: &str,
        first: usize,
        last: usize,
        difference: &Difference,
    ) -> Option<String> {
        let kind = DeviationKind::of(difference.kind)?;
        for (entry, used) in self.entries.iter().zip(self.used.iter_mut()) {
            if entry.cassette != cassette || entry.kind != kind {
                continue;
            }
            let step_matches = match &entry.steps {
                StepRef::All => true,
                StepRef::Steps(list) => list.iter().any(|n| (first..=last).contains(n)),
            };
            if !step_matches {
                continue;
            }
            if let Some(i) = entry
                .paths
                .iter()
                .position(|listed| covers(listed, &difference.path))
            {
                if let Some(flag) = used.get_mut(i) {
                    *flag = true;
                }
                return Some(entry.reason.clone());
            }
        }
        None
    }

    /// Entries (with only their unused paths) for cassettes that ran but
    /// where those paths accepted nothing.
    pub fn stale(&self, ran: &dyn Fn(&str) -> bool) -> Vec<Deviation> {
        self.entries
            .iter()
            .zip(&self.used)
            .filter(|(entry, _)| ran(&entry.cassette))
            .filter_map(|(entry, used)| {
                let paths: Vec<String> = entry
                    .paths
                    .iter()
                    .zip(used)
                    .filter(|(_, used)| !**used)
                    .map(|(p, _)| p.clone())
                    .collect();
                (!paths.is_empty()).then(|| Deviation {
                    paths,
                    ..entry.clone()
                })
            })
            .collect()
    }

    /// How many entries name a cassette that did not run.
    pub fn unchecked(&self, ran: &dyn Fn(&str) -> bool) -> usize {
        self.entries.iter().filter(|e| !ran(&e.cassette)).count()
    }
}

impl DeviationV2 {
    /// The entry as the run uses it, or what is wrong with it.
    fn into_model(self) -> Result<Deviation, String> {
        let steps = match &self.steps {
            StepsV2::Numbers(list) if list.is_empty() => {
                return Err("\"steps\" is empty; list the steps, or \"all\"".into());
            }
            StepsV2::Numbers(list) if list.contains(&0) => {
                return Err("steps are numbered from 1".into());
            }
            StepsV2::Numbers(list) => StepRef::Steps(list.clone()),
            StepsV2::Word(word) if word == "all" => StepRef::All,
            StepsV2::Word(word) => {
                return Err(format!(
                    "\"steps\" is a list of step numbers or \"all\", not {word:?}"
                ));
            }
        };
        let every_step = self.every_step.filter(|w| !w.trim().is_empty());
        if steps == StepRef::All && every_step.is_none() {
            return Err(
                "\"steps\": \"all\" needs \"every_step\": why the deviation holds at every step"
                    .into(),
            );
        }
        let kind = match self.kind.as_str() {
            "value" => DeviationKind::Value,
            "extra" => DeviationKind::Extra,
            "missing" => DeviationKind::Missing,
            other => {
                return Err(format!(
                    "\"kind\" is value, extra or missing, not {other:?}"
                ));
            }
        };
        if self.paths.is_empty() {
            return Err("\"paths\" is empty; list the paths this deviation accepts".into());
        }
        if let Some(bad) = self.paths.iter().find(|p| !is_known_path(p)) {
            return Err(format!(
                "{bad:?} is not a path; use a JSON path from `$` or one of status, error, content-type, states"
            ));
        }
        if self.reason.trim().is_empty() {
            return Err("\"reason\" is empty; say why the difference is acceptable".into());
        }
        if !is_date(&self.date) {
            return Err(format!("\"date\" {:?} is not YYYY-MM-DD", self.date));
        }
        Ok(Deviation {
            cassette: self.cassette,
            steps,
            every_step,
            kind,
            paths: self.paths,
            reason: self.reason,
            date: self.date,
        })
    }

    pub fn from_model(deviation: &Deviation) -> Self {
        Self {
            cassette: deviation.cassette.clone(),
            steps: match &deviation.steps {
                StepRef::All => StepsV2::Word("all".into()),
                StepRef::Steps(list) => StepsV2::Numbers(list.clone()),
            },
            every_step: deviation.every_step.clone(),
            kind: deviation.kind.as_str().to_string(),
            paths: deviation.paths.clone(),
            reason: deviation.reason.clone(),
            date: deviation.date.clone(),
        }
    }

    /// One line of JSON with the keys in the order people read them.
    pub fn to_line(&self) -> String {
        let text = |s: &str| serde_json::Value::String(s.to_string()).to_string();
        let steps = match &self.steps {
            StepsV2::Numbers(list) => {
                let items: Vec<String> = list.iter().map(usize::to_string).collect();
                format!("[{}]", items.join(", "))
            }
            StepsV2::Word(w) => text(w),
        };
        let every = self
            .every_step
            .as_deref()
            .map(|w| format!(", \"every_step\": {}", text(w)))
            .unwrap_or_default();
        let paths: Vec<String> = self.paths.iter().map(|p| text(p)).collect();
        format!(
            "{{\"cassette\": {}, \"steps\": {steps}{every}, \"kind\": {}, \"paths\": [{}], \"reason\": {}, \"date\": {}}}",
            text(&self.cassette),
            text(&self.kind),
            paths.join(", "),
            text(&self.reason),
            text(&self.date)
        )
    }
}

fn is_known_path(path: &str) -> bool {
    path.starts_with('$') || matches!(path, "status" | "error" | "content-type" | "states")
}

/// True when `listed` is `path` or one of its ancestors.
fn covers(listed: &str, path: &str) -> bool {
    match path.strip_prefix(listed) {
        Some("") => true,
        Some(rest) => listed.starts_with('$') && (rest.starts_with('.') || rest.starts_with('[')),
        None => false,
    }
}

fn is_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        })
}

/// Today's date as `YYYY-MM-DD` (UTC), or the date of `SOURCE_DATE_EPOCH`
/// when set, so reports can be made reproducible.
pub fn today() -> String {
    let seconds = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0)
        });
    crate::calendar::date(seconds.div_euclid(86_400))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(text: &str) -> Result<Deviations, DeviationsError> {
        Deviations::parse(Path::new("deviations.json"), text.as_bytes())
    }

    fn diff(
        path: &str,
        recorded: Option<serde_json::Value>,
        target: Option<serde_json::Value>,
    ) -> Difference {
        Difference::new(path, None, recorded, target)
    }

    #[test]
    fn accepts_only_its_kind_steps_and_paths_and_reports_the_rest_stale() {
        let mut d = parse(
            r#"{"format": "proton-vcr.deviations/2", "deviations": [
                {"cassette": "c", "steps": [3], "kind": "value", "paths": ["$.message", "$.service"], "reason": "r", "date": "2026-11-24"},
                {"cassette": "c", "steps": "all", "every_step": "why", "kind": "extra", "paths": ["content-type"], "reason": "r2", "date": "2026-11-24"},
                {"cassette": "other", "steps": [1], "kind": "value", "paths": ["status"], "reason": "r3", "date": "2026-11-24"}]}"#,
        )
        .unwrap();
        let value = diff("$.service.status", Some(json!("A")), Some(json!("B")));
        assert_eq!(d.accept("c", 3, 3, &value).as_deref(), Some("r"));
        let message = diff("$.message", Some(json!("a")), Some(json!("b")));
        assert_eq!(d.accept("c", 2, 4, &message).as_deref(), Some("r"));
        assert_eq!(d.accept("c", 2, 2, &message), None);
        let missing = diff("$.message", Some(json!("a")), None);
        assert_eq!(
            d.accept("c", 3, 3, &missing),
            None,
            "a value deviation accepts no missing member"
        );
        let identity = diff(
            "$.service.id",
            Some(json!("<id:1>")),
            Some(json!("<id:target-2>")),
        );
        assert_eq!(identity.kind, DiffKind::Identity);
        assert_eq!(
            d.accept("c", 3, 3, &identity),
            None,
            "identity is never accepted"
        );
        let stale = d.stale(&|name| name == "c");
        assert_eq!(stale.len(), 1);
        assert_eq!(stale[0].paths, ["content-type"]);
        assert_eq!(d.unchecked(&|name| name == "c"), 1);
    }

    #[test]
    fn rejects_what_it_cannot_use_with_the_entry_named() {
        let all_without_reason = parse(
            r#"{"format": "proton-vcr.deviations/2", "deviations": [
                {"cassette": "c", "steps": "all", "kind": "value", "paths": ["$"], "reason": "r", "date": "2026-11-24"}]}"#,
        );
        let err = all_without_reason.unwrap_err().to_string();
        assert!(
            err.contains("deviations[0] (c)") && err.contains("every_step"),
            "{err}"
        );
        let bad_kind = parse(
            r#"{"format": "proton-vcr.deviations/2", "deviations": [
                {"cassette": "c", "steps": [1], "kind": "any", "paths": ["$"], "reason": "r", "date": "2026-11-24"}]}"#,
        );
        assert!(bad_kind.unwrap_err().to_string().contains("kind"));
        let old = parse(r#"{"format": "proton-vcr.deviations/1", "deviations": []}"#);
        assert!(old.unwrap_err().to_string().contains("\"kind\""));
        let bad_format = parse(r#"{"format": "proton-vcr.deviations/9", "deviations": []}"#);
        assert!(
            bad_format
                .unwrap_err()
                .to_string()
                .contains("unknown format")
        );
        let no_reason = parse(
            r#"{"format": "proton-vcr.deviations/2", "deviations": [
                {"cassette": "c", "steps": [1], "kind": "value", "paths": ["$"], "reason": " ", "date": "2026-11-24"}]}"#,
        );
        assert!(no_reason.unwrap_err().to_string().contains("reason"));
    }

    #[test]
    fn ready_to_paste_lines_read_in_file_order() {
        let line = DeviationV2::from_model(&Deviation {
            cassette: "g/Op--rule".into(),
            steps: StepRef::Steps(vec![2]),
            every_step: None,
            kind: DeviationKind::Missing,
            paths: vec!["$.a".into(), "error".into()],
            reason: "why".into(),
            date: "2026-11-24".into(),
        })
        .to_line();
        assert_eq!(
            line,
            r#"{"cassette": "g/Op--rule", "steps": [2], "kind": "missing", "paths": ["$.a", "error"], "reason": "why", "date": "2026-11-24"}"#
        );
        let round: DeviationV2 = serde_json::from_str(&line).unwrap();
        assert_eq!(round.kind, "missing");
    }
}
