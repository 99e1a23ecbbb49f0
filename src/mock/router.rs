//! Reads an AWS JSON 1.0 request (`POST /`, `X-Amz-Target:
//! AwsProton20200720.<Operation>`, a JSON object body) into the operation's
//! name and input, or the protocol error AWS answers with.

use super::errors::MockError;
use crate::http::Request;
use crate::http::exchange::AWS_JSON_1_0;
use crate::model::Model;
use http::Method;
use serde_json::{Map, Value};

/// The operation named by the request and its input.
pub fn decode(request: &Request) -> Result<(&str, Value), MockError> {
    let prefix = Model::proton().target_prefix();
    let mut targets = request.headers.get_all("x-amz-target").iter();
    let target = match (targets.next(), targets.next()) {
        (Some(target), None) => target,
        (None, _) => {
            return Err(MockError::UnknownOperation(format!(
                "the request has no X-Amz-Target header; AWS Proton requests are POST / with X-Amz-Target: {prefix}.<Operation>"
            )));
        }
        (Some(_), Some(_)) => {
            // Which one to obey would be a guess; the replay proxy refuses it the same way.
            return Err(MockError::Serialization(
                "X-Amz-Target is sent more than once; send exactly one".to_string(),
            ));
        }
    };
    let Ok(target) = target.to_str() else {
        return Err(MockError::UnknownOperation(format!(
            "X-Amz-Target is not visible ASCII; AWS Proton requests are POST / with X-Amz-Target: {prefix}.<Operation>"
        )));
    };
    let operation = match target.split_once('.') {
        Some((p, operation)) if p == prefix && !operation.is_empty() => operation,
        _ => {
            return Err(MockError::UnknownOperation(format!(
                "X-Amz-Target '{target}' is not an AWS Proton operation ({prefix}.<Operation>)"
            )));
        }
    };
    if request.method != Method::POST {
        return Err(MockError::UnknownOperation(format!(
            "{operation} must be sent as POST, not {}",
            request.method
        )));
    }
    let content_type = request.header("content-type").unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if !media_type.eq_ignore_ascii_case(AWS_JSON_1_0) {
        return Err(MockError::Serialization(format!(
            "Content-Type '{content_type}' is not {AWS_JSON_1_0}, the protocol of AWS Proton"
        )));
    }
    if request.body.iter().all(u8::is_ascii_whitespace) {
        return Ok((operation, Value::Object(Map::new())));
    }
    match serde_json::from_slice::<Value>(&request.body) {
        Ok(input @ Value::Object(_)) => Ok((operation, input)),
        Ok(_) => Err(MockError::Serialization(format!(
            "the body of {operation} must be a JSON object"
        ))),
        Err(error) => Err(MockError::Serialization(format!(
            "the body of {operation} is not valid JSON: {error}"
        ))),
    }
}
