//! Recursive-descent parser over the token list from `lexer`.
//!
//! Beyond Go's own parse-time checks (unknown functions, undefined
//! variables, misplaced else/end/break), this parser also rejects problems Go
//! only reports when the offending action runs but that cannot depend on data:
//! wrong argument counts for builtin/sprig functions, arguments given to
//! non-functions, and `{{template}}` calls to templates that are never
//! defined. Catching them at startup is what a config-driven server wants.

use std::collections::HashMap;

use serde_json::Value;

use crate::ast::{Arg, Branch, Command, Node, Pipeline, Tree};
use crate::error::{LineIndex, ParseError};
use crate::funcs;
use crate::lexer::{self, Kw, Tok, Token};
use crate::limits::MAX_PARSE_DEPTH;
use crate::{Dialect, Funcs, Mode};

struct PErr {
    pos: usize,
    msg: String,
}

type PResult<T> = Result<T, PErr>;

fn perr<T>(pos: usize, msg: impl Into<String>) -> PResult<T> {
    Err(PErr {
        pos,
        msg: msg.into(),
    })
}

enum ListEnd {
    End,
    Else(usize),
    Eof,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Closer {
    Delim,
    Paren,
}

struct Parser<'s> {
    src: &'s str,
    toks: Vec<Token>,
    i: usize,
    funcs: &'s Funcs,
    dialect: Dialect,
    /// Variables in scope, innermost last (Go tracks these at parse time).
    vars: Vec<String>,
    range_depth: usize,
    depth: usize,
    defs: HashMap<String, Vec<Node>>,
    template_refs: Vec<(String, usize)>,
}

pub(crate) fn parse(
    name: &str,
    source: &str,
    mode: Mode,
    dialect: Dialect,
    funcs: &Funcs,
) -> Result<Tree, ParseError> {
    let lines = LineIndex::new(source);
    let to_err = |e: PErr| {
        let (line, column) = lines.locate(source, e.pos);
        ParseError {
            name: name.to_string(),
            line,
            column,
            message: e.msg,
        }
    };
    let toks = lexer::lex(source).map_err(|e| {
        to_err(PErr {
            pos: e.pos,
            msg: e.msg,
        })
    })?;
    let mut p = Parser {
        src: source,
        toks,
        i: 0,
        funcs,
        dialect,
        vars: vec!["$".to_string()],
        range_depth: 0,
        depth: 0,
        defs: HashMap::new(),
        template_refs: Vec::new(),
    };
    let root = p.top().map_err(to_err)?;
    let Parser {
        mut defs,
        template_refs,
        ..
    } = p;
    // Mirror Go's treeSet rules for a define named like the template itself:
    // an empty main body is replaced by it, two non-empty bodies conflict.
    let root = match defs.get(name) {
        Some(def) if is_empty(&root) => def.clone(),
        Some(def) if !is_empty(def) => {
            return Err(to_err(PErr {
                pos: 0,
                msg: format!("template: multiple definition of template {name:?}"),
            }));
        }
        _ => {
            defs.insert(name.to_string(), root.clone());
            root
        }
    };
    for (tname, pos) in template_refs {
        if !defs.contains_key(&tname) {
            return Err(to_err(PErr {
                pos,
                msg: format!("no such template {tname:?}"),
            }));
        }
    }
    let mut tree = Tree {
        name: name.to_string(),
        mode,
        dialect,
        source: source.to_string(),
        lines,
        root,
        defs,
        funcs: funcs.clone(),
        roots: None,
    };
    tree.roots = crate::roots::of(&tree);
    Ok(tree)
}

/// The method a command calls when its first word is a field chain ending in
/// one of the `http.Header` methods the dialect supports (`.Header.Get`).
pub(crate) fn method_name(dialect: Dialect, arg: &Arg) -> Option<&str> {
    if dialect != Dialect::Oathkeeper {
        return None;
    }
    let names = match arg {
        Arg::Field(names) | Arg::Var(_, names) | Arg::Chain(_, names) => names,
        _ => return None,
    };
    names
        .last()
        .map(String::as_str)
        .filter(|n| funcs::oathkeeper::HEADER_METHODS.contains(n))
}

