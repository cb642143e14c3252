//! Helpers over `serde_json::Value`, the only data type templates see.
//!
//! Go distinguishes a missing map key (an invalid `reflect.Value`) from a
//! JSON `null` (a nil interface), but once a pipeline finishes Go unwraps
//! `interface{}` results so both end up printing `<no value>`; as function
//! arguments both become `nil`. We therefore model both as `Value::Null`.

use std::fmt::Write as _;

use serde_json::Value;

use crate::format;
use crate::limits::{MAX_VALUE_BYTES, MAX_VALUE_DEPTH};

pub(crate) static NULL: Value = Value::Null;

/// Numeric view of a JSON number.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Num {
    I(i64),
    U(u64),
    F(f64),
}

impl Num {
    pub(crate) fn as_f64(self) -> f64 {
        match self {
            Num::I(i) => i as f64,
            Num::U(u) => u as f64,
            Num::F(f) => f,
        }
    }
}

pub(crate) fn num(v: &Value) -> Option<Num> {
    let Value::Number(n) = v else { return None };
    if let Some(i) = n.as_i64() {
        Some(Num::I(i))
    } else if let Some(u) = n.as_u64() {
        Some(Num::U(u))
    } else {
        n.as_f64().map(Num::F)
    }
}

/// Builds a JSON number from a float; non-finite results become null
/// because JSON cannot hold them.
pub(crate) fn float_value(f: f64) -> Value {
    serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
}

/// Go's truth: false, 0, nil, "" and empty collections are false.
pub(crate) fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(_) => match num(v) {
            Some(Num::I(i)) => i != 0,
            Some(Num::U(u)) => u != 0,
            Some(Num::F(f)) => f != 0.0,
            None => false,
        },
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// The Go type name a JSON-decoded value would have (used in error messages).
/// Integers are reported as `int` because that is how we treat them.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(_) => match num(v) {
            Some(Num::F(_)) => "float64",
            Some(Num::U(_)) => "uint64",
            _ => "int",
        },
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// Object entries in sorted key order. serde_json's map is only sorted when
/// its `preserve_order` feature is off, and a parent workspace may turn it
/// on, so we never rely on iteration order.
pub(crate) fn sorted_entries(m: &serde_json::Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut v: Vec<(&String, &Value)> = m.iter().collect();
    v.sort_by(|a, b| a.0.cmp(b.0));
    v
}

pub(crate) fn too_large() -> String {
    format!("value exceeds maximum size ({MAX_VALUE_BYTES} bytes)")
}

pub(crate) fn too_deep() -> String {
    format!("value exceeds maximum nesting depth ({MAX_VALUE_DEPTH})")
}

/// Approximate memory footprint, failing once it passes `cap` or the value
/// nests deeper than `MAX_VALUE_DEPTH`. Iterative so hostile nesting cannot
/// overflow the stack here.
pub(crate) fn weight(v: &Value, cap: usize) -> Result<usize, String> {
    let mut total = 0usize;
    let mut stack: Vec<(&Value, usize)> = vec![(v, 0)];
    while let Some((v, depth)) = stack.pop() {
        if depth > MAX_VALUE_DEPTH {
            return Err(too_deep());
        }
        total += 16;
        match v {
            Value::String(s) => total += s.len(),
            Value::Array(a) => stack.extend(a.iter().map(|e| (e, depth + 1))),
            Value::Object(o) => {
                for (k, e) in o {
                    total += k.len();
                    stack.push((e, depth + 1));
                }
            }
            _ => {}
        }
        if total > cap {
            return Err(too_large());
        }
    }
    Ok(total)
}

/// Go's `%v` for JSON-decoded values.
pub(crate) fn to_v(v: &Value) -> Result<String, String> {
    let mut out = String::new();
    write_v(&mut out, v, 0)?;
    Ok(out)
}

pub(crate) fn write_v(out: &mut String, v: &Value, depth: usize) -> Result<(), String> {
    if depth > MAX_VALUE_DEPTH {
        return Err(too_deep());
    }
    match v {
        Value::Null => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(_) => match num(v) {
            Some(Num::I(i)) => {
                let _ = write!(out, "{i}");
            }
            Some(Num::U(u)) => {
                let _ = write!(out, "{u}");
            }
            Some(Num::F(f)) => out.push_str(&format::float_v(f)),
            None => {}
        },
        Value::String(s) => out.push_str(s),
        Value::Array(a) => {
            out.push('[');
            for (i, e) in a.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_v(out, e, depth + 1)?;
                check_len(out)?;
            }
            out.push(']');
        }
        Value::Object(o) => {
            out.push_str("map[");
            for (i, (k, e)) in sorted_entries(o).into_iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                write_v(out, e, depth + 1)?;
                check_len(out)?;
            }
            out.push(']');
        }
    }
    check_len(out)
}

pub(crate) fn check_len(out: &str) -> Result<(), String> {
    if out.len() > MAX_VALUE_BYTES {
        Err(too_large())
    } else {
        Ok(())
    }
}

/// sprig's `strval`: strings as-is, everything else via `%v`.
pub(crate) fn strval(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        other => to_v(other),
    }
}

