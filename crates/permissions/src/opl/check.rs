//! Type checks, collected while parsing and run once the whole file parsed
//! without a syntax error (only then are all classes known): referenced
//! namespaces exist, `SubjectSet<NS, "rel">` names a relation of NS,
//! `this.related.R` / `this.permits.P` exist on the class, and every type a
//! `traverse` can reach defines the target.
//!
//! Lookups take the first namespace and the first relation of a name, as
//! Keto's do; every failed check adds an error (nothing stops early), at the
//! token the check is about.

use super::ast::{Namespace, Relation};
use super::error::{OplError, go_quote};
use super::lexer::Token;
use std::collections::HashMap;

/// How many `SubjectSet<…>` hops a traverse check follows before giving up.
pub const MAX_TRAVERSE_CHECK_DEPTH: usize = 10;

pub(crate) enum Check<'s> {
    /// A plain type `NS` in a relation's types.
    NamespaceExists { namespace: Token<'s> },
    /// `SubjectSet<NS, "rel">` in a relation's types.
    NamespaceHasRelation {
        namespace: Token<'s>,
        relation: Token<'s>,
    },
    /// `this.related.R` / `this.permits.P` inside class `namespace`.
    CurrentHasRelation {
        namespace: String,
        relation: Token<'s>,
    },
    /// `this.related.R.traverse(x => x.….target…)` inside class `namespace`.
    TraverseTargets {
        namespace: String,
        relation: Token<'s>,
        target: String,
    },
}

/// How many steps one traverse check may take. Keto's walk revisits shared
/// and cyclic subject sets on every path, so a relation listing the same
/// self-referencing `SubjectSet` a few times makes it exponential; past this
/// many steps the walk stops (real models need a handful).
const TRAVERSE_CHECK_BUDGET: usize = 10_000;

/// The namespaces by name, first one of a name winning (as in Keto).
struct Index<'a> {
    by_name: HashMap<&'a str, &'a Namespace>,
}

impl<'a> Index<'a> {
    fn new(namespaces: &'a [Namespace]) -> Self {
        let mut by_name = HashMap::new();
        for n in namespaces {
            by_name.entry(n.name.as_str()).or_insert(n);
        }
        Index { by_name }
    }

    fn get(&self, name: &str) -> Option<&'a Namespace> {
        self.by_name.get(name).copied()
    }

    fn relation(&self, namespace: &str, relation: &str) -> Option<&'a Relation> {
        self.get(namespace).and_then(|n| n.relation(relation))
    }
}

/// Runs `checks` against the parsed namespaces; every failure is an error.
pub(crate) fn run(source: &str, namespaces: &[Namespace], checks: Vec<Check<'_>>) -> Vec<OplError> {
    let mut run = Run {
        source,
        index: Index::new(namespaces),
        errors: Vec::new(),
    };
    for check in checks {
        match check {
            Check::NamespaceExists { namespace } => {
                if run.index.get(&namespace.text).is_none() {
                    run.not_declared(&namespace, &namespace.text);
                }
            }
            Check::NamespaceHasRelation {
                namespace,
                relation,
            } => run.has_relation(&namespace.text, &relation, &namespace),
            Check::CurrentHasRelation {
                namespace,
                relation,
            } => run.has_relation(&namespace, &relation, &relation),
            Check::TraverseTargets {
                namespace,
                relation,
                target,
            } => {
                let mut budget = TRAVERSE_CHECK_BUDGET;
                run.traverse(
                    &relation,
                    &namespace,
                    &relation.text,
                    &target,
                    MAX_TRAVERSE_CHECK_DEPTH,
                    &mut budget,
                );
            }
        }
    }
    run.errors
}

struct Run<'a> {
    source: &'a str,
    index: Index<'a>,
    errors: Vec<OplError>,
}

impl Run<'_> {
    fn error(&mut self, at: &Token<'_>, message: String) {
        self.errors
            .push(OplError::new(self.source, message, at.start, at.end));
    }

    fn not_declared(&mut self, at: &Token<'_>, namespace: &str) {
        self.error(
            at,
            format!("namespace {} was not declared", go_quote(namespace)),
        );
    }

    /// `relation` must exist on `namespace`; a missing namespace is reported
    /// at `namespace_at`, a missing relation at the relation token.
    fn has_relation(&mut self, namespace: &str, relation: &Token<'_>, namespace_at: &Token<'_>) {
        let Some(ns) = self.index.get(namespace) else {
            self.not_declared(namespace_at, namespace);
            return;
        };
        if ns.relation(&relation.text).is_none() {
            let message = format!(
                "namespace {} did not declare relation {}",
                go_quote(namespace),
                go_quote(&relation.text)
            );
            self.error(relation, message);
        }
    }

    /// Every type of `namespace#relation` must define `target`; subject-set
    /// types are followed to their own relation's types. Keto revisits
    /// cycles until the depth runs out, so a self-referencing subject set
    /// (`Group#members` holding `SubjectSet<Group, "members">`) under a
    /// traverse always ends in the "deeply nested" error; kept for parity.
    fn traverse(
        &mut self,
        at: &Token<'_>,
        namespace: &str,
        relation: &str,
        target: &str,
        depth_left: usize,
        budget: &mut usize,
    ) {
        let Some(left) = budget.checked_sub(1) else {
            return;
        };
        *budget = left;
        let Some(r) = self.index.relation(namespace, relation) else {
            self.missing_relation(at, relation, namespace);
            return;
        };
        for ty in &r.types {
            match &ty.relation {
                None => {
                    if self.index.relation(&ty.namespace, target).is_none() {
                        self.missing_relation(at, target, &ty.namespace);
                    }
                }
                Some(via) => match depth_left.checked_sub(1) {
                    Some(depth) => {
                        self.traverse(at, &ty.namespace, via, target, depth, budget);
                    }
                    None => self.error(
                        at,
                        "could not typecheck deeply nested SubjectSet further".to_owned(),
                    ),
                },
            }
        }
    }

    fn missing_relation(&mut self, at: &Token<'_>, relation: &str, namespace: &str) {
        let message = format!(
            "relation {} was not declared in namespace {}",
            go_quote(relation),
            go_quote(namespace)
        );
        self.error(at, message);
    }
}
