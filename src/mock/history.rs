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
use super::state::{
    Arn, DeploymentId, HashTable, Name, Prefetched, ProbeSlot, Text, free_slot, place_slot, regrow,
    warm, warm_home,
};
use serde_json::Value;
use std::collections::BTreeSet;
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
/// Its ARN and names are held in place (`Text`), so that
/// a listing's page reads each record and nothing beyond it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeploymentTarget {
    pub kind: TargetKind,
    pub arn: Arn,
    pub created_at: Millis,
    pub environment_name: Name,
    pub service_name: Option<Name>,
    pub service_instance_name: Option<Name>,
    pub component_name: Option<Name>,
}

/// A deployment target named by its kind and names: what the per-target
/// sets are keyed by. The names place a target as its ARN does (the mock
/// has one region and account), in a key short enough for a slot of the
/// table's index to hold, where an ARN is not.
#[derive(Clone, Copy, Debug)]
pub enum TargetName<'a> {
    Environment(&'a str),
    /// The pipeline of a service.
    ServicePipeline(&'a str),
    /// (service, instance).
    ServiceInstance(&'a str, &'a str),
    Component(&'a str),
}

impl TargetName<'_> {
    /// The name as one text: a kind letter, then its names (a service's
    /// length-prefixed, so that no two targets share a key).
    fn key(self) -> ListKey {
        match self {
            Self::Environment(name) => key(b'e', None, name),
            Self::ServicePipeline(service) => key(b'p', None, service),
            Self::ServiceInstance(service, instance) => key(b'i', Some(service), instance),
            Self::Component(name) => key(b'c', None, name),
        }
    }
}

/// How many listings one deployment can appear in: all, its environment's,
/// its service's, its service instance's and its component's.
const LISTINGS: usize = 5;

/// A key of the per-target sets or the listings, held in place (a lookup
/// allocates nothing; only a new entry's key is copied into a `String`).
type ListKey = Text<46>;

/// The key of the per-target sets or the listings: `kind`, then `name`,
/// or then the length of `service`, a colon, `service` and `name`. Written
/// piece by piece: the formatting machinery costs more than the lookup
/// the key is for.
fn key(kind: u8, service: Option<&str>, name: &str) -> ListKey {
    let mut buffer = [0u8; 20];
    let parts: [&[u8]; 5] = match service {
        Some(service) => [
            &[kind],
            super::state::digits(service.len() as u64, &mut buffer).as_bytes(),
            b":",
            service.as_bytes(),
            name.as_bytes(),
        ],
        None => [&[kind], b"", b"", b"", name.as_bytes()],
    };
    let mut bytes = [0u8; 64];
    let mut len = 0;
    for part in parts {
        if let Some(room) = bytes.get_mut(len..len + part.len()) {
            room.copy_from_slice(part);
        }
        len += part.len();
    }
    match bytes.get(..len).map(std::str::from_utf8) {
        Some(Ok(text)) => ListKey::new(text),
        // Longer than the buffer: joined in an allocation.
        _ => ListKey::from(
            parts
                .iter()
                .map(|part| String::from_utf8_lossy(part))
                .collect::<String>(),
        ),
    }
}

impl DeploymentTarget {
    pub fn name(&self) -> TargetName<'_> {
        let service = self.service_name.as_deref().unwrap_or_default();
        match self.kind {
            TargetKind::Environment => TargetName::Environment(&self.environment_name),
            TargetKind::ServicePipeline => TargetName::ServicePipeline(service),
            TargetKind::ServiceInstance => TargetName::ServiceInstance(
                service,
                self.service_instance_name.as_deref().unwrap_or_default(),
            ),
            TargetKind::Component => {
                TargetName::Component(self.component_name.as_deref().unwrap_or_default())
            }
        }
    }
}

#[derive(Clone, Debug)]
pub struct DeploymentRecord {
    pub id: DeploymentId,
    pub arn: Arn,
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
    pub last_attempted_id: Option<DeploymentId>,
    pub last_succeeded_id: Option<DeploymentId>,
    /// `[{key, valueString}]`, set by NotifyResourceDeploymentStatusChange
    /// or the admin API.
    pub outputs: Vec<Value>,
}

