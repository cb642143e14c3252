//! The sprig functions Ory users rely on. Argument order follows sprig
//! (the subject string comes last so it can be piped in).

use base64::Engine as _;
use serde_json::{Map, Value};

use super::Def;
use crate::limits::MAX_VALUE_BYTES;
use crate::value::{
    arg_int, arg_str, float_value, strval, to_float64, to_int64, too_large, truthy, type_name,
};
use crate::{format, json};

pub(crate) static TABLE: &[Def] = &[
    Def::at_least("default", 1, default),
    Def::fixed("empty", 1, empty),
    Def::at_least("coalesce", 0, coalesce),
    Def::fixed("ternary", 3, ternary),
    Def::at_least("quote", 0, quote),
    Def::at_least("squote", 0, squote),
    Def::fixed("upper", 1, upper),
    Def::fixed("lower", 1, lower),
    Def::fixed("title", 1, title),
    Def::fixed("trim", 1, trim),
    Def::fixed("trimPrefix", 2, trim_prefix),
    Def::fixed("trimSuffix", 2, trim_suffix),
    Def::fixed("replace", 3, replace),
    Def::fixed("contains", 2, contains),
    Def::fixed("hasPrefix", 2, has_prefix),
    Def::fixed("hasSuffix", 2, has_suffix),
    Def::fixed("split", 2, split),
    Def::fixed("splitList", 2, split_list),
    Def::fixed("join", 2, join),
    Def::at_least("list", 0, list),
    Def::at_least("dict", 0, dict),
    Def::fixed("get", 2, get),
    Def::fixed("hasKey", 2, has_key),
    Def::at_least("keys", 0, keys),
    Def::fixed("toJson", 1, to_json),
    Def::fixed("toPrettyJson", 1, to_pretty_json),
    Def::fixed("fromJson", 1, from_json),
    Def::fixed("b64enc", 1, b64enc),
    Def::fixed("b64dec", 1, b64dec),
    Def::at_least("cat", 0, cat),
    Def::fixed("indent", 2, indent),
    Def::fixed("nindent", 2, nindent),
    Def::fixed("repeat", 2, repeat),
    Def::fixed("substr", 3, substr),
    Def::fixed("trunc", 2, trunc),
    Def::at_least("add", 0, add),
    Def::fixed("sub", 2, sub),
    Def::at_least("mul", 1, mul),
    Def::fixed("div", 2, div),
    Def::fixed("mod", 2, modulo),
    Def::at_least("max", 1, max),
    Def::at_least("min", 1, min),
    Def::fixed("toString", 1, to_string),
    Def::fixed("atoi", 1, atoi),
    Def::fixed("int", 1, int),
    Def::fixed("int64", 1, int),
    Def::fixed("float64", 1, float64),
    Def::fixed("first", 1, first),
    Def::fixed("last", 1, last),
    Def::fixed("uniq", 1, uniq),
    Def::fixed("has", 2, has),
    Def::fixed("sortAlpha", 1, sort_alpha),
];

fn arg<'a>(args: &[&'a Value], i: usize) -> &'a Value {
    args.get(i).copied().unwrap_or(&Value::Null)
}

fn s(args: &[&Value], i: usize) -> Result<String, String> {
    arg_str(arg(args, i)).map(str::to_string)
}

fn string(v: impl Into<String>) -> Result<Value, String> {
    Ok(Value::String(v.into()))
}

/// Refuses to build strings past the value size limit (for amplifying
/// functions such as repeat/indent/replace, checked before allocating).
fn ensure_size(n: usize) -> Result<(), String> {
    if n > MAX_VALUE_BYTES {
        Err(too_large())
    } else {
        Ok(())
    }
}

fn default(args: &[&Value]) -> Result<Value, String> {
    let given = arg(args, 1);
    if args.len() < 2 || !truthy(given) {
        Ok(arg(args, 0).clone())
    } else {
        Ok(given.clone())
    }
}

fn empty(args: &[&Value]) -> Result<Value, String> {
    Ok(Value::Bool(!truthy(arg(args, 0))))
}

fn coalesce(args: &[&Value]) -> Result<Value, String> {
    Ok(args
        .iter()
        .find(|v| truthy(v))
        .map_or(Value::Null, |v| (*v).clone()))
}

