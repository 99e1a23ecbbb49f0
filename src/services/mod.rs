//! Service facts: what the tool knows about every AWS service, taken from
//! botocore's models by `scripts/gen-service-facts.py` into `facts.txt` and
//! built into the binary.
//!
//! Per service: its signing name (the service in a SigV4 scope), endpoint
//! prefix, protocols, JSON target prefix, and its endpoints per partition
//! (`aws`, `aws-cn`, `aws-us-gov`, the ISO partitions). Per operation: HTTP
//! method and URI template (rest protocols), where its idempotency tokens are,
//! which input members travel in headers or the query string (and under what
//! wire name), and the paths of members the model marks sensitive in its
//! input and output.
//!
//! The API, all read-only over one table parsed on first use:
//!
//! - [`facts()`] the table; [`Facts::service`] by botocore name (`dynamodb`),
//!   [`Facts::by_endpoint_prefix`], [`Facts::by_signing_name`] (several
//!   services can share one, such as `ses` and `sesv2`),
//!   [`Facts::service_of`] the service a request is for (SigV4 scope, then
//!   `X-Amz-Target`).
//! - [`Service::endpoint`] the endpoint for a region: `https://dynamodb.us-east-1.amazonaws.com`,
//!   global services (IAM, Route 53, CloudFront...) at their one global host
//!   with the region they sign for, other partitions with their own DNS
//!   suffix. [`Facts::endpoint_for_scope`] does the same from a SigV4 scope's
//!   service and region, and refuses when the services sharing that signing
//!   name disagree; [`Facts::endpoint_for_request`] tells them apart by the
//!   request (DynamoDB and DynamoDB Streams both sign as `dynamodb`). Only
//!   hosts built from the table come out of these.
//! - [`Service::operation_of`] the operation a request calls: `X-Amz-Target`
//!   for awsJson, `Action` for query/ec2, the RPCv2 CBOR path, or method and
//!   URI template (most specific wins) for restJson/restXml.
//! - [`Operation::tokens`], [`Operation::header_members`] (each with its
//!   [`HeaderRole`] in the model), [`Operation::query_members`],
//!   [`Operation::sensitive_input`], [`Operation::sensitive_output`].
//! - [`Operation::header_use`] whether a header-bound member takes part in
//!   matching, and [`header_index`] which headers of a request do (see
//!   `meaning`).
//!
//! Paths are JSON-path-like, from the body's root and in wire names:
//! `$.Credentials.SecretAccessKey`, `$.Items[*].Value`, `$.Tags.*` (a map's
//! values); `$` means the whole body. For query-protocol outputs (XML), the
//! path starts inside the `<OperationResult>` element.
//!
//! The table adds about 1.9 MB to the binary (uncompressed text: no
//! compression crate is in the dependency set) and parses in a few
//! milliseconds on first use; see docs/services.md for the measurements.

mod meaning;
mod table;
#[cfg(test)]
mod tests;
mod uri;

use std::collections::HashMap;
use std::sync::OnceLock;

pub use meaning::{HeaderIndex, HeaderUse, header_index};
pub use uri::UriTemplate;

/// The generated table, built into the binary.
const FACTS: &str = include_str!("facts.txt");

/// The wire protocol of a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// awsJson 1.0/1.1: `POST /` with `X-Amz-Target: Prefix.Operation`.
    Json,
    RestJson,
    RestXml,
    /// awsQuery: form-encoded `Action=Operation`, XML answers.
    Query,
    /// The EC2 variant of awsQuery.
    Ec2,
    /// Smithy RPC v2 CBOR: `POST /service/Name/operation/Operation`.
    RpcV2Cbor,
}

impl Protocol {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "json" => Self::Json,
            "rest-json" => Self::RestJson,
            "rest-xml" => Self::RestXml,
            "query" => Self::Query,
            "ec2" => Self::Ec2,
            "smithy-rpc-v2-cbor" => Self::RpcV2Cbor,
            _ => return None,
        })
    }

    /// Whether operations are told apart by method and URI.
    pub fn is_rest(self) -> bool {
        matches!(self, Self::RestJson | Self::RestXml)
    }
}

/// An AWS partition: a set of regions under one DNS suffix.
#[derive(Debug)]
pub struct Partition {
    /// `aws`, `aws-cn`, `aws-us-gov`, ...
    pub name: String,
    /// `amazonaws.com`, `amazonaws.com.cn`, ...
    pub dns_suffix: String,
    region_regex: Option<regex::Regex>,
    hostname_template: String,
    regions: Vec<String>,
}

