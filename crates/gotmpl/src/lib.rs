//! A small, dependency-light implementation of Go's `text/template` syntax plus
//! the subset of the [sprig](https://masterminds.github.io/sprig/) function
//! library that Ory Kratos courier templates and Oathkeeper mutator templates
//! rely on.
//!
//! Data is always a [`serde_json::Value`]: Kratos and Oathkeeper hand their
//! templates JSON-decoded maps, so there are no Go structs to model. The one
//! Go method templates call, `http.Header`'s `Get`, is provided by
//! [`Dialect::Oathkeeper`] together with Oathkeeper's `print`/`printIndex`
//! and `missingkey=zero` (see [`Template::parse_oathkeeper`]).
//!
//! ```
//! use gatehouse_gotmpl::{Mode, Template};
//! let t = Template::parse_with("subject", "Hi {{ .name | default \"there\" }}!", Mode::Text)?;
//! assert_eq!(t.render(&serde_json::json!({}))?, "Hi there!");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! See `README.md` for the supported subset and the known differences from Go.

mod ast;
mod error;
mod exec;
mod format;
mod funcs;
mod json;
mod lexer;
mod parse;
mod roots;
mod value;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

pub use error::{ParseError, RenderError};

/// Limits that keep hostile templates from exhausting the process.
pub mod limits {
    /// Maximum nesting of `{{template}}` calls during rendering.
    pub const MAX_TEMPLATE_DEPTH: usize = 100;
    /// Maximum size of the rendered output in bytes (1 MiB).
    pub const MAX_OUTPUT_BYTES: usize = 1 << 20;
    /// Maximum nesting of control structures / parentheses while parsing.
    pub const MAX_PARSE_DEPTH: usize = 100;
    /// Maximum approximate size (bytes) of any single value a function
    /// receives or produces; stops `$x = list $x $x` style blow-ups.
    pub const MAX_VALUE_BYTES: usize = 4 << 20;
    /// Maximum nesting depth of values built or formatted during rendering.
    pub const MAX_VALUE_DEPTH: usize = 128;
    /// Work units one render may spend (roughly one per node, command and
    /// 64 bytes of values moved through functions). Bounds CPU time.
    pub const MAX_FUEL: u64 = 20_000_000;
}

/// How values printed by actions are escaped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Plain `text/template` behaviour: values are printed verbatim.
    #[default]
    Text,
    /// Every value printed by an action is HTML-escaped (`& < > " '`).
    ///
    /// This is a documented simplification of Go's `html/template`: escaping
    /// is not context-aware and literal template text is never touched. As in
    /// `html/template`, an action that yields no value prints nothing instead
    /// of `<no value>`.
    Html,
}

/// Which Go program's template set-up to mirror, beyond the escaping [`Mode`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// `text/template` + sprig with Go's defaults, as Ory Kratos renders its
    /// courier templates: variadic `print`, JSON integers stay integers, a
    /// field of `null` yields no value.
    #[default]
    Standard,
    /// Ory Oathkeeper's `x.NewTemplate` (header/cookie/id_token mutators,
    /// remote/remote_json authorizers), rendering an `AuthenticationSession`:
    ///
    /// - `print` takes exactly one argument: `null` prints `""`, anything else
    ///   Go's `%v` (`map[k:v]`, `[a b]`, `1.6e+09`).
    /// - `printIndex LIST I`: element `I` of a list via `%v`; `""` when the
    ///   list is `null`, not a list, or too short; a negative `I` is an error.
    /// - `missingkey=zero`: a field of a value that an earlier step of the
    ///   *same* field chain found missing or `null` is an error
    ///   (`.Extra.a.b` with no `a`: `nil pointer evaluating interface {}.b`).
    ///   The last step may be missing (`print` then prints `""`).
    /// - Objects whose values are all lists of strings are `http.Header`s:
    ///   `.MatchContext.Header.Get "x-foo"` returns the first value of the
    ///   canonical header `X-Foo` (falling back to a case-insensitive key
    ///   match), or `""`; `.Header.Values NAME` returns the whole list.
    /// - Every number in the data (and from `fromJson`) is a `float64`, as
    ///   Go's `encoding/json` makes it: `1600000000` prints `1.6e+09`, `42`
    ///   prints `42`. Numbers written in the template stay integers.
    ///
    /// The data must hold `Extra`, `Header` and `MatchContext.Header` as
    /// objects (use `{}` where Go would have a nil map): a `null` there acts
    /// like a nil `interface{}`, so `.Extra.a` is an error instead of empty.
    Oathkeeper,
}

