//! Everything HTTP: the buffered exchange types, AWS-shaped errors, the one
//! serve loop used by every server in the tool, and the upstream client.
//! Nothing outside this module touches hyper.

pub mod error;
pub mod exchange;
pub mod listen;
pub mod serve;
pub mod upstream;

pub use error::{AwsError, ErrorShape, Origin, error_chain};
pub use exchange::{Request, Response};
pub use listen::{ListenError, check_loopback};
pub use serve::{Handler, Limits, Server, raise_open_file_limit};
pub use upstream::{Upstream, UpstreamError, UpstreamErrorKind, UpstreamFlags, UpstreamOptions};
