//! Accepted deviations: differences a project has looked at and decided to
//! live with, each with its reason and the date it was accepted.
//!
//! The file (`conformance/deviations.json` by default) is versioned:
//!
//! ```json
//! {"format": "proton-vcr.deviations/1", "deviations": [
//!   {"cassette": "idempotent-create/create-service--resource-modified", "step": 18,
//!    "paths": ["$.message"], "reason": "no public ConflictException text", "date": "2026-11-24"}]}
//! ```
//!
//! `step` is a step number (from 1) or `"all"`. A listed path accepts the
//! difference at that path and everything below it (`$.service` accepts
//! `$.service.status`). The pseudo-paths `status`, `error`, `content-type`
//! and `states` name what is not in the body. While a run uses the list it
//! notes which paths accepted something, so those that accepted nothing are
//! reported as stale.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};

pub const DEVIATIONS_FORMAT_V1: &str = "proton-vcr.deviations/1";

/// Which steps a deviation covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepRef {
    All,
    Step(usize),
}

impl fmt::Display for StepRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepRef::All => f.write_str("all steps"),
            StepRef::Step(n) => write!(f, "step {n}"),
        }
    }
}

/// One accepted deviation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deviation {
    /// The cassette's `name`.
    pub cassette: String,
    pub step: StepRef,
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
pub struct DeviationV1 {
    pub cassette: String,
    pub step: StepV1,
    pub paths: Vec<String>,
    pub reason: String,
    pub date: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StepV1 {
    Number(usize),
    Word(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileV1 {
    format: String,
    deviations: Vec<DeviationV1>,
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
        let file: FileV1 = serde_json::from_slice(bytes).map_err(|e| {
            error(format!(
                "not a deviations file: {e}; expected {{\"format\": \"{DEVIATIONS_FORMAT_V1}\", \"deviations\": [...]}}"
            ))
        })?;
        if file.format != DEVIATIONS_FORMAT_V1 {
            return Err(error(format!(
                "unknown format {:?}; this proton-vcr reads {DEVIATIONS_FORMAT_V1:?}",
                file.format
            )));
        }
        let mut entries = Vec::with_capacity(file.deviations.len());
        for (index, entry) in file.deviations.into_iter().enumerate() {
            let at = |message: &str| {
                error(format!(
                    "deviations[{index}] ({}): {message}",
                    entry.cassette
                ))
            };
            let step = match &entry.step {
                StepV1::Number(0) => return Err(at("steps are numbered from 1")),
                StepV1::Number(n) => StepRef::Step(*n),
                StepV1::Word(word) if word == "all" => StepRef::All,
                StepV1::Word(word) => {
                    return Err(at(&format!(
                        "\"step\" is a number or \"all\", not {word:?}"
                    )));
                }
            };
            if entry.paths.is_empty() {
                return Err(at(
                    "\"paths\" is empty; list the paths this deviation accepts",
                ));
            }
            if let Some(bad) = entry.paths.iter().find(|p| !is_known_path(p)) {
                return Err(at(&format!(
                    "{bad:?} is not a path; use a JSON path from `$` or one of status, error, content-type, states"
                )));
            }
            if entry.reason.trim().is_empty() {
                return Err(at(
                    "\"reason\" is empty; say why the difference is acceptable",
                ));
            }
            if !is_date(&entry.date) {
                return Err(at(&format!("\"date\" {:?} is not YYYY-MM-DD", entry.date)));
            }
            entries.push(Deviation {
                cassette: entry.cassette,
                step,
                paths: entry.paths,
                reason: entry.reason,
                date: entry.date,
            });
        }
        let mut deviations = Self::new(entries);
        deviations.source = Some(path.to_path_buf());
        Ok(deviations)
    }

    /// The reason of the deviation accepting a difference at `path` in steps
    /// `first..=last` of `cassette`, marking it used.
    pub fn accept(
        &mut self,
        cassette: &str,
        first: usize,
        last: usize,
        path: &str,
    ) -> Option<String> {
        for (entry, used) in self.entries.iter().zip(self.used.iter_mut()) {
            if entry.cassette != cassette {
                continue;
            }
            let step_matches = match entry.step {
                StepRef::All => true,
                StepRef::Step(n) => (first..=last).contains(&n),
            };
            if !step_matches {
                continue;
            }
            if let Some(i) = entry.paths.iter().position(|listed| covers(listed, path)) {
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

impl DeviationV1 {
    pub fn from_model(deviation: &Deviation) -> Self {
        Self {
            cassette: deviation.cassette.clone(),
            step: match deviation.step {
                StepRef::All => StepV1::Word("all".into()),
                StepRef::Step(n) => StepV1::Number(n),
            },
            paths: deviation.paths.clone(),
            reason: deviation.reason.clone(),
            date: deviation.date.clone(),
        }
    }

    /// One line of JSON with the keys in the order people read them.
    pub fn to_line(&self) -> String {
        let step = match &self.step {
            StepV1::Number(n) => n.to_string(),
            StepV1::Word(w) => serde_json::Value::String(w.clone()).to_string(),
        };
        let text = |s: &str| serde_json::Value::String(s.to_string()).to_string();
        let paths: Vec<String> = self.paths.iter().map(|p| text(p)).collect();
        format!(
            "{{\"cassette\": {}, \"step\": {step}, \"paths\": [{}], \"reason\": {}, \"date\": {}}}",
            text(&self.cassette),
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
    civil_date(seconds.div_euclid(86_400))
}

/// Days since 1970-01-01 as a proleptic Gregorian date (Howard Hinnant's
/// `civil_from_days`).
fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Deviations, DeviationsError> {
        Deviations::parse(Path::new("deviations.json"), text.as_bytes())
    }

    #[test]
    fn accepts_paths_and_their_descendants_and_reports_the_rest_stale() {
        let mut d = parse(
            r#"{"format": "proton-vcr.deviations/1", "deviations": [
                {"cassette": "c", "step": 3, "paths": ["$.message", "$.service"], "reason": "r", "date": "2026-11-24"},
                {"cassette": "c", "step": "all", "paths": ["content-type"], "reason": "r2", "date": "2026-11-24"},
                {"cassette": "other", "step": 1, "paths": ["status"], "reason": "r3", "date": "2026-11-24"}]}"#,
        )
        .unwrap();
        assert_eq!(
            d.accept("c", 3, 3, "$.service.status").as_deref(),
            Some("r")
        );
        assert_eq!(d.accept("c", 2, 4, "$.message").as_deref(), Some("r"));
        assert_eq!(d.accept("c", 2, 2, "$.message"), None);
        assert_eq!(d.accept("c", 3, 3, "$.services"), None);
        let stale = d.stale(&|name| name == "c");
        assert_eq!(stale.len(), 1);
        assert_eq!(stale[0].paths, ["content-type"]);
        assert_eq!(d.unchecked(&|name| name == "c"), 1);
    }

    #[test]
    fn rejects_what_it_cannot_use_with_the_entry_named() {
        let bad_step = parse(
            r#"{"format": "proton-vcr.deviations/1", "deviations": [
                {"cassette": "c", "step": "some", "paths": ["$"], "reason": "r", "date": "2026-11-24"}]}"#,
        );
        assert!(
            bad_step
                .unwrap_err()
                .to_string()
                .contains("deviations[0] (c)")
        );
        let bad_format = parse(r#"{"format": "proton-vcr.deviations/9", "deviations": []}"#);
        assert!(
            bad_format
                .unwrap_err()
                .to_string()
                .contains("unknown format")
        );
        let no_reason = parse(
            r#"{"format": "proton-vcr.deviations/1", "deviations": [
                {"cassette": "c", "step": 1, "paths": ["$"], "reason": " ", "date": "2026-11-24"}]}"#,
        );
        assert!(no_reason.unwrap_err().to_string().contains("reason"));
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(20_416), "2025-11-24");
        assert_eq!(civil_date(11_016), "2000-02-29");
    }

    #[test]
    fn ready_to_paste_lines_read_in_file_order() {
        let line = DeviationV1::from_model(&Deviation {
            cassette: "g/Op--rule".into(),
            step: StepRef::Step(2),
            paths: vec!["$.a".into(), "error".into()],
            reason: "why".into(),
            date: "2026-11-24".into(),
        })
        .to_line();
        assert_eq!(
            line,
            r#"{"cassette": "g/Op--rule", "step": 2, "paths": ["$.a", "error"], "reason": "why", "date": "2026-11-24"}"#
        );
    }
}
