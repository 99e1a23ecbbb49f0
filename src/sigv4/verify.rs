//! Checking a client's SigV4 signature against a local key.
//!
//! The recording proxy spends real credentials, so `--client-key AKID:SECRET`
//! lets only clients holding that (local, throw-away) key through. The
//! signature is recomputed with aws-sigv4 from the client's own
//! `X-Amz-Date`, scope and signed-header list, and compared in constant time.
//! The mock reuses [`verify_request`] for its optional signature checks.
//!
//! The proxy checks more, through [`ClientKeyVerifier`]: the payload hash
//! must be signed (`UNSIGNED-PAYLOAD` would let a sniffed request be sent
//! again with another body, which the proxy would then sign with the real
//! key), and a signature is accepted once: an exact replay within its
//! 15-minute validity window is refused. The record of signatures seen is
//! bounded in time (a signature leaves it when its window closes) and in
//! size (when full, the oldest leaves and nothing signed at or before it is
//! accepted any more), and reads time from an injected clock.

use super::resign::settings_for;
use super::scope::ClientSignature;
use crate::http::Request;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, SessionTokenMode, SignableBody, SignableRequest, SigningInstructions,
    SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How far a client's clock may be from ours, as AWS allows.
const MAX_SKEW: Duration = Duration::from_secs(15 * 60);

/// The local key clients must sign with: `AKID:SECRET`.
#[derive(Clone)]
pub struct ClientKey {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl ClientKey {
    /// Parses `AKID:SECRET`.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.split_once(':') {
            Some((akid, secret)) if !akid.is_empty() && !secret.is_empty() => Ok(Self {
                access_key_id: akid.to_string(),
                secret_access_key: secret.to_string(),
            }),
            _ => Err(
                "expected ACCESS_KEY_ID:SECRET_ACCESS_KEY (the key your clients sign with)"
                    .to_string(),
            ),
        }
    }
}

impl fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientKey")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .finish()
    }
}

/// Why a request's signature was not accepted. Each caller answers in its
/// own words (the proxy with a 403, the mock as AWS does); the messages say
/// what is wrong and never hold a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignatureError {
    /// The request is not signed at all.
    Missing(String),
    /// Signed with another access key id.
    UnknownKey(String),
    /// Signed with the key, but the signature is not the one it makes.
    Mismatch(String),
    /// Malformed, stale, or not checkable.
    Invalid(String),
}

impl SignatureError {
    pub fn message(&self) -> &str {
        match self {
            Self::Missing(m) | Self::UnknownKey(m) | Self::Mismatch(m) | Self::Invalid(m) => m,
        }
    }
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl From<String> for SignatureError {
    fn from(message: String) -> Self {
        Self::Invalid(message)
    }
}

impl From<&str> for SignatureError {
    fn from(message: &str) -> Self {
        Self::Invalid(message.to_string())
    }
}

/// Checks that `request`, as received, carries a valid SigV4 header
/// signature made with `access_key_id` and `secret_access_key`.
pub fn verify_request(
    request: &Request,
    access_key_id: &str,
    secret_access_key: &str,
) -> Result<(), SignatureError> {
    verify_at(request, access_key_id, secret_access_key, SystemTime::now()).map(|_| ())
}

/// Where time comes from; tests drive it.
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// How many signatures the proxy remembers at most (about 110 requests a
/// second sustained over the 15-minute window).
const MAX_SEEN: usize = 100_000;

/// Checks `--client-key` clients for the proxy: a valid signature with that
/// key, over a signed payload hash, used once.
pub struct ClientKeyVerifier {
    key: ClientKey,
    clock: Clock,
    seen: Mutex<SeenSignatures>,
}

impl ClientKeyVerifier {
    pub fn new(key: ClientKey) -> Self {
        Self::with_clock(key, Arc::new(SystemTime::now), MAX_SEEN)
    }

    /// A verifier reading time from `clock`, remembering up to `capacity`
    /// signatures.
    pub fn with_clock(key: ClientKey, clock: Clock, capacity: usize) -> Self {
        Self {
            key,
            clock,
            seen: Mutex::new(SeenSignatures::new(capacity)),
        }
    }

