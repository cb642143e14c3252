//! The OPL tokenizer: splits the source into tokens with byte spans, the way
//! Keto's lexer does (same token kinds, same spans, same error texts).
//!
//! Tokens are produced one at a time and borrow their text from the source,
//! so a large input costs no per-token allocation. Comments are dropped here;
//! the parser never needs them. Lexing stops at the first error, which
//! becomes a [`Kind::Error`] token carrying Keto's message; the parser
//! decides what to report about it.

use super::error::go_quote;
use std::borrow::Cow;

/// Token kinds. Their [`Kind::name`] is what Keto prints in messages such as
/// `expected identifier, got KeywordCtx`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Error,
    Eof,
    Identifier,
    StringLiteral,
    KeywordClass,
    KeywordImplements,
    KeywordThis,
    KeywordCtx,
    And,
    Or,
    Not,
    Assign,
    Arrow,
    Dot,
    Colon,
    Comma,
    Semicolon,
    Pipe,
    ParenLeft,
    ParenRight,
    BraceLeft,
    BraceRight,
    BracketLeft,
    BracketRight,
    AngledLeft,
    AngledRight,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Error => "Error",
            Kind::Eof => "EOF",
            Kind::Identifier => "Identifier",
            Kind::StringLiteral => "StringLiteral",
            Kind::KeywordClass => "KeywordClass",
            Kind::KeywordImplements => "KeywordImplements",
            Kind::KeywordThis => "KeywordThis",
            Kind::KeywordCtx => "KeywordCtx",
            Kind::And => "\"&&\"",
            Kind::Or => "\"||\"",
            Kind::Not => "\"!\"",
            Kind::Assign => "\"=\"",
            Kind::Arrow => "\"=>\"",
            Kind::Dot => "\".\"",
            Kind::Colon => "\":\"",
            Kind::Comma => "\",\"",
            Kind::Semicolon => "\";\"",
            Kind::Pipe => "\"|\"",
            Kind::ParenLeft => "\"(\"",
            Kind::ParenRight => "\")\"",
            Kind::BraceLeft => "\"{\"",
            Kind::BraceRight => "\"}\"",
            Kind::BracketLeft => "\"[\"",
            Kind::BracketRight => "\"]\"",
            Kind::AngledLeft => "\"<\"",
            Kind::AngledRight => "\">\"",
        }
    }

    fn single(c: u8) -> Option<Kind> {
        Some(match c {
            b':' => Kind::Colon,
            b'.' => Kind::Dot,
            b'(' => Kind::ParenLeft,
            b')' => Kind::ParenRight,
            b'[' => Kind::BracketLeft,
            b']' => Kind::BracketRight,
            b'{' => Kind::BraceLeft,
            b'}' => Kind::BraceRight,
            b'<' => Kind::AngledLeft,
            b'>' => Kind::AngledRight,
            b'=' => Kind::Assign,
            b',' => Kind::Comma,
            b';' => Kind::Semicolon,
            b'|' => Kind::Pipe,
            b'!' => Kind::Not,
            _ => return None,
        })
    }
}

/// A token: kind, text and byte span. The text of a string literal is its
/// content and its span excludes the quotes; the text of an error token is
/// the lexer's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token<'s> {
    pub kind: Kind,
    pub text: Cow<'s, str>,
    pub start: usize,
    pub end: usize,
}

impl Token<'_> {
    /// What Keto uses as "no token": an error token without text at offset 0.
    /// Keto reports it when a sequence failed before reaching a token and
    /// when a token is read after the end of the input.
    pub(crate) fn zero(text: &'static str) -> Self {
        Token {
            kind: Kind::Error,
            text: Cow::Borrowed(text),
            start: 0,
            end: 0,
        }
    }

    /// A name as it may follow `.` or stand in a relation list.
    pub(crate) fn is_name(&self) -> bool {
        matches!(self.kind, Kind::Identifier | Kind::StringLiteral)
    }

    /// Keto's short form of a token, used in one message ("got 'foo'").
    pub(crate) fn describe(&self) -> String {
        match self.kind {
            Kind::Error => format!("error: {}", self.text),
            Kind::Eof => "EOF".to_owned(),
            Kind::Identifier | Kind::StringLiteral => {
                // Keto measures in bytes but cuts in characters.
                if self.text.len() > 10 {
                    let head: String = self.text.chars().take(10).collect();
                    format!("'{head}...'")
                } else {
                    format!("'{}'", self.text)
                }
            }
            _ => self.text.to_string(),
        }
    }
}

