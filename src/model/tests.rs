//! The embedded Proton model: every operation resolves, validation speaks
//! AWS's words, output checks name their paths, the committed `proton.json`
//! is in the layout `scripts/strip-model.py` writes, and the script strips a
//! model (a small one in `testdata/`) to the traits that matter on the wire.

use super::shapes::Kind;
use super::*;
use serde_json::json;
use std::path::Path;

fn proton() -> &'static Model {
    Model::proton()
}

fn invalid(operation: &str, input: Value) -> ValidationError {
    invalid_ref(operation, &input)
}

fn invalid_ref(operation: &str, input: &Value) -> ValidationError {
    match proton().validate_input(operation, input) {
        Ok(()) => panic!("{operation} accepted {input}"),
        Err(e) => e,
    }
}

fn one_violation(member: &str, shown: &str, constraint: &str) -> ValidationError {
    ValidationError {
        member: member.to_string(),
        message: format!(
            "1 validation error detected: Value{shown} at '{member}' failed to satisfy constraint: {constraint}"
        ),
        kind: ValidationKind::Constraint,
    }
}

/// Drops a deeply nested value level by level: the recursive `Drop` of
/// `serde_json::Value` would overflow the test's stack on its own.
fn dismantle(v: Value) {
    let mut pending = vec![v];
    while let Some(v) = pending.pop() {
        match v {
            Value::Array(items) => pending.extend(items),
            Value::Object(map) => pending.extend(map.into_iter().map(|(_, x)| x)),
            _ => {}
        }
    }
}

/// `leaf` inside `depth` objects `{key: ...}`, each around a one-item list
/// when `through_lists`. Built without `json!`, which copies its arguments
/// recursively.
fn nested(depth: usize, key: &str, through_lists: bool, leaf: Value) -> Value {
    (0..depth).fold(leaf, |inner, _| {
        let inner = if through_lists {
            Value::Array(vec![inner])
        } else {
            inner
        };
        Value::Object([(key.to_string(), inner)].into_iter().collect())
    })
}

fn with_member(mut object: Value, key: &str, value: Value) -> Value {
    if let Value::Object(map) = &mut object {
        map.insert(key.to_string(), value);
    }
    object
}

#[test]
fn every_operation_resolves_an_input_and_an_output_structure() {
    let model = proton();
    let names = model.operation_names();
    assert_eq!(names.len(), 87, "botocore lists 87 Proton operations");
    for name in names {
        let op = &model.schema.operations[name];
        for (what, shape) in [("input", op.input), ("output", op.output)] {
            let shape = &model.schema.shapes[shape];
            assert!(
                matches!(shape.kind, Kind::Structure(_)),
                "{name} {what} {} is not a structure",
                shape.id
            );
        }
        assert!(model.has_operation(name));
        assert!(
            model
                .operation_errors(name)
                .contains(&"ValidationException"),
            "{name}"
        );
    }
    assert!(!model.has_operation("CreateWidget"));
}

#[test]
fn service_names_come_from_the_model_and_the_wire() {
    assert_eq!(proton().target_prefix(), "AwsProton20200720");
    assert_eq!(proton().error_namespace(), "com.amazonaws.proton.v20200720");
}

#[test]
fn token_members_are_the_seven_documented_client_tokens() {
    let expected = [
        "CreateComponent",
        "CreateEnvironmentAccountConnection",
        "CreateEnvironmentTemplateVersion",
        "CreateServiceInstance",
        "CreateServiceTemplateVersion",
        "UpdateComponent",
        "UpdateServiceInstance",
    ];
    let members = proton().idempotency_token_members();
    let expected_pairs: Vec<(String, String)> = expected
        .iter()
        .map(|op| (op.to_string(), "clientToken".to_string()))
        .collect();
    assert_eq!(members, expected_pairs);

    let paths = proton_token_paths();
    assert_eq!(paths.len(), 7);
    assert!(paths.iter().all(|p| p.members == ["clientToken"]));
    assert!(
        paths
            .iter()
            .any(|p| p.applies_to("AwsProton20200720.UpdateServiceInstance"))
    );
    assert!(
        !paths
            .iter()
            .any(|p| p.applies_to("AwsProton20200720.CreateEnvironment"))
    );
}

