//! A local HTTPS upstream for the record proxy's benchmark (`bench/run`):
//! the stand-in for AWS, so the proxy's cost can be measured against calling
//! the upstream directly.
//!
//! Makes a throwaway CA and a certificate for 127.0.0.1 signed by it, writes
//! the CA to CA_PEM (for `proton-vcr record --upstream-ca`), and answers every
//! request over TLS (HTTP/1.1) with the first recorded response of CASSETTE,
//! like the loopback ceiling does in clear text.
//!
//! ```text
//! cargo run --release --example tls_upstream -- CASSETTE CA_PEM [ADDR]
//! ```
//! Prints `listening on https://HOST:PORT` first.

use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

#[tokio::main]
async fn main() -> ExitCode {
    match serve().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tls_upstream: {error}");
            ExitCode::from(2)
        }
    }
}

async fn serve() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: tls_upstream CASSETTE CA_PEM [ADDR]";
    let cassette = args.next().ok_or(usage)?;
    let ca_out = args.next().ok_or(usage)?;
    let addr: SocketAddr = args
        .next()
        .unwrap_or_else(|| "127.0.0.1:0".into())
        .parse()
        .map_err(|e| format!("address: {e}"))?;
    let loaded = proton_vcr::cassette::load(Path::new(&cassette)).map_err(|e| e.to_string())?;
    let template = Arc::new(
        loaded
            .first()
            .and_then(|c| c.cassette.interactions.first())
            .ok_or_else(|| format!("{cassette}: no interaction to answer with"))?
            .response
            .to_exchange(),
    );
    let acceptor = acceptor(Path::new(&ca_out))?;

    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    println!("listening on https://{local}");
    let _ = std::io::stdout().flush();

    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let acceptor = acceptor.clone();
        let template = template.clone();
        tokio::spawn(async move {
            let Ok(stream) = acceptor.accept(stream).await else {
                return;
            };
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
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// A TLS acceptor with a fresh CA-signed certificate; the CA goes to `ca_out`.
fn acceptor(ca_out: &Path) -> Result<TlsAcceptor, String> {
    let fail = |e: rcgen::Error| format!("making the test certificates: {e}");
    let ca_key = KeyPair::generate().map_err(fail)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(fail)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "proton-vcr benchmark CA");
    let ca = ca_params.self_signed(&ca_key).map_err(fail)?;
    let key = KeyPair::generate().map_err(fail)?;
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .map_err(fail)?;
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params.signed_by(&key, &ca, &ca_key).map_err(fail)?;
    std::fs::write(ca_out, ca.pem()).map_err(|e| format!("{}: {e}", ca_out.display()))?;

    let chain = vec![CertificateDer::from(cert.der().to_vec())];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("TLS versions: {e}"))?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .map_err(|e| format!("TLS certificate: {e}"))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}
