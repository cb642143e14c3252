//! Check and expand: Zanzibar's userset rewrites over stored tuples. A check walks from
//! the object towards the subject, one indexed query per node: the permit's rewrite
//! (union, intersection, exclusion, computed subject sets, tuple-to-subject-set), the
//! tuple itself, then the subject sets stored on the relation. Depth is bounded and spent
//! as Keto's step engine spends it, a path never visits a node twice (cycles end), and a
//! step budget caps a single check.

use crate::namespaces::{Namespaces, RelationDef};
use crate::opl::Rewrite;
use crate::store::{NodeRows, Reader, StoreError, TupleStore};
use crate::tuple::{RelationTuple, Subject, SubjectSet};
use serde_json::{Value, json};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
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
    /// A reverse lookup would have to confirm more than `limit` candidates.
    #[error(
        "the lookup reaches more than {limit} candidate objects or subjects \
         (limit.max_lookup_candidates); ask a narrower question or raise the limit"
    )]
    TooWide { limit: usize },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Resolution steps one check may take before it answers "unknown".
const MAX_STEPS: usize = 10_000;

pub struct Engine<'a> {
    pub store: &'a TupleStore,
    pub namespaces: Arc<Namespaces>,
    /// Subject sets followed per node (`limit.max_read_width`).
    pub max_width: usize,
    /// Candidates a reverse lookup may gather (`limit.max_lookup_candidates`).
    pub max_candidates: usize,
    steps: AtomicUsize,
    /// The check's lookups, opened at the first one. Where it holds a connection (SQLite),
    /// nothing that runs while it is held takes a second one, so a full pool cannot
    /// deadlock checks.
    reader: tokio::sync::Mutex<Option<Reader>>,
}

type Node = (String, String, String);
type Boxed<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Where a step of a check stands: whom it asks about, the depth it has left, and the
/// nodes above it (a node met again on its own path is a cycle, which allows nothing).
#[derive(Clone, Copy)]
struct Step<'s> {
    subject: &'s Subject,
    depth: u32,
    path: &'s [Node],
}

impl Step<'_> {
    fn deeper(self) -> Self {
        Step {
            depth: self.depth.saturating_sub(1),
            ..self
        }
    }
}

/// Whether a node's own lookup is still to be made, or was made by the caller (which
/// found the subject not stored there, and hands on the node's subject sets).
enum Direct {
    Look,
    Looked(NodeRows),
}

/// Keto's union of results: allowed if any is, else unknown if a limit cut any, else denied.
#[derive(Default)]
struct Any {
    unknown: bool,
}

impl Any {
    /// Records `v`; true when it decides the union.
    fn add(&mut self, v: Verdict) -> bool {
        self.unknown |= v == Verdict::Unknown;
        v == Verdict::Allowed
    }

    fn verdict(&self) -> Verdict {
        if self.unknown {
            Verdict::Unknown
        } else {
            Verdict::Denied
        }
    }
}

impl<'a> Engine<'a> {
    pub fn new(store: &'a TupleStore, namespaces: Arc<Namespaces>, max_width: usize) -> Self {
        Engine {
            store,
            namespaces,
            max_width,
            max_candidates: crate::reverse::MAX_CANDIDATES,
            steps: AtomicUsize::new(0),
            reader: tokio::sync::Mutex::new(None),
        }
    }

