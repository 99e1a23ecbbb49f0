//! [`Table`]: the map the state keeps its resources in, looked up by hash
//! and listed in key order; [`HashTable`], the same without the order.
//!
//! A `BTreeMap<String, _>` finds a key by comparing it with several keys on
//! each level, and each comparison reads a key's bytes from wherever its
//! allocation landed: with thousands of resources, a lookup reads a dozen
//! cold cache lines. A general hash map still reads three: its control
//! bytes, its slot, and the stored key's bytes to compare. Here a slot
//! holds the key's hash, the entry's position and, for a short key (most
//! names), the key's bytes themselves, so a lookup reads one line of the
//! index and then the entry it wanted. A lookup can be split in two
//! ([`HashTable::prefetch`], then [`HashTable::get_prefetched`]), so that
//! the wait for its line of the index overlaps work the caller does in
//! between.
//!
//! [`HashTable`] is that index and its entries alone, for maps that are
//! only looked up (a service's instances, the deployment history's sets).
//! [`Table`] adds the order lists and pages need, kept in a separate
//! ordered index that only what walks the table in order reads; a map
//! that is never walked does not pay for keeping it on every insert and
//! removal.
use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::ops::RangeBounds;

/// A key whose bytes a slot of the index can hold: [`InlineKey::inline`]
/// gives them when they fit in [`INLINE`] bytes. Two keys are equal exactly
/// when their inline forms are, for keys that have one.
pub trait InlineKey {
    fn inline(&self) -> Option<Inline>;
}

/// How many bytes of a key a slot holds.
const INLINE: usize = 19;

/// A short key's bytes, as a slot holds them.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Inline {
    len: u8,
    bytes: [u8; INLINE],
}

impl Inline {
    fn of(bytes: &[u8]) -> Option<Self> {
        let mut inline = Self {
            len: u8::try_from(bytes.len())
                .ok()
                .filter(|n| usize::from(*n) <= INLINE)?,
            bytes: [0; INLINE],
        };
        inline.bytes[..bytes.len()].copy_from_slice(bytes);
        Some(inline)
    }

    /// What a slot of a key too long to hold says instead.
    const LONG: Self = Self {
        len: u8::MAX,
        bytes: [0; INLINE],
    };
}

impl InlineKey for str {
    fn inline(&self) -> Option<Inline> {
        Inline::of(self.as_bytes())
    }
}

impl InlineKey for String {
    fn inline(&self) -> Option<Inline> {
        self.as_str().inline()
    }
}

impl InlineKey for (u64, u64) {
    fn inline(&self) -> Option<Inline> {
        let mut bytes = [0; 16];
        bytes[..8].copy_from_slice(&self.0.to_le_bytes());
        bytes[8..].copy_from_slice(&self.1.to_le_bytes());
        Inline::of(&bytes)
    }
}

/// A key's hash, from [`Table::prefetch`].
#[derive(Clone, Copy)]
pub struct Prefetched(u64);

/// One slot of the hash index: 32 bytes, two to a cache line.
#[derive(Clone, Copy)]
struct Slot {
    hash: u64,
    /// The entry's position; [`EMPTY`] for a free slot.
    at: u32,
    key: Inline,
}

const EMPTY: u32 = u32::MAX;

const FREE: Slot = Slot {
    hash: 0,
    at: EMPTY,
    key: Inline::LONG,
};

impl ProbeSlot for Slot {
    const FREE: Self = FREE;

    fn hash(&self) -> Option<usize> {
        (self.at != EMPTY).then_some(self.hash as usize)
    }
}

/// Values by key, found by hash, in no order: for what is only ever looked
/// up. [`Table`] adds the key order that listings walk.
///
/// The entries sit side by side in one vector (a removal moves the last
/// one into the hole); the hash index (open addressing, linear probing, at
/// most half full) holds positions in it.
#[derive(Clone)]
pub struct HashTable<K, V> {
    entries: Vec<(K, V)>,
    slots: Vec<Slot>,
    hasher: RandomState,
}

