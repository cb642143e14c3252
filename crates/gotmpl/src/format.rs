//! Go `fmt` behaviour needed by templates: float formatting (`%v`, `%e`,
//! `%f`, `%g`), `strconv.Quote`, and a `Sprintf`/`Sprint`/`Sprintln` subset.
//!
//! Rust's shortest float printing (`{:e}`) yields the same digits as Go's
//! shortest formatting; only the layout (exponent style, `%g` thresholds)
//! differs, so we take digits from Rust and lay them out Go's way.

use std::fmt::Write as _;

use serde_json::Value;

use crate::limits::{MAX_VALUE_BYTES, MAX_VALUE_DEPTH};
use crate::value::{Num, check_len, num, sorted_entries, to_v, too_deep, too_large, type_name};

/// Go's limit on explicit widths/precisions (`fmt` rejects larger ones).
const MAX_WIDTH: usize = 1_000_000;

/// Decimal digits (no leading/trailing zeros, at least "0") and the decimal
/// exponent of the first digit, from Rust's `{:e}` output of a non-negative float.
fn split_exp(s: &str) -> (String, i32) {
    let (mant, exp) = s.split_once('e').unwrap_or((s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
    }
    (digits, exp)
}

fn shortest(a: f64) -> (String, i32) {
    if a == 0.0 {
        return ("0".into(), 0);
    }
    split_exp(&format!("{a:e}"))
}

fn layout_e(out: &mut String, digits: &str, exp: i32, min_frac: usize, upper: bool) {
    let mut chars = digits.chars();
    out.push(chars.next().unwrap_or('0'));
    let rest: String = chars.collect();
    if !rest.is_empty() || min_frac > 0 {
        out.push('.');
        out.push_str(&rest);
        for _ in rest.len()..min_frac {
            out.push('0');
        }
    }
    out.push(if upper { 'E' } else { 'e' });
    out.push(if exp < 0 { '-' } else { '+' });
    let _ = write!(out, "{:02}", exp.unsigned_abs());
}

fn layout_f(out: &mut String, digits: &str, dp: i32, decimals: usize) {
    let nd = digits.len() as i32;
    if dp <= 0 {
        out.push('0');
    } else {
        for i in 0..dp {
            out.push(
                digits
                    .as_bytes()
                    .get(i as usize)
                    .map_or('0', |&b| char::from(b)),
            );
        }
    }
    if decimals > 0 {
        out.push('.');
        for i in 0..decimals as i32 {
            let idx = dp + i;
            let c = if idx < 0 || idx >= nd {
                '0'
            } else {
                char::from(digits.as_bytes()[idx as usize])
            };
            out.push(c);
        }
    }
}

fn sign(out: &mut String, f: f64) {
    if f.is_sign_negative() {
        out.push('-');
    }
}

/// Precision Rust's formatter is asked for at most. Past it an f64's digits are all
/// zeros (its exact decimal expansion has at most 767 significant digits and 1074
/// decimals), and Rust panics on precisions above `u16::MAX`, which Go allows (up to
/// [`MAX_WIDTH`]).
const MAX_EXACT_DIGITS: usize = 1100;

/// `%g` with optional precision (`None` = shortest, which is also `%v`).
pub(crate) fn fmt_g(f: f64, prec: Option<usize>, upper: bool) -> String {
    let mut out = String::new();
    sign(&mut out, f);
    let a = f.abs();
    let (digits, exp) = match prec {
        None => shortest(a),
        Some(p) => {
            let p = p.max(1);
            if a == 0.0 {
                ("0".into(), 0)
            } else {
                split_exp(&format!("{:.*e}", (p - 1).min(MAX_EXACT_DIGITS), a))
            }
        }
    };
    let nd = digits.len() as i32;
    let dp = exp + 1;
    let eprec = match prec {
        None => 6,
        Some(p) => {
            let p = p.max(1) as i32;
            if p > nd && nd >= dp { nd } else { p }
        }
    };
    if exp < -4 || exp >= eprec {
        layout_e(&mut out, &digits, exp, 0, upper);
    } else {
        layout_f(&mut out, &digits, dp, (nd - dp).max(0) as usize);
    }
    out
}

/// Go's `%v` for float64.
pub(crate) fn float_v(f: f64) -> String {
    fmt_g(f, None, false)
}

/// `%e` with precision.
pub(crate) fn fmt_e(f: f64, prec: usize, upper: bool) -> String {
    let mut out = String::new();
    sign(&mut out, f);
    let (digits, exp) = if f == 0.0 {
        ("0".into(), 0)
    } else {
        split_exp(&format!("{:.*e}", prec.min(MAX_EXACT_DIGITS), f.abs()))
    };
    // Pads the digits (trailing zeros trimmed above) back to `prec`.
    layout_e(&mut out, &digits, exp, prec, upper);
    out
}

/// `%f` with precision.
pub(crate) fn fmt_f(f: f64, prec: usize) -> String {
    let exact = prec.min(MAX_EXACT_DIGITS);
    let mut out = format!("{f:.exact$}");
    out.extend(std::iter::repeat_n('0', prec - exact));
    out
}

/// encoding/json's float layout: plain decimals unless tiny or huge.
pub(crate) fn json_float(f: f64) -> String {
    let a = f.abs();
    let mut out = String::new();
    sign(&mut out, f);
    let (digits, exp) = shortest(a);
    if a != 0.0 && !(1e-6..1e21).contains(&a) {
        layout_e(&mut out, &digits, exp, 0, false);
        // Go trims "e-07" to "e-7" (but keeps "e+21").
        if let Some(i) = out.rfind("e-0") {
            out.remove(i + 2);
        }
    } else {
        let nd = digits.len() as i32;
        layout_f(&mut out, &digits, exp + 1, (nd - exp - 1).max(0) as usize);
    }
    out
}

/// Approximates Go's `strconv.IsPrint` (letters, marks, numbers,
/// punctuation, symbols and ASCII space).
fn is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(c as u32,
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x180E | 0x200B..=0x200F
        | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F | 0xFEFF
        | 0xFFF9..=0xFFFB | 0xE000..=0xF8FF | 0xF0000..=0x10FFFF)
}

