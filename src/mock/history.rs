//! Deployment history: one record per deployment of an environment, a
//! service pipeline, a service instance or a component, as GetDeployment,
//! ListDeployments and DeleteDeployment see them. Pure, like [`super::state`]:
//! ids and instants come from the caller.
//!
//! A resource's own [`super::state::Deployment`] says where its current
//! deployment is; when it starts one it calls [`Deployments::start`] with the
//! same id, and when that deployment ends (settled by the clock, cancelled,
//! or notified by self-managed provisioning) [`Deployments::finish`] records
//! the outcome, so `lastAttemptedDeploymentId` and `lastSucceededDeploymentId`
//! of the resource always name records here.

use super::clock::Millis;
use super::state::{DeploymentId, Table};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// What a deployment deploys (`targetResourceType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TargetKind {
    Environment,
    ServicePipeline,
    ServiceInstance,
    Component,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Environment => "ENVIRONMENT",
            Self::ServicePipeline => "SERVICE_PIPELINE",
            Self::ServiceInstance => "SERVICE_INSTANCE",
            Self::Component => "COMPONENT",
        }
    }
}

/// The `deploymentStatus` of a deployment record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeploymentStatus {
    InProgress,
    Succeeded,
    Failed,
    Cancelled,
}

impl DeploymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => "IN_PROGRESS",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
            Self::Cancelled => "CANCELLED",
        }
    }
}

/// The resource a deployment deploys, and the names that place it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeploymentTarget {
    pub kind: TargetKind,
    pub arn: String,
    pub created_at: Millis,
    pub environment_name: String,
    pub service_name: Option<String>,
    pub service_instance_name: Option<String>,
    pub component_name: Option<String>,
}

#[derive(Clone, Debug)]
pub struct DeploymentRecord {
    pub id: String,
    pub arn: String,
    pub target: DeploymentTarget,
    pub status: DeploymentStatus,
    pub status_message: Option<String>,
    pub created_at: Millis,
    pub last_modified_at: Millis,
    pub completed_at: Option<Millis>,
    /// `DeploymentState` of the target before this deployment (its last
    /// successful one's target state, shared with that record, not
    /// copied); `None` for a first deployment.
    pub initial_state: Option<Arc<Value>>,
    /// `DeploymentState` this deployment deploys.
    pub target_state: Arc<Value>,
    /// The target's ids when this deployment started.
    pub last_attempted_id: Option<String>,
    pub last_succeeded_id: Option<String>,
    /// `[{key, valueString}]`, set by NotifyResourceDeploymentStatusChange
    /// or the admin API.
    pub outputs: Vec<Value>,
}

/// Every deployment record, by id, with an index by target ARN and the
/// listings ListDeployments reads. Ids are held inline ([`DeploymentId`]),
/// so finding a record, or growing the table, reads no key from elsewhere;
/// records are boxed, so growing the table moves pointers, not records.
#[derive(Debug, Default)]
pub struct Deployments {
    by_id: HashMap<DeploymentId, Box<DeploymentRecord>>,
    /// Target ARN -> (created_at, id) of its deployments, oldest first.
    by_target: Table<String, Keys>,
    /// The records of each listing, newest first: (`Millis::MAX` minus the
    /// creation instant, id). The instant comes first, so that a new record
    /// (the newest) finds its place by comparing numbers.
    /// Keyed by [`Listing::key`], so that a listing's key is compared in
    /// the table's index, not read from an allocation of its own.
    listings: Table<String, Keys>,
}

/// A deployment's place in a listing or a target's set: an instant (or its
/// complement, for newest first) and the id.
type Key = (Millis, DeploymentId);

/// The keys of one listing or target, in order. Most hold one or two (a
/// resource's first deployment and the next), kept inline in the table's
/// entry, so reading or adding to them reads nothing from elsewhere; more
/// go to a tree.
#[derive(Clone, Debug)]
enum Keys {
    Inline { len: usize, keys: [Key; 2] },
    Tree(BTreeSet<Key>),
}

impl Default for Keys {
    fn default() -> Self {
        Self::Inline {
            len: 0,
            keys: Default::default(),
        }
    }
}