    pub fn verify(&self, request: &Request) -> Result<(), SignatureError> {
        match request.header("x-amz-content-sha256") {
            Some(value)
                if value == "UNSIGNED-PAYLOAD" || value.starts_with("STREAMING-UNSIGNED") =>
            {
                return Err(SignatureError::Invalid(format!(
                    "X-Amz-Content-SHA256 `{value}` leaves the body unsigned, so anyone who saw this request could send it again with another body; sign the payload (the SDKs do for every service but S3: for S3 turn off unsigned payloads)"
                )));
            }
            _ => {}
        }
        let now = (self.clock)();
        self.seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .forget_expired(now);
        let verified = verify_at(
            request,
            &self.key.access_key_id,
            &self.key.secret_access_key,
            now,
        )?;
        self.seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .admit(verified)
    }
}

/// Signatures accepted within their validity window.
struct SeenSignatures {
    capacity: usize,
    /// Ordered by signing time, so the oldest leave first.
    by_time: BTreeSet<(SystemTime, String)>,
    signatures: HashSet<String>,
    /// Nothing signed at or before this is accepted: a signature this old
    /// may have been forgotten to make room.
    floor: Option<SystemTime>,
}

impl SeenSignatures {
    fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            by_time: BTreeSet::new(),
            signatures: HashSet::new(),
            floor: None,
        }
    }

    /// Drops signatures whose validity window has closed: the skew check
    /// refuses them by itself from now on.
    fn forget_expired(&mut self, now: SystemTime) {
        while let Some(first) = self.by_time.first() {
            if first.0 + MAX_SKEW >= now {
                break;
            }
            if let Some((_, signature)) = self.by_time.pop_first() {
                self.signatures.remove(&signature);
            }
        }
    }

    fn admit(&mut self, verified: Verified) -> Result<(), SignatureError> {
        if self.floor.is_some_and(|floor| verified.signed_at <= floor) {
            return Err(SignatureError::Invalid(
                "the proxy cannot tell whether a request signed this long ago was already used (it has seen many since); sign it again".into(),
            ));
        }
        if self.signatures.contains(&verified.signature) {
            return Err(SignatureError::Invalid(
                "this signature was already used: a replayed request is refused; sign each request afresh".into(),
            ));
        }
        while self.by_time.len() >= self.capacity {
            if let Some((time, signature)) = self.by_time.pop_first() {
                self.signatures.remove(&signature);
                self.floor = Some(self.floor.map_or(time, |floor| floor.max(time)));
            }
        }
        self.signatures.insert(verified.signature.clone());
        self.by_time
            .insert((verified.signed_at, verified.signature));
        Ok(())
    }
}

/// A signature that checked out, and when it was made.
#[derive(Debug)]
struct Verified {
    signature: String,
    signed_at: SystemTime,
}

/// Checks `request`'s signature as made with the key `access_key_id` and
/// `secret_access_key` at `now`: the client's own scope, date and signed
/// headers are taken as given and the signature recomputed with aws-sigv4.
fn verify_at(
    request: &Request,
    access_key_id: &str,
    secret_access_key: &str,
    now: SystemTime,
) -> Result<Verified, SignatureError> {
    let client = client_signature(request, access_key_id)?;
    let time = signing_time(request, &client, now)?;
    let signs = |name: &str| client.signed_headers.iter().any(|h| h == name);
    let token = if signs("x-amz-security-token") {
        Some(
            request
                .header("x-amz-security-token")
                .ok_or("X-Amz-Security-Token is signed but not sent")?
                .to_string(),
        )
    } else {
        None
    };
    let body = signed_body(request, signs("x-amz-content-sha256"))?;
    let settings = settings(&client, token.is_some(), body.checks_hash);
    let signed_hash = body.sent_hash.filter(|_| body.checks_hash);
    let headers = signed_header_values(request, &client)?;
    let host = headers
        .iter()
        .find(|(n, _)| *n == "host")
        .map(|(_, v)| *v)
        .unwrap_or("localhost");
    let path = request.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let uri = format!("http://{host}{path}");

    let identity: Identity = Credentials::new(
        access_key_id,
        secret_access_key,
        token,
        None,
        "proton-vcr-client-key",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&client.scope.region)
        .name(&client.scope.service)
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| format!("cannot check the signature: {e}"))?
        .into();
    let signable = SignableRequest::new(
        request.method.as_str(),
        uri,
        headers.into_iter(),
        body.signable,
    )
    .map_err(|e| format!("cannot check the signature: {e}"))?;
    let (instructions, expected) = sign(signable, &params)
        .map_err(|e| format!("cannot check the signature: {e}"))?
        .into_parts();
    compare(&client, signed_hash, &instructions, &expected)?;
    Ok(Verified {
        signature: client.signature,
        signed_at: time,
    })
}

