//! What [`Dialect::Oathkeeper`](crate::Dialect::Oathkeeper) adds to plain
//! `text/template` + sprig: Oathkeeper's `print`/`printIndex` overrides, the
//! `http.Header` methods `Get`/`Values`, and the float64 view of JSON numbers.
//!
//! Oathkeeper (`x/template.go`) builds its templates with
//! `Option("missingkey=zero")`, a func map with a one-argument `print` and
//! `printIndex`, then sprig's text func map. Template data is its
//! `AuthenticationSession`, whose `Extra` is JSON decoded into
//! `map[string]interface{}` (so every number is a `float64`) and whose
//! `Header` / `MatchContext.Header` are `http.Header` values.

use serde_json::{Map, Value};

use super::Def;
use crate::value::{NULL, Num, arg_int, arg_str, float_value, num, to_v};

/// Functions that replace or extend the builtins in this dialect.
pub(crate) static TABLE: &[Def] = &[
    Def::fixed("print", 1, print),
    Def::fixed("printIndex", 2, print_index),
];

/// `print(i interface{}) string`: nil prints nothing, anything else `%v`.
fn print(args: &[&Value]) -> Result<Value, String> {
    match args.first().copied().unwrap_or(&NULL) {
        Value::Null => Ok(Value::String(String::new())),
        v => to_v(v).map(Value::String),
    }
}

/// `printIndex(element interface{}, i int) string`: element `i` of a slice
/// via `%v`; nil, non-slices and too-large indexes give "". A negative index
/// makes Go's `reflect.Value.Index` panic, which `text/template` reports as
/// an error.
fn print_index(args: &[&Value]) -> Result<Value, String> {
    let element = args.first().copied().unwrap_or(&NULL);
    let i = arg_int(args.get(1).copied().unwrap_or(&NULL))?;
    let Value::Array(list) = element else {
        return Ok(Value::String(String::new()));
    };
    if i < 0 {
        return Err("reflect: slice index out of range".into());
    }
    match usize::try_from(i).ok().and_then(|i| list.get(i)) {
        Some(v) => to_v(v).map(Value::String),
        None => Ok(Value::String(String::new())),
    }
}

/// Methods of Go's `http.Header` that templates call (`.Header.Get "X-Foo"`).
pub(crate) const HEADER_METHODS: &[&str] = &["Get", "Values"];

/// Whether `m` looks like an `http.Header`: every value is a list of strings
/// (or `null`, a nil `[]string`). An empty object qualifies.
pub(crate) fn is_header_map(m: &Map<String, Value>) -> bool {
    m.values().all(|v| match v {
        Value::Array(a) => a.iter().all(Value::is_string),
        Value::Null => true,
        _ => false,
    })
}

/// Calls `http.Header` method `method` with argument `arg` on `header`.
///
/// The name is canonicalised like Go's `textproto.CanonicalMIMEHeaderKey`
/// and looked up exactly; if that key is absent, a key that matches it
/// ignoring ASCII case is used instead (Go would only find canonical keys,
/// but data built outside Go may use another case).
pub(crate) fn header_method(
    method: &str,
    header: &Map<String, Value>,
    arg: &Value,
) -> Result<Value, String> {
    let name = canonical_header_key(arg_str(arg)?);
    let values = header.get(&name).or_else(|| {
        let mut keys: Vec<&String> = header
            .keys()
            .filter(|k| k.eq_ignore_ascii_case(&name))
            .collect();
        keys.sort();
        keys.first().and_then(|k| header.get(*k))
    });
    let list = match values {
        Some(Value::Array(a)) => a.as_slice(),
        _ => &[],
    };
    match method {
        "Get" => Ok(list
            .first()
            .cloned()
            .unwrap_or_else(|| Value::String(String::new()))),
        "Values" => Ok(Value::Array(list.to_vec())),
        other => Err(format!("can't call method {other} of http.Header")),
    }
}

