//! Progress of a long run, for a person watching a terminal. Runs report to
//! a [`Progress`]; [`TerminalProgress`] draws one line on stderr, and only
//! once a run has lasted long enough to be worth watching, so short runs and
//! pipes see nothing.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Receives a run's progress. Every method has a do-nothing default.
pub trait Progress: Send {
    /// A run of `total` steps begins.
    fn begin(&mut self, _total: usize) {}
    /// One more step is done; `label` says what is being worked on.
    fn step(&mut self, _label: &str) {}
    /// The run waits, `remaining_ms` more, before `label`.
    fn waiting(&mut self, _label: &str, _remaining_ms: u64) {}
    /// The run is over; leave the terminal clean.
    fn finish(&mut self) {}
}

/// Shows nothing.
#[derive(Debug, Default)]
pub struct Silent;

impl Progress for Silent {}

/// A one-line progress bar on stderr.
#[derive(Debug)]
pub struct TerminalProgress {
    started: Instant,
    last_draw: Option<Instant>,
    total: usize,
    done: usize,
    drawn: bool,
}

/// A run shorter than this never shows a bar.
const SHOW_AFTER: Duration = Duration::from_millis(400);
const REDRAW_EVERY: Duration = Duration::from_millis(100);
const BAR_WIDTH: usize = 30;

impl TerminalProgress {
    /// A bar when stderr is a terminal, else nothing.
    pub fn for_stderr() -> Box<dyn Progress> {
        if std::io::stderr().is_terminal() {
            Box::new(Self {
                started: Instant::now(),
                last_draw: None,
                total: 0,
                done: 0,
                drawn: false,
            })
        } else {
            Box::new(Silent)
        }
    }

    fn draw(&mut self, label: &str, force: bool) {
        let now = Instant::now();
        if now.duration_since(self.started) < SHOW_AFTER && !force {
            return;
        }
        if !force
            && self
                .last_draw
                .is_some_and(|t| now.duration_since(t) < REDRAW_EVERY)
        {
            return;
        }
        self.last_draw = Some(now);
        self.drawn = true;
        let filled = (self.done * BAR_WIDTH).checked_div(self.total).unwrap_or(0);
        let bar: String = "#".repeat(filled) + &"-".repeat(BAR_WIDTH - filled.min(BAR_WIDTH));
        let label: String = label.chars().take(60).collect();
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K[{bar}] {}/{} {label}", self.done, self.total);
        let _ = err.flush();
    }
}

impl Progress for TerminalProgress {
    fn begin(&mut self, total: usize) {
        self.total = total;
        self.done = 0;
    }

    fn step(&mut self, label: &str) {
        self.done += 1;
        self.draw(label, false);
    }

    fn waiting(&mut self, label: &str, remaining_ms: u64) {
        let text = format!("waiting {} before {label}", human_duration(remaining_ms));
        self.draw(&text, true);
    }

    fn finish(&mut self) {
        if self.drawn {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
            self.drawn = false;
        }
    }
}

/// `8h 1m`, `2m 5s`, `4s`, `120ms`.
pub fn human_duration(ms: u64) -> String {
    let seconds = ms / 1000;
    match seconds {
        0 => format!("{ms}ms"),
        1..=59 => format!("{seconds}s"),
        60..=3599 => format!("{}m {}s", seconds / 60, seconds % 60),
        _ => format!("{}h {}m", seconds / 3600, (seconds % 3600) / 60),
    }
}

/// Waits `ms` of real time, telling `progress` the time left once a second.
pub async fn wait_with_progress(ms: u64, label: &str, progress: &mut dyn Progress) {
    let end = Instant::now() + Duration::from_millis(ms);
    loop {
        let now = Instant::now();
        if now >= end {
            return;
        }
        let remaining = end - now;
        progress.waiting(label, remaining.as_millis() as u64);
        tokio::time::sleep(remaining.min(Duration::from_secs(1))).await;
    }
}

#[cfg(test)]
mod tests {
    use super::human_duration;

    #[test]
    fn durations_read_like_a_person_would_say_them() {
        assert_eq!(human_duration(120), "120ms");
        assert_eq!(human_duration(4_000), "4s");
        assert_eq!(human_duration(125_000), "2m 5s");
        assert_eq!(human_duration(28_860_000), "8h 1m");
    }
}