fn escape_char(out: &mut String, c: char, quote: char) {
    if c == quote || c == '\\' {
        out.push('\\');
        out.push(c);
        return;
    }
    if is_print(c) {
        out.push(c);
        return;
    }
    match c {
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        c if (c as u32) < 0x20 || c == '\u{7f}' => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if (c as u32) < 0x10000 => {
            let _ = write!(out, "\\u{:04x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\U{:08x}", c as u32);
        }
    }
}

/// Go's `strconv.Quote` (what `%q` and sprig's `quote` produce).
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        escape_char(&mut out, c, '"');
    }
    out.push('"');
    out
}

fn quote_rune(c: char) -> String {
    let mut out = String::from("'");
    escape_char(&mut out, c, '\'');
    out.push('\'');
    out
}

fn can_backquote(s: &str) -> bool {
    s.chars()
        .all(|c| c != '`' && c != '\u{FEFF}' && (c == '\t' || !c.is_control()))
}

/// `fmt.Sprint`: spaces between operands when neither side is a string.
pub(crate) fn sprint(args: &[&Value]) -> Result<String, String> {
    let mut out = String::new();
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = a.is_string();
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        crate::value::write_v(&mut out, a, 0)?;
        prev_string = is_string;
    }
    Ok(out)
}

/// `fmt.Sprintln`: always spaces, trailing newline.
pub(crate) fn sprintln(args: &[&Value]) -> Result<String, String> {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        crate::value::write_v(&mut out, a, 0)?;
    }
    out.push('\n');
    Ok(out)
}

#[derive(Clone, Copy, Default)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
    verb: char,
}