impl<K, V> Default for HashTable<K, V> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            slots: Vec::new(),
            hasher: RandomState::new(),
        }
    }
}

impl<K: Hash + Eq + InlineKey, V> HashTable<K, V> {
    /// The slot holding `key`, if the table has it.
    fn slot<Q>(&self, key: &Q) -> Option<usize>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + InlineKey + ?Sized,
    {
        self.slot_hashed(key, self.hasher.hash_one(key))
    }

    /// [`HashTable::slot`], for a key whose hash [`HashTable::prefetch`] gave.
    fn slot_hashed<Q>(&self, key: &Q, hash: u64) -> Option<usize>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + InlineKey + ?Sized,
    {
        if self.entries.is_empty() {
            return None;
        }
        let inline = key.inline();
        let mask = self.slots.len() - 1;
        let mut at = hash as usize & mask;
        loop {
            let slot = self.slots.get(at)?;
            if slot.at == EMPTY {
                return None;
            }
            if slot.hash == hash {
                let same = match inline {
                    Some(inline) => slot.key == inline,
                    None => {
                        slot.key == Inline::LONG
                            && self
                                .entries
                                .get(slot.at as usize)
                                .is_some_and(|(k, _)| k.borrow() == key)
                    }
                };
                if same {
                    return Some(at);
                }
            }
            at = (at + 1) & mask;
        }
    }

    fn position<Q>(&self, key: &Q) -> Option<usize>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + InlineKey + ?Sized,
    {
        self.position_hashed(key, self.hasher.hash_one(key))
    }

    /// [`HashTable::position`], for a key whose hash is known.
    fn position_hashed<Q>(&self, key: &Q, hash: u64) -> Option<usize>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + InlineKey + ?Sized,
    {
        let slot = self.slot_hashed(key, hash)?;
        self.slots.get(slot).map(|slot| slot.at as usize)
    }

    /// Makes room for one more entry, keeping the index at most half full.
    fn reserve_one(&mut self) {
        if (self.entries.len() + 1) * 2 <= self.slots.len() {
            return;
        }
        self.slots = regrow(&self.slots, (self.slots.len() * 2).max(8));
    }

    /// Asks for the line of the index where a lookup of `key` starts
    /// ([`super::warm`]), so that a lookup made after other work finds it
    /// there; the key's hash, for [`HashTable::get_prefetched`].
    pub fn prefetch<Q>(&self, key: &Q) -> Prefetched
    where
        K: Borrow<Q>,
        Q: Hash + Eq + InlineKey + ?Sized,
    {
        let hash = self.hasher.hash_one(key);
        warm_home(&self.slots, hash as usize);
        Prefetched(hash)
    }

    /// [`HashTable::get`], after [`HashTable::prefetch`] of the same key.
    pub fn get_prefetched<Q>(&self, key: &Q, Prefetched(hash): Prefetched) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + InlineKey + ?Sized,
    {
        let at = self.position_hashed(key, hash)?;
        self.found(at)
    }

    /// The value at position `at`, all of its lines asked for.
    fn found(&self, at: usize) -> Option<&V> {
        let entry = self.entries.get(at)?;
        // A resource is read all over: ask for all of its lines at once.
        super::warm::value(entry);
        Some(&entry.1)
    }

    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + InlineKey + ?Sized,
    {
        let at = self.position(key)?;
        self.found(at)
    }

    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + InlineKey + ?Sized,
    {
        let at = self.position(key)?;
        let entry = self.entries.get_mut(at)?;
        super::warm::value(entry);
        Some(&mut entry.1)
    }

    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + InlineKey + ?Sized,
    {
        self.slot(key).is_some()
    }

