//! Directly defined components: infrastructure a developer attaches to a
//! service instance, or keeps detached in an environment. Their current
//! deployment is a [`Deployment`] like an environment's, recorded in the
//! same history, and moves on the mock's clock (see [`State::settle`]).

use super::{Deployment, Millis, Settled, State};

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
    pub deployment: Deployment,
}

impl State {
    /// Applies due component transitions (recording ended deployments in the
    /// history); returns the next instant one is due.
    pub(super) fn settle_components(&mut self, now: Millis) -> Option<Millis> {
        let mut next: Option<Millis> = None;
        let mut ended = Vec::new();
        let mut gone = Vec::new();
        for component in self.components.values_mut() {
            match component.deployment.settle(now) {
                Settled::Gone => gone.push(component.name.clone()),
                Settled::Nothing | Settled::DeleteFailed => {}
                deployed => ended.push(deployed),
            }
            if let Some(due) = component.deployment.phase.due() {
                next = Some(next.map_or(due, |n| n.min(due)));
            }
        }
        for settled in ended {
            if let Settled::Deployed {
                id,
                status,
                message,
                at,
            } = settled
            {
                self.deployments.finish(&id, status, message, at);
            }
        }
        for name in gone {
            if let Some(component) = self.components.remove(&name) {
                self.deployments.forget_target(&component.arn);
                self.forget(component.arn, now, None);
            }
        }
        next
    }
}
