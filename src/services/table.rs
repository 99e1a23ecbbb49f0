//! Parses `facts.txt`: tab-separated lines, one kind letter first.
//!
//! ```text
//! P partition dnsSuffix regionRegex hostnameTemplate regions(,)
//! S name signingName endpointPrefix protocols(,) targetPrefix apiVersion
//! G partition hostname signingRegion        a global service in that partition
//! D partition hostnameTemplate              the service's own template
//! X partition region hostname signingRegion one region with its own host
//! O operation method uri                    '-' for RPC protocols
//! T $.Member | header:Name | query:name     an idempotency token
//! H member headerName required|- role     headerName* = prefix map;
//!                                         role: token | checksum | -
//! Q member queryName required|-
//! I path shapeType                         a sensitive input member
//! R path shapeType                         a sensitive output member
//! ```
//!
//! G/D/X lines follow their S line; T/H/Q/I/R lines follow their O line.
//! A line that does not fit is skipped: the file is generated, and a test
//! checks that every line of the built-in one is taken.

use super::{
    Facts, HeaderMember, HeaderRole, Operation, Partition, PartitionEndpoints, Protocol,
    QueryMember, Service, ShapeType, TokenLocation, UriTemplate,
};

pub(super) fn parse(text: &str) -> Facts {
    parse_counting(text).0
}

/// The table and the number of lines that were not understood.
pub(super) fn parse_counting(text: &str) -> (Facts, usize) {
    let mut facts = Facts {
        partitions: Vec::new(),
        services: Vec::new(),
        by_name: Default::default(),
        by_prefix: Default::default(),
        by_signing: Default::default(),
        by_target: Default::default(),
    };
    let mut skipped = 0;
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        if !take(&mut facts, &fields) {
            skipped += 1;
        }
    }
    for service in &mut facts.services {
        service.by_operation = service
            .operations
            .iter()
            .enumerate()
            .map(|(i, op)| (op.name.clone(), i))
            .collect();
    }
    for (i, service) in facts.services.iter().enumerate() {
        facts.by_name.insert(service.name.clone(), i);
        facts
            .by_prefix
            .entry(service.endpoint_prefix.clone())
            .or_default()
            .push(i);
        facts
            .by_signing
            .entry(service.signing_name.clone())
            .or_default()
            .push(i);
        if let Some(prefix) = &service.target_prefix {
            facts.by_target.entry(prefix.clone()).or_insert(i);
        }
    }
    (facts, skipped)
}

fn dash(text: &str) -> Option<String> {
    (text != "-").then(|| text.to_string())
}

fn take(facts: &mut Facts, fields: &[&str]) -> bool {
    let service = facts.services.last_mut();
    match *fields {
        ["P", name, suffix, regex, template, regions] => {
            facts.partitions.push(Partition {
                name: name.to_string(),
                dns_suffix: suffix.to_string(),
                region_regex: regex::Regex::new(regex).ok(),
                hostname_template: template.to_string(),
                regions: regions.split(',').map(str::to_string).collect(),
            });
        }
        ["S", name, signing, prefix, protocols, target, version] => {
            facts.services.push(Service {
                name: name.to_string(),
                signing_name: signing.to_string(),
                endpoint_prefix: prefix.to_string(),
                protocols: protocols.split(',').filter_map(Protocol::parse).collect(),
                target_prefix: dash(target),
                api_version: version.to_string(),
                endpoints: Default::default(),
                operations: Vec::new(),
                by_operation: Default::default(),
            });
        }
        ["G", partition, host, region] => {
            let Some(service) = service else { return false };
            service
                .endpoints
                .entry(partition.to_string())
                .or_insert_with(PartitionEndpoints::default)
                .global = Some((host.to_string(), region.to_string()));
        }
        ["D", partition, template] => {
            let Some(service) = service else { return false };
            service
                .endpoints
                .entry(partition.to_string())
                .or_insert_with(PartitionEndpoints::default)
                .template = Some(template.to_string());
        }
        ["X", partition, region, host, signing] => {
            let Some(service) = service else { return false };
            service
                .endpoints
                .entry(partition.to_string())
                .or_insert_with(PartitionEndpoints::default)
                .regions
                .insert(region.to_string(), (host.to_string(), signing.to_string()));
        }
        ["O", name, method, uri] => {
            let Some(service) = service else { return false };
            let http = match (dash(method), dash(uri)) {
                (Some(method), Some(uri)) => Some((method, UriTemplate::parse(&uri))),
                _ => None,
            };
            service.operations.push(Operation {
                name: name.to_string(),
                http,
                tokens: Vec::new(),
                headers: Vec::new(),
                query: Vec::new(),
                sensitive_input: Vec::new(),
                sensitive_output: Vec::new(),
                sensitive_input_shapes: Vec::new(),
                sensitive_output_shapes: Vec::new(),
            });
        }
        [kind, ..] => {
            let Some(op) = service.and_then(|s| s.operations.last_mut()) else {
                return false;
            };
            return take_member(op, kind, &fields[1..]);
        }
        [] => return false,
    }
    true
}

fn take_member(op: &mut Operation, kind: &str, fields: &[&str]) -> bool {
    match (kind, fields) {
        ("T", [location]) => {
            let token = if let Some(name) = location.strip_prefix("header:") {
                TokenLocation::Header(name.to_string())
            } else if let Some(name) = location.strip_prefix("query:") {
                TokenLocation::Query(name.to_string())
            } else if location.starts_with('$') {
                TokenLocation::Body(location.to_string())
            } else {
                return false;
            };
            op.tokens.push(token);
        }
        ("H", [member, header, required, role]) => {
            let role = match *role {
                "token" => HeaderRole::Token,
                "checksum" => HeaderRole::Checksum,
                "-" => HeaderRole::Plain,
                _ => return false,
            };
            let (header, prefix) = match header.strip_suffix('*') {
                Some(head) => (head, true),
                None => (*header, false),
            };
            op.headers.push(HeaderMember {
                member: member.to_string(),
                header: header.to_string(),
                prefix,
                required: *required == "required",
                role,
            });
        }
        ("Q", [member, name, required]) => op.query.push(QueryMember {
            member: member.to_string(),
            name: name.to_string(),
            required: *required == "required",
        }),
        ("I", [path, shape]) => {
            op.sensitive_input.push(path.to_string());
            op.sensitive_input_shapes.push(ShapeType::parse(shape));
        }
        ("R", [path, shape]) => {
            op.sensitive_output.push(path.to_string());
            op.sensitive_output_shapes.push(ShapeType::parse(shape));
        }
        _ => return false,
    }
    true
}
