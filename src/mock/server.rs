//! The mock on a socket: the crate's one serve loop around a [`Mock`].

use super::{Mock, MockConfig};
use crate::http::{Limits, Server};
use std::net::SocketAddr;
use std::sync::Arc;

/// A mock running in this process: start it, point a client at
/// [`MockServer::url`], stop it with [`MockServer::shutdown`] or by dropping it.
pub struct MockServer {
    server: Server,
    mock: Arc<Mock>,
}

impl MockServer {
    /// Serves a new mock on `addr` (`127.0.0.1:0` picks a free port).
    pub async fn start(config: MockConfig, addr: SocketAddr) -> std::io::Result<Self> {
        Self::start_with_limits(config, addr, Limits::default()).await
    }

    /// Like `start`, with the serve loop's body size and timeout limits.
    pub async fn start_with_limits(
        config: MockConfig,
        addr: SocketAddr,
        limits: Limits,
    ) -> std::io::Result<Self> {
        let mock = Arc::new(Mock::new(config));
        let server = Server::bind(addr, mock.clone(), limits).await?;
        Ok(Self { server, mock })
    }

    /// `http://HOST:PORT`, for `--endpoint-url` or an SDK's `endpoint_url`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// The mock itself, to reset it, move its clock or read its state.
    pub fn mock(&self) -> &Arc<Mock> {
        &self.mock
    }

    /// Stops accepting and lets requests in flight finish.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}
