//! Record and replay as phases of one request pipeline.
//!
//! ```text
//! request ──> gate (origin form, no browser) ──> replay ──hit──> response
//!                                      │miss
//!                                      ├── no forward phase ──> ReplayMissException (400)
//!                                      └── forward: check client key ──> strip client signature
//!                                            ──> re-sign ──> upstream ──transport failure──> 502
//!                                            ──> record (file written) ──> response
//! ```
//! Each phase is optional and does nothing when absent: `replay` has only
//! the replay phase, `record` the forward and record phases, `replay
//! --on-miss record` all of them.
//!
//! The errors the pipeline makes up (a miss, a refusal, an upstream failure)
//! are answered in the protocol of the service the request is for (see
//! `shape`).
//!
//! The gate runs first for every request (see `gate`). The admin API
//! (`admin`) is not a phase: it has a listener of its own, so no AWS path
//! can reach it. The servers that run the pipeline, `ReplayServer` and
//! `RecordServer`, and their configurations are in `server`; they build a
//! [`Proxy`] from its phases and reach it only through its methods.

mod addressing;
pub mod admin;
pub mod forward;
pub mod gate;
pub mod record;
pub mod replay;
mod server;
mod shape;

use crate::cassette::RecordedRequest;
use crate::http::exchange::X_AMZ_TARGET;
use crate::http::{AwsError, Handler, Origin, Request, Response};
use crate::matcher::Matcher;
use crate::sigv4::decode_streaming;
use forward::Forward;
pub use gate::Access;
use gate::Gate;
use record::Record;
use replay::{Replay, miss_error};
pub use server::{RecordConfig, RecordError, RecordServer, ReplayConfig, ReplayServer};

/// A header name looked up on every request, made once (as is
/// [`X_AMZ_TARGET`]): a lookup by text parses the name each time.
const X_AMZ_CONTENT_SHA256: http::HeaderName =
    http::HeaderName::from_static("x-amz-content-sha256");

/// The request pipeline: its phases, in order.
pub struct Proxy {
    gate: Gate,
    replay: Option<Replay>,
    forward: Option<Forward>,
    record: Option<Record>,
}

impl Proxy {
    pub fn replay_only(matcher: Matcher, gate: Gate) -> Self {
        Self {
            gate,
            replay: Some(Replay::new(matcher)),
            forward: None,
            record: None,
        }
    }

    /// Forwards and records; with `replay`, only what it does not answer.
    pub fn recording(gate: Gate, replay: Option<Replay>, forward: Forward, record: Record) -> Self {
        Self {
            gate,
            replay,
            forward: Some(forward),
            record: Some(record),
        }
    }

    /// The replay phase, when there is one: the admin API rewinds it and
    /// reports on it.
    pub fn replay(&self) -> Option<&Replay> {
        self.replay.as_ref()
    }

    /// Lets the record phase's last writes reach the file and stops it.
    pub async fn close(&self) {
        if let Some(record) = &self.record {
            record.close().await;
        }
    }
}

impl Handler for Proxy {
    async fn handle(&self, request: Request) -> Response {
        if let Err(error) = self.gate.check(&request) {
            tracing::warn!(method = %request.method, target = %gate::logged_target(&request.uri), "refused: {}", error.message);
            return shape::answer(&error, &request);
        }
        // One pass over the headers, rather than a lookup by name for each.
        let mut targets = 0;
        let mut maybe_streaming = false;
        for name in request.headers.iter().map(|(name, _)| name) {
            if *name == X_AMZ_TARGET {
                targets += 1;
            } else if *name == X_AMZ_CONTENT_SHA256 || *name == http::header::CONTENT_ENCODING {
                // Only a request with one of these can be an aws-chunked upload.
                maybe_streaming = true;
            }
        }
        if targets > 1 {
            return shape::answer(
                &AwsError::new(
                    Origin::Client,
                    "SerializationException",
                    "X-Amz-Target is sent more than once; send exactly one",
                ),
                &request,
            );
        }
        let start = self.record.as_ref().map(Record::begin);
        // An aws-chunked upload is matched and recorded as the payload it
        // carries, so chunk sizes and chunk signatures never count.
        let decoded = if maybe_streaming {
            decode_streaming(&request)
        } else {
            Ok(None)
        };
        let (meant, streaming) = match decoded {
            Ok(Some((decoded, streaming))) => (Some(decoded), Some(streaming)),
            Ok(None) => (None, None),
            Err(reason) => {
                return shape::answer(
                    &AwsError::new(
                        Origin::Client,
                        "InvalidRequest",
                        format!("proton-vcr: {reason}"),
                    ),
                    &request,
                );
            }
        };
        // A bucket in the Host (`bucket.localhost`), or in the upstream's
        // host, makes the request path-style: the bucket is matched and
        // recorded whatever host names it.
        let bucket = self.forward.as_ref().and_then(Forward::upstream_bucket);
        let sent = meant.as_ref().unwrap_or(&request);
        let meant = match addressing::path_style(sent)
            .or_else(|| bucket.and_then(|bucket| addressing::in_bucket(sent, bucket)))
        {
            Some(path_style) => Some(path_style),
            None => meant,
        };
        let meant = meant.as_ref().unwrap_or(&request);
        let miss = match &self.replay {
            Some(replay) => match replay.answer(meant) {
                Ok(response) => return response,
                Err(miss) => Some(miss),
            },
            None => None,
        };
        let Some(forward) = &self.forward else {
            return match &miss {
                Some(miss) => shape::answer(&miss_error(miss), &request),
                None => shape::answer(
                    &AwsError::new(
                        Origin::Internal,
                        "InternalFailure",
                        "this proxy has no phase that answers requests",
                    ),
                    &request,
                ),
            };
        };
        if let Some(miss) = &miss {
            // A retry of a call the cassette answered (its idempotency token
            // is bound to that call's) gets that answer, as AWS answers a
            // retry; sending it again would record a second, different call.
            if let Some(answer) = &miss.bound_answer {
                tracing::info!(operation = %miss.operation, "a retry of a recorded call; answered from the cassette, not forwarded");
                return answer.as_ref().clone();
            }
            tracing::info!(operation = %miss.operation, "not in the cassette; forwarding to record it");
        }
        // The forward and record phases' futures are boxed: their state (an
        // upstream call, a journal write) is large, and unboxed it would be
        // part of, and copied with, every request's future, also the ones
        // replay answers.
        let forwarded = match Box::pin(forward.forward(&request, meant, streaming)).await {
            Ok(forwarded) => forwarded,
            Err(error) => return shape::answer(&error, &request),
        };
        if let (Some(record), Some(start)) = (&self.record, start) {
            if let Err(error) = Box::pin(record.record(start, &forwarded)).await {
                return shape::answer(&error, &request);
            }
            // Under `--on-miss record`, what was just recorded answers its own
            // retries from now on.
            if let Some(replay) = &self.replay {
                let recorded = RecordedRequest::from_exchange(&forwarded.request);
                replay.with_matcher(|m| {
                    let cassette = m.cassettes().len().saturating_sub(1);
                    m.add_used(cassette, &recorded, forwarded.response.clone());
                });
            }
        }
        forwarded.response
    }
}
