//! Tree-walking executor.
//!
//! Values that come straight from the data or from template literals are
//! borrowed (`Val::B`); values produced by functions are reference counted
//! (`Val::O`) so variables can be read repeatedly without deep copies.
//! Every step burns "fuel" and every value built by a function is size
//! checked, so hostile templates hit an error instead of eating CPU/memory.

use std::ops::Deref;
use std::rc::Rc;

use serde_json::Value;

use crate::ast::{Arg, Branch, Command, Node, Pipeline, Tree};
use crate::error::RenderError;
use crate::funcs;
use crate::funcs::oathkeeper;
use crate::limits::{MAX_FUEL, MAX_OUTPUT_BYTES, MAX_TEMPLATE_DEPTH, MAX_VALUE_BYTES};
use crate::parse::method_name;
use crate::value::{self, NULL, html_escape, truthy, type_name, weight};
use crate::{Dialect, Mode, RenderReport};

/// Maximum combined nesting (control structures, parenthesised pipelines and
/// template calls) during execution; keeps recursion well inside the stack.
const MAX_EXEC_NEST: usize = 300;

#[derive(Clone, Debug)]
enum Val<'a> {
    B(&'a Value),
    O(Rc<Value>),
}

impl Deref for Val<'_> {
    type Target = Value;
    fn deref(&self) -> &Value {
        match self {
            Val::B(v) => v,
            Val::O(v) => v,
        }
    }
}

impl<'a> Val<'a> {
    fn null() -> Val<'a> {
        Val::B(&NULL)
    }

    fn owned(v: Value) -> Val<'a> {
        Val::O(Rc::new(v))
    }

    /// A child of this value, borrowed when possible.
    fn child(&self, pick: impl Fn(&Value) -> Option<&Value>) -> Val<'a> {
        match self {
            Val::B(v) => pick(v).map_or_else(Val::null, Val::B),
            Val::O(v) => pick(v).map_or_else(Val::null, |c| Val::owned(c.clone())),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flow {
    Normal,
    Break,
    Continue,
}

struct ExecErr {
    pos: usize,
    msg: String,
}

type R<T> = Result<T, ExecErr>;

struct Exec<'a> {
    tree: &'a Tree,
    out: String,
    vars: Vec<(&'a str, Val<'a>)>,
    depth: usize,
    nest: usize,
    fuel: u64,
    report: RenderReport,
    tmpl_name: &'a str,
    /// Position of the most recent command, for errors without a node.
    last_pos: usize,
}

pub(crate) fn execute<'a>(
    tree: &'a Tree,
    data: &'a Value,
) -> Result<(String, RenderReport), RenderError> {
    let mut ex = Exec {
        tree,
        out: String::new(),
        vars: vec![("$", Val::B(data))],
        depth: 0,
        nest: 0,
        fuel: 0,
        report: RenderReport::default(),
        tmpl_name: &tree.name,
        last_pos: 0,
    };
    match ex.walk_list(&tree.root, &Val::B(data)) {
        Ok(_) => Ok((ex.out, ex.report)),
        Err(e) => {
            let (line, _) = tree.lines.locate(&tree.source, e.pos);
            Err(RenderError {
                name: tree.name.clone(),
                line,
                message: e.msg,
            })
        }
    }
}

impl<'a> Exec<'a> {
    fn fail<T>(&self, pos: usize, end: usize, msg: impl AsRef<str>) -> R<T> {
        let text = self.tree.source.get(pos..end).unwrap_or_default().trim();
        Err(ExecErr {
            pos,
            msg: format!(
                "executing {:?} at <{}>: {}",
                self.tmpl_name,
                text,
                msg.as_ref()
            ),
        })
    }

    fn fail_cmd<T>(&self, cmd: &Command, msg: impl AsRef<str>) -> R<T> {
        self.fail(cmd.pos, cmd.end, msg)
    }

    fn fail_plain<T>(&self, msg: impl Into<String>) -> R<T> {
        Err(ExecErr {
            pos: self.last_pos,
            msg: format!("executing {:?}: {}", self.tmpl_name, msg.into()),
        })
    }

    fn burn(&mut self, units: u64) -> R<()> {
        self.fuel = self.fuel.saturating_add(units);
        if self.fuel > MAX_FUEL {
            return self.fail_plain("template execution exceeded its work budget");
        }
        Ok(())
    }