impl Partition {
    /// Whether a region belongs to this partition (listed, or matching its
    /// naming pattern).
    pub fn contains(&self, region: &str) -> bool {
        self.regions.iter().any(|r| r == region)
            || self
                .region_regex
                .as_ref()
                .is_some_and(|re| re.is_match(region))
    }
}

/// How a service is reached in one partition, where it differs from
/// `{service}.{region}.{dnsSuffix}`.
#[derive(Debug, Default)]
struct PartitionEndpoints {
    /// The service's own hostname template.
    template: Option<String>,
    /// A global service: its one host and the region it signs for.
    global: Option<(String, String)>,
    /// Regions with their own host: region -> (host, signing region).
    regions: HashMap<String, (String, String)>,
}

/// Where to send a request for a service in a region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// `https://` and the host: `https://iam.amazonaws.com`.
    pub url: String,
    /// The host alone: `iam.amazonaws.com`.
    pub host: String,
    /// The region to sign for (`us-east-1` for IAM whatever the client's region).
    pub signing_region: String,
    /// The partition the region belongs to.
    pub partition: String,
}

/// Where an idempotency token travels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenLocation {
    /// A JSON body member, as a path from the root (`$.ClientRequestToken`).
    Body(String),
    /// A header (`X-Amzn-Client-Token`).
    Header(String),
    /// A query-string parameter (`clientToken`).
    Query(String),
}

/// An input member bound to a header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderMember {
    /// The member's name in the model (`Range`).
    pub member: String,
    /// The header's name as the model spells it (`Range`,
    /// `x-amz-server-side-encryption-customer-key`); compare case-insensitively.
    pub header: String,
    /// A map member whose keys are appended to `header` (`x-amz-meta-`).
    pub prefix: bool,
    /// Whether every call carries it (`x-amz-copy-source` of UploadPartCopy).
    pub required: bool,
    /// What the model says the member is for.
    pub role: HeaderRole,
}

/// What a header-bound member is for, as the model tells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderRole {
    /// An input like any other.
    Plain,
    /// An idempotency token.
    Token,
    /// A digest of the body (`x-amz-checksum-crc32`, `Content-MD5`) or the
    /// choice of one (`x-amz-sdk-checksum-algorithm`, the httpChecksum
    /// trait's algorithm member and members of its shape).
    Checksum,
}

/// An input member bound to a query-string parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryMember {
    pub member: String,
    /// The parameter's name on the wire (`max-keys`).
    pub name: String,
    /// Whether every call carries it (`uploadId` of S3 ListParts).
    pub required: bool,
}

/// One operation of a service.
#[derive(Debug)]
pub struct Operation {
    pub name: String,
    /// HTTP method and URI template, for rest protocols.
    pub http: Option<(String, UriTemplate)>,
    tokens: Vec<TokenLocation>,
    headers: Vec<HeaderMember>,
    query: Vec<QueryMember>,
    sensitive_input: Vec<String>,
    sensitive_output: Vec<String>,
    sensitive_input_shapes: Vec<ShapeType>,
    sensitive_output_shapes: Vec<ShapeType>,
}

/// The kind of value a sensitive member holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShapeType {
    String,
    /// Bytes: base64 in JSON and XML.
    Blob,
    /// A structure, list or map: everything inside is sensitive.
    Aggregate,
    /// A number, boolean or timestamp.
    Scalar,
}

impl ShapeType {
    fn parse(text: &str) -> Self {
        match text {
            "blob" => Self::Blob,
            "structure" | "list" | "map" => Self::Aggregate,
            "string" => Self::String,
            _ => Self::Scalar,
        }
    }
}

impl Operation {
    /// Where the operation's idempotency tokens are.
    pub fn tokens(&self) -> &[TokenLocation] {
        &self.tokens
    }

    /// The JSON body paths of its idempotency tokens (`$.ClientRequestToken`).
    pub fn body_token_paths(&self) -> impl Iterator<Item = &str> {
        self.tokens.iter().filter_map(|t| match t {
            TokenLocation::Body(path) => Some(path.as_str()),
            _ => None,
        })
    }

    /// Input members that travel in headers.
    pub fn header_members(&self) -> &[HeaderMember] {
        &self.headers
    }

    /// Input members that travel in the query string.
    pub fn query_members(&self) -> &[QueryMember] {
        &self.query
    }

