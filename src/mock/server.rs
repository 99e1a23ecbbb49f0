//! The mock on a socket: the crate's one serve loop around a [`Mock`].

use super::{Mock, MockConfig};
use crate::http::{ListenError, Server, check_loopback};
use std::net::SocketAddr;
use std::sync::Arc;

/// A mock running in this process: start it, point a client at
/// [`MockServer::url`], stop it with [`MockServer::shutdown`] or by dropping it.
pub struct MockServer {
    server: Server,
    mock: Arc<Mock>,
}

impl MockServer {
    /// Serves a new mock on `config.listen` with `config.limits`; an address
    /// beyond loopback needs `config.allow_remote`.
    pub async fn start(config: MockConfig) -> Result<Self, ListenError> {
        let (listen, limits) = (config.listen, config.limits);
        check_loopback(
            listen,
            config.allow_remote,
            "anyone who reaches the mock can read and reset its state",
        )?;
        let mock = Arc::new(Mock::new(config));
        let server = Server::bind(listen, mock.clone(), limits)
            .await
            .map_err(|e| ListenError::Bind(listen, e))?;
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