fn read_num(chars: &[char], i: &mut usize) -> Option<usize> {
    let start = *i;
    let mut n: usize = 0;
    while let Some(d) = chars.get(*i).and_then(|c| c.to_digit(10)) {
        n = n.saturating_mul(10).saturating_add(d as usize);
        *i += 1;
    }
    (*i > start).then_some(n)
}

/// `fmt.Sprintf` for the verbs templates use (`%v %s %d %q %t %x %X %o %b
/// %c %U %e %f %g` and `%%`), with flags `-+# 0`, width and precision.
pub(crate) fn sprintf(format: &str, args: &[&Value]) -> Result<String, String> {
    let chars: Vec<char> = format.chars().collect();
    let mut out = String::new();
    let mut argi = 0;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&f) = chars.get(i) {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '#' => spec.sharp = true,
                ' ' => spec.space = true,
                '0' => spec.zero = true,
                _ => break,
            }
            i += 1;
        }
        spec.width = read_num(&chars, &mut i);
        if chars.get(i) == Some(&'.') {
            i += 1;
            spec.prec = Some(read_num(&chars, &mut i).unwrap_or(0));
        }
        if spec.width.is_some_and(|w| w > MAX_WIDTH) {
            out.push_str("%!(BADWIDTH)");
            spec.width = None;
        }
        if spec.prec.is_some_and(|p| p > MAX_WIDTH) {
            out.push_str("%!(BADPREC)");
            spec.prec = None;
        }
        let Some(&verb) = chars.get(i) else {
            out.push_str("%!(NOVERB)");
            break;
        };
        i += 1;
        spec.verb = verb;
        if verb == '%' {
            out.push('%');
            continue;
        }
        match args.get(argi) {
            None => {
                let _ = write!(out, "%!{verb}(MISSING)");
            }
            Some(v) => {
                argi += 1;
                format_arg(&mut out, &spec, v, 0)?;
            }
        }
        check_len(&out)?;
    }
    if argi < args.len() {
        out.push_str("%!(EXTRA ");
        for (k, a) in args[argi..].iter().enumerate() {
            if k > 0 {
                out.push_str(", ");
            }
            if a.is_null() {
                out.push_str("<nil>");
            } else {
                let _ = write!(out, "{}={}", type_name(a), to_v(a)?);
            }
        }
        out.push(')');
    }
    check_len(&out)?;
    Ok(out)
}

fn bad_verb(spec: &Spec, v: &Value) -> Result<String, String> {
    if v.is_null() {
        return Ok(format!("%!{}(<nil>)", spec.verb));
    }
    Ok(format!("%!{}({}={})", spec.verb, type_name(v), to_v(v)?))
}

