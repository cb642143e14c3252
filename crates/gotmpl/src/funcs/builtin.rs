//! Go's `text/template` builtin functions.

use std::cmp::Ordering;
use std::fmt::Write as _;

use serde_json::Value;

use super::Def;
use crate::format;
use crate::value::{Num, arg_str, num, truthy, type_name};

pub(crate) static TABLE: &[Def] = &[
    // and/or are short-circuited by the executor; these eager versions
    // only exist to give the parser an arity.
    Def::at_least("and", 1, and),
    Def::at_least("or", 1, or),
    Def::fixed("not", 1, not),
    Def::fixed("len", 1, len),
    Def::at_least("index", 1, index),
    Def::between("slice", 1, 4, slice),
    Def::at_least("print", 0, print),
    Def::at_least("printf", 1, printf),
    Def::at_least("println", 0, println),
    Def::at_least("eq", 1, eq),
    Def::fixed("ne", 2, ne),
    Def::fixed("lt", 2, lt),
    Def::fixed("le", 2, le),
    Def::fixed("gt", 2, gt),
    Def::fixed("ge", 2, ge),
    Def::at_least("html", 0, html),
    Def::at_least("js", 0, js),
    Def::at_least("urlquery", 0, urlquery),
];

fn first<'a>(args: &[&'a Value]) -> &'a Value {
    args.first().copied().unwrap_or(&Value::Null)
}

fn and(args: &[&Value]) -> Result<Value, String> {
    for a in args {
        if !truthy(a) {
            return Ok((*a).clone());
        }
    }
    Ok(args.last().map_or(Value::Null, |v| (*v).clone()))
}

fn or(args: &[&Value]) -> Result<Value, String> {
    for a in args {
        if truthy(a) {
            return Ok((*a).clone());
        }
    }
    Ok(args.last().map_or(Value::Null, |v| (*v).clone()))
}

fn not(args: &[&Value]) -> Result<Value, String> {
    Ok(Value::Bool(!truthy(first(args))))
}

fn len(args: &[&Value]) -> Result<Value, String> {
    match first(args) {
        Value::String(s) => Ok(Value::from(s.len())),
        Value::Array(a) => Ok(Value::from(a.len())),
        Value::Object(o) => Ok(Value::from(o.len())),
        Value::Null => Err("len of untyped nil".into()),
        other => Err(format!("len of type {}", type_name(other))),
    }
}

/// An index argument: integers (and integral floats, see `arg_int`).
fn index_arg(v: &Value, len: usize) -> Result<usize, String> {
    let i = match num(v) {
        Some(Num::I(i)) => i,
        Some(Num::U(u)) => i64::try_from(u).unwrap_or(i64::MAX),
        Some(Num::F(f)) if f.fract() == 0.0 => f as i64,
        _ if v.is_null() => return Err("cannot index slice/array with nil".into()),
        _ => {
            return Err(format!(
                "cannot index slice/array with type {}",
                type_name(v)
            ));
        }
    };
    match usize::try_from(i) {
        Ok(u) if u < len => Ok(u),
        _ => Err(format!("index out of range: {i}")),
    }
}

fn index(args: &[&Value]) -> Result<Value, String> {
    let mut cur = first(args);
    let idxs = args.get(1..).unwrap_or_default();
    for (n, idx) in idxs.iter().enumerate() {
        cur = match cur {
            Value::Array(a) => &a[index_arg(idx, a.len())?],
            Value::Object(o) => match idx {
                Value::String(k) => o.get(k).unwrap_or(&Value::Null),
                other => {
                    return Err(format!(
                        "value has type {}; should be string",
                        type_name(other)
                    ));
                }
            },
            Value::String(s) => {
                let b = s.as_bytes()[index_arg(idx, s.len())?];
                if n + 1 < idxs.len() {
                    return Err("can't index item of type uint8".into());
                }
                return Ok(Value::from(b));
            }
            Value::Null => return Err("index of untyped nil".into()),
            other => return Err(format!("can't index item of type {}", type_name(other))),
        };
    }
    Ok(cur.clone())
}

/// A slice bound: 0 ≤ i ≤ cap.
fn slice_bound(v: &Value, cap: usize) -> Result<usize, String> {
    if matches!(num(v), Some(Num::I(i)) if i == cap as i64) {
        return Ok(cap);
    }
    index_arg(v, cap + 1)
}

