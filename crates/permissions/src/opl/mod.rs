//! The Ory Permission Language (OPL): Keto's TypeScript-shaped namespace
//! configuration, parsed and type-checked the way Keto does it.
//!
//! ```
//! use gatehouse_permissions::opl::{self, Rewrite};
//! let model = r#"
//!   class User implements Namespace {}
//!   class Doc implements Namespace {
//!     related: { owners: User[] }
//!     permits = { edit: (ctx: Context): boolean => this.related.owners.includes(ctx.subject) }
//!   }"#;
//! let namespaces = opl::parse(model).map_err(|e| e[0].to_string())?;
//! let edit = namespaces[1].relation("edit").ok_or("no edit")?;
//! assert_eq!(
//!     edit.rewrite,
//!     Some(Rewrite::Union(vec![Rewrite::ComputedSubjectSet { relation: "owners".into() }]))
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`parse`] is what loading a namespace file needs (any error rejects the
//! whole file, as Keto keeps its previous namespaces then); [`check_syntax`]
//! is `POST /opl/syntax/check`.

mod ast;
mod check;
mod error;
mod expr;
mod lexer;
mod parser;

#[cfg(test)]
mod tests;

pub use ast::{Namespace, Relation, Rewrite, SubjectType};
pub use check::MAX_TRAVERSE_CHECK_DEPTH;
pub use error::{OplError, Position, SyntaxCheckResponse};
pub use expr::{MAX_NESTING, MAX_OPERATOR_CHANGES};

/// Parses an OPL file and type-checks it. On failure, all errors in the
/// order Keto reports them: the syntax error(s) that stopped the parse, or
/// else every failed type check.
pub fn parse(source: &str) -> Result<Vec<Namespace>, Vec<OplError>> {
    let outcome = parser::parse_source(source);
    if outcome.errors.is_empty() {
        Ok(outcome.namespaces)
    } else {
        Err(outcome.errors)
    }
}

/// Keto's `POST /opl/syntax/check`: the errors of [`parse`], ready to be
/// serialized as the answer body (`{"errors":[…]}`, or `{}` without errors;
/// the status is always 200).
pub fn check_syntax(source: &str) -> SyntaxCheckResponse {
    SyntaxCheckResponse {
        errors: parser::parse_source(source).errors,
    }
}

/// Like [`parse`], but also returns the namespaces completed before a syntax
/// error stopped the parse (Keto's parser hands both out; only diagnostics
/// should use the partial list).
pub fn parse_partial(source: &str) -> (Vec<Namespace>, Vec<OplError>) {
    let outcome = parser::parse_source(source);
    (outcome.namespaces, outcome.errors)
}