fn ternary(args: &[&Value]) -> Result<Value, String> {
    match arg(args, 2) {
        Value::Bool(true) => Ok(arg(args, 0).clone()),
        Value::Bool(false) => Ok(arg(args, 1).clone()),
        Value::Null => Err("invalid value; expected bool".into()),
        other => Err(format!(
            "wrong type for value; expected bool; got {}",
            type_name(other)
        )),
    }
}

fn quote(args: &[&Value]) -> Result<Value, String> {
    let mut parts = Vec::new();
    for a in args.iter().filter(|a| !a.is_null()) {
        parts.push(format::go_quote(&strval(a)?));
    }
    string(parts.join(" "))
}

fn squote(args: &[&Value]) -> Result<Value, String> {
    let mut parts = Vec::new();
    for a in args.iter().filter(|a| !a.is_null()) {
        parts.push(format!("'{}'", strval(a)?));
    }
    string(parts.join(" "))
}

/// Go maps case rune by rune; multi-char mappings (ß → SS) are left alone.
fn map_case(s: &str, upper: bool) -> String {
    s.chars()
        .map(|c| {
            let mut buf = [c; 3];
            let mut n = 0;
            if upper {
                for u in c.to_uppercase() {
                    if n < 3 {
                        buf[n] = u;
                    }
                    n += 1;
                }
            } else {
                for l in c.to_lowercase() {
                    if n < 3 {
                        buf[n] = l;
                    }
                    n += 1;
                }
            }
            if n == 1 { buf[0] } else { c }
        })
        .collect()
}

fn upper(args: &[&Value]) -> Result<Value, String> {
    string(map_case(&s(args, 0)?, true))
}

fn lower(args: &[&Value]) -> Result<Value, String> {
    string(map_case(&s(args, 0)?, false))
}

/// strings.Title's word-boundary rule.
fn is_separator(c: char) -> bool {
    if c.is_ascii() {
        return !(c.is_ascii_alphanumeric() || c == '_');
    }
    if c.is_alphanumeric() {
        return false;
    }
    c.is_whitespace()
}

fn title(args: &[&Value]) -> Result<Value, String> {
    let src = s(args, 0)?;
    let mut out = String::with_capacity(src.len());
    let mut prev = ' ';
    for c in src.chars() {
        if is_separator(prev) {
            out.push_str(&map_case(&c.to_string(), true));
        } else {
            out.push(c);
        }
        prev = c;
    }
    string(out)
}

fn trim(args: &[&Value]) -> Result<Value, String> {
    string(s(args, 0)?.trim())
}

fn trim_prefix(args: &[&Value]) -> Result<Value, String> {
    let (prefix, src) = (s(args, 0)?, s(args, 1)?);
    string(src.strip_prefix(prefix.as_str()).unwrap_or(&src))
}

fn trim_suffix(args: &[&Value]) -> Result<Value, String> {
    let (suffix, src) = (s(args, 0)?, s(args, 1)?);
    string(src.strip_suffix(suffix.as_str()).unwrap_or(&src))
}

fn replace(args: &[&Value]) -> Result<Value, String> {
    let (old, new, src) = (s(args, 0)?, s(args, 1)?, s(args, 2)?);
    let count = if old.is_empty() {
        src.chars().count() + 1
    } else {
        src.matches(old.as_str()).count()
    };
    ensure_size(src.len().saturating_add(count.saturating_mul(new.len())))?;
    string(src.replace(old.as_str(), &new))
}

fn contains(args: &[&Value]) -> Result<Value, String> {
    let (sub, src) = (s(args, 0)?, s(args, 1)?);
    Ok(Value::Bool(src.contains(sub.as_str())))
}

fn has_prefix(args: &[&Value]) -> Result<Value, String> {
    let (p, src) = (s(args, 0)?, s(args, 1)?);
    Ok(Value::Bool(src.starts_with(p.as_str())))
}

fn has_suffix(args: &[&Value]) -> Result<Value, String> {
    let (p, src) = (s(args, 0)?, s(args, 1)?);
    Ok(Value::Bool(src.ends_with(p.as_str())))
}

/// Go's strings.Split: an empty separator splits into characters.
fn go_split(sep: &str, src: &str) -> Vec<String> {
    if sep.is_empty() {
        src.chars().map(String::from).collect()
    } else {
        src.split(sep).map(String::from).collect()
    }
}