    fn enter(&mut self) -> R<()> {
        self.nest += 1;
        if self.nest > MAX_EXEC_NEST {
            return self.fail_plain(format!(
                "exceeded maximum execution nesting ({MAX_EXEC_NEST})"
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.nest = self.nest.saturating_sub(1);
    }

    fn write(&mut self, s: &str) -> R<()> {
        if self.out.len() + s.len() > MAX_OUTPUT_BYTES {
            return self.fail_plain(format!(
                "output exceeds maximum size ({MAX_OUTPUT_BYTES} bytes)"
            ));
        }
        self.burn(s.len() as u64 / 64)?;
        self.out.push_str(s);
        Ok(())
    }

    fn walk_list(&mut self, nodes: &'a [Node], dot: &Val<'a>) -> R<Flow> {
        for n in nodes {
            let flow = self.walk(n, dot)?;
            if flow != Flow::Normal {
                return Ok(flow);
            }
        }
        Ok(Flow::Normal)
    }

    fn walk(&mut self, node: &'a Node, dot: &Val<'a>) -> R<Flow> {
        self.burn(1)?;
        match node {
            Node::Text(s) => self.write(s)?,
            Node::Action(p) => {
                let v = self.eval_pipeline(p, dot)?;
                if p.decl.is_empty() {
                    self.print(p, &v)?;
                }
            }
            Node::If(b) => return self.nested(|ex| ex.walk_if(b, dot, false)),
            Node::With(b) => return self.nested(|ex| ex.walk_if(b, dot, true)),
            Node::Range(b) => return self.nested(|ex| ex.walk_range(b, dot)),
            Node::Template { pos, name, pipe } => {
                return self.nested(|ex| ex.walk_template(*pos, name, pipe.as_ref(), dot));
            }
            Node::Break => return Ok(Flow::Break),
            Node::Continue => return Ok(Flow::Continue),
        }
        Ok(Flow::Normal)
    }

    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> R<T>) -> R<T> {
        self.enter()?;
        let r = f(self);
        self.leave();
        r
    }

    /// Prints an action's value like Go's `fmt.Fprint`, with the quirks
    /// recorded in the report.
    fn print(&mut self, p: &Pipeline, v: &Value) -> R<()> {
        if v.is_null() {
            self.report.printed_no_value = true;
            // html/template prints nothing for missing values.
            return match self.tree.mode {
                Mode::Html => Ok(()),
                Mode::Text => self.write("<no value>"),
            };
        }
        if v.is_array() || v.is_object() {
            self.report.printed_map_or_list = true;
        }
        let s = match value::to_v(v) {
            Ok(s) => s,
            Err(e) => return self.fail_plain(e),
        };
        if self.tree.mode == Mode::Html && !self.ends_with_html(p) {
            self.write(&html_escape(&s))
        } else {
            self.write(&s)
        }
    }

    /// `{{ x | html }}` is already escaped; don't escape twice in Html mode.
    fn ends_with_html(&self, p: &Pipeline) -> bool {
        matches!(
            p.cmds.last().and_then(|c| c.args.first()),
            Some(Arg::Func(n)) if n == "html" && !self.tree.funcs.contains(n)
        )
    }

    fn walk_if(&mut self, b: &'a Branch, dot: &Val<'a>, with: bool) -> R<Flow> {
        let mark = self.vars.len();
        let res = (|| {
            let v = self.eval_pipeline(&b.pipe, dot)?;
            if truthy(&v) {
                let new_dot = if with { v } else { dot.clone() };
                self.walk_list(&b.list, &new_dot)
            } else if let Some(e) = &b.else_list {
                self.walk_list(e, dot)
            } else {
                Ok(Flow::Normal)
            }
        })();
        self.vars.truncate(mark);
        res
    }

    fn bind(&mut self, p: &'a Pipeline, i: usize, v: Val<'a>) {
        let Some(name) = p.decl.get(i) else { return };
        if p.is_assign {
            self.set_var(name, v);
        } else {
            self.vars.push((name, v));
        }
    }

    fn set_var(&mut self, name: &str, v: Val<'a>) {
        if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| *n == name) {
            slot.1 = v;
        }
    }

    fn iteration(&mut self, b: &'a Branch, key: Val<'a>, elem: Val<'a>) -> R<Flow> {
        self.burn(1)?;
        let mark = self.vars.len();
        match b.pipe.decl.len() {
            1 => self.bind(&b.pipe, 0, elem.clone()),
            2 => {
                self.bind(&b.pipe, 0, key);
                self.bind(&b.pipe, 1, elem.clone());
            }
            _ => {}
        }
        let r = self.walk_list(&b.list, &elem);
        self.vars.truncate(mark);
        r
    }

    fn walk_range(&mut self, b: &'a Branch, dot: &Val<'a>) -> R<Flow> {
        let mark = self.vars.len();
        let res = (|| {
            let v = self.eval_cmds(&b.pipe, dot)?;
            let mut ran = false;
            match &*v {
                Value::Array(a) => {
                    for i in 0..a.len() {
                        ran = true;
                        let elem = v.child(|x| x.as_array().and_then(|a| a.get(i)));
                        if self.iteration(b, Val::owned(Value::from(i)), elem)? == Flow::Break {
                            break;
                        }
                    }
                }
                Value::Object(o) => {
                    let mut keys: Vec<&String> = o.keys().collect();
                    keys.sort();
                    for k in keys {
                        ran = true;
                        let elem = v.child(|x| x.as_object().and_then(|m| m.get(k)));
                        let key = Val::owned(Value::String(k.clone()));
                        if self.iteration(b, key, elem)? == Flow::Break {
                            break;
                        }
                    }
                }
                Value::Null => {}
                Value::Number(n) if n.is_i64() || n.is_u64() => {
                    // Go 1.22+: range over an integer counts from 0.
                    if b.pipe.decl.len() > 1 {
                        return self.fail_pipe(
                            &b.pipe,
                            format!("can't use {n} to iterate over more than one variable"),
                        );
                    }
                    let n = n.as_i64().unwrap_or(i64::MAX);
                    for i in 0..n.max(0) {
                        ran = true;
                        let elem = Val::owned(Value::from(i));
                        if self.iteration(b, elem.clone(), elem)? == Flow::Break {
                            break;
                        }
                    }
                }
                other => {
                    let shown = value::to_v(other).unwrap_or_default();
                    return self.fail_pipe(&b.pipe, format!("range can't iterate over {shown}"));
                }
            }
            if !ran && let Some(e) = &b.else_list {
                return self.walk_list(e, dot);
            }
            Ok(Flow::Normal)
        })();
        self.vars.truncate(mark);
        // break/continue never escape their range.
        res.map(|_| Flow::Normal)
    }

    fn fail_pipe<T>(&self, p: &Pipeline, msg: impl AsRef<str>) -> R<T> {
        let end = p.cmds.last().map_or(p.pos, |c| c.end);
        self.fail(p.pos, end, msg)
    }

    fn walk_template(
        &mut self,
        pos: usize,
        name: &'a str,
        pipe: Option<&'a Pipeline>,
        dot: &Val<'a>,
    ) -> R<Flow> {
        self.last_pos = pos;
        let Some(body) = self.tree.defs.get(name) else {
            return self.fail_plain(format!("no such template {name:?}"));
        };
        if self.depth >= MAX_TEMPLATE_DEPTH {
            return self.fail_plain(format!(
                "exceeded maximum template depth ({MAX_TEMPLATE_DEPTH})"
            ));
        }
        let new_dot = match pipe {
            Some(p) => self.eval_pipeline(p, dot)?,
            None => Val::null(),
        };
        let vars = std::mem::replace(&mut self.vars, vec![("$", new_dot.clone())]);
        let caller = std::mem::replace(&mut self.tmpl_name, name);
        self.depth += 1;
        let r = self.walk_list(body, &new_dot);
        self.depth -= 1;
        self.tmpl_name = caller;
        self.vars = vars;
        r.map(|_| Flow::Normal)
    }

    /// Evaluates the commands of a pipeline without binding its variables.
    fn eval_cmds(&mut self, p: &'a Pipeline, dot: &Val<'a>) -> R<Val<'a>> {
        let mut last: Option<Val<'a>> = None;
        for cmd in &p.cmds {
            last = Some(self.eval_command(cmd, dot, last.take())?);
        }
        Ok(last.unwrap_or_else(Val::null))
    }

