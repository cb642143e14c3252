//! Parse and type-check errors, their positions as Keto reports them, and the
//! JSON body of Keto's `POST /opl/syntax/check`.

use serde::Serialize;
use std::fmt;

/// A source position in the wire format of Keto's syntax check:
/// `{"Line": 3, "column": 7}` (the capital `L` is Keto's).
///
/// The numbers are Keto's, not an editor's (see [`keto_position`]): `Line` is
/// 1-based but `column` is effectively 0-based, and a token at the start of a
/// line is reported at the end of the previous one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Position {
    #[serde(rename = "Line")]
    pub line: usize,
    pub column: usize,
}

/// One error, with the token it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OplError {
    pub message: String,
    /// 1-based line of the token's first character (for people and editors).
    #[serde(skip)]
    pub line: usize,
    /// 1-based column, in characters, of the token's first character.
    #[serde(skip)]
    pub column: usize,
    /// Where Keto says the token starts (what the syntax check returns).
    pub start: Position,
    /// Where Keto says the token ends.
    pub end: Position,
    /// Byte range of the token in the source (string literals without their
    /// quotes, as Keto reports them).
    #[serde(skip)]
    pub offset: std::ops::Range<usize>,
}

impl OplError {
    pub(crate) fn new(source: &str, message: String, start: usize, end: usize) -> Self {
        let (line, column) = human_position(source, start);
        OplError {
            message,
            line,
            column,
            start: keto_position(source, start),
            end: keto_position(source, end),
            offset: start..end,
        }
    }

    /// One entry of the syntax check's `errors` array:
    /// `{"message": "...", "start": {"Line": 1, "column": 2}, "end": {...}}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "message": self.message,
            "start": {"Line": self.start.line, "column": self.start.column},
            "end": {"Line": self.end.line, "column": self.end.column},
        })
    }

    /// The multi-line report Keto logs and prints (`keto namespace validate`):
    /// the first line as [`Display`](fmt::Display), then the source lines up to
    /// the error with a `^~~` marker under the token and the line after it.
    /// Keto's quirks are kept: line labels are 0-based and the marker is
    /// placed by Keto's column.
    pub fn render(&self, source: &str) -> String {
        render(self, source)
    }
}

impl fmt::Display for OplError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "error from {}:{} to {}:{}: {}",
            self.start.line, self.start.column, self.end.line, self.end.column, self.message
        )
    }
}

impl std::error::Error for OplError {}

/// The body of Keto's `POST /opl/syntax/check` answer (always HTTP 200):
/// `{"errors": [...]}`, or `{}` when the source is fine (Keto omits an empty
/// list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyntaxCheckResponse {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<OplError>,
}

/// 1-based line and character column of byte offset `offset`.
fn human_position(source: &str, offset: usize) -> (usize, usize) {
    let before = source.get(..offset).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

/// The position Keto reports for byte offset `offset`.
///
/// Keto walks the source character by character, counting one character per
/// byte of the offset, and stops on the character *before* the offset. So the
/// column is the 0-based column of the offset (offset 0 is still `1:1`), a
/// token at the very start of a line is put at the newline ending the line
/// above, and every multi-byte character before the offset shifts the result
/// forward. Reproduced as is so the syntax check answers like Keto's.
pub(crate) fn keto_position(source: &str, offset: usize) -> Position {
    let mut pos = Position { line: 1, column: 0 };
    let mut left = offset;
    for c in source.chars() {
        pos.column += 1;
        if left <= 1 {
            break;
        }
        left -= 1;
        if c == '\n' {
            pos.line += 1;
            pos.column = 0;
        }
    }
    pos
}

/// Go's `%q` for a string: what Keto's messages use to quote tokens.
///
/// Printable characters stay, `"` and `\` are escaped, the usual control
/// escapes are used and anything else non-printable becomes `\xNN`, `\uNNNN`
/// or `\UNNNNNNNN`. Go decides "printable" from Unicode tables; this covers
/// the categories that occur in practice (controls, format characters,
/// non-ASCII spaces and separators, private use, noncharacters, the empty
/// planes) but treats scattered unassigned code points in the other planes as
/// printable where Go escapes them.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if go_printable(c) => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// An approximation of Go's `unicode.IsPrint` (see [`go_quote`]).
fn go_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let u = c as u32;
    let format = matches!(
        u,
        0xad | 0x600..=0x605
            | 0x61c
            | 0x6dd
            | 0x70f
            | 0x890..=0x891
            | 0x8e2
            | 0x180e
            | 0x200b..=0x200f
            | 0x202a..=0x202e
            | 0x2060..=0x2064
            | 0x2066..=0x206f
            | 0xfeff
            | 0xfff9..=0xfffb
            | 0x110bd
            | 0x110cd
            | 0x13430..=0x1343f
            | 0x1bca0..=0x1bca3
            | 0x1d173..=0x1d17a
            | 0xe0001
            | 0xe0020..=0xe007f
    );
    let private_or_nonchar = matches!(u, 0xe000..=0xf8ff | 0xf0000..=0x10ffff | 0xfdd0..=0xfdef)
        || (u & 0xfffe) == 0xfffe;
    // Planes 4 to 13 and most of plane 14 have nothing assigned.
    let unassigned = matches!(u, 0x40000..=0xdffff | 0xe0080..=0xe00ff | 0xe01f0..=0xeffff);
    !(format || private_or_nonchar || unassigned)
}

fn render(e: &OplError, source: &str) -> String {
    use std::fmt::Write as _;
    let mut s = format!("{e}\n\n");
    let rows: Vec<&str> = source.split('\n').collect();
    if rows.len() < e.start.line {
        s.push_str("meta error: could not find source position in input\n");
        return s;
    }
    let error_row = e.start.line.saturating_sub(1);
    for (i, row) in rows
        .iter()
        .enumerate()
        .take(error_row + 1)
        .skip(e.start.line.saturating_sub(2))
    {
        let _ = writeln!(s, "{i:>4} | {row}");
    }
    s.push_str("     | ");
    // Keto compares its column with byte indices of the row.
    let (from, to) = (e.start.column, e.end.column);
    for (i, c) in rows.get(error_row).copied().unwrap_or("").char_indices() {
        if i == from {
            s.push('^');
        } else if from <= i && i < to {
            s.push('~');
        } else if c.is_whitespace() {
            s.push(c);
        } else {
            s.push(' ');
        }
    }
    s.push('\n');
    if let Some(next) = rows.get(error_row + 1) {
        let _ = writeln!(s, "{:>4} | {next}\n", error_row + 1);
    }
    s
}
