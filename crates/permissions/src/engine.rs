//! Check and expand: Zanzibar's userset rewrites over stored tuples. A check walks from
//! the object towards the subject, one indexed query per node: the permit's rewrite
//! (union, intersection, exclusion, computed subject sets, tuple-to-subject-set), the
//! tuple itself, then the subject sets stored on the relation. Depth is bounded, a path
//! never visits a node twice (cycles end), and a step budget caps a single check.

use crate::namespaces::{Namespaces, RelationDef};
use crate::opl::Rewrite;
use crate::store::{NodeRows, Reader, StoreError, TupleStore};
use crate::tuple::{RelationTuple, Subject, SubjectSet};
use serde_json::{Value, json};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A check's outcome; `Unknown` means a limit (depth, steps) stopped it before an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    Denied,
    Unknown,
}

impl Verdict {
    pub fn allowed(self) -> bool {
        self == Verdict::Allowed
    }
}

/// Why a check was not answered at all (a 400).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("relation {relation:?} is not defined in namespace {namespace:?}")]
    UndefinedRelation { namespace: String, relation: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Resolution steps one check may take before it answers "unknown".
const MAX_STEPS: usize = 10_000;

pub struct Engine<'a> {
    pub store: &'a TupleStore,
    pub namespaces: &'a Namespaces,
    /// Subject sets followed per node (`limit.max_read_width`).
    pub max_width: usize,
    steps: AtomicUsize,
    /// The check's lookups, opened at the first one. Where it holds a connection (SQLite),
    /// nothing that runs while it is held takes a second one, so a full pool cannot
    /// deadlock checks.
    reader: tokio::sync::Mutex<Option<Reader>>,
}

type Node = (String, String, String);
type Boxed<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

impl<'a> Engine<'a> {
    pub fn new(store: &'a TupleStore, namespaces: &'a Namespaces, max_width: usize) -> Self {
        Engine {
            store,
            namespaces,
            max_width,
            steps: AtomicUsize::new(0),
            reader: tokio::sync::Mutex::new(None),
        }
    }

    /// The node's stored subject and expandable subject sets (see [`Reader::node`]).
    async fn lookup(&self, node: &Node, subject: &Subject) -> Result<NodeRows, StoreError> {
        let mut held = self.reader.lock().await;
        let reader = match &mut *held {
            Some(r) => r,
            None => held.insert(Box::pin(self.store.reader(self.max_width)).await?),
        };
        let (ns, obj, rel) = node;
        reader.node(ns, obj, rel, &subject.key()).await
    }

    /// Every subject set on a node, for a tuple-to-subject-set rewrite.
    async fn followed(
        &self,
        ns: &str,
        obj: &str,
        rel: &str,
    ) -> Result<Vec<SubjectSet>, StoreError> {
        let mut held = self.reader.lock().await;
        let reader = match &mut *held {
            Some(r) => r,
            None => held.insert(Box::pin(self.store.reader(self.max_width)).await?),
        };
        reader.subject_sets(ns, obj, rel).await
    }

    /// Whether `t.subject` has `t.relation` on `t.namespace:t.object`, looking `depth`
    /// levels deep. An unknown namespace is simply not allowed, as in Keto; a relation an
    /// OPL namespace does not define is an error.
    pub async fn check(&self, t: &RelationTuple, depth: u32) -> Result<Verdict, CheckError> {
        if !self.namespaces.exists(&t.namespace) {
            return Ok(Verdict::Denied);
        }
        if let RelationDef::Undefined = self.namespaces.relation(&t.namespace, &t.relation) {
            return Err(CheckError::UndefinedRelation {
                namespace: t.namespace.clone(),
                relation: t.relation.clone(),
            });
        }
        let node = (t.namespace.clone(), t.object.clone(), t.relation.clone());
        Ok(self.check_node(node, &t.subject, depth, Vec::new()).await?)
    }

