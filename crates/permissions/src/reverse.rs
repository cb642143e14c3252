//! Reverse lookups, a gatehouse extension Keto does not have: "which objects may this
//! subject reach with a relation?" and "which subjects have this relation on an object?".
//! Candidates are gathered by walking the tuples from the known end (the reverse index
//! from the subject, the forward index from the object), then each is confirmed with a
//! regular check, so the answer is exactly what checks say, rewrites included.

use crate::engine::{CheckError, Engine};
use crate::tuple::{RelationTuple, Subject, SubjectSet};
use std::collections::{BTreeSet, HashSet, VecDeque};

/// How many objects or subjects one lookup may gather by default
/// (`limit.max_lookup_candidates`). Past it the lookup is refused rather than answered in
/// part: a page cut from an incomplete set could leave out any subject, silently.
pub const MAX_CANDIDATES: usize = 10_000;

/// One page of a reverse lookup and where the next starts.
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

impl Engine<'_> {
    fn within_cap(&self, gathered: usize) -> Result<(), CheckError> {
        if gathered > self.max_candidates {
            return Err(CheckError::TooWide {
                limit: self.max_candidates,
            });
        }
        Ok(())
    }

    /// Objects of `namespace` on which `subject` has `relation`, in order, after `after`.
    pub async fn list_objects(
        &self,
        namespace: &str,
        relation: &str,
        subject: &Subject,
        depth: u32,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<String>, CheckError> {
        let candidates = self.objects_reaching(subject, depth).await?;
        let mut items = Vec::new();
        let objects = candidates
            .iter()
            .filter(|(ns, _)| ns == namespace)
            .map(|(_, o)| o.clone())
            .collect::<BTreeSet<_>>();
        for object in objects
            .into_iter()
            .filter(|o| after.is_none_or(|a| o.as_str() > a))
        {
            let t = RelationTuple {
                namespace: namespace.into(),
                object: object.clone(),
                relation: relation.into(),
                subject: subject.clone(),
            };
            if self.check(&t, depth).await?.allowed() {
                if items.len() == limit {
                    let next = items.last().cloned();
                    return Ok(Page { items, next });
                }
                items.push(object);
            }
        }
        Ok(Page { items, next: None })
    }

    /// Every (namespace, object) from which some chain of tuples leads to `subject`.
    async fn objects_reaching(
        &self,
        subject: &Subject,
        depth: u32,
    ) -> Result<HashSet<(String, String)>, CheckError> {
        let mut reached: HashSet<(String, String)> = HashSet::new();
        let mut frontier: Vec<(String, bool)> = vec![(subject.key(), false)];
        if let Subject::Set(s) = subject {
            frontier.push((format!("set:{}:{}", s.namespace, s.object), true));
        }
        // Rewrites and subject sets may each add a hop, so allow twice the check depth.
        for _ in 0..depth.saturating_mul(2).max(1) {
            let mut next = Vec::new();
            for (key, range) in &frontier {
                // One more than may be kept, to know when the cap is passed.
                let left = self.max_candidates + 1 - reached.len();
                for node in self.store.objects_pointing_to(key, *range, left).await? {
                    if reached.insert(node.clone()) {
                        next.push((format!("set:{}:{}", node.0, node.1), true));
                    }
                }
                self.within_cap(reached.len())?;
            }
            if next.is_empty() {
                break;
            }
            frontier = next;
        }
        Ok(reached)
    }

    /// Subjects with `relation` on `namespace:object`, in order of their text form, after
    /// `after`.
    pub async fn list_subjects(
        &self,
        set: &SubjectSet,
        depth: u32,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<Subject>, CheckError> {
        let mut candidates: BTreeSet<String> = BTreeSet::new();
        let mut subjects = std::collections::HashMap::new();
        let mut seen: HashSet<(String, String)> = HashSet::new();
        let mut queue = VecDeque::from([((set.namespace.clone(), set.object.clone()), 0u32)]);
        let max_hops = depth.saturating_mul(2).max(1);
        while let Some((node, hops)) = queue.pop_front() {
            if !seen.insert(node.clone()) {
                continue;
            }
            let stored = self
                .store
                .subjects_of_object(&node.0, &node.1, self.max_candidates + 1)
                .await?;
            self.within_cap(stored.len())?;
            for s in stored {
                match &s {
                    Subject::Set(inner) if !inner.relation.is_empty() => {}
                    _ => {
                        candidates.insert(s.to_string());
                        subjects.insert(s.to_string(), s.clone());
                    }
                }
                if let Subject::Set(inner) = &s
                    && hops < max_hops
                {
                    queue.push_back(((inner.namespace.clone(), inner.object.clone()), hops + 1));
                }
            }
            self.within_cap(candidates.len().max(seen.len()))?;
        }
        let mut items = Vec::new();
        for text in candidates
            .into_iter()
            .filter(|c| after.is_none_or(|a| c.as_str() > a))
        {
            let Some(subject) = subjects.remove(&text) else {
                continue;
            };
            let t = RelationTuple {
                namespace: set.namespace.clone(),
                object: set.object.clone(),
                relation: set.relation.clone(),
                subject: subject.clone(),
            };
            if self.check(&t, depth).await?.allowed() {
                if items.len() == limit {
                    let next = items.last().map(|s: &Subject| s.to_string());
                    return Ok(Page { items, next });
                }
                items.push(subject);
            }
        }
        Ok(Page { items, next: None })
    }
}