/// Go's IsEmptyTree: only whitespace text.
fn is_empty(nodes: &[Node]) -> bool {
    nodes
        .iter()
        .all(|n| matches!(n, Node::Text(t) if t.trim().is_empty()))
}

impl<'s> Parser<'s> {
    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.i < self.toks.len() - 1 {
            self.i += 1;
        }
        t
    }

    fn peek(&self) -> &Token {
        // The lexer always ends the list with Eof, so the last token exists.
        let last = self.toks.len().saturating_sub(1);
        &self.toks[self.i.min(last)]
    }

    fn backup(&mut self) {
        self.i = self.i.saturating_sub(1);
    }

    fn skip_spaces(&mut self) {
        while self.peek().tok == Tok::Space {
            self.i += 1;
        }
    }

    fn next_non_space(&mut self) -> Token {
        self.skip_spaces();
        self.next()
    }

    fn peek_non_space(&mut self) -> Token {
        self.skip_spaces();
        self.peek().clone()
    }

    fn expect_rdelim(&mut self, context: &str) -> PResult<()> {
        let t = self.next_non_space();
        if t.tok != Tok::RDelim {
            return perr(
                t.pos,
                format!("unexpected {} in {context}", t.tok.describe()),
            );
        }
        Ok(())
    }

    fn enter(&mut self, pos: usize) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_PARSE_DEPTH {
            return perr(
                pos,
                format!("template nesting exceeds maximum depth ({MAX_PARSE_DEPTH})"),
            );
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn top(&mut self) -> PResult<Vec<Node>> {
        let (root, end) = self.item_list(true)?;
        match end {
            ListEnd::Eof => Ok(root),
            ListEnd::End => perr(
                self.toks[self.i.saturating_sub(1)].pos,
                "unexpected {{end}}",
            ),
            ListEnd::Else(pos) => perr(pos, "unexpected {{else}}"),
        }
    }

    /// Parses text and actions until `{{end}}`, `{{else` or EOF.
    fn item_list(&mut self, top: bool) -> PResult<(Vec<Node>, ListEnd)> {
        let mut nodes = Vec::new();
        loop {
            let t = self.next();
            match t.tok {
                Tok::Text(s) => nodes.push(Node::Text(s)),
                Tok::Eof => return Ok((nodes, ListEnd::Eof)),
                Tok::LDelim => {
                    let kw = self.peek_non_space();
                    match kw.tok {
                        Tok::Kw(Kw::End) => {
                            self.next();
                            if top {
                                return perr(kw.pos, "unexpected {{end}}");
                            }
                            self.expect_rdelim("end")?;
                            return Ok((nodes, ListEnd::End));
                        }
                        Tok::Kw(Kw::Else) => {
                            self.next();
                            if top {
                                return perr(kw.pos, "unexpected {{else}}");
                            }
                            return Ok((nodes, ListEnd::Else(kw.pos)));
                        }
                        Tok::Kw(Kw::Define) => {
                            self.next();
                            if !top {
                                return perr(kw.pos, "{{define}} is only allowed at top level");
                            }
                            self.definition()?;
                        }
                        _ => nodes.push(self.action()?),
                    }
                }
                other => return perr(t.pos, format!("unexpected {}", other.describe())),
            }
        }
    }

    fn action(&mut self) -> PResult<Node> {
        let t = self.next_non_space();
        match t.tok {
            Tok::Kw(Kw::If) => Ok(Node::If(self.control(Kw::If, t.pos)?)),
            Tok::Kw(Kw::With) => Ok(Node::With(self.control(Kw::With, t.pos)?)),
            Tok::Kw(Kw::Range) => Ok(Node::Range(self.control(Kw::Range, t.pos)?)),
            Tok::Kw(Kw::Template) => self.template_call(t.pos),
            Tok::Kw(Kw::Block) => self.block(t.pos),
            Tok::Kw(k @ (Kw::Break | Kw::Continue)) => {
                if self.range_depth == 0 {
                    return perr(
                        t.pos,
                        format!("{{{{{}}}}} outside {{{{range}}}}", k.as_str()),
                    );
                }
                self.expect_rdelim(k.as_str())?;
                Ok(if k == Kw::Break {
                    Node::Break
                } else {
                    Node::Continue
                })
            }
            _ => {
                self.backup();
                Ok(Node::Action(self.pipeline("command", Closer::Delim)?))
            }
        }
    }

    fn control(&mut self, kind: Kw, pos: usize) -> PResult<Branch> {
        self.enter(pos)?;
        let mark = self.vars.len();
        let pipe = self.pipeline(kind.as_str(), Closer::Delim)?;
        if kind == Kw::Range {
            self.range_depth += 1;
        }
        let body = self.item_list(false);
        if kind == Kw::Range {
            self.range_depth -= 1;
        }
        let (list, end) = body?;
        let else_list = match end {
            ListEnd::End => None,
            ListEnd::Eof => {
                return perr(
                    pos,
                    format!(
                        "unexpected EOF: {{{{{}}}}} has no matching {{{{end}}}}",
                        kind.as_str()
                    ),
                );
            }
            ListEnd::Else(epos) => {
                let next = self.peek_non_space();
                match (kind, &next.tok) {
                    // `{{else if}}` / `{{else with}}` are sugar for a nested
                    // control structure that shares the outer `{{end}}`.
                    (Kw::If, Tok::Kw(Kw::If)) | (Kw::With, Tok::Kw(Kw::With)) => {
                        self.next();
                        let nested = self.control(kind, next.pos)?;
                        Some(vec![if kind == Kw::If {
                            Node::If(nested)
                        } else {
                            Node::With(nested)
                        }])
                    }
                    _ => {
                        self.expect_rdelim("else")?;
                        let (l2, e2) = self.item_list(false)?;
                        match e2 {
                            ListEnd::End => Some(l2),
                            ListEnd::Else(p) => return perr(p, "expected {{end}}; found {{else}}"),
                            ListEnd::Eof => {
                                return perr(
                                    epos,
                                    format!(
                                        "unexpected EOF: {{{{else}}}} of {{{{{}}}}} has no matching {{{{end}}}}",
                                        kind.as_str()
                                    ),
                                );
                            }
                        }
                    }
                }
            }
        };
        self.vars.truncate(mark);
        self.leave();
        Ok(Branch {
            pipe,
            list,
            else_list,
        })
    }

    fn template_name(&mut self, context: &str) -> PResult<String> {
        let t = self.next_non_space();
        match t.tok {
            Tok::Str(s) => Ok(s),
            other => perr(
                t.pos,
                format!("unexpected {} in {context} clause", other.describe()),
            ),
        }
    }

    fn template_call(&mut self, pos: usize) -> PResult<Node> {
        let name = self.template_name("template")?;
        let pipe = if self.peek_non_space().tok == Tok::RDelim {
            self.next();
            None
        } else {
            Some(self.pipeline("template", Closer::Delim)?)
        };
        self.template_refs.push((name.clone(), pos));
        Ok(Node::Template { pos, name, pipe })
    }

    /// Parses a define/block body with a fresh variable scope, as Go does.
    fn body(&mut self, pos: usize, context: &str) -> PResult<Vec<Node>> {
        self.enter(pos)?;
        let vars = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
        let range_depth = std::mem::replace(&mut self.range_depth, 0);
        let res = self.item_list(false);
        self.vars = vars;
        self.range_depth = range_depth;
        self.leave();
        match res? {
            (list, ListEnd::End) => Ok(list),
            (_, ListEnd::Else(p)) => perr(p, format!("unexpected {{{{else}}}} in {context}")),
            (_, ListEnd::Eof) => perr(
                pos,
                format!("unexpected EOF: {{{{{context}}}}} has no matching {{{{end}}}}"),
            ),
        }
    }

    fn block(&mut self, pos: usize) -> PResult<Node> {
        let name = self.template_name("block")?;
        let pipe = self.pipeline("block", Closer::Delim)?;
        let list = self.body(pos, "block")?;
        self.add_def(name.clone(), list, pos)?;
        self.template_refs.push((name.clone(), pos));
        Ok(Node::Template {
            pos,
            name,
            pipe: Some(pipe),
        })
    }

    fn definition(&mut self) -> PResult<()> {
        let pos = self.toks[self.i.saturating_sub(1)].pos;
        let name = self.template_name("define")?;
        self.expect_rdelim("define clause")?;
        let list = self.body(pos, "define")?;
        self.add_def(name, list, pos)
    }

    fn add_def(&mut self, name: String, list: Vec<Node>, pos: usize) -> PResult<()> {
        match self.defs.get(&name) {
            Some(old) if !is_empty(old) && !is_empty(&list) => perr(
                pos,
                format!("template: multiple definition of template {name:?}"),
            ),
            Some(old) if !is_empty(old) => Ok(()),
            _ => {
                self.defs.insert(name, list);
                Ok(())
            }
        }
    }

    fn pipeline(&mut self, context: &str, closer: Closer) -> PResult<Pipeline> {
        let pos = self.peek_non_space().pos;
        let mut decl = Vec::new();
        let mut is_assign = false;
        let save = self.i;
        if let Tok::Var(v) = self.peek_non_space().tok {
            self.next();
            let t = self.next_non_space();
            match t.tok {
                Tok::Declare | Tok::Assign => {
                    is_assign = t.tok == Tok::Assign;
                    decl.push(v);
                }
                Tok::Comma if context == "range" => {
                    decl.push(v);
                    let t2 = self.next_non_space();
                    let Tok::Var(v2) = t2.tok else {
                        return perr(t2.pos, "range can only initialize variables");
                    };
                    let t3 = self.next_non_space();
                    match t3.tok {
                        Tok::Declare | Tok::Assign => is_assign = t3.tok == Tok::Assign,
                        Tok::Comma => return perr(t3.pos, "too many declarations in range"),
                        other => {
                            return perr(
                                t3.pos,
                                format!("expected := or = in range; found {}", other.describe()),
                            );
                        }
                    }
                    decl.push(v2);
                }
                Tok::Comma => return perr(t.pos, format!("too many declarations in {context}")),
                _ => self.i = save,
            }
        }
        for v in &decl {
            if is_assign {
                if !self.vars.contains(v) {
                    return perr(pos, format!("undefined variable {v:?}"));
                }
            } else {
                self.vars.push(v.clone());
            }
        }
        let mut cmds: Vec<Command> = Vec::new();
        let mut after_pipe = false;
        loop {
            let t = self.next_non_space();
            let closes = match (&t.tok, closer) {
                (Tok::RDelim, Closer::Delim) | (Tok::RParen, Closer::Paren) => true,
                (Tok::RDelim | Tok::RParen, _) => {
                    return perr(
                        t.pos,
                        format!("unexpected {} in {context}", t.tok.describe()),
                    );
                }
                _ => false,
            };
            if closes {
                if cmds.is_empty() {
                    return perr(t.pos, format!("missing value for {context}"));
                }
                if after_pipe {
                    return perr(t.pos, "missing command after \"|\"");
                }
                return Ok(Pipeline {
                    pos,
                    decl,
                    is_assign,
                    cmds,
                });
            }
            if !cmds.is_empty() && !after_pipe {
                return perr(
                    t.pos,
                    format!("unexpected {} in {context}", t.tok.describe()),
                );
            }
            self.backup();
            let (cmd, piped) = self.command(cmds.len())?;
            cmds.push(cmd);
            after_pipe = piped;
        }
    }

    /// Parses one command; returns it and whether it ended with `|`.
    fn command(&mut self, stage: usize) -> PResult<(Command, bool)> {
        let pos = self.peek_non_space().pos;
        let mut args = Vec::new();
        let mut end = pos;
        let piped;
        loop {
            self.skip_spaces();
            if let Some(op) = self.operand()? {
                args.push(op);
                end = self.peek().pos;
            }
            let t = self.next();
            match t.tok {
                Tok::Space => continue,
                Tok::RDelim | Tok::RParen => {
                    self.backup();
                    piped = false;
                }
                Tok::Pipe => piped = true,
                other => {
                    return perr(t.pos, format!("unexpected {} in operand", other.describe()));
                }
            }
            break;
        }
        let Some(first) = args.first() else {
            return perr(pos, "empty command");
        };
        let text = self
            .src
            .get(pos..end)
            .unwrap_or_default()
            .trim_end()
            .to_string();
        match first {
            Arg::Func(name) => {
                let n = args.len() - 1 + usize::from(stage > 0);
                self.check_arity(name, n, pos)?;
            }
            Arg::Dot | Arg::Lit(_) if stage > 0 => {
                return perr(
                    pos,
                    format!("non executable command in pipeline stage {}", stage + 1),
                );
            }
            a if (args.len() > 1 || stage > 0) && method_name(self.dialect, a).is_some() => {
                // http.Header methods take exactly one argument.
                let n = args.len() - 1 + usize::from(stage > 0);
                if n != 1 {
                    let method = method_name(self.dialect, a).unwrap_or_default();
                    return perr(
                        pos,
                        format!("wrong number of args for {method}: want 1 got {n}"),
                    );
                }
            }
            _ if args.len() > 1 || stage > 0 => {
                return perr(pos, format!("can't give argument to non-function {text}"));
            }
            _ => {}
        }
        for a in &args[1..] {
            if let Arg::Func(name) = a {
                self.check_arity(name, 0, pos)?;
            }
        }
        Ok((Command { pos, end, args }, piped))
    }

    fn check_arity(&self, name: &str, n: usize, pos: usize) -> PResult<()> {
        if self.funcs.contains(name) {
            return Ok(()); // user functions validate their own arguments
        }
        if let Some(msg) = funcs::lookup(name, self.dialect).and_then(|d| d.arity_error(n)) {
            return perr(pos, msg);
        }
        Ok(())
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let start = self.peek().pos;
        let Some(term) = self.term()? else {
            return Ok(None);
        };
        let mut fields = Vec::new();
        while let Tok::Field(f) = &self.peek().tok {
            fields.push(f.clone());
            self.i += 1;
        }
        if fields.is_empty() {
            return Ok(Some(term));
        }
        Ok(Some(match term {
            Arg::Field(mut v) => {
                v.extend(fields);
                Arg::Field(v)
            }
            Arg::Var(name, mut v) => {
                v.extend(fields);
                Arg::Var(name, v)
            }
            Arg::Dot | Arg::Lit(_) => return perr(start, "unexpected . after term"),
            Arg::Func(name) => {
                self.check_arity(&name, 0, start)?;
                Arg::Chain(Box::new(Arg::Func(name)), fields)
            }
            other => Arg::Chain(Box::new(other), fields),
        }))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let t = self.next();
        Ok(Some(match t.tok {
            Tok::Ident(name) => {
                if !self.funcs.contains(&name) && funcs::lookup(&name, self.dialect).is_none() {
                    return perr(t.pos, format!("function {name:?} not defined"));
                }
                Arg::Func(name)
            }
            Tok::Dot => Arg::Dot,
            Tok::Nil => Arg::Lit(Value::Null),
            Tok::Var(v) => {
                if !self.vars.contains(&v) {
                    return perr(t.pos, format!("undefined variable {v:?}"));
                }
                Arg::Var(v, Vec::new())
            }
            Tok::Field(f) => Arg::Field(vec![f]),
            Tok::Bool(b) => Arg::Lit(Value::Bool(b)),
            Tok::Number(s) => match parse_number(&s) {
                Some(v) => Arg::Lit(v),
                None => return perr(t.pos, format!("bad number syntax: {s:?}")),
            },
            Tok::Char(c) => Arg::Lit(Value::from(u32::from(c))),
            Tok::Str(s) => Arg::Lit(Value::String(s)),
            Tok::LParen => {
                self.enter(t.pos)?;
                let p = self.pipeline("parenthesized pipeline", Closer::Paren)?;
                self.leave();
                Arg::Pipe(Box::new(p))
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}

/// Parses a Go number literal: ints (decimal, 0x, 0o, 0b, legacy octal,
/// underscores) become JSON integers, anything with `.`/exponent a float.
pub(crate) fn parse_number(text: &str) -> Option<Value> {
    let s = text.replace('_', "");
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s.as_str()),
    };
    if body.is_empty() {
        return None;
    }
    let lower = body.to_ascii_lowercase();
    let radix_int = if let Some(h) = lower.strip_prefix("0x") {
        Some(u64::from_str_radix(h, 16).ok()?)
    } else if let Some(o) = lower.strip_prefix("0o") {
        Some(u64::from_str_radix(o, 8).ok()?)
    } else if let Some(b) = lower.strip_prefix("0b") {
        Some(u64::from_str_radix(b, 2).ok()?)
    } else if body.len() > 1 && body.starts_with('0') && body.bytes().all(|b| b.is_ascii_digit()) {
        Some(u64::from_str_radix(&body[1..], 8).ok()?)
    } else if body.bytes().all(|b| b.is_ascii_digit()) {
        Some(body.parse::<u64>().ok()?)
    } else {
        None
    };
    if let Some(u) = radix_int {
        return if neg {
            if u <= i64::MAX as u64 {
                Some(Value::from(-(u as i64)))
            } else if u == i64::MAX as u64 + 1 {
                Some(Value::from(i64::MIN))
            } else {
                None
            }
        } else if let Ok(i) = i64::try_from(u) {
            Some(Value::from(i))
        } else {
            Some(Value::from(u))
        };
    }
    // Floats: only digits, one optional dot and an exponent; this rejects
    // Rust-only spellings such as "inf" or "NaN".
    if !body
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        || !body.bytes().any(|b| b.is_ascii_digit())
    {
        return None;
    }
    let f: f64 = body.parse().ok()?;
    let f = if neg { -f } else { f };
    serde_json::Number::from_f64(f).map(Value::Number)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn p(src: &str) -> Result<Tree, ParseError> {
        parse("t", src, Mode::Text, Dialect::Standard, &Funcs::new())
    }

    fn perr_of(src: &str) -> ParseError {
        match p(src) {
            Ok(_) => panic!("expected parse error for {src:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_number("42"), Some(Value::from(42)));
        assert_eq!(parse_number("-7"), Some(Value::from(-7)));
        assert_eq!(parse_number("0x1F"), Some(Value::from(31)));
        assert_eq!(parse_number("0o17"), Some(Value::from(15)));
        assert_eq!(parse_number("017"), Some(Value::from(15)));
        assert_eq!(parse_number("0b101"), Some(Value::from(5)));
        assert_eq!(parse_number("1_000"), Some(Value::from(1000)));
        assert_eq!(parse_number("1.5"), Some(Value::from(1.5)));
        assert_eq!(parse_number(".5"), Some(Value::from(0.5)));
        assert_eq!(parse_number("1e3"), Some(Value::from(1000.0)));
        assert_eq!(
            parse_number("-9223372036854775808"),
            Some(Value::from(i64::MIN))
        );
        assert_eq!(
            parse_number("18446744073709551615"),
            Some(Value::from(u64::MAX))
        );
        assert_eq!(parse_number("inf"), None);
        assert_eq!(parse_number("1x"), None);
        assert_eq!(parse_number("-"), None);
        assert_eq!(parse_number("09"), None);
        assert_eq!(parse_number("1e999"), None);
    }

    #[test]
    fn parses_control_structures() {
        let t = p("{{if .a}}x{{else if .b}}y{{else}}z{{end}}").unwrap();
        assert_eq!(t.root.len(), 1);
        let Node::If(b) = &t.root[0] else { panic!() };
        let else_list = b.else_list.as_ref().unwrap();
        assert!(matches!(else_list[0], Node::If(_)));
        p("{{range $i, $e := .}}{{$i}}{{$e}}{{break}}{{continue}}{{else}}none{{end}}").unwrap();
        p("{{with $x := .a}}{{$x}}{{else with .b}}{{.}}{{else}}n{{end}}").unwrap();
        p("{{define \"a\"}}A{{end}}{{template \"a\" .}}{{block \"b\" .}}B{{end}}").unwrap();
    }

    #[test]
    fn positions_in_errors() {
        let e = perr_of("line1\n  {{ nope 1 }}");
        assert_eq!((e.line, e.column), (2, 6));
        assert_eq!(e.message, "function \"nope\" not defined");
        assert_eq!(
            e.to_string(),
            "template: t:2:6: function \"nope\" not defined"
        );
    }

    #[test]
    fn structural_errors() {
        assert_eq!(perr_of("{{ .a ").message, "unclosed action");
        assert_eq!(perr_of("a{{end}}").message, "unexpected {{end}}");
        assert_eq!(perr_of("a{{else}}").message, "unexpected {{else}}");
        assert!(
            perr_of("{{if .a}}x")
                .message
                .contains("no matching {{end}}")
        );
        assert!(
            perr_of("{{if .a}}x{{else}}y{{else}}z{{end}}")
                .message
                .contains("expected {{end}}")
        );
        assert!(
            perr_of("{{range .a}}{{else if .b}}{{end}}{{end}}")
                .message
                .contains("in else")
        );
        assert!(perr_of("{{break}}").message.contains("outside {{range}}"));
        assert!(
            perr_of("{{range .}}{{else}}{{break}}{{end}}")
                .message
                .contains("outside")
        );
        assert!(
            perr_of("{{define \"x\"}}{{define \"y\"}}{{end}}{{end}}")
                .message
                .contains("top level")
        );
        assert_eq!(perr_of("{{ $x }}").message, "undefined variable \"$x\"");
        assert_eq!(perr_of("{{ $x = 1 }}").message, "undefined variable \"$x\"");
        assert_eq!(perr_of("{{}}").message, "missing value for command");
        assert_eq!(perr_of("{{if}}{{end}}").message, "missing value for if");
        assert!(perr_of("{{ .a | }}").message.contains("missing command"));
        assert!(
            perr_of("{{ .a | 1 }}")
                .message
                .contains("non executable command in pipeline stage 2")
        );
        assert!(
            perr_of("{{ .a 1 }}")
                .message
                .contains("can't give argument to non-function .a")
        );
        assert!(
            perr_of("{{ 1 | .a }}")
                .message
                .contains("can't give argument")
        );
        assert!(
            perr_of("{{ template \"nope\" }}")
                .message
                .contains("no such template \"nope\"")
        );
        assert!(perr_of("{{ 1x }}").message.contains("bad number syntax"));
        assert!(
            perr_of("{{ .a.b( }}")
                .message
                .contains("unclosed left paren")
        );
        assert!(perr_of("{{ 1.a }}").message.contains("bad number"));
        assert!(
            perr_of("{{ \"s\".a }}")
                .message
                .contains("unexpected . after term")
        );
        assert!(
            perr_of("{{define \"a\"}}x{{end}}{{define \"a\"}}y{{end}}")
                .message
                .contains("multiple definition")
        );
    }

    #[test]
    fn arity_checked_at_parse_time() {
        assert!(
            perr_of("{{ not 1 2 }}")
                .message
                .contains("wrong number of args for not: want 1 got 2")
        );
        assert!(perr_of("{{ 1 | not 2 }}").message.contains("want 1 got 2"));
        assert!(
            perr_of("{{ printf }}")
                .message
                .contains("want at least 1 got 0")
        );
        assert!(
            perr_of("{{ print upper }}")
                .message
                .contains("wrong number of args for upper")
        );
        p("{{ .a | printf \"%s\" }}").unwrap();
        p("{{ print }}").unwrap();
    }

    #[test]
    fn variables_scope_ends_with_control() {
        assert!(
            perr_of("{{if 1}}{{$x := 1}}{{end}}{{$x}}")
                .message
                .contains("undefined variable")
        );
        p("{{$x := 1}}{{if 1}}{{$x = 2}}{{end}}{{$x}}").unwrap();
        assert!(
            perr_of("{{$x := 1}}{{define \"d\"}}{{$x}}{{end}}")
                .message
                .contains("undefined variable")
        );
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = "(".repeat(200) + "1" + &")".repeat(200);
        assert!(
            perr_of(&format!("{{{{ {deep} }}}}"))
                .message
                .contains("maximum depth")
        );
        let ifs = "{{if 1}}".repeat(200) + &"{{end}}".repeat(200);
        assert!(perr_of(&ifs).message.contains("maximum depth"));
    }

    #[test]
    fn define_replaces_empty_main() {
        let t = p("  {{define \"t\"}}body{{end}}\n").unwrap();
        assert!(matches!(&t.root[0], Node::Text(s) if s == "body"));
    }
}
