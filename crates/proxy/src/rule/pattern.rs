//! Compiles a `match.url` pattern (`<...>` wildcards) into a matching plan:
//! the literal heads a matching URL must start with (what the rule index
//! files the rule under) and the regex for the rest.
//!
//! Regexp strategy (ory/ladon's `CompileRegex`): text outside brackets is
//! escaped, each top-level `<body>` becomes a capture group `(body)`, the
//! whole is anchored `^...$`. Each body must also parse on its own, like
//! ladon checks: that is what keeps a body such as `a)|(b` from escaping
//! its group (and the head reasoning below sound).
//!
//! Difference from Oathkeeper: it runs dlclark/regexp2 (a backtracking
//! engine), this runs the `regex` crate (linear time, no backtracking). So
//! look-around (`(?!...)`, `(?<=...)`) and back-references are not
//! available: a rule using them fails to load with an error naming the rule
//! and the body. `\d`, `\w`, `\s` and `\b` are Unicode-aware here.
//!
//! Glob strategy (Oathkeeper's `compileGlob`): text outside brackets is
//! glob-quoted, bodies are pasted in raw, and the whole string is one glob
//! (see [`super::glob`]). Globs yield no capture groups.
//!
//! Heads and tails: the text before the first `<` is literal, and so are
//! leading bodies that are a small set of plain words (`<https|http>`,
//! `<https?>`, `<{http,https}>`, `<api>`), which are expanded into one head
//! per word. Once the index has found a URL under a head, only the rest of
//! the URL needs the regex, and that tail regex (`^(.*)$`, `^([0-9]+)$`,
//! ...) is the same for many rules, so rule sets share one compiled regex
//! per distinct tail instead of holding one per rule (each costs several
//! KiB). The words' capture values are known from the head.

use regex::Regex;

use super::glob;
use super::types::Strategy;

/// How many heads one rule may expand into.
const MAX_HEADS: usize = 16;

/// One piece of a split pattern.
#[derive(Debug, PartialEq)]
pub(crate) enum Part<'a> {
    Text(&'a str),
    /// The inside of a top-level `<...>` (nested brackets stay in it).
    Body(&'a str),
}

/// A literal start of every URL a pattern matches (one of its heads, at
/// least), with the values of the capture groups it covers.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Head {
    pub(crate) text: String,
    pub(crate) captures: Vec<String>,
}

/// How to match a pattern.
#[derive(Debug, PartialEq)]
pub(crate) struct Plan {
    /// What the index files the rule under; `[""]` when the pattern starts
    /// with a real wildcard.
    pub(crate) heads: Vec<Head>,
    /// Whether `source` matches what follows a head (else the whole URL).
    pub(crate) strip: bool,
    /// Anchored regex source.
    pub(crate) source: String,
}

