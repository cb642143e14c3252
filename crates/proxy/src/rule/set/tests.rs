use super::*;
use crate::rule::entry::Problem;
use crate::rule::types::Match;

/// A rule with a `header` mutator, which can read the capture groups.
fn rule(id: &str, methods: &[&str], url: &str) -> Rule {
    Rule {
        id: id.to_owned(),
        r#match: Match {
            methods: methods.iter().map(|m| (*m).to_owned()).collect(),
            url: url.to_owned(),
        },
        mutators: vec![crate::rule::Handler {
            handler: "header".into(),
            ..Default::default()
        }],
        ..Rule::default()
    }
}

fn regexp(rules: Vec<Rule>) -> RuleSet {
    RuleSet::compile(rules, Strategy::Regexp).unwrap()
}

fn found(set: &RuleSet, method: &str, url: &str) -> String {
    set.find(method, url).unwrap().rule.id.clone()
}

#[test]
fn capture_groups_in_order_nested_included() {
    let set = regexp(vec![rule(
        "a",
        &["GET"],
        "<https|http>://<([a-z]+)\\.example\\.com>/users/<[0-9]+><(/.*)?>",
    )]);
    let m = set.find("GET", "https://api.example.com/users/42").unwrap();
    assert_eq!(
        m.captures,
        ["https", "api.example.com", "api", "42", "", ""]
    );
    let m = set
        .find("GET", "http://x.example.com/users/7/pets")
        .unwrap();
    assert_eq!(
        m.captures,
        ["http", "x.example.com", "x", "7", "/pets", "/pets"]
    );
}

#[test]
fn capture_groups_are_left_out_when_no_handler_reads_them() {
    let mut quiet = rule("a", &["GET"], "http://<[a-z]+>/<.*>");
    quiet.mutators[0].handler = "noop".into();
    let set = regexp(vec![quiet]);
    assert!(set.find("GET", "http://x/1").unwrap().captures.is_empty());
    for (kind, handler) in [
        ("authorizer", "remote_json"),
        ("authorizer", "remote"),
        ("mutator", "cookie"),
        ("mutator", "hydrator"),
        ("mutator", "id_token"),
    ] {
        let mut r = rule("a", &["GET"], "http://<[a-z]+>/<.*>");
        if kind == "authorizer" {
            r.mutators.clear();
            r.authorizer.handler = handler.into();
        } else {
            r.mutators[0].handler = handler.into();
        }
        let m = regexp(vec![r]).find("GET", "http://x/1").unwrap();
        assert_eq!(m.captures, ["x", "1"], "{handler}");
    }
}

#[test]
fn methods_compare_case_insensitively() {
    let set = regexp(vec![rule("a", &["get", "Post"], "http://x/<.*>")]);
    assert_eq!(found(&set, "GET", "http://x/1"), "a");
    assert_eq!(found(&set, "post", "http://x/1"), "a");
    assert_eq!(
        set.find("PUT", "http://x/1").unwrap_err(),
        MatchError::NoMatch
    );
}

#[test]
fn a_rule_without_methods_matches_nothing() {
    let set = regexp(vec![rule("a", &[], "http://x/<.*>")]);
    assert_eq!(
        set.find("GET", "http://x/1").unwrap_err(),
        MatchError::NoMatch
    );
}

#[test]
fn no_match_and_multiple() {
    let set = regexp(vec![
        rule("users", &["GET"], "http://x/users/<.*>"),
        rule("all", &["GET"], "http://x/<.*>"),
        rule("other", &["GET"], "http://y/<.*>"),
        rule("post-only", &["POST"], "http://x/users/<.*>"),
    ]);
    assert_eq!(
        set.find("GET", "http://z/").unwrap_err(),
        MatchError::NoMatch
    );
    assert_eq!(found(&set, "GET", "http://x/pets"), "all");
    assert_eq!(found(&set, "GET", "http://y/users/1"), "other");
    let err = set.find("GET", "http://x/users/1").unwrap_err();
    assert_eq!(
        err,
        MatchError::Multiple(vec!["users".into(), "all".into()])
    );
    assert_eq!(
        err.to_string(),
        "Expected exactly one rule but found multiple rules"
    );
    assert_eq!(
        MatchError::NoMatch.to_string(),
        "Requested url does not match any rules"
    );
}

#[test]
fn wildcard_authority_rules_are_always_tested() {
    let set = regexp(vec![
        rule("any-host", &["GET"], "<https?>://<[^/]+>/health"),
        rule("anything", &["GET"], "<.*>/metrics"),
        rule("exact", &["GET"], "http://a/health/x"),
    ]);
    assert_eq!(found(&set, "GET", "http://a/health"), "any-host");
    assert_eq!(found(&set, "GET", "https://b:8443/health"), "any-host");
    assert_eq!(found(&set, "GET", "ftp://c/metrics"), "anything");
    assert_eq!(found(&set, "GET", "http://a/health/x"), "exact");
}

#[test]
fn expanded_scheme_rules_still_clash_with_literal_ones() {
    let set = regexp(vec![
        rule("both", &["GET"], "<https|http>://a/<.*>"),
        rule("plain", &["GET"], "https://a/x"),
    ]);
    assert_eq!(found(&set, "GET", "http://a/x"), "both");
    assert_eq!(
        set.find("GET", "https://a/x").unwrap_err(),
        MatchError::Multiple(vec!["both".into(), "plain".into()])
    );
}