#[test]
fn timestamp_members_include_those_conformance_normalises() {
    let names = proton().timestamp_member_names();
    for name in [
        "createdAt",
        "lastModifiedAt",
        "requestedAt",
        "lastDeploymentAttemptedAt",
        "lastDeploymentSucceededAt",
    ] {
        assert!(
            names.iter().any(|n| n == name),
            "{name} missing from {names:?}"
        );
    }
    assert!(!names.iter().any(|n| n == "name"));
    assert!(names.windows(2).all(|w| w[0] < w[1]), "sorted and unique");
}

#[test]
fn small_queries_answer_from_the_model() {
    let model = proton();
    assert!(model.is_error_shape("ValidationException"));
    assert!(model.is_error_shape("com.amazonaws.proton#ConflictException"));
    assert!(!model.is_error_shape("EnvironmentTemplate"));
    assert_eq!(
        model.input_member_names("CreateEnvironmentTemplate"),
        [
            "description",
            "displayName",
            "encryptionKey",
            "name",
            "provisioning",
            "tags"
        ]
    );
    assert!(model.input_member_names("CreateWidget").is_empty());
}

#[test]
fn realistic_inputs_pass() {
    let valid = [
        (
            "CreateEnvironmentTemplate",
            json!({"name": "serverless-env", "displayName": "Serverless"}),
        ),
        (
            "CreateEnvironmentTemplate",
            json!({"name": "simple-env", "displayName": "Fargate", "description": "VPC with public access",
                   "provisioning": "CUSTOMER_MANAGED", "tags": [{"key": "team", "value": ""}]}),
        ),
        (
            "CreateEnvironmentTemplateVersion",
            json!({"templateName": "simple-env", "description": "Version 1", "majorVersion": "1",
                   "clientToken": "6f1d8a4e-6f57-4f2b-9a0e-3f1c1d2e7b10",
                   "source": {"s3": {"bucket": "your-s3-bucket", "key": "env-template.tar.gz"}}}),
        ),
        (
            "CreateEnvironment",
            json!({"name": "simple-env", "templateName": "simple-env", "templateMajorVersion": "1",
                   "protonServiceRoleArn": "arn:aws:iam::123456789012:role/AWSProtonServiceRole",
                   "spec": "proton: EnvironmentSpec\nspec:\n  my_sample_input: \"the first\"\n"}),
        ),
        ("ListEnvironments", json!({"maxResults": 100})),
        ("ListEnvironments", json!({})),
        ("ListEnvironments", Value::Null),
        (
            "GetEnvironmentTemplate",
            json!({"name": "simple-env", "unknownMember": {"is": ["ignored"]}}),
        ),
    ];
    for (op, input) in valid {
        assert_eq!(proton().validate_input(op, &input), Ok(()), "{op} {input}");
    }
}

#[test]
fn a_missing_required_member_is_named() {
    assert_eq!(
        invalid(
            "CreateEnvironmentTemplate",
            json!({"displayName": "Serverless"})
        ),
        one_violation("name", " null", "Member must not be null")
    );
    let null = invalid("CreateEnvironmentTemplate", json!({"name": null}));
    assert_eq!(null.member, "name");
}

#[test]
fn every_violation_is_reported_in_one_message() {
    let e = invalid(
        "CreateEnvironmentTemplateVersion",
        json!({"majorVersion": "01"}),
    );
    assert_eq!(e.kind, ValidationKind::Constraint);
    assert_eq!(e.member, "majorVersion");
    assert_eq!(
        e.message,
        "3 validation errors detected: \
         Value '01' at 'majorVersion' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(0|([1-9]{1}\\d*))$; \
         Value null at 'source' failed to satisfy constraint: Member must not be null; \
         Value null at 'templateName' failed to satisfy constraint: Member must not be null"
    );
    assert_eq!(e.to_string(), e.message);
    assert_eq!(e.code(), "ValidationException");
}

