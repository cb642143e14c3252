//! Access rules, differentially: a rule set (its prefix index, its shared regexes) must
//! answer a URL exactly as its rules do one at a time. The input is the strategy (a first
//! line starting with `g` is glob, else regexp), up to eight `match.url` patterns, one a
//! line, then the URL.
#![no_main]
use gatehouse_proxy::rule::{Handler, Match, MatchError, Rule, RuleSet, Strategy};
use libfuzzer_sys::fuzz_target;

/// A GET rule whose header mutator reads the capture groups, so matching computes them.
fn rule(i: usize, url: &str) -> Rule {
    Rule {
        id: format!("r{i}"),
        r#match: Match {
            methods: vec!["GET".into()],
            url: url.into(),
        },
        mutators: vec![Handler {
            handler: "header".into(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines: Vec<&str> = text.split('\n').collect();
    if !(3..=10).contains(&lines.len()) {
        return;
    }
    let strategy = if lines[0].starts_with('g') {
        Strategy::Glob
    } else {
        Strategy::Regexp
    };
    let url = lines.pop().unwrap_or_default();
    let rules: Vec<Rule> = lines[1..]
        .iter()
        .enumerate()
        .map(|(i, p)| rule(i, p))
        .collect();
    let Ok(set) = RuleSet::compile(rules.clone(), strategy) else {
        let alone_fails = rules
            .iter()
            .any(|r| RuleSet::compile(vec![r.clone()], strategy).is_err());
        assert!(
            alone_fails,
            "the set fails to compile, each rule alone does not: {rules:?}"
        );
        return;
    };
    let mut hits = Vec::new();
    let mut captures = None;
    for r in &rules {
        let alone = RuleSet::compile(vec![r.clone()], strategy).expect("compiles in the set");
        match alone.find("GET", url) {
            Ok(m) => {
                hits.push(r.id.clone());
                captures = Some(m.captures);
            }
            Err(MatchError::NoMatch) => {}
            Err(e) => panic!("one rule cannot match twice: {e:?}"),
        }
    }
    match (set.find("GET", url), hits.len()) {
        (Err(MatchError::NoMatch), 0) => {}
        (Ok(m), 1) => {
            assert_eq!(m.rule.id, hits[0], "{url:?}");
            assert_eq!(Some(m.captures), captures, "{url:?}");
        }
        (Err(MatchError::Multiple(ids)), n) if n > 1 => assert_eq!(ids, hits, "{url:?}"),
        (got, _) => panic!("the set says {got:?}, the rules one at a time {hits:?}: {url:?}"),
    }
});