/// Pads `s` to the spec's width. Zero padding goes after a leading sign for numbers.
fn pad(out: &mut String, spec: &Spec, s: &str, numeric: bool) {
    let len = s.chars().count();
    let width = spec.width.unwrap_or(0);
    if len >= width {
        out.push_str(s);
        return;
    }
    let fill = width - len;
    if spec.minus {
        out.push_str(s);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if spec.zero {
        let (sign, rest) = match s.chars().next() {
            Some(c @ ('-' | '+' | ' ')) if numeric => (Some(c), &s[1..]),
            _ => (None, s),
        };
        if let Some(c) = sign {
            out.push(c);
        }
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(rest);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(s);
    }
}

fn with_sign(spec: &Spec, negative: bool, body: String) -> String {
    if negative {
        format!("-{body}")
    } else if spec.plus {
        format!("+{body}")
    } else if spec.space {
        format!(" {body}")
    } else {
        body
    }
}

fn format_int(spec: &Spec, neg: bool, mag: u128) -> Option<String> {
    let mut digits = match spec.verb {
        'd' | 'v' => mag.to_string(),
        'x' => format!("{mag:x}"),
        'X' => format!("{mag:X}"),
        'o' | 'O' => format!("{mag:o}"),
        'b' => format!("{mag:b}"),
        _ => return None,
    };
    if let Some(p) = spec.prec {
        if p == 0 && mag == 0 {
            digits.clear();
        }
        // One allocation: inserting zeros one by one is quadratic, and a template may
        // ask for a precision up to MAX_WIDTH.
        if digits.len() < p {
            digits = "0".repeat(p - digits.len()) + &digits;
        }
    }
    let prefix = match spec.verb {
        'x' if spec.sharp => "0x",
        'X' if spec.sharp => "0X",
        'o' if spec.sharp && !digits.starts_with('0') => "0",
        'O' => "0o",
        'b' if spec.sharp => "0b",
        _ => "",
    };
    Some(with_sign(spec, neg, format!("{prefix}{digits}")))
}

fn format_float(spec: &Spec, f: f64) -> Option<String> {
    let s = match spec.verb {
        'v' => fmt_g(f, spec.prec, false),
        'g' | 'G' => fmt_g(f, spec.prec, spec.verb == 'G'),
        'e' | 'E' => fmt_e(f, spec.prec.unwrap_or(6), spec.verb == 'E'),
        'f' | 'F' => fmt_f(f, spec.prec.unwrap_or(6)),
        _ => return None,
    };
    Some(match s.strip_prefix('-') {
        Some(body) => with_sign(spec, true, body.to_string()),
        None => with_sign(spec, false, s),
    })
}

fn format_arg(out: &mut String, spec: &Spec, v: &Value, depth: usize) -> Result<(), String> {
    if depth > MAX_VALUE_DEPTH {
        return Err(too_deep());
    }
    let verb = spec.verb;
    match v {
        Value::Array(a) => {
            out.push('[');
            for (i, e) in a.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                format_arg(out, spec, e, depth + 1)?;
                check_len(out)?;
            }
            out.push(']');
            return Ok(());
        }
        Value::Object(o) => {
            out.push_str("map[");
            for (i, (k, e)) in sorted_entries(o).into_iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                format_arg(out, spec, &Value::String(k.clone()), depth + 1)?;
                out.push(':');
                format_arg(out, spec, e, depth + 1)?;
                check_len(out)?;
            }
            out.push(']');
            return Ok(());
        }
        _ => {}
    }
    let (s, numeric) = match v {
        Value::Null if verb == 'v' => ("<nil>".to_string(), false),
        Value::Bool(b) if matches!(verb, 'v' | 't') => (b.to_string(), false),
        Value::String(s) => match verb {
            'v' | 's' | 'q' | 'x' | 'X' => {
                let s = match spec.prec {
                    Some(p) if verb != 'x' && verb != 'X' => s.chars().take(p).collect(),
                    _ => s.clone(),
                };
                let s = match verb {
                    'q' if spec.sharp && can_backquote(&s) => format!("`{s}`"),
                    'q' => go_quote(&s),
                    'v' if spec.sharp => go_quote(&s),
                    'x' | 'X' => {
                        let bytes = s.as_bytes();
                        let bytes = &bytes[..spec.prec.unwrap_or(bytes.len()).min(bytes.len())];
                        let mut h = String::with_capacity(bytes.len() * 2);
                        for b in bytes {
                            let _ = if verb == 'x' {
                                write!(h, "{b:02x}")
                            } else {
                                write!(h, "{b:02X}")
                            };
                        }
                        h
                    }
                    _ => s,
                };
                (s, false)
            }
            _ => (bad_verb(spec, v)?, false),
        },
        Value::Number(_) => match num(v) {
            Some(n @ (Num::I(_) | Num::U(_))) => {
                let (neg, mag) = match n {
                    Num::I(i) => (i < 0, u128::from(i.unsigned_abs())),
                    Num::U(u) => (false, u128::from(u)),
                    Num::F(_) => (false, 0),
                };
                match verb {
                    'c' => (
                        u32::try_from(mag)
                            .ok()
                            .filter(|_| !neg)
                            .and_then(char::from_u32)
                            .unwrap_or('\u{FFFD}')
                            .to_string(),
                        false,
                    ),
                    'q' => (
                        quote_rune(
                            u32::try_from(mag)
                                .ok()
                                .filter(|_| !neg)
                                .and_then(char::from_u32)
                                .unwrap_or('\u{FFFD}'),
                        ),
                        false,
                    ),
                    'U' => {
                        let mut s = format!("U+{mag:04X}");
                        if spec.sharp
                            && let Some(c) = u32::try_from(mag).ok().and_then(char::from_u32)
                            && is_print(c)
                        {
                            let _ = write!(s, " '{c}'");
                        }
                        (s, false)
                    }
                    // Go would reject these for ints, but JSON numbers are
                    // float64 in Go, so templates written against Go data
                    // legitimately use %f on values we hold as integers.
                    'e' | 'E' | 'f' | 'F' | 'g' | 'G' => match format_float(spec, n.as_f64()) {
                        Some(s) => (s, true),
                        None => (bad_verb(spec, v)?, false),
                    },
                    _ => match format_int(spec, neg, mag) {
                        Some(s) => (s, true),
                        None => (bad_verb(spec, v)?, false),
                    },
                }
            }
            Some(Num::F(f)) => match format_float(spec, f) {
                Some(s) => (s, true),
                None => (bad_verb(spec, v)?, false),
            },
            None => (String::new(), false),
        },
        _ => (bad_verb(spec, v)?, false),
    };
    if s.len() > MAX_VALUE_BYTES {
        return Err(too_large());
    }
    pad(out, spec, &s, numeric);
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use serde_json::json;

    fn pf(f: &str, args: &[Value]) -> String {
        let refs: Vec<&Value> = args.iter().collect();
        sprintf(f, &refs).unwrap()
    }

    #[test]
    fn float_v_matches_go() {
        assert_eq!(float_v(1.5), "1.5");
        assert_eq!(float_v(3.0), "3");
        assert_eq!(float_v(0.0), "0");
        assert_eq!(float_v(-2.25), "-2.25");
        assert_eq!(float_v(1e21), "1e+21");
        assert_eq!(float_v(1e6), "1e+06");
        assert_eq!(float_v(123456.0), "123456");
        assert_eq!(float_v(1234567.0), "1.234567e+06");
        assert_eq!(float_v(0.0001), "0.0001");
        assert_eq!(float_v(0.00001), "1e-05");
        assert_eq!(float_v(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(float_v(1e100), "1e+100");
    }

    #[test]
    fn fixed_precision_floats() {
        assert_eq!(fmt_f(1.23456, 2), "1.23");
        assert_eq!(fmt_f(2.0, 0), "2");
        assert_eq!(fmt_e(1234.5678, 2, false), "1.23e+03");
        assert_eq!(fmt_e(0.0, 3, false), "0.000e+00");
        assert_eq!(fmt_g(1234.5678, Some(3), false), "1.23e+03");
        assert_eq!(fmt_g(1.0, Some(3), false), "1");
        assert_eq!(fmt_g(0.000012345, Some(2), false), "1.2e-05");
        assert_eq!(fmt_g(123.0, Some(5), false), "123");
    }

    #[test]
    fn json_floats() {
        assert_eq!(json_float(1.5), "1.5");
        assert_eq!(json_float(1e20), "100000000000000000000");
        assert_eq!(json_float(1e21), "1e+21");
        assert_eq!(json_float(1e-7), "1e-7");
        assert_eq!(json_float(0.000001), "0.000001");
        assert_eq!(json_float(-0.5), "-0.5");
    }

    #[test]
    fn quoting() {
        assert_eq!(
            go_quote("a\"b\\c\n\t\u{1}é\u{200b}"),
            "\"a\\\"b\\\\c\\n\\t\\x01é\\u200b\""
        );
        assert_eq!(quote_rune('x'), "'x'");
        assert_eq!(quote_rune('\''), "'\\''");
    }

    #[test]
    fn printf_verbs() {
        assert_eq!(
            pf("%s-%v-%d", &[json!("a"), json!(1.5), json!(42)]),
            "a-1.5-42"
        );
        assert_eq!(
            pf(
                "%q %t %x %X",
                &[json!("hi"), json!(true), json!(255), json!("hi")]
            ),
            "\"hi\" true ff 6869"
        );
        assert_eq!(
            pf("%.2f|%f|%e", &[json!(1.23456), json!(2), json!(1234.5)]),
            "1.23|2.000000|1.234500e+03"
        );
        assert_eq!(
            pf(
                "[%5s][%-5s][%05d][%+d][%x]",
                &[json!("ab"), json!("ab"), json!(-42), json!(3), json!(-255)]
            ),
            "[   ab][ab   ][-0042][+3][-ff]"
        );
        assert_eq!(
            pf(
                "100%% %c %U %o %b",
                &[json!(65), json!(65), json!(8), json!(5)]
            ),
            "100% A U+0041 10 101"
        );
        assert_eq!(
            pf(
                "%.3s|%8.3f|%#x|%#q",
                &[json!("abcdef"), json!(1.23456), json!(255), json!("x")]
            ),
            "abc|   1.235|0xff|`x`"
        );
        assert_eq!(
            pf(
                "%v %v %s",
                &[json!([1, "a"]), json!({"k": "v"}), json!(["x", "y"])]
            ),
            "[1 a] map[k:v] [x y]"
        );
        assert_eq!(pf("%v %d", &[json!(null), json!(null)]), "<nil> %!d(<nil>)");
    }

    #[test]
    fn printf_errors_inline_like_go() {
        assert_eq!(pf("%d", &[json!("x")]), "%!d(string=x)");
        assert_eq!(pf("%s", &[json!(5)]), "%!s(int=5)");
        assert_eq!(pf("%d", &[json!(1.5)]), "%!d(float64=1.5)");
        assert_eq!(pf("%t", &[json!(1)]), "%!t(int=1)");
        assert_eq!(pf("%d %d", &[json!(1)]), "1 %!d(MISSING)");
        assert_eq!(
            pf("%d", &[json!(1), json!("x"), json!(null)]),
            "1%!(EXTRA string=x, <nil>)"
        );
        assert_eq!(pf("%", &[]), "%!(NOVERB)");
        assert_eq!(pf("%z", &[json!(1)]), "%!z(int=1)");
        assert!(pf("%99999999d", &[json!(1)]).starts_with("%!(BADWIDTH)"));
    }

    #[test]
    fn float_precision_past_what_rust_formats() {
        let f = pf("%.70000f", &[json!(0.5)]);
        assert_eq!(f.len(), 70_002);
        assert!(f.starts_with("0.5000") && f.ends_with("000"));
        // 0.1's exact value, then zeros, as Go prints it.
        let e = pf("%.70000e", &[json!(-0.1)]);
        assert!(e.starts_with("-1.000000000000000055511151231257827021181583404541015625000"));
        assert!(e.ends_with("0e-01") && e.len() == 70_007, "{}", e.len());
        assert_eq!(
            pf("%.70000g", &[json!(0.1)]),
            "0.1000000000000000055511151231257827021181583404541015625"
        );
        assert_eq!(fmt_f(2.5, 1101).len(), 1103);
    }

    #[test]
    fn precision_up_to_the_limit_pads_with_zeros() {
        let padded = pf("%.1000000d", &[json!(-7)]);
        assert_eq!(padded.len(), 1_000_001);
        assert!(padded.starts_with("-000") && padded.ends_with("07"));
        assert!(pf("%.1000001d", &[json!(7)]).starts_with("%!(BADPREC)"));
    }

    #[test]
    fn sprint_spacing() {
        let a = json!("a");
        let one = json!(1);
        let two = json!(2);
        assert_eq!(sprint(&[&a, &one, &two, &a]).unwrap(), "a1 2a");
        assert_eq!(sprintln(&[&a, &one]).unwrap(), "a 1\n");
        assert_eq!(sprint(&[&Value::Null]).unwrap(), "<nil>");
    }
}
