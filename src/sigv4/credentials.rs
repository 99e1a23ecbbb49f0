//! Where the real credentials come from, and the only place they are held.
//!
//! The standard AWS chain (environment, shared config and credentials files
//! with profiles, SSO, `credential_process`, assume-role, web identity,
//! container and instance metadata) is what every AWS tool uses; static
//! credentials exist for tests. aws-config's providers do not cache (the SDK
//! clients do, in their identity cache), so [`Keyring`] keeps the current
//! credentials until five minutes before they expire; requests read them
//! without waiting, and only a refresh takes a lock.
//!
//! Every credential set handed to the signer is remembered, so a cassette can
//! be checked for any of them before it is written: the values never leave
//! this module, only the name of what was found does.

use crate::http::error_chain;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_smithy_runtime_api::client::identity::Identity;
use regex::bytes::RegexSet;
use std::fmt;
use std::sync::RwLock;
use std::time::{Duration, SystemTime};

/// Where the proxy gets the credentials it signs with.
#[derive(Clone, Debug)]
pub enum CredentialSource {
    /// The standard AWS credential chain; `profile` picks a shared-config
    /// profile (else `AWS_PROFILE`, else `default`).
    Chain { profile: Option<String> },
    /// Fixed credentials (tests, or a caller that already has them).
    Static(StaticCredentials),
}

/// An access key, its secret and an optional session token.
#[derive(Clone)]
pub struct StaticCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl fmt::Debug for StaticCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticCredentials")
            .field("access_key_id", &"** redacted **")
            .field("secret_access_key", &"** redacted **")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "** redacted **"),
            )
            .finish()
    }
}

/// Credentials could not be loaded; the message says where to look.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialsError(pub String);

impl fmt::Display for CredentialsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CredentialsError {}

/// Refresh this long before credentials expire, so a request signed now is
/// still valid when it arrives.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// The credentials in use, cached, and every secret used so far.
pub struct Keyring {
    provider: SharedCredentialsProvider,
    /// The credentials in use, as the signer takes them; read by every
    /// request without waiting.
    current: RwLock<Option<Identity>>,
    /// Held while new credentials are fetched, so one task fetches them.
    refresh: tokio::sync::Mutex<()>,
    seen: RwLock<Secrets>,
    region: Option<String>,
}

#[derive(Default)]
struct Secrets {
    /// (what it is, the value) for every credential set used in this run.
    values: Vec<(&'static str, String)>,
    /// One pattern per entry of `needles`: raw and percent-encoded forms.
    set: Option<RegexSet>,
    needles: Vec<&'static str>,
    /// The length of the shortest value (0 before any).
    shortest: usize,
    /// Every byte of every form searched.
    bytes: crate::cassette::ByteSet,
}

impl Keyring {
    /// Builds the provider and fetches credentials once, so a missing or
    /// expired login fails at start rather than on the first request.
    pub async fn load(
        source: &CredentialSource,
        region: Option<&str>,
    ) -> Result<Self, CredentialsError> {
        let (provider, region) = match source {
            CredentialSource::Static(creds) => (
                SharedCredentialsProvider::new(Credentials::new(
                    creds.access_key_id.clone(),
                    creds.secret_access_key.clone(),
                    creds.session_token.clone(),
                    None,
                    "proton-vcr-static",
                )),
                region.map(str::to_string),
            ),
            CredentialSource::Chain { profile } => {
                use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
                let http = aws_smithy_http_client::Builder::new()
                    .tls_provider(Provider::Rustls(CryptoMode::Ring))
                    .build_https();
                let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http);
                if let Some(profile) = profile {
                    loader = loader.profile_name(profile);
                }
                if let Some(region) = region {
                    loader = loader.region(Region::new(region.to_string()));
                }
                let config = loader.load().await;
                let provider = config.credentials_provider().ok_or_else(|| {
                    CredentialsError("the AWS credential chain has no provider configured".into())
                })?;
                (provider, config.region().map(|r| r.to_string()))
            }
        };
        let keyring = Self {
            provider,
            current: RwLock::new(None),
            refresh: tokio::sync::Mutex::new(()),
            seen: RwLock::new(Secrets::default()),
            region,
        };
        keyring.credentials().await.map_err(|e| match source {
            CredentialSource::Chain { profile: Some(profile) } => {
                CredentialsError(format!("{e} (profile `{profile}`: run `aws sso login --profile {profile}` if it uses SSO, or check ~/.aws/config)"))
            }
            _ => e,
        })?;
        Ok(keyring)
    }