/// How the client must have signed: the service's settings, with the token
/// and the payload hash as the client's signed headers say.
fn settings(client: &ClientSignature, token: bool, checks_hash: bool) -> SigningSettings {
    let mut settings = settings_for(&client.scope.service);
    settings.excluded_headers = None;
    settings.session_token_mode = if token {
        SessionTokenMode::Include
    } else {
        SessionTokenMode::Exclude
    };
    if checks_hash {
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    settings
}

/// Compares the client's signature with the one computed for its request:
/// the payload hash (`signed_hash`, when the client signed it), the
/// signed-header list, then the signature itself (in constant time).
fn compare(
    client: &ClientSignature,
    signed_hash: Option<&str>,
    instructions: &SigningInstructions,
    expected: &str,
) -> Result<(), SignatureError> {
    let ours = |name: &str| {
        instructions
            .headers()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.to_string())
    };
    if let (Some(sent), Some(computed)) = (signed_hash, ours("x-amz-content-sha256")) {
        if sent != "UNSIGNED-PAYLOAD" && sent != computed {
            return Err("X-Amz-Content-SHA256 is not the SHA-256 of the body".into());
        }
    }
    let reproduced = ours("authorization")
        .and_then(|v| ClientSignature::parse(&v).ok())
        .map(|s| s.signed_headers)
        .unwrap_or_default();
    let mut theirs = client.signed_headers.clone();
    theirs.sort();
    theirs.dedup();
    if reproduced != theirs {
        return Err(format!(
            "SignedHeaders `{}` cannot be reproduced from the request",
            client.signed_headers.join(";")
        )
        .into());
    }
    if !constant_time_eq(expected.as_bytes(), client.signature.as_bytes()) {
        return Err(SignatureError::Mismatch("the signature does not match: check the client's secret key and that nothing rewrites the request on the way".into()));
    }
    Ok(())
}

/// The client's Authorization header, parsed, when it names the expected key.
fn client_signature(
    request: &Request,
    access_key_id: &str,
) -> Result<ClientSignature, SignatureError> {
    let authorization = request.header("authorization").ok_or_else(|| {
        SignatureError::Missing(
            if request
                .uri
                .query()
                .is_some_and(|q| q.contains("X-Amz-Signature"))
            {
                "presigned URLs are not accepted here; sign with the Authorization header"
            } else {
                "the request is not signed (no Authorization header); sign it with the expected key"
            }
            .to_string(),
        )
    })?;
    let client = ClientSignature::parse(authorization)?;
    if client.access_key_id != access_key_id {
        return Err(SignatureError::UnknownKey(
            "the request is signed with another access key id than the expected one".into(),
        ));
    }
    Ok(client)
}

/// When the request was signed (`X-Amz-Date`), once it agrees with the
/// scope's date, is within [`MAX_SKEW`] of `now`, and is signed itself
/// along with the host.
fn signing_time(
    request: &Request,
    client: &ClientSignature,
    now: SystemTime,
) -> Result<SystemTime, SignatureError> {
    let amz_date = request
        .header("x-amz-date")
        .ok_or("the request has no X-Amz-Date header")?;
    let time = parse_amz_date(amz_date)
        .ok_or_else(|| format!("X-Amz-Date `{amz_date}` is not YYYYMMDDTHHMMSSZ"))?;
    if !amz_date.starts_with(&client.date) {
        return Err(format!(
            "the credential scope date {} is not the date of X-Amz-Date {amz_date}",
            client.date
        )
        .into());
    }
    let skew = now.duration_since(time).unwrap_or_else(|e| e.duration());
    if skew > MAX_SKEW {
        return Err(format!(
            "the signature date {amz_date} is more than 15 minutes from the proxy's clock (a stale or replayed request)"
        ).into());
    }
    for required in ["host", "x-amz-date"] {
        if !client.signed_headers.iter().any(|h| h == required) {
            return Err(format!("SignedHeaders must include `{required}`").into());
        }
    }
    Ok(time)
}

/// The body as the signature covers it.
struct SignedBody<'a> {
    signable: SignableBody<'a>,
    /// Whether the client signed `X-Amz-Content-SHA256`.
    checks_hash: bool,
    /// The `X-Amz-Content-SHA256` the client sent.
    sent_hash: Option<&'a str>,
}

