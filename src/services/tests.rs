use super::*;

fn service(name: &str) -> &'static Service {
    facts()
        .service(name)
        .unwrap_or_else(|| panic!("{name} is in the table"))
}

#[test]
fn every_line_of_the_built_in_table_is_understood() {
    let (table, skipped) = table::parse_counting(FACTS);
    assert_eq!(skipped, 0);
    assert!(table.services.len() > 400, "{}", table.services.len());
    assert!(table.partitions.iter().any(|p| p.name == "aws-us-gov"));
    // Every rest operation has a method and a URI to be found by.
    for s in table.services.iter().filter(|s| s.protocol().is_rest()) {
        for op in &s.operations {
            assert!(op.http.is_some(), "{}.{}", s.name, op.name);
        }
    }
}

#[test]
fn dynamodb_transact_write_items_has_its_client_request_token() {
    let ddb = service("dynamodb");
    assert_eq!(ddb.signing_name, "dynamodb");
    assert_eq!(ddb.protocol(), Protocol::Json);
    assert_eq!(ddb.target_prefix.as_deref(), Some("DynamoDB_20120810"));
    let op = ddb.operation("TransactWriteItems").unwrap();
    assert_eq!(
        op.tokens(),
        [TokenLocation::Body("$.ClientRequestToken".into())]
    );
    let line = RequestLine {
        method: "POST",
        path: "/",
        target: Some("DynamoDB_20120810.TransactWriteItems"),
        ..Default::default()
    };
    assert_eq!(ddb.operation_of(line).unwrap().name, "TransactWriteItems");
    assert_eq!(facts().service_of(None, line).unwrap().name, "dynamodb");
}

#[test]
fn secrets_manager_create_secret_token_and_sensitive_members() {
    let sm = service("secretsmanager");
    let create = sm.operation("CreateSecret").unwrap();
    assert_eq!(
        create.tokens(),
        [TokenLocation::Body("$.ClientRequestToken".into())]
    );
    assert!(create.sensitive_input().contains(&"$.SecretString".into()));
    assert!(create.sensitive_input().contains(&"$.SecretBinary".into()));
    let get = sm.operation("GetSecretValue").unwrap();
    assert!(get.sensitive_output().contains(&"$.SecretString".into()));
    let kinds: Vec<_> = get.sensitive_output_members().collect();
    assert!(
        kinds.contains(&("$.SecretBinary", ShapeType::Blob)),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("$.SecretString", ShapeType::String)),
        "{kinds:?}"
    );
    let put = sm.operation("PutSecretValue").unwrap();
    assert_eq!(
        put.body_token_paths().collect::<Vec<_>>(),
        ["$.ClientRequestToken"]
    );
}

#[test]
fn sts_assume_role_credentials_are_sensitive_and_found_by_action() {
    let sts = service("sts");
    assert_eq!(sts.protocol(), Protocol::Query);
    let op = sts.operation("AssumeRole").unwrap();
    assert!(
        op.sensitive_output()
            .contains(&"$.Credentials.SecretAccessKey".into()),
        "{:?}",
        op.sensitive_output()
    );
    let body = b"Action=AssumeRole&Version=2011-06-15&RoleArn=arn";
    let line = RequestLine {
        method: "POST",
        path: "/",
        body,
        ..Default::default()
    };
    assert_eq!(sts.operation_of(line).unwrap().name, "AssumeRole");
    assert_eq!(facts().service_of(Some("sts"), line).unwrap().name, "sts");
    let iam = service("iam");
    let create = iam.operation("CreateAccessKey").unwrap();
    assert!(
        create
            .sensitive_output()
            .contains(&"$.AccessKey.SecretAccessKey".into())
    );
}

#[test]
fn s3_get_object_range_is_header_bound_and_found_by_path() {
    let s3 = service("s3");
    assert_eq!(s3.protocol(), Protocol::RestXml);
    let get = s3.operation("GetObject").unwrap();
    let range = get
        .header_members()
        .iter()
        .find(|h| h.member == "Range")
        .unwrap();
    assert_eq!(range.header, "Range");
    assert!(!range.prefix);
    assert!(
        get.header_members()
            .iter()
            .any(|h| h.header == "If-None-Match")
    );
    assert_eq!(
        get.sensitive_headers().collect::<Vec<_>>(),
        ["x-amz-server-side-encryption-customer-key"]
    );
    let put = s3.operation("PutObject").unwrap();
    assert!(
        put.header_members()
            .iter()
            .any(|h| h.header == "x-amz-meta-" && h.prefix)
    );
    let list = s3.operation("ListObjectsV2").unwrap();
    assert!(
        list.query_members()
            .iter()
            .any(|q| q.member == "MaxKeys" && q.name == "max-keys")
    );
    let plain = http::HeaderMap::new();
    let find = |method: &'static str, path: &'static str, query: &'static str| {
        s3.operation_of(RequestLine {
            method,
            path,
            query,
            headers: Some(&plain),
            ..Default::default()
        })
        .map(|o| o.name.as_str())
    };
    assert_eq!(find("GET", "/bucket/a/b.txt", ""), Some("GetObject"));
    assert_eq!(
        find("GET", "/bucket/a/b.txt", "x-id=GetObject"),
        Some("GetObject")
    );
    assert_eq!(find("PUT", "/bucket/key", ""), Some("PutObject"));
    assert_eq!(find("PUT", "/bucket", ""), Some("CreateBucket"));
    assert_eq!(find("GET", "/bucket", "list-type=2"), Some("ListObjectsV2"));
    assert_eq!(
        find("POST", "/bucket/key", "uploads"),
        Some("CreateMultipartUpload")
    );
    assert_eq!(
        find("PUT", "/bucket/key", "partNumber=1&uploadId=abc"),
        Some("UploadPart")
    );
    assert_eq!(find("GET", "/", ""), Some("ListBuckets"));
    let mut copy = http::HeaderMap::new();
    copy.insert("x-amz-copy-source", "src/key".parse().unwrap());
    let line = RequestLine {
        method: "PUT",
        path: "/bucket/key",
        query: "partNumber=1&uploadId=abc",
        headers: Some(&copy),
        ..Default::default()
    };
    assert_eq!(s3.operation_of(line).unwrap().name, "UploadPartCopy");
    assert_eq!(
        find("GET", "/bucket/key", "tagging"),
        Some("GetObjectTagging")
    );
}

