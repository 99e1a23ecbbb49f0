//! The AWS Proton service model, stripped to shapes, traits and constraints.
//! (Being replaced by the model-driven version.)

use crate::matcher::TokenPath;

/// Members the model marks as idempotency tokens, as matcher token paths.
pub fn proton_token_paths() -> Vec<TokenPath> {
    [
        "CreateEnvironmentTemplateVersion",
        "CreateServiceTemplateVersion",
        "CreateEnvironmentAccountConnection",
        "CreateComponent",
        "CreateServiceInstance",
        "UpdateComponent",
        "UpdateServiceInstance",
    ]
    .iter()
    .map(|op| TokenPath {
        operation: Some(op.to_string()),
        members: vec!["clientToken".to_string()],
    })
    .collect()
}