fn split(args: &[&Value]) -> Result<Value, String> {
    let (sep, src) = (s(args, 0)?, s(args, 1)?);
    let map: Map<String, Value> = go_split(&sep, &src)
        .into_iter()
        .enumerate()
        .map(|(i, p)| (format!("_{i}"), Value::String(p)))
        .collect();
    Ok(Value::Object(map))
}

fn split_list(args: &[&Value]) -> Result<Value, String> {
    let (sep, src) = (s(args, 0)?, s(args, 1)?);
    Ok(Value::Array(
        go_split(&sep, &src)
            .into_iter()
            .map(Value::String)
            .collect(),
    ))
}

/// sprig's strslice: lists become their non-nil elements as strings,
/// nil becomes empty, anything else a one-element list.
fn strslice(v: &Value) -> Result<Vec<String>, String> {
    match v {
        Value::Array(a) => a.iter().filter(|e| !e.is_null()).map(strval).collect(),
        Value::Null => Ok(Vec::new()),
        other => Ok(vec![strval(other)?]),
    }
}

fn join(args: &[&Value]) -> Result<Value, String> {
    let sep = s(args, 0)?;
    let parts = strslice(arg(args, 1))?;
    let total: usize =
        parts.iter().map(String::len).sum::<usize>() + sep.len().saturating_mul(parts.len());
    ensure_size(total)?;
    string(parts.join(&sep))
}

fn list(args: &[&Value]) -> Result<Value, String> {
    Ok(Value::Array(args.iter().map(|v| (*v).clone()).collect()))
}

fn dict(args: &[&Value]) -> Result<Value, String> {
    let mut map = Map::new();
    for pair in args.chunks(2) {
        let key = strval(pair[0])?;
        let val = pair
            .get(1)
            .map_or(Value::String(String::new()), |v| (*v).clone());
        map.insert(key, val);
    }
    Ok(Value::Object(map))
}

/// A `map[string]interface{}` parameter; nil is an empty map, as in Go.
fn arg_map(v: &Value) -> Result<Option<&Map<String, Value>>, String> {
    match v {
        Value::Object(o) => Ok(Some(o)),
        Value::Null => Ok(None),
        other => Err(format!(
            "wrong type for value; expected map[string]interface {{}}; got {}",
            type_name(other)
        )),
    }
}

fn get(args: &[&Value]) -> Result<Value, String> {
    let map = arg_map(arg(args, 0))?;
    let key = s(args, 1)?;
    Ok(map
        .and_then(|m| m.get(&key))
        .cloned()
        .unwrap_or(Value::String(String::new())))
}

fn has_key(args: &[&Value]) -> Result<Value, String> {
    let map = arg_map(arg(args, 0))?;
    let key = s(args, 1)?;
    Ok(Value::Bool(map.is_some_and(|m| m.contains_key(&key))))
}

/// Keys of all given dicts, sorted (sprig leaves Go's random map order;
/// sorting makes output deterministic).
fn keys(args: &[&Value]) -> Result<Value, String> {
    let mut out = Vec::new();
    for a in args {
        if let Some(m) = arg_map(a)? {
            out.extend(m.keys().cloned());
        }
    }
    out.sort();
    Ok(Value::Array(out.into_iter().map(Value::String).collect()))
}

fn to_json(args: &[&Value]) -> Result<Value, String> {
    json::encode(arg(args, 0), false).map(Value::String)
}

fn to_pretty_json(args: &[&Value]) -> Result<Value, String> {
    json::encode(arg(args, 0), true).map(Value::String)
}

/// sprig's fromJson swallows errors and yields nil.
fn from_json(args: &[&Value]) -> Result<Value, String> {
    let src = s(args, 0)?;
    Ok(serde_json::from_str(&src).unwrap_or(Value::Null))
}

fn b64enc(args: &[&Value]) -> Result<Value, String> {
    string(base64::engine::general_purpose::STANDARD.encode(s(args, 0)?))
}

