//! Directly defined components: infrastructure a developer attaches to a
//! service instance, or keeps detached in an environment. Their current
//! deployment is a [`Deployment`] like an environment's, recorded in the
//! same history, and moves on the mock's clock (see [`State::settle`]).

use super::{Deployment, Due, Millis, Settled, State, TargetName};

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
    /// Applies what is due at `now` to the component `name` (recording an
    /// ended deployment in the history), and queues its next transition.
    pub(super) fn settle_component(&mut self, name: String, now: Millis) {
        let Some(component) = self.components.get_mut(&name) else {
            return;
        };
        match component.deployment.settle(now) {
            Settled::Gone => {
                if let Some(component) = self.components.remove(&name) {
                    self.deployments
                        .forget_target(TargetName::Component(&component.name));
                    self.forget(component.arn, now, None);
                }
                return;
            }
            settled => settled.record_in(&mut self.deployments),
        }
        if let Some(at) = self
            .components
            .get(&name)
            .and_then(|c| c.deployment.phase.due())
        {
            self.schedule_for(at, Due::Component(name));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn component(name: &str, until: Millis) -> Component {
        Component {
            name: name.into(),
            arn: format!("arn:component/{name}"),
            created_at: 0,
            last_modified_at: 0,
            description: None,
            environment_name: "env".into(),
            attachment: None,
            service_spec: None,
            template_file: String::new(),
            manifest: String::new(),
            last_client_request_token: None,
            deployment: Deployment::start(
                0,
                Some(until),
                crate::mock::state::DeploymentId::new(&format!("d-{name}")),
            ),
        }
    }

    #[test]
    fn a_component_settles_at_its_own_instant_through_the_queue() {
        let mut state = State::default();
        for (name, until) in [("early", 1_000), ("late", 5_000)] {
            state.components.insert(name.into(), component(name, until));
            state.schedule_for(until, Due::Component(name.into()));
        }
        let phase = |s: &State, name: &str| s.components.get(name).unwrap().deployment.phase;
        state.settle(999);
        assert!(phase(&state, "early").in_progress());
        state.settle(1_000);
        assert_eq!(phase(&state, "early").deployment_status(), "SUCCEEDED");
        assert!(phase(&state, "late").in_progress());
        // Only the late component is left to settle.
        assert_eq!(state.queue.len(), 1);

        let late = state.components.get_mut("late").unwrap();
        late.deployment.start_delete(6_000, None);
        state.schedule_for(6_000, Due::Component("late".into()));
        state.settle(5_999);
        assert!(phase(&state, "late").deleting());
        state.settle(6_000);
        assert!(!state.components.contains_key("late"));
        assert!(state.tombstone("arn:component/late").is_some());
        assert!(state.queue.is_empty());
    }
}