#[test]
fn rest_json_operations_are_found_by_method_and_template() {
    let lambda = service("lambda");
    let find = |method: &'static str, path: &'static str| {
        lambda
            .operation_of(RequestLine {
                method,
                path,
                ..Default::default()
            })
            .map(|o| o.name.as_str())
    };
    assert_eq!(
        find("POST", "/2015-03-31/functions/my-fn/invocations"),
        Some("Invoke")
    );
    assert_eq!(
        find("GET", "/2015-03-31/functions/my-fn"),
        Some("GetFunction")
    );
    assert_eq!(find("GET", "/2015-03-31/functions/"), Some("ListFunctions"));
    assert_eq!(find("PATCH", "/2015-03-31/functions/my-fn"), None);
}

#[test]
fn endpoints_follow_region_partition_and_global_services() {
    let ep = |name: &str, region: &str| service(name).endpoint(region).map(|e| e.url);
    assert_eq!(
        ep("dynamodb", "us-east-1").as_deref(),
        Some("https://dynamodb.us-east-1.amazonaws.com")
    );
    assert_eq!(
        ep("dynamodb", "cn-north-1").as_deref(),
        Some("https://dynamodb.cn-north-1.amazonaws.com.cn")
    );
    assert_eq!(
        ep("sqs", "us-gov-west-1").as_deref(),
        Some("https://sqs.us-gov-west-1.amazonaws.com")
    );
    let iam = service("iam").endpoint("eu-west-1").unwrap();
    assert_eq!(iam.url, "https://iam.amazonaws.com");
    assert_eq!(iam.signing_region, "us-east-1");
    assert_eq!(
        service("iam").endpoint("cn-northwest-1").unwrap().host,
        "iam.cn-north-1.amazonaws.com.cn"
    );
    assert_eq!(
        ep("sts", "eu-west-1").as_deref(),
        Some("https://sts.eu-west-1.amazonaws.com")
    );
    assert_eq!(
        ep("cloudfront", "ap-south-1").as_deref(),
        Some("https://cloudfront.amazonaws.com")
    );
    // A region the table has never seen but that fits a partition's pattern.
    assert_eq!(
        ep("sqs", "eu-south-9").as_deref(),
        Some("https://sqs.eu-south-9.amazonaws.com")
    );
    assert_eq!(ep("sqs", "mars-1"), None);
    // A region from a client cannot smuggle a host.
    assert_eq!(ep("sqs", "us-east-1.evil.example/"), None);
    assert_eq!(ep("sqs", "us-east-1@evil"), None);
}

#[test]
fn endpoint_for_scope_uses_the_signing_name() {
    let f = facts();
    assert!(matches!(
        f.endpoint_for_scope("dynamodb", "eu-west-2"),
        Err(EndpointError::Ambiguous(..))
    ));
    let target = |t: &'static str| RequestLine {
        method: "POST",
        path: "/",
        target: Some(t),
        ..Default::default()
    };
    assert_eq!(
        f.endpoint_for_request("dynamodb", "eu-west-2", target("DynamoDB_20120810.GetItem"))
            .unwrap()
            .host,
        "dynamodb.eu-west-2.amazonaws.com"
    );
    assert_eq!(
        f.endpoint_for_request(
            "dynamodb",
            "eu-west-2",
            target("DynamoDBStreams_20120810.GetRecords")
        )
        .unwrap()
        .host,
        "streams.dynamodb.eu-west-2.amazonaws.com"
    );
    assert_eq!(
        f.endpoint_for_scope("iam", "us-west-2").unwrap().host,
        "iam.amazonaws.com"
    );
    // SES, SES v2 and Mail Manager all sign as `ses`.
    assert!(matches!(
        f.endpoint_for_scope("ses", "us-east-1"),
        Err(EndpointError::Ambiguous(..))
    ));
    let list = RequestLine {
        method: "GET",
        path: "/v2/email/identities",
        ..Default::default()
    };
    assert_eq!(
        f.endpoint_for_request("ses", "us-east-1", list)
            .unwrap()
            .host,
        "email.us-east-1.amazonaws.com"
    );
    assert!(matches!(
        f.endpoint_for_scope("nope", "us-east-1"),
        Err(EndpointError::UnknownService(_))
    ));
    assert!(matches!(
        f.endpoint_for_scope("sqs", "nowhere"),
        Err(EndpointError::UnknownRegion(_))
    ));
    assert_eq!(f.by_endpoint_prefix("email").unwrap().signing_name, "ses");
}