/// RFC 7230 token characters, Go's `validHeaderFieldByte`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Go's `textproto.CanonicalMIMEHeaderKey`: the first letter and every
/// letter after a `-` upper case, the rest lower case. Keys containing a
/// byte that is not a token character (a space, non-ASCII, ...) are
/// returned unchanged.
pub(crate) fn canonical_header_key(key: &str) -> String {
    if !key.bytes().all(is_token_byte) {
        return key.to_string();
    }
    let mut upper = true;
    key.bytes()
        .map(|b| {
            let c = if upper {
                b.to_ascii_uppercase()
            } else {
                b.to_ascii_lowercase()
            };
            upper = c == b'-';
            char::from(c)
        })
        .collect()
}

/// Go's `encoding/json` decodes every JSON number into a `float64` when the
/// target is `interface{}`. Returns a copy of `v` with all integers turned
/// into floats, or `None` when there is nothing to convert.
///
/// Built without recursion, so hostile nesting cannot overflow the stack;
/// drop the result with [`dismantle`] for the same reason.
pub(crate) fn floatify(v: &Value) -> Option<Value> {
    if !has_integer(v) {
        return None;
    }
    enum Step<'a> {
        Visit(&'a Value),
        Array(usize),
        Object(Vec<&'a String>),
    }
    let mut work = vec![Step::Visit(v)];
    let mut done: Vec<Value> = Vec::new();
    while let Some(step) = work.pop() {
        match step {
            Step::Visit(Value::Array(a)) => {
                work.push(Step::Array(a.len()));
                work.extend(a.iter().rev().map(Step::Visit));
            }
            Step::Visit(Value::Object(o)) => {
                work.push(Step::Object(o.keys().collect()));
                let values: Vec<&Value> = o.values().collect();
                work.extend(values.into_iter().rev().map(Step::Visit));
            }
            Step::Visit(v) => done.push(integer_as_f64(v).map_or_else(|| v.clone(), float_value)),
            Step::Array(n) => {
                let items = done.split_off(done.len().saturating_sub(n));
                done.push(Value::Array(items));
            }
            Step::Object(keys) => {
                let items = done.split_off(done.len().saturating_sub(keys.len()));
                let map: Map<String, Value> = keys.into_iter().cloned().zip(items).collect();
                done.push(Value::Object(map));
            }
        }
    }
    done.pop()
}

/// Drops a value without recursing, however deeply it nests.
pub(crate) fn dismantle(v: Value) {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::Array(a) => stack.extend(a),
            Value::Object(o) => stack.extend(o.into_iter().map(|(_, v)| v)),
            _ => {}
        }
    }
}

fn integer_as_f64(v: &Value) -> Option<f64> {
    match num(v)? {
        Num::I(i) => Some(i as f64),
        Num::U(u) => Some(u as f64),
        Num::F(_) => None,
    }
}