    /// The region the chain's configuration names (`AWS_REGION`, the
    /// profile's `region`), or the one given at load.
    pub fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    /// Current credentials, refreshed shortly before they expire, as an
    /// identity to sign with (its data is the [`Credentials`]).
    pub(super) async fn credentials(&self) -> Result<Identity, CredentialsError> {
        if let Some(identity) = self.fresh() {
            return Ok(identity);
        }
        let _refreshing = self.refresh.lock().await;
        // Another task may have fetched them while this one waited.
        if let Some(identity) = self.fresh() {
            return Ok(identity);
        }
        let creds = self.provider.provide_credentials().await.map_err(|e| {
            CredentialsError(format!(
                "could not load AWS credentials: {} (set AWS_PROFILE or --profile, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)",
                error_chain(&e)
            ))
        })?;
        self.remember(&creds);
        let identity = Identity::from(creds);
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Some(identity.clone());
        Ok(identity)
    }

    /// The cached identity, unless it expires within the refresh margin.
    fn fresh(&self) -> Option<Identity> {
        let current = self.current.read().unwrap_or_else(|p| p.into_inner());
        let identity = current.as_ref()?;
        identity
            .expiration()
            .is_none_or(|expiry| expiry > SystemTime::now() + REFRESH_MARGIN)
            .then(|| identity.clone())
    }

    fn remember(&self, creds: &Credentials) {
        let mut seen = self.seen.write().unwrap_or_else(|p| p.into_inner());
        let mut add = |kind: &'static str, value: &str| {
            if !value.is_empty() && !seen.values.iter().any(|(_, v)| v == value) {
                seen.values.push((kind, value.to_string()));
            }
        };
        add("the access key id in use", creds.access_key_id());
        add("the secret access key in use", creds.secret_access_key());
        if let Some(token) = creds.session_token() {
            add("the session token in use", token);
        }
        let mut patterns = Vec::new();
        let mut needles = Vec::new();
        let mut bytes = crate::cassette::ByteSet::EMPTY;
        for (kind, value) in &seen.values {
            let forms = [
                value.clone(),
                percent_encode(value, false),
                percent_encode(value, true),
            ];
            for form in forms.into_iter().chain(base64_forms(value)) {
                bytes = bytes.union(crate::cassette::ByteSet::of(form.as_bytes()));
                if !patterns.contains(&regex::escape(&form)) {
                    patterns.push(regex::escape(&form));
                    needles.push(*kind);
                }
            }
        }
        // Escaped literals always compile; if not, scanning falls back to `contains`.
        seen.set = RegexSet::new(&patterns).ok();
        seen.needles = needles;
        seen.bytes = bytes;
        seen.shortest = seen.values.iter().map(|(_, v)| v.len()).min().unwrap_or(0);
    }

    /// The length of the shortest secret [`Keyring::find_secret`] finds.
    pub fn shortest_secret(&self) -> usize {
        self.seen.read().unwrap_or_else(|p| p.into_inner()).shortest
    }

    /// Every byte of the forms [`Keyring::find_secret`] finds.
    pub fn secret_bytes(&self) -> crate::cassette::ByteSet {
        self.seen.read().unwrap_or_else(|p| p.into_inner()).bytes
    }

    /// Names the secret `bytes` contain (`"the secret access key in use"`),
    /// checking raw and percent-encoded forms of every credential used in
    /// this run. Never returns the secret itself.
    pub fn find_secret(&self, bytes: &[u8]) -> Option<&'static str> {
        let seen = self.seen.read().unwrap_or_else(|p| p.into_inner());
        match &seen.set {
            // Nearly every check finds nothing: `is_match` stops at the first
            // hit and allocates nothing; only a hit asks which needle it was.
            Some(set) if !set.is_match(bytes) => None,
            Some(set) => set
                .matches(bytes)
                .iter()
                .next()
                .and_then(|i| seen.needles.get(i).copied()),
            None => seen
                .values
                .iter()
                .find(|(_, value)| contains(bytes, value.as_bytes()))
                .map(|(kind, _)| *kind),
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// RFC 3986 unreserved characters stay, everything else is `%XX`.
/// What every base64 encoding of a text holding `value` shows of it,
/// whatever came before it: for each of the three places `value` can start
/// in a group of three bytes, the characters its bytes alone decide, in the
/// standard and the URL-safe alphabet. A value base64-encoded after one or
/// two other bytes (`"A" + value`) decodes to nothing like it at the usual
/// alignment, and is still found in the encoded text.
fn base64_forms(value: &str) -> Vec<String> {
    use base64::Engine as _;
    let mut forms = Vec::new();
    for before in 0..3 {
        let mut bytes = vec![0u8; before];
        bytes.extend_from_slice(value.as_bytes());
        let encoded = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&bytes);
        // The characters made of the value's bits only: after those that
        // hold bits of the bytes before it, and before the last one, which
        // holds bits of whatever follows.
        let first = (before * 8).div_ceil(6);
        let last = bytes.len() * 8 / 6;
        let Some(decided) = encoded.get(first..last).filter(|d| d.len() >= 16) else {
            continue;
        };
        let url_safe = decided.replace('+', "-").replace('/', "_");
        forms.push(decided.to_string());
        forms.push(url_safe);
    }
    forms
}

