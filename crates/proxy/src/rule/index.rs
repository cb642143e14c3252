//! A radix tree of literal URL prefixes, mapping each to the rules filed
//! under it.
//!
//! Looking up a URL walks the tree along the URL's bytes and gathers the
//! rules of every node passed: exactly the rules one of whose prefixes
//! starts the URL. The walk costs the URL's length (times a binary search
//! among at most 256 children) plus the rules gathered, whatever the number
//! of rules in the tree.

/// Values by literal prefix. The values are plain numbers to the index
/// (the rule set files a slot per rule head).
#[derive(Debug)]
pub(crate) struct PrefixIndex {
    nodes: Vec<Node>,
}

#[derive(Debug, Default)]
struct Node {
    /// The bytes on the edge from the parent (empty only for the root).
    label: Box<[u8]>,
    /// Node ids, sorted by the first byte of their label (which differ).
    children: Vec<usize>,
    rules: Vec<usize>,
}

impl Default for PrefixIndex {
    fn default() -> Self {
        PrefixIndex {
            nodes: vec![Node::default()],
        }
    }
}

impl PrefixIndex {
    /// Files `rule` under `key`.
    pub(crate) fn insert(&mut self, key: &[u8], rule: usize) {
        let (mut node, mut key) = (0, key);
        while let Some(&first) = key.first() {
            let pos = match self.child(node, first) {
                Ok(pos) => pos,
                Err(pos) => {
                    let leaf = self.push(key, Vec::new());
                    self.nodes[node].children.insert(pos, leaf);
                    node = leaf;
                    break;
                }
            };
            let child = self.nodes[node].children[pos];
            let common = common_prefix(&self.nodes[child].label, key);
            node = if common < self.nodes[child].label.len() {
                self.split(node, pos, common)
            } else {
                child
            };
            key = &key[common..];
        }
        self.nodes[node].rules.push(rule);
    }

    /// Appends to `out` the rules filed under any prefix of `url`, each
    /// once per key it was filed under.
    pub(crate) fn collect(&self, url: &[u8], out: &mut Vec<usize>) {
        let (mut node, mut rest) = (0, url);
        loop {
            out.extend_from_slice(&self.nodes[node].rules);
            let Some(&first) = rest.first() else { return };
            let Ok(pos) = self.child(node, first) else {
                return;
            };
            let child = self.nodes[node].children[pos];
            let label = &self.nodes[child].label;
            if !rest.starts_with(label) {
                return;
            }
            rest = &rest[label.len()..];
            node = child;
        }
    }

    fn child(&self, node: usize, first: u8) -> Result<usize, usize> {
        self.nodes[node]
            .children
            .binary_search_by_key(&first, |&c| self.nodes[c].label[0])
    }

    fn push(&mut self, label: &[u8], children: Vec<usize>) -> usize {
        self.nodes.push(Node {
            label: label.into(),
            children,
            rules: Vec::new(),
        });
        self.nodes.len() - 1
    }

    /// Cuts the edge to `parent`'s `pos`-th child after `at` bytes, putting
    /// a new node there; returns it. The first byte is unchanged, so the
    /// parent's children stay sorted.
    fn split(&mut self, parent: usize, pos: usize, at: usize) -> usize {
        let child = self.nodes[parent].children[pos];
        let label = std::mem::take(&mut self.nodes[child].label);
        self.nodes[child].label = label[at..].into();
        let middle = self.push(&label[..at], vec![child]);
        self.nodes[parent].children[pos] = middle;
        middle
    }
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(index: &PrefixIndex, url: &str) -> Vec<usize> {
        let mut out = Vec::new();
        index.collect(url.as_bytes(), &mut out);
        out.sort_unstable();
        out
    }

    #[test]
    fn gathers_rules_of_every_prefix() {
        let mut index = PrefixIndex::default();
        index.insert(b"", 0);
        index.insert(b"https://a.example/", 1);
        index.insert(b"https://a.example/users/", 2);
        index.insert(b"https://a.example/usage", 3);
        index.insert(b"https://b.example/", 4);
        index.insert(b"http://a.example/", 5);
        index.insert(b"https://a.example/", 6);
        assert_eq!(lookup(&index, "https://a.example/users/1"), [0, 1, 2, 6]);
        assert_eq!(lookup(&index, "https://a.example/usage"), [0, 1, 3, 6]);
        assert_eq!(lookup(&index, "https://a.example/us"), [0, 1, 6]);
        assert_eq!(lookup(&index, "https://b.example/x"), [0, 4]);
        assert_eq!(lookup(&index, "http://a.example/"), [0, 5]);
        assert_eq!(lookup(&index, "https://c.example/"), [0]);
        assert_eq!(lookup(&index, ""), [0]);
    }

    #[test]
    fn splitting_keeps_rules_on_the_right_nodes() {
        let mut index = PrefixIndex::default();
        index.insert(b"abcdef", 0);
        index.insert(b"abc", 1);
        index.insert(b"abd", 2);
        index.insert(b"abcdxy", 3);
        assert_eq!(lookup(&index, "abcdef"), [0, 1]);
        assert_eq!(lookup(&index, "abcdxyz"), [1, 3]);
        assert_eq!(lookup(&index, "abd"), [2]);
        assert_eq!(lookup(&index, "ab"), Vec::<usize>::new());
    }
}