fn has_integer(v: &Value) -> bool {
    let mut stack: Vec<&Value> = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::Number(_) if integer_as_f64(v).is_some() => return true,
            Value::Array(a) => stack.extend(a.iter()),
            Value::Object(o) => stack.extend(o.values()),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use serde_json::json;

    fn call(f: fn(&[&Value]) -> Result<Value, String>, args: &[Value]) -> Result<Value, String> {
        let refs: Vec<&Value> = args.iter().collect();
        f(&refs)
    }

    #[test]
    fn print_takes_one_value() {
        assert_eq!(call(print, &[json!(null)]).unwrap(), json!(""));
        assert_eq!(call(print, &[json!("a")]).unwrap(), json!("a"));
        assert_eq!(call(print, &[json!(1.6e9)]).unwrap(), json!("1.6e+09"));
        assert_eq!(call(print, &[json!(42.0)]).unwrap(), json!("42"));
        assert_eq!(
            call(print, &[json!({"b": [1.5, null], "a": {"x": "y"}})]).unwrap(),
            json!("map[a:map[x:y] b:[1.5 <nil>]]")
        );
    }

    #[test]
    fn print_index_like_oathkeeper() {
        let l = json!(["a", {"k": "v"}, null]);
        assert_eq!(
            call(print_index, &[l.clone(), json!(0)]).unwrap(),
            json!("a")
        );
        assert_eq!(
            call(print_index, &[l.clone(), json!(1)]).unwrap(),
            json!("map[k:v]")
        );
        assert_eq!(
            call(print_index, &[l.clone(), json!(2)]).unwrap(),
            json!("<nil>")
        );
        assert_eq!(
            call(print_index, &[l.clone(), json!(3)]).unwrap(),
            json!("")
        );
        assert_eq!(
            call(print_index, &[json!(null), json!(0)]).unwrap(),
            json!("")
        );
        assert_eq!(
            call(print_index, &[json!("str"), json!(0)]).unwrap(),
            json!("")
        );
        assert_eq!(
            call(print_index, &[l.clone(), json!(-1)]).unwrap_err(),
            "reflect: slice index out of range"
        );
        assert_eq!(
            call(print_index, &[l, json!("0")]).unwrap_err(),
            "wrong type for value; expected int; got string"
        );
    }

    #[test]
    fn canonical_keys_like_go() {
        assert_eq!(canonical_header_key("x-forwarded-for"), "X-Forwarded-For");
        assert_eq!(canonical_header_key("X-FORWARDED-FOR"), "X-Forwarded-For");
        assert_eq!(canonical_header_key("content-md5"), "Content-Md5");
        assert_eq!(canonical_header_key("a--b"), "A--B");
        assert_eq!(canonical_header_key("-x"), "-X");
        assert_eq!(canonical_header_key("x_y"), "X_y");
        assert_eq!(canonical_header_key("bad key"), "bad key");
        assert_eq!(canonical_header_key("ünï"), "ünï");
        assert_eq!(canonical_header_key(""), "");
    }

    #[test]
    fn header_get_and_values() {
        let h =
            json!({"X-Forwarded-For": ["1.2.3.4", "5.6.7.8"], "Accept": [], "lower-case": ["l"]});
        let h = h.as_object().unwrap();
        assert!(is_header_map(h));
        assert_eq!(
            header_method("Get", h, &json!("x-forwarded-for")).unwrap(),
            json!("1.2.3.4")
        );
        assert_eq!(
            header_method("Get", h, &json!("Accept")).unwrap(),
            json!("")
        );
        assert_eq!(header_method("Get", h, &json!("nope")).unwrap(), json!(""));
        assert_eq!(
            header_method("Get", h, &json!("LOWER-CASE")).unwrap(),
            json!("l")
        );
        assert_eq!(
            header_method("Values", h, &json!("X-Forwarded-For")).unwrap(),
            json!(["1.2.3.4", "5.6.7.8"])
        );
        assert_eq!(
            header_method("Values", h, &json!("nope")).unwrap(),
            json!([])
        );
        assert_eq!(
            header_method("Get", h, &json!(1)).unwrap_err(),
            "wrong type for value; expected string; got int"
        );
        assert!(is_header_map(json!({}).as_object().unwrap()));
        assert!(is_header_map(json!({"A": null}).as_object().unwrap()));
        assert!(!is_header_map(json!({"A": "x"}).as_object().unwrap()));
        assert!(!is_header_map(json!({"A": [1]}).as_object().unwrap()));
    }

    #[test]
    fn numbers_become_float64() {
        assert_eq!(floatify(&json!({"a": "x", "b": [1.5]})), None);
        let v = floatify(&json!({"n": 1600000000, "l": [1, {"m": -2}], "u": u64::MAX})).unwrap();
        assert_eq!(
            to_v(&v).unwrap(),
            "map[l:[1 map[m:-2]] n:1.6e+09 u:1.8446744073709552e+19]"
        );
        assert!(v["n"].is_f64() && v["l"][1]["m"].is_f64());
        let v = floatify(&json!([1, "a", [], {}, {"x": [2.5, null, true]}])).unwrap();
        assert_eq!(v, json!([1.0, "a", [], {}, {"x": [2.5, null, true]}]));
        assert!(v[0].is_f64());
        dismantle(v);
    }

    #[test]
    fn deep_values_are_converted_without_recursion() {
        let h = std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(|| {
                let mut deep = json!(1);
                for _ in 0..50_000 {
                    deep = Value::Array(vec![deep]);
                }
                let floats = floatify(&deep).unwrap();
                let (mut a, mut b) = (&deep, &floats);
                while let (Value::Array(x), Value::Array(y)) = (a, b) {
                    (a, b) = (&x[0], &y[0]);
                }
                assert_eq!((a, b), (&json!(1), &json!(1.0)));
                dismantle(floats);
                dismantle(deep);
            })
            .unwrap();
        h.join().unwrap();
    }
}