fn percent_encode(value: &str, lower: bool) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else if lower {
            out.push_str(&format!("%{byte:02x}"));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canary() -> CredentialSource {
        CredentialSource::Static(StaticCredentials {
            access_key_id: "AKIACANARY0000000001".into(),
            secret_access_key: "canary/secret+key=0123456789abcdefghij".into(),
            session_token: Some("IQoJcanary//token+value==".into()),
        })
    }

    #[tokio::test]
    async fn finds_every_secret_raw_or_percent_encoded() {
        let keyring = Keyring::load(&canary(), None).await.unwrap();
        assert_eq!(
            keyring.find_secret(b"{\"k\":\"AKIACANARY0000000001\"}"),
            Some("the access key id in use")
        );
        assert_eq!(
            keyring.find_secret(b"x canary/secret+key=0123456789abcdefghij y"),
            Some("the secret access key in use")
        );
        assert_eq!(
            keyring.find_secret(b"t=canary%2Fsecret%2Bkey%3D0123456789abcdefghij"),
            Some("the secret access key in use")
        );
        assert_eq!(
            keyring.find_secret(b"IQoJcanary%2f%2ftoken%2bvalue%3d%3d"),
            Some("the session token in use")
        );
        assert_eq!(
            keyring.find_secret(b"nothing to see: AKIACANARY000000000"),
            None
        );
        // Base64 of a text holding a secret, wherever in its group of three
        // bytes the secret starts, in either alphabet.
        use base64::Engine as _;
        for before in ["", "A", "AB", "xyz"] {
            let text = format!("{before}canary/secret+key=0123456789abcdefghij, more");
            for engine in [
                base64::engine::general_purpose::STANDARD,
                base64::engine::general_purpose::URL_SAFE,
            ] {
                let encoded = engine.encode(&text);
                // Also with base64 characters glued in front, which move
                // every quantum of the run out of line for a decoder.
                for glued in ["", "Q", "QQ", "QQQ"] {
                    assert_eq!(
                        keyring
                            .find_secret(format!("{{\"blob\":\"{glued}{encoded}\"}}").as_bytes()),
                        Some("the secret access key in use"),
                        "{before:?} {glued:?}: {encoded}"
                    );
                }
            }
        }
        // The access key id is the shortest value, raw.
        assert_eq!(keyring.shortest_secret(), "AKIACANARY0000000001".len());
        // Every byte of every form, and no other.
        let bytes = keyring.secret_bytes();
        assert!(b"AKIACANARY01/+=%2Fb".iter().all(|b| bytes.contains(*b)));
        assert!(b" \":&\n".iter().all(|b| !bytes.contains(*b)));
    }

    #[test]
    fn debug_output_hides_static_credentials() {
        let text = format!("{:?}", canary());
        assert!(
            !text.contains("AKIACANARY")
                && !text.contains("canary/secret")
                && !text.contains("IQoJ"),
            "{text}"
        );
    }
}
