//! The record phase: writes each exchange the forward phase got an answer
//! for to the cassette.
//!
//! Every exchange the upstream answered (any status: a real
//! ConflictException is exactly what users want) is written to the cassette
//! before its answer goes back to the client; see `cassette::writer` for
//! why. Transport failures never get here: the forward phase answers them
//! with a 502 and nothing is recorded.

use super::forward::Forwarded;
use crate::cassette::{
    CassetteWriter, Entry, Interaction, RecordedRequest, RecordedResponse, StartKey, WriteError,
};
use crate::http::{AwsError, Origin};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Writes answered exchanges to the cassette, in request-start order.
pub struct Record {
    writer: CassetteWriter,
    first_start: OnceLock<Instant>,
    seq: AtomicU64,
}

impl Record {
    pub fn new(writer: CassetteWriter) -> Self {
        Self {
            writer,
            first_start: OnceLock::new(),
            seq: AtomicU64::new(0),
        }
    }

    /// Called when a request arrives: its place in the recording.
    pub fn begin(&self) -> StartKey {
        let now = Instant::now();
        let first = *self.first_start.get_or_init(|| now);
        StartKey {
            since_first: now.saturating_duration_since(first),
            seq: self.seq.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Writes the exchange; `Err` is what the client gets instead of the
    /// answer when it could not be recorded.
    pub async fn record(&self, start: StartKey, forwarded: &Forwarded) -> Result<(), AwsError> {
        let entry = Entry {
            start,
            interaction: Interaction {
                elapsed_ms: 0,
                endpoint: Some(forwarded.endpoint.clone()),
                expect: None,
                note: None,
                request: RecordedRequest::from_exchange(&forwarded.request),
                response: RecordedResponse::from_exchange(&forwarded.response),
            },
            account_hint: forwarded.account_id.clone(),
            scope: forwarded
                .scope
                .as_ref()
                .map(|s| (s.region.clone(), s.service.clone())),
        };
        match self.writer.write(entry).await {
            Ok(()) => Ok(()),
            Err(WriteError::Secret(leak)) => Err(AwsError::new(
                Origin::Internal,
                "RecordingRefusedException",
                format!(
                    "proton-vcr withheld the upstream's answer and recorded nothing: writing this exchange would have put {leak} into {}. The upstream did process the request.",
                    self.writer.path().display()
                ),
            )),
            Err(error) => Err(AwsError::new(
                Origin::Internal,
                "RecordingFailedException",
                format!(
                    "proton-vcr could not record this exchange ({error}); the upstream did process the request"
                ),
            )),
        }
    }

    pub async fn close(&self) {
        self.writer.close().await;
    }
}