#[test]
fn a_wrong_json_type_is_a_serialization_error() {
    let e = invalid("CreateEnvironmentTemplate", json!({"name": 5}));
    assert_eq!(e.member, "name");
    assert_eq!(e.kind, ValidationKind::Serialization);
    assert_eq!(e.code(), "SerializationException");
    assert_eq!(e.message, "Expected a string at 'name', found a number");

    let e = invalid("ListEnvironments", json!({"maxResults": "10"}));
    assert_eq!(
        (e.member.as_str(), e.kind),
        ("maxResults", ValidationKind::Serialization)
    );
    let e = invalid("ListEnvironments", json!({"maxResults": 1.5}));
    assert_eq!(e.member, "maxResults");
    let e = invalid(
        "CreateEnvironmentTemplate",
        json!({"name": "a", "tags": {"key": "k"}}),
    );
    assert_eq!(
        (e.member.as_str(), e.kind),
        ("tags", ValidationKind::Serialization)
    );
    let e = invalid("CreateEnvironmentTemplate", json!(["name"]));
    assert_eq!(e.message, "Expected an object at the input, found a list");
}

#[test]
fn length_is_counted_in_characters() {
    let too_long = "a".repeat(101);
    assert_eq!(
        invalid("CreateEnvironmentTemplate", json!({"name": too_long})),
        one_violation(
            "name",
            &format!(" '{too_long}'"),
            "Member must have length less than or equal to 100"
        )
    );
    assert_eq!(
        invalid("CreateEnvironmentTemplate", json!({"name": ""})).message,
        "2 validation errors detected: \
         Value '' at 'name' failed to satisfy constraint: Member must have length greater than or equal to 1; \
         Value '' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[0-9A-Za-z]+[0-9A-Za-z_\\-]*$"
    );
    // `description` allows 500 characters; 500 two-byte characters are 1000 bytes.
    let fits = "é".repeat(500);
    assert_eq!(
        proton().validate_input(
            "CreateEnvironmentTemplate",
            &json!({"name": "n", "description": fits})
        ),
        Ok(())
    );
    let over = "é".repeat(501);
    // `description` is sensitive: AWS leaves the value out.
    assert_eq!(
        invalid(
            "CreateEnvironmentTemplate",
            json!({"name": "n", "description": over})
        ),
        one_violation(
            "description",
            "",
            "Member must have length less than or equal to 500"
        )
    );
}

#[test]
fn list_length_and_nested_members_are_named_by_path() {
    let tags: Vec<Value> = (0..51)
        .map(|i| json!({"key": format!("k{i}"), "value": "v"}))
        .collect();
    let e = invalid(
        "CreateEnvironmentTemplate",
        json!({"name": "n", "tags": tags}),
    );
    assert_eq!(e.member, "tags");
    assert!(
        e.message
            .ends_with("Member must have length less than or equal to 50"),
        "{}",
        e.message
    );
    assert!(
        e.message.contains("Value '[{key=k0, value=v}, "),
        "{}",
        e.message
    );

    assert_eq!(
        invalid(
            "CreateEnvironmentTemplate",
            json!({"name": "n", "tags": [{"key": "", "value": "v"}]})
        ),
        one_violation(
            "tags[0].key",
            " ''",
            "Member must have length greater than or equal to 1"
        )
    );
    assert_eq!(
        invalid(
            "CreateEnvironmentTemplate",
            json!({"name": "n", "tags": [{"value": "v"}, null]})
        )
        .message,
        "2 validation errors detected: \
         Value null at 'tags[0].key' failed to satisfy constraint: Member must not be null; \
         Value null at 'tags[1]' failed to satisfy constraint: Member must not be null"
    );
    assert_eq!(
        invalid(
            "CreateEnvironmentTemplateVersion",
            json!({"templateName": "t", "source": {"s3": {"bucket": "Bad_Bucket", "key": "k"}}})
        ),
        one_violation(
            "source.s3.bucket",
            " 'Bad_Bucket'",
            "Member must satisfy regular expression pattern: ^[a-z0-9]+[a-z0-9-\\.]+[a-z0-9]+$"
        )
    );
}