impl Keys {
    fn insert(&mut self, key: Key) {
        match self {
            Self::Inline { len, keys } => {
                let held = &keys[..*len];
                if held.contains(&key) {
                    return;
                }
                if *len < keys.len() {
                    let at = held.partition_point(|k| *k < key);
                    keys[at..=*len].rotate_right(1);
                    keys[at] = key;
                    *len += 1;
                } else {
                    let mut tree: BTreeSet<Key> = held.iter().copied().collect();
                    tree.insert(key);
                    *self = Self::Tree(tree);
                }
            }
            Self::Tree(tree) => {
                tree.insert(key);
            }
        }
    }

    fn remove(&mut self, key: &Key) {
        match self {
            Self::Inline { len, keys } => {
                if let Some(at) = keys[..*len].iter().position(|k| k == key) {
                    keys[at..*len].rotate_left(1);
                    *len -= 1;
                }
            }
            Self::Tree(tree) => {
                tree.remove(key);
            }
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Self::Inline { len, .. } => *len == 0,
            Self::Tree(tree) => tree.is_empty(),
        }
    }

    fn parts(&self) -> (&[Key], Option<&BTreeSet<Key>>) {
        match self {
            Self::Inline { len, keys } => (&keys[..*len], None),
            Self::Tree(tree) => (&[], Some(tree)),
        }
    }

    /// In order.
    fn iter(&self) -> impl Iterator<Item = &Key> {
        let (inline, tree) = self.parts();
        inline.iter().chain(tree.into_iter().flatten())
    }

    /// In order, from `from` on.
    fn from(&self, from: std::ops::Bound<Key>) -> impl Iterator<Item = &Key> {
        use std::ops::{Bound, RangeBounds};
        let (inline, tree) = self.parts();
        let range = (from, Bound::Unbounded);
        inline
            .iter()
            .filter(move |k| range.contains(*k))
            .chain(tree.into_iter().flat_map(move |t| t.range(range)))
    }
}

/// The deployments ListDeployments can be asked for, each kept in its own
/// index so that a page costs what it lists, not what the history holds.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Listing {
    All,
    Environment(String),
    Service(String),
    /// (service, instance).
    ServiceInstance(String, String),
    Component(String),
}

impl Listing {
    /// Every listing `record` appears in.
    fn of(record: &DeploymentRecord) -> Vec<Self> {
        let t = &record.target;
        let mut listings = vec![Self::All, Self::Environment(t.environment_name.clone())];
        if let Some(service) = &t.service_name {
            listings.push(Self::Service(service.clone()));
            if let Some(instance) = &t.service_instance_name {
                listings.push(Self::ServiceInstance(service.clone(), instance.clone()));
            }
        }
        if let Some(component) = &t.component_name {
            listings.push(Self::Component(component.clone()));
        }
        listings
    }

    /// The listing as one text: a kind letter, then its names (a service's
    /// length-prefixed, so that no two listings share a key).
    fn key(&self) -> String {
        match self {
            Self::All => "a".to_string(),
            Self::Environment(name) => format!("e{name}"),
            Self::Service(name) => format!("s{name}"),
            Self::ServiceInstance(service, instance) => {
                format!("i{}:{service}{instance}", service.len())
            }
            Self::Component(name) => format!("c{name}"),
        }
    }
}

/// What a new deployment deploys, from the resource that starts it.
pub struct NewDeployment {
    pub id: String,
    pub arn: String,
    pub target: DeploymentTarget,
    /// `DeploymentState` (`{"environment": {...}}` and so on).
    pub target_state: Value,
    /// The target's last successful deployment, whose target state becomes
    /// this one's initial state.
    pub last_succeeded_id: Option<String>,
    pub last_attempted_id: Option<String>,
}

impl DeploymentRecord {
    /// Starts loading what a summary of the record reads
    /// ([`super::state::warm`]).
    pub fn warm(&self) {
        use super::state::warm;
        let t = &self.target;
        for text in [&self.id, &self.arn, &t.arn, &t.environment_name] {
            warm::text(text);
        }
        for text in [
            &t.service_name,
            &t.service_instance_name,
            &t.component_name,
            &self.last_attempted_id,
            &self.last_succeeded_id,
        ] {
            warm::opt(text.as_deref());
        }
    }
}