    /// Adds `key` with `value`, or replaces its value: the old one.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.replace(&key, value) {
            Ok(old) => Some(old),
            Err(value) => {
                self.push(key, value);
                None
            }
        }
    }

    /// Replaces the value of `key`, giving the old one; `Err` gives `value`
    /// back when the table does not hold `key`.
    fn replace(&mut self, key: &K, value: V) -> Result<V, V> {
        match self.position(key).and_then(|at| self.entries.get_mut(at)) {
            Some((_, old)) => Ok(std::mem::replace(old, value)),
            None => Err(value),
        }
    }

    /// Adds `key`, which the table does not hold, as the last entry; its
    /// position.
    fn push(&mut self, key: K, value: V) -> usize {
        self.reserve_one();
        let at = self.entries.len();
        // Positions fit in a slot: a table never holds 4 billion entries.
        let slot = Slot {
            hash: self.hasher.hash_one(&key),
            at: u32::try_from(at).unwrap_or(EMPTY - 1),
            key: key.inline().unwrap_or(Inline::LONG),
        };
        place_slot(&mut self.slots, slot);
        self.entries.push((key, value));
        at
    }

    /// The value at `key`, first inserting `V::default()` if there is none,
    /// after [`HashTable::prefetch`] of the same key.
    pub fn get_or_default_prefetched<Q>(&mut self, key: &Q, Prefetched(hash): Prefetched) -> &mut V
    where
        V: Default,
        K: Borrow<Q>,
        Q: Hash + Eq + InlineKey + ToOwned<Owned = K> + ?Sized,
    {
        let at = match self.position_hashed(key, hash) {
            Some(at) => at,
            None => self.push(key.to_owned(), V::default()),
        };
        &mut self.entries[at].1
    }

    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + InlineKey + ?Sized,
    {
        self.take(key).map(|(value, _)| value)
    }

    /// Removes `key`: its value, and the position it held, where the last
    /// entry now is (unless it was the last).
    fn take<Q>(&mut self, key: &Q) -> Option<(V, usize)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + InlineKey + ?Sized,
    {
        let slot = self.slot(key)?;
        let at = self.slots.get(slot)?.at as usize;
        free_slot(&mut self.slots, slot);
        // Every position in the index is one of `entries`: this type alone
        // writes them. The last entry moves into the hole: find its slot
        // while the slot still names where it is, and point it at the hole.
        let last = self.entries.len() - 1;
        let moved = (last != at)
            .then(|| self.entries.get(last))
            .flatten()
            .and_then(|(moved, _)| self.slot::<K>(moved));
        let (_, value) = self.entries.swap_remove(at);
        if let Some(slot) = moved.and_then(|slot| self.slots.get_mut(slot)) {
            slot.at = u32::try_from(at).unwrap_or(EMPTY - 1);
        }
        Some((value, at))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Values by key: lookups by hash ([`HashTable`]); [`Table::iter`],
/// [`Table::values`], [`Table::keys`] and [`Table::range`] in key order,
/// from an ordered index of the entries' positions.
#[derive(Clone)]
pub struct Table<K, V> {
    by_hash: HashTable<K, V>,
    order: BTreeMap<K, usize>,
}

impl<K, V> Default for Table<K, V> {
    fn default() -> Self {
        Self {
            by_hash: HashTable::default(),
            order: BTreeMap::new(),
        }
    }
}

impl<K: Ord + Hash + Clone + InlineKey, V> Table<K, V> {
    /// [`HashTable::prefetch`].
    pub fn prefetch<Q>(&self, key: &Q) -> Prefetched
    where
        K: Borrow<Q>,
        Q: Hash + Eq + InlineKey + ?Sized,
    {
        self.by_hash.prefetch(key)
    }

    /// [`Table::get`], after [`Table::prefetch`] of the same key.
    pub fn get_prefetched<Q>(&self, key: &Q, hash: Prefetched) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + InlineKey + ?Sized,
    {
        self.by_hash.get_prefetched(key, hash)
    }

    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + InlineKey + ?Sized,
    {
        self.by_hash.get(key)
    }

    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + InlineKey + ?Sized,
    {
        self.by_hash.get_mut(key)
    }

    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + InlineKey + ?Sized,
    {
        self.by_hash.contains_key(key)
    }

    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.by_hash.replace(&key, value) {
            Ok(old) => Some(old),
            Err(value) => {
                let at = self.by_hash.push(key.clone(), value);
                self.order.insert(key, at);
                None
            }
        }
    }

    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + Ord + InlineKey + ?Sized,
    {
        let (value, at) = self.by_hash.take(key)?;
        self.order.remove(key);
        // The entry now at `at` (the last one, moved) is found there.
        if let Some((moved, _)) = self.by_hash.entries.get(at) {
            if let Some(position) = self.order.get_mut::<K>(moved) {
                *position = at;
            }
        }
        Some(value)
    }

    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    /// In key order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&K, &V)> {
        let entries = &self.by_hash.entries;
        self.order
            .values()
            .filter_map(|at| entries.get(*at).map(|(key, value)| (key, value)))
    }

    /// In key order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> {
        self.order.keys()
    }

    /// In key order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> {
        self.iter().map(|(_, value)| value)
    }

    /// The entries whose keys are in `range`, in key order. The walk
    /// borrows the table, not `range`.
    pub fn range<Q, R>(&self, range: R) -> Range<'_, K, V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
        R: RangeBounds<Q>,
    {
        Range {
            order: self.order.range(range),
            entries: &self.by_hash.entries,
        }
    }
}