    fn eval_pipeline(&mut self, p: &'a Pipeline, dot: &Val<'a>) -> R<Val<'a>> {
        let v = self.eval_cmds(p, dot)?;
        for i in 0..p.decl.len() {
            self.bind(p, i, v.clone());
        }
        Ok(v)
    }

    fn eval_command(
        &mut self,
        cmd: &'a Command,
        dot: &Val<'a>,
        fin: Option<Val<'a>>,
    ) -> R<Val<'a>> {
        self.burn(1)?;
        self.last_pos = cmd.pos;
        let Some(first) = cmd.args.first() else {
            return self.fail_cmd(cmd, "empty command");
        };
        match first {
            Arg::Func(name) => self.call(cmd, name, &cmd.args[1..], dot, fin),
            Arg::Lit(Value::Null) => self.fail_cmd(cmd, "nil is not a command"),
            // The parser only lets http.Header methods take arguments.
            other if cmd.args.len() > 1 || fin.is_some() => {
                self.method_call(cmd, other, &cmd.args[1..], dot, fin)
            }
            // The parser rejects arguments to non-functions.
            other => self.eval_arg(cmd, other, dot),
        }
    }

    fn lookup_var(&self, name: &str) -> Val<'a> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map_or_else(Val::null, |(_, v)| v.clone())
    }

    fn eval_arg(&mut self, cmd: &'a Command, arg: &'a Arg, dot: &Val<'a>) -> R<Val<'a>> {
        match arg {
            Arg::Dot => Ok(dot.clone()),
            Arg::Field(names) => self.fields(cmd, dot.clone(), names),
            Arg::Var(name, names) => {
                let v = self.lookup_var(name);
                self.fields(cmd, v, names)
            }
            Arg::Chain(inner, names) => {
                let v = self.eval_arg(cmd, inner, dot)?;
                self.fields(cmd, v, names)
            }
            Arg::Func(name) => self.call(cmd, name, &[], dot, None),
            Arg::Pipe(p) => self.nested(|ex| ex.eval_pipeline(p, dot)),
            Arg::Lit(v) => Ok(Val::B(v)),
        }
    }

    /// Field chain `.A.B`: missing keys and nil receivers yield no value;
    /// scalars and lists cannot have fields. In [`Dialect::Oathkeeper`]
    /// (`missingkey=zero`) a value looked up by an earlier step of the chain
    /// is a Go `interface{}`, and a nil one has no fields: Go fails with
    /// "nil pointer evaluating interface {}.B". The chain's receiver itself
    /// (dot, a variable, a parenthesised pipeline) has been unwrapped by Go,
    /// so a nil receiver just yields no value.
    fn fields(&self, cmd: &Command, mut cur: Val<'a>, names: &[String]) -> R<Val<'a>> {
        for (i, name) in names.iter().enumerate() {
            let next = match &*cur {
                Value::Object(_) => cur.child(|x| x.as_object().and_then(|m| m.get(name))),
                Value::Null if i > 0 && self.tree.dialect == Dialect::Oathkeeper => {
                    return self.fail_cmd(cmd, nil_pointer(name));
                }
                Value::Null => Val::null(),
                other => {
                    return self.fail_cmd(
                        cmd,
                        format!("can't evaluate field {name} in type {}", type_name(other)),
                    );
                }
            };
            cur = next;
        }
        Ok(cur)
    }

    /// `.Header.Get "X-Foo"` (or with the name piped in): a method of Go's
    /// `http.Header`, which [`Dialect::Oathkeeper`] sees in any object whose
    /// values are all lists of strings. Mirrors Go's `evalField` for the
    /// chain's last step when it has arguments.
    fn method_call(
        &mut self,
        cmd: &'a Command,
        first: &'a Arg,
        args: &'a [Arg],
        dot: &Val<'a>,
        fin: Option<Val<'a>>,
    ) -> R<Val<'a>> {
        let Some(method) = method_name(self.tree.dialect, first) else {
            let text = self.tree.source.get(cmd.pos..cmd.end).unwrap_or_default();
            return self.fail_cmd(cmd, format!("can't give argument to non-function {text}"));
        };
        let (recv, names) = match first {
            Arg::Field(names) => (dot.clone(), names),
            Arg::Var(name, names) => (self.lookup_var(name), names),
            Arg::Chain(inner, names) => (self.eval_arg(cmd, inner, dot)?, names),
            _ => return self.fail_cmd(cmd, "internal error: not a method call"),
        };
        let path = names
            .get(..names.len().saturating_sub(1))
            .unwrap_or_default();
        let recv = self.fields(cmd, recv, path)?;
        let header = match &*recv {
            // Go: an invalid receiver yields the zero value, a nil interface fails.
            Value::Null if path.is_empty() => return Ok(Val::null()),
            Value::Null => return self.fail_cmd(cmd, nil_pointer(method)),
            Value::Object(o) if oathkeeper::is_header_map(o) => o,
            Value::Object(_) => {
                return self.fail_cmd(cmd, format!("{method} is not a method but has arguments"));
            }
            other => {
                return self.fail_cmd(
                    cmd,
                    format!("can't evaluate field {method} in type {}", type_name(other)),
                );
            }
        };
        let mut vals: Vec<Val<'a>> = Vec::with_capacity(args.len() + 1);
        for a in args {
            vals.push(self.eval_arg(cmd, a, dot)?);
        }
        vals.extend(fin);
        let [arg] = vals.as_slice() else {
            return self.fail_cmd(
                cmd,
                format!(
                    "wrong number of args for {method}: want 1 got {}",
                    vals.len()
                ),
            );
        };
        match oathkeeper::header_method(method, header, arg) {
            Ok(v) => Ok(Val::owned(v)),
            Err(e) => self.fail_cmd(cmd, format!("error calling {method}: {e}")),
        }
    }

    fn call(
        &mut self,
        cmd: &'a Command,
        name: &'a str,
        args: &'a [Arg],
        dot: &Val<'a>,
        fin: Option<Val<'a>>,
    ) -> R<Val<'a>> {
        let user = self.tree.funcs.get(name).cloned();
        if user.is_none() && (name == "and" || name == "or") {
            return self.short_circuit(cmd, name == "and", args, dot, fin);
        }
        let mut vals: Vec<Val<'a>> = Vec::with_capacity(args.len() + 1);
        for a in args {
            vals.push(self.eval_arg(cmd, a, dot)?);
        }
        vals.extend(fin);
        let refs: Vec<&Value> = vals.iter().map(|v| &**v).collect();
        let mut total = 0usize;
        for r in &refs {
            match weight(r, MAX_VALUE_BYTES - total) {
                Ok(w) => total += w,
                Err(e) => return self.fail_cmd(cmd, format!("error calling {name}: {e}")),
            }
        }
        self.burn(total as u64 / 64)?;
        let result = if let Some(f) = user {
            let owned: Vec<Value> = refs.iter().map(|v| (*v).clone()).collect();
            f(&owned)
        } else if let Some(def) = funcs::lookup(name, self.tree.dialect) {
            if formats_container(name, &refs) {
                self.report.printed_map_or_list = true;
            }
            (def.f)(&refs)
        } else {
            Err(format!("function {name:?} not defined"))
        };
        let mut result = match result {
            Ok(v) => v,
            Err(e) => return self.fail_cmd(cmd, format!("error calling {name}: {e}")),
        };
        // encoding/json gives Oathkeeper's sprig float64 numbers too.
        if name == "fromJson"
            && self.tree.dialect == Dialect::Oathkeeper
            && !self.tree.funcs.contains(name)
            && let Some(floats) = oathkeeper::floatify(&result)
        {
            result = floats;
        }
        match weight(&result, MAX_VALUE_BYTES) {
            Ok(w) => self.burn(w as u64 / 64)?,
            Err(e) => return self.fail_cmd(cmd, format!("error calling {name}: {e}")),
        }
        Ok(Val::owned(result))
    }

    /// Go 1.18+ `and`/`or`: evaluate arguments left to right and stop at the
    /// first falsy (and) / truthy (or) one, returning it.
    fn short_circuit(
        &mut self,
        cmd: &'a Command,
        is_and: bool,
        args: &'a [Arg],
        dot: &Val<'a>,
        fin: Option<Val<'a>>,
    ) -> R<Val<'a>> {
        let mut last = Val::null();
        for a in args {
            let v = self.eval_arg(cmd, a, dot)?;
            if truthy(&v) != is_and {
                return Ok(v);
            }
            last = v;
        }
        if let Some(v) = fin {
            return Ok(v);
        }
        Ok(last)
    }
}

