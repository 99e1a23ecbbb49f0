//! Failures a test asks for through the admin API: a named resource's next
//! registration, deployment or delete fails with a message, and the next N
//! calls of an operation answer ThrottlingException or
//! ServiceQuotaExceededException. Pure state; the operations consume it.

use std::collections::HashMap;

/// Which step of a resource's life an injected failure hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailurePoint {
    /// A template version's registration (-> REGISTRATION_FAILED).
    Registration,
    /// The next deployment (-> FAILED; a service's create or update ->
    /// CREATE_FAILED or UPDATE_FAILED).
    Deployment,
    /// The next delete (-> DELETE_FAILED).
    Delete,
}

impl FailurePoint {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "registration" => Some(Self::Registration),
            "deployment" => Some(Self::Deployment),
            "delete" => Some(Self::Delete),
            _ => None,
        }
    }
}

/// The error an operation's injected calls answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallError {
    Throttling,
    ServiceQuotaExceeded,
}

impl CallError {
    /// The error's code, as clients see it.
    pub fn code(self) -> &'static str {
        match self {
            Self::Throttling => "ThrottlingException",
            Self::ServiceQuotaExceeded => "ServiceQuotaExceededException",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "ThrottlingException" => Some(Self::Throttling),
            "ServiceQuotaExceededException" => Some(Self::ServiceQuotaExceeded),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
struct CallFault {
    error: CallError,
    remaining: u32,
    message: Option<String>,
}

#[derive(Debug, Default)]
pub struct Faults {
    /// (resource ARN, point) -> status message.
    failures: HashMap<(String, FailurePoint), String>,
    /// Operation -> what its next calls answer.
    calls: HashMap<String, CallFault>,
}

impl Faults {
    pub fn fail_next(&mut self, arn: String, point: FailurePoint, message: String) {
        self.failures.insert((arn, point), message);
    }

    /// The failure injected for `arn` at `point`, consumed.
    pub fn take(&mut self, arn: &str, point: FailurePoint) -> Option<String> {
        if self.failures.is_empty() {
            return None;
        }
        self.failures.remove(&(arn.to_string(), point))
    }

    pub fn fail_calls(
        &mut self,
        operation: String,
        error: CallError,
        count: u32,
        message: Option<String>,
    ) {
        if count == 0 {
            self.calls.remove(&operation);
            return;
        }
        self.calls.insert(
            operation,
            CallFault {
                error,
                remaining: count,
                message,
            },
        );
    }

    /// Whether this call of `operation` must fail, and how; counts it.
    pub fn take_call(&mut self, operation: &str) -> Option<(CallError, Option<String>)> {
        let fault = self.calls.get_mut(operation)?;
        fault.remaining -= 1;
        let answer = (fault.error, fault.message.clone());
        if fault.remaining == 0 {
            self.calls.remove(operation);
        }
        Some(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_faults_run_out_after_their_count() {
        let mut faults = Faults::default();
        faults.fail_calls("Op".into(), CallError::Throttling, 2, None);
        assert!(faults.take_call("Op").is_some());
        assert!(faults.take_call("Other").is_none());
        assert!(faults.take_call("Op").is_some());
        assert!(faults.take_call("Op").is_none());
    }

    #[test]
    fn a_failure_is_consumed_once() {
        let mut faults = Faults::default();
        faults.fail_next("arn:x".into(), FailurePoint::Delete, "no".into());
        assert_eq!(faults.take("arn:x", FailurePoint::Deployment), None);
        assert_eq!(
            faults.take("arn:x", FailurePoint::Delete).as_deref(),
            Some("no")
        );
        assert_eq!(faults.take("arn:x", FailurePoint::Delete), None);
    }
}
