//! Translates a gobwas/glob pattern (separators `.` and `/`) into a regex.
//!
//! This follows gobwas/glob v0.2.3's lexer and parser closely, quirks
//! included, because Oathkeeper feeds it the whole `match.url` (literal text
//! quoted, `<...>` bodies raw), so a rule file written against Oathkeeper
//! must mean the same thing here:
//! - `*` any run of non-separators, `**` any run, `?` one non-separator;
//! - `[abc]` / `[!abc]` a character list (a negated list *does* match
//!   separators), `[a-z]` / `[!a-z]` a single range (`[a-zA-Z]` is an error);
//! - `{a,b}` alternatives, nestable; `,` and `}` are plain text outside
//!   braces, and braces still open at the end are closed implicitly;
//! - `\` escapes the next character (a trailing `\` is dropped).

use std::iter::Peekable;
use std::str::Chars;

/// Regex class for one non-separator character.
const NON_SEPARATOR: &str = "[^./]";

/// Escapes what gobwas treats as special, like `glob.QuoteMeta`.
pub(crate) fn quote_meta(text: &str, out: &mut String) {
    for c in text.chars() {
        if matches!(c, '*' | '?' | '\\' | '[' | ']' | '{' | '}') {
            out.push('\\');
        }
        out.push(c);
    }
}

/// The regex (without anchors) equivalent to a whole glob.
pub(crate) fn to_regex(glob: &str) -> Result<String, String> {
    let mut chars = glob.chars().peekable();
    let mut out = String::with_capacity(glob.len() * 2);
    let mut depth = 0usize;
    while let Some(c) = chars.next() {
        match c {
            '{' => {
                depth += 1;
                out.push_str("(?:");
            }
            ',' if depth > 0 => out.push('|'),
            '}' if depth > 0 => {
                depth -= 1;
                out.push(')');
            }
            '[' => range(&mut chars, &mut out)?,
            '?' => out.push_str(NON_SEPARATOR),
            '*' if chars.next_if_eq(&'*').is_some() => out.push_str(".*"),
            '*' => {
                out.push_str(NON_SEPARATOR);
                out.push('*');
            }
            '\\' => {
                if let Some(next) = chars.next() {
                    literal(next, &mut out);
                }
            }
            other => literal(other, &mut out),
        }
    }
    // gobwas accepts an unclosed `{`: its alternatives run to the end.
    out.extend(std::iter::repeat_n(')', depth));
    Ok(out)
}

fn literal(c: char, out: &mut String) {
    let mut buf = [0u8; 4];
    out.push_str(&regex::escape(c.encode_utf8(&mut buf)));
}

/// Everything after a `[`: `!`, then `lo-hi]` or a character list up to `]`.
fn range(chars: &mut Peekable<Chars>, out: &mut String) -> Result<(), String> {
    const EOF: &str = "unexpected end of input";
    let negated = chars.next_if_eq(&'!').is_some();
    let first = *chars.peek().ok_or(EOF)?;
    out.push('[');
    if negated {
        out.push('^');
    }
    let mut lookahead = chars.clone();
    lookahead.next();
    if lookahead.peek() == Some(&'-') {
        // `lo-hi]`: both ends are taken raw, escapes do not apply here.
        chars.nth(1);
        let hi = chars.next().ok_or(EOF)?;
        if chars.next().ok_or(EOF)? != ']' {
            return Err("expected close range character".to_owned());
        }
        if hi < first {
            return Err(format!(
                "hi character '{hi}' should be greater than lo '{first}'"
            ));
        }
        literal(first, out);
        out.push('-');
        literal(hi, out);
    } else {
        list(chars, out)?;
    }
    out.push(']');
    Ok(())
}

/// A character list up to the closing `]`, with `\` escapes.
fn list(chars: &mut Peekable<Chars>, out: &mut String) -> Result<(), String> {
    let mut empty = true;
    loop {
        match chars.next() {
            None => return Err("unexpected end of input".to_owned()),
            Some(']') if empty => return Err("could not parse range".to_owned()),
            Some(']') => return Ok(()),
            Some('\\') => {
                if let Some(c) = chars.next() {
                    literal(c, out);
                    empty = false;
                }
            }
            Some(c) => {
                literal(c, out);
                empty = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::Regex;

    fn matches(glob: &str, input: &str) -> bool {
        let source = to_regex(glob).unwrap();
        Regex::new(&format!("(?s)^{source}$"))
            .unwrap()
            .is_match(input)
    }

    #[test]
    fn stars_and_question_marks_respect_separators() {
        assert!(matches("*", "abc"));
        assert!(!matches("*", "a/b"));
        assert!(!matches("*", "a.b"));
        assert!(matches("**", "a/b.c"));
        assert!(matches("a**", "a"));
        assert!(matches("?at", "cat"));
        assert!(!matches("?at", "at"));
        assert!(!matches("?at", "/at"));
        assert!(matches("api.*.com", "api.github.com"));
        assert!(!matches("api.*.com", "api.gi.hub.com"));
        assert!(matches("api.**.com", "api.gi.hub.com"));
    }

    #[test]
    fn lists_and_ranges() {
        assert!(matches("[abc]at", "cat"));
        assert!(!matches("[abc]at", "fat"));
        assert!(matches("[!abc]at", "fat"));
        assert!(!matches("[!abc]at", "bat"));
        assert!(
            matches("[!abc]at", "/at"),
            "a negated list matches separators"
        );
        assert!(matches("[a-c]at", "bat"));
        assert!(!matches("[!a-c]at", "cat"));
        assert!(matches("m[a,o,u]n", "man"));
        assert!(!matches("m[a,o,u]n", "moon"));
        assert!(matches(r"[\]]", "]"));
        assert!(matches("[-]", "-"));
        assert!(matches("[^]", "^"));
    }

    #[test]
    fn range_errors() {
        for bad in [
            "[", "[!", "[]", "[!]", "[a-", "[a-z", "[a-zA-Z]", "[z-a]", "[ab",
        ] {
            assert!(to_regex(bad).is_err(), "{bad} should not compile");
        }
    }

    #[test]
    fn alternatives() {
        assert!(matches("{http,https}://x", "https://x"));
        assert!(!matches("{http,https}://x", "ftp://x"));
        assert!(matches("a{b,{c,d}}e", "ade"));
        assert!(matches("a{,b}", "a"));
        assert!(matches("a{b,c", "ac"), "an unclosed brace runs to the end");
        assert!(matches("a,b}", "a,b}"), "outside braces , and }} are text");
    }

    #[test]
    fn escapes_and_regex_metacharacters_are_literal() {
        assert!(matches(r"\*", "*"));
        assert!(!matches(r"\*", "a"));
        assert!(matches(r"a\", "a"), "a trailing backslash is dropped");
        assert!(matches("a+b(c)|$^", "a+b(c)|$^"));
        assert!(!matches("a.b", "axb"));
    }

    #[test]
    fn quote_meta_makes_text_literal() {
        let mut quoted = String::new();
        quote_meta("*?[x]{y}\\", &mut quoted);
        assert_eq!(quoted, r"\*\?\[x\]\{y\}\\");
        assert!(matches(&quoted, "*?[x]{y}\\"));
    }
}