fn slice(args: &[&Value]) -> Result<Value, String> {
    let item = first(args);
    let idxs = args.get(1..).unwrap_or_default();
    let len = match item {
        Value::String(s) => {
            if idxs.len() == 3 {
                return Err("cannot 3-index slice a string".into());
            }
            s.len()
        }
        Value::Array(a) => a.len(),
        Value::Null => return Err("slice of untyped nil".into()),
        other => return Err(format!("can't slice item of type {}", type_name(other))),
    };
    let mut bounds = [0, len, len];
    for (k, idx) in idxs.iter().enumerate() {
        bounds[k] = slice_bound(idx, len)?;
    }
    let [i, j, k] = bounds;
    if i > j {
        return Err(format!("invalid slice index: {i} > {j}"));
    }
    if j > k {
        return Err(format!("invalid slice index: {j} > {k}"));
    }
    Ok(match item {
        Value::String(s) => {
            Value::String(String::from_utf8_lossy(&s.as_bytes()[i..j]).into_owned())
        }
        Value::Array(a) => Value::Array(a[i..j].to_vec()),
        _ => Value::Null,
    })
}

fn print(args: &[&Value]) -> Result<Value, String> {
    format::sprint(args).map(Value::String)
}

fn printf(args: &[&Value]) -> Result<Value, String> {
    let fmt = arg_str(first(args))?;
    format::sprintf(fmt, args.get(1..).unwrap_or_default()).map(Value::String)
}

fn println(args: &[&Value]) -> Result<Value, String> {
    format::sprintln(args).map(Value::String)
}

fn is_int(n: Num) -> Option<i128> {
    match n {
        Num::I(i) => Some(i128::from(i)),
        Num::U(u) => Some(i128::from(u)),
        Num::F(_) => None,
    }
}

