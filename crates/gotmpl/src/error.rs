//! Error types. Their `Display` follows Go's `template: NAME:LINE...` prefix so
//! messages look familiar to people who wrote the templates for Ory's Go servers.

/// A template failed to parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("template: {name}:{line}:{column}: {message}")]
pub struct ParseError {
    /// Template name given to `parse`.
    pub name: String,
    /// 1-based line of the offending token.
    pub line: usize,
    /// 1-based column (in characters) of the offending token.
    pub column: usize,
    /// What went wrong.
    pub message: String,
}

/// A template failed while rendering.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("template: {name}:{line}: {message}")]
pub struct RenderError {
    /// Template name given to `parse`.
    pub name: String,
    /// 1-based line of the action that failed (0 when not tied to an action).
    pub line: usize,
    /// What went wrong, e.g. `executing "t" at <index .a 5>: error calling index: ...`.
    pub message: String,
}

/// Maps byte offsets in the source to 1-based line/column pairs.
#[derive(Clone, Debug, Default)]
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(src: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(src.match_indices('\n').map(|(i, _)| i + 1));
        Self { starts }
    }

    /// Line and column (both 1-based) of byte offset `pos` in `src`.
    pub(crate) fn locate(&self, src: &str, pos: usize) -> (usize, usize) {
        let pos = pos.min(src.len());
        let line_idx = match self.starts.binary_search(&pos) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.starts.get(line_idx).copied().unwrap_or(0);
        let col = src
            .get(start..pos)
            .map(|s| s.chars().count())
            .unwrap_or(pos - start);
        (line_idx + 1, col + 1)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn locate_lines_and_columns() {
        let src = "ab\ncdé\nf";
        let idx = LineIndex::new(src);
        assert_eq!(idx.locate(src, 0), (1, 1));
        assert_eq!(idx.locate(src, 1), (1, 2));
        assert_eq!(idx.locate(src, 3), (2, 1));
        assert_eq!(idx.locate(src, 7), (2, 4)); // after the two-byte é
        assert_eq!(idx.locate(src, 8), (3, 1));
        assert_eq!(idx.locate(src, 100), (3, 2));
    }

    #[test]
    fn display_formats() {
        let e = ParseError {
            name: "t".into(),
            line: 2,
            column: 5,
            message: "boom".into(),
        };
        assert_eq!(e.to_string(), "template: t:2:5: boom");
        let r = RenderError {
            name: "t".into(),
            line: 3,
            message: "bad".into(),
        };
        assert_eq!(r.to_string(), "template: t:3: bad");
    }
}