/// The entries of a [`Table`] whose keys are in a range, in key order.
pub struct Range<'a, K, V> {
    order: std::collections::btree_map::Range<'a, K, usize>,
    entries: &'a [(K, V)],
}

impl<'a, K, V> Iterator for Range<'a, K, V> {
    type Item = (&'a K, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        let entries = self.entries;
        self.order
            .by_ref()
            .find_map(|(_, at)| entries.get(*at).map(|(key, value)| (key, value)))
    }
}

impl<K, V> DoubleEndedIterator for Range<'_, K, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let entries = self.entries;
        self.order
            .by_ref()
            .rev()
            .find_map(|(_, at)| entries.get(*at).map(|(key, value)| (key, value)))
    }
}

impl<K: Ord + Hash + Clone + InlineKey + std::fmt::Debug, V: std::fmt::Debug> std::fmt::Debug
    for Table<K, V>
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// In no particular order (the order entries sit in).
impl<K: std::fmt::Debug, V: std::fmt::Debug> std::fmt::Debug for HashTable<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.entries.iter().map(|(key, value)| (key, value)))
            .finish()
    }
}

/// A slot of an open-addressing index probed linearly, whose length is a
/// power of two and which is kept at most half full, so a probe always
/// reaches a free slot. The mock's tables and its deployments' index by id
/// share these steps.
pub(crate) trait ProbeSlot: Copy {
    /// The free slot.
    const FREE: Self;

    /// The hash the slot's key probes from, or `None` for a free slot.
    fn hash(&self) -> Option<usize>;
}

/// Puts `slot` in the first free place of its probe sequence.
pub(crate) fn place_slot<S: ProbeSlot>(slots: &mut [S], slot: S) {
    let mask = slots.len().wrapping_sub(1);
    let mut at = slot.hash().unwrap_or(0) & mask;
    while let Some(taken) = slots.get(at) {
        if taken.hash().is_none() {
            slots[at] = slot;
            return;
        }
        at = (at + 1) & mask;
    }
}

/// Asks for the line of `slots` where a probe for `hash` starts.
pub(crate) fn warm_home<S: ProbeSlot>(slots: &[S], hash: usize) {
    if let Some(slot) = slots.get(hash & slots.len().wrapping_sub(1)) {
        super::warm::value(slot);
    }
}

/// The slots of `slots` placed anew in an index of `capacity` (a power of
/// two, more than twice their number).
pub(crate) fn regrow<S: ProbeSlot>(slots: &[S], capacity: usize) -> Vec<S> {
    let mut grown = vec![S::FREE; capacity];
    for slot in slots.iter().filter(|slot| slot.hash().is_some()) {
        place_slot(&mut grown, *slot);
    }
    grown
}

