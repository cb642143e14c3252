//! One compiled rule: the heads it is filed under and the regex for the
//! rest of the URL, shared with every other rule that has the same tail.

use std::collections::HashMap;
use std::sync::Arc;

use regex::Regex;

use super::pattern::{self, Head};
use super::types::{Rule, Strategy};

/// A rule that cannot be compiled.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("rule {id:?} {field}{problem}")]
pub struct RuleError {
    pub id: String,
    /// Position in the list given to `RuleSet::compile` (or in its file).
    pub index: usize,
    pub field: &'static str,
    pub problem: Problem,
}

/// What is wrong with a [`RuleError`]'s field. Displays with its own
/// separator so the whole reads `match.url is required` or
/// `match.url: unbalanced "<"`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error(" is required")]
    Required,
    #[error(": {0}")]
    Invalid(String),
}

/// Compiles rules, one regex per distinct source.
///
/// A `regex::Regex` costs several KiB (and a clone gets its own cache
/// pool), so equal sources share one `Arc<Regex>`.
pub(crate) struct Compiler {
    strategy: Strategy,
    regexes: HashMap<String, Arc<Regex>>,
}

impl Compiler {
    pub(crate) fn new(strategy: Strategy) -> Compiler {
        Compiler {
            strategy,
            regexes: HashMap::new(),
        }
    }

    /// Compiles one rule; `index` only labels the error.
    pub(crate) fn entry(&mut self, rule: Rule, index: usize) -> Result<Entry, RuleError> {
        let error = |problem| RuleError {
            id: rule.id.clone(),
            index,
            field: "match.url",
            problem,
        };
        if rule.r#match.url.is_empty() {
            return Err(error(Problem::Required));
        }
        let plan = pattern::plan(&rule.r#match.url, self.strategy)
            .map_err(|e| error(Problem::Invalid(e)))?;
        let regex = self
            .regex(plan.source)
            .map_err(|e| error(Problem::Invalid(e)))?;
        Ok(Entry {
            rule: Arc::new(rule),
            heads: plan.heads,
            strip: plan.strip,
            regex,
        })
    }

    fn regex(&mut self, source: String) -> Result<Arc<Regex>, String> {
        if let Some(regex) = self.regexes.get(&source) {
            return Ok(Arc::clone(regex));
        }
        let regex = Arc::new(pattern::compile(&source)?);
        self.regexes.insert(source, Arc::clone(&regex));
        Ok(regex)
    }
}

/// A compiled rule; what a rule set is built from.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    rule: Arc<Rule>,
    heads: Vec<Head>,
    /// Whether `regex` matches the URL after the head (else all of it).
    strip: bool,
    regex: Arc<Regex>,
}

impl Entry {
    pub(crate) fn rule(&self) -> &Arc<Rule> {
        &self.rule
    }

    pub(crate) fn heads(&self) -> &[Head] {
        &self.heads
    }

    pub(crate) fn allows(&self, method: &str) -> bool {
        let methods = &self.rule.r#match.methods;
        methods.iter().any(|m| m.eq_ignore_ascii_case(method))
    }

    /// Whether `url`, found under head number `head`, matches.
    pub(crate) fn is_match(&self, head: usize, url: &str) -> bool {
        self.haystack(head, url)
            .is_some_and(|text| self.regex.is_match(text))
    }

    /// The capture groups of a matching `url` (regexp strategy): the
    /// head's known values, then the regex's groups ("" when unmatched).
    pub(crate) fn captures(&self, head: usize, url: &str) -> Vec<String> {
        let mut out = match (self.strip, self.heads.get(head)) {
            (true, Some(h)) => h.captures.clone(),
            _ => Vec::new(),
        };
        let caps = self
            .haystack(head, url)
            .and_then(|t| self.regex.captures(t));
        if let Some(caps) = caps {
            let groups = caps.iter().skip(1);
            out.extend(groups.map(|m| m.map_or("", |m| m.as_str()).to_owned()));
        }
        out
    }

    fn haystack<'u>(&self, head: usize, url: &'u str) -> Option<&'u str> {
        if !self.strip {
            return Some(url);
        }
        url.strip_prefix(self.heads.get(head)?.text.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::types::Match;

    fn entry(compiler: &mut Compiler, url: &str) -> Entry {
        let rule = Rule {
            r#match: Match {
                methods: vec!["GET".into()],
                url: url.into(),
            },
            ..Rule::default()
        };
        compiler.entry(rule, 0).unwrap()
    }

    #[test]
    fn equal_tails_share_one_regex() {
        let mut compiler = Compiler::new(Strategy::Regexp);
        let a = entry(&mut compiler, "https://a.example/<.*>");
        let b = entry(&mut compiler, "<https|http>://b.example/v1/<.*>");
        let c = entry(&mut compiler, "https://c.example/<[0-9]+>");
        assert!(Arc::ptr_eq(&a.regex, &b.regex));
        assert!(!Arc::ptr_eq(&a.regex, &c.regex));
        assert_eq!(compiler.regexes.len(), 2);
    }

    #[test]
    fn captures_join_head_values_and_tail_groups() {
        let mut compiler = Compiler::new(Strategy::Regexp);
        let e = entry(&mut compiler, "<https|http>://<api>.x/<[a-z]+>/<(\\d)?>");
        let url = "http://api.x/users/";
        let head = e
            .heads()
            .iter()
            .position(|h| url.starts_with(&h.text))
            .unwrap();
        assert!(e.is_match(head, url));
        assert_eq!(e.captures(head, url), ["http", "api", "users", "", ""]);
        assert!(!e.is_match(head, "http://api.x/USERS/"));
    }

    #[test]
    fn an_empty_url_is_required() {
        let mut compiler = Compiler::new(Strategy::Glob);
        let err = compiler.entry(Rule::default(), 4).unwrap_err();
        assert_eq!((err.index, err.problem), (4, Problem::Required));
    }
}
