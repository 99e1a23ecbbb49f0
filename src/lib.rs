//! proton-vcr records real AWS traffic through a re-signing proxy, replays it
//! offline with matching that understands AWS protocols and idempotency
//! tokens, emulates AWS Proton statefully, and checks how faithful a mock is.
//!
//! Start the Proton mock in-process, call it, and jump its clock:
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! use proton_vcr::{ClockMode, Handler, MockConfig, MockServer, Request};
//!
//! // Listens on 127.0.0.1 and a free port unless `listen` says otherwise.
//! let server = MockServer::start(MockConfig { clock: ClockMode::Manual, ..Default::default() })
//!     .await?;
//! // Point any AWS client at `server.url()`; or call the mock directly:
//! let mut request = Request::new(http::Method::POST, "/")?;
//! request.headers.insert("content-type", "application/x-amz-json-1.0".parse()?);
//! request.headers.insert("x-amz-target", "AwsProton20200720.CreateEnvironmentTemplate".parse()?);
//! request.body = r#"{"name": "serverless-env"}"#.into();
//! let response = server.mock().handle(request).await;
//! assert_eq!(response.status, 200);
//! server.mock().advance_clock_ms(8 * 60 * 60 * 1000); // client tokens expire
//! server.shutdown().await;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })
//! # }
//! ```
//!
//! [`ReplayServer`] serves cassettes the same way, [`RecordServer`] records
//! them, and [`conformance::conform`] diffs a target against them.

mod calendar;
pub mod cassette;
pub mod conformance;
mod files;
mod form;
#[doc(hidden)]
pub mod fuzz_entry;
mod http;
mod json;
pub mod matcher;
pub mod mock;
pub mod model;
mod proxy;
pub mod services;
mod sigv4;

pub use cassette::WriteMode;
pub use http::{
    AwsError, Handler, Limits, ListenError, Origin, Request, Response, Server, Upstream,
    UpstreamError, UpstreamErrorKind, UpstreamFlags, UpstreamOptions, raise_open_file_limit,
};
pub use json::TokenPath;
pub use matcher::{BindMode, MatchOptions, Repeats};
pub use mock::{ClockMode, Durations, Mock, MockConfig, MockServer};
pub use model::proton_token_paths;
pub use proxy::{Access, RecordConfig, RecordError, RecordServer, ReplayConfig, ReplayServer};
pub use sigv4::{ClientKey, CredentialSource, SignatureError, StaticCredentials, verify_request};
