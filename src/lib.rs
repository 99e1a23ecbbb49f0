//! proton-vcr records real AWS traffic through a re-signing proxy, replays it
//! offline with matching that understands AWS protocols and idempotency
//! tokens, emulates AWS Proton statefully, and checks how faithful a mock is.
//!
//! Replay a cassette to any AWS client from a test:
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use proton_vcr::{cassette, Limits, MatchOptions, ReplayServer};
//!
//! let cassettes = cassette::load("cassettes/proton".as_ref())?;
//! let server = ReplayServer::start(
//!     cassettes,
//!     MatchOptions { tokens: proton_vcr::proton_token_paths(), ..Default::default() },
//!     "127.0.0.1:0".parse()?,
//!     Limits::default(),
//! )
//! .await?;
//! // Point the client at it: `--endpoint-url`, AWS_ENDPOINT_URL_PROTON, or
//! // the SDK's `endpoint_url`.
//! println!("{}", server.url());
//! # Ok(()) }
//! ```

pub mod cassette;
pub mod cli;
pub mod conformance;
#[doc(hidden)]
pub mod fuzz_entry;
mod http;
pub mod matcher;
pub mod mock;
pub mod model;
mod proxy;
mod sigv4;

pub use cassette::WriteMode;
pub use http::{
    AwsError, Handler, Limits, Origin, Request, Response, Server, Upstream, UpstreamError,
    UpstreamErrorKind, UpstreamOptions,
};
pub use matcher::{MatchOptions, Repeats, TokenPath};
pub use mock::{ClockMode, Durations, Mock, MockConfig, MockServer};
pub use model::proton_token_paths;
pub use proxy::ReplayServer;
pub use proxy::record::{RecordConfig, RecordError, RecordServer};
pub use sigv4::{ClientKey, CredentialSource, StaticCredentials, verify_request};
