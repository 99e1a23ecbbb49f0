//! The replay phase: answers a request from the cassettes, or says precisely
//! why it cannot. Opens no socket.

use crate::http::{AwsError, Origin, Request, Response};
use crate::matcher::{Hit, Keyer, Matcher, Miss};
use serde_json::json;
use std::sync::Mutex;

/// The error code clients see for a request no cassette answers.
pub const MISS_CODE: &str = "ReplayMissException";

/// Replay state shared by every connection.
pub struct Replay {
    /// Keys requests outside the lock: parsing and hashing a body is most of
    /// the work of matching, and every connection waits on the lock.
    keyer: Keyer,
    matcher: Mutex<Matcher>,
}

impl Replay {
    pub fn new(matcher: Matcher) -> Self {
        Self {
            keyer: matcher.keyer(),
            matcher: Mutex::new(matcher),
        }
    }

    /// The recorded answer, or why there is none. The lock is held only to
    /// look up: a miss is explained (compared and diffed against what was
    /// recorded) after it is released.
    pub fn answer(&self, request: &Request) -> Result<Response, Miss> {
        let keyed = self.keyer.key(request);
        let found = {
            let mut matcher = self.matcher.lock().unwrap_or_else(|p| p.into_inner());
            matcher.lookup(&keyed).map(|(hit, response)| {
                let Hit {
                    cassette,
                    interaction,
                    repeated,
                } = hit;
                tracing::debug!(
                    cassette = %matcher.cassettes().get(cassette).map_or("(recorded now)", |c| c.cassette.name.as_str()),
                    interaction,
                    repeated,
                    "replayed"
                );
                response
            })
        };
        found.map_err(|context| context.explain(&keyed))
    }

    /// Runs `f` on the matcher (e.g. to add an exchange just recorded).
    pub fn with_matcher<T>(&self, f: impl FnOnce(&mut Matcher) -> T) -> T {
        let mut matcher = self.matcher.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut matcher)
    }

    pub fn rewind(&self) {
        self.with_matcher(Matcher::rewind);
    }

    /// `GET /__vcr/status`: what has been used.
    pub fn status(&self) -> serde_json::Value {
        self.with_matcher(|m| {
            let (used, total) = m.progress();
            let cassettes: Vec<_> = m
                .cassettes()
                .iter()
                .map(|c| json!({"name": c.cassette.name, "path": c.path.display().to_string(), "interactions": c.cassette.interactions.len()}))
                .collect();
            json!({"used": used, "total": total, "cassettes": cassettes})
        })
    }
}

/// The client-facing error for a miss; the full diff goes to the log.
pub fn miss_error(miss: &Miss) -> AwsError {
    match &miss.detail {
        Some(detail) => {
            tracing::warn!(operation = %miss.operation, "replay miss: {}\n{detail}", miss.reason)
        }
        None => tracing::warn!(operation = %miss.operation, "replay miss: {}", miss.reason),
    }
    AwsError::new(
        Origin::Client,
        MISS_CODE,
        format!("proton-vcr replay: {}", miss.reason),
    )
}