/// Every deployment record, found by id, with the deployments of each
/// target and the listings ListDeployments reads.
///
/// Records sit side by side in one vector and keep their place for life
/// (a removed record's place is reused by a later one), so a listing or a
/// target's set holds each record's place beside its key and reads the
/// record without a lookup by id. The index by id ([`IdIndex`]) holds
/// places too: finding a record by id reads one line of the index, then the
/// record, whose id it compares.
#[derive(Debug, Default)]
pub struct Deployments {
    records: Vec<Option<DeploymentRecord>>,
    /// Places in `records` free for the next record.
    free: Vec<u32>,
    by_id: IdIndex,
    /// Target ([`TargetName::key`], not its ARN, so that the key sits in
    /// the table's index) -> (created_at, id, place) of its deployments,
    /// oldest first.
    by_target: HashTable<String, Keys>,
    /// The records of each listing, newest first: (`Millis::MAX` minus the
    /// creation instant, id, place). The instant comes first, so that a new
    /// record (the newest) finds its place by comparing numbers.
    /// Keyed by [`Listing::key`], so that a listing's key is compared in
    /// the table's index, not read from an allocation of its own.
    listings: HashTable<String, Keys>,
}

/// Places of records by id: open addressing, linear probing, at most half
/// full. A slot holds 32 bits of the id's hash and the record's place, so
/// eight share a cache line; the id itself is compared in the record.
#[derive(Debug, Default)]
struct IdIndex {
    slots: Vec<IdSlot>,
    len: usize,
    hasher: std::hash::RandomState,
}

#[derive(Clone, Copy, Debug)]
struct IdSlot {
    hash: u32,
    /// The record's place; [`NO_PLACE`] for a free slot.
    at: u32,
}

const NO_PLACE: u32 = u32::MAX;

impl ProbeSlot for IdSlot {
    const FREE: Self = IdSlot {
        hash: 0,
        at: NO_PLACE,
    };

    fn hash(&self) -> Option<usize> {
        (self.at != NO_PLACE).then_some(self.hash as usize)
    }
}

impl IdIndex {
    fn hash(&self, id: &DeploymentId) -> u32 {
        use std::hash::BuildHasher;
        // The low bits pick the slot; 32 of them are enough for any table
        // that fits in memory.
        self.hasher.hash_one(id) as u32
    }

    /// The place in the index of `id`'s slot, and the slot, whose record
    /// `records` holds.
    fn find(
        &self,
        id: &DeploymentId,
        hash: u32,
        records: &[Option<DeploymentRecord>],
    ) -> Option<(usize, IdSlot)> {
        self.probe(hash).find(|(_, slot)| {
            slot.hash == hash
                && records
                    .get(slot.at as usize)
                    .and_then(Option::as_ref)
                    .is_some_and(|record| record.id == *id)
        })
    }

    /// The taken slots on the probe of `hash`, in order, with their places
    /// in the index, up to the first free one (the index is at most half
    /// full, so there is one).
    fn probe(&self, hash: u32) -> impl Iterator<Item = (usize, IdSlot)> + '_ {
        let mask = self.slots.len().wrapping_sub(1);
        let start = (self.len > 0).then_some(hash as usize & mask);
        std::iter::successors(start, move |at| Some((at + 1) & mask)).map_while(move |at| {
            self.slots
                .get(at)
                .filter(|slot| slot.at != NO_PLACE)
                .map(|slot| (at, *slot))
        })
    }

    /// Asks for the line of the index where a lookup (or an insert) of
    /// `id` starts.
    fn prefetch(&self, hash: u32) {
        warm_home(&self.slots, hash as usize);
    }

    /// Asks for the records a lookup of `id` would compare, without
    /// reading them: every record whose slot, on `id`'s probe, holds its
    /// hash (almost always the one record that is `id`'s).
    fn warm_records(&self, hash: u32, records: &[Option<DeploymentRecord>]) {
        for (_, slot) in self.probe(hash).filter(|(_, slot)| slot.hash == hash) {
            if let Some(record) = records.get(slot.at as usize) {
                warm::value(record);
            }
        }
    }

    /// The place in `records` of the record `id`.
    fn get(&self, id: &DeploymentId, records: &[Option<DeploymentRecord>]) -> Option<usize> {
        self.get_hashed(id, self.hash(id), records)
    }

    /// [`IdIndex::get`], with `id`'s hash.
    fn get_hashed(
        &self,
        id: &DeploymentId,
        hash: u32,
        records: &[Option<DeploymentRecord>],
    ) -> Option<usize> {
        self.find(id, hash, records)
            .map(|(_, slot)| slot.at as usize)
    }

    /// Adds an id (which the index does not hold) of hash `hash` at place
    /// `at`.
    fn insert(&mut self, hash: u32, at: u32) {
        if (self.len + 1) * 2 > self.slots.len() {
            self.slots = regrow(&self.slots, (self.slots.len() * 2).max(16));
        }
        place_slot(&mut self.slots, IdSlot { hash, at });
        self.len += 1;
    }

    /// Forgets `id`, moving back the slots after it that probed past it
    /// (no tombstones).
    fn remove(&mut self, id: &DeploymentId, records: &[Option<DeploymentRecord>]) {
        let Some((hole, _)) = self.find(id, self.hash(id), records) else {
            return;
        };
        self.len -= 1;
        free_slot(&mut self.slots, hole);
    }
}