/// sprig returns the decoder's error text as the result instead of failing.
fn b64dec(args: &[&Value]) -> Result<Value, String> {
    // Go's decoder skips line breaks.
    let src: String = s(args, 0)?
        .chars()
        .filter(|c| !matches!(c, '\r' | '\n'))
        .collect();
    match base64::engine::general_purpose::STANDARD.decode(src.as_bytes()) {
        Ok(bytes) => string(String::from_utf8_lossy(&bytes)),
        Err(e) => {
            let at = match e {
                base64::DecodeError::InvalidByte(o, _)
                | base64::DecodeError::InvalidLastSymbol { offset: o, .. } => o,
                base64::DecodeError::InvalidLength(l) => l,
                _ => src.len(),
            };
            string(format!("illegal base64 data at input byte {at}"))
        }
    }
}

fn cat(args: &[&Value]) -> Result<Value, String> {
    let mut parts = Vec::new();
    for a in args.iter().filter(|a| !a.is_null()) {
        parts.push(crate::value::to_v(a)?);
    }
    string(parts.join(" "))
}

fn indent_str(spaces: i64, src: &str) -> Result<String, String> {
    let n = usize::try_from(spaces).map_err(|_| "strings: negative Repeat count".to_string())?;
    let lines = src.matches('\n').count() + 1;
    ensure_size(src.len().saturating_add(lines.saturating_mul(n)))?;
    let pad = " ".repeat(n);
    Ok(format!("{pad}{}", src.replace('\n', &format!("\n{pad}"))))
}

fn indent(args: &[&Value]) -> Result<Value, String> {
    string(indent_str(arg_int(arg(args, 0))?, &s(args, 1)?)?)
}

fn nindent(args: &[&Value]) -> Result<Value, String> {
    string(format!(
        "\n{}",
        indent_str(arg_int(arg(args, 0))?, &s(args, 1)?)?
    ))
}

fn repeat(args: &[&Value]) -> Result<Value, String> {
    let count = arg_int(arg(args, 0))?;
    let src = s(args, 1)?;
    let n = usize::try_from(count).map_err(|_| "strings: negative Repeat count".to_string())?;
    ensure_size(src.len().saturating_mul(n))?;
    string(src.repeat(n))
}

fn bytes_to_string(b: &[u8]) -> Value {
    Value::String(String::from_utf8_lossy(b).into_owned())
}

fn out_of_range(lo: i64, hi: i64) -> String {
    format!("runtime error: slice bounds out of range [{lo}:{hi}]")
}

/// sprig's substr works on bytes; Go panics on bad bounds, which the
/// template engine turns into an error, so we report one too.
fn substr(args: &[&Value]) -> Result<Value, String> {
    let start = arg_int(arg(args, 0))?;
    let end = arg_int(arg(args, 1))?;
    let src = s(args, 2)?;
    let b = src.as_bytes();
    let len = b.len() as i64;
    let (lo, hi) = if start < 0 {
        (0, end)
    } else if end < 0 || end > len {
        (start, len)
    } else {
        (start, end)
    };
    if lo < 0 || hi < lo || hi > len {
        return Err(out_of_range(lo, hi));
    }
    Ok(bytes_to_string(&b[lo as usize..hi as usize]))
}

fn trunc(args: &[&Value]) -> Result<Value, String> {
    let c = arg_int(arg(args, 0))?;
    let src = s(args, 1)?;
    let b = src.as_bytes();
    let len = b.len() as i64;
    if c < 0 && len + c > 0 {
        return Ok(bytes_to_string(&b[(len + c) as usize..]));
    }
    if c >= 0 && len > c {
        return Ok(bytes_to_string(&b[..c as usize]));
    }
    string(src)
}

fn add(args: &[&Value]) -> Result<Value, String> {
    Ok(Value::from(
        args.iter()
            .fold(0i64, |acc, v| acc.wrapping_add(to_int64(v))),
    ))
}

fn sub(args: &[&Value]) -> Result<Value, String> {
    Ok(Value::from(
        to_int64(arg(args, 0)).wrapping_sub(to_int64(arg(args, 1))),
    ))
}

fn mul(args: &[&Value]) -> Result<Value, String> {
    Ok(Value::from(
        args.iter()
            .fold(1i64, |acc, v| acc.wrapping_mul(to_int64(v))),
    ))
}

const DIV_ZERO: &str = "runtime error: integer divide by zero";

fn div(args: &[&Value]) -> Result<Value, String> {
    let (a, b) = (to_int64(arg(args, 0)), to_int64(arg(args, 1)));
    if b == 0 {
        return Err(DIV_ZERO.into());
    }
    Ok(Value::from(a.wrapping_div(b)))
}