/// Frees slot `hole`: each later slot that probed past the hole moves back
/// into it, so that every lookup still finds its key and no tombstone is
/// left.
pub(crate) fn free_slot<S: ProbeSlot>(slots: &mut [S], mut hole: usize) {
    let mask = slots.len().wrapping_sub(1);
    let Some(first) = slots.get_mut(hole) else {
        return;
    };
    *first = S::FREE;
    let mut at = hole;
    loop {
        at = (at + 1) & mask;
        let Some(&slot) = slots.get(at) else {
            return;
        };
        let Some(hash) = slot.hash() else {
            return;
        };
        let home = hash & mask;
        // The slot may move to the hole unless its home lies in
        // (hole, at], cyclically.
        let stays = if hole <= at {
            hole < home && home <= at
        } else {
            hole < home || home <= at
        };
        if !stays {
            slots[hole] = slot;
            slots[at] = S::FREE;
            hole = at;
        }
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

    /// Key `n` of a walk: every `long`-th too long for a slot of the index
    /// (compared in the entries), the others short (compared in the slot).
    fn walk_key(n: u64, long: u64) -> String {
        if n % long == 0 {
            format!("a-key-too-long-for-a-slot-of-the-index-{n}")
        } else {
            format!("k{n}")
        }
    }

    /// A fixed pseudo-random walk over `keys` key numbers, from `seed`:
    /// (step, key number).
    fn walk(seed: u64, steps: u64, keys: u64) -> impl Iterator<Item = (u64, u64)> {
        let mut n = seed;
        (0..steps).map(move |step| {
            n = n
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (step, (n >> 33) % keys)
        })
    }

    #[test]
    fn short_and_long_keys_survive_many_inserts_and_removes() {
        let mut table = Table::default();
        let mut expected = BTreeMap::new();
        let key = |n| walk_key(n, 3);
        for (step, n) in walk(1, 4_000, 600) {
            let k = key(n);
            if step % 3 == 2 {
                assert_eq!(table.remove(k.as_str()), expected.remove(&k), "{k}");
            } else {
                assert_eq!(table.insert(k.clone(), step), expected.insert(k, step));
            }
            assert_eq!(table.len(), expected.len());
        }
        for n in 0..600 {
            let k = key(n);
            assert_eq!(table.get(k.as_str()), expected.get(&k), "{k}");
            assert_eq!(table.contains_key(k.as_str()), expected.contains_key(&k));
        }
        assert!(table.iter().eq(expected.iter()));
        let mut versions = Table::default();
        versions.insert((1, 2), "a");
        versions.insert((2, 1), "b");
        assert_eq!(versions.get(&(1, 2)), Some(&"a"));
        assert_eq!(versions.get(&(2, 2)), None);
    }

    #[test]
    fn a_hash_table_finds_what_it_holds_through_inserts_and_removes() {
        let mut table = HashTable::default();
        let mut expected = std::collections::HashMap::new();
        let key = |n| walk_key(n, 4);
        for (step, n) in walk(7, 3_000, 400) {
            let k = key(n);
            match step % 4 {
                // Removing moves the last entry into the hole.
                3 => assert_eq!(table.remove(k.as_str()), expected.remove(&k), "{k}"),
                2 => {
                    let hash = table.prefetch(k.as_str());
                    *table.get_or_default_prefetched(k.as_str(), hash) += 1;
                    *expected.entry(k).or_default() += 1;
                }
                _ => assert_eq!(table.insert(k.clone(), step), expected.insert(k, step)),
            }
            assert_eq!(table.len(), expected.len());
        }
        for n in 0..400 {
            let k = key(n);
            let hash = table.prefetch(k.as_str());
            assert_eq!(
                table.get_prefetched(k.as_str(), hash),
                expected.get(&k),
                "{k}"
            );
            assert_eq!(table.contains_key(k.as_str()), expected.contains_key(&k));
        }
    }
}
