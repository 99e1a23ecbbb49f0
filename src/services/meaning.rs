//! Which request headers change the answer of a REST call, by the model.
//!
//! A restJson or restXml operation binds some input members to headers
//! (`Range`, `If-None-Match`, `x-amz-copy-source-range`,
//! `x-amz-checksum-mode`). Those members are part of the call like any body
//! member and take part in matching, except where the member's role makes
//! its value differ between clients making the same call ([`HeaderUse`]):
//! idempotency tokens (bound instead), digests of the body and the choice of
//! one (the body is compared itself), how the body travels (length, type,
//! encoding: SDKs fill these in their own way), the tracing context a
//! runtime adds, and secrets (never recorded as sent).
//!
//! [`header_index`] answers, per request and header name, whether the
//! header counts: a recorded request names no service, so the operations
//! that bind the header are the candidates, and the one whose method and
//! URI template fit the request best decides. The index holds only header
//! names compared somewhere, so a request's other headers cost one hash
//! lookup each.

use super::{HeaderMember, HeaderRole, Operation, UriTemplate, facts};
use std::collections::HashMap;
use std::sync::OnceLock;

/// Why a header-bound member does or does not take part in matching.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderUse {
    /// It changes the answer: compared.
    Compared,
    /// An idempotency token: bound to the recorded one, not compared.
    Token,
    /// A digest of the body or the choice of one (`x-amz-checksum-crc32`,
    /// `x-amz-sdk-checksum-algorithm`, `Content-MD5`): SDKs compute them as
    /// they see fit, and the body they cover is compared.
    Checksum,
    /// How the body travels ([`TRANSPORT_HEADERS`]): SDKs set these for
    /// every call, each its own way (the JS SDK v3 sends a default
    /// `Content-Type`, the AWS CLI guesses one from the file name), and the
    /// body is compared.
    Transport,
    /// Set by the client's runtime, not by the caller ([`RUNTIME_HEADERS`]).
    Runtime,
    /// A secret or a digest of one (SSE-C keys): the recorder never writes
    /// it, so a recorded request cannot be compared on it.
    Secret,
}

/// Headers that say how a body travels, not what the call asks.
pub const TRANSPORT_HEADERS: &[&str] = &[
    "content-length",
    "content-type",
    "content-encoding",
    "transfer-encoding",
    "expect",
    "accept-encoding",
];

/// Headers a client's runtime adds whatever the caller asked: tracing
/// context and user agents.
pub const RUNTIME_HEADERS: &[&str] = &[
    "x-amzn-trace-id",
    "traceparent",
    "tracestate",
    "baggage",
    "user-agent",
    "x-amz-user-agent",
];

impl Operation {
    /// Whether a header-bound member of this operation takes part in
    /// matching, and if not, why.
    pub fn header_use(&self, member: &HeaderMember) -> HeaderUse {
        let header = member.header.to_ascii_lowercase();
        match member.role {
            HeaderRole::Token => return HeaderUse::Token,
            HeaderRole::Checksum => return HeaderUse::Checksum,
            HeaderRole::Plain => {}
        }
        let sensitive = |name: &str| {
            self.headers.iter().any(|h| {
                h.header.eq_ignore_ascii_case(name)
                    && self
                        .sensitive_input
                        .iter()
                        .any(|p| p.strip_prefix("$.") == Some(h.member.as_str()))
            })
        };
        // `...-key-MD5` is the digest of the sensitive `...-key`.
        let digest_of_secret = header.strip_suffix("-md5").is_some_and(&sensitive);
        if sensitive(&header) || digest_of_secret {
            HeaderUse::Secret
        } else if TRANSPORT_HEADERS.contains(&header.as_str()) {
            HeaderUse::Transport
        } else if RUNTIME_HEADERS.contains(&header.as_str()) {
            HeaderUse::Runtime
        } else {
            HeaderUse::Compared
        }
    }

    /// The header-bound members that take part in matching.
    pub fn compared_headers(&self) -> impl Iterator<Item = &HeaderMember> {
        self.headers
            .iter()
            .filter(|h| self.header_use(h) == HeaderUse::Compared)
    }
}

/// One rest operation binding a header.
struct Binding {
    method: &'static str,
    template: &'static UriTemplate,
    compared: bool,
}

/// Header names (lower case) compared by some rest operation, with every
/// rest operation that binds them.
pub struct HeaderIndex {
    exact: HashMap<String, Vec<Binding>>,
    /// Map members bound to every header with a prefix (`x-amz-meta-`).
    prefixes: Vec<(String, Vec<Binding>)>,
}