/// A `string` parameter of a Go function: Go's reflection rejects anything else.
pub(crate) fn arg_str(v: &Value) -> Result<&str, String> {
    match v {
        Value::String(s) => Ok(s),
        Value::Null => Err("invalid value; expected string".into()),
        other => Err(format!(
            "wrong type for value; expected string; got {}",
            type_name(other)
        )),
    }
}

/// An `int` parameter. Integral floats are accepted too, because Go code
/// fed the same JSON would have had float64 values where we have integers.
pub(crate) fn arg_int(v: &Value) -> Result<i64, String> {
    match num(v) {
        Some(Num::I(i)) => Ok(i),
        Some(Num::U(u)) => i64::try_from(u).map_err(|_| format!("integer {u} overflows int")),
        Some(Num::F(f)) if f.fract() == 0.0 && f.abs() < 9.2e18 => Ok(f as i64),
        _ if v.is_null() => Err("invalid value; expected int".into()),
        _ => Err(format!(
            "wrong type for value; expected int; got {}",
            type_name(v)
        )),
    }
}

/// spf13/cast's ToInt64 as used by sprig arithmetic: lenient, 0 on failure.
pub(crate) fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Number(_) => match num(v) {
            Some(Num::I(i)) => i,
            Some(Num::U(u)) => u as i64,
            Some(Num::F(f)) => f as i64,
            None => 0,
        },
        Value::Bool(b) => i64::from(*b),
        Value::String(s) => {
            // cast trims a zero decimal part ("3.0" -> "3") and parses base 0.
            let t = s.trim();
            let t = match t.split_once('.') {
                Some((int, frac)) if !frac.is_empty() && frac.bytes().all(|b| b == b'0') => int,
                _ => t,
            };
            match crate::parse::parse_number(t).as_ref().and_then(num) {
                Some(Num::I(i)) => i,
                _ => 0,
            }
        }
        _ => 0,
    }
}

/// spf13/cast's ToFloat64: lenient, 0 on failure.
pub(crate) fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Number(_) => num(v).map_or(0.0, Num::as_f64),
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::String(s) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .unwrap_or(0.0),
        _ => 0.0,
    }
}

/// Go's `template.HTMLEscapeString` (also used for `Mode::Html`).
pub(crate) fn html_escape(s: &str) -> String {
    if !s.contains(['&', '<', '>', '"', '\'', '\0']) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use serde_json::json;

    #[test]
    fn truthiness_like_go() {
        for v in [
            json!(null),
            json!(false),
            json!(0),
            json!(0.0),
            json!(""),
            json!([]),
            json!({}),
        ] {
            assert!(!truthy(&v), "{v}");
        }
        for v in [
            json!(true),
            json!(1),
            json!(-0.5),
            json!("x"),
            json!([0]),
            json!({"a": null}),
        ] {
            assert!(truthy(&v), "{v}");
        }
    }

    #[test]
    fn percent_v_formatting() {
        assert_eq!(to_v(&json!("s")).unwrap(), "s");
        assert_eq!(to_v(&json!(3)).unwrap(), "3");
        assert_eq!(to_v(&json!(1.5)).unwrap(), "1.5");
        assert_eq!(to_v(&json!(1e21)).unwrap(), "1e+21");
        assert_eq!(to_v(&json!(null)).unwrap(), "<nil>");
        assert_eq!(
            to_v(&json!([1, "a", null, [true]])).unwrap(),
            "[1 a <nil> [true]]"
        );
        assert_eq!(
            to_v(&json!({"b": 2, "a": {"c": [1]}})).unwrap(),
            "map[a:map[c:[1]] b:2]"
        );
    }

    #[test]
    fn weight_bounds_size_and_depth() {
        assert!(weight(&json!({"a": [1, 2, "xyz"]}), 1000).is_ok());
        assert!(weight(&json!("x".repeat(100)), 50).is_err());
        let mut deep = json!(1);
        for _ in 0..200 {
            deep = json!([deep]);
        }
        assert_eq!(weight(&deep, usize::MAX).unwrap_err(), too_deep());
        assert_eq!(to_v(&deep).unwrap_err(), too_deep());
    }

    #[test]
    fn conversions() {
        assert_eq!(to_int64(&json!("42")), 42);
        assert_eq!(to_int64(&json!("3.0")), 3);
        assert_eq!(to_int64(&json!("0x10")), 16);
        assert_eq!(to_int64(&json!("x")), 0);
        assert_eq!(to_int64(&json!(2.9)), 2);
        assert_eq!(to_int64(&json!(true)), 1);
        assert_eq!(to_float64(&json!("2.5")), 2.5);
        assert_eq!(to_float64(&json!(null)), 0.0);
        assert_eq!(arg_int(&json!(3.0)).unwrap(), 3);
        assert!(arg_int(&json!(3.5)).is_err());
        assert_eq!(
            arg_str(&json!(null)).unwrap_err(),
            "invalid value; expected string"
        );
        assert_eq!(
            arg_str(&json!(1)).unwrap_err(),
            "wrong type for value; expected string; got int"
        );
    }

    #[test]
    fn html_escaping() {
        assert_eq!(html_escape("a&b<c>\"d'"), "a&amp;b&lt;c&gt;&#34;d&#39;");
        assert_eq!(html_escape("plain"), "plain");
    }
}