/// Whitespace as Keto's lexer knows it (no Unicode spaces).
fn is_space(c: u8) -> bool {
    matches!(c, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ')
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_ident_continue(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Produces the tokens of a source one by one.
pub(crate) struct Lexer<'s> {
    source: &'s str,
    pos: usize,
    /// The end token (EOF or an error) was handed out.
    done: bool,
}

impl<'s> Lexer<'s> {
    pub(crate) fn new(source: &'s str) -> Self {
        Lexer {
            source,
            pos: 0,
            done: false,
        }
    }

    /// The next token. After the end token (EOF or an error) Keto's lexer
    /// only answers "broken state" at offset 0; so does this.
    pub(crate) fn next_token(&mut self) -> Token<'s> {
        if self.done {
            return Token::zero("broken state");
        }
        let token = self.scan();
        self.done = matches!(token.kind, Kind::Eof | Kind::Error);
        token
    }

    fn token(&self, kind: Kind, start: usize, end: usize) -> Token<'s> {
        Token {
            kind,
            text: Cow::Borrowed(self.source.get(start..end).unwrap_or("")),
            start,
            end,
        }
    }

    /// An error token; Keto's message starts with the rest of the input from
    /// where it stopped (`at`).
    fn error(&self, message: &str, start: usize, at: usize) -> Token<'s> {
        let rest = go_quote(self.source.get(at..).unwrap_or(""));
        Token {
            kind: Kind::Error,
            text: Cow::Owned(format!("at {rest}: {message}")),
            start,
            end: at,
        }
    }

    fn scan(&mut self) -> Token<'s> {
        let source = self.source;
        let bytes = source.as_bytes();
        loop {
            while self.pos < bytes.len() && is_space(bytes[self.pos]) {
                self.pos += 1;
            }
            let start = self.pos;
            let rest = &bytes[start..];
            let Some(&c) = rest.first() else {
                return self.token(Kind::Eof, start, start);
            };
            let two = match rest.get(..2) {
                Some(b"=>") => Some(Kind::Arrow),
                Some(b"||") => Some(Kind::Or),
                Some(b"&&") => Some(Kind::And),
                _ => None,
            };
            if let Some(kind) = two {
                self.pos += 2;
                return self.token(kind, start, self.pos);
            }
            if rest.starts_with(b"//") {
                self.pos = source[start..]
                    .find('\n')
                    .map_or(bytes.len(), |i| start + i);
                continue;
            }
            if rest.starts_with(b"/*") {
                match source[start + 2..].find("*/") {
                    Some(i) => {
                        self.pos = start + 2 + i + 2;
                        continue;
                    }
                    None => return self.error("unclosed comment", start, bytes.len()),
                }
            }
            if let Some(kind) = Kind::single(c) {
                self.pos += 1;
                return self.token(kind, start, self.pos);
            }
            if c == b'"' || c == b'\'' {
                // No escapes: the literal ends at the next quote of its kind.
                let content = start + 1;
                return match bytes[content..].iter().position(|&b| b == c) {
                    Some(len) => {
                        self.pos = content + len + 1;
                        self.token(Kind::StringLiteral, content, content + len)
                    }
                    None => self.error("unclosed string literal", content, bytes.len()),
                };
            }
            if is_ident_start(c) {
                self.pos += rest.iter().take_while(|&&b| is_ident_continue(b)).count();
                let kind = match &source[start..self.pos] {
                    "class" => Kind::KeywordClass,
                    "implements" => Kind::KeywordImplements,
                    "this" => Kind::KeywordThis,
                    "ctx" => Kind::KeywordCtx,
                    _ => Kind::Identifier,
                };
                return self.token(kind, start, self.pos);
            }
            let ch = source[start..].chars().next().unwrap_or('\u{fffd}');
            return self.error(&format!("unexpected token {ch}"), start, start);
        }
    }
}
