//! Where a server may listen: loopback only, unless remote access is
//! allowed; and the one error every server returns when it cannot listen.

use std::fmt;
use std::net::SocketAddr;

/// Why a server did not open its listener.
#[derive(Debug)]
pub enum ListenError {
    /// The address is beyond loopback and remote access was not allowed;
    /// the message says what an outsider could do.
    Refused(String),
    /// The socket could not be bound (the port is in use, no permission).
    Bind(SocketAddr, std::io::Error),
}

impl fmt::Display for ListenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenError::Refused(message) => f.write_str(message),
            ListenError::Bind(addr, e) => write!(f, "cannot listen on {addr}: {e}"),
        }
    }
}

impl std::error::Error for ListenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ListenError::Refused(_) => None,
            ListenError::Bind(_, e) => Some(e),
        }
    }
}

/// Refuses a non-loopback `listen` address unless `allow_remote`; `what`
/// names the server and why that matters.
pub fn check_loopback(
    listen: SocketAddr,
    allow_remote: bool,
    what: &str,
) -> Result<(), ListenError> {
    if listen.ip().is_loopback() || allow_remote {
        return Ok(());
    }
    Err(ListenError::Refused(format!(
        "refusing to listen on {listen}: {what}, so it binds loopback (127.0.0.1) unless --allow-remote is given"
    )))
}
