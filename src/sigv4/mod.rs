//! SigV4: the only code that sees credentials.
//!
//! ```text
//! client request ──> decode_streaming (aws-chunked uploads: the payload they carry)
//!                ──> strip_client_signature ──> (proxy sets the upstream URI)
//!                ──> Signer::sign (real credentials, client's scope;
//!                    aws-chunked framed and chunk-signed again) ──> upstream
//! ```
//! [`Signer`] holds the real credentials (through [`Keyring`]) and hands out
//! signed requests and "does this text hold a secret" answers, never the
//! credentials. [`verify_request`] checks a client's signature against a
//! local key (`--client-key`), for the recording proxy and the mock.

mod chunked;
mod credentials;
mod resign;
mod scope;
mod verify;

pub use chunked::{Streaming, decode as decode_streaming};
pub use credentials::{CredentialSource, CredentialsError, Keyring, StaticCredentials};
pub use resign::{QueryAuth, SignError, Signer, client_scope, strip_client_signature};
pub use scope::{Scope, scope_from_host};
pub use verify::{ClientKey, ClientKeyVerifier, SignatureError, verify_request};
