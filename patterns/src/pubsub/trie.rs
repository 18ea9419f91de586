//! A compressed byte trie (radix tree) keyed by subscription prefix.
//!
//! Matching a message against subscriptions means finding every subscribed prefix of its
//! first frame. Walking a trie along the frame visits exactly those prefixes, so the cost
//! is bounded by the length of the longest matching subscription, not by how many
//! subscriptions or subscribers there are.
//!
//! Topics share long runs (`prices.`, `topic-0`), so each edge carries a whole run of
//! bytes rather than one: a walk compares a run with one slice comparison and makes one
//! dependent load per branching point instead of one per byte. Children are stored
//! inline, sorted by their first byte, with those bytes in a separate small array that
//! is scanned (or, when large, bisected) to pick the next edge. Measured with the
//! fanout bench against the one-node-per-byte trie it replaced (sorted inline child
//! lists), publishing a message that matches nobody got about 30% cheaper at 1 to
//! 10,000 topics; a variant with byte-indexed tables of boxed children was slower than
//! either (one more dependent load per byte).

/// A trie from byte strings to values of `T`; the empty string is the root.
#[derive(Debug, Default)]
pub(crate) struct Trie<T> {
    root: Node<T>,
}

#[derive(Debug, Default)]
struct Node<T> {
    /// The bytes on the edge into this node (empty only for the root).
    label: Box<[u8]>,
    value: T,
    /// `children[i].label[0]`, sorted.
    keys: Vec<u8>,
    children: Vec<Node<T>>,
}

/// Above this many children, the first-byte array is bisected rather than scanned.
const SCAN_LIMIT: usize = 8;