    /// Paths of sensitive input members. A header-bound member appears by its
    /// member name (`$.SSECustomerKey`); see [`Operation::sensitive_headers`].
    pub fn sensitive_input(&self) -> &[String] {
        &self.sensitive_input
    }

    /// Paths of sensitive output members.
    pub fn sensitive_output(&self) -> &[String] {
        &self.sensitive_output
    }

    /// Sensitive input members with the kind of value each holds.
    pub fn sensitive_input_members(&self) -> impl Iterator<Item = (&str, ShapeType)> {
        self.sensitive_input
            .iter()
            .map(String::as_str)
            .zip(self.sensitive_input_shapes.iter().copied())
    }

    /// Sensitive output members with the kind of value each holds.
    pub fn sensitive_output_members(&self) -> impl Iterator<Item = (&str, ShapeType)> {
        self.sensitive_output
            .iter()
            .map(String::as_str)
            .zip(self.sensitive_output_shapes.iter().copied())
    }

    /// Header names (lower case) whose value is a sensitive input member.
    pub fn sensitive_headers(&self) -> impl Iterator<Item = String> + '_ {
        self.headers
            .iter()
            .filter(|h| {
                let path = format!("$.{}", h.member);
                self.sensitive_input.contains(&path)
            })
            .map(|h| h.header.to_ascii_lowercase())
    }
}

/// One AWS service.
#[derive(Debug)]
pub struct Service {
    /// botocore's name for it (`dynamodb`, `secretsmanager`, `s3`).
    pub name: String,
    /// The service in a SigV4 credential scope.
    pub signing_name: String,
    /// The first label of its hostname.
    pub endpoint_prefix: String,
    /// Its protocols, preferred first.
    pub protocols: Vec<Protocol>,
    /// The `X-Amz-Target` prefix of awsJson services (`DynamoDB_20120810`).
    pub target_prefix: Option<String>,
    pub api_version: String,
    endpoints: HashMap<String, PartitionEndpoints>,
    operations: Vec<Operation>,
    by_operation: HashMap<String, usize>,
}

/// What [`Service::operation_of`] needs to know of a request.
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestLine<'a> {
    pub method: &'a str,
    /// The path, without the query string.
    pub path: &'a str,
    /// The raw query string, without `?`.
    pub query: &'a str,
    /// The `X-Amz-Target` header.
    pub target: Option<&'a str>,
    /// The body (for a query protocol's `Action`).
    pub body: &'a [u8],
    /// The headers, to tell apart rest operations that differ only by a
    /// required header (S3 UploadPart and UploadPartCopy).
    pub headers: Option<&'a http::HeaderMap>,
}

impl<'a> RequestLine<'a> {
    /// The parts of a buffered request.
    pub fn of(request: &'a crate::Request) -> Self {
        Self {
            method: request.method.as_str(),
            path: request.uri.path(),
            query: request.uri.query().unwrap_or(""),
            target: request.amz_target(),
            body: &request.body,
            headers: Some(&request.headers),
        }
    }
}

impl Service {
    /// The preferred protocol.
    pub fn protocol(&self) -> Protocol {
        self.protocols.first().copied().unwrap_or(Protocol::Json)
    }

    pub fn operations(&self) -> &[Operation] {
        &self.operations
    }

    /// An operation by its model name (`TransactWriteItems`).
    pub fn operation(&self, name: &str) -> Option<&Operation> {
        self.by_operation.get(name).map(|&i| &self.operations[i])
    }

    /// The endpoint for a region, or `None` when the region belongs to no
    /// known partition.
    pub fn endpoint(&self, region: &str) -> Option<Endpoint> {
        facts().endpoint(self, region)
    }

