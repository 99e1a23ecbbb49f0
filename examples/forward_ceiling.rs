//! The forwarding ceiling: the fastest proton-vcr's own serve loop and
//! upstream client can pass requests through on this machine, for the
//! benchmark (`bench/run`) to read the recorder's figures against.
//!
//! The same pieces `record` forwards with (the connection loop and its
//! limits, the TLS client and its connection pool) and nothing else: no
//! signature stripped or made, nothing redacted, checked, framed or flushed.
//! Each request goes to the upstream with its URI made absolute and its
//! `Host` set to the upstream's; the answer comes back as the upstream sent
//! it, or a 502 naming the failure.
//!
//! ```text
//! cargo run --release --example forward_ceiling -- UPSTREAM_URL [CA_PEM] [ADDR]
//! ```
//! Prints `listening on http://HOST:PORT` first, like every proton-vcr server.

use http::{HeaderValue, StatusCode, Uri};
use proton_vcr::{Handler, Limits, Request, Response, Server, Upstream, UpstreamOptions};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[tokio::main]
async fn main() -> ExitCode {
    match serve().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("forward_ceiling: {error}");
            ExitCode::from(2)
        }
    }
}

const USAGE: &str = "usage: forward_ceiling UPSTREAM_URL [CA_PEM] [ADDR]";

async fn serve() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let upstream: Uri = args
        .next()
        .ok_or(USAGE)?
        .parse()
        .map_err(|e| format!("upstream URL: {e}; {USAGE}"))?;
    let (Some(scheme), Some(authority)) = (upstream.scheme(), upstream.authority()) else {
        return Err(format!("the upstream URL must be absolute; {USAGE}"));
    };
    let ca_file = args.next().map(PathBuf::from);
    let addr: SocketAddr = args
        .next()
        .unwrap_or_else(|| "127.0.0.1:0".into())
        .parse()
        .map_err(|e| format!("address: {e}"))?;
    let host = HeaderValue::from_str(authority.as_str()).map_err(|e| format!("host: {e}"))?;
    let client = Upstream::new(UpstreamOptions {
        ca_file,
        ..UpstreamOptions::default()
    })
    .map_err(|e| e.to_string())?;
    let forward = Arc::new(Forward {
        base: format!("{scheme}://{authority}"),
        host,
        client,
    });
    let server = Server::bind(addr, forward, Limits::default())
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    println!("listening on {}", server.url());
    let _ = std::io::stdout().flush();
    let _ = tokio::signal::ctrl_c().await;
    server.shutdown().await;
    Ok(())
}

struct Forward {
    base: String,
    host: HeaderValue,
    client: Upstream,
}

impl Handler for Forward {
    async fn handle(&self, mut request: Request) -> Response {
        let path = request.uri.path_and_query().map_or("/", |p| p.as_str());
        request.uri = match format!("{}{path}", self.base).parse() {
            Ok(uri) => uri,
            Err(_) => return Response::new(StatusCode::BAD_REQUEST),
        };
        request
            .headers
            .insert(http::header::HOST, self.host.clone());
        match self.client.send(request).await {
            Ok(response) => response,
            Err(error) => {
                let mut response = Response::new(StatusCode::BAD_GATEWAY);
                response.body = error.to_string().into();
                response
            }
        }
    }
}