#[test]
fn a_rule_under_two_matching_heads_counts_once() {
    // Heads "http://x/a" and "http://x/ab" both start the URL.
    let set = regexp(vec![rule("r", &["GET"], "http://x/<a|ab><.*>")]);
    let m = set.find("GET", "http://x/abc").unwrap();
    assert_eq!(m.captures, ["a", "bc"], "leftmost-first, as a full scan");
}

#[test]
fn glob_strategy() {
    let set = RuleSet::compile(
        vec![
            rule("one", &["GET"], "<{http,https}>://a/<*>"),
            rule("deep", &["GET"], "<{http,https}>://a/api/<**>"),
        ],
        Strategy::Glob,
    )
    .unwrap();
    let m = set.find("GET", "https://a/x").unwrap();
    assert_eq!(m.rule.id, "one");
    assert!(m.captures.is_empty());
    assert_eq!(found(&set, "GET", "http://a/api/v1/users"), "deep");
    assert_eq!(
        set.find("GET", "http://a/x/y").unwrap_err(),
        MatchError::NoMatch
    );
    assert_eq!(set.strategy(), Strategy::Glob);
}

#[test]
fn the_same_pattern_means_different_things_per_strategy() {
    let rules = vec![rule("r", &["GET"], "http://a/<.*>")];
    let re = RuleSet::compile(rules.clone(), Strategy::Regexp).unwrap();
    let glob = RuleSet::compile(rules, Strategy::Glob).unwrap();
    assert!(re.find("GET", "http://a/xyz").is_ok());
    // In a glob, `.*` is a literal dot and then non-separators.
    assert!(glob.find("GET", "http://a/xyz").is_err());
    assert!(glob.find("GET", "http://a/.xyz").is_ok());
    assert!(glob.find("GET", "http://a/.x.yz").is_err());
}

#[test]
fn compile_errors_name_rule_and_field() {
    let err = RuleSet::compile(
        vec![
            rule("ok", &["GET"], "http://a/"),
            rule("api", &["GET"], "http://a/<x"),
        ],
        Strategy::Regexp,
    )
    .unwrap_err();
    assert_eq!(err.to_string(), r#"rule "api" match.url: unbalanced "<""#);
    assert_eq!(err.index, 1);
    let err = RuleSet::compile(vec![rule("e", &["GET"], "")], Strategy::Regexp).unwrap_err();
    assert_eq!(err.to_string(), r#"rule "e" match.url is required"#);
    assert_eq!(err.problem, Problem::Required);
}

#[test]
fn get_len_and_rules() {
    let set = regexp(vec![
        rule("a", &["GET"], "http://a/"),
        rule("b", &["GET"], "http://b/"),
        rule("a", &["GET"], "http://c/"),
    ]);
    assert_eq!(set.len(), 3);
    assert!(!set.is_empty());
    assert_eq!(set.get("a").unwrap().r#match.url, "http://a/");
    assert!(set.get("zz").is_none());
    let ids: Vec<_> = set.rules().iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "a"]);
    let empty = RuleSet::empty();
    assert!(empty.is_empty());
    assert_eq!(
        empty.find("GET", "http://a/").unwrap_err(),
        MatchError::NoMatch
    );
}

/// 10,000 distinct rules in the shapes people write; every lookup must get
/// exactly the rule a full scan would.
#[test]
fn ten_thousand_rules() {
    let mut rules = Vec::new();
    for i in 0..10_000 {
        let (id, url) = match i % 4 {
            0 => (
                format!("svc{i}"),
                format!("https://api.example.com/svc{i}/<.*>"),
            ),
            1 => (
                format!("host{i}"),
                format!("<https|http>://h{i}.example.com/<.*>"),
            ),
            2 => (
                format!("glob{i}"),
                format!("http://x.example.com:8080/items/{i}"),
            ),
            _ => (
                format!("num{i}"),
                format!("<https?>://n.example.com/{i}/<[0-9]+>"),
            ),
        };
        rules.push(rule(&id, &["GET", "POST"], &url));
    }
    rules.push(rule("catch-metrics", &["GET"], "<.*>/metrics"));
    let set = regexp(rules);
    assert_eq!(set.len(), 10_001);
    assert_eq!(
        found(&set, "GET", "https://api.example.com/svc400/a/b"),
        "svc400"
    );
    assert_eq!(found(&set, "POST", "http://h9997.example.com/"), "host9997");
    assert_eq!(
        found(&set, "GET", "http://x.example.com:8080/items/1234"),
        "glob1234"
    );
    assert_eq!(
        found(&set, "GET", "https://n.example.com/9999/12"),
        "num9999"
    );
    assert_eq!(
        found(&set, "GET", "https://n.example.com/metrics"),
        "catch-metrics"
    );
    assert_eq!(
        set.find("GET", "https://api.example.com/svc401/x")
            .unwrap_err(),
        MatchError::NoMatch
    );
    assert_eq!(
        set.find("GET", "https://api.example.com/svc400/metrics")
            .unwrap_err(),
        MatchError::Multiple(vec!["svc400".into(), "catch-metrics".into()])
    );
    // The index must not be a scan in disguise: a literal URL gathers only
    // the rules on its path, not all 10,001.
    let mut gathered = Vec::new();
    set.index
        .collect(b"https://api.example.com/svc400/a", &mut gathered);
    assert!(gathered.len() <= 3, "gathered {}", gathered.len());
}