    /// The check's reader in `held`, opened at its first lookup.
    async fn open<'r>(&self, held: &'r mut Option<Reader>) -> Result<&'r mut Reader, StoreError> {
        match held {
            Some(r) => Ok(r),
            None => Ok(held.insert(Box::pin(self.store.reader(self.max_width)).await?)),
        }
    }

    /// The node's stored subject and expandable subject sets (see [`Reader::node`]).
    async fn lookup(&self, node: &Node, subject: &Subject) -> Result<NodeRows, StoreError> {
        let mut held = self.reader.lock().await;
        let reader = self.open(&mut held).await?;
        let (ns, obj, rel) = node;
        reader.node(ns, obj, rel, &subject.key()).await
    }

    /// [`Engine::lookup`] for independent nodes, sent together (see [`Reader::nodes`]).
    async fn lookups(
        &self,
        nodes: &[Node],
        subject: &Subject,
    ) -> Result<Vec<NodeRows>, StoreError> {
        if nodes.is_empty() {
            return Ok(Vec::new());
        }
        let mut held = self.reader.lock().await;
        let reader = self.open(&mut held).await?;
        reader.nodes(nodes, &subject.key()).await
    }

    /// Every subject set on a node, for a tuple-to-subject-set rewrite.
    async fn followed(
        &self,
        ns: &str,
        obj: &str,
        rel: &str,
    ) -> Result<Vec<SubjectSet>, StoreError> {
        let mut held = self.reader.lock().await;
        let reader = self.open(&mut held).await?;
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
        let start = Step {
            subject: &t.subject,
            depth,
            path: &[],
        };
        Ok(self.is_allowed(node, start, Direct::Look).await?)
    }

    /// Keto's `IsAllowed` step: the relation's rewrite, the subject's own tuple, and the
    /// subject sets stored on the relation; any of them allows. Depth is spent as Keto's
    /// step engine spends it (`internal/check/step`), so a `max-depth` cuts a walk where
    /// Keto's would: see [`Engine::expand_sets`] and [`Engine::rewrite`].
    fn is_allowed<'s>(&'s self, node: Node, at: Step<'s>, direct: Direct) -> Boxed<'s, Verdict> {
        Box::pin(async move {
            if at.depth == 0 || self.steps.fetch_add(1, Ordering::Relaxed) >= MAX_STEPS {
                return Ok(Verdict::Unknown);
            }
            if at.path.contains(&node) {
                return Ok(Verdict::Denied);
            }
            let mut path = at.path.to_vec();
            path.push(node.clone());
            let here = Step { path: &path, ..at };
            let (ns, obj, rel) = &node;
            let mut any = Any::default();
            if let RelationDef::Defined(r) = self.namespaces.relation(ns, rel)
                && let Some(rewrite) = &r.rewrite
                && any.add(self.rewrite(rewrite, ns, obj, here).await?)
            {
                return Ok(Verdict::Allowed);
            }
            let rows = match direct {
                Direct::Looked(rows) => rows,
                Direct::Look => {
                    let rows = self.lookup(&node, at.subject).await?;
                    if rows.direct {
                        return Ok(Verdict::Allowed);
                    }
                    rows
                }
            };
            if any.add(self.expand_sets(rows.sets, here).await?) {
                return Ok(Verdict::Allowed);
            }
            Ok(any.verdict())
        })
    }

    /// The subject sets stored on a node. Like Keto, it first asks whether the subject is
    /// stored directly in any of them, which counts at this depth; only then does it go a
    /// level down into each, and only with depth to spare. Objects as subjects
    /// (`User:alice`) are not among the sets: the node's own lookup matched them.
    async fn expand_sets(
        &self,
        sets: Vec<SubjectSet>,
        at: Step<'_>,
    ) -> Result<Verdict, StoreError> {
        let nodes: Vec<Node> = sets
            .into_iter()
            .map(|set| (set.namespace, set.object, set.relation))
            .filter(|node| !at.path.contains(node))
            .collect();
        let rows = self.lookups(&nodes, at.subject).await?;
        if rows.iter().any(|r| r.direct) {
            return Ok(Verdict::Allowed);
        }
        let below: Vec<(Node, NodeRows)> = nodes.into_iter().zip(rows).collect();
        if below.is_empty() {
            return Ok(Verdict::Denied);
        }
        if at.depth <= 1 {
            return Ok(Verdict::Unknown);
        }
        let mut any = Any::default();
        for (node, rows) in below {
            if any.add(
                self.is_allowed(node, at.deeper(), Direct::Looked(rows))
                    .await?,
            ) {
                return Ok(Verdict::Allowed);
            }
        }
        Ok(any.verdict())
    }

    /// A permit's rewrite at `at.depth`, spending depth as Keto's steps do: in a union the
    /// computed relations' own tuples are read at this depth and each relation is then
    /// checked in full one level down; a computed relation anywhere else keeps the depth; a
    /// tuple-to-subject-set checks its targets one level down; a nested group costs a level.
    fn rewrite<'s>(
        &'s self,
        rewrite: &'s Rewrite,
        ns: &'s str,
        obj: &'s str,
        at: Step<'s>,
    ) -> Boxed<'s, Verdict> {
        Box::pin(async move {
            if at.depth == 0 {
                return Ok(Verdict::Unknown);
            }
            Ok(match rewrite {
                Rewrite::Union(children) => {
                    let mut any = Any::default();
                    let nodes: Vec<Node> = children
                        .iter()
                        .filter_map(|c| match c {
                            Rewrite::ComputedSubjectSet { relation } => {
                                Some((ns.to_string(), obj.to_string(), relation.clone()))
                            }
                            _ => None,
                        })
                        .collect();
                    let rows = self.lookups(&nodes, at.subject).await?;
                    if rows.iter().any(|r| r.direct) {
                        return Ok(Verdict::Allowed);
                    }
                    for (node, rows) in nodes.into_iter().zip(rows) {
                        if any.add(
                            self.is_allowed(node, at.deeper(), Direct::Looked(rows))
                                .await?,
                        ) {
                            return Ok(Verdict::Allowed);
                        }
                    }
                    for c in children {
                        if !matches!(c, Rewrite::ComputedSubjectSet { .. })
                            && any.add(self.child(c, ns, obj, at, true).await?)
                        {
                            return Ok(Verdict::Allowed);
                        }
                    }
                    any.verdict()
                }
                Rewrite::Intersection(children) => {
                    let mut unknown = false;
                    for c in children {
                        match self.child(c, ns, obj, at, true).await? {
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
                other => self.child(other, ns, obj, at, false).await?,
            })
        })
    }

    /// One operand of a rewrite, outside a union's computed relations. `nested` says
    /// whether a group here costs a level (a group directly under another does; the group
    /// under a `!` is run at the `!`'s depth).
    fn child<'s>(
        &'s self,
        c: &'s Rewrite,
        ns: &'s str,
        obj: &'s str,
        at: Step<'s>,
        nested: bool,
    ) -> Boxed<'s, Verdict> {
        Box::pin(async move {
            Ok(match c {
                Rewrite::ComputedSubjectSet { relation } => {
                    let node = (ns.to_string(), obj.to_string(), relation.clone());
                    self.is_allowed(node, at, Direct::Look).await?
                }
                Rewrite::TupleToSubjectSet { relation, computed } => {
                    if at.depth == 0 {
                        return Ok(Verdict::Unknown);
                    }
                    let mut any = Any::default();
                    for set in self.followed(ns, obj, relation).await? {
                        let node = (set.namespace, set.object, computed.clone());
                        if any.add(self.is_allowed(node, at.deeper(), Direct::Look).await?) {
                            return Ok(Verdict::Allowed);
                        }
                    }
                    any.verdict()
                }
                Rewrite::Not(inner) => match self.child(inner, ns, obj, at, false).await? {
                    Verdict::Allowed => Verdict::Denied,
                    Verdict::Denied => Verdict::Allowed,
                    Verdict::Unknown => Verdict::Unknown,
                },
                group if nested => self.rewrite(group, ns, obj, at.deeper()).await?,
                group => self.rewrite(group, ns, obj, at).await?,
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