/// A deployment in a listing or a target's set: an instant (or its
/// complement, for newest first) and the id, which order it, and the
/// record's place in [`Deployments`].
type Key = (Millis, DeploymentId, u32);

/// The keys of one listing or target, in order. Most hold one or two (a
/// resource's first deployment and the next), kept inline in the table's
/// entry, so reading or adding to them reads nothing from elsewhere; more
/// go to a tree.
#[derive(Clone, Debug)]
enum Keys {
    Inline {
        len: usize,
        keys: [Key; 2],
    },
    /// `edge`: the address of the key inserted last, in the leaf where the
    /// next one (before it in a listing, after it in a target's set) most
    /// likely goes, and `parent`: of a key in that leaf's parent node (0
    /// when the leaf is the root), so that both nodes' lines can be asked
    /// for from the table's entry alone. Never read through: they may name
    /// keys since moved.
    Tree {
        tree: BTreeSet<Key>,
        edge: usize,
        parent: usize,
    },
}

/// How many keys a leaf of the standard library's B-tree holds at most.
const LEAF: usize = 11;

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
                    let (edge, parent) = Self::addresses(&tree, &key);
                    *self = Self::Tree { tree, edge, parent };
                }
            }
            Self::Tree { tree, edge, parent } => {
                tree.insert(key);
                (*edge, *parent) = Self::addresses(tree, &key);
            }
        }
    }

    /// Where `key` sits in `tree` (which holds it), and where a key of its
    /// leaf's parent node sits (0 if none is found), as addresses. A new
    /// key is almost always the first or the last: its leaf's keys are
    /// then the ones next to it in order whose addresses follow on from
    /// its own, and the first key beyond them that does not is its
    /// parent's (a node's keys sit side by side; the key after a leaf's
    /// last, in order, is in its parent).
    fn addresses(tree: &BTreeSet<Key>, key: &Key) -> (usize, usize) {
        let address = |key: &Key| std::ptr::from_ref(key).addr();
        let step = std::mem::size_of::<Key>();
        let from_edge = |keys: &mut dyn Iterator<Item = &Key>, forward: bool| {
            let edge = keys.next().map_or(0, address);
            let mut at = edge;
            let parent = keys
                .take(LEAF)
                .map(address)
                .find(|next| {
                    let expected = if forward {
                        at + step
                    } else {
                        at.wrapping_sub(step)
                    };
                    at = *next;
                    *next != expected
                })
                .unwrap_or(0);
            (edge, parent)
        };
        if tree.first() == Some(key) {
            from_edge(&mut tree.iter(), true)
        } else if tree.last() == Some(key) {
            from_edge(&mut tree.iter().rev(), false)
        } else {
            (tree.get(key).map_or(0, address), 0)
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
            Self::Tree { tree, .. } => {
                tree.remove(key);
            }
        }
    }

    /// Asks for the lines an insert at the front (`front`) or the back
    /// reads and moves, without reading the tree: inline keys come with
    /// the entry; a tree's are around its `edge`, in a leaf of up to
    /// [`LEAF`] keys.
    fn warm(&self, front: bool) {
        if let Self::Tree { edge, parent, .. } = self {
            let edge = std::ptr::without_provenance::<Key>(*edge);
            // The parent's keys and the child pointers after them, which a
            // search reads from its first key on.
            let node = LEAF + 3;
            if front {
                warm::span(edge, LEAF);
            } else {
                warm::span(edge.wrapping_sub(LEAF - 1), LEAF + 1);
            }
            if *parent != 0 {
                let parent = std::ptr::without_provenance::<Key>(*parent);
                if front {
                    warm::span(parent, node);
                } else {
                    warm::span(parent.wrapping_sub(LEAF - 1), node + LEAF - 1);
                }
            }
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Self::Inline { len, .. } => *len == 0,
            Self::Tree { tree, .. } => tree.is_empty(),
        }
    }

    fn parts(&self) -> (&[Key], Option<&BTreeSet<Key>>) {
        match self {
            Self::Inline { len, keys } => (&keys[..*len], None),
            Self::Tree { tree, .. } => (&[], Some(tree)),
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Listing<'a> {
    All,
    Environment(&'a str),
    Service(&'a str),
    /// (service, instance).
    ServiceInstance(&'a str, &'a str),
    Component(&'a str),
}

impl<'a> Listing<'a> {
    /// The listings of `target` that only its own kind and names place
    /// (those of a few records, not of every one or of an environment's).
    fn of_target(target: TargetName<'a>) -> impl Iterator<Item = Self> {
        let (first, second) = match target {
            TargetName::Environment(name) => (Self::Environment(name), None),
            TargetName::ServicePipeline(service) => (Self::Service(service), None),
            TargetName::ServiceInstance(service, instance) => (
                Self::Service(service),
                Some(Self::ServiceInstance(service, instance)),
            ),
            TargetName::Component(name) => (Self::Component(name), None),
        };
        std::iter::once(first).chain(second)
    }

    /// Every listing a deployment of `t` appears in (at most [`LISTINGS`]).
    fn of(t: &'a DeploymentTarget) -> impl Iterator<Item = Self> {
        let service = t.service_name.as_deref();
        let listings: [Option<Self>; LISTINGS] = [
            Some(Self::All),
            Some(Self::Environment(&t.environment_name)),
            service.map(Self::Service),
            service
                .zip(t.service_instance_name.as_deref())
                .map(|(service, instance)| Self::ServiceInstance(service, instance)),
            t.component_name.as_deref().map(Self::Component),
        ];
        listings.into_iter().flatten()
    }

    /// The listing as one text: a kind letter, then its names (a service's
    /// length-prefixed, so that no two listings share a key).
    fn key(&self) -> ListKey {
        match *self {
            Self::All => key(b'a', None, ""),
            Self::Environment(name) => key(b'e', None, name),
            Self::Service(name) => key(b's', None, name),
            Self::ServiceInstance(service, instance) => key(b'i', Some(service), instance),
            Self::Component(name) => key(b'c', None, name),
        }
    }
}

/// What a new deployment deploys, from the resource that starts it.
pub struct NewDeployment {
    pub id: DeploymentId,
    pub arn: Arn,
    pub target: DeploymentTarget,
    /// `DeploymentState` (`{"environment": {...}}` and so on).
    pub target_state: Value,
    /// The target's last successful deployment, whose target state becomes
    /// this one's initial state.
    pub last_succeeded_id: Option<DeploymentId>,
    pub last_attempted_id: Option<DeploymentId>,
}

impl DeploymentRecord {
    /// Starts loading what a summary of the record reads
    /// ([`super::state::warm`]).
    pub fn warm(&self) {
        let t = &self.target;
        warm::value(self);
        self.arn.warm();
        t.arn.warm();
        t.environment_name.warm();
        for text in [&t.service_name, &t.service_instance_name, &t.component_name] {
            text.iter().for_each(Name::warm);
        }
    }
}

impl Deployments {
    /// The record at place `at`.
    fn at(&self, at: u32) -> Option<&DeploymentRecord> {
        self.records.get(at as usize)?.as_ref()
    }

    /// Records a deployment that starts at `now`, IN_PROGRESS. Its initial
    /// state is the target state of the target's last successful
    /// deployment; its outputs are those of the last attempted one, until
    /// it reports its own.
    pub fn start(&mut self, new: NewDeployment, now: Millis) {
        // Every line the record's bookkeeping reads is asked for in rounds
        // (the index slots; the entries and records they point to; the
        // shared target state and the trees' leaves), so that a deployment of one of thousands of targets
        // waits for each round once instead of for each line in turn.
        let target_key = new.target.name().key();
        let target_hash = self.by_target.prefetch(target_key.as_str());
        let listings: [Option<(ListKey, Prefetched)>; LISTINGS] = {
            let mut keys = Listing::of(&new.target).map(|listing| listing.key());
            std::array::from_fn(|_| {
                let key = keys.next()?;
                let hash = self.listings.prefetch(key.as_str());
                Some((key, hash))
            })
        };
        // The last attempted deployment, and the last successful one when
        // it is another.
        let previous = [
            new.last_attempted_id,
            new.last_succeeded_id
                .filter(|id| Some(*id) != new.last_attempted_id),
        ]
        .map(|id| id.map(|id| (id, self.by_id.hash(&id))));
        for (_, hash) in previous.iter().flatten() {
            self.by_id.prefetch(*hash);
        }
        let id_hash = self.by_id.hash(&new.id);
        self.by_id.prefetch(id_hash);
        // A found entry's lines are asked for ([`Table::get_prefetched`]).
        let target_keys = self
            .by_target
            .get_prefetched(target_key.as_str(), target_hash);
        let listing_keys = listings.each_ref().map(|listing| {
            let (key, hash) = listing.as_ref()?;
            self.listings.get_prefetched(key.as_str(), *hash)
        });
        for (_, hash) in previous.iter().flatten() {
            self.by_id.warm_records(*hash, &self.records);
        }
        let [attempted, other_succeeded] = previous.map(|previous| {
            let (id, hash) = previous?;
            let at = self.by_id.get_hashed(&id, hash, &self.records)?;
            self.records.get(at)?.as_ref()
        });
        // The target state the new record shares (its count is written).
        if let Some(record) = attempted.or(other_succeeded) {
            warm::span(
                Arc::as_ptr(&record.target_state)
                    .cast::<u8>()
                    .wrapping_sub(2 * std::mem::size_of::<usize>()),
                2 * std::mem::size_of::<usize>() + std::mem::size_of::<Value>(),
            );
        }
        if let Some(keys) = target_keys {
            keys.warm(false);
        }
        for keys in listing_keys.into_iter().flatten() {
            keys.warm(true);
        }
        let succeeded = match (&new.last_succeeded_id, attempted) {
            (Some(id), Some(attempted)) if *id == attempted.id => Some(attempted),
            _ => other_succeeded,
        };
        let initial_state = succeeded.map(|previous| Arc::clone(&previous.target_state));
        let outputs = attempted.map(|d| d.outputs.clone()).unwrap_or_default();
        let id = new.id;
        let record = DeploymentRecord {
            id,
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
        };
        // Places fit in 32 bits: a history never holds 4 billion records.
        let at = match self.free.pop() {
            Some(at) => at,
            None => {
                self.records.push(None);
                u32::try_from(self.records.len() - 1).unwrap_or(NO_PLACE - 1)
            }
        };
        self.by_target
            .get_or_default_prefetched(target_key.as_str(), target_hash)
            .insert((now, id, at));
        for (key, hash) in listings.into_iter().flatten() {
            self.listings
                .get_or_default_prefetched(key.as_str(), hash)
                .insert((Millis::MAX - now, id, at));
        }
        if let Some(place) = self.records.get_mut(at as usize) {
            *place = Some(record);
        }
        self.by_id.insert(id_hash, at);
    }

    /// Asks for the lines of the index a deployment of `target` will read
    /// first (its set's and its own listings' slots), so that the caller's
    /// work before the deployment starts overlaps the waits for them.
    pub fn prefetch(&self, target: TargetName) {
        self.by_target.prefetch(target.key().as_str());
        for listing in Listing::of_target(target) {
            self.listings.prefetch(listing.key().as_str());
        }
    }

    /// Asks for the index slot of `listing` ([`Deployments::listing`]).
    pub fn prefetch_listing(&self, listing: &Listing) {
        self.listings.prefetch(listing.key().as_str());
    }

    /// Asks for the entries of `target`'s set and own listings, once
    /// [`Deployments::prefetch`] asked for their slots.
    pub fn warm(&self, target: TargetName) {
        // A found entry's lines are asked for ([`Table::get`]).
        let _ = self.by_target.get(target.key().as_str());
        for listing in Listing::of_target(target) {
            let _ = self.listings.get(listing.key().as_str());
        }
    }

    /// Asks for the line of the index by id where the record `id` is found
    /// (the last deployment, which the next one reads).
    pub fn prefetch_id(&self, id: &DeploymentId) {
        self.by_id.prefetch(self.by_id.hash(id));
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
                    Some((newness.parse::<Millis>().ok()?, DeploymentId::exact(id)?, 0))
                })
                .map(Bound::Included),
        };
        self.listings
            .get(listing.key().as_str())
            .zip(from)
            .into_iter()
            .flat_map(|(keys, from)| keys.from(from))
            .filter_map(|(newness, _, at)| {
                let record = self.at(*at)?;
                record.warm();
                Some((format!("{newness:020}/{}", record.id), record))
            })
    }

    fn unlist(&mut self, record: &DeploymentRecord, at: u32) {
        let key = (Millis::MAX - record.created_at, record.id, at);
        for listing in Listing::of(&record.target) {
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
        if let Some(record) = self.get_mut(&id) {
            record.status = status;
            record.status_message = message;
            record.last_modified_at = at;
            if status != DeploymentStatus::InProgress {
                record.completed_at = Some(at);
            }
        }
    }

    pub fn get(&self, id: &str) -> Option<&DeploymentRecord> {
        let at = self.by_id.get(&DeploymentId::exact(id)?, &self.records)?;
        self.records.get(at)?.as_ref()
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut DeploymentRecord> {
        let at = self.by_id.get(&DeploymentId::exact(id)?, &self.records)?;
        self.records.get_mut(at)?.as_mut()
    }

    /// Takes the record at place `at` out, freeing its place and its id.
    fn take(&mut self, at: usize) -> Option<DeploymentRecord> {
        let id = self.records.get(at)?.as_ref()?.id;
        self.by_id.remove(&id, &self.records);
        let record = self.records.get_mut(at)?.take()?;
        self.free.push(u32::try_from(at).unwrap_or(NO_PLACE - 1));
        Some(record)
    }

    pub fn remove(&mut self, id: &str) -> Option<DeploymentRecord> {
        let at = self.by_id.get(&DeploymentId::exact(id)?, &self.records)?;
        let record = self.take(at)?;
        let place = u32::try_from(at).unwrap_or(NO_PLACE - 1);
        self.unlist(&record, place);
        let target = record.target.name().key();
        if let Some(keys) = self.by_target.get_mut(target.as_str()) {
            keys.remove(&(record.created_at, record.id, place));
            if keys.is_empty() {
                self.by_target.remove(target.as_str());
            }
        }
        Some(record)
    }

    /// Forgets every deployment of a deleted resource.
    pub fn forget_target(&mut self, target: TargetName) {
        let keys = self
            .by_target
            .remove(target.key().as_str())
            .unwrap_or_default();
        for (_, _, at) in keys.iter() {
            if let Some(record) = self.take(*at as usize) {
                self.unlist(&record, *at);
            }
        }
    }

    /// The deployments of one target, oldest first.
    pub fn of_target<'a>(
        &'a self,
        target: TargetName,
    ) -> impl Iterator<Item = &'a DeploymentRecord> {
        self.by_target
            .get(target.key().as_str())
            .into_iter()
            .flat_map(Keys::iter)
            .filter_map(|(_, _, at)| self.at(*at))
    }

    pub fn all(&self) -> impl Iterator<Item = &DeploymentRecord> {
        self.records.iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn new(id: &str, last_succeeded: Option<&str>, spec: &str) -> NewDeployment {
        NewDeployment {
            id: DeploymentId::new(id),
            arn: format!("arn:d/{id}").into(),
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
            last_succeeded_id: last_succeeded.map(DeploymentId::new),
            last_attempted_id: last_succeeded.map(DeploymentId::new),
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
        let ids: Vec<_> = deployments
            .of_target(TargetName::Environment("env"))
            .map(|d| d.id.as_str())
            .collect();
        assert_eq!(ids, ["a", "b"]);
        let listed = |d: &Deployments, listing: &Listing| {
            d.listing(listing, None)
                .map(|(_, r)| r.id.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(listed(&deployments, &Listing::All), ["b", "a"]);
        assert_eq!(
            listed(&deployments, &Listing::Environment("env")),
            ["b", "a"]
        );
        assert!(listed(&deployments, &Listing::Service("s")).is_empty());
        deployments.remove("a");
        assert_eq!(listed(&deployments, &Listing::All), ["b"]);
        deployments.forget_target(TargetName::Environment("env"));
        assert_eq!(deployments.all().count(), 0);
        assert!(listed(&deployments, &Listing::All).is_empty());
    }

    #[test]
    fn places_freed_by_removals_are_reused_and_every_lookup_still_agrees() {
        let mut deployments = Deployments::default();
        let target = |n: u64| DeploymentTarget {
            kind: TargetKind::ServiceInstance,
            arn: format!("arn:i{}", n % 7).into(),
            created_at: 0,
            environment_name: "env".into(),
            service_name: Some("s".into()),
            service_instance_name: Some(format!("i{}", n % 7).into()),
            component_name: None,
        };
        let mut live = std::collections::BTreeMap::new();
        for n in 0..300u64 {
            let id = format!("d{n}");
            deployments.start(
                NewDeployment {
                    id: DeploymentId::new(&id),
                    arn: format!("arn:d/{id}").into(),
                    target: target(n),
                    target_state: json!({}),
                    last_succeeded_id: None,
                    last_attempted_id: None,
                },
                n,
            );
            live.insert(id, n % 7);
            if n % 3 == 2 {
                let gone = format!("d{}", n / 2);
                let removed = deployments.remove(&gone).map(|r| r.id.to_string());
                assert_eq!(removed, live.remove(&gone).map(|_| gone.clone()));
            }
            if n == 150 {
                deployments.forget_target(TargetName::ServiceInstance("s", "i3"));
                live.retain(|_, i| *i != 3);
            }
        }
        assert!(deployments.records.len() < 300, "removed places are reused");
        for n in 0..300u64 {
            let id = format!("d{n}");
            assert_eq!(
                deployments.get(&id).map(|r| r.id.to_string()),
                live.contains_key(&id).then(|| id.clone()),
                "{id}"
            );
        }
        let listed: Vec<String> = deployments
            .listing(&Listing::All, None)
            .map(|(_, r)| r.id.to_string())
            .collect();
        let mut expected: Vec<(u64, String)> = live
            .keys()
            .map(|id| (id[1..].parse().unwrap(), id.clone()))
            .collect();
        expected.sort_by(|a, b| b.cmp(a));
        assert_eq!(
            listed,
            expected.into_iter().map(|(_, id)| id).collect::<Vec<_>>()
        );
        for i in 0..7 {
            let name = format!("i{i}");
            let of: Vec<String> = deployments
                .of_target(TargetName::ServiceInstance("s", &name))
                .map(|r| r.id.to_string())
                .collect();
            let mut expected: Vec<(u64, String)> = live
                .iter()
                .filter(|(_, t)| **t == i)
                .map(|(id, _)| (id[1..].parse().unwrap(), id.clone()))
                .collect();
            expected.sort();
            assert_eq!(
                of,
                expected.into_iter().map(|(_, id)| id).collect::<Vec<_>>()
            );
        }
        assert_eq!(deployments.all().count(), live.len());
    }

    #[test]
    fn a_tree_of_keys_knows_where_its_newest_key_and_that_leafs_parent_are() {
        let key = |n: Millis| (n, DeploymentId::new(&format!("d{n}")), 0);
        let address = |key: &Key| std::ptr::from_ref(key).addr();
        for front in [true, false] {
            let mut keys = Keys::default();
            for n in 0..40 {
                keys.insert(key(if front { 1000 - n } else { n }));
                let Keys::Tree { tree, edge, parent } = &keys else {
                    continue;
                };
                let newest = if front { tree.first() } else { tree.last() };
                assert_eq!(Some(*edge), newest.map(address), "{front} {n}");
                // One leaf holds the first eleven keys; past them, the
                // parent's key is one of the tree's own.
                assert_eq!(*parent != 0, tree.len() > LEAF, "{front} {n}: {parent:#x}");
                if *parent != 0 {
                    assert!(tree.iter().any(|k| address(k) == *parent));
                }
            }
        }
    }

    #[test]
    fn keys_stay_ordered_inline_and_in_a_tree() {
        let key = |n: Millis| (n, DeploymentId::new(&format!("d{n}")), 0);
        let listed = |keys: &Keys| keys.iter().map(|(n, ..)| *n).collect::<Vec<_>>();
        let mut keys = Keys::default();
        assert!(keys.is_empty());
        keys.insert(key(5));
        keys.insert(key(3));
        keys.insert(key(5));
        assert_eq!(listed(&keys), [3, 5]);
        assert!(matches!(keys, Keys::Inline { .. }));
        keys.insert(key(4));
        assert!(matches!(keys, Keys::Tree { .. }));
        assert_eq!(listed(&keys), [3, 4, 5]);
        let from = |keys: &Keys, n| {
            keys.from(std::ops::Bound::Included(key(n)))
                .map(|(n, ..)| *n)
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
