//! The parsed model: namespaces (OPL classes), their relations (`related`
//! entries) and permits (`permits` entries, carrying a subject-set rewrite).

use serde::Serialize;

/// One OPL class, i.e. one Keto namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Namespace {
    pub name: String,
    /// In source order: all `related` entries and all `permits` entries, in
    /// the order the blocks and entries appear (Keto keeps one list, too).
    pub relations: Vec<Relation>,
}

impl Namespace {
    /// The first relation or permit called `name`. Keto looks names up the
    /// same way, so a duplicate name shadows nothing: the first one wins.
    pub fn relation(&self, name: &str) -> Option<&Relation> {
        self.relations.iter().find(|r| r.name == name)
    }
}

/// A `related` entry (with `types`) or a `permits` entry (with `rewrite`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Relation {
    pub name: String,
    /// `related` entries: the subject types allowed (empty for permits).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<SubjectType>,
    /// `permits` entries: the rewrite (None for plain relations).
    ///
    /// As in Keto, the top of a permit's rewrite is always a group
    /// ([`Rewrite::Union`] or [`Rewrite::Intersection`]), even for a single
    /// term: `(ctx) => this.permits.edit(ctx)` is
    /// `Union([ComputedSubjectSet { relation: "edit" }])`. Keto's check engine
    /// spends one depth level per nested group, so the exact shape matters
    /// for parity near `max-depth`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rewrite: Option<Rewrite>,
}

impl Relation {
    /// A permit (has a rewrite) rather than a plain relation.
    pub fn is_permit(&self) -> bool {
        self.rewrite.is_some()
    }
}

/// One allowed subject type of a relation: `User` (namespace only) or
/// `SubjectSet<Group, "members">` (namespace plus relation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubjectType {
    pub namespace: String,
    /// `Some` for `SubjectSet<NS, "rel">`. `SubjectSet<NS, "">` becomes `None`:
    /// Keto stores an empty relation and cannot tell the two forms apart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relation: Option<String>,
}

/// A subject-set rewrite (Zanzibar userset rewrite).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rewrite {
    /// `a || b || c`, flattened n-ary.
    Union(Vec<Rewrite>),
    /// `a && b && c`, flattened n-ary.
    Intersection(Vec<Rewrite>),
    /// `!x`. The operand is a term or, for `!( … )`, a group; Keto keeps a
    /// group under `!` even if it holds one term.
    Not(Box<Rewrite>),
    /// `this.related.R.includes(ctx.subject)` or `this.permits.R(ctx)`.
    ComputedSubjectSet { relation: String },
    /// `this.related.R.traverse(x => x.related.S.includes(ctx.subject))` or
    /// `this.related.R.traverse(x => x.permits.S(ctx))`: for every subject
    /// set stored in R, check `computed` on it.
    TupleToSubjectSet { relation: String, computed: String },
}

impl Rewrite {
    /// The children of a group, `None` for terms and `!`.
    pub fn children(&self) -> Option<&[Rewrite]> {
        match self {
            Rewrite::Union(c) | Rewrite::Intersection(c) => Some(c),
            _ => None,
        }
    }
}
