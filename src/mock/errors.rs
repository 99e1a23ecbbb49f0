//! The mock's errors and the one place they become AWS-shaped answers.
//!
//! Every error a client of the mock can see is a variant here; [`MockError::to_aws`]
//! decides its code, namespace, message and status. Errors that Proton's model
//! declares carry the model's namespace (`com.amazonaws.proton.v20200720#`);
//! errors of the JSON protocol itself (unknown operation, unreadable body, bad
//! signature) carry the namespace AWS's JSON front end uses for them
//! (`com.amazon.coral.service#`). Status: 400 for every client error, 500 for
//! InternalServerException (the AWS Proton API Reference, "Common Errors",
//! <https://docs.aws.amazon.com/proton/latest/APIReference/CommonErrors.html>;
//! interpretation 1 in `docs/mock.md`).

use crate::http::{AwsError, Origin};
use crate::model::Model;
use crate::sigv4::SignatureError;

/// Namespace of errors raised by AWS's JSON protocol layer rather than by the
/// service: clients only read the text after `#`.
const PROTOCOL_NAMESPACE: &str = "com.amazon.coral.service";

/// The message real Proton sends for a retry whose parameters differ.
pub const IDEMPOTENT_PARAMETER_MISMATCH: &str = "Idempotent parameter mismatch";

/// Everything that can go wrong with a request to the mock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MockError {
    /// The input breaks a rule of the model or of the mock's state machine.
    Validation(String),
    /// A retry with the same client token or name but different parameters.
    IdempotentParameterMismatch,
    /// The resource is in a state that forbids the request.
    Conflict(String),
    /// `kind` as AWS words it ("environment template version"), `arn` of what was asked for.
    NotFound { kind: &'static str, arn: String },
    /// A call the admin API asked to throttle.
    Throttling(String),
    /// A call the admin API asked to hit a quota.
    ServiceQuotaExceeded(String),
    /// An operation of the model that the mock does not emulate.
    NotEmulated(String),
    /// An `X-Amz-Target` that is not an operation of Proton.
    UnknownOperation(String),
    /// A body or content type the JSON protocol cannot read.
    Serialization(String),
    /// A request without a SigV4 signature, when signatures are verified.
    MissingAuthenticationToken(String),
    /// A signature made with an access key the mock does not know.
    UnrecognizedClient(String),
    /// A signature that does not match the request.
    InvalidSignature(String),
}

impl MockError {
    /// A signature the mock will not accept, answered as AWS does: AWS's
    /// own words for a missing signature, an unknown key and a mismatch.
    pub fn from_signature(error: SignatureError) -> Self {
        match error {
            SignatureError::Missing(_) => {
                Self::MissingAuthenticationToken("Missing Authentication Token".into())
            }
            SignatureError::UnknownKey(_) => Self::UnrecognizedClient(
                "The security token included in the request is invalid.".into(),
            ),
            SignatureError::Mismatch(_) => Self::InvalidSignature(
                "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.".into(),
            ),
            SignatureError::Invalid(message) => Self::InvalidSignature(message),
        }
    }

    pub fn not_found(kind: &'static str, arn: impl Into<String>) -> Self {
        Self::NotFound {
            kind,
            arn: arn.into(),
        }
    }

    /// The error as a client sees it.
    pub fn to_aws(&self) -> AwsError {
        let service = |name: &str, message: String| {
            AwsError::new(
                Origin::Client,
                format!("{}#{name}", Model::proton().error_namespace()),
                message,
            )
        };
        let protocol = |name: &str, message: &str| {
            AwsError::new(
                Origin::Client,
                format!("{PROTOCOL_NAMESPACE}#{name}"),
                message,
            )
        };
        match self {
            Self::Validation(message) => service("ValidationException", message.clone()),
            Self::IdempotentParameterMismatch => service(
                "ValidationException",
                IDEMPOTENT_PARAMETER_MISMATCH.to_string(),
            ),
            Self::Conflict(message) => service("ConflictException", message.clone()),
            Self::NotFound { kind, arn } => service(
                "ResourceNotFoundException",
                format!("The requested {kind} does not exist: {arn}"),
            ),
            Self::Throttling(message) => service("ThrottlingException", message.clone()),
            Self::ServiceQuotaExceeded(message) => {
                service("ServiceQuotaExceededException", message.clone())
            }
            Self::NotEmulated(operation) => service(
                "NotImplementedException",
                format!(
                    "proton-vcr mock does not emulate {operation} yet; see docs/mock.md for the operations it does"
                ),
            ),
            Self::UnknownOperation(message) => protocol("UnknownOperationException", message),
            Self::Serialization(message) => protocol("SerializationException", message),
            Self::MissingAuthenticationToken(message) => {
                protocol("MissingAuthenticationTokenException", message)
            }
            Self::UnrecognizedClient(message) => protocol("UnrecognizedClientException", message),
            Self::InvalidSignature(message) => protocol("InvalidSignatureException", message),
        }
    }
}

impl std::fmt::Display for MockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.to_aws().fmt(f)
    }
}

impl std::error::Error for MockError {}
