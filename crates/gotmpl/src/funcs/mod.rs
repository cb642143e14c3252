//! Function tables: Go's builtins and the sprig subset.
//!
//! Every function is a plain `fn(&[&Value]) -> Result<Value, String>` with a
//! declared arity so the parser can reject wrong argument counts up front.
//! `and`/`or` are listed for arity only: the executor short-circuits them.
//! [`Dialect::Oathkeeper`] puts its own table in front of both.

pub(crate) mod builtin;
pub(crate) mod oathkeeper;
pub(crate) mod sprig;

use serde_json::Value;

use crate::Dialect;

pub(crate) type BuiltinFn = fn(&[&Value]) -> Result<Value, String>;

pub(crate) struct Def {
    pub name: &'static str,
    pub min: usize,
    /// `None` for variadic functions.
    pub max: Option<usize>,
    pub f: BuiltinFn,
}

impl Def {
    pub(crate) const fn fixed(name: &'static str, n: usize, f: BuiltinFn) -> Def {
        Def {
            name,
            min: n,
            max: Some(n),
            f,
        }
    }

    pub(crate) const fn at_least(name: &'static str, n: usize, f: BuiltinFn) -> Def {
        Def {
            name,
            min: n,
            max: None,
            f,
        }
    }

    pub(crate) const fn between(name: &'static str, min: usize, max: usize, f: BuiltinFn) -> Def {
        Def {
            name,
            min,
            max: Some(max),
            f,
        }
    }

    /// Go-style message when `n` arguments do not fit.
    pub(crate) fn arity_error(&self, n: usize) -> Option<String> {
        match self.max {
            Some(max) if self.min == max && n != max => Some(format!(
                "wrong number of args for {}: want {} got {}",
                self.name, max, n
            )),
            Some(max) if n < self.min || n > max => Some(format!(
                "wrong number of args for {}: want {}..{} got {}",
                self.name, self.min, max, n
            )),
            None if n < self.min => Some(format!(
                "wrong number of args for {}: want at least {} got {}",
                self.name, self.min, n
            )),
            _ => None,
        }
    }
}

/// Looks up a builtin or sprig function, or one of the dialect's overrides
/// (user functions are checked first by callers).
pub(crate) fn lookup(name: &str, dialect: Dialect) -> Option<&'static Def> {
    let overrides: &'static [Def] = match dialect {
        Dialect::Standard => &[],
        Dialect::Oathkeeper => oathkeeper::TABLE,
    };
    overrides
        .iter()
        .chain(builtin::TABLE.iter())
        .chain(sprig::TABLE.iter())
        .find(|d| d.name == name)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn names_are_unique() {
        let mut names: Vec<&str> = builtin::TABLE
            .iter()
            .chain(sprig::TABLE.iter())
            .map(|d| d.name)
            .collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n);
    }

    #[test]
    fn arity_messages() {
        let not = lookup("not", Dialect::Standard).unwrap();
        assert_eq!(not.arity_error(1), None);
        assert_eq!(
            not.arity_error(2).unwrap(),
            "wrong number of args for not: want 1 got 2"
        );
        let printf = lookup("printf", Dialect::Standard).unwrap();
        assert_eq!(
            printf.arity_error(0).unwrap(),
            "wrong number of args for printf: want at least 1 got 0"
        );
        assert!(
            lookup("slice", Dialect::Standard)
                .unwrap()
                .arity_error(5)
                .is_some()
        );
        assert!(lookup("nope", Dialect::Standard).is_none());
    }

    #[test]
    fn oathkeeper_overrides_print_only_in_its_dialect() {
        let std_print = lookup("print", Dialect::Standard).unwrap();
        assert_eq!(std_print.arity_error(3), None);
        let ok_print = lookup("print", Dialect::Oathkeeper).unwrap();
        assert_eq!(
            ok_print.arity_error(2).unwrap(),
            "wrong number of args for print: want 1 got 2"
        );
        assert!(lookup("printIndex", Dialect::Standard).is_none());
        assert!(lookup("printIndex", Dialect::Oathkeeper).is_some());
        assert!(lookup("upper", Dialect::Oathkeeper).is_some());
    }
}