fn nil_pointer(name: &str) -> String {
    format!("nil pointer evaluating interface {{}}.{name}")
}

/// Whether the builtin formatting function `name` is about to print a JSON
/// object or array with `%v` (Go's `map[k:v]` / `[a b]` dump).
fn formats_container(name: &str, args: &[&Value]) -> bool {
    let container = |v: &Value| v.is_object() || v.is_array();
    match name {
        "print" | "println" => args.iter().any(|v| container(v)),
        "printf" => args.iter().skip(1).any(|v| container(v)),
        "printIndex" => match (args.first(), args.get(1).map(|i| value::arg_int(i))) {
            (Some(Value::Array(l)), Some(Ok(i))) => usize::try_from(i)
                .ok()
                .and_then(|i| l.get(i))
                .is_some_and(container),
            _ => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use crate::{Mode, RenderReport, Template};
    use serde_json::{Value, json};

    fn render(src: &str, data: &Value) -> String {
        Template::parse("t", src)
            .unwrap_or_else(|e| panic!("{e}"))
            .render(data)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn render_err(src: &str, data: &Value) -> crate::RenderError {
        Template::parse("t", src)
            .unwrap_or_else(|e| panic!("{e}"))
            .render(data)
            .expect_err("expected a render error")
    }

    #[test]
    fn text_and_fields() {
        let d = json!({"A": {"B": "x"}, "n": 3, "f": 1.5, "t": true, "z": null});
        assert_eq!(
            render("hi {{.A.B}} {{ .n }} {{.f}} {{.t}}", &d),
            "hi x 3 1.5 true"
        );
        assert_eq!(
            render("{{ .missing }}|{{ .A.missing }}|{{ .z }}|{{ .z.y }}", &d),
            "<no value>|<no value>|<no value>|<no value>"
        );
        assert_eq!(render("{{ . }}", &json!("top")), "top");
        assert_eq!(render("{{ .A }}", &d), "map[B:x]");
        assert_eq!(
            render("{{ .x }}", &json!({"x": [1, "a", null]})),
            "[1 a <nil>]"
        );
    }

    #[test]
    fn field_on_scalar_is_error() {
        let e = render_err("a\n{{ .s.x }}", &json!({"s": "str"}));
        assert_eq!(e.line, 2);
        assert!(
            e.message
                .contains("executing \"t\" at <.s.x>: can't evaluate field x in type string"),
            "{e}"
        );
        assert!(
            render_err("{{ .n.x }}", &json!({"n": 1}))
                .message
                .contains("type int")
        );
        assert!(
            render_err("{{ .l.x }}", &json!({"l": []}))
                .message
                .contains("[]interface {}")
        );
    }

    #[test]
    fn trim_and_comments() {
        assert_eq!(render("a  {{- 1 -}}  b", &json!(null)), "a1b");
        assert_eq!(render("a {{/* c */}} b", &json!(null)), "a  b");
        assert_eq!(render("a\n  {{- /* c */ -}}\n  b", &json!(null)), "ab");
        assert_eq!(render("{{ 3 }} {{-3}}", &json!(null)), "3 -3");
    }

    #[test]
    fn literals() {
        let d = json!(null);
        assert_eq!(
            render(
                r#"{{ "a\tb" }}|{{ `raw\n` }}|{{ 'a' }}|{{ 0x10 }}|{{ 1e3 }}|{{ -2.5 }}|{{ true }}"#,
                &d
            ),
            "a\tb|raw\\n|97|16|1000|-2.5|true"
        );
        assert!(
            render_err("{{ nil }}", &d)
                .message
                .contains("nil is not a command")
        );
        assert_eq!(render("{{ print nil }}", &d), "<nil>");
    }

    #[test]
    fn variables() {
        let d = json!({"a": 1, "l": ["x", "y"]});
        assert_eq!(
            render("{{ $x := .a }}{{ $x }}{{ $x = 2 }}{{ $x }}", &d),
            "12"
        );
        assert_eq!(render("{{ $.a }}{{ with .l }}{{ $.a }}{{ end }}", &d), "11");
        assert_eq!(
            render(
                "{{ $x := 0 }}{{ range .l }}{{ $x = . }}{{ end }}{{ $x }}",
                &d
            ),
            "y"
        );
        assert_eq!(render("{{ $v := .l }}{{ index $v 1 }}", &d), "y");
        assert_eq!(render("{{ ($x := 5) }} {{ $x }}", &d), "5 5");
    }

    #[test]
    fn pipelines_and_parens() {
        let d = json!({"s": "abc"});
        assert_eq!(render("{{ .s | upper | printf \"%s!\" }}", &d), "ABC!");
        assert_eq!(
            render("{{ printf \"%s-%s\" (upper .s) (.s | lower) }}", &d),
            "ABC-abc"
        );
        assert_eq!(render("{{ (dict \"k\" .s).k }}", &d), "abc");
        assert_eq!(render("{{ (list 1 2) }}", &d), "[1 2]");
    }

    #[test]
    fn conditionals() {
        let t = "{{ if .a }}A{{ else if .b }}B{{ else }}C{{ end }}";
        assert_eq!(render(t, &json!({"a": 1})), "A");
        assert_eq!(render(t, &json!({"b": "x"})), "B");
        assert_eq!(render(t, &json!({"a": 0, "b": []})), "C");
        assert_eq!(
            render(
                "{{ if and .a .b }}y{{ else }}n{{ end }}",
                &json!({"a": 1, "b": {}})
            ),
            "n"
        );
        assert_eq!(
            render("{{ if or .a .b }}y{{ end }}", &json!({"b": "x"})),
            "y"
        );
        assert_eq!(render("{{ if not .a }}y{{ end }}", &json!({})), "y");
        assert_eq!(
            render("{{ and 1 0 2 }} {{ or 0 \"\" }} {{ or 0 3 }}", &json!(null)),
            "0  3"
        );
    }

    #[test]
    fn and_or_short_circuit() {
        // `index` would fail on the nil list; and/or must not evaluate it.
        let d = json!({});
        assert_eq!(
            render("{{ if and .l (index .l 0) }}y{{ else }}n{{ end }}", &d),
            "n"
        );
        assert_eq!(render("{{ or \"x\" (index .l 0) }}", &d), "x");
        assert_eq!(render("{{ .v | and 1 }}", &json!({"v": "p"})), "p");
    }

    #[test]
    fn with_blocks() {
        let t = "{{ with .u }}{{ .name }}{{ else with .v }}v={{ . }}{{ else }}none{{ end }}";
        assert_eq!(render(t, &json!({"u": {"name": "n"}})), "n");
        assert_eq!(render(t, &json!({"v": 2})), "v=2");
        assert_eq!(render(t, &json!({})), "none");
        assert_eq!(
            render("{{ with $x := .a }}{{ $x }}{{ end }}", &json!({"a": "q"})),
            "q"
        );
    }

    #[test]
    fn ranges() {
        let d = json!({"l": ["a", "b", "c"], "m": {"z": 1, "a": 2}, "e": [], "n": 3});
        assert_eq!(render("{{ range .l }}{{ . }}{{ end }}", &d), "abc");
        assert_eq!(
            render("{{ range $i, $e := .l }}{{ $i }}={{ $e }},{{ end }}", &d),
            "0=a,1=b,2=c,"
        );
        assert_eq!(
            render("{{ range $k, $v := .m }}{{ $k }}:{{ $v }} {{ end }}", &d),
            "a:2 z:1 "
        );
        assert_eq!(render("{{ range $v := .m }}{{ $v }}{{ end }}", &d), "21");
        assert_eq!(
            render("{{ range .e }}x{{ else }}empty{{ end }}", &d),
            "empty"
        );
        assert_eq!(
            render("{{ range .missing }}x{{ else }}none{{ end }}", &d),
            "none"
        );
        assert_eq!(render("{{ range .n }}{{ . }}{{ end }}", &d), "012");
        assert_eq!(
            render(
                "{{ range .l }}{{ if eq . \"b\" }}{{ continue }}{{ end }}{{ if eq . \"c\" }}{{ break }}{{ end }}{{ . }}{{ end }}",
                &d
            ),
            "a"
        );
        assert_eq!(
            render(
                "{{ range .l }}{{ range $.l }}{{ end }}{{ break }}{{ end }}x",
                &json!({"l": [1, 2]})
            ),
            "x"
        );
        assert!(
            render_err("{{ range .s }}{{ end }}", &json!({"s": "str"}))
                .message
                .contains("range can't iterate over str")
        );
        assert!(
            render_err("{{ range $i, $e := 3 }}{{ end }}", &d)
                .message
                .contains("more than one variable")
        );
    }

    #[test]
    fn range_vars_do_not_leak() {
        let d = json!({"l": [1, 2]});
        assert_eq!(
            render(
                "{{ $e := \"outer\" }}{{ range $e := .l }}{{ $e }}{{ end }}{{ $e }}",
                &d
            ),
            "12outer"
        );
        assert_eq!(
            render(
                "{{ $e := 0 }}{{ range $i, $x := .l }}{{ $e = $x }}{{ end }}{{ $e }}",
                &d
            ),
            "2"
        );
        assert_eq!(
            render(
                "{{ $i := 9 }}{{ $e := 0 }}{{ range $i, $e = .l }}{{ end }}{{ $i }}{{ $e }}",
                &d
            ),
            "12"
        );
    }

    #[test]
    fn define_template_block() {
        let src = r#"{{ define "greet" }}Hello {{ . }}{{ end }}{{ template "greet" .name }}|{{ block "foot" . }}F{{ .name }}{{ end }}|{{ template "nodot" }}{{ define "nodot" }}{{ . }}{{ end }}"#;
        assert_eq!(
            render(src, &json!({"name": "Ann"})),
            "Hello Ann|FAnn|<no value>"
        );
        // $ is rebound to the template's dot.
        assert_eq!(
            render(
                r#"{{ define "d" }}{{ $ }}{{ end }}{{ template "d" 5 }}"#,
                &json!(null)
            ),
            "5"
        );
    }

    #[test]
    fn recursion_depth_bounded() {
        let e = render_err(
            r#"{{ define "r" }}x{{ template "r" . }}{{ end }}{{ template "r" . }}"#,
            &json!(null),
        );
        assert!(e.message.contains("exceeded maximum"), "{e}");
        // Bounded recursion works.
        let src = r#"{{ define "c" }}{{ if . }}{{ len . }}{{ template "c" (slice . 1) }}{{ end }}{{ end }}{{ template "c" .l }}"#;
        assert_eq!(render(src, &json!({"l": [1, 2, 3]})), "321");
    }

    #[test]
    fn output_is_bounded() {
        let e = render_err(
            r#"{{ range 2000 }}{{ repeat 1000 "x" }}{{ end }}"#,
            &json!(null),
        );
        assert!(e.message.contains("output exceeds maximum size"), "{e}");
    }

    #[test]
    fn value_growth_is_bounded() {
        let e = render_err(
            r#"{{ $x := list 1 }}{{ range 64 }}{{ $x = list $x $x }}{{ end }}"#,
            &json!(null),
        );
        assert!(e.message.contains("maximum"), "{e}");
        let e = render_err(
            r#"{{ $s := "xxxxxxxxxxxxxxxx" }}{{ range 64 }}{{ $s = cat $s $s }}{{ end }}"#,
            &json!(null),
        );
        assert!(e.message.contains("maximum size"), "{e}");
        let e = render_err(
            r#"{{ $x := 1 }}{{ range 1000 }}{{ $x = list $x }}{{ end }}"#,
            &json!(null),
        );
        assert!(e.message.contains("nesting depth"), "{e}");
    }

    #[test]
    fn work_is_bounded() {
        let e = render_err(r#"{{ range 100000000 }}{{ end }}"#, &json!(null));
        assert!(e.message.contains("work budget"), "{e}");
    }

    #[test]
    fn index_errors_have_lines() {
        let e = render_err("\n\n{{ index .l 5 }}", &json!({"l": [1]}));
        assert_eq!(e.line, 3);
        assert!(
            e.message
                .contains("error calling index: index out of range: 5"),
            "{e}"
        );
        assert_eq!(
            e.to_string(),
            "template: t:3: executing \"t\" at <index .l 5>: error calling index: index out of range: 5"
        );
    }

    #[test]
    fn error_names_inner_template() {
        let e = render_err(
            "{{ define \"x\" }}\n{{ .a.b }}{{ end }}{{ template \"x\" . }}",
            &json!({"a": 1}),
        );
        assert!(e.message.starts_with("executing \"x\""), "{e}");
        assert_eq!(e.line, 2);
    }

    #[test]
    fn html_mode_escapes_values_not_text() {
        let t = Template::parse_with(
            "h",
            "<b>{{ .v }}</b>{{ .missing }}{{ .v | html }}",
            Mode::Html,
        )
        .unwrap();
        let (out, rep) = t.render_checked(&json!({"v": "<i>&\"'"})).unwrap();
        assert_eq!(
            out,
            "<b>&lt;i&gt;&amp;&#34;&#39;</b>&lt;i&gt;&amp;&#34;&#39;"
        );
        assert!(rep.printed_no_value);
        assert_eq!(
            Template::parse_with("h", "{{ . }}", Mode::Html)
                .unwrap()
                .mode(),
            Mode::Html
        );
    }

    #[test]
    fn report_flags() {
        let t = Template::parse("t", "{{ .m }}").unwrap();
        let (_, rep) = t.render_checked(&json!({"m": {"a": 1}})).unwrap();
        assert_eq!(
            rep,
            RenderReport {
                printed_map_or_list: true,
                printed_no_value: false
            }
        );
        let (_, rep) = t.render_checked(&json!({"m": "s"})).unwrap();
        assert_eq!(rep, RenderReport::default());
        let (out, rep) = t.render_checked(&json!({})).unwrap();
        assert_eq!(out, "<no value>");
        assert!(rep.printed_no_value && !rep.printed_map_or_list);
        // Assignments print nothing and so flag nothing.
        let t = Template::parse("t", "{{ $x := .m }}").unwrap();
        assert_eq!(
            t.render_checked(&json!({})).unwrap().1,
            RenderReport::default()
        );
    }

    #[test]
    fn builtins_via_templates() {
        let d = json!({"l": [1, 2, 3], "m": {"k": {"j": "v"}}, "s": "héllo"});
        assert_eq!(
            render(
                "{{ len .l }} {{ len .s }} {{ index .m \"k\" \"j\" }} {{ slice .l 1 }}",
                &d
            ),
            "3 6 v [2 3]"
        );
        assert_eq!(
            render(
                "{{ printf \"%5s|%-4d|%.2f|%q|%v\" \"ab\" 7 3.14159 \"x\" .l }}",
                &d
            ),
            "   ab|7   |3.14|\"x\"|[1 2 3]"
        );
        assert_eq!(render("{{ println 1 2 }}", &d), "1 2\n");
        assert_eq!(
            render(
                "{{ eq 1 1 }} {{ eq .s \"a\" \"héllo\" }} {{ ne 1 2 }} {{ lt 1 2 }} {{ ge 2 3 }}",
                &d
            ),
            "true true true true false"
        );
        assert_eq!(
            render(
                "{{ js \"a'b\" }} {{ urlquery \"a b\" }} {{ html \"<\" }}",
                &d
            ),
            "a\\'b a+b &lt;"
        );
    }

    #[test]
    fn sprig_via_templates() {
        let d = json!({"name": "ada", "csv": "a,b", "n": 7});
        assert_eq!(
            render(
                "{{ .x | default \"anon\" }} {{ .name | default \"anon\" | title }}",
                &d
            ),
            "anon Ada"
        );
        assert_eq!(
            render("{{ $p := split \",\" .csv }}{{ $p._1 }}{{ $p._0 }}", &d),
            "ba"
        );
        assert_eq!(render("{{ splitList \",\" .csv | join \"+\" }}", &d), "a+b");
        assert_eq!(
            render(
                "{{ add .n 1 }} {{ sub .n 2 }} {{ mul .n 2 }} {{ div .n 2 }} {{ mod .n 2 }}",
                &d
            ),
            "8 5 14 3 1"
        );
        assert_eq!(render("{{ dict \"a\" 1 | toJson }}", &d), "{\"a\":1}");
        assert_eq!(render("{{ (fromJson \"{\\\"a\\\":[5]}\").a }}", &d), "[5]");
        assert_eq!(
            render(
                "{{ .name | b64enc | b64dec }} {{ .name | quote }} {{ .name | trunc 2 }}",
                &d
            ),
            "ada \"ada\" ad"
        );
        assert_eq!(render("{{ \"a\\nb\" | nindent 2 }}", &d), "\n  a\n  b");
        assert_eq!(
            render(
                "{{ if hasKey . \"n\" }}y{{ end }}{{ keys . | join \",\" }}",
                &d
            ),
            "ycsv,n,name"
        );
        assert_eq!(render("{{ ternary \"y\" \"n\" (empty .x) }}", &d), "y");
        assert!(
            render_err("{{ div 1 0 }}", &d)
                .message
                .contains("divide by zero")
        );
    }

    #[test]
    fn misc_go_compat() {
        let d = json!({"m": {"b": 2, "a": 1}, "l": ["x"], "e": ""});
        assert_eq!(render("{{ \"a\" | printf \"%s-%s\" \"b\" }}", &d), "b-a");
        assert_eq!(render("{{ 3 -}}  \n x {{- 4 }}", &d), "3x4");
        assert_eq!(render("{{ if .x }}1{{- else -}} 2 {{ end }}", &d), "2 ");
        assert_eq!(
            render("{{ if eq .tier \"gold\" }}g{{ else }}n{{ end }}", &d),
            "n"
        );
        assert_eq!(render("{{ range .m }}{{ . }}{{ end }}", &d), "12");
        assert_eq!(render("{{ .l | len }}{{ len .m }}", &d), "12");
        assert_eq!(render("{{ .e | default \"d\" }}", &d), "d");
        assert_eq!(
            render("{{ 1e6 }} {{ 1000000 }} {{ 0.000001 }}", &d),
            "1e+06 1000000 1e-06"
        );
        assert!(
            render_err("{{ .l.x }}", &d)
                .message
                .contains("can't evaluate field x")
        );
        let t = Template::parse_with("h", "{{ printf \"<%s>\" .e }}", Mode::Html).unwrap();
        assert_eq!(t.render(&d).unwrap(), "&lt;&gt;");
    }

    fn ok_render(src: &str, data: &Value) -> Result<String, crate::RenderError> {
        Template::parse_oathkeeper("t", src)
            .unwrap_or_else(|e| panic!("{e}"))
            .render(data)
    }

    #[test]
    fn oathkeeper_nil_interface_hops() {
        let d = json!({"Extra": {"a": null, "m": {"k": "v"}}});
        let nil_b = "nil pointer evaluating interface {}.b";
        for src in [
            "{{ .Extra.missing.b }}",
            "{{ .Extra.a.b }}",
            "{{ $.Extra.a.b }}",
            "{{ (.Extra).a.b }}",
            "{{ if .Extra.a.b }}x{{ end }}",
            "{{ .Extra.a.b | default \"d\" }}",
            "{{ print .Extra.a.b }}",
        ] {
            let e = ok_render(src, &d).unwrap_err();
            assert!(e.message.contains(nil_b), "{src}: {e}");
        }
        // Unwrapped values (variables, pipelines) are invalid, not nil interfaces.
        for (src, want) in [
            ("{{ $x := .Extra.a }}{{ $x.b }}", "<no value>"),
            ("{{ (.Extra.a).b }}", "<no value>"),
            (
                "{{ .Extra.a }}|{{ print .Extra.a }}|{{ .Extra.missing }}",
                "<no value>||<no value>",
            ),
            ("{{ .Extra.m.k }}", "v"),
            ("{{ with .Extra.m }}{{ .k }}{{ end }}", "v"),
        ] {
            assert_eq!(ok_render(src, &d).unwrap(), want, "{src}");
        }
        // Scalars still cannot have fields.
        let e = ok_render("{{ .Extra.m.k.z }}", &d).unwrap_err();
        assert!(
            e.message.contains("can't evaluate field z in type string"),
            "{e}"
        );
        // The standard dialect keeps treating nil receivers as no value.
        assert_eq!(
            render("{{ .Extra.a.b }}{{ .Extra.missing.b }}", &d),
            "<no value><no value>"
        );
    }

    #[test]
    fn oathkeeper_header_method_errors() {
        let d = json!({"H": {"A": ["1", "2"]}, "M": {"A": "x"}, "S": "str"});
        assert_eq!(ok_render("{{ .H.Values \"a\" }}", &d).unwrap(), "[1 2]");
        assert_eq!(ok_render("{{ .H.Get \"a\" }}", &d).unwrap(), "1");
        // Without arguments `Get` is an ordinary field.
        assert_eq!(ok_render("{{ .H.Get }}", &d).unwrap(), "<no value>");
        for (src, want) in [
            (
                "{{ .M.Get \"a\" }}",
                "Get is not a method but has arguments",
            ),
            (
                "{{ .S.Get \"a\" }}",
                "can't evaluate field Get in type string",
            ),
            (
                "{{ .Nope.Get \"a\" }}",
                "nil pointer evaluating interface {}.Get",
            ),
            (
                "{{ .H.Get 1 }}",
                "error calling Get: wrong type for value; expected string; got int",
            ),
        ] {
            let e = ok_render(src, &d).unwrap_err();
            assert!(e.message.contains(want), "{src}: {e}");
        }
        // A nil variable is an invalid receiver: no value, as in Go.
        assert_eq!(
            ok_render("{{ $h := .Nope }}{{ $h.Get \"a\" }}", &d).unwrap(),
            "<no value>"
        );
        for (src, want) in [
            (
                "{{ .H.Get \"a\" \"b\" }}",
                "wrong number of args for Get: want 1 got 2",
            ),
            (
                "{{ \"a\" | .H.Get \"b\" }}",
                "wrong number of args for Get: want 1 got 2",
            ),
            (
                "{{ .H.Other \"a\" }}",
                "can't give argument to non-function .H.Other \"a\"",
            ),
            (
                "{{ .H.Get upper }}",
                "wrong number of args for upper: want 1 got 0",
            ),
        ] {
            let e = Template::parse_oathkeeper("t", src).unwrap_err();
            assert_eq!(e.message, want, "{src}");
        }
    }

    #[test]
    fn oathkeeper_numbers_and_from_json() {
        let d = json!({"n": 1000000, "i": 42});
        assert_eq!(
            ok_render("{{ .n }} {{ printf \"%d\" .i }} {{ (fromJson \"{\\\"a\\\":2000000}\").a }} {{ add .i 1 }}", &d).unwrap(),
            "1e+06 %!d(float64=42) 2e+06 43"
        );
        // The caller's data is untouched and the standard dialect keeps integers.
        assert_eq!(
            render("{{ .n }} {{ (fromJson \"{\\\"a\\\":2000000}\").a }}", &d),
            "1000000 2000000"
        );
    }

    #[test]
    fn formatting_functions_set_the_map_flag() {
        let d = json!({"m": {"a": 1}, "l": [[1], "x"], "s": "x"});
        for (src, flagged) in [
            ("{{ print .m }}", true),
            ("{{ print .s }}", false),
            ("{{ printf \"%v\" .l }}", true),
            ("{{ printf \"%v\" .s }}", false),
            ("{{ println .s .m }}", true),
        ] {
            let t = Template::parse("t", src).unwrap();
            assert_eq!(
                t.render_checked(&d).unwrap().1.printed_map_or_list,
                flagged,
                "{src}"
            );
        }
        for (src, flagged) in [
            ("{{ printIndex .l 0 }}", true),
            ("{{ printIndex .l 1 }}", false),
            ("{{ printIndex .l 5 }}", false),
            ("{{ print .m }}", true),
        ] {
            let t = Template::parse_oathkeeper("t", src).unwrap();
            assert_eq!(
                t.render_checked(&d).unwrap().1.printed_map_or_list,
                flagged,
                "{src}"
            );
        }
    }
}
