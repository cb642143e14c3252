//! Access rules: the document format, `<...>` URL pattern matching, the
//! repositories they load from, and the live set the proxy consults.
//!
//! Lookup design (see [`set`] for the details): rules are compiled once into
//! an immutable [`RuleSet`] that files every rule in a radix tree under the
//! literal text its `match.url` starts with. A request's URL walks that tree
//! and only the rules met on the way have their regex run, so the cost of a
//! lookup follows the URL's length and the number of rules sharing its
//! prefix, not the number of rules loaded. Oathkeeper's "exactly one rule
//! must match" still holds, because a rule whose prefix is not on the URL's
//! path cannot match it.
//!
//! Memory: rules whose patterns differ only in their literal heads share
//! one compiled regex for the rest (see [`pattern`]), so a large generated
//! rule set holds a handful of regexes rather than one per rule.
//!
//! Module map: [`types`] the serde types, [`pattern`] and [`glob`] the
//! pattern compilers, [`entry`] compiled rules, [`index`] the radix tree,
//! [`set`] compiled sets and lookup, [`path`] URL path cleaning,
//! [`decode`] JSON/YAML documents, [`repository`] loading, [`live`] hot
//! reload.

mod decode;
mod entry;
mod glob;
mod index;
mod live;
mod path;
mod pattern;
mod repository;
mod set;
mod types;

pub use entry::{Problem, RuleError};
pub use live::{Check, Rules};
pub use path::{clean_path, match_url};
pub use repository::load;
pub use set::{MatchError, Matched, RuleSet};
pub use types::{Handler, Match, Rule, Strategy, Upstream};
