//! Unit tests for the OPL parser and type checker, with shorthand builders
//! for the expected rewrite trees.

mod errors;
mod example;
mod fuzz;
mod grammar;
mod keto_json;
mod recorded;

use crate::opl::{Namespace, OplError, Rewrite, SubjectType, parse};

/// `this.related.R.includes(ctx.subject)` / `this.permits.R(ctx)`.
fn cs(relation: &str) -> Rewrite {
    Rewrite::ComputedSubjectSet {
        relation: relation.to_owned(),
    }
}

/// `this.related.R.traverse(x => x.….S…)`.
fn ttu(relation: &str, computed: &str) -> Rewrite {
    Rewrite::TupleToSubjectSet {
        relation: relation.to_owned(),
        computed: computed.to_owned(),
    }
}

fn or(children: Vec<Rewrite>) -> Rewrite {
    Rewrite::Union(children)
}

fn and(children: Vec<Rewrite>) -> Rewrite {
    Rewrite::Intersection(children)
}

fn not(inner: Rewrite) -> Rewrite {
    Rewrite::Not(Box::new(inner))
}

fn plain(namespace: &str) -> SubjectType {
    SubjectType {
        namespace: namespace.to_owned(),
        relation: None,
    }
}

fn set(namespace: &str, relation: &str) -> SubjectType {
    SubjectType {
        namespace: namespace.to_owned(),
        relation: Some(relation.to_owned()),
    }
}

/// Parses a source that must be valid.
fn ok(source: &str) -> Vec<Namespace> {
    match parse(source) {
        Ok(ns) => ns,
        Err(errors) => panic!("unexpected errors: {errors:#?}\nsource:\n{source}"),
    }
}

/// Parses a source that must be rejected.
fn fail(source: &str) -> Vec<OplError> {
    match parse(source) {
        Ok(ns) => panic!("expected errors, got {ns:#?}\nsource:\n{source}"),
        Err(errors) => errors,
    }
}

/// The rewrite of permit `permit` in the last namespace of a valid source.
fn rewrite_of(source: &str, permit: &str) -> Rewrite {
    let ns = ok(source);
    ns.last()
        .and_then(|n| n.relation(permit))
        .and_then(|r| r.rewrite.clone())
        .unwrap_or_else(|| panic!("no permit {permit}"))
}

/// A class `A` with relations r, s, t (all `A[]`) and the given permits
/// block body.
fn with_permits(body: &str) -> String {
    format!(
        "class A implements Namespace {{\n  related: {{ r: A[], s: A[], t: A[] }}\n  permits = {{\n    {body}\n  }}\n}}\n"
    )
}
