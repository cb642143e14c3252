//! A pre-parse bound on syntactic nesting.
//!
//! rsjsonnet's evaluator, manifester and GC use explicit stacks, but its
//! parser and static analyzer recurse on the native stack for objects,
//! `local`, `if`, `function`, calls and field access. A file with a few
//! thousand nested `{` aborts the whole process with a stack overflow — in
//! the server itself for `check_syntax` or the in-process runner. Measured
//! worst case (nested `{a:`): ~3.6 KB of stack per level in release builds,
//! ~32 KB in debug builds. So we reject sources nesting deeper than
//! [`MAX_NESTING`] before rsjsonnet sees them, and run rsjsonnet on a thread
//! whose stack covers that depth (see `eval.rs`).

use rsjsonnet_lang::arena::Arena;
use rsjsonnet_lang::interner::StrInterner;
use rsjsonnet_lang::lexer::Lexer;
use rsjsonnet_lang::span::SpanManager;
use rsjsonnet_lang::token::{STokenKind as S, TokenKind};

/// Far above any real web hook body or claims mapper (they nest < 50).
pub(crate) const MAX_NESTING: usize = 500;

/// Returns the byte offset of the first token at which the estimated
/// nesting exceeds [`MAX_NESTING`], or `None`.
///
/// The estimate is an upper bound on the parser's recursion depth: every
/// open bracket counts, and so does every construct that nests without a
/// closing token (`local`, `if`, `function`, `assert`, `error`, `for`,
/// `import*`, `.`) seen in an open bracket. A comma inside a bracket ends
/// every such construct begun since the previous comma — unless a `local`
/// appeared, whose bind list (`local a = 1, b = 2;`) a comma does not end,
/// so then we keep counting.
pub(crate) fn too_deep(source: &[u8]) -> Option<usize> {
    let arena = Arena::new();
    let ast_arena = Arena::new();
    let interner = StrInterner::new();
    let mut spans = SpanManager::new();
    let (ctx, _) = spans.insert_source_context(source.len());
    // The real load reports lexical errors with their position.
    let tokens = Lexer::new(&arena, &ast_arena, &interner, &mut spans, ctx, source)
        .lex_to_eof(false)
        .ok()?;

    #[derive(Default)]
    struct Frame {
        constructs: usize,
        saw_local: bool,
    }
    let mut frames = vec![Frame::default()];
    let mut depth = 0usize;
    for token in &tokens {
        let TokenKind::Simple(kind) = token.kind else {
            continue;
        };
        match kind {
            S::LeftBrace | S::LeftBracket | S::LeftParen => {
                frames.push(Frame::default());
                depth += 1;
            }
            S::RightBrace | S::RightBracket | S::RightParen => {
                // An unbalanced closer is left for the parser to report.
                if frames.len() > 1
                    && let Some(frame) = frames.pop()
                {
                    depth -= 1 + frame.constructs;
                }
            }
            S::Comma => {
                if let Some(frame) = frames.last_mut()
                    && !frame.saw_local
                {
                    depth -= frame.constructs;
                    frame.constructs = 0;
                }
            }
            S::Local
            | S::If
            | S::Function
            | S::Assert
            | S::Error
            | S::For
            | S::Import
            | S::Importstr
            | S::Importbin
            | S::Dot => {
                if let Some(frame) = frames.last_mut() {
                    frame.constructs += 1;
                    frame.saw_local |= kind == S::Local;
                    depth += 1;
                }
            }
            _ => {}
        }
        if depth > MAX_NESTING {
            let (_, start, _) = spans.get_span(token.span);
            return Some(start);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{MAX_NESTING, too_deep};

    fn deep(unit: &str, tail: &str) -> String {
        format!("{}{tail}", unit.repeat(MAX_NESTING + 1))
    }

    #[test]
    fn counts_brackets_and_open_ended_constructs() {
        assert!(too_deep(deep("{a:", "1").as_bytes()).is_some());
        assert!(too_deep(deep("local x = 1; ", "1").as_bytes()).is_some());
        assert!(too_deep(deep("function(x) ", "1").as_bytes()).is_some());
        assert!(too_deep(format!("x{}", ".a".repeat(MAX_NESTING + 1)).as_bytes()).is_some());
        assert!(
            too_deep(format!("{}1", "local x = 1; ".repeat(MAX_NESTING - 1)).as_bytes()).is_none()
        );
    }

    #[test]
    fn a_comma_ends_constructs_unless_a_local_bind_list_is_open() {
        // Sibling fields: each comma closes the `if`s before it.
        let flat = format!("{{ {} }}", "a: if x then y.b.c else z,".repeat(5000));
        assert!(too_deep(flat.as_bytes()).is_none());
        // `local a = 1, b = 2;` — that comma does not end the `if` around
        // it, so nothing may be forgotten there.
        let chain = deep("if c then local a = 1, b = 2; ", "1");
        assert!(too_deep(chain.as_bytes()).is_some());
    }

    #[test]
    fn reports_the_offset_where_the_limit_is_crossed() {
        let source = deep("(", "1");
        assert_eq!(too_deep(source.as_bytes()), Some(MAX_NESTING));
    }

    #[test]
    fn lexical_errors_are_left_to_the_parser() {
        assert_eq!(too_deep(b"\"unterminated"), None);
    }
}