impl Deployments {
    /// Records a deployment that starts at `now`, IN_PROGRESS. Its initial
    /// state is the target state of the target's last successful
    /// deployment; its outputs are those of the last attempted one, until
    /// it reports its own.
    pub fn start(&mut self, new: NewDeployment, now: Millis) {
        let attempted = new.last_attempted_id.as_deref().and_then(|id| self.get(id));
        let succeeded = match (&new.last_succeeded_id, attempted) {
            (Some(id), Some(attempted)) if *id == attempted.id => Some(attempted),
            (id, _) => id.as_deref().and_then(|id| self.get(id)),
        };
        let initial_state = succeeded.map(|previous| Arc::clone(&previous.target_state));
        let outputs = attempted.map(|d| d.outputs.clone()).unwrap_or_default();
        let id = DeploymentId::new(&new.id);
        self.by_target
            .get_or_default(new.target.arn.clone())
            .insert((now, id));
        let record = Box::new(DeploymentRecord {
            id: new.id,
            arn: new.arn,
            target: new.target,
            status: DeploymentStatus::InProgress,
            status_message: None,
            created_at: now,
            last_modified_at: now,
            completed_at: None,
            initial_state,
            target_state: Arc::new(new.target_state),
            last_attempted_id: new.last_attempted_id,
            last_succeeded_id: new.last_succeeded_id,
            outputs,
        });
        for listing in Listing::of(&record) {
            self.listings
                .get_or_default(listing.key())
                .insert((Millis::MAX - now, id));
        }
        self.by_id.insert(id, record);
    }

