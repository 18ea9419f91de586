//! A byte trie keyed by subscription prefix.
//!
//! Matching a message against subscriptions means finding every subscribed prefix of its
//! first frame. Walking a trie along the frame visits exactly those prefixes, so the cost
//! is bounded by the length of the longest matching subscription, not by how many
//! subscriptions or subscribers there are. Each node holds a value (a subscriber set on
//! the publishing side, a reference count on the subscribing side) and its children in a
//! vector sorted by byte: topics are usually short and branch little, and a sorted vector
//! is both smaller and faster to search than a map at those sizes.

/// A trie from byte strings to values of `T`; the empty string is the root.
#[derive(Debug, Default)]
pub(crate) struct Trie<T> {
    root: Node<T>,
}

#[derive(Debug, Default)]
struct Node<T> {
    value: T,
    children: Vec<(u8, Node<T>)>,
}

impl<T: Default> Node<T> {
    fn child(&self, byte: u8) -> Option<&Node<T>> {
        self.children
            .binary_search_by_key(&byte, |(b, _)| *b)
            .ok()
            .map(|i| &self.children[i].1)
    }

    fn child_mut(&mut self, byte: u8) -> Option<&mut Node<T>> {
        match self.children.binary_search_by_key(&byte, |(b, _)| *b) {
            Ok(i) => Some(&mut self.children[i].1),
            Err(_) => None,
        }
    }

    fn child_or_insert(&mut self, byte: u8) -> &mut Node<T> {
        let i = match self.children.binary_search_by_key(&byte, |(b, _)| *b) {
            Ok(i) => i,
            Err(i) => {
                self.children.insert(i, (byte, Node::default()));
                i
            }
        };
        &mut self.children[i].1
    }

    /// Removes the nodes below along `key` whose value is empty and that have no
    /// children; true if this node itself is now removable.
    fn prune(&mut self, key: &[u8], is_empty: &dyn Fn(&T) -> bool) -> bool {
        if let Some((&byte, rest)) = key.split_first() {
            if let Ok(i) = self.children.binary_search_by_key(&byte, |(b, _)| *b) {
                if self.children[i].1.prune(rest, is_empty) {
                    self.children.remove(i);
                }
            }
        }
        self.children.is_empty() && is_empty(&self.value)
    }

    fn for_each(&self, key: &mut Vec<u8>, f: &mut dyn FnMut(&[u8], &T)) {
        f(key, &self.value);
        for (byte, child) in &self.children {
            key.push(*byte);
            child.for_each(key, f);
            key.pop();
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
}
