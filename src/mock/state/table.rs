//! [`Table`]: the map the state keeps its resources in, looked up by hash
//! and listed in key order.
//!
//! A `BTreeMap<String, _>` finds a key by comparing it with several keys on
//! each level, and each comparison reads a key's bytes from wherever its
//! allocation landed: with thousands of resources, a lookup reads a dozen
//! cold cache lines. A hash lookup reads the probe group, the entry and one
//! key. The order lists and pages need is kept in a separate set of keys,
//! read only by what walks the table in order.

use std::borrow::Borrow;
use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;
use std::ops::RangeBounds;

/// Values by key: lookups by hash; [`Table::iter`], [`Table::values`],
/// [`Table::keys`] and [`Table::range`] in key order.
#[derive(Clone)]
pub struct Table<K, V> {
    values: HashMap<K, V>,
    order: BTreeSet<K>,
}

impl<K, V> Default for Table<K, V> {
    fn default() -> Self {
        Self {
            values: HashMap::new(),
            order: BTreeSet::new(),
        }
    }
}

impl<K: Ord + Hash + Clone, V> Table<K, V> {
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.values.get(key)
    }

    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.values.get_mut(key)
    }

    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.values.contains_key(key)
    }

    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        let previous = self.values.insert(key.clone(), value);
        if previous.is_none() {
            self.order.insert(key);
        }
        previous
    }

    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + Ord + ?Sized,
    {
        let value = self.values.remove(key)?;
        self.order.remove(key);
        Some(value)
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// In key order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&K, &V)> {
        self.order
            .iter()
            .filter_map(|key| self.values.get_key_value(key))
    }

    /// In key order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> {
        self.order.iter()
    }

    /// In key order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> {
        self.iter().map(|(_, value)| value)
    }

    /// In no particular order.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.values.values_mut()
    }

    /// The entries whose keys are in `range`, in key order.
    pub fn range<Q, R>(&self, range: R) -> impl DoubleEndedIterator<Item = (&K, &V)>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
        R: RangeBounds<Q>,
    {
        self.order
            .range(range)
            .filter_map(|key: &K| self.values.get_key_value::<K>(key))
    }
}

impl<K: Ord + Hash + Clone + std::fmt::Debug, V: std::fmt::Debug> std::fmt::Debug for Table<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_and_order_agree_through_inserts_and_removes() {
        let mut table = Table::default();
        for key in ["b", "d", "a", "c"] {
            assert!(table.insert(key.to_string(), key.len()).is_none());
        }
        assert_eq!(table.insert("a".to_string(), 7), Some(1));
        assert_eq!(table.remove("d"), Some(1));
        assert_eq!(table.remove("d"), None);
        assert_eq!(table.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(table.get("a"), Some(&7));
        assert!(!table.contains_key("d"));
        let from_b: Vec<_> = table
            .range::<str, _>((std::ops::Bound::Included("b"), std::ops::Bound::Unbounded))
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(from_b, ["b", "c"]);
        assert_eq!(table.values().next_back(), Some(&1));
        assert_eq!(table.len(), 3);
    }
}