/// Everything that decides how a template is parsed and rendered.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Escaping of printed values.
    pub mode: Mode,
    /// Which Go program's behaviour to mirror.
    pub dialect: Dialect,
    /// Extra functions; they shadow builtins, sprig and dialect functions.
    pub funcs: Funcs,
}

/// A user-supplied template function.
pub type Func =
    Arc<dyn Fn(&[serde_json::Value]) -> Result<serde_json::Value, String> + Send + Sync>;

/// Extra functions made available to a template at parse time.
///
/// User functions shadow builtins and sprig functions of the same name, as
/// `template.Funcs` does in Go. Their argument count is not checked at parse
/// time; the function receives every argument (including a piped value, which
/// comes last) and reports problems through its `Err(String)`.
#[derive(Clone, Default)]
pub struct Funcs {
    map: HashMap<String, Func>,
}

impl Funcs {
    /// An empty function set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the function `name`.
    pub fn insert<F>(&mut self, name: impl Into<String>, f: F) -> &mut Self
    where
        F: Fn(&[serde_json::Value]) -> Result<serde_json::Value, String> + Send + Sync + 'static,
    {
        self.map.insert(name.into(), Arc::new(f));
        self
    }

    /// Whether a function called `name` was added.
    pub fn contains(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Func> {
        self.map.get(name)
    }
}

impl fmt::Debug for Funcs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.map.keys().collect();
        names.sort();
        f.debug_struct("Funcs").field("names", &names).finish()
    }
}

/// What a render printed that is usually a template bug.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RenderReport {
    /// Some action printed a JSON object or array (Go prints `map[k:v]` /
    /// `[a b]`), or `print`, `printf`, `println` or `printIndex` formatted one.
    pub printed_map_or_list: bool,
    /// Some action evaluated to no value (Go prints `<no value>`; in
    /// [`Mode::Html`] nothing is printed but this flag is still set).
    pub printed_no_value: bool,
}

/// A parsed template, cheap to clone and safe to share between threads.
#[derive(Clone, Debug)]
pub struct Template {
    inner: Arc<ast::Tree>,
}

impl Template {
    /// Parses `source` in [`Mode::Text`].
    pub fn parse(name: &str, source: &str) -> Result<Template, ParseError> {
        Self::parse_with_funcs(name, source, Mode::Text, &Funcs::new())
    }

    /// Parses `source` with the given escaping mode.
    pub fn parse_with(name: &str, source: &str, mode: Mode) -> Result<Template, ParseError> {
        Self::parse_with_funcs(name, source, mode, &Funcs::new())
    }

    /// Parses `source` with extra functions; unknown functions are parse errors.
    pub fn parse_with_funcs(
        name: &str,
        source: &str,
        mode: Mode,
        funcs: &Funcs,
    ) -> Result<Template, ParseError> {
        let tree = parse::parse(name, source, mode, Dialect::Standard, funcs)?;
        Ok(Template {
            inner: Arc::new(tree),
        })
    }

