//! The mock's own clock. Lifecycles (registration, deployment, deletion) and
//! token expiry are computed from it, never from timers, so moving the clock
//! moves them: a test can jump eight hours in one call.
//!
//! The clock counts milliseconds since its start. In [`ClockMode::Manual`] it
//! starts at [`MANUAL_EPOCH_MS`] (2026-01-01T00:00:00Z) and moves only when
//! told; in [`ClockMode::Real`] it starts at the real time the mock started and
//! follows real time, plus any jumps. It never goes backwards: a request to
//! set it to an earlier instant leaves it where it is.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, or since the clock's start.
pub type Millis = u64;

/// 2026-01-01T00:00:00Z: where a manual clock starts, so runs are reproducible.
pub const MANUAL_EPOCH_MS: Millis = 1_767_225_600_000;

/// How the mock's time moves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClockMode {
    /// Follows real time (plus jumps made through the admin API).
    #[default]
    Real,
    /// Moves only when set or advanced: for tests and conformance runs.
    Manual,
}

#[derive(Debug)]
pub struct Clock {
    mode: ClockMode,
    start_epoch_ms: Millis,
    started: Instant,
    /// Jumps made on top of real time (Real) or the whole elapsed time (Manual).
    offset_ms: Millis,
}

impl Clock {
    pub fn new(mode: ClockMode) -> Self {
        let start_epoch_ms = match mode {
            ClockMode::Manual => MANUAL_EPOCH_MS,
            ClockMode::Real => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(MANUAL_EPOCH_MS, |d| {
                    u64::try_from(d.as_millis()).unwrap_or(MANUAL_EPOCH_MS)
                }),
        };
        Self {
            mode,
            start_epoch_ms,
            started: Instant::now(),
            offset_ms: 0,
        }
    }

    /// Milliseconds since the clock's start.
    pub fn elapsed_ms(&self) -> Millis {
        match self.mode {
            ClockMode::Manual => self.offset_ms,
            ClockMode::Real => {
                let real = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
                real.saturating_add(self.offset_ms)
            }
        }
    }

    /// The mock's "now", in milliseconds since the Unix epoch.
    pub fn now_epoch_ms(&self) -> Millis {
        self.start_epoch_ms.saturating_add(self.elapsed_ms())
    }

    /// Moves the clock to `ms` after its start; earlier instants are ignored.
    pub fn set_ms(&mut self, ms: Millis) {
        let current = self.elapsed_ms();
        if ms > current {
            self.offset_ms = self.offset_ms.saturating_add(ms - current);
        }
    }

    pub fn advance_ms(&mut self, ms: Millis) {
        self.offset_ms = self.offset_ms.saturating_add(ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_forwards_and_only_when_told() {
        let mut clock = Clock::new(ClockMode::Manual);
        assert_eq!(clock.now_epoch_ms(), MANUAL_EPOCH_MS);
        clock.advance_ms(1_500);
        clock.set_ms(1_000);
        assert_eq!(clock.elapsed_ms(), 1_500);
        clock.set_ms(8 * 3_600_000);
        assert_eq!(clock.now_epoch_ms(), MANUAL_EPOCH_MS + 8 * 3_600_000);
    }

    #[test]
    fn real_clock_adds_jumps_to_real_time() {
        let mut clock = Clock::new(ClockMode::Real);
        clock.advance_ms(3_600_000);
        assert!(clock.elapsed_ms() >= 3_600_000);
    }
}
