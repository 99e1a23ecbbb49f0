//! The loopback ceiling: the fastest an HTTP/1.1 server can answer on this
//! machine, for the benchmark (`bench/run`) to compare every server with.
//!
//! A bare hyper server on the same runtime as proton-vcr that reads each
//! request body and answers with one fixed response: the first recorded
//! response of a cassette, so it sends the same bytes a replay of that
//! cassette does. No matching, no buffering into owned types, no limits.
//!
//! ```text
//! cargo run --release --example loopback_ceiling -- CASSETTE [ADDR]
//! ```
//! Prints `listening on http://HOST:PORT` first, like every proton-vcr server.

use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> ExitCode {
    match serve().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("loopback_ceiling: {error}");
            ExitCode::from(2)
        }
    }
}

async fn serve() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: loopback_ceiling CASSETTE [ADDR]")?;
    let addr: SocketAddr = args
        .next()
        .unwrap_or_else(|| "127.0.0.1:0".into())
        .parse()
        .map_err(|e| format!("address: {e}"))?;
    let loaded = proton_vcr::cassette::load(Path::new(&path)).map_err(|e| e.to_string())?;
    let recorded = loaded
        .first()
        .and_then(|c| c.cassette.interactions.first())
        .ok_or_else(|| format!("{path}: no interaction to answer with"))?
        .response
        .to_exchange();
    let template = Arc::new(recorded);

    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    println!("listening on http://{local}");
    let _ = std::io::stdout().flush();

    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let template = template.clone();
        let service = service_fn(move |request: hyper::Request<Incoming>| {
            let template = template.clone();
            async move {
                let _ = request.into_body().collect().await;
                let mut response = hyper::Response::new(Full::new(template.body.clone()));
                *response.status_mut() = template.status;
                *response.headers_mut() = template.headers.clone();
                Ok::<_, Infallible>(response)
            }
        });
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