#[test]
fn a_pattern_mismatch_quotes_the_model_pattern() {
    assert_eq!(
        invalid("CreateEnvironmentTemplate", json!({"name": "bad name!"})),
        one_violation(
            "name",
            " 'bad name!'",
            "Member must satisfy regular expression pattern: ^[0-9A-Za-z]+[0-9A-Za-z_\\-]*$"
        )
    );
    let arn = invalid(
        "CreateEnvironment",
        json!({"name": "e", "templateName": "t", "templateMajorVersion": "1", "spec": "s",
               "protonServiceRoleArn": "arn:aws:iam::12345:role/short-account"}),
    );
    assert_eq!(arn.member, "protonServiceRoleArn");
}

#[test]
fn a_value_outside_the_enum_lists_the_allowed_set() {
    assert_eq!(
        invalid(
            "CreateEnvironmentTemplate",
            json!({"name": "n", "provisioning": "SELF_MANAGED"})
        ),
        one_violation(
            "provisioning",
            " 'SELF_MANAGED'",
            "Member must satisfy enum value set: [CUSTOMER_MANAGED]"
        )
    );
    let e = invalid(
        "ListEnvironmentAccountConnections",
        json!({"requestedBy": "NOBODY"}),
    );
    assert!(
        e.message.ends_with(
            "Member must satisfy enum value set: [MANAGEMENT_ACCOUNT, ENVIRONMENT_ACCOUNT]"
        ),
        "{}",
        e.message
    );
}

#[test]
fn a_number_outside_the_range_is_rejected() {
    assert_eq!(
        invalid("ListEnvironments", json!({"maxResults": 0})),
        one_violation(
            "maxResults",
            " '0'",
            "Member must have value greater than or equal to 1"
        )
    );
    assert_eq!(
        invalid("ListEnvironments", json!({"maxResults": 101})),
        one_violation(
            "maxResults",
            " '101'",
            "Member must have value less than or equal to 100"
        )
    );
}

#[test]
fn a_union_needs_exactly_one_member() {
    let e = invalid(
        "CreateEnvironmentTemplateVersion",
        json!({"templateName": "t", "source": {}}),
    );
    assert_eq!(e.member, "source");
    assert_eq!(e.kind, ValidationKind::Serialization);
    assert_eq!(
        e.message,
        "Union at 'source' must have exactly one member set, found 0"
    );
}

#[test]
fn an_unknown_operation_is_its_own_kind() {
    let e = invalid("CreateWidget", json!({}));
    assert_eq!(e.kind, ValidationKind::UnknownOperation);
    assert_eq!(e.code(), "UnknownOperationException");
    assert_eq!(
        proton().check_output("CreateWidget", &json!({})),
        ["CreateWidget is not an operation of AwsProton20200720"]
    );
}

#[test]
fn ten_thousand_levels_of_nesting_give_an_error_not_a_stack_overflow() {
    let deep = || nested(10_000, "a", true, json!("x"));

    let input = with_member(json!({}), "name", deep());
    let e = invalid_ref("CreateEnvironmentTemplate", &input);
    assert_eq!(
        (e.member.as_str(), e.kind),
        ("name", ValidationKind::Serialization)
    );
    dismantle(input);

    let input = with_member(json!({"name": "n"}), "extra", deep());
    let e = invalid_ref("CreateEnvironmentTemplate", &input);
    assert_eq!(e.member, "extra");
    assert_eq!(e.message, "Value at 'extra' nests deeper than 64 levels");
    dismantle(input);

    let template = json!({"arn": "a", "name": "n", "createdAt": 1, "lastModifiedAt": 1});
    let output = with_member(
        json!({}),
        "environmentTemplate",
        with_member(template, "x", deep()),
    );
    let problems = proton().check_output("GetEnvironmentTemplate", &output);
    assert_eq!(problems, ["$.environmentTemplate.x: unknown member"]);
    dismantle(output);
}