fn modulo(args: &[&Value]) -> Result<Value, String> {
    let (a, b) = (to_int64(arg(args, 0)), to_int64(arg(args, 1)));
    if b == 0 {
        return Err(DIV_ZERO.into());
    }
    Ok(Value::from(a.wrapping_rem(b)))
}

fn max(args: &[&Value]) -> Result<Value, String> {
    Ok(Value::from(
        args.iter().map(|v| to_int64(v)).max().unwrap_or(0),
    ))
}

fn min(args: &[&Value]) -> Result<Value, String> {
    Ok(Value::from(
        args.iter().map(|v| to_int64(v)).min().unwrap_or(0),
    ))
}

fn to_string(args: &[&Value]) -> Result<Value, String> {
    strval(arg(args, 0)).map(Value::String)
}

fn atoi(args: &[&Value]) -> Result<Value, String> {
    Ok(Value::from(s(args, 0)?.parse::<i64>().unwrap_or(0)))
}

fn int(args: &[&Value]) -> Result<Value, String> {
    Ok(Value::from(to_int64(arg(args, 0))))
}

fn float64(args: &[&Value]) -> Result<Value, String> {
    Ok(float_value(to_float64(arg(args, 0))))
}

fn list_arg<'a>(v: &'a Value, what: &str) -> Result<&'a Vec<Value>, String> {
    match v {
        Value::Array(a) => Ok(a),
        other => Err(format!("Cannot find {what} on type {}", type_name(other))),
    }
}

fn first(args: &[&Value]) -> Result<Value, String> {
    Ok(list_arg(arg(args, 0), "first")?
        .first()
        .cloned()
        .unwrap_or(Value::Null))
}

fn last(args: &[&Value]) -> Result<Value, String> {
    Ok(list_arg(arg(args, 0), "last")?
        .last()
        .cloned()
        .unwrap_or(Value::Null))
}

fn uniq(args: &[&Value]) -> Result<Value, String> {
    let mut out: Vec<Value> = Vec::new();
    for v in list_arg(arg(args, 0), "uniq")? {
        if !out.contains(v) {
            out.push(v.clone());
        }
    }
    Ok(Value::Array(out))
}

fn has(args: &[&Value]) -> Result<Value, String> {
    let needle = arg(args, 0);
    match arg(args, 1) {
        Value::Null => Ok(Value::Bool(false)),
        hay => Ok(Value::Bool(list_arg(hay, "has")?.contains(needle))),
    }
}

