//! Directly defined components: infrastructure a developer attaches to a
//! service instance, or keeps detached in an environment. Their deployments
//! move on the mock's clock like the other resources' (see [`State::settle`]).

use super::{Millis, State};

/// Where a component's deployment is. Components have no template, so their
/// lifecycle is their own rather than an environment's or instance's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ComponentStatus {
    InProgress { until: Millis },
    Succeeded,
    Failed,
    Cancelling { until: Millis },
    Cancelled,
    DeleteInProgress { until: Millis },
    DeleteFailed,
}

impl ComponentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InProgress { .. } => "IN_PROGRESS",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
            Self::Cancelling { .. } => "CANCELLING",
            Self::Cancelled => "CANCELLED",
            Self::DeleteInProgress { .. } => "DELETE_IN_PROGRESS",
            Self::DeleteFailed => "DELETE_FAILED",
        }
    }

    fn due(self) -> Option<Millis> {
        match self {
            Self::InProgress { until }
            | Self::Cancelling { until }
            | Self::DeleteInProgress { until } => Some(until),
            _ => None,
        }
    }

    /// Whether a deployment or delete is under way (nothing else may start).
    pub fn busy(self) -> bool {
        self.due().is_some()
    }
}

#[derive(Clone, Debug)]
pub struct Component {
    pub name: String,
    pub arn: String,
    pub created_at: Millis,
    pub last_modified_at: Millis,
    pub description: Option<String>,
    pub environment_name: String,
    /// Service and instance it is attached to; `None` when detached.
    pub attachment: Option<(String, String)>,
    pub service_spec: Option<String>,
    pub template_file: String,
    pub manifest: String,
    pub last_client_request_token: Option<String>,
    pub status: ComponentStatus,
    pub status_message: Option<String>,
    pub attempted_at: Millis,
    pub succeeded_at: Option<Millis>,
    pub attempted_id: String,
    pub succeeded_id: Option<String>,
    /// A failure a test asked for: the next deployment (or delete) ends in
    /// FAILED (or DELETE_FAILED) with this message.
    pub fail_next: Option<String>,
}

impl Component {
    /// Starts a deployment attempted at `now` that ends at `until`.
    pub fn deploy(&mut self, now: Millis, until: Millis, id: String) {
        self.status = ComponentStatus::InProgress { until };
        self.status_message = None;
        self.attempted_at = now;
        self.attempted_id = id;
    }
}

impl State {
    /// Applies due component transitions; returns the next instant one is due.
    pub(super) fn settle_components(&mut self, now: Millis) -> Option<Millis> {
        let mut next: Option<Millis> = None;
        let mut gone = Vec::new();
        for component in self.components.values_mut() {
            match component.status {
                ComponentStatus::InProgress { until } if until <= now => {
                    if let Some(message) = component.fail_next.take() {
                        component.status = ComponentStatus::Failed;
                        component.status_message = Some(message);
                    } else {
                        component.status = ComponentStatus::Succeeded;
                        component.succeeded_at = Some(component.attempted_at);
                        component.succeeded_id = Some(component.attempted_id.clone());
                    }
                }
                ComponentStatus::Cancelling { until } if until <= now => {
                    component.status = ComponentStatus::Cancelled;
                }
                ComponentStatus::DeleteInProgress { until } if until <= now => {
                    match component.fail_next.take() {
                        Some(message) => {
                            component.status = ComponentStatus::DeleteFailed;
                            component.status_message = Some(message);
                        }
                        None => gone.push(component.name.clone()),
                    }
                }
                status => {
                    if let Some(due) = status.due() {
                        next = Some(next.map_or(due, |n| n.min(due)));
                    }
                }
            }
        }
        for name in gone {
            if let Some(component) = self.components.remove(&name) {
                self.forget(component.arn, now, None);
            }
        }
        next
    }
}
