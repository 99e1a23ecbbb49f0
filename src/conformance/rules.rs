//! The idempotency contract of the AWS Proton API Reference ("Ensuring
//! Idempotency" on its Welcome page): which operations each group of rules
//! covers, and what each rule says, plus the operations whose client token
//! only the models mark. Reports lead with a verdict for every rule and
//! operation here, tested or not; a cassette may also name rules outside
//! this table, which are reported after it.

/// A group of operations that share rules.
#[derive(Clone, Copy, Debug)]
pub struct RuleGroup {
    pub id: &'static str,
    pub operations: &'static [&'static str],
    /// `(rule, what it says)`.
    pub rules: &'static [(&'static str, &'static str)],
}

/// The contract, in the order the API Reference lists it.
pub const CONTRACT: &[RuleGroup] = &[
    RuleGroup {
        id: "client-token-create",
        operations: &[
            "CreateEnvironmentTemplateVersion",
            "CreateServiceTemplateVersion",
            "CreateEnvironmentAccountConnection",
        ],
        rules: &[
            (
                "same-parameters",
                "same token and parameters: the original resource, nothing else done",
            ),
            (
                "different-parameters",
                "same token, other parameters: ValidationException (IdempotentParameterMismatch)",
            ),
            (
                "token-expired",
                "a token is good for 8 hours; after that the same request creates a new resource",
            ),
            (
                "retry-after-delete",
                "once the original resource is deleted, a retry creates a new one",
            ),
        ],
    },
    RuleGroup {
        id: "idempotent-create",
        operations: &[
            "CreateEnvironmentTemplate",
            "CreateServiceTemplate",
            "CreateEnvironment",
            "CreateService",
        ],
        rules: &[
            (
                "same-parameters",
                "resource not modified: the original resource, nothing else done",
            ),
            (
                "resource-modified",
                "resource modified since: ConflictException",
            ),
            (
                "different-parameters",
                "other parameters: ValidationException (IdempotentParameterMismatch)",
            ),
        ],
    },
    RuleGroup {
        id: "idempotent-delete",
        operations: &[
            "DeleteEnvironmentTemplate",
            "DeleteEnvironmentTemplateVersion",
            "DeleteServiceTemplate",
            "DeleteServiceTemplateVersion",
            "DeleteEnvironmentAccountConnection",
        ],
        rules: &[
            (
                "retry-returns-metadata",
                "retry of a delete: success with the deleted resource's metadata",
            ),
            (
                "retry-returns-empty",
                "retry once the resource no longer exists: success with an empty response",
            ),
        ],
    },
    RuleGroup {
        id: "async-delete",
        operations: &["DeleteEnvironment", "DeleteService"],
        rules: &[
            (
                "retry-in-progress",
                "retry while DELETE_IN_PROGRESS: the resource's details, nothing else done",
            ),
            (
                "retry-after-completion",
                "retry once the delete completed: an empty response",
            ),
        ],
    },
];

/// Operations whose `clientToken` the service models mark as an idempotency
/// token (Smithy's `idempotencyToken` trait), which the Welcome page's lists
/// leave out. Their rule is the contract's first one, which the trait and the
/// page's definition of idempotency imply; reports show them after the
/// contract.
pub const MODEL_TOKENS: RuleGroup = RuleGroup {
    id: "client-token-model",
    operations: &[
        "CreateServiceInstance",
        "UpdateServiceInstance",
        "CreateComponent",
        "UpdateComponent",
    ],
    rules: &[(
        "same-parameters",
        "same token and parameters: the original answer, no second resource or deployment (the models' idempotency token)",
    )],
};

/// Every group reports show: the contract's, then the models' tokens.
pub fn groups() -> impl Iterator<Item = &'static RuleGroup> {
    CONTRACT.iter().chain(std::iter::once(&MODEL_TOKENS))
}

/// Where the contract is published.
pub const CONTRACT_SOURCE: &str =
    "AWS Proton API Reference, Welcome page, \"Ensuring Idempotency\"";

/// What the contract says for `group/rule`, if it is one of its rules.
pub fn describe(id: &str) -> Option<&'static str> {
    let (group, rule) = id.split_once('/')?;
    groups()
        .find(|g| g.id == group)?
        .rules
        .iter()
        .find(|(r, _)| *r == rule)
        .map(|(_, says)| *says)
}