#[test]
fn a_recursive_shape_stops_at_the_depth_limit() {
    let model = Model::from_smithy_json(
        r#"{"smithy":"2.0","shapes":{
            "ex#Svc":{"type":"service","version":"1","operations":[{"target":"ex#Walk"}]},
            "ex#Walk":{"type":"operation","input":{"target":"ex#Node"},"output":{"target":"ex#Node"}},
            "ex#Node":{"type":"structure","members":{"next":{"target":"ex#Node"},"tag":{"target":"smithy.api#String"}}}
        }}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(model.target_prefix(), "Svc");
    // 63 links and the tag: the tag sits 64 levels down, the deepest allowed.
    let shallow = nested(63, "next", false, json!({"tag": "end"}));
    assert_eq!(model.validate_input("Walk", &shallow), Ok(()));
    assert_eq!(model.check_output("Walk", &shallow), Vec::<String>::new());

    let deep = nested(10_000, "next", false, json!({}));
    let e = model
        .validate_input("Walk", &deep)
        .err()
        .unwrap_or_else(|| panic!("accepted"));
    assert_eq!(e.kind, ValidationKind::Serialization);
    assert_eq!(e.member, vec!["next"; 65].join("."));
    let problems = model.check_output("Walk", &deep);
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].ends_with("nested deeper than 64 levels"),
        "{problems:?}"
    );
    dismantle(deep);
}

#[test]
fn a_conforming_output_has_no_problems() {
    let output = json!({"environmentTemplate": {
        "arn": "arn:aws:proton:us-east-1:123456789012:environment-template/simple-env",
        "createdAt": 1605135765.336, "description": "VPC with public access", "displayName": "VPC",
        "lastModifiedAt": 1605135765.336, "name": "simple-env", "provisioning": "CUSTOMER_MANAGED"}});
    assert_eq!(
        proton().check_output("CreateEnvironmentTemplate", &output),
        Vec::<String>::new()
    );
    assert_eq!(
        proton().check_output("DeleteEnvironmentTemplate", &json!({})),
        Vec::<String>::new()
    );
}

#[test]
fn output_problems_name_the_path_and_what_is_wrong() {
    let output = json!({"environmentTemplate": {
        "arn": 7, "createdAt": "2020-11-11T23:02:45.336000+00:00", "lastModifiedAt": 1605135765.336123,
        "surprise": true}, "other": 1});
    assert_eq!(
        proton().check_output("CreateEnvironmentTemplate", &output),
        [
            "$.environmentTemplate.arn: expected a string, found a number",
            "$.environmentTemplate.createdAt: expected a timestamp in epoch seconds, found a string",
            "$.environmentTemplate.lastModifiedAt: timestamp 1605135765.336123 is finer than milliseconds",
            "$.environmentTemplate.name: missing required member",
            "$.environmentTemplate.surprise: unknown member",
            "$.other: unknown member",
        ]
    );
    assert_eq!(
        proton().check_output("CreateEnvironmentTemplate", &json!([])),
        ["$: expected an object, found a list"]
    );
    let list = json!({"templates": [{"arn": "a", "name": "n", "createdAt": 1, "lastModifiedAt": 1}, null]});
    assert_eq!(
        proton().check_output("ListEnvironmentTemplates", &list),
        ["$.templates[1]: null in a collection that is not sparse"]
    );
}

#[test]
fn the_embedded_model_holds_no_documentation() {
    assert!(!PROTON_MODEL.contains("documentation"));
    assert!(!PROTON_MODEL.contains("<p>"));
    assert!(PROTON_MODEL.contains("smithy.api#idempotencyToken"));
}