/// Splits at top-level `<...>`; nesting is allowed, brackets must balance.
pub(crate) fn split(pattern: &str) -> Result<Vec<Part<'_>>, String> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, b) in pattern.bytes().enumerate() {
        match b {
            b'<' => {
                if depth == 0 {
                    push_text(&mut parts, &pattern[start..i]);
                    start = i + 1;
                }
                depth += 1;
            }
            b'>' => {
                depth = depth.checked_sub(1).ok_or(r#"unbalanced ">""#)?;
                if depth == 0 {
                    parts.push(Part::Body(&pattern[start..i]));
                    start = i + 1;
                }
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(r#"unbalanced "<""#.to_owned());
    }
    push_text(&mut parts, &pattern[start..]);
    Ok(parts)
}

fn push_text<'a>(parts: &mut Vec<Part<'a>>, text: &'a str) {
    if !text.is_empty() {
        parts.push(Part::Text(text));
    }
}

/// Checks a pattern and works out its heads and regex source.
pub(crate) fn plan(pattern: &str, strategy: Strategy) -> Result<Plan, String> {
    let parts = split(pattern)?;
    let looks = check_bodies(&parts, strategy)?;
    let (heads, used) = heads(&parts, strategy);
    // Stripping a head is exact only if at most one head can start a URL
    // (so the words' values are known) and no assertion in the tail looks
    // at text before it (`^`, `\b`, ... would see the cut).
    let strip = !looks && prefix_free(&heads);
    let rest = if strip { &parts[used..] } else { &parts[..] };
    let source = match strategy {
        Strategy::Regexp => regexp_source(rest),
        Strategy::Glob => glob_source(rest)?,
    };
    Ok(Plan {
        heads,
        strip,
        source,
    })
}

/// Compiles a plan's source.
pub(crate) fn compile(source: &str) -> Result<Regex, String> {
    Regex::new(source).map_err(|e| format!("invalid pattern: {e}"))
}

/// Parses every regexp body on its own; tells whether any uses a
/// look-around assertion (`^`, `$`, `\b`, ...).
fn check_bodies(parts: &[Part], strategy: Strategy) -> Result<bool, String> {
    if strategy == Strategy::Glob {
        return Ok(false);
    }
    let mut looks = false;
    for part in parts {
        if let Part::Body(body) = part {
            let hir = regex_syntax::Parser::new()
                .parse(body)
                .map_err(|e| format!("invalid regular expression <{body}>: {e}"))?;
            looks |= !hir.properties().look_set().is_empty();
        }
    }
    Ok(looks)
}

fn regexp_source(parts: &[Part]) -> String {
    let mut out = String::from("^");
    for part in parts {
        match part {
            Part::Text(text) => out.push_str(&regex::escape(text)),
            Part::Body(body) => {
                out.push('(');
                out.push_str(body);
                out.push(')');
            }
        }
    }
    out.push('$');
    out
}

fn glob_source(parts: &[Part]) -> Result<String, String> {
    let mut whole = String::new();
    for part in parts {
        match part {
            Part::Text(text) => glob::quote_meta(text, &mut whole),
            Part::Body(body) => whole.push_str(body),
        }
    }
    let body = glob::to_regex(&whole).map_err(|e| format!("invalid glob: {e}"))?;
    // `(?s)`: a glob wildcard matches any character, newline included.
    Ok(format!("(?s)^{body}$"))
}

/// The heads of a pattern and how many leading parts they cover.
fn heads(parts: &[Part], strategy: Strategy) -> (Vec<Head>, usize) {
    let mut heads = vec![Head::default()];
    for (used, part) in parts.iter().enumerate() {
        match part {
            Part::Text(text) => heads.iter_mut().for_each(|h| h.text.push_str(text)),
            Part::Body(body) => match words(body, strategy) {
                Some(alts) if heads.len() * alts.len() <= MAX_HEADS => {
                    heads = cross(&heads, &alts, strategy == Strategy::Regexp);
                }
                _ => return (heads, used),
            },
        }
    }
    (heads, parts.len())
}

fn cross(heads: &[Head], alts: &[String], captures: bool) -> Vec<Head> {
    let mut out = Vec::with_capacity(heads.len() * alts.len());
    for head in heads {
        for alt in alts {
            let mut next = head.clone();
            next.text.push_str(alt);
            if captures {
                next.captures.push(alt.clone());
            }
            out.push(next);
        }
    }
    out
}

/// True when no head starts another (duplicates included).
fn prefix_free(heads: &[Head]) -> bool {
    heads.iter().enumerate().all(|(i, a)| {
        heads
            .iter()
            .enumerate()
            .all(|(j, b)| i == j || !b.text.starts_with(&a.text))
    })
}

/// The exact strings a body matches, when it is that simple.
fn words(body: &str, strategy: Strategy) -> Option<Vec<String>> {
    match strategy {
        Strategy::Regexp => {
            let mut out = Vec::new();
            for alt in body.split('|') {
                out.extend(regex_word(alt)?);
            }
            Some(out)
        }
        Strategy::Glob => match body.strip_prefix('{').and_then(|b| b.strip_suffix('}')) {
            Some(inner) if inner.split(',').all(is_word) => {
                Some(inner.split(',').map(str::to_owned).collect())
            }
            _ => is_word(body).then(|| vec![body.to_owned()]),
        },
    }
}

/// `word` → [word]; `words?` → [word, words] (an optional last character).
fn regex_word(alt: &str) -> Option<Vec<String>> {
    match alt.strip_suffix('?') {
        Some(stem) if !stem.is_empty() && is_word(stem) => {
            let without = &stem[..stem.len() - 1];
            Some(vec![without.to_owned(), stem.to_owned()])
        }
        Some(_) => None,
        None => is_word(alt).then(|| vec![alt.to_owned()]),
    }
}

/// Characters that mean themselves in both regex and glob syntax.
fn is_word(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Matches the way a rule set does: under a head, then the tail.
    fn matches(pattern: &str, strategy: Strategy, url: &str) -> bool {
        let plan = plan(pattern, strategy).unwrap();
        let regex = compile(&plan.source).unwrap();
        plan.heads
            .iter()
            .any(|h| match url.strip_prefix(h.text.as_str()) {
                Some(rest) if plan.strip => regex.is_match(rest),
                Some(_) => regex.is_match(url),
                None => false,
            })
    }
    fn re(pattern: &str, url: &str) -> bool {
        matches(pattern, Strategy::Regexp, url)
    }
    fn glob(pattern: &str, url: &str) -> bool {
        matches(pattern, Strategy::Glob, url)
    }
    fn texts(plan: &Plan) -> Vec<&str> {
        plan.heads.iter().map(|h| h.text.as_str()).collect()
    }

    #[test]
    fn splits_at_top_level_brackets() {
        use Part::*;
        assert_eq!(split("a<b>c").unwrap(), [Text("a"), Body("b"), Text("c")]);
        assert_eq!(split("<<x>y>").unwrap(), [Body("<x>y")]);
        assert_eq!(
            split("foo.bar<<>><>").unwrap(),
            [Text("foo.bar"), Body("<>"), Body("")]
        );
        assert_eq!(split("").unwrap(), []);
    }

    #[test]
    fn unbalanced_brackets_are_errors() {
        for bad in ["<", "foo.bar<var", "foo.bar<<>var"] {
            assert_eq!(split(bad).unwrap_err(), r#"unbalanced "<""#, "{bad}");
        }
        for bad in [">", ">>", "><>", "foo.bar>var", "foo.bar><var"] {
            assert_eq!(split(bad).unwrap_err(), r#"unbalanced ">""#, "{bad}");
        }
    }

    #[test]
    fn regexp_source_escapes_text_and_groups_bodies() {
        let parts = split("http://<[^/]+>/api/<.*>").unwrap();
        assert_eq!(regexp_source(&parts), r"^http://([^/]+)/api/(.*)$");
        let parts = split("a.b+c?<x>").unwrap();
        assert_eq!(regexp_source(&parts), r"^a\.b\+c\?(x)$");
    }

    #[test]
    fn plans_strip_the_literal_head() {
        let p = plan("https://a.example/users/<[0-9]+>", Strategy::Regexp).unwrap();
        assert_eq!(texts(&p), ["https://a.example/users/"]);
        assert!(p.strip);
        assert_eq!(p.source, "^([0-9]+)$");

        let p = plan("<https|http>://a/<.*>", Strategy::Regexp).unwrap();
        assert_eq!(texts(&p), ["https://a/", "http://a/"]);
        assert_eq!(p.heads[1].captures, ["http"]);
        assert_eq!(p.source, "^(.*)$");

        let p = plan("http://a/b", Strategy::Regexp).unwrap();
        assert_eq!((texts(&p), p.source.as_str()), (vec!["http://a/b"], "^$"));

        let p = plan("<{http,https}>://a/<**>", Strategy::Glob).unwrap();
        assert_eq!(texts(&p), ["http://a/", "https://a/"]);
        assert!(p.heads[0].captures.is_empty(), "globs capture nothing");
        assert_eq!(p.source, "(?s)^.*$");
    }

    #[test]
    fn plans_keep_the_whole_url_when_stripping_is_not_exact() {
        // The heads "a" and "ab" could both start one URL.
        let p = plan("<a|ab><.*>", Strategy::Regexp).unwrap();
        assert_eq!(texts(&p), ["a", "ab"]);
        assert!(!p.strip);
        assert_eq!(p.source, "^(a|ab)(.*)$");
        // An assertion would see the cut.
        let p = plan(r"http://x/a<\bfoo>", Strategy::Regexp).unwrap();
        assert!(!p.strip);
        assert!(!re(r"http://x/a<\bfoo>", "http://x/afoo"));
        assert!(re(r"http://x/<\bfoo>", "http://x/foo"));
        assert!(!re("http://x/<^a>", "http://x/a"), "^ is the URL's start");
    }

    #[test]
    fn heads_expand_only_plain_word_sets() {
        let heads = |p| texts(&plan(p, Strategy::Regexp).unwrap()).join(" ");
        assert_eq!(heads("<https?>://a"), "http://a https://a");
        assert_eq!(heads("<.*>://a"), "");
        assert_eq!(heads("http://<a.b|c>/"), "http://");
        // 2 × 9 heads would be too many: the expansion stops before.
        assert_eq!(
            heads("<http|https>://<a|b|c|d|e|f|g|h|i>"),
            "http:// https://"
        );
        let p = plan("http://<api>.x/<*>", Strategy::Glob).unwrap();
        assert_eq!(texts(&p), ["http://api.x/"]);
    }

    #[test]
    fn regexp_examples() {
        let p = "<https|http>://example.com/api/users/<[0-9]+>";
        assert!(re(p, "https://example.com/api/users/42"));
        assert!(re(p, "http://example.com/api/users/42"));
        assert!(!re(p, "http://example.com/api/users/x"));
        assert!(!re(p, "ftp://example.com/api/users/1"));
        assert!(
            !re("<.*>://example.com/", "http://exampleXcom/"),
            "dots are literal"
        );
        assert!(!re(p, "http://example.com/api/users/42/more"), "anchored");
        assert!(re("http://x/<.*>", "http://x/a/b"));
        assert!(re("http://x/<a<b>c>", "http://x/a<b>c"), "nested brackets");
    }

    #[test]
    fn bodies_must_stand_alone() {
        let err = plan("http://x/<a)|(b>", Strategy::Regexp).unwrap_err();
        assert!(
            err.starts_with("invalid regular expression <a)|(b>"),
            "{err}"
        );
        let err = plan("http://x/<[0-9>", Strategy::Regexp).unwrap_err();
        assert!(err.contains("<[0-9>"), "{err}");
    }

    #[test]
    fn lookaround_is_a_load_error() {
        let err = plan("http://x/<(?!admin).*>", Strategy::Regexp).unwrap_err();
        assert!(err.contains("look-around"), "{err}");
    }

    #[test]
    fn glob_examples() {
        let p = "<{http,https}>://example.com/<**>";
        assert!(glob(p, "https://example.com/a/b.c"));
        assert!(!glob(p, "ftp://example.com/a"));
        assert!(glob("http://example.com/<*>", "http://example.com/foo"));
        assert!(!glob(
            "http://example.com/<*>",
            "http://example.com/foo/bar"
        ));
        assert!(glob("urn:foo:<?>", "urn:foo:u"));
        assert!(!glob("urn:foo:<?>", "urn:foo:user"));
        assert!(glob("*:foo:<*>", "*:foo:x"), "text outside is literal");
        assert!(!glob("*:foo:<*>", "urn:foo:x"));
        assert!(glob("urn:foo:<m[!a,o,u]n>", "urn:foo:min"));
        assert!(glob("http://x/{a,b}", "http://x/{a,b}"));
        // An unclosed brace in a body runs on through the quoted text after.
        assert!(glob("http://x/<{a,b>c", "http://x/bc"));
    }

    #[test]
    fn glob_errors() {
        assert!(plan("http://x/<[a-zA-Z]>", Strategy::Glob).is_err());
        assert!(plan("http://x/<[>", Strategy::Glob).is_err());
    }
}