/// The index over the built-in table, made on first use.
pub fn header_index() -> &'static HeaderIndex {
    static INDEX: OnceLock<HeaderIndex> = OnceLock::new();
    INDEX.get_or_init(|| HeaderIndex::of(facts().services().iter().flat_map(|s| s.operations())))
}

impl HeaderIndex {
    fn of(operations: impl Iterator<Item = &'static Operation>) -> Self {
        let mut exact: HashMap<String, Vec<Binding>> = HashMap::new();
        let mut prefixes: Vec<(String, Vec<Binding>)> = Vec::new();
        for op in operations {
            let Some((method, template)) = op.http.as_ref() else {
                continue;
            };
            let method: &'static str = method.as_str();
            for member in &op.headers {
                let binding = Binding {
                    method,
                    template,
                    compared: op.header_use(member) == HeaderUse::Compared,
                };
                let name = member.header.to_ascii_lowercase();
                if member.prefix {
                    match prefixes.iter_mut().find(|(p, _)| *p == name) {
                        Some((_, all)) => all.push(binding),
                        None => prefixes.push((name, vec![binding])),
                    }
                } else {
                    exact.entry(name).or_default().push(binding);
                }
            }
        }
        let somewhere = |all: &Vec<Binding>| all.iter().any(|b| b.compared);
        exact.retain(|_, all| somewhere(all));
        prefixes.retain(|(_, all)| somewhere(all));
        Self { exact, prefixes }
    }

    /// The rest operations that bind the header `name` (lower case), when
    /// some operation compares it: a header without any never counts, so
    /// most headers are passed over with this one lookup.
    pub fn bindings(&self, name: &str) -> Option<HeaderBindings<'_>> {
        let all = match self.exact.get(name) {
            Some(all) => all,
            None => {
                &self
                    .prefixes
                    .iter()
                    .find(|(p, _)| name.starts_with(p.as_str()))?
                    .1
            }
        };
        Some(HeaderBindings(all))
    }
}

/// The rest operations binding one header (see [`HeaderIndex::bindings`]).
pub struct HeaderBindings<'a>(&'a [Binding]);