/// The layout `scripts/strip-model.py` writes: sorted keys, one shape a line.
#[test]
fn the_embedded_model_is_in_canonical_form() {
    let parsed: Value = serde_json::from_str(PROTON_MODEL).unwrap_or_else(|e| panic!("{e}"));
    let text = |v: &Value| serde_json::to_string(v).unwrap_or_else(|e| panic!("{e}"));
    let shapes = parsed["shapes"]
        .as_object()
        .unwrap_or_else(|| panic!("no shapes"));
    let lines: Vec<String> = shapes
        .iter()
        .map(|(id, s)| format!("{}:{}", text(&json!(id)), text(s)))
        .collect();
    let expected = format!(
        "{{\"metadata\":{},\"shapes\":{{\n{}\n}},\"smithy\":{}}}\n",
        text(&parsed["metadata"]),
        lines.join(",\n"),
        text(&parsed["smithy"])
    );
    assert!(
        PROTON_MODEL == expected,
        "src/model/proton.json is not in the layout strip-model.py writes"
    );
}

/// Runs `scripts/strip-model.py` on the small model in `src/model/testdata/`
/// (the real one is AWS's, outside this repository: `proton.json` records
/// its SHA-256, and the layout test above holds for it).
fn strip_model(models: &Path, extra: &[&std::ffi::OsStr]) -> std::process::Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::process::Command::new("python3")
        .arg(root.join("scripts/strip-model.py"))
        .arg("--models")
        .arg(models)
        .args(extra)
        .output()
        .unwrap_or_else(|e| panic!("python3 (a test requirement) did not run: {e}"))
}

#[test]
fn the_script_strips_a_model_to_its_wire_traits_in_canonical_form() {
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/model/testdata");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let output = dir.path().join("stripped.json");
    let out = strip_model(&testdata, &["--output".as_ref(), output.as_os_str()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = std::fs::read_to_string(&output).unwrap_or_else(|e| panic!("{e}"));
    let expected =
        std::fs::read_to_string(testdata.join("stripped.json")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(written, expected);

    let parsed: Value = serde_json::from_str(&written).unwrap_or_else(|e| panic!("{e}"));
    let shapes = &parsed["shapes"];
    assert!(
        shapes.get("example.weather#City").is_none(),
        "resources are dropped"
    );
    assert!(!written.contains("documentation") && !written.contains("examples"));
    assert!(!written.contains("smithy.api#title") && !written.contains("tags"));
    assert_eq!(
        shapes["example.weather#Weather"]["operations"],
        json!([{"target": "example.weather#GetForecast"}, {"target": "example.weather#PutCity"}])
    );
    assert_eq!(
        shapes["example.weather#PutCityInput"]["members"]["token"]["traits"],
        json!({"smithy.api#idempotencyToken": {}})
    );
    use sha2::Digest;
    let source = std::fs::read(testdata.join("smithy-proton-2020-07-20.json"))
        .unwrap_or_else(|e| panic!("{e}"));
    let sha: String = sha2::Sha256::digest(&source)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(parsed["metadata"]["proton-vcr"]["sourceSha256"], json!(sha));

    // --check passes on what it wrote, and fails once the file differs.
    let check = strip_model(
        &testdata,
        &["--check".as_ref(), "--output".as_ref(), output.as_os_str()],
    );
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    std::fs::write(&output, written.replace("2024-01-01", "2024-01-02"))
        .unwrap_or_else(|e| panic!("{e}"));
    let stale = strip_model(
        &testdata,
        &["--check".as_ref(), "--output".as_ref(), output.as_os_str()],
    );
    assert_eq!(stale.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&stale.stderr).contains("out of date"));
}

#[test]
fn the_script_stops_when_botocore_disagrees_on_the_operations() {
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/model/testdata");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(
        testdata.join("smithy-proton-2020-07-20.json"),
        dir.path().join("smithy-proton-2020-07-20.json"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.path().join("botocore-proton-2020-07-20.service-2.json"),
        r#"{"metadata": {"targetPrefix": "Weather"}, "operations": {"GetForecast": {}}}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let output = dir.path().join("stripped.json");
    let out = strip_model(dir.path(), &["--output".as_ref(), output.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("disagree on operations: ['PutCity']"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!output.exists());
}
