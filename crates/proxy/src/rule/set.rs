//! A compiled, immutable rule set and its lookup.
//!
//! Oathkeeper tests every rule against every request and requires exactly
//! one match. Doing that literally costs one regex per rule per request, so
//! rules are filed in a [`PrefixIndex`] under their heads, the literal text
//! their pattern starts with (see [`super::pattern`]). A URL can only match
//! a rule if it starts with one of the rule's heads, so the rules gathered
//! along the URL's path through the index are all the rules that could
//! match: testing just those gives the same "exactly one" answer as testing
//! all. A lookup then costs the URL's length plus the regexes of the rules
//! that share its prefix, independent of how many other rules are loaded.
//! Only rules starting with a real wildcard (`<.*>`, `<[a-z]+>`, ...) sit at
//! the root and are tested on every request; the common scheme wildcards
//! (`<https|http>`, `<https?>`, `<{http,https}>`) are expanded into literal
//! heads instead.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use super::entry::{Compiler, Entry, RuleError};
use super::index::PrefixIndex;
use super::types::{Rule, Strategy};

/// The rule a request matched, with the regexp capture groups of its URL
/// (nested groups included, in order of their opening bracket; an unmatched
/// group is ""). Empty under the glob strategy, and for a rule none of whose
/// handlers reads them (see [`Rule::reads_captures`]).
#[derive(Clone, Debug)]
pub struct Matched {
    pub rule: Arc<Rule>,
    pub captures: Vec<String>,
}

/// Why a request has no rule. The messages are Oathkeeper's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MatchError {
    /// Oathkeeper answers 404.
    #[error("Requested url does not match any rules")]
    NoMatch,
    /// Oathkeeper answers 500. Holds the matching rule ids, in rule order.
    #[error("Expected exactly one rule but found multiple rules")]
    Multiple(Vec<String>),
}

/// Which repository a run of a set's rules came from, so a reload can
/// replace just that run (see [`super::live`]).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Origin {
    pub(crate) repository: String,
    pub(crate) rules: Range<usize>,
}

/// Compiled rules plus the prefix index over them. Immutable: a reload
/// builds a new set.
#[derive(Debug)]
pub struct RuleSet {
    entries: Vec<Entry>,
    rules: Vec<Arc<Rule>>,
    /// What the index holds: (entry, head) per filed head.
    slots: Vec<(usize, usize)>,
    index: PrefixIndex,
    by_id: HashMap<String, usize>,
    strategy: Strategy,
    origins: Vec<Origin>,
}

impl RuleSet {
    /// Compiles `rules`; fails on the first rule whose `match.url` is empty
    /// or does not compile under `strategy`.
    pub fn compile(rules: Vec<Rule>, strategy: Strategy) -> Result<RuleSet, RuleError> {
        let mut compiler = Compiler::new(strategy);
        let entries = rules
            .into_iter()
            .enumerate()
            .map(|(i, rule)| compiler.entry(rule, i))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RuleSet::build(entries, strategy, Vec::new()))
    }

    /// A set without rules: every lookup is [`MatchError::NoMatch`].
    pub fn empty() -> RuleSet {
        RuleSet::build(Vec::new(), Strategy::default(), Vec::new())
    }

    pub(crate) fn build(entries: Vec<Entry>, strategy: Strategy, origins: Vec<Origin>) -> RuleSet {
        let mut index = PrefixIndex::default();
        let mut slots = Vec::with_capacity(entries.len());
        let mut by_id = HashMap::with_capacity(entries.len());
        for (i, entry) in entries.iter().enumerate() {
            for (h, head) in entry.heads().iter().enumerate() {
                index.insert(head.text.as_bytes(), slots.len());
                slots.push((i, h));
            }
            // Like Oathkeeper's `Get`, a duplicated id finds the first rule.
            by_id.entry(entry.rule().id.clone()).or_insert(i);
        }
        let rules = entries.iter().map(|e| Arc::clone(e.rule())).collect();
        RuleSet {
            entries,
            rules,
            slots,
            index,
            by_id,
            strategy,
            origins,
        }
    }

    /// The one rule for `method` and `url` (`scheme://host[:port]/path`,
    /// path already cleaned, no query; see [`super::match_url`]).
    pub fn find(&self, method: &str, url: &str) -> Result<Matched, MatchError> {
        let mut found = Vec::new();
        self.index.collect(url.as_bytes(), &mut found);
        let mut candidates: Vec<(usize, usize)> = found.iter().map(|&s| self.slots[s]).collect();
        // A rule found under two heads is tested once (its regex then sees
        // the whole URL, see `pattern::Plan::strip`); sorting by rule also
        // reports `Multiple` in rule order.
        candidates.sort_unstable();
        candidates.dedup_by_key(|c| c.0);
        let hits: Vec<(usize, usize)> = candidates
            .into_iter()
            .filter(|&(e, h)| self.entries[e].allows(method) && self.entries[e].is_match(h, url))
            .collect();
        match hits.as_slice() {
            [] => Err(MatchError::NoMatch),
            &[(e, h)] => Ok(self.matched(&self.entries[e], h, url)),
            many => Err(MatchError::Multiple(
                many.iter()
                    .map(|&(e, _)| self.entries[e].rule().id.clone())
                    .collect(),
            )),
        }
    }

    fn matched(&self, entry: &Entry, head: usize, url: &str) -> Matched {
        let captures = match self.strategy {
            Strategy::Regexp if entry.rule().reads_captures() => entry.captures(head, url),
            // Globs have no groups (Oathkeeper returns an empty list).
            _ => Vec::new(),
        };
        Matched {
            rule: Arc::clone(entry.rule()),
            captures,
        }
    }

    /// All rules, in load order (repositories in configured order).
    pub fn rules(&self) -> &[Arc<Rule>] {
        &self.rules
    }

    /// The first rule with this id.
    pub fn get(&self, id: &str) -> Option<Arc<Rule>> {
        self.by_id.get(id).map(|&i| Arc::clone(&self.rules[i]))
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    pub(crate) fn origins(&self) -> &[Origin] {
        &self.origins
    }

    pub(crate) fn entries(&self) -> &[Entry] {
        &self.entries
    }
}

#[cfg(test)]
mod tests;