    /// Parses `source` the way Ory Oathkeeper does ([`Dialect::Oathkeeper`],
    /// [`Mode::Text`]).
    ///
    /// ```
    /// use gatehouse_gotmpl::Template;
    /// let session = serde_json::json!({
    ///     "Subject": "u1",
    ///     "Extra": {"identity": {"traits": {"email": "a@b.c"}}},
    ///     "Header": {},
    ///     "MatchContext": {"RegexpCaptureGroups": ["doc-7"], "Header": {"X-Forwarded-For": ["10.0.0.1"]}},
    /// });
    /// let t = Template::parse_oathkeeper(
    ///     "rule:X-User",
    ///     r#"{{ print .Extra.identity.traits.email }}|{{ printIndex .MatchContext.RegexpCaptureGroups 0 }}|{{ .MatchContext.Header.Get "x-forwarded-for" }}"#,
    /// )?;
    /// assert_eq!(t.render(&session)?, "a@b.c|doc-7|10.0.0.1");
    /// // A whole object prints as Go's map dump, which is what a start-up check can look for.
    /// let dump = Template::parse_oathkeeper("rule:X-Id", "{{ print .Extra.identity }}")?;
    /// assert_eq!(dump.render(&session)?, "map[traits:map[email:a@b.c]]");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn parse_oathkeeper(name: &str, source: &str) -> Result<Template, ParseError> {
        Self::parse_with_options(
            name,
            source,
            &Options {
                dialect: Dialect::Oathkeeper,
                ..Options::default()
            },
        )
    }

    /// Parses `source` with every option spelled out.
    pub fn parse_with_options(
        name: &str,
        source: &str,
        options: &Options,
    ) -> Result<Template, ParseError> {
        let tree = parse::parse(name, source, options.mode, options.dialect, &options.funcs)?;
        Ok(Template {
            inner: Arc::new(tree),
        })
    }

    /// The top-level fields of the data this template can read (`Subject` for
    /// `{{ print .Subject }}`), or `None` when it may read the data whole (`{{ . }}`). A
    /// caller may leave every other field out of the data without changing the output.
    pub fn reads(&self) -> Option<&std::collections::BTreeSet<String>> {
        self.inner.roots.as_ref()
    }

    /// The name given at parse time.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The escaping mode given at parse time.
    pub fn mode(&self) -> Mode {
        self.inner.mode
    }

    /// The dialect given at parse time.
    pub fn dialect(&self) -> Dialect {
        self.inner.dialect
    }

    /// Renders the template with `data` as dot.
    pub fn render(&self, data: &serde_json::Value) -> Result<String, RenderError> {
        self.render_checked(data).map(|(out, _)| out)
    }

    /// Renders and also reports suspicious output (maps/lists, missing values).
    pub fn render_checked(
        &self,
        data: &serde_json::Value,
    ) -> Result<(String, RenderReport), RenderError> {
        if self.inner.dialect == Dialect::Oathkeeper
            && let Some(floats) = funcs::oathkeeper::floatify(data)
        {
            let result = exec::execute(&self.inner, &floats);
            funcs::oathkeeper::dismantle(floats);
            return result;
        }
        exec::execute(&self.inner, data)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn assert_send_sync<T: Send + Sync + Clone + fmt::Debug>() {}

    #[test]
    fn template_is_send_sync_clone_debug() {
        assert_send_sync::<Template>();
        assert_send_sync::<Funcs>();
    }

    #[test]
    fn user_funcs_are_known_at_parse_time() {
        let mut funcs = Funcs::new();
        funcs.insert("shout", |args: &[serde_json::Value]| {
            let s = args.first().and_then(|v| v.as_str()).unwrap_or_default();
            Ok(serde_json::Value::String(format!("{}!", s.to_uppercase())))
        });
        let t = Template::parse_with_funcs("t", "{{ .a | shout }}", Mode::Text, &funcs).unwrap();
        assert_eq!(t.render(&serde_json::json!({"a": "hi"})).unwrap(), "HI!");
        let err = Template::parse("t", "{{ shout 1 }}").unwrap_err();
        assert!(err.message.contains("\"shout\" not defined"), "{err}");
    }

    #[test]
    fn user_func_errors_become_render_errors() {
        let mut funcs = Funcs::new();
        funcs.insert("boom", |_: &[serde_json::Value]| Err("kaput".to_string()));
        let t = Template::parse_with_funcs("t", "x\n{{ boom }}", Mode::Text, &funcs).unwrap();
        let err = t.render(&serde_json::json!(null)).unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("error calling boom: kaput"), "{err}");
    }

    #[test]
    fn user_funcs_shadow_builtins() {
        let mut funcs = Funcs::new();
        funcs.insert("upper", |_: &[serde_json::Value]| {
            Ok(serde_json::json!("mine"))
        });
        let t = Template::parse_with_funcs("t", "{{ upper \"a\" }}", Mode::Text, &funcs).unwrap();
        assert_eq!(t.render(&serde_json::json!(null)).unwrap(), "mine");
    }
}
