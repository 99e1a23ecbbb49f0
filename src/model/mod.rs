//! The AWS Proton service model, stripped to shapes, traits and constraints
//! (`proton.json`, a Smithy JSON AST generated from the published model by
//! `scripts/strip-model.py` and embedded in the binary). Parsed once into
//! typed shapes ([`shapes`]) and queried by the mock to validate requests
//! ([`validate`]), by conformance to check responses ([`output`]) and find
//! timestamp members, and by the matcher for idempotency tokens.
//!
//! Validation follows awsJson services: a body whose JSON types do not fit
//! the shapes is a `SerializationException`, reported at the first misfit;
//! otherwise every constraint violation is collected into one
//! `ValidationException` message, `N validation error(s) detected: ...; ...`,
//! each in the AWS wording `Value 'x' at 'member' failed to satisfy
//! constraint: ...` (the value left out for sensitive members). Members are
//! visited in name order; list items are named `tags[0].key`.

mod output;
mod path;
mod pattern;
mod shapes;
mod validate;

use crate::json::TokenPath;
use serde_json::Value;
use shapes::{Schema, short_name};
use std::fmt;
use std::sync::OnceLock;

/// What failed: how the service would classify it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValidationKind {
    /// A constraint (required, length, pattern, enum, range) is violated.
    Constraint,
    /// The body does not fit the shapes' JSON types, or nests too deeply to read.
    Serialization,
    /// The operation is not in the model.
    UnknownOperation,
}

/// A member that failed validation, named as AWS names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationError {
    /// Path of the member from the input root, e.g. `templateName` or `source.s3.bucket`.
    pub member: String,
    /// What is wrong, in AWS's words where known.
    pub message: String,
    /// How the service classifies the failure; see [`ValidationError::code`].
    pub kind: ValidationKind,
}

impl ValidationError {
    /// The error code an awsJson service answers with. A `SerializationException`
    /// and an `UnknownOperationException` come from the service framework,
    /// not the Proton model (Coral-based services put them in the
    /// `com.amazon.coral.service` namespace).
    pub fn code(&self) -> &'static str {
        match self.kind {
            ValidationKind::Constraint => "ValidationException",
            ValidationKind::Serialization => "SerializationException",
            ValidationKind::UnknownOperation => "UnknownOperationException",
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ValidationError {}

/// The `__type` namespace Proton puts on the wire. It is not the Smithy
/// namespace (`com.amazonaws.proton`): the error body seen from the real
/// service reads `com.amazonaws.proton.v20200720#ResourceNotFoundException`
/// (aws/aws-proton-public-roadmap issue 79), and no model file carries it.
const ERROR_NAMESPACE: &str = "com.amazonaws.proton.v20200720";

const PROTON_MODEL: &str = include_str!("proton.json");

/// A loaded service model.
pub struct Model {
    schema: Schema,
}

impl Model {
    /// The embedded Proton model, parsed once.
    pub fn proton() -> &'static Model {
        static PROTON: OnceLock<Model> = OnceLock::new();
        PROTON.get_or_init(|| {
            // The embedded file is part of the build, and the unit tests load it.
            Model::from_smithy_json(PROTON_MODEL)
                .unwrap_or_else(|e| panic!("src/model/proton.json does not load ({e}); regenerate it with scripts/strip-model.py"))
        })
    }

    /// Loads a Smithy JSON AST; the error names the shape or trait at fault.
    pub(crate) fn from_smithy_json(text: &str) -> Result<Self, String> {
        Ok(Self {
            schema: Schema::parse(text)?,
        })
    }

    /// `AwsProton20200720`: the service shape's name, which awsJson1_0 puts
    /// before the operation in `X-Amz-Target`.
    pub fn target_prefix(&self) -> &str {
        &self.schema.service_name
    }

    /// `com.amazonaws.proton.v20200720`, the namespace of error `__type`s.
    pub fn error_namespace(&self) -> &str {
        ERROR_NAMESPACE
    }

    /// Whether `operation` (e.g. `CreateEnvironment`) is in the model.
    pub fn has_operation(&self, operation: &str) -> bool {
        self.schema.operations.contains_key(operation)
    }

    /// Every operation name, sorted.
    pub fn operation_names(&self) -> Vec<&str> {
        self.schema.operations.keys().map(String::as_str).collect()
    }

    /// Checks an operation's input against the model: required members,
    /// types, lengths, patterns, enums, ranges. Unknown members are ignored;
    /// a `null` input counts as `{}`.
    pub fn validate_input(&self, operation: &str, input: &Value) -> Result<(), ValidationError> {
        let Some(op) = self.schema.operations.get(operation) else {
            return Err(ValidationError {
                member: String::new(),
                message: format!(
                    "{operation} is not an operation of {}",
                    self.target_prefix()
                ),
                kind: ValidationKind::UnknownOperation,
            });
        };
        validate::validate(&self.schema, &self.schema.shapes[op.input], input)
    }

    /// Problems with an operation's output against the model (required
    /// members missing, wrong types, unknown members), each as
    /// `$.path: what`; empty when it conforms.
    pub fn check_output(&self, operation: &str, output: &Value) -> Vec<String> {
        match self.schema.operations.get(operation) {
            Some(op) => output::check(&self.schema, &self.schema.shapes[op.output], output),
            None => vec![format!(
                "{operation} is not an operation of {}",
                self.target_prefix()
            )],
        }
    }

    /// (operation, member) pairs marked `idempotencyToken`, sorted.
    pub fn idempotency_token_members(&self) -> Vec<(String, String)> {
        self.schema.token_members.clone()
    }

    /// Names of members whose target is a timestamp shape, in any shape of
    /// the model (e.g. `createdAt`, `lastDeploymentAttemptedAt`), sorted.
    pub fn timestamp_member_names(&self) -> Vec<String> {
        self.schema.timestamp_members.clone()
    }

    /// The top-level members of an operation's input, in name order; empty
    /// for an unknown operation.
    pub fn input_member_names(&self, operation: &str) -> Vec<&str> {
        let Some(op) = self.schema.operations.get(operation) else {
            return Vec::new();
        };
        match &self.schema.shapes[op.input].kind {
            shapes::Kind::Structure(members) => members.iter().map(|m| m.name.as_str()).collect(),
            _ => Vec::new(),
        }
    }

    /// The errors an operation declares (short names such as
    /// `ConflictException`); empty for an unknown operation.
    pub fn operation_errors(&self, operation: &str) -> Vec<&str> {
        self.schema
            .operations
            .get(operation)
            .map(|op| op.errors.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// Whether `name` (`ValidationException`, or a full shape id) is an
    /// error shape of the model.
    pub fn is_error_shape(&self, name: &str) -> bool {
        self.schema
            .shapes
            .iter()
            .any(|s| s.is_error && (s.id == name || short_name(&s.id) == name))
    }
}

/// Members the model marks as idempotency tokens, as matcher token paths.
pub fn proton_token_paths() -> Vec<TokenPath> {
    Model::proton()
        .idempotency_token_members()
        .into_iter()
        .map(|(operation, member)| TokenPath {
            operation: Some(operation),
            members: vec![member],
        })
        .collect()
}

#[cfg(test)]
mod tests;