    /// The operation a request calls, or `None` when it names none of them.
    pub fn operation_of(&self, request: RequestLine<'_>) -> Option<&Operation> {
        if let Some(target) = request.target {
            if let Some((prefix, op)) = target.rsplit_once('.') {
                if self.target_prefix.as_deref() == Some(prefix) {
                    return self.operation(op);
                }
            }
        }
        if let Some(op) = request
            .path
            .strip_prefix("/service/")
            .and_then(|rest| rest.split_once("/operation/"))
            .map(|(_, op)| op)
        {
            if self.protocols.contains(&Protocol::RpcV2Cbor) {
                return self.operation(op);
            }
        }
        if matches!(self.protocol(), Protocol::Query | Protocol::Ec2)
            || self.protocols.contains(&Protocol::Query)
        {
            let action = crate::form::value(request.query, "Action").or_else(|| {
                std::str::from_utf8(request.body)
                    .ok()
                    .and_then(|b| crate::form::value(b, "Action"))
            });
            if let Some(action) = action {
                return self.operation(&action);
            }
        }
        if self.protocol().is_rest() {
            // Reversed so that among equally specific fits the first in the
            // table wins (ListBuckets before ListDirectoryBuckets on `GET /`).
            return self
                .operations
                .iter()
                .rev()
                .filter_map(|op| {
                    let (method, template) = op.http.as_ref()?;
                    if !method.eq_ignore_ascii_case(request.method) {
                        return None;
                    }
                    let has = |name: &str| {
                        request
                            .query
                            .split('&')
                            .any(|p| p.split_once('=').map_or(p, |(k, _)| k) == name)
                    };
                    let required_query = op.query.iter().filter(|q| q.required);
                    if !required_query.clone().all(|q| has(&q.name)) {
                        return None;
                    }
                    let mut required_hits = required_query.count();
                    for h in op.headers.iter().filter(|h| h.required) {
                        match request.headers {
                            Some(map) if map.contains_key(h.header.as_str()) => {
                                required_hits += 1;
                            }
                            Some(_) => return None,
                            None => {}
                        }
                    }
                    template
                        .score(request.path, request.query)
                        .map(|(literals, query, greedy)| {
                            ((literals, query + required_hits, greedy), op)
                        })
                })
                .max_by_key(|(score, _)| *score)
                .map(|(_, op)| op);
        }
        None
    }
}

/// Why [`Facts::endpoint_for_scope`] found no endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EndpointError {
    /// No service signs with that name.
    UnknownService(String),
    /// The region belongs to no known partition.
    UnknownRegion(String),
    /// Services sharing the signing name have different endpoints there.
    Ambiguous(String, Vec<String>),
}

impl std::fmt::Display for EndpointError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnknownService(s) => write!(
                f,
                "no AWS service signs as `{s}`; check the client's credential scope"
            ),
            Self::UnknownRegion(r) => write!(
                f,
                "region `{r}` belongs to no known AWS partition; check the client's region"
            ),
            Self::Ambiguous(s, hosts) => write!(
                f,
                "services signing as `{s}` live at different hosts ({}); pass an explicit upstream",
                hosts.join(", ")
            ),
        }
    }
}

impl std::error::Error for EndpointError {}

/// The whole table.
#[derive(Debug)]
pub struct Facts {
    partitions: Vec<Partition>,
    services: Vec<Service>,
    by_name: HashMap<String, usize>,
    by_prefix: HashMap<String, Vec<usize>>,
    by_signing: HashMap<String, Vec<usize>>,
    by_target: HashMap<String, usize>,
}

/// The built-in table, parsed on first use.
pub fn facts() -> &'static Facts {
    static TABLE: OnceLock<Facts> = OnceLock::new();
    TABLE.get_or_init(|| table::parse(FACTS))
}

impl Facts {
    pub fn services(&self) -> &[Service] {
        &self.services
    }

    pub fn partitions(&self) -> &[Partition] {
        &self.partitions
    }

    /// A service by botocore's name (`dynamodb`, `s3`, `secretsmanager`).
    pub fn service(&self, name: &str) -> Option<&Service> {
        self.by_name.get(name).map(|&i| &self.services[i])
    }

    /// The service whose hosts start with `prefix` (`email` for SES). When
    /// several share it, the one whose name equals the prefix, else the first.
    pub fn by_endpoint_prefix(&self, prefix: &str) -> Option<&Service> {
        let all = self.by_prefix.get(prefix)?;
        all.iter()
            .map(|&i| &self.services[i])
            .find(|s| s.name == prefix)
            .or_else(|| all.first().map(|&i| &self.services[i]))
    }

    /// The services that sign as `name` (the service in a SigV4 scope).
    pub fn by_signing_name(&self, name: &str) -> impl Iterator<Item = &Service> {
        self.by_signing
            .get(name)
            .into_iter()
            .flatten()
            .map(|&i| &self.services[i])
    }

    /// The awsJson service whose `X-Amz-Target` prefix is `prefix`.
    pub fn by_target_prefix(&self, prefix: &str) -> Option<&Service> {
        self.by_target.get(prefix).map(|&i| &self.services[i])
    }

