//! [`Table`]: the map the state keeps its resources in, looked up by hash
//! and listed in key order.
//!
//! A `BTreeMap<String, _>` finds a key by comparing it with several keys on
//! each level, and each comparison reads a key's bytes from wherever its
//! allocation landed: with thousands of resources, a lookup reads a dozen
//! cold cache lines. A hash lookup reads the probe group, the entry and one
//! key. The order lists and pages need is kept in a separate ordered index,
//! read only by what walks the table in order.

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::ops::RangeBounds;

/// Values by key: lookups by hash; [`Table::iter`], [`Table::values`],
/// [`Table::keys`] and [`Table::range`] in key order.
///
/// The entries sit side by side in one vector (a removal moves the last
/// one into the hole), so a walk over a table reads contiguous memory; the
/// hash index and the ordered index hold positions in it.
#[derive(Clone)]
pub struct Table<K, V> {
    entries: Vec<(K, V)>,
    index: HashMap<K, usize>,
    order: BTreeMap<K, usize>,
}

impl<K, V> Default for Table<K, V> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            index: HashMap::new(),
            order: BTreeMap::new(),
        }
    }
}

impl<K: Ord + Hash + Clone, V> Table<K, V> {
    fn position<Q>(&self, key: &Q) -> Option<usize>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.index.get(key).copied()
    }

    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let at = self.position(key)?;
        self.entries.get(at).map(|(_, value)| value)
    }

    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let at = self.position(key)?;
        self.entries.get_mut(at).map(|(_, value)| value)
    }

    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.index.contains_key(key)
    }

    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        if let Some(at) = self.position(&key) {
            if let Some((_, old)) = self.entries.get_mut(at) {
                return Some(std::mem::replace(old, value));
            }
        }
        let at = self.entries.len();
        self.index.insert(key.clone(), at);
        self.order.insert(key.clone(), at);
        self.entries.push((key, value));
        None
    }

    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + Ord + ?Sized,
    {
        let at = self.index.remove(key)?;
        self.order.remove(key);
        // Every position in the indexes is one of `entries`: this type alone
        // writes them, in `insert` and here.
        let (_, value) = self.entries.swap_remove(at);
        // The last entry moved into the hole: point its indexes there.
        if let Some((moved, _)) = self.entries.get(at) {
            if let Some(position) = self.index.get_mut::<K>(moved) {
                *position = at;
            }
            if let Some(position) = self.order.get_mut::<K>(moved) {
                *position = at;
            }
        }
        Some(value)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// In key order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&K, &V)> {
        self.order
            .values()
            .filter_map(|at| self.entries.get(*at).map(|(key, value)| (key, value)))
    }

    /// In key order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> {
        self.order.keys()
    }

    /// In key order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> {
        self.iter().map(|(_, value)| value)
    }

    /// In no particular order.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.entries.iter_mut().map(|(_, value)| value)
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
            .filter_map(|(_, at)| self.entries.get(*at).map(|(key, value)| (key, value)))
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
        // Removing the first entry moves the last one: lookups still find it.
        assert_eq!(table.remove("b"), Some(1));
        assert_eq!(table.get("c"), Some(&1));
        assert_eq!(table.get("a"), Some(&7));
        assert_eq!(table.values().copied().collect::<Vec<_>>(), [7, 1]);
    }
}
