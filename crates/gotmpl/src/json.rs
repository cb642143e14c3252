//! JSON encoding the way Go's `encoding/json` (and so sprig's `toJson` /
//! `toPrettyJson`) does it: sorted keys, `<>&` and U+2028/U+2029 escaped,
//! Go's float layout. serde_json's own writer differs in all of these, and
//! header values produced by Oathkeeper mutators are compared byte-for-byte
//! by some upstreams.

use std::fmt::Write as _;

use serde_json::Value;

use crate::format::json_float;
use crate::limits::MAX_VALUE_DEPTH;
use crate::value::{Num, check_len, num, sorted_entries, too_deep};

/// `json.Marshal` (compact) or `json.MarshalIndent(v, "", "  ")` (pretty).
pub(crate) fn encode(v: &Value, pretty: bool) -> Result<String, String> {
    let mut out = String::new();
    write(&mut out, v, pretty, 0)?;
    Ok(out)
}

fn newline(out: &mut String, level: usize) {
    out.push('\n');
    for _ in 0..level {
        out.push_str("  ");
    }
}

fn write(out: &mut String, v: &Value, pretty: bool, level: usize) -> Result<(), String> {
    if level > MAX_VALUE_DEPTH {
        return Err(too_deep());
    }
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(_) => match num(v) {
            Some(Num::I(i)) => {
                let _ = write!(out, "{i}");
            }
            Some(Num::U(u)) => {
                let _ = write!(out, "{u}");
            }
            Some(Num::F(f)) => out.push_str(&json_float(f)),
            None => out.push_str("null"),
        },
        Value::String(s) => write_str(out, s),
        Value::Array(a) => {
            out.push('[');
            for (i, e) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if pretty {
                    newline(out, level + 1);
                }
                write(out, e, pretty, level + 1)?;
                check_len(out)?;
            }
            if pretty && !a.is_empty() {
                newline(out, level);
            }
            out.push(']');
        }
        Value::Object(o) => {
            out.push('{');
            for (i, (k, e)) in sorted_entries(o).into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if pretty {
                    newline(out, level + 1);
                }
                write_str(out, k);
                out.push(':');
                if pretty {
                    out.push(' ');
                }
                write(out, e, pretty, level + 1)?;
                check_len(out)?;
            }
            if pretty && !o.is_empty() {
                newline(out, level);
            }
            out.push('}');
        }
    }
    check_len(out)
}

fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use serde_json::json;

    #[test]
    fn compact_like_go() {
        let v = json!({"b": [1, 2.5, null, true], "a": "x<y>&\"\u{2028}\u{1}"});
        assert_eq!(
            encode(&v, false).unwrap(),
            r#"{"a":"x\u003cy\u003e\u0026\"\u2028\u0001","b":[1,2.5,null,true]}"#
        );
        assert_eq!(encode(&json!(1e21), false).unwrap(), "1e+21");
        assert_eq!(encode(&json!({}), false).unwrap(), "{}");
    }

    #[test]
    fn pretty_like_go() {
        let v = json!({"a": {"c": [], "b": [1, {}]}, "d": 1});
        assert_eq!(
            encode(&v, true).unwrap(),
            "{\n  \"a\": {\n    \"b\": [\n      1,\n      {}\n    ],\n    \"c\": []\n  },\n  \"d\": 1\n}"
        );
    }

    #[test]
    fn round_trips_through_serde() {
        let v = json!({"email": "a@b.c", "n": [1, -2, 3.25], "nested": {"k": "v\n"}});
        let back: Value = serde_json::from_str(&encode(&v, false).unwrap()).unwrap();
        assert_eq!(back, v);
    }
}
