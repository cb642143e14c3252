//! Turns template source into a flat token list.
//!
//! Trim markers (`{{- ` / ` -}}`) and comments are resolved here, so the
//! parser never sees them: trimming is purely textual in Go as well.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kw {
    If,
    Else,
    End,
    Range,
    With,
    Define,
    Template,
    Block,
    Break,
    Continue,
}

impl Kw {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kw::If => "if",
            Kw::Else => "else",
            Kw::End => "end",
            Kw::Range => "range",
            Kw::With => "with",
            Kw::Define => "define",
            Kw::Template => "template",
            Kw::Block => "block",
            Kw::Break => "break",
            Kw::Continue => "continue",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    Text(String),
    LDelim,
    RDelim,
    Space,
    Ident(String),
    /// `.Name` (without the dot).
    Field(String),
    /// `$name` (with the dollar).
    Var(String),
    Dot,
    Str(String),
    /// Raw number text; the parser decides int vs float.
    Number(String),
    Char(char),
    Bool(bool),
    Nil,
    Pipe,
    LParen,
    RParen,
    Declare,
    Assign,
    Comma,
    Kw(Kw),
    Eof,
}

impl Tok {
    /// Short human description used in error messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Text(_) => "text".into(),
            Tok::LDelim => "\"{{\"".into(),
            Tok::RDelim => "\"}}\"".into(),
            Tok::Space => "space".into(),
            Tok::Ident(s) => format!("identifier {s:?}"),
            Tok::Field(s) => format!("field \".{s}\""),
            Tok::Var(s) => format!("variable {s:?}"),
            Tok::Dot => "\".\"".into(),
            Tok::Str(s) => format!("string {s:?}"),
            Tok::Number(s) => format!("number {s:?}"),
            Tok::Char(c) => format!("character {c:?}"),
            Tok::Bool(b) => format!("{b}"),
            Tok::Nil => "nil".into(),
            Tok::Pipe => "\"|\"".into(),
            Tok::LParen => "\"(\"".into(),
            Tok::RParen => "\")\"".into(),
            Tok::Declare => "\":=\"".into(),
            Tok::Assign => "\"=\"".into(),
            Tok::Comma => "\",\"".into(),
            Tok::Kw(k) => format!("{{{{{}}}}}", k.as_str()),
            Tok::Eof => "EOF".into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    /// Byte offset in the source.
    pub pos: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LexError {
    pub pos: usize,
    pub msg: String,
}

fn err<T>(pos: usize, msg: impl Into<String>) -> Result<T, LexError> {
    Err(LexError {
        pos,
        msg: msg.into(),
    })
}

/// Go's notion of space inside templates (ASCII only).
pub(crate) fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// `{{-` counts as a trim marker only when followed by a space; `{{-3}}` is the number -3.
fn has_left_trim(after_delim: &str) -> bool {
    let mut it = after_delim.chars();
    it.next() == Some('-') && it.next().is_some_and(is_space)
}

/// ` -}}`: one space, a minus, and the closing delimiter.
fn has_right_trim(s: &str) -> bool {
    let mut it = s.chars();
    it.next().is_some_and(is_space) && s.get(1..).is_some_and(|r| r.starts_with("-}}"))
}

pub(crate) fn lex(src: &str) -> Result<Vec<Token>, LexError> {
    let mut toks = Vec::new();
    let mut pos = 0usize;
    let mut trim_next = false;
    loop {
        let rest = &src[pos..];
        let found = rest.find("{{").map(|i| pos + i);
        let text_end = found.unwrap_or(src.len());
        let left_trim = found.is_some_and(|f| has_left_trim(&src[f + 2..]));
        let mut text = &src[pos..text_end];
        let mut text_start = pos;
        if trim_next {
            let t = text.trim_start_matches(is_space);
            text_start += text.len() - t.len();
            text = t;
        }
        if left_trim {
            text = text.trim_end_matches(is_space);
        }
        if !text.is_empty() {
            toks.push(Token {
                tok: Tok::Text(text.to_string()),
                pos: text_start,
            });
        }
        let Some(open) = found else {
            toks.push(Token {
                tok: Tok::Eof,
                pos: src.len(),
            });
            return Ok(toks);
        };
        pos = open + 2;
        if left_trim {
            pos += 2; // "-" and the one space that makes it a marker
        }
        if src[pos..].starts_with("/*") {
            let (after, trim) = lex_comment(src, open, pos)?;
            pos = after;
            trim_next = trim;
            continue;
        }
        toks.push(Token {
            tok: Tok::LDelim,
            pos: open,
        });
        let (after, trim) = lex_action(src, open, pos, &mut toks)?;
        pos = after;
        trim_next = trim;
    }
}

/// Returns the offset after the closing delimiter and whether it trims.
fn lex_comment(src: &str, open: usize, start: usize) -> Result<(usize, bool), LexError> {
    let Some(end) = src[start + 2..].find("*/").map(|i| start + 2 + i + 2) else {
        return err(open, "unclosed comment");
    };
    let rest = &src[end..];
    if rest.starts_with("}}") {
        Ok((end + 2, false))
    } else if has_right_trim(rest) {
        Ok((end + 4, true))
    } else {
        err(end, "comment ends before closing delimiter")
    }
}

/// Lexes one action body; returns the offset after `}}` and whether it trims.
fn lex_action(
    src: &str,
    open: usize,
    mut pos: usize,
    toks: &mut Vec<Token>,
) -> Result<(usize, bool), LexError> {
    let mut parens = 0usize;
    loop {
        let rest = &src[pos..];
        let right = if rest.starts_with("}}") {
            Some((2, false))
        } else if has_right_trim(rest) {
            Some((4, true))
        } else {
            None
        };
        if let Some((len, trim)) = right {
            if parens > 0 {
                return err(pos, "unclosed left paren");
            }
            toks.push(Token {
                tok: Tok::RDelim,
                pos,
            });
            return Ok((pos + len, trim));
        }
        let Some(c) = rest.chars().next() else {
            return err(open, "unclosed action");
        };
        let start = pos;
        let tok = match c {
            c if is_space(c) => {
                // Stop before a space that belongs to a ` -}}` marker.
                let mut end = pos;
                while let Some(ch) = src[end..].chars().next() {
                    if !is_space(ch) || has_right_trim(&src[end..]) {
                        break;
                    }
                    end += 1;
                }
                pos = end;
                Tok::Space
            }
            '|' => {
                pos += 1;
                Tok::Pipe
            }
            '(' => {
                pos += 1;
                parens += 1;
                Tok::LParen
            }
            ')' => {
                if parens == 0 {
                    return err(pos, "unexpected right paren");
                }
                parens -= 1;
                pos += 1;
                Tok::RParen
            }
            ',' => {
                pos += 1;
                Tok::Comma
            }
            ':' => {
                if !rest.starts_with(":=") {
                    return err(pos, "expected :=");
                }
                pos += 2;
                Tok::Declare
            }
            '=' => {
                pos += 1;
                Tok::Assign
            }
            '"' => {
                let (s, end) = lex_quoted(src, pos)?;
                pos = end;
                Tok::Str(s)
            }
            '`' => {
                let Some(i) = src[pos + 1..].find('`') else {
                    return err(pos, "unterminated raw quoted string");
                };
                let raw = &src[pos + 1..pos + 1 + i];
                pos += i + 2;
                // Go's strconv.Unquote drops carriage returns from raw strings.
                Tok::Str(raw.replace('\r', ""))
            }
            '\'' => {
                let (ch, end) = lex_char(src, pos)?;
                pos = end;
                Tok::Char(ch)
            }
            '$' => {
                let end = scan_alnum(src, pos + 1);
                let name = src[pos..end].to_string();
                pos = end;
                Tok::Var(name)
            }
            '.' => {
                let next = src[pos + 1..].chars().next();
                match next {
                    Some(d) if d.is_ascii_digit() => {
                        let end = scan_number(src, pos);
                        let s = src[pos..end].to_string();
                        pos = end;
                        Tok::Number(s)
                    }
                    Some(n) if is_alnum(n) => {
                        let end = scan_alnum(src, pos + 1);
                        let name = src[pos + 1..end].to_string();
                        pos = end;
                        Tok::Field(name)
                    }
                    _ => {
                        pos += 1;
                        Tok::Dot
                    }
                }
            }
            c if c.is_ascii_digit() || c == '+' || c == '-' => {
                let end = scan_number(src, pos);
                let s = src[pos..end].to_string();
                pos = end;
                Tok::Number(s)
            }
            c if is_alnum(c) => {
                let end = scan_alnum(src, pos);
                let word = &src[pos..end];
                pos = end;
                keyword(word)
            }
            other => {
                return err(
                    pos,
                    format!(
                        "unrecognized character in action: U+{:04X} {other:?}",
                        other as u32
                    ),
                );
            }
        };
        toks.push(Token { tok, pos: start });
    }
}

fn keyword(word: &str) -> Tok {
    match word {
        "if" => Tok::Kw(Kw::If),
        "else" => Tok::Kw(Kw::Else),
        "end" => Tok::Kw(Kw::End),
        "range" => Tok::Kw(Kw::Range),
        "with" => Tok::Kw(Kw::With),
        "define" => Tok::Kw(Kw::Define),
        "template" => Tok::Kw(Kw::Template),
        "block" => Tok::Kw(Kw::Block),
        "break" => Tok::Kw(Kw::Break),
        "continue" => Tok::Kw(Kw::Continue),
        "true" => Tok::Bool(true),
        "false" => Tok::Bool(false),
        "nil" => Tok::Nil,
        _ => Tok::Ident(word.to_string()),
    }
}

fn scan_alnum(src: &str, mut pos: usize) -> usize {
    while let Some(c) = src[pos..].chars().next() {
        if !is_alnum(c) {
            break;
        }
        pos += c.len_utf8();
    }
    pos
}

/// Greedy scan of anything that could belong to a Go number literal; the
/// parser validates it (so `1x` becomes a "bad number syntax" error).
fn scan_number(src: &str, start: usize) -> usize {
    let bytes = src.as_bytes();
    let mut pos = start;
    if matches!(bytes.get(pos), Some(b'+' | b'-')) {
        pos += 1;
    }
    let hex = src[pos..].starts_with("0x") || src[pos..].starts_with("0X");
    while let Some(&b) = bytes.get(pos) {
        let exp_sign = matches!(b, b'+' | b'-')
            && pos > start
            && match bytes[pos - 1] {
                b'e' | b'E' => !hex,
                b'p' | b'P' => true,
                _ => false,
            };
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || exp_sign {
            pos += 1;
        } else {
            break;
        }
    }
    pos
}

fn lex_quoted(src: &str, start: usize) -> Result<(String, usize), LexError> {
    let bytes = src.as_bytes();
    let mut pos = start + 1;
    loop {
        match bytes.get(pos) {
            None | Some(b'\n') => return err(start, "unterminated quoted string"),
            Some(b'\\') => {
                if matches!(bytes.get(pos + 1), None | Some(b'\n')) {
                    return err(start, "unterminated quoted string");
                }
                pos += 2;
            }
            Some(b'"') => break,
            Some(_) => pos += 1,
        }
    }
    // `pos` may sit inside a multi-byte char only if the byte after a
    // backslash started one; unquote reports that as a bad escape.
    let body = src.get(start + 1..pos).unwrap_or_default();
    let s = unquote(body, '"').map_err(|m| LexError { pos: start, msg: m })?;
    Ok((s, pos + 1))
}

fn lex_char(src: &str, start: usize) -> Result<(char, usize), LexError> {
    let bytes = src.as_bytes();
    let mut pos = start + 1;
    loop {
        match bytes.get(pos) {
            None | Some(b'\n') => return err(start, "unterminated character constant"),
            Some(b'\\') => {
                if matches!(bytes.get(pos + 1), None | Some(b'\n')) {
                    return err(start, "unterminated character constant");
                }
                pos += 2;
            }
            Some(b'\'') => break,
            Some(_) => pos += 1,
        }
    }
    let body = src.get(start + 1..pos).unwrap_or_default();
    let ch = unquote_char(body).map_err(|m| LexError { pos: start, msg: m })?;
    Ok((ch, pos + 1))
}

fn unquote_char(body: &str) -> Result<char, String> {
    let bad = || format!("malformed character constant: '{body}'");
    let mut chars = body.chars();
    let first = chars.next().ok_or_else(bad)?;
    if first != '\\' {
        return if chars.next().is_none() {
            Ok(first)
        } else {
            Err(bad())
        };
    }
    let mut it = body.char_indices().peekable();
    it.next();
    let v = read_escape(&mut it, '\'')?;
    if it.next().is_some() {
        return Err(bad());
    }
    match v {
        Escaped::Char(c) => Ok(c),
        Escaped::Byte(b) => Ok(char::from(b)),
    }
}

enum Escaped {
    Char(char),
    Byte(u8),
}

type CharIter<'a> = std::iter::Peekable<std::str::CharIndices<'a>>;

fn read_hex(it: &mut CharIter<'_>, n: usize) -> Result<u32, String> {
    let mut v = 0u32;
    for _ in 0..n {
        let (_, c) = it.next().ok_or("invalid escape: too few hex digits")?;
        let d = c.to_digit(16).ok_or("invalid escape: bad hex digit")?;
        v = v * 16 + d;
    }
    Ok(v)
}

/// Reads one escape sequence (after the backslash).
fn read_escape(it: &mut CharIter<'_>, quote: char) -> Result<Escaped, String> {
    let (_, c) = it.next().ok_or("invalid escape at end of string")?;
    let ch = match c {
        'a' => '\u{7}',
        'b' => '\u{8}',
        'f' => '\u{c}',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        'v' => '\u{b}',
        '\\' => '\\',
        q if q == quote => q,
        'x' => return Ok(Escaped::Byte(read_hex(it, 2)? as u8)),
        'u' | 'U' => {
            let v = read_hex(it, if c == 'u' { 4 } else { 8 })?;
            return char::from_u32(v)
                .map(Escaped::Char)
                .ok_or_else(|| format!("invalid escape: bad code point {v:#x}"));
        }
        '0'..='7' => {
            let mut v = c.to_digit(8).unwrap_or(0);
            for _ in 0..2 {
                let (_, d) = it.next().ok_or("invalid escape: too few octal digits")?;
                v = v * 8 + d.to_digit(8).ok_or("invalid escape: bad octal digit")?;
            }
            return u8::try_from(v)
                .map(Escaped::Byte)
                .map_err(|_| "invalid escape: octal value out of range".to_string());
        }
        other => return Err(format!("invalid escape sequence \\{other}")),
    };
    Ok(Escaped::Char(ch))
}

/// Go's strconv.Unquote for a double-quoted body (without the quotes).
pub(crate) fn unquote(body: &str, quote: char) -> Result<String, String> {
    if !body.contains('\\') {
        return Ok(body.to_string());
    }
    let mut out: Vec<u8> = Vec::with_capacity(body.len());
    let mut it = body.char_indices().peekable();
    while let Some((_, c)) = it.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match read_escape(&mut it, quote)? {
            Escaped::Char(ch) => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
            }
            Escaped::Byte(b) => out.push(b),
        }
    }
    // \x escapes can produce invalid UTF-8; Rust strings cannot hold that,
    // so invalid sequences become U+FFFD.
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn kinds(src: &str) -> Vec<Tok> {
        lex(src).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn text_only() {
        assert_eq!(kinds("hello"), vec![Tok::Text("hello".into()), Tok::Eof]);
        assert_eq!(kinds(""), vec![Tok::Eof]);
    }

    #[test]
    fn simple_action() {
        assert_eq!(
            kinds("a{{ .B.c }}d"),
            vec![
                Tok::Text("a".into()),
                Tok::LDelim,
                Tok::Space,
                Tok::Field("B".into()),
                Tok::Field("c".into()),
                Tok::Space,
                Tok::RDelim,
                Tok::Text("d".into()),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn trim_markers() {
        assert_eq!(
            kinds("a  \n{{- 1 -}}\n  b"),
            vec![
                Tok::Text("a".into()),
                Tok::LDelim,
                Tok::Number("1".into()),
                Tok::RDelim,
                Tok::Text("b".into()),
                Tok::Eof
            ]
        );
        // `{{-3}}` is a negative number, not a trim marker.
        assert_eq!(
            kinds("a {{-3}}"),
            vec![
                Tok::Text("a ".into()),
                Tok::LDelim,
                Tok::Number("-3".into()),
                Tok::RDelim,
                Tok::Eof
            ]
        );
    }

    #[test]
    fn comments_vanish() {
        assert_eq!(
            kinds("a {{/* x }} */}} b"),
            vec![Tok::Text("a ".into()), Tok::Text(" b".into()), Tok::Eof]
        );
        assert_eq!(
            kinds("a {{- /* x */ -}} b"),
            vec![Tok::Text("a".into()), Tok::Text("b".into()), Tok::Eof]
        );
        assert!(lex("{{/* x").is_err());
        assert!(lex("{{/* x */ }}").is_err());
    }

    #[test]
    fn strings_and_chars() {
        assert_eq!(
            kinds(r#"{{"a\n\"\x41\u00e9" `r\n` 'x' '\n'}}"#),
            vec![
                Tok::LDelim,
                Tok::Str("a\n\"Aé".into()),
                Tok::Space,
                Tok::Str("r\\n".into()),
                Tok::Space,
                Tok::Char('x'),
                Tok::Space,
                Tok::Char('\n'),
                Tok::RDelim,
                Tok::Eof
            ]
        );
        assert!(lex("{{\"abc}}").is_err());
        assert!(lex("{{\"a\\q\"}}").is_err());
        assert!(lex("{{`abc}}").is_err());
    }

    #[test]
    fn operators_and_vars() {
        assert_eq!(
            kinds("{{$x := (1)|f, $ = .}}"),
            vec![
                Tok::LDelim,
                Tok::Var("$x".into()),
                Tok::Space,
                Tok::Declare,
                Tok::Space,
                Tok::LParen,
                Tok::Number("1".into()),
                Tok::RParen,
                Tok::Pipe,
                Tok::Ident("f".into()),
                Tok::Comma,
                Tok::Space,
                Tok::Var("$".into()),
                Tok::Space,
                Tok::Assign,
                Tok::Space,
                Tok::Dot,
                Tok::RDelim,
                Tok::Eof
            ]
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(
            kinds("{{1.5e+3 0x1F .5}}"),
            vec![
                Tok::LDelim,
                Tok::Number("1.5e+3".into()),
                Tok::Space,
                Tok::Number("0x1F".into()),
                Tok::Space,
                Tok::Number(".5".into()),
                Tok::RDelim,
                Tok::Eof
            ]
        );
    }

    #[test]
    fn lex_errors() {
        assert_eq!(lex("{{ .a").unwrap_err().msg, "unclosed action");
        assert_eq!(lex("{{ (.a }}").unwrap_err().msg, "unclosed left paren");
        assert_eq!(lex("{{ .a) }}").unwrap_err().msg, "unexpected right paren");
        assert!(
            lex("{{ # }}")
                .unwrap_err()
                .msg
                .contains("unrecognized character")
        );
        assert_eq!(lex("{{ : }}").unwrap_err().msg, "expected :=");
    }

    #[test]
    fn keywords() {
        assert_eq!(
            kinds("{{if true}}{{end}}"),
            vec![
                Tok::LDelim,
                Tok::Kw(Kw::If),
                Tok::Space,
                Tok::Bool(true),
                Tok::RDelim,
                Tok::LDelim,
                Tok::Kw(Kw::End),
                Tok::RDelim,
                Tok::Eof
            ]
        );
    }
}