fn signed_body(request: &Request, checks_hash: bool) -> Result<SignedBody<'_>, SignatureError> {
    let sent_hash = request.header("x-amz-content-sha256");
    let mut signable = SignableBody::Bytes(&request.body);
    if checks_hash {
        match sent_hash {
            Some("UNSIGNED-PAYLOAD") => signable = SignableBody::UnsignedPayload,
            // A streaming upload signs the announced value; its chunks are
            // decoded, not checked, and signed again for the upstream.
            Some(value) if value.starts_with("STREAMING-") => {
                signable = SignableBody::Precomputed(value.to_string());
            }
            Some(_) => {}
            None => return Err("X-Amz-Content-SHA256 is signed but not sent".into()),
        }
    }
    Ok(SignedBody {
        signable,
        checks_hash,
        sent_hash,
    })
}

/// The values of the headers the client signed, for the signer to sign
/// again. The signer adds host from the URI only when no host header is
/// given, and adds x-amz-date, the token and the payload hash itself.
fn signed_header_values<'a>(
    request: &'a Request,
    client: &'a ClientSignature,
) -> Result<Vec<(&'a str, &'a str)>, SignatureError> {
    let added_by_signer = ["x-amz-date", "x-amz-security-token", "x-amz-content-sha256"];
    let mut headers: Vec<(&str, &str)> = Vec::new();
    for name in client
        .signed_headers
        .iter()
        .filter(|h| !added_by_signer.contains(&h.as_str()))
    {
        let values: Vec<&str> = request
            .headers
            .get_all(name.as_str())
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if values.is_empty() {
            if name == "host" {
                if let Some(authority) = request.uri.authority() {
                    headers.push(("host", authority.as_str()));
                    continue;
                }
            }
            return Err(format!("the signed header `{name}` is not in the request").into());
        }
        headers.extend(values.into_iter().map(|v| (name.as_str(), v)));
    }
    Ok(headers)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `20260501T120000Z` as a time.
fn parse_amz_date(text: &str) -> Option<SystemTime> {
    let bytes = text.as_bytes();
    if bytes.len() != 16 || bytes.get(8) != Some(&b'T') || bytes.get(15) != Some(&b'Z') {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> { text.get(range)?.parse().ok() };
    let (year, month, day) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hour, minute, second) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let seconds = crate::calendar::days_from_civil(year, month, day) * 86_400
        + hour * 3600
        + minute * 60
        + second;
    UNIX_EPOCH.checked_add(Duration::from_secs(u64::try_from(seconds).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    const AKID: &str = "AKIDLOCALCLIENT00000";
    const SECRET: &str = "local/client+secret";

    /// Signs like an SDK would: every header, with aws-sigv4's defaults.
    fn signed(secret: &str, token: Option<&str>, time: SystemTime) -> Request {
        let mut request = Request::new(Method::POST, "/?x=1").unwrap();
        request
            .headers
            .insert("host", "127.0.0.1:4751".parse().unwrap());
        request.headers.insert(
            "content-type",
            "application/x-amz-json-1.0".parse().unwrap(),
        );
        request.headers.insert(
            "x-amz-target",
            "AwsProton20200720.ListEnvironments".parse().unwrap(),
        );
        request
            .headers
            .insert("user-agent", "test/1.0".parse().unwrap());
        request.body = bytes::Bytes::from_static(b"{}");
        let identity: Identity =
            Credentials::new(AKID, secret, token.map(str::to_string), None, "t").into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("proton")
            .time(time)
            .settings(Default::default())
            .build()
            .unwrap()
            .into();
        let headers: Vec<(&str, &str)> = request
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.to_str().unwrap()))
            .collect();
        let signable = SignableRequest::new(
            "POST",
            "http://127.0.0.1:4751/?x=1",
            headers.into_iter(),
            SignableBody::Bytes(b"{}"),
        )
        .unwrap();
        let (instructions, _) = sign(signable, &params).unwrap().into_parts();
        for (name, value) in instructions.headers() {
            request.headers.insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        request
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn accepts_a_request_signed_with_the_key() {
        let now = at(1_777_636_800);
        verify_at(&signed(SECRET, None, now), AKID, SECRET, now).unwrap();
        verify_at(
            &signed(SECRET, Some("session-token"), now),
            AKID,
            SECRET,
            now + Duration::from_secs(60),
        )
        .unwrap();
    }

    #[test]
    fn rejects_a_wrong_secret_a_tampered_body_and_a_stale_date() {
        let now = at(1_777_636_800);
        let wrong = verify_at(&signed("other-secret", None, now), AKID, SECRET, now).unwrap_err();
        assert!(matches!(wrong, SignatureError::Mismatch(_)), "{wrong}");
        let mut tampered = signed(SECRET, None, now);
        tampered.body = bytes::Bytes::from_static(b"{\"a\":1}");
        assert!(matches!(
            verify_at(&tampered, AKID, SECRET, now),
            Err(SignatureError::Mismatch(_))
        ));
        let stale = verify_at(
            &signed(SECRET, None, now),
            AKID,
            SECRET,
            now + Duration::from_secs(3600),
        )
        .unwrap_err();
        assert!(
            matches!(&stale, SignatureError::Invalid(m) if m.contains("15 minutes")),
            "{stale}"
        );
        let other =
            verify_at(&signed(SECRET, None, now), "AKIDSOMEONEELSE", SECRET, now).unwrap_err();
        assert!(matches!(other, SignatureError::UnknownKey(_)), "{other}");
    }

    fn verifier_at(now: &Arc<Mutex<SystemTime>>, capacity: usize) -> ClientKeyVerifier {
        let clock = now.clone();
        ClientKeyVerifier::with_clock(
            ClientKey::parse(&format!("{AKID}:{SECRET}")).unwrap(),
            Arc::new(move || *clock.lock().unwrap()),
            capacity,
        )
    }

    #[test]
    fn a_signature_is_accepted_once_within_its_window() {
        let start = at(1_777_636_800);
        let now = Arc::new(Mutex::new(start));
        let verifier = verifier_at(&now, 100);
        let request = signed(SECRET, None, start);
        verifier.verify(&request).unwrap();
        let again = verifier.verify(&request).unwrap_err();
        assert!(again.message().contains("already used"), "{again}");
        *now.lock().unwrap() = start + Duration::from_secs(14 * 60);
        assert!(
            verifier.verify(&request).is_err(),
            "still inside the window"
        );
        // A fresh signature a second later is a new request.
        verifier
            .verify(&signed(SECRET, None, start + Duration::from_secs(14 * 60)))
            .unwrap();
        *now.lock().unwrap() = start + Duration::from_secs(16 * 60);
        let stale = verifier.verify(&request).unwrap_err();
        assert!(stale.message().contains("15 minutes"), "{stale}");
        assert_eq!(
            verifier.seen.lock().unwrap().by_time.len(),
            1,
            "the expired signature left the record"
        );
    }

    #[test]
    fn a_full_record_forgets_the_oldest_and_refuses_anything_as_old() {
        let start = at(1_777_636_800);
        let now = Arc::new(Mutex::new(start + Duration::from_secs(10)));
        let verifier = verifier_at(&now, 2);
        let first = signed(SECRET, None, start);
        verifier.verify(&first).unwrap();
        verifier
            .verify(&signed(SECRET, None, start + Duration::from_secs(1)))
            .unwrap();
        verifier
            .verify(&signed(SECRET, None, start + Duration::from_secs(2)))
            .unwrap();
        assert_eq!(verifier.seen.lock().unwrap().by_time.len(), 2);
        let replayed = verifier.verify(&first).unwrap_err();
        assert!(replayed.message().contains("sign it again"), "{replayed}");
        verifier
            .verify(&signed(SECRET, None, start + Duration::from_secs(3)))
            .unwrap();
    }

    #[test]
    fn an_unsigned_payload_is_refused() {
        let start = at(1_777_636_800);
        let verifier = verifier_at(&Arc::new(Mutex::new(start)), 10);
        for value in ["UNSIGNED-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"] {
            let mut request = signed(SECRET, None, start);
            request
                .headers
                .insert("x-amz-content-sha256", value.parse().unwrap());
            let error = verifier.verify(&request).unwrap_err();
            assert!(error.message().contains("unsigned"), "{value}: {error}");
        }
    }

    #[test]
    fn rejects_unsigned_requests() {
        let request = Request::new(Method::GET, "/").unwrap();
        assert!(matches!(
            verify_request(&request, AKID, SECRET),
            Err(SignatureError::Missing(m)) if m.contains("not signed")
        ));
    }

    #[test]
    fn parses_amz_dates() {
        assert_eq!(parse_amz_date("19700101T000000Z"), Some(UNIX_EPOCH));
        assert_eq!(parse_amz_date("20260501T120000Z"), Some(at(1_777_636_800)));
        assert_eq!(parse_amz_date("2026-05-01T12:00:00Z"), None);
        assert_eq!(parse_amz_date("20261301T000000Z"), None);
    }

    #[test]
    fn client_keys_parse_and_hide_their_secret() {
        let key = ClientKey::parse("AKID:se:cret").unwrap();
        assert_eq!(
            (key.access_key_id.as_str(), key.secret_access_key.as_str()),
            ("AKID", "se:cret")
        );
        assert!(!format!("{key:?}").contains("se:cret"));
        assert!(ClientKey::parse("no-colon").is_err());
    }
}