    fn check_node<'s>(
        &'s self,
        node: Node,
        subject: &'s Subject,
        depth: u32,
        mut path: Vec<Node>,
    ) -> Boxed<'s, Verdict> {
        Box::pin(async move {
            if depth == 0 || self.steps.fetch_add(1, Ordering::Relaxed) >= MAX_STEPS {
                return Ok(Verdict::Unknown);
            }
            if path.contains(&node) {
                return Ok(Verdict::Denied);
            }
            path.push(node.clone());
            let (ns, obj, rel) = &node;
            let mut unknown = false;
            if let RelationDef::Defined(r) = self.namespaces.relation(ns, rel)
                && let Some(rewrite) = &r.rewrite
            {
                match self
                    .rewrite(rewrite, ns, obj, subject, depth, &path)
                    .await?
                {
                    Verdict::Allowed => return Ok(Verdict::Allowed),
                    Verdict::Unknown => unknown = true,
                    Verdict::Denied => {}
                }
            }
            let found = self.lookup(&node, subject).await?;
            if found.direct {
                return Ok(Verdict::Allowed);
            }
            // Objects as subjects (`User:alice`) are left out: only the direct lookup above
            // can match them, and they must not use up the width limit.
            for set in found.sets {
                let next = (set.namespace, set.object, set.relation);
                match self
                    .check_node(next, subject, depth - 1, path.clone())
                    .await?
                {
                    Verdict::Allowed => return Ok(Verdict::Allowed),
                    Verdict::Unknown => unknown = true,
                    Verdict::Denied => {}
                }
            }
            Ok(if unknown {
                Verdict::Unknown
            } else {
                Verdict::Denied
            })
        })
    }

    fn rewrite<'s>(
        &'s self,
        rewrite: &'s Rewrite,
        ns: &'s str,
        obj: &'s str,
        subject: &'s Subject,
        depth: u32,
        path: &'s [Node],
    ) -> Boxed<'s, Verdict> {
        Box::pin(async move {
            Ok(match rewrite {
                Rewrite::Union(children) => {
                    let mut unknown = false;
                    for c in children {
                        match self.rewrite(c, ns, obj, subject, depth, path).await? {
                            Verdict::Allowed => return Ok(Verdict::Allowed),
                            Verdict::Unknown => unknown = true,
                            Verdict::Denied => {}
                        }
                    }
                    if unknown {
                        Verdict::Unknown
                    } else {
                        Verdict::Denied
                    }
                }
                Rewrite::Intersection(children) => {
                    let mut unknown = false;
                    for c in children {
                        match self.rewrite(c, ns, obj, subject, depth, path).await? {
                            Verdict::Denied => return Ok(Verdict::Denied),
                            Verdict::Unknown => unknown = true,
                            Verdict::Allowed => {}
                        }
                    }
                    if children.is_empty() {
                        Verdict::Denied
                    } else if unknown {
                        Verdict::Unknown
                    } else {
                        Verdict::Allowed
                    }
                }
                Rewrite::Not(child) => {
                    match self.rewrite(child, ns, obj, subject, depth, path).await? {
                        Verdict::Allowed => Verdict::Denied,
                        Verdict::Denied => Verdict::Allowed,
                        Verdict::Unknown => Verdict::Unknown,
                    }
                }
                Rewrite::ComputedSubjectSet { relation } => {
                    let node = (ns.to_string(), obj.to_string(), relation.clone());
                    self.check_node(node, subject, depth - 1, path.to_vec())
                        .await?
                }
                Rewrite::TupleToSubjectSet { relation, computed } => {
                    let mut unknown = false;
                    for set in self.followed(ns, obj, relation).await? {
                        let node = (set.namespace, set.object, computed.clone());
                        match self
                            .check_node(node, subject, depth - 1, path.to_vec())
                            .await?
                        {
                            Verdict::Allowed => return Ok(Verdict::Allowed),
                            Verdict::Unknown => unknown = true,
                            Verdict::Denied => {}
                        }
                    }
                    if unknown {
                        Verdict::Unknown
                    } else {
                        Verdict::Denied
                    }
                }
            })
        })
    }

    /// Keto's expand tree of a subject set: who is in it, through stored tuples (subject
    /// sets become nested unions; ones already on the path, or past the depth, are cut).
    pub async fn expand(
        &self,
        set: &SubjectSet,
        depth: u32,
        max_size: usize,
    ) -> Result<Value, StoreError> {
        let budget = AtomicUsize::new(max_size);
        self.expand_node(set.clone(), depth, Vec::new(), &budget)
            .await
    }

    fn expand_node<'s>(
        &'s self,
        set: SubjectSet,
        depth: u32,
        mut path: Vec<SubjectSet>,
        budget: &'s AtomicUsize,
    ) -> Boxed<'s, Value> {
        Box::pin(async move {
            let tuple = json!({"namespace": "", "object": "", "relation": "", "subject_set": set});
            // Cut by depth or a cycle, or an object as subject: no children, which Keto's
            // REST answer always calls a leaf.
            if depth <= 1 || path.contains(&set) || set.relation.is_empty() {
                return Ok(json!({"type": "leaf", "tuple": tuple}));
            }
            path.push(set.clone());
            let mut children = Vec::new();
            let left = budget.load(Ordering::Relaxed);
            for subject in self
                .store
                .subjects(&set.namespace, &set.object, &set.relation, left)
                .await?
            {
                if budget.fetch_sub(1, Ordering::Relaxed) == 0 {
                    budget.store(0, Ordering::Relaxed);
                    break;
                }
                children.push(match subject {
                    Subject::Id(id) => json!({"type": "leaf", "tuple": {"namespace": "", "object": "", "relation": "", "subject_id": id}}),
                    Subject::Set(s) => self.expand_node(s, depth - 1, path.clone(), budget).await?,
                });
            }
            if children.is_empty() {
                return Ok(json!({"type": "leaf", "tuple": tuple}));
            }
            Ok(json!({"type": "union", "tuple": tuple, "children": children}))
        })
    }
}
