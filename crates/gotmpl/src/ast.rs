//! Parsed template tree. Positions are byte offsets into `Tree::source` so
//! errors can be mapped back to line/column lazily.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use crate::error::LineIndex;
use crate::{Dialect, Funcs, Mode};

#[derive(Debug)]
pub(crate) struct Tree {
    pub name: String,
    pub mode: Mode,
    pub dialect: Dialect,
    pub source: String,
    pub lines: LineIndex,
    pub root: Vec<Node>,
    /// Templates from `{{define}}` / `{{block}}`.
    pub defs: HashMap<String, Vec<Node>>,
    pub funcs: Funcs,
    /// The top-level fields of the data the template reads; `None`: maybe all of it.
    pub roots: Option<BTreeSet<String>>,
}

#[derive(Clone, Debug)]
pub(crate) enum Node {
    Text(String),
    Action(Pipeline),
    If(Branch),
    With(Branch),
    Range(Branch),
    Template {
        pos: usize,
        name: String,
        pipe: Option<Pipeline>,
    },
    Break,
    Continue,
}

/// Shared shape of if / with / range.
#[derive(Clone, Debug)]
pub(crate) struct Branch {
    pub pipe: Pipeline,
    pub list: Vec<Node>,
    pub else_list: Option<Vec<Node>>,
}

#[derive(Clone, Debug)]
pub(crate) struct Pipeline {
    pub pos: usize,
    /// Declared or assigned variables (`$x := ...`, `$i, $e := ...`).
    pub decl: Vec<String>,
    /// `=` rather than `:=`.
    pub is_assign: bool,
    pub cmds: Vec<Command>,
}

#[derive(Clone, Debug)]
pub(crate) struct Command {
    pub pos: usize,
    /// Byte span of the command in the source, for error messages.
    pub end: usize,
    pub args: Vec<Arg>,
}

#[derive(Clone, Debug)]
pub(crate) enum Arg {
    Dot,
    /// `.A.B` relative to dot.
    Field(Vec<String>),
    /// `$x.A.B`.
    Var(String, Vec<String>),
    /// `(pipeline).A.B` or `fn.A`.
    Chain(Box<Arg>, Vec<String>),
    /// A function; only called with arguments in command position.
    Func(String),
    Pipe(Box<Pipeline>),
    /// Literal values (strings, numbers, bools, nil).
    Lit(Value),
}
