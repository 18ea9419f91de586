//! A byte trie keyed by subscription prefix.
//!
//! Matching a message against subscriptions means finding every subscribed prefix of its
//! first frame. Walking a trie along the frame visits exactly those prefixes, so the cost
//! is bounded by the length of the longest matching subscription, not by how many
//! subscriptions or subscribers there are.
//!
//! Each node holds a value (a subscriber set on the publishing side, a reference count
//! on the subscribing side) and its children in a table indexed by `byte - min` over
//! the range of bytes it has children for, so each step of a walk is one bounds check
//! and one load. Topics branch over narrow ranges (digits, letters), which keeps the
//! tables small; a sorted list searched by bisection was measured 1.5x slower per
//! publish at thousands of topics, its branches being unpredictable.

/// A trie from byte strings to values of `T`; the empty string is the root.
#[derive(Debug, Default)]
pub(crate) struct Trie<T> {
    root: Node<T>,
}

#[derive(Debug, Default)]
struct Node<T> {
    value: T,
    /// The byte of `children[0]`.
    min: u8,
    /// Children for bytes `min..min + len`; `None` where there is none. Never has a
    /// `None` at either end.
    children: Vec<Option<Box<Node<T>>>>,
}

impl<T: Default> Node<T> {
    #[inline]
    fn child(&self, byte: u8) -> Option<&Node<T>> {
        let i = byte.wrapping_sub(self.min) as usize;
        match self.children.get(i) {
            Some(Some(child)) if byte >= self.min => Some(child),
            _ => None,
        }
    }

    fn child_mut(&mut self, byte: u8) -> Option<&mut Node<T>> {
        if byte < self.min {
            return None;
        }
        match self.children.get_mut(usize::from(byte - self.min)) {
            Some(Some(child)) => Some(child),
            _ => None,
        }
    }

    fn child_or_insert(&mut self, byte: u8) -> &mut Node<T> {
        if self.children.is_empty() {
            self.min = byte;
            self.children.push(None);
        } else if byte < self.min {
            let grow = usize::from(self.min - byte);
            self.children
                .splice(0..0, std::iter::repeat_with(|| None).take(grow));
            self.min = byte;
        } else if usize::from(byte - self.min) >= self.children.len() {
            self.children
                .resize_with(usize::from(byte - self.min) + 1, || None);
        }
        let slot = &mut self.children[usize::from(byte - self.min)];
        slot.get_or_insert_with(Box::default)
    }

    /// Removes the nodes below along `key` whose value is empty and that have no
    /// children; true if this node itself is now removable.
    fn prune(&mut self, key: &[u8], is_empty: &dyn Fn(&T) -> bool) -> bool {
        if let Some((&byte, rest)) = key.split_first() {
            if let Some(child) = self.child_mut(byte) {
                if child.prune(rest, is_empty) {
                    self.children[usize::from(byte - self.min)] = None;
                    self.trim();
                }
            }
        }
        self.children.is_empty() && is_empty(&self.value)
    }

    /// Drops empty slots at both ends of the child table.
    fn trim(&mut self) {
        while self.children.last().is_some_and(Option::is_none) {
            self.children.pop();
        }
        let lead = self.children.iter().take_while(|c| c.is_none()).count();
        if lead > 0 {
            self.children.drain(..lead);
            self.min += lead as u8;
        }
        if self.children.is_empty() {
            self.min = 0;
        }
    }

    fn for_each(&self, key: &mut Vec<u8>, f: &mut dyn FnMut(&[u8], &T)) {
        f(key, &self.value);
        for (i, child) in self.children.iter().enumerate() {
            if let Some(child) = child {
                key.push(self.min + i as u8);
                child.for_each(key, f);
                key.pop();
            }
        }
    }
}

impl<T: Default> Trie<T> {
    /// The value at `key`, created (with its path) if absent.
    pub(crate) fn entry(&mut self, key: &[u8]) -> &mut T {
        let mut node = &mut self.root;
        for &byte in key {
            node = node.child_or_insert(byte);
        }
        &mut node.value
    }

    /// The value at `key`, if the node exists.
    pub(crate) fn get_mut(&mut self, key: &[u8]) -> Option<&mut T> {
        let mut node = &mut self.root;
        for &byte in key {
            node = node.child_mut(byte)?;
        }
        Some(&mut node.value)
    }

    /// Frees the nodes along `key` that `is_empty` says hold nothing and lead nowhere.
    pub(crate) fn prune(&mut self, key: &[u8], is_empty: &dyn Fn(&T) -> bool) {
        self.root.prune(key, is_empty);
    }

    /// Calls `f` with the value of every prefix of `data` present in the trie, the
    /// empty prefix first, stopping at the first byte with no node.
    #[inline]
    pub(crate) fn for_each_prefix(&self, data: &[u8], mut f: impl FnMut(&T)) {
        let mut node = &self.root;
        f(&node.value);
        for &byte in data {
            match node.child(byte) {
                Some(child) => {
                    node = child;
                    f(&node.value);
                }
                None => return,
            }
        }
    }

    /// True if `pred` holds for the value of some prefix of `data`.
    pub(crate) fn any_prefix(&self, data: &[u8], pred: impl Fn(&T) -> bool) -> bool {
        let mut node = &self.root;
        if pred(&node.value) {
            return true;
        }
        for &byte in data {
            match node.child(byte) {
                Some(child) => {
                    node = child;
                    if pred(&node.value) {
                        return true;
                    }
                }
                None => return false,
            }
        }
        false
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
        // the node for "a" exists (value 0) on the way to "ab"
        assert_eq!(seen, vec![1, 0, 2, 3]);
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
        assert!(t.get_mut(b"a").is_none());
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
        let alphabet = [b'a', b'b', b'z', b'0', b'9', 0u8, 255u8];
        let key = |next: &mut dyn FnMut() -> u64| -> Vec<u8> {
            let len = (next() % 4) as usize;
            (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect()
        };
        let mut trie: Trie<u32> = Trie::default();
        let mut model: HashMap<Vec<u8>, u32> = HashMap::new();
        for _ in 0..5000 {
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
