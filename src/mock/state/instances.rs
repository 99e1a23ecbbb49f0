//! [`Instances`]: every service's instances in one table, found by the
//! service's and the instance's names together.
//!
//! Held inside each service, an instance was two lookups away: the
//! service's entry, then its own table's index and entry, each a wait on
//! memory before the next could start. One state-wide table keyed by both
//! names reaches it with one probe of an index and its entry. The key is
//! the service's name, a NUL and the instance's name: a service name (a
//! model-checked resource name) holds no NUL, so the key splits one way.
//! Keys are held in place when short ([`Text`]).
//!
//! A service's instances are listed from a list of their names kept per
//! service, each then looked up by hash, so the table keeps no order of
//! its own ([`HashTable`]). Walking an ordered index of every instance's
//! key instead was a descent through several B-tree nodes that the caches
//! no longer hold with thousands of instances, each comparing keys before
//! the next node is known, and every insert paid to keep it.

use super::text::{Name, Text};
use super::{HashTable, ServiceInstance};

/// Every service instance, keyed by service and instance name; a
/// service's instances listed by name.
#[derive(Debug, Default)]
pub struct Instances {
    table: HashTable<Key, ServiceInstance>,
    /// Each service's instance names, sorted; no entry for a service
    /// without instances.
    names: HashTable<Name, Vec<Name>>,
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
        let service = Name::new(service);
        let hash = self.names.prefetch(&service);
        let names = self.names.get_or_default_prefetched(&service, hash);
        if let Err(at) = names.binary_search_by(|n| n.as_str().cmp(&instance.name)) {
            names.insert(at, instance.name.clone());
        }
        self.table
            .insert(key(service.as_str(), &instance.name), instance);
    }

    pub fn remove(&mut self, service: &str, name: &str) -> Option<ServiceInstance> {
        let removed = with_joined(service, '\0', name, |key| self.table.remove(key))?;
        if let Some(names) = self.names.get_mut(service) {
            if let Ok(at) = names.binary_search_by(|n| n.as_str().cmp(name)) {
                names.remove(at);
            }
            if names.is_empty() {
                self.names.remove(service);
            }
        }
        Some(removed)
    }

    /// The names of `service`'s instances, sorted.
    fn names_of(&self, service: &str) -> &[Name] {
        self.names.get(service).map_or(&[], Vec::as_slice)
    }

    /// The instances of `service`, by name. Every lookup's line of the
    /// index is asked for before the first is read, so that the waits for
    /// them overlap.
    pub fn of<'a>(&'a self, service: &str) -> std::vec::IntoIter<&'a ServiceInstance> {
        let names = self.names_of(service);
        let hashes: Vec<_> = names
            .iter()
            .map(|name| with_joined(service, '\0', name, |key| self.table.prefetch(key)))
            .collect();
        let found: Vec<&ServiceInstance> = names
            .iter()
            .zip(hashes)
            .filter_map(|(name, hash)| {
                with_joined(service, '\0', name, |key| {
                    self.table.get_prefetched(key, hash)
                })
            })
            .collect();
        found.into_iter()
    }

    /// Calls `f` with each instance of `service`, by name.
    pub fn for_each_of_mut(&mut self, service: &str, mut f: impl FnMut(&mut ServiceInstance)) {
        let Self { table, names } = self;
        for name in names.get(service).map_or(&[][..], Vec::as_slice) {
            if let Some(instance) = with_joined(service, '\0', name, |key| table.get_mut(key)) {
                f(instance);
            }
        }
    }

    /// Takes every instance of `service` out, by name.
    pub fn remove_service(&mut self, service: &str) -> Vec<ServiceInstance> {
        let names = self.names.remove(service).unwrap_or_default();
        names
            .iter()
            .filter_map(|name| with_joined(service, '\0', name, |key| self.table.remove(key)))
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
        // Inserting a name again replaces the instance; it is listed once.
        let mut again = instance("a");
        again.template_minor = 3;
        instances.insert("s1", again);
        assert_eq!(names(&instances, "s1"), ["a", "b"]);
        assert_eq!(instances.get("s1", "a").map(|i| i.template_minor), Some(3));
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
        assert_eq!(names(&instances, "s"), std::slice::from_ref(&long));
        assert!(instances.remove("s", "z").is_none(), "removed once");
        assert!(instances.remove("s", &long).is_some());
        assert_eq!(names(&instances, "s"), Vec::<String>::new());
        assert!(instances.remove_service("s").is_empty());
    }
}