fn num_cmp(a: Num, b: Num) -> Ordering {
    match (is_int(a), is_int(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => a
            .as_f64()
            .partial_cmp(&b.as_f64())
            .unwrap_or(Ordering::Equal),
    }
}

const BAD_CMP: &str = "incompatible types for comparison";

/// Go's `eq` on two values. Integers and floats compare numerically, which
/// is more lenient than Go (Go refuses int vs float64) but matches what a
/// template author expects when data has JSON numbers.
fn basic_eq(a: &Value, b: &Value) -> Result<bool, String> {
    match (a, b) {
        (Value::Null, Value::Null) => Ok(true),
        (Value::Null, _) | (_, Value::Null) => Ok(false),
        (Value::Bool(x), Value::Bool(y)) => Ok(x == y),
        (Value::String(x), Value::String(y)) => Ok(x == y),
        (Value::Number(_), Value::Number(_)) => match (num(a), num(b)) {
            (Some(x), Some(y)) => Ok(num_cmp(x, y) == Ordering::Equal),
            _ => Ok(false),
        },
        (Value::Array(_) | Value::Object(_), _) | (_, Value::Array(_) | Value::Object(_)) => {
            Err(format!(
                "non-comparable type {}",
                if a.is_array() || a.is_object() {
                    type_name(a)
                } else {
                    type_name(b)
                }
            ))
        }
        _ => Err(BAD_CMP.into()),
    }
}

fn eq(args: &[&Value]) -> Result<Value, String> {
    let a = first(args);
    let rest = args.get(1..).unwrap_or_default();
    if rest.is_empty() {
        return Err("missing argument for comparison".into());
    }
    for b in rest {
        if basic_eq(a, b)? {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

fn ne(args: &[&Value]) -> Result<Value, String> {
    let (a, b) = two(args);
    Ok(Value::Bool(!basic_eq(a, b)?))
}

fn two<'a>(args: &[&'a Value]) -> (&'a Value, &'a Value) {
    (first(args), args.get(1).copied().unwrap_or(&Value::Null))
}

fn order(args: &[&Value]) -> Result<Ordering, String> {
    let (a, b) = two(args);
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => match (num(a), num(b)) {
            (Some(x), Some(y)) => Ok(num_cmp(x, y)),
            _ => Err(BAD_CMP.into()),
        },
        (Value::String(x), Value::String(y)) => Ok(x.as_bytes().cmp(y.as_bytes())),
        (Value::Null, _) | (_, Value::Null) => Err("invalid type for comparison".into()),
        _ if std::mem::discriminant(a) == std::mem::discriminant(b) => {
            Err("invalid type for comparison".into())
        }
        _ => Err(BAD_CMP.into()),
    }
}

fn lt(args: &[&Value]) -> Result<Value, String> {
    Ok(Value::Bool(order(args)? == Ordering::Less))
}

fn le(args: &[&Value]) -> Result<Value, String> {
    Ok(Value::Bool(order(args)? != Ordering::Greater))
}

fn gt(args: &[&Value]) -> Result<Value, String> {
    Ok(Value::Bool(order(args)? == Ordering::Greater))
}

fn ge(args: &[&Value]) -> Result<Value, String> {
    Ok(Value::Bool(order(args)? != Ordering::Less))
}

/// Go's `evalArgs` for html/js/urlquery: a lone string as-is, otherwise
/// `fmt.Sprint` with missing values shown as `<no value>`.
fn eval_args(args: &[&Value]) -> Result<String, String> {
    if let [Value::String(s)] = args {
        return Ok(s.clone());
    }
    let no_value = Value::String("<no value>".into());
    let mapped: Vec<&Value> = args
        .iter()
        .map(|a| if a.is_null() { &no_value } else { *a })
        .collect();
    format::sprint(&mapped)
}

fn html(args: &[&Value]) -> Result<Value, String> {
    Ok(Value::String(crate::value::html_escape(&eval_args(args)?)))
}

/// Go's `template.JSEscapeString`.
pub(crate) fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 || c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

fn js(args: &[&Value]) -> Result<Value, String> {
    Ok(Value::String(js_escape(&eval_args(args)?)))
}

/// Go's `url.QueryEscape`.
pub(crate) fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            b => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

fn urlquery(args: &[&Value]) -> Result<Value, String> {
    Ok(Value::String(query_escape(&eval_args(args)?)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use serde_json::json;

    fn call(name: &str, args: &[Value]) -> Result<Value, String> {
        let refs: Vec<&Value> = args.iter().collect();
        (super::super::lookup(name, crate::Dialect::Standard)
            .unwrap()
            .f)(&refs)
    }

    #[test]
    fn logic() {
        assert_eq!(
            call("and", &[json!(1), json!(0), json!(2)]).unwrap(),
            json!(0)
        );
        assert_eq!(call("and", &[json!(1), json!(2)]).unwrap(), json!(2));
        assert_eq!(call("or", &[json!(""), json!("x")]).unwrap(), json!("x"));
        assert_eq!(call("or", &[json!(""), json!(0)]).unwrap(), json!(0));
        assert_eq!(call("not", &[json!([])]).unwrap(), json!(true));
    }

    #[test]
    fn len_and_index() {
        assert_eq!(call("len", &[json!("héllo")]).unwrap(), json!(6));
        assert_eq!(call("len", &[json!({"a": 1})]).unwrap(), json!(1));
        assert!(
            call("len", &[json!(3)])
                .unwrap_err()
                .contains("len of type int")
        );
        let data = json!({"a": [[1, 2], {"k": "v"}]});
        assert_eq!(
            call("index", &[data.clone(), json!("a"), json!(0), json!(1)]).unwrap(),
            json!(2)
        );
        assert_eq!(
            call("index", &[data.clone(), json!("a"), json!(1), json!("k")]).unwrap(),
            json!("v")
        );
        assert_eq!(
            call("index", &[data.clone(), json!("zz")]).unwrap(),
            json!(null)
        );
        assert_eq!(
            call("index", &[data.clone(), json!("a"), json!(5)]).unwrap_err(),
            "index out of range: 5"
        );
        assert_eq!(
            call("index", &[json!([1]), json!(-1)]).unwrap_err(),
            "index out of range: -1"
        );
        assert_eq!(call("index", &[json!("abc"), json!(1)]).unwrap(), json!(98));
        assert!(
            call("index", &[json!(null), json!(1)])
                .unwrap_err()
                .contains("nil")
        );
        assert!(
            call("index", &[json!({}), json!(1)])
                .unwrap_err()
                .contains("should be string")
        );
        assert_eq!(call("index", &[json!([1])]).unwrap(), json!([1]));
    }

    #[test]
    fn slicing() {
        assert_eq!(
            call("slice", &[json!("abcdef"), json!(1), json!(3)]).unwrap(),
            json!("bc")
        );
        assert_eq!(
            call("slice", &[json!("abc"), json!(1)]).unwrap(),
            json!("bc")
        );
        assert_eq!(
            call("slice", &[json!([1, 2, 3]), json!(0), json!(3)]).unwrap(),
            json!([1, 2, 3])
        );
        assert_eq!(
            call("slice", &[json!([1, 2, 3]), json!(1), json!(2), json!(3)]).unwrap(),
            json!([2])
        );
        assert!(
            call("slice", &[json!([1, 2, 3]), json!(2), json!(1)])
                .unwrap_err()
                .contains("invalid slice index")
        );
        assert!(
            call("slice", &[json!("abc"), json!(5)])
                .unwrap_err()
                .contains("out of range")
        );
        assert!(
            call("slice", &[json!("abc"), json!(0), json!(1), json!(2)])
                .unwrap_err()
                .contains("3-index")
        );
    }

    #[test]
    fn comparisons() {
        assert_eq!(
            call("eq", &[json!(1), json!(2), json!(1.0)]).unwrap(),
            json!(true)
        );
        assert_eq!(call("eq", &[json!("a"), json!("b")]).unwrap(), json!(false));
        assert_eq!(
            call("eq", &[json!(null), json!("b")]).unwrap(),
            json!(false)
        );
        assert!(
            call("eq", &[json!("a"), json!(1)])
                .unwrap_err()
                .contains("incompatible")
        );
        assert!(
            call("eq", &[json!([1]), json!([1])])
                .unwrap_err()
                .contains("non-comparable")
        );
        assert!(
            call("eq", &[json!(1)])
                .unwrap_err()
                .contains("missing argument")
        );
        assert_eq!(call("ne", &[json!(1), json!(2)]).unwrap(), json!(true));
        assert_eq!(call("lt", &[json!(1), json!(2.5)]).unwrap(), json!(true));
        assert_eq!(call("le", &[json!("a"), json!("a")]).unwrap(), json!(true));
        assert_eq!(call("gt", &[json!("b"), json!("a")]).unwrap(), json!(true));
        assert_eq!(call("ge", &[json!(1), json!(2)]).unwrap(), json!(false));
        assert!(
            call("lt", &[json!(true), json!(false)])
                .unwrap_err()
                .contains("invalid type")
        );
        assert!(
            call("lt", &[json!(1), json!("a")])
                .unwrap_err()
                .contains("incompatible")
        );
        assert_eq!(
            call(
                "lt",
                &[json!(9007199254740993i64), json!(9007199254740992i64)]
            )
            .unwrap(),
            json!(false)
        );
    }

    #[test]
    fn escapers() {
        assert_eq!(
            call("html", &[json!("<a href='x'>&</a>")]).unwrap(),
            json!("&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;")
        );
        assert_eq!(
            call("html", &[json!(null)]).unwrap(),
            json!("&lt;no value&gt;")
        );
        assert_eq!(
            call("js", &[json!("it's \"x\" <b>=\n")]).unwrap(),
            json!("it\\'s \\\"x\\\" \\u003Cb\\u003E\\u003D\\u000A")
        );
        assert_eq!(
            call("urlquery", &[json!("a b&c=d/é")]).unwrap(),
            json!("a+b%26c%3Dd%2F%C3%A9")
        );
        assert_eq!(
            call("urlquery", &[json!(1), json!(2)]).unwrap(),
            json!("1+2")
        );
    }

    #[test]
    fn printing() {
        assert_eq!(
            call("print", &[json!("a"), json!(1), json!(2)]).unwrap(),
            json!("a1 2")
        );
        assert_eq!(
            call("println", &[json!("a"), json!(1)]).unwrap(),
            json!("a 1\n")
        );
        assert_eq!(
            call("printf", &[json!("%s=%d"), json!("k"), json!(3)]).unwrap(),
            json!("k=3")
        );
        assert!(
            call("printf", &[json!(1)])
                .unwrap_err()
                .contains("expected string")
        );
    }
}