/// `data.starts_with(label)`, without a `memcmp` call for the short labels that
/// branching leaves (a call costs more than comparing a few bytes in place).
#[inline]
fn has_prefix(data: &[u8], label: &[u8]) -> bool {
    if label.len() > 16 {
        return data.starts_with(label);
    }
    label.len() <= data.len() && label.iter().zip(data).all(|(a, b)| a == b)
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

impl<T: Default> Node<T> {
    fn leaf(label: &[u8]) -> Node<T> {
        Node {
            label: label.into(),
            value: T::default(),
            keys: Vec::new(),
            children: Vec::new(),
        }
    }

    #[inline]
    fn find(&self, byte: u8) -> Option<usize> {
        if self.keys.len() <= SCAN_LIMIT {
            self.keys.iter().position(|&k| k == byte)
        } else {
            self.keys.binary_search(&byte).ok()
        }
    }

    /// Adds a child (whose label starts with a byte no other child starts with).
    fn insert_child(&mut self, child: Node<T>) -> usize {
        let first = child.label[0];
        let at = self.keys.partition_point(|&k| k < first);
        self.keys.insert(at, first);
        self.children.insert(at, child);
        at
    }

    /// Splits this node's edge after `at` bytes: this node keeps the first `at` bytes
    /// and an empty value; the rest moves to a new single child.
    fn split(&mut self, at: usize) {
        let rest = Node {
            label: self.label[at..].into(),
            value: std::mem::take(&mut self.value),
            keys: std::mem::take(&mut self.keys),
            children: std::mem::take(&mut self.children),
        };
        self.label = self.label[..at].into();
        self.keys = vec![rest.label[0]];
        self.children = vec![rest];
    }

    /// Removes empty leaves along `key` and merges nodes left with one child and no
    /// value into that child; true if this node itself is now an empty leaf.
    fn prune(&mut self, key: &[u8], is_empty: &dyn Fn(&T) -> bool) -> bool {
        if let Some(i) = key.first().and_then(|&b| self.find(b)) {
            let child = &mut self.children[i];
            if key.starts_with(&child.label) {
                let rest = &key[child.label.len()..];
                if child.prune(rest, is_empty) {
                    self.keys.remove(i);
                    self.children.remove(i);
                } else if child.children.len() == 1 && is_empty(&child.value) {
                    let grandchild = child.children.pop().expect("one child");
                    child.keys.clear();
                    let mut label = child.label.to_vec();
                    label.extend_from_slice(&grandchild.label);
                    *child = Node {
                        label: label.into(),
                        ..grandchild
                    };
                }
            }
        }
        self.children.is_empty() && is_empty(&self.value)
    }

    fn for_each(&self, key: &mut Vec<u8>, f: &mut dyn FnMut(&[u8], &T)) {
        let len = key.len();
        key.extend_from_slice(&self.label);
        f(key, &self.value);
        for child in &self.children {
            child.for_each(key, f);
        }
        key.truncate(len);
    }
}

impl<T: Default> Trie<T> {
    /// The value at `key`, created (with its path) if absent.
    pub(crate) fn entry(&mut self, key: &[u8]) -> &mut T {
        let mut node = &mut self.root;
        let mut rest = key;
        loop {
            let Some(&first) = rest.first() else {
                return &mut node.value;
            };
            let i = match node.find(first) {
                Some(i) => i,
                None => {
                    let i = node.insert_child(Node::leaf(rest));
                    return &mut node.children[i].value;
                }
            };
            let child = &mut node.children[i];
            let common = common_prefix(&child.label, rest);
            if common < child.label.len() {
                child.split(common);
            }
            rest = &rest[common..];
            node = child;
        }
    }

    /// The value at `key`, if the node exists.
    pub(crate) fn get_mut(&mut self, key: &[u8]) -> Option<&mut T> {
        let mut node = &mut self.root;
        let mut rest = key;
        while let Some(&first) = rest.first() {
            let i = node.find(first)?;
            let child = &mut node.children[i];
            if !rest.starts_with(&child.label) {
                return None;
            }
            rest = &rest[child.label.len()..];
            node = child;
        }
        Some(&mut node.value)
    }

    /// Frees the nodes along `key` that `is_empty` says hold nothing and lead nowhere,
    /// and re-joins edges they split.
    pub(crate) fn prune(&mut self, key: &[u8], is_empty: &dyn Fn(&T) -> bool) {
        self.root.prune(key, is_empty);
    }

    /// Calls `f` with the value of every node on the path of `data` (each a prefix of
    /// `data`), the root (empty prefix) first. Prefixes with no node hold nothing.
    #[inline]
    pub(crate) fn for_each_prefix(&self, data: &[u8], mut f: impl FnMut(&T)) {
        let mut node = &self.root;
        let mut rest = data;
        f(&node.value);
        while let Some(&first) = rest.first() {
            let Some(i) = node.find(first) else {
                return;
            };
            let child = &node.children[i];
            if !has_prefix(rest, &child.label) {
                return;
            }
            rest = &rest[child.label.len()..];
            node = child;
            f(&node.value);
        }
    }

    /// True if `pred` holds for the value of some prefix of `data`.
    pub(crate) fn any_prefix(&self, data: &[u8], pred: impl Fn(&T) -> bool) -> bool {
        let mut found = false;
        self.for_each_prefix(data, |v| found |= pred(v));
        found
    }

    /// Calls `f` with every key and its value, in byte order.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&[u8], &T)) {
        self.root.for_each(&mut Vec::new(), &mut f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_of_a_message_are_visited_in_order() {
        let mut t: Trie<u32> = Trie::default();
        *t.entry(b"") = 1;
        *t.entry(b"ab") = 2;
        *t.entry(b"abc") = 3;
        *t.entry(b"b") = 9;
        let mut seen = Vec::new();
        t.for_each_prefix(b"abcd", |v| seen.push(*v));
        assert_eq!(seen, vec![1, 2, 3]);
        assert!(t.any_prefix(b"bz", |v| *v == 9));
        assert!(!t.any_prefix(b"c", |v| *v == 9));
    }

    #[test]
    fn prune_frees_empty_branches_only() {
        let mut t: Trie<u32> = Trie::default();
        *t.entry(b"abc") = 1;
        *t.entry(b"ab") = 1;
        *t.get_mut(b"abc").unwrap() = 0;
        t.prune(b"abc", &|v| *v == 0);
        assert!(t.get_mut(b"abc").is_none());
        assert_eq!(t.get_mut(b"ab").copied(), Some(1));
        *t.get_mut(b"ab").unwrap() = 0;
        t.prune(b"ab", &|v| *v == 0);
        assert!(t.get_mut(b"ab").is_none());
        let mut keys = Vec::new();
        t.for_each(|k, _| keys.push(k.to_vec()));
        assert_eq!(keys, vec![Vec::<u8>::new()]);
    }

    /// Random adds and removes against a plain map: the same prefixes match, and
    /// pruning leaves exactly the non-empty keys.
    #[test]
    fn agrees_with_a_map_under_random_changes() {
        use std::collections::HashMap;
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let alphabet = [b'a', b'b', b'z', 0u8, 255u8];
        let key = |next: &mut dyn FnMut() -> u64| -> Vec<u8> {
            let len = (next() % 6) as usize;
            (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect()
        };
        let mut trie: Trie<u32> = Trie::default();
        let mut model: HashMap<Vec<u8>, u32> = HashMap::new();
        for _ in 0..20_000 {
            let k = key(&mut next);
            if next() % 3 == 0 {
                if let Some(c) = model.get_mut(&k) {
                    *c -= 1;
                    if *c == 0 {
                        model.remove(&k);
                    }
                    *trie.get_mut(&k).unwrap() -= 1;
                    trie.prune(&k, &|c| *c == 0);
                }
            } else {
                *model.entry(k.clone()).or_default() += 1;
                *trie.entry(&k) += 1;
            }
            let probe = key(&mut next);
            let expected: u32 = (0..=probe.len())
                .map(|n| model.get(&probe[..n]).copied().unwrap_or(0))
                .sum();
            let mut got = 0;
            trie.for_each_prefix(&probe, |c| got += *c);
            assert_eq!(got, expected, "prefixes of {probe:?}");
        }
        let mut keys = Vec::new();
        trie.for_each(|k, c| {
            if *c > 0 {
                keys.push(k.to_vec());
            }
        });
        keys.sort();
        let mut want: Vec<_> = model.keys().cloned().collect();
        want.sort();
        assert_eq!(keys, want);
    }
}
