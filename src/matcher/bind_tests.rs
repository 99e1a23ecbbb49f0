//! The matcher binding generated values end to end: a request that differs
//! only at values the client chose binds them, later requests follow the
//! binding, answers carry the live values, and misses say why.

use super::*;
use crate::cassette::{Cassette, Headers, Interaction, Provenance, RecordedResponse};
use serde_json::json;

const QUEUE_A: &str = "q-7f574edd-d949-4cd9-8442-bbb300f50334";
const QUEUE_B: &str = "q-2dd78c10-1124-42f7-a862-2d0375129ab4";
const LIVE_1: &str = "q-0b9d5a3e-61c4-4f0e-9a43-5d1c2e7f8a90";
const LIVE_2: &str = "q-9f8e7d6c-5b4a-4321-8fed-cba987654321";

fn request(target: &str, body: Value) -> RecordedRequest {
    let mut headers = Headers::default();
    headers.append("x-amz-target", format!("AmazonSQS.{target}"));
    headers.append("content-type", "application/x-amz-json-1.0".into());
    RecordedRequest {
        method: "POST".into(),
        uri: "/".into(),
        headers,
        body: Body::from_json(&body),
    }
}

fn url(name: &str) -> String {
    format!("http://127.0.0.1:4566/123456789012/{name}")
}

fn interaction(request: RecordedRequest, answer: Value) -> Interaction {
    let mut headers = Headers::default();
    headers.append("content-type", "application/x-amz-json-1.0".into());
    Interaction {
        elapsed_ms: 0,
        note: None,
        expect: None,
        endpoint: None,
        request,
        response: RecordedResponse {
            status: 200,
            headers,
            body: Body::from_json(&answer),
        },
    }
}

/// Two queues made with generated names, a message to the first, and a
/// queue with a fixed name.
fn matcher(bind: BindMode) -> Matcher {
    let interactions = vec![
        interaction(
            request("CreateQueue", json!({"QueueName": QUEUE_A})),
            json!({"QueueUrl": url(QUEUE_A)}),
        ),
        interaction(
            request("CreateQueue", json!({"QueueName": QUEUE_B})),
            json!({"QueueUrl": url(QUEUE_B)}),
        ),
        interaction(
            request(
                "SendMessage",
                json!({"QueueUrl": url(QUEUE_A), "MessageBody": "hello"}),
            ),
            json!({"MessageId": "5fd0c3a4-1f47-4a8e-b3f4-0e6f2b1f9d11"}),
        ),
        interaction(
            request("CreateQueue", json!({"QueueName": "fixed-name"})),
            json!({"QueueUrl": url("fixed-name")}),
        ),
    ];
    let cassette = Cassette {
        name: "t".into(),
        provenance: Provenance::recorded("e", "sqs", "r", "t".into()),
        interactions,
    };
    Matcher::new(
        vec![LoadedCassette {
            path: "t.json".into(),
            cassette,
        }],
        MatchOptions {
            bind,
            repeats: Repeats::Strict,
            ..MatchOptions::default()
        },
    )
}

fn answer(m: &mut Matcher, target: &str, body: Value) -> Result<Value, String> {
    let live = request(target, body).to_exchange().unwrap();
    m.answer(&live)
        .map(|(_, r)| serde_json::from_slice(&r.body).unwrap())
        .map_err(|miss| miss.reason)
}

#[test]
fn a_generated_name_binds_is_followed_and_answered_with() {
    let mut m = matcher(BindMode::Auto);
    assert_eq!(
        answer(&mut m, "CreateQueue", json!({"QueueName": LIVE_1})),
        Ok(json!({"QueueUrl": url(LIVE_1)}))
    );
    // The live queue URL leads to the recorded request on the recorded one.
    assert_eq!(
        answer(
            &mut m,
            "SendMessage",
            json!({"QueueUrl": url(LIVE_1), "MessageBody": "hello"})
        ),
        Ok(json!({"MessageId": "5fd0c3a4-1f47-4a8e-b3f4-0e6f2b1f9d11"}))
    );
    assert_eq!(
        answer(&mut m, "CreateQueue", json!({"QueueName": LIVE_2})),
        Ok(json!({"QueueUrl": url(LIVE_2)}))
    );
    m.rewind();
    assert_eq!(
        answer(&mut m, "CreateQueue", json!({"QueueName": LIVE_2})),
        Ok(json!({"QueueUrl": url(LIVE_2)})),
        "rewinding forgets bindings"
    );
}

#[test]
fn a_different_literal_where_the_recording_has_a_fixed_name_misses() {
    let mut m = matcher(BindMode::Auto);
    let reason = answer(&mut m, "CreateQueue", json!({"QueueName": "other-name"})).unwrap_err();
    assert!(reason.contains("differs at $.QueueName"), "{reason}");
    assert!(!reason.contains("binding"), "{reason}");
}

#[test]
fn a_value_reused_where_the_recording_has_two_misses_and_says_why() {
    let mut m = matcher(BindMode::Auto);
    answer(&mut m, "CreateQueue", json!({"QueueName": LIVE_1})).unwrap();
    let reason = answer(&mut m, "CreateQueue", json!({"QueueName": LIVE_1})).unwrap_err();
    assert!(
        reason.contains(&format!(
            "live `{}` is already bound to recorded `{}`",
            &LIVE_1[2..],
            &QUEUE_A[2..]
        )),
        "{reason}"
    );
}

#[test]
fn a_value_from_an_answer_is_never_bound() {
    let mut m = matcher(BindMode::Auto);
    answer(&mut m, "CreateQueue", json!({"QueueName": LIVE_1})).unwrap();
    // The message id came from a recorded answer: not a value the client chose.
    let reason = answer(
        &mut m,
        "CreateQueue",
        json!({"QueueName": "q-5fd0c3a4-1f47-4a8e-b3f4-0e6f2b1f9d11"}),
    )
    .unwrap_err();
    assert!(
        reason.contains("live `5fd0c3a4-1f47-4a8e-b3f4-0e6f2b1f9d11` appears in a recorded answer"),
        "{reason}"
    );
}

#[test]
fn a_request_with_other_differences_considers_no_binding() {
    let mut m = matcher(BindMode::Auto);
    answer(&mut m, "CreateQueue", json!({"QueueName": LIVE_1})).unwrap();
    let reason = answer(
        &mut m,
        "SendMessage",
        json!({"QueueUrl": url(LIVE_1), "MessageBody": "bye 5fd0c3a4"}),
    )
    .unwrap_err();
    assert!(reason.contains("differs at $.MessageBody"), "{reason}");
    assert!(reason.contains("no binding was considered"), "{reason}");
}

#[test]
fn tokens_mode_matches_generated_values_literally() {
    let mut m = matcher(BindMode::Tokens);
    let reason = answer(&mut m, "CreateQueue", json!({"QueueName": LIVE_1})).unwrap_err();
    assert!(reason.contains("differs at $.QueueName"), "{reason}");
    assert_eq!(
        answer(&mut m, "CreateQueue", json!({"QueueName": QUEUE_A})),
        Ok(json!({"QueueUrl": url(QUEUE_A)}))
    );
}
