//! The OAuth 2.0 scope strategies of Ory's `scope_strategy` setting: whether the scopes a
//! token was granted cover a required one.
//!
//! - `exact`: the very scope was granted.
//! - `hierarchic`: the scope or a parent of it (`photos` covers `photos.read`).
//! - `wildcard`: `*` stands for one non-empty dot-separated part, and a trailing `*` for
//!   one or more (`photos.*` covers `photos.read` and `photos.read.own`).
//! - `none` (the default, and what an unknown name falls back to): no check here; the
//!   authenticator leaves it to the server it asks.

/// A scope strategy other than `none`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    Hierarchic,
    Exact,
    Wildcard,
}

/// The strategy a `scope_strategy` setting names (case-insensitive); `None` for `none`,
/// an empty setting, or an unknown name (logged, as Oathkeeper falls back to none).
pub fn strategy(name: &str) -> Option<Strategy> {
    match name.to_ascii_lowercase().as_str() {
        "hierarchic" => Some(Strategy::Hierarchic),
        "exact" => Some(Strategy::Exact),
        "wildcard" => Some(Strategy::Wildcard),
        "" | "none" => None,
        other => {
            tracing::error!(
                scope_strategy = other,
                "unknown scope strategy; falling back to \"none\""
            );
            None
        }
    }
}

impl Strategy {
    /// Whether `granted` covers `required`.
    pub fn grants<S: AsRef<str>>(self, granted: &[S], required: &str) -> bool {
        granted.iter().any(|g| {
            let g = g.as_ref();
            match self {
                Strategy::Exact => g == required,
                Strategy::Hierarchic => hierarchic(g, required),
                Strategy::Wildcard => wildcard(g, required),
            }
        })
    }
}

fn hierarchic(granted: &str, required: &str) -> bool {
    if granted == required {
        return true;
    }
    let g: Vec<&str> = granted.split('.').collect();
    let r: Vec<&str> = required.split('.').collect();
    g.len() < r.len() && r.starts_with(&g)
}

fn wildcard(matcher: &str, required: &str) -> bool {
    let m: Vec<&str> = matcher.split('.').collect();
    let r: Vec<&str> = required.split('.').collect();
    if m.len() > r.len() {
        return false;
    }
    let last = m.len() - 1;
    m.iter().enumerate().all(|(i, part)| {
        if i == last && m.len() != r.len() && *part != "*" {
            return false;
        }
        (*part == "*" && !r[i].is_empty()) || *part == r[i]
    })
}

#[cfg(test)]
mod tests {
    use super::{Strategy, strategy};

    #[test]
    fn names() {
        assert_eq!(strategy("Hierarchic"), Some(Strategy::Hierarchic));
        assert_eq!(strategy("exact"), Some(Strategy::Exact));
        assert_eq!(strategy("WILDCARD"), Some(Strategy::Wildcard));
        assert_eq!(strategy("none"), None);
        assert_eq!(strategy(""), None);
        assert_eq!(strategy("whatever"), None);
    }

    #[test]
    fn exact() {
        let s = Strategy::Exact;
        assert!(s.grants(&["foo", "bar"], "bar"));
        assert!(!s.grants(&["foo"], "foo.bar"));
        assert!(!s.grants(&["foo.bar"], "foo"));
    }

    #[test]
    fn hierarchic() {
        let s = Strategy::Hierarchic;
        assert!(s.grants(&["foo"], "foo"));
        assert!(s.grants(&["foo"], "foo.bar"));
        assert!(s.grants(&["foo"], "foo.bar.baz"));
        assert!(s.grants(&["foo.bar"], "foo.bar.baz"));
        assert!(!s.grants(&["foo.bar"], "foo"));
        assert!(!s.grants(&["foo"], "foobar"));
        assert!(!s.grants(&["foo.bar"], "foo.baz"));
        assert!(!s.grants(&[""], "foo"));
        let none: [&str; 0] = [];
        assert!(!s.grants(&none, "foo"));
    }

    #[test]
    fn wildcard() {
        let s = Strategy::Wildcard;
        assert!(s.grants(&["foo.*"], "foo.bar"));
        assert!(s.grants(&["foo.*"], "foo.bar.baz"));
        assert!(s.grants(&["foo.*.baz"], "foo.bar.baz"));
        assert!(s.grants(&["*"], "foo"));
        assert!(s.grants(&["*"], "foo.bar"));
        assert!(s.grants(&["foo"], "foo"));
        assert!(!s.grants(&["foo"], "foo.bar"));
        assert!(!s.grants(&["foo.*"], "foo"));
        assert!(!s.grants(&["foo.*"], "foo."));
        assert!(!s.grants(&["foo.*.baz"], "foo.bar.qux"));
        assert!(!s.grants(&["foo.bar"], "foo.baz"));
        assert!(!s.grants(&["bar.*"], "foo.bar"));
    }
}