    /// The records of `listing` from the page token `from` on, newest
    /// first, each with the page token that starts at it
    /// (`{newness:020}/{id}`). A token not of that form starts nowhere.
    pub fn listing<'a>(
        &'a self,
        listing: &Listing,
        from: Option<&str>,
    ) -> impl Iterator<Item = (String, &'a DeploymentRecord)> {
        use std::ops::Bound;
        let from = match from {
            None => Some(Bound::Unbounded),
            Some(token) => token
                .split_once('/')
                .and_then(|(newness, id)| {
                    Some((newness.parse::<Millis>().ok()?, DeploymentId::exact(id)?))
                })
                .map(Bound::Included),
        };
        self.listings
            .get(listing.key().as_str())
            .zip(from)
            .into_iter()
            .flat_map(|(keys, from)| keys.from(from))
            .filter_map(|(newness, id)| {
                let record = self.by_id.get(id)?;
                record.warm();
                Some((format!("{newness:020}/{}", record.id), &**record))
            })
    }

    fn unlist(&mut self, record: &DeploymentRecord) {
        let key = (
            Millis::MAX - record.created_at,
            DeploymentId::new(&record.id),
        );
        for listing in Listing::of(record) {
            let listing = listing.key();
            if let Some(keys) = self.listings.get_mut(listing.as_str()) {
                keys.remove(&key);
                if keys.is_empty() {
                    self.listings.remove(listing.as_str());
                }
            }
        }
    }

    /// Records how deployment `id` ended, at `at`. Unknown ids (a record
    /// deleted by DeleteDeployment) are ignored.
    pub fn finish(
        &mut self,
        id: DeploymentId,
        status: DeploymentStatus,
        message: Option<String>,
        at: Millis,
    ) {
        if let Some(record) = self.by_id.get_mut(&id) {
            record.status = status;
            record.status_message = message;
            record.last_modified_at = at;
            if status != DeploymentStatus::InProgress {
                record.completed_at = Some(at);
            }
        }
    }

    pub fn get(&self, id: &str) -> Option<&DeploymentRecord> {
        self.by_id.get(&DeploymentId::exact(id)?).map(|r| &**r)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut DeploymentRecord> {
        self.by_id
            .get_mut(&DeploymentId::exact(id)?)
            .map(|r| &mut **r)
    }

    pub fn remove(&mut self, id: &str) -> Option<DeploymentRecord> {
        let key = DeploymentId::exact(id)?;
        let record = self.by_id.remove(&key)?;
        self.unlist(&record);
        if let Some(ids) = self.by_target.get_mut(record.target.arn.as_str()) {
            ids.remove(&(record.created_at, key));
            if ids.is_empty() {
                self.by_target.remove(record.target.arn.as_str());
            }
        }
        Some(*record)
    }

    /// Forgets every deployment of a deleted resource.
    pub fn forget_target(&mut self, arn: &str) {
        let keys = self.by_target.remove(arn).unwrap_or_default();
        for (_, id) in keys.iter() {
            if let Some(record) = self.by_id.remove(id) {
                self.unlist(&record);
            }
        }
    }

    /// The deployments of one target, oldest first.
    pub fn of_target<'a>(&'a self, arn: &str) -> impl Iterator<Item = &'a DeploymentRecord> {
        self.by_target
            .get(arn)
            .into_iter()
            .flat_map(Keys::iter)
            .filter_map(|(_, id)| self.by_id.get(id).map(|r| &**r))
    }

    pub fn all(&self) -> impl Iterator<Item = &DeploymentRecord> {
        self.by_id.values().map(|r| &**r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn new(id: &str, last_succeeded: Option<&str>, spec: &str) -> NewDeployment {
        NewDeployment {
            id: id.into(),
            arn: format!("arn:d/{id}"),
            target: DeploymentTarget {
                kind: TargetKind::Environment,
                arn: "arn:env".into(),
                created_at: 0,
                environment_name: "env".into(),
                service_name: None,
                service_instance_name: None,
                component_name: None,
            },
            target_state: json!({"environment": {"spec": spec}}),
            last_succeeded_id: last_succeeded.map(str::to_string),
            last_attempted_id: last_succeeded.map(str::to_string),
        }
    }

    #[test]
    fn a_second_deployment_starts_from_the_first_ones_target_state() {
        let mut deployments = Deployments::default();
        deployments.start(new("a", None, "one"), 1);
        deployments.finish(DeploymentId::new("a"), DeploymentStatus::Succeeded, None, 5);
        deployments.start(new("b", Some("a"), "two"), 6);
        let b = deployments.get("b").unwrap();
        assert_eq!(
            b.initial_state.as_deref(),
            Some(&json!({"environment": {"spec": "one"}}))
        );
        assert_eq!(deployments.get("a").unwrap().completed_at, Some(5));
        let ids: Vec<_> = deployments.of_target("arn:env").map(|d| &d.id).collect();
        assert_eq!(ids, ["a", "b"]);
        let listed = |d: &Deployments, listing: &Listing| {
            d.listing(listing, None)
                .map(|(_, r)| r.id.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(listed(&deployments, &Listing::All), ["b", "a"]);
        assert_eq!(
            listed(&deployments, &Listing::Environment("env".into())),
            ["b", "a"]
        );
        assert!(listed(&deployments, &Listing::Service("s".into())).is_empty());
        deployments.remove("a");
        assert_eq!(listed(&deployments, &Listing::All), ["b"]);
        deployments.forget_target("arn:env");
        assert_eq!(deployments.all().count(), 0);
        assert!(listed(&deployments, &Listing::All).is_empty());
    }

    #[test]
    fn keys_stay_ordered_inline_and_in_a_tree() {
        let key = |n: Millis| (n, DeploymentId::new(&format!("d{n}")));
        let listed = |keys: &Keys| keys.iter().map(|(n, _)| *n).collect::<Vec<_>>();
        let mut keys = Keys::default();
        assert!(keys.is_empty());
        keys.insert(key(5));
        keys.insert(key(3));
        keys.insert(key(5));
        assert_eq!(listed(&keys), [3, 5]);
        assert!(matches!(keys, Keys::Inline { .. }));
        keys.insert(key(4));
        assert!(matches!(keys, Keys::Tree(_)));
        assert_eq!(listed(&keys), [3, 4, 5]);
        let from = |keys: &Keys, n| {
            keys.from(std::ops::Bound::Included(key(n)))
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
        };
        assert_eq!(from(&keys, 4), [4, 5]);
        let mut small = Keys::default();
        small.insert(key(7));
        small.insert(key(2));
        assert_eq!(from(&small, 3), [7]);
        small.remove(&key(2));
        assert_eq!(listed(&small), [7]);
        small.remove(&key(7));
        assert!(small.is_empty());
        keys.remove(&key(4));
        assert_eq!(listed(&keys), [3, 5]);
    }
}