fn sort_alpha(args: &[&Value]) -> Result<Value, String> {
    let mut v = strslice(arg(args, 0))?;
    v.sort();
    Ok(Value::Array(v.into_iter().map(Value::String).collect()))
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

    fn ok(name: &str, args: &[Value]) -> Value {
        call(name, args).unwrap()
    }

    #[test]
    fn defaults_and_emptiness() {
        assert_eq!(ok("default", &[json!("x"), json!(null)]), json!("x"));
        assert_eq!(ok("default", &[json!("x"), json!("")]), json!("x"));
        assert_eq!(ok("default", &[json!("x"), json!("y")]), json!("y"));
        assert_eq!(ok("default", &[json!("x")]), json!("x"));
        assert_eq!(ok("default", &[json!(1), json!(0)]), json!(1));
        assert_eq!(ok("empty", &[json!({})]), json!(true));
        assert_eq!(ok("empty", &[json!(" ")]), json!(false));
        assert_eq!(
            ok(
                "coalesce",
                &[json!(null), json!(""), json!("a"), json!("b")]
            ),
            json!("a")
        );
        assert_eq!(ok("coalesce", &[json!(null)]), json!(null));
        assert_eq!(
            ok("ternary", &[json!("y"), json!("n"), json!(true)]),
            json!("y")
        );
        assert_eq!(
            ok("ternary", &[json!("y"), json!("n"), json!(false)]),
            json!("n")
        );
        assert!(call("ternary", &[json!("y"), json!("n"), json!(1)]).is_err());
    }

    #[test]
    fn strings() {
        assert_eq!(
            ok("quote", &[json!("a\"b"), json!(null), json!(1)]),
            json!("\"a\\\"b\" \"1\"")
        );
        assert_eq!(ok("squote", &[json!("a"), json!(2)]), json!("'a' '2'"));
        assert_eq!(ok("upper", &[json!("abcß")]), json!("ABCß"));
        assert_eq!(ok("lower", &[json!("ÀBC")]), json!("àbc"));
        assert_eq!(
            ok("title", &[json!("hello wORLD foo_bar x-y élan")]),
            json!("Hello WORLD Foo_bar X-Y Élan")
        );
        assert_eq!(ok("trim", &[json!("  a b \n")]), json!("a b"));
        assert_eq!(ok("trimPrefix", &[json!("ab"), json!("abc")]), json!("c"));
        assert_eq!(ok("trimSuffix", &[json!("bc"), json!("abc")]), json!("a"));
        assert_eq!(
            ok("replace", &[json!("a"), json!("x"), json!("banana")]),
            json!("bxnxnx")
        );
        assert_eq!(
            ok("replace", &[json!(""), json!("-"), json!("ab")]),
            json!("-a-b-")
        );
        assert_eq!(ok("contains", &[json!("na"), json!("banana")]), json!(true));
        assert_eq!(
            ok("hasPrefix", &[json!("ba"), json!("banana")]),
            json!(true)
        );
        assert_eq!(
            ok("hasSuffix", &[json!("x"), json!("banana")]),
            json!(false)
        );
        assert!(
            call("upper", &[json!(null)])
                .unwrap_err()
                .contains("invalid value")
        );
        assert!(
            call("upper", &[json!(1)])
                .unwrap_err()
                .contains("expected string; got int")
        );
    }

    #[test]
    fn splitting_and_joining() {
        assert_eq!(
            ok("split", &[json!("$"), json!("a$b")]),
            json!({"_0": "a", "_1": "b"})
        );
        assert_eq!(
            ok("splitList", &[json!(","), json!("a,b,,c")]),
            json!(["a", "b", "", "c"])
        );
        assert_eq!(
            ok("splitList", &[json!(""), json!("ab")]),
            json!(["a", "b"])
        );
        assert_eq!(
            ok("join", &[json!("-"), json!(["a", 1, null, true])]),
            json!("a-1-true")
        );
        assert_eq!(ok("join", &[json!("-"), json!("solo")]), json!("solo"));
        assert_eq!(ok("join", &[json!("-"), json!(null)]), json!(""));
    }

    #[test]
    fn collections() {
        assert_eq!(ok("list", &[json!(1), json!("a")]), json!([1, "a"]));
        assert_eq!(
            ok(
                "dict",
                &[json!("a"), json!(1), json!(2), json!(true), json!("odd")]
            ),
            json!({"a": 1, "2": true, "odd": ""})
        );
        assert_eq!(ok("get", &[json!({"a": 1}), json!("a")]), json!(1));
        assert_eq!(ok("get", &[json!({"a": 1}), json!("b")]), json!(""));
        assert_eq!(ok("get", &[json!(null), json!("b")]), json!(""));
        assert!(call("get", &[json!([1]), json!("b")]).is_err());
        assert_eq!(ok("hasKey", &[json!({"a": null}), json!("a")]), json!(true));
        assert_eq!(ok("hasKey", &[json!({}), json!("a")]), json!(false));
        assert_eq!(
            ok("keys", &[json!({"b": 1, "a": 2}), json!({"c": 3})]),
            json!(["a", "b", "c"])
        );
        assert_eq!(ok("first", &[json!([1, 2])]), json!(1));
        assert_eq!(ok("last", &[json!([1, 2])]), json!(2));
        assert_eq!(ok("first", &[json!([])]), json!(null));
        assert!(
            call("first", &[json!("x")])
                .unwrap_err()
                .contains("Cannot find first")
        );
        assert_eq!(
            ok("uniq", &[json!([1, 2, 1, "a", "a"])]),
            json!([1, 2, "a"])
        );
        assert_eq!(ok("has", &[json!(2), json!([1, 2])]), json!(true));
        assert_eq!(ok("has", &[json!(3), json!(null)]), json!(false));
        assert_eq!(
            ok("sortAlpha", &[json!(["b", "a", 1])]),
            json!(["1", "a", "b"])
        );
    }

    #[test]
    fn encodings() {
        assert_eq!(
            ok("toJson", &[json!({"b": [1], "a": "<"})]),
            json!("{\"a\":\"\\u003c\",\"b\":[1]}")
        );
        assert_eq!(
            ok("toPrettyJson", &[json!({"a": 1})]),
            json!("{\n  \"a\": 1\n}")
        );
        assert_eq!(ok("fromJson", &[json!("{\"a\":[1]}")]), json!({"a": [1]}));
        assert_eq!(ok("fromJson", &[json!("nope")]), json!(null));
        assert_eq!(ok("b64enc", &[json!("hello")]), json!("aGVsbG8="));
        assert_eq!(ok("b64dec", &[json!("aGVs\nbG8=")]), json!("hello"));
        assert_eq!(
            ok("b64dec", &[json!("a*")]),
            json!("illegal base64 data at input byte 1")
        );
    }

    #[test]
    fn layout_helpers() {
        assert_eq!(
            ok("cat", &[json!("a"), json!(null), json!(1), json!([2])]),
            json!("a 1 [2]")
        );
        assert_eq!(ok("indent", &[json!(2), json!("a\nb")]), json!("  a\n  b"));
        assert_eq!(ok("nindent", &[json!(2), json!("a")]), json!("\n  a"));
        assert_eq!(ok("repeat", &[json!(3), json!("ab")]), json!("ababab"));
        assert!(call("repeat", &[json!(-1), json!("ab")]).is_err());
        assert!(
            call("repeat", &[json!(1_000_000_000), json!("ab")])
                .unwrap_err()
                .contains("maximum size")
        );
        assert!(
            call("indent", &[json!(1_000_000_000), json!("a")])
                .unwrap_err()
                .contains("maximum size")
        );
        assert_eq!(
            ok("substr", &[json!(1), json!(3), json!("hello")]),
            json!("el")
        );
        assert_eq!(
            ok("substr", &[json!(-1), json!(2), json!("hello")]),
            json!("he")
        );
        assert_eq!(
            ok("substr", &[json!(2), json!(99), json!("hello")]),
            json!("llo")
        );
        assert!(call("substr", &[json!(4), json!(2), json!("hello")]).is_err());
        assert!(call("substr", &[json!(9), json!(-1), json!("hello")]).is_err());
        assert_eq!(ok("trunc", &[json!(3), json!("hello")]), json!("hel"));
        assert_eq!(ok("trunc", &[json!(-3), json!("hello")]), json!("llo"));
        assert_eq!(ok("trunc", &[json!(10), json!("hello")]), json!("hello"));
    }

    #[test]
    fn arithmetic() {
        assert_eq!(ok("add", &[json!(1), json!(2.9), json!("3")]), json!(6));
        assert_eq!(ok("add", &[]), json!(0));
        assert_eq!(ok("sub", &[json!(5), json!(7)]), json!(-2));
        assert_eq!(ok("mul", &[json!(2), json!(3), json!(4)]), json!(24));
        assert_eq!(ok("div", &[json!(7), json!(2)]), json!(3));
        assert_eq!(ok("mod", &[json!(7), json!(2)]), json!(1));
        assert!(
            call("div", &[json!(1), json!(0)])
                .unwrap_err()
                .contains("divide by zero")
        );
        assert!(call("mod", &[json!(1), json!(0)]).is_err());
        assert_eq!(ok("div", &[json!(i64::MIN), json!(-1)]), json!(i64::MIN));
        assert_eq!(ok("max", &[json!(1), json!(9), json!(3)]), json!(9));
        assert_eq!(ok("min", &[json!(1), json!(-9), json!(3)]), json!(-9));
    }

    #[test]
    fn conversions() {
        assert_eq!(ok("toString", &[json!(1.5)]), json!("1.5"));
        assert_eq!(ok("toString", &[json!(null)]), json!("<nil>"));
        assert_eq!(ok("atoi", &[json!("42")]), json!(42));
        assert_eq!(ok("atoi", &[json!("4x")]), json!(0));
        assert_eq!(ok("int", &[json!("7")]), json!(7));
        assert_eq!(ok("int", &[json!(7.9)]), json!(7));
        assert_eq!(ok("float64", &[json!("1.5")]), json!(1.5));
        assert_eq!(ok("float64", &[json!(2)]), json!(2.0));
    }
}
