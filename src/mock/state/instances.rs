//! [`Instances`]: every service's instances in one table, found by the
//! service's and the instance's names together.
//!
//! Held inside each service, an instance was two lookups away: the
//! service's entry, then its own table's index and entry, each a wait on
//! memory before the next could start. One state-wide table keyed by both
//! names reaches it with one probe of an index and its entry. The key is
//! the service's name, a NUL and the instance's name: a service name (a
//! model-checked resource name) holds no NUL, so the key splits one way,
//! and NUL sorts before every other character, so key order is the order
//! of (service, instance) and a service's instances sit together in it.
//! Keys are held in place when short ([`Text`]), so that the ordered index a
//! listing searches compares keys without reading allocations.

use super::text::Text;
use super::{ServiceInstance, Table};
use std::ops::Bound;

/// Every service instance, keyed by service and instance name; listed in
/// that order.
#[derive(Debug, Default)]
pub struct Instances {
    table: Table<Key, ServiceInstance>,
}

/// How many bytes of a key are held inline.
const SHORT: usize = 38;

/// A key of the table: the joined names, in place up to [`SHORT`] bytes.
type Key = Text<SHORT>;

/// The key of `name` of `service`.
fn key(service: &str, name: &str) -> Key {
    with_joined(service, '\0', name, Key::new)
}

/// Runs `f` on `service`, `separator` (ASCII) and `name` joined as one
/// text, built on the stack when it is short (as names mostly are), so that
/// a lookup allocates nothing.
fn with_joined<T>(service: &str, separator: char, name: &str, f: impl FnOnce(&str) -> T) -> T {
    const ROOM: usize = 64;
    let len = service.len() + 1 + name.len();
    let joined = || {
        let mut text = String::with_capacity(len);
        text.push_str(service);
        text.push(separator);
        text.push_str(name);
        text
    };
    if len > ROOM || !separator.is_ascii() {
        return f(&joined());
    }
    let mut bytes = [0u8; ROOM];
    bytes[..service.len()].copy_from_slice(service.as_bytes());
    bytes[service.len()] = separator as u8;
    bytes[service.len() + 1..len].copy_from_slice(name.as_bytes());
    // Two texts joined by an ASCII character are text.
    match std::str::from_utf8(&bytes[..len]) {
        Ok(key) => f(key),
        Err(_) => f(&joined()),
    }
}

/// The bounds of `service`'s keys: from its name and a NUL, up to (not
/// including) its name and the character after NUL.
fn bounds(service: &str) -> (Bound<Key>, Bound<Key>) {
    (
        Bound::Included(with_joined(service, '\0', "", Key::new)),
        Bound::Excluded(with_joined(service, '\u{1}', "", Key::new)),
    )
}

impl Instances {
    pub fn get(&self, service: &str, name: &str) -> Option<&ServiceInstance> {
        with_joined(service, '\0', name, |key| self.table.get(key))
    }

    /// Asks for the line of the index where a lookup of `name` of
    /// `service` starts ([`Table::prefetch`]).
    pub fn prefetch(&self, service: &str, name: &str) {
        with_joined(service, '\0', name, |key| self.table.prefetch(key));
    }

    pub fn get_mut(&mut self, service: &str, name: &str) -> Option<&mut ServiceInstance> {
        with_joined(service, '\0', name, |key| self.table.get_mut(key))
    }

    pub fn contains(&self, service: &str, name: &str) -> bool {
        with_joined(service, '\0', name, |key| self.table.contains_key(key))
    }

    /// Adds (or replaces) `instance`, under its own name, to `service`.
    pub fn insert(&mut self, service: &str, instance: ServiceInstance) {
        self.table.insert(key(service, &instance.name), instance);
    }

    pub fn remove(&mut self, service: &str, name: &str) -> Option<ServiceInstance> {
        with_joined(service, '\0', name, |key| self.table.remove(key))
    }

    /// The instances of `service`, by name. The walk searches the ordered
    /// index for its first key only and stops at the first key of another
    /// service: a range with both ends would search for its last key too,
    /// one more descent through cold nodes of a large index.
    pub fn of<'a>(&'a self, service: &str) -> impl Iterator<Item = &'a ServiceInstance> + use<'a> {
        // Every key of `service` starts with its name and a NUL; no other does.
        let prefix = with_joined(service, '\0', "", Key::new);
        self.table
            .range::<Key, _>((Bound::Included(prefix.clone()), Bound::Unbounded))
            .take_while(move |(key, _)| key.as_str().starts_with(prefix.as_str()))
            .map(|(_, instance)| instance)
    }

    /// Calls `f` with each instance of `service`, by name.
    pub fn for_each_of_mut(&mut self, service: &str, f: impl FnMut(&mut ServiceInstance)) {
        self.table.for_range_mut::<Key, _>(bounds(service), f);
    }

    /// Takes every instance of `service` out, by name.
    pub fn remove_service(&mut self, service: &str) -> Vec<ServiceInstance> {
        let keys: Vec<Key> = self
            .table
            .range::<Key, _>(bounds(service))
            .map(|(key, _)| key.clone())
            .collect();
        keys.iter()
            .filter_map(|key| self.table.remove(key.as_str()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::state::Deployment;

    fn instance(name: &str) -> ServiceInstance {
        ServiceInstance {
            name: name.into(),
            arn: format!("arn:{name}").into(),
            created_at: 0,
            environment_name: "env".into(),
            spec: "".into(),
            template_name: "t".into(),
            template_major: 1,
            template_minor: 0,
            deployment: Deployment::start(0, None, Default::default()),
            last_client_token: None,
        }
    }

    #[test]
    fn a_services_instances_are_found_and_listed_apart_from_a_longer_named_ones() {
        let mut instances = Instances::default();
        let long = "i".repeat(80);
        for (service, name) in [
            ("s1", "b"),
            ("s", "z"),
            ("s1", "a"),
            ("s1-x", "a"),
            ("s", &long),
        ] {
            instances.insert(service, instance(name));
        }
        let names = |i: &Instances, service: &str| -> Vec<String> {
            i.of(service).map(|i| i.name.to_string()).collect()
        };
        assert_eq!(names(&instances, "s1"), ["a", "b"]);
        assert_eq!(names(&instances, "s"), [long.clone(), "z".to_string()]);
        assert_eq!(names(&instances, "s1-x"), ["a"]);
        assert!(instances.contains("s", &long));
        assert!(!instances.contains("s", "a"));
        assert_eq!(
            instances.get("s1-x", "a").map(|i| i.arn.as_str()),
            Some("arn:a")
        );
        instances.for_each_of_mut("s1", |i| i.template_minor = 7);
        assert_eq!(instances.get("s1", "b").map(|i| i.template_minor), Some(7));
        assert_eq!(
            instances.get("s1-x", "a").map(|i| i.template_minor),
            Some(0)
        );
        let gone: Vec<String> = instances
            .remove_service("s1")
            .into_iter()
            .map(|i| i.name.to_string())
            .collect();
        assert_eq!(gone, ["a", "b"]);
        assert!(instances.get("s1", "a").is_none());
        assert_eq!(names(&instances, "s1-x"), ["a"]);
        assert!(instances.remove("s", "z").is_some());
        assert_eq!(names(&instances, "s"), [long]);
    }
}