impl HeaderBindings<'_> {
    /// Whether the best fitting of these operations for a request compares
    /// the header.
    pub fn compared(&self, method: &str, path: &str, query: &str) -> bool {
        self.0
            .iter()
            .filter(|b| b.method.eq_ignore_ascii_case(method))
            .filter_map(|b| Some((b.template.score(path, query)?, b.compared)))
            .max()
            .is_some_and(|(_, compared)| compared)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uses(service: &str, operation: &str) -> Vec<(String, HeaderUse)> {
        let op = facts()
            .service(service)
            .and_then(|s| s.operation(operation))
            .unwrap_or_else(|| panic!("{service} {operation} is in the table"));
        op.header_members()
            .iter()
            .map(|h| (h.header.to_ascii_lowercase(), op.header_use(h)))
            .collect()
    }

    fn use_of(service: &str, operation: &str, header: &str) -> HeaderUse {
        uses(service, operation)
            .into_iter()
            .find(|(h, _)| h == header)
            .unwrap_or_else(|| panic!("{service} {operation} binds {header}"))
            .1
    }

    #[test]
    fn s3_compares_what_changes_the_answer_and_not_what_sdks_fill_in() {
        use HeaderUse::*;
        for (op, header, expected) in [
            ("GetObject", "range", Compared),
            ("GetObject", "if-none-match", Compared),
            ("GetObject", "if-modified-since", Compared),
            ("GetObject", "x-amz-checksum-mode", Compared),
            ("HeadObject", "x-amz-checksum-mode", Compared),
            (
                "GetObject",
                "x-amz-server-side-encryption-customer-algorithm",
                Compared,
            ),
            (
                "GetObject",
                "x-amz-server-side-encryption-customer-key",
                Secret,
            ),
            (
                "GetObject",
                "x-amz-server-side-encryption-customer-key-md5",
                Secret,
            ),
            ("UploadPartCopy", "x-amz-copy-source", Compared),
            ("UploadPartCopy", "x-amz-copy-source-range", Compared),
            (
                "UploadPartCopy",
                "x-amz-copy-source-server-side-encryption-customer-key-md5",
                Secret,
            ),
            ("CopyObject", "x-amz-metadata-directive", Compared),
            ("PutObject", "x-amz-sdk-checksum-algorithm", Checksum),
            ("PutObject", "x-amz-checksum-crc32", Checksum),
            ("PutObject", "x-amz-checksum-sha256", Checksum),
            ("PutObject", "content-md5", Checksum),
            ("PutObject", "content-type", Transport),
            ("PutObject", "content-length", Transport),
            ("PutObject", "content-encoding", Transport),
            ("PutObject", "if-none-match", Compared),
            ("PutObject", "x-amz-meta-", Compared),
            ("PutObject", "x-amz-storage-class", Compared),
            (
                "CreateMultipartUpload",
                "x-amz-checksum-algorithm",
                Checksum,
            ),
            ("CreateMultipartUpload", "x-amz-checksum-type", Checksum),
            ("CompleteMultipartUpload", "x-amz-checksum-crc32", Checksum),
        ] {
            assert_eq!(use_of("s3", op, header), expected, "{op} {header}");
        }
    }

    #[test]
    fn other_services_by_the_same_rules() {
        use HeaderUse::*;
        // An idempotency token bound to a header (restJson) is bound, not
        // compared; a header the model does not mark as one is compared.
        assert_eq!(
            use_of("mediapackagev2", "CreateChannel", "x-amzn-client-token"),
            Token
        );
        assert_eq!(
            use_of("greengrass", "CreateGroup", "x-amzn-client-token"),
            Compared
        );
        // Lambda: how and with what the function runs changes the answer.
        assert_eq!(
            use_of("lambda", "Invoke", "x-amz-invocation-type"),
            Compared
        );
        assert_eq!(use_of("lambda", "Invoke", "x-amz-log-type"), Compared);
        // Glacier: the SDK computes the tree hash of the body.
        assert_eq!(
            use_of("glacier", "UploadArchive", "x-amz-sha256-tree-hash"),
            Checksum
        );
        assert_eq!(
            use_of("glacier", "UploadArchive", "x-amz-archive-description"),
            Compared
        );
        // Bedrock: the caller's answer format counts, the tracing context a
        // runtime adds does not.
        assert_eq!(use_of("bedrock-runtime", "InvokeModel", "accept"), Compared);
        assert_eq!(
            use_of("bedrock-runtime", "InvokeModel", "content-type"),
            Transport
        );
        let traced: Vec<_> = facts()
            .services()
            .iter()
            .flat_map(|s| s.operations())
            .flat_map(|op| op.header_members().iter().map(move |h| (op, h)))
            .filter(|(_, h)| {
                ["traceparent", "x-amzn-trace-id"]
                    .iter()
                    .any(|n| h.header.eq_ignore_ascii_case(n))
            })
            .map(|(op, h)| op.header_use(h))
            .collect();
        assert!(!traced.is_empty());
        assert!(traced.iter().all(|u| *u == Runtime), "{traced:?}");
    }

    #[test]
    fn the_index_decides_by_the_operation_a_request_fits() {
        let index = header_index();
        let compares = |method, path, query, name| {
            index
                .bindings(name)
                .is_some_and(|bindings| bindings.compared(method, path, query))
        };
        assert!(compares("GET", "/photos/cat.jpg", "", "range"));
        assert!(compares(
            "HEAD",
            "/photos/cat.jpg",
            "",
            "x-amz-checksum-mode"
        ));
        assert!(compares(
            "PUT",
            "/photos/part",
            "partNumber=2&uploadId=u",
            "x-amz-copy-source-range"
        ));
        assert!(compares("PUT", "/photos/cat.jpg", "", "x-amz-meta-colour"));
        // Bound, but not compared: never in the index.
        for name in [
            "x-amz-sdk-checksum-algorithm",
            "x-amz-checksum-crc32",
            "content-type",
            "content-md5",
        ] {
            assert!(index.bindings(name).is_none(), "{name}");
            assert!(!compares("PUT", "/photos/cat.jpg", "", name), "{name}");
        }
        // No operation binds it.
        assert!(index.bindings("amz-sdk-invocation-id").is_none());
        // Bound by some operation, but not by one that fits this request:
        // Lambda's Invoke binds X-Amz-Log-Type; a GET of a function does not.
        assert!(compares(
            "POST",
            "/2015-03-31/functions/f/invocations",
            "",
            "x-amz-log-type"
        ));
        assert!(!compares(
            "GET",
            "/2015-03-31/functions/f",
            "",
            "x-amz-log-type"
        ));
    }
}