    /// The service a request is for: by `X-Amz-Target` prefix, else among
    /// the services signing as `signing_name` (from the SigV4 scope), the one
    /// with an operation matching the request; with no signing name, a
    /// query-protocol form by its `Action` and `Version`.
    pub fn service_of(
        &self,
        signing_name: Option<&str>,
        request: RequestLine<'_>,
    ) -> Option<&Service> {
        if let Some(service) = request
            .target
            .and_then(|t| t.rsplit_once('.'))
            .and_then(|(prefix, _)| self.by_target_prefix(prefix))
        {
            return Some(service);
        }
        let Some(name) = signing_name else {
            return self.service_of_form(request);
        };
        let mut candidates = self.by_signing_name(name).peekable();
        let first = candidates.peek().copied();
        candidates
            .find(|s| s.operation_of(request).is_some())
            .or(first)
    }

    /// A query-protocol service by the `Action` and `Version` of a form body.
    fn service_of_form(&self, request: RequestLine<'_>) -> Option<&Service> {
        let form = std::str::from_utf8(request.body).ok()?;
        let action = crate::form::value(form, "Action")?;
        let version = crate::form::value(form, "Version")?;
        self.services.iter().find(|s| {
            s.api_version == version
                && s.protocols
                    .iter()
                    .any(|p| matches!(p, Protocol::Query | Protocol::Ec2))
                && s.operation(&action).is_some()
        })
    }

    /// The partition a region belongs to.
    pub fn partition_of(&self, region: &str) -> Option<&Partition> {
        self.partitions.iter().find(|p| p.contains(region))
    }

    /// The endpoint for a SigV4 scope's service and region.
    pub fn endpoint_for_scope(
        &self,
        signing_name: &str,
        region: &str,
    ) -> Result<Endpoint, EndpointError> {
        let mut found: Vec<Endpoint> = Vec::new();
        for service in self.by_signing_name(signing_name) {
            let endpoint = self
                .endpoint(service, region)
                .ok_or_else(|| EndpointError::UnknownRegion(region.to_string()))?;
            if !found.contains(&endpoint) {
                found.push(endpoint);
            }
        }
        match found.len() {
            0 => Err(EndpointError::UnknownService(signing_name.to_string())),
            1 => Ok(found.remove(0)),
            _ => Err(EndpointError::Ambiguous(
                signing_name.to_string(),
                found.into_iter().map(|e| e.host).collect(),
            )),
        }
    }

    /// The endpoint for a request signed for `signing_name` in `region`: the
    /// service is told apart by the request itself where several share the
    /// signing name (DynamoDB and DynamoDB Streams both sign as `dynamodb`).
    pub fn endpoint_for_request(
        &self,
        signing_name: &str,
        region: &str,
        request: RequestLine<'_>,
    ) -> Result<Endpoint, EndpointError> {
        let matching = self
            .by_signing_name(signing_name)
            .find(|s| s.operation_of(request).is_some());
        match matching {
            Some(service) => self
                .endpoint(service, region)
                .ok_or_else(|| EndpointError::UnknownRegion(region.to_string())),
            None => self.endpoint_for_scope(signing_name, region),
        }
    }

    fn endpoint(&self, service: &Service, region: &str) -> Option<Endpoint> {
        if !is_region_name(region) {
            return None;
        }
        let partition = self.partition_of(region)?;
        let rules = service.endpoints.get(&partition.name);
        let make = |host: String, signing_region: String| Endpoint {
            url: format!("https://{host}"),
            host,
            signing_region,
            partition: partition.name.clone(),
        };
        if let Some(rules) = rules {
            if let Some((host, signing)) = &rules.global {
                let signing = if signing == "-" { region } else { signing };
                return Some(make(host.clone(), signing.to_string()));
            }
            if let Some((host, signing)) = rules.regions.get(region) {
                return Some(make(host.clone(), signing.clone()));
            }
        }
        let template = rules
            .and_then(|r| r.template.as_deref())
            .unwrap_or(&partition.hostname_template);
        let host = template
            .replace("{service}", &service.endpoint_prefix)
            .replace("{region}", region)
            .replace("{dnsSuffix}", &partition.dns_suffix);
        Some(make(host, region.to_string()))
    }
}

/// Only `[a-z0-9-]` names can become a host label: a region from a client's
/// scope never injects anything else into a hostname.
fn is_region_name(region: &str) -> bool {
    !region.is_empty()
        && region.len() <= 32
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}
