//! The OPL parser: token-stream helpers, the top level (which only reacts to
//! `class`), class bodies, `related` blocks and the `permits` block. Permit
//! expressions are in `expr.rs`, the checks run after parsing in `check.rs`.
//!
//! The parser follows Keto's observable behaviour, quirks included, because a
//! drop-in replacement must accept and reject the same files with the same
//! messages: the first syntax error stops parsing (a few paths add a second
//! one, as Keto does), tokens are matched by their text (so `"related"` in
//! quotes works like `related`), and type checks only run on a file without
//! syntax errors.

use super::ast::{Namespace, Relation, SubjectType};
use super::check::Check;
use super::error::{OplError, go_quote};
use super::lexer::{Kind, Lexer, Token};

pub(crate) struct Parser<'s> {
    source: &'s str,
    lexer: Lexer<'s>,
    lookahead: Option<Token<'s>>,
    /// Namespaces whose closing `}` was seen, in order.
    pub(crate) namespaces: Vec<Namespace>,
    /// The class being parsed.
    pub(crate) current: Namespace,
    pub(crate) errors: Vec<OplError>,
    /// Set by the first syntax error: every helper then stops consuming.
    pub(crate) fatal: bool,
    /// Type checks collected while parsing, run in order at the end.
    pub(crate) checks: Vec<Check<'s>>,
}

/// Everything the parser found: namespaces (also those before an error) and
/// all errors.
pub(crate) struct Outcome {
    pub namespaces: Vec<Namespace>,
    pub errors: Vec<OplError>,
}

pub(crate) fn parse_source(source: &str) -> Outcome {
    let mut p = Parser {
        source,
        lexer: Lexer::new(source),
        lookahead: None,
        namespaces: Vec::new(),
        current: Namespace {
            name: String::new(),
            relations: Vec::new(),
        },
        errors: Vec::new(),
        fatal: false,
        checks: Vec::new(),
    };
    p.parse_file();
    if p.errors.is_empty() {
        let checks = std::mem::take(&mut p.checks);
        p.errors = super::check::run(source, &p.namespaces, checks);
    }
    Outcome {
        namespaces: p.namespaces,
        errors: p.errors,
    }
}

impl<'s> Parser<'s> {
    // ---- token stream -------------------------------------------------

    /// Consumes the next token.
    pub(crate) fn take(&mut self) -> Token<'s> {
        match self.lookahead.take() {
            Some(t) => t,
            None => self.lexer.next_token(),
        }
    }

    fn lookahead(&mut self) -> &Token<'s> {
        self.lookahead
            .get_or_insert_with(|| self.lexer.next_token())
    }

    pub(crate) fn peek(&mut self) -> Token<'s> {
        self.lookahead().clone()
    }

    pub(crate) fn peek_kind(&mut self) -> Kind {
        self.lookahead().kind
    }

    pub(crate) fn peek_is(&mut self, text: &str) -> bool {
        self.lookahead().text == text
    }

    /// Records a syntax error about `token` and stops the parse.
    pub(crate) fn fatal_at(&mut self, token: &Token<'_>, message: String) {
        self.error_at(token, message);
        self.fatal = true;
    }

    pub(crate) fn error_at(&mut self, token: &Token<'_>, message: String) {
        self.errors
            .push(OplError::new(self.source, message, token.start, token.end));
    }

    /// The next token must read `text` (any kind: tokens are compared by
    /// their text). Does nothing once the parse has failed.
    pub(crate) fn expect(&mut self, text: &str) -> bool {
        if self.fatal {
            return false;
        }
        self.expect_unguarded(text)
    }

    fn expect_unguarded(&mut self, text: &str) -> bool {
        let t = self.take();
        if t.text == text {
            return true;
        }
        self.fatal_at(
            &t,
            format!("expected {}, got {}", go_quote(text), go_quote(&t.text)),
        );
        false
    }

    /// Each of `texts` in turn; stops at the first mismatch.
    pub(crate) fn expect_all(&mut self, texts: &[&str]) -> bool {
        texts.iter().all(|t| self.expect(t))
    }

    /// An optional sequence: if the next token reads `texts[0]`, all of
    /// `texts` must follow; otherwise nothing is consumed.
    pub(crate) fn optional(&mut self, texts: &[&str]) -> bool {
        if self.fatal {
            return false;
        }
        match texts.split_first() {
            Some((first, rest)) if self.peek_is(first) => {
                self.take();
                rest.iter().all(|t| self.expect_unguarded(t))
            }
            _ => true,
        }
    }

    /// The next token must be a name: an identifier or a string literal.
    pub(crate) fn expect_name(&mut self) -> Option<Token<'s>> {
        if self.fatal {
            return None;
        }
        let t = self.take();
        if t.is_name() {
            return Some(t);
        }
        self.fatal_at(&t, format!("expected identifier, got {}", t.kind.name()));
        None
    }

    /// Takes any token, whatever it is (Keto accepts anything where it only
    /// wants a value, e.g. the namespace in `SubjectSet<…>`).
    pub(crate) fn any(&mut self) -> Option<Token<'s>> {
        if self.fatal {
            return None;
        }
        Some(self.take())
    }

    // ---- file, class, related, permits --------------------------------

    fn parse_file(&mut self) {
        while !self.fatal {
            let t = self.take();
            match t.kind {
                Kind::Eof => break,
                Kind::Error => self.fatal_at(&t, format!("fatal: {}", t.text)),
                Kind::KeywordClass => self.parse_class(),
                // import/export statements and anything else outside a class
                _ => {}
            }
        }
    }

    /// After `class`: `Name implements Namespace { … }`.
    fn parse_class(&mut self) {
        let name = self.expect_name();
        self.expect_all(&["implements", "Namespace", "{"]);
        self.current = Namespace {
            name: name.map(|t| t.text.into_owned()).unwrap_or_default(),
            relations: Vec::new(),
        };
        while !self.fatal {
            let t = self.take();
            if t.kind == Kind::BraceRight {
                let done = std::mem::replace(
                    &mut self.current,
                    Namespace {
                        name: String::new(),
                        relations: Vec::new(),
                    },
                );
                self.namespaces.push(done);
                return;
            } else if t.text == "related" {
                self.parse_related();
            } else if t.text == "permits" {
                self.parse_permits();
            } else if t.kind != Kind::Semicolon {
                self.fatal_at(
                    &t,
                    format!("expected 'permits' or 'related', got {}", go_quote(&t.text)),
                );
                return;
            }
        }
    }

    /// After `related`: `: { name: Type … }`.
    fn parse_related(&mut self) {
        self.expect_all(&[":", "{"]);
        while !self.fatal {
            let t = self.take();
            match t.kind {
                Kind::Semicolon => {}
                Kind::BraceRight => return,
                Kind::Identifier | Kind::StringLiteral => {
                    self.expect(":");
                    let types = self.parse_type();
                    self.current.relations.push(Relation {
                        name: t.text.into_owned(),
                        types,
                        rewrite: None,
                    });
                }
                _ => {
                    self.fatal_at(
                        &t,
                        format!(
                            "expected identifier or '}}', got {} {}",
                            t.kind.name(),
                            go_quote(&t.text)
                        ),
                    );
                    return;
                }
            }
        }
    }

    /// A relation's type: `NS[]`, `SubjectSet<NS, "rel">[]`, `(A | B)[]` or
    /// `Array<A | B>`. The `[]` forms may be followed by a `,`; `Array<…>`
    /// may not (Keto reads no comma there; `;` still works).
    fn parse_type(&mut self) -> Vec<SubjectType> {
        let t = self.take();
        if t.text == "Array" {
            self.expect("<");
            self.parse_type_union(Kind::AngledRight)
        } else if t.text == "SubjectSet" {
            let ty = self.parse_subject_set();
            self.expect_array_suffix();
            vec![ty]
        } else if t.kind == Kind::ParenLeft {
            let types = self.parse_type_union(Kind::ParenRight);
            self.expect_array_suffix();
            types
        } else {
            self.checks.push(Check::NamespaceExists {
                namespace: t.clone(),
            });
            self.expect_array_suffix();
            vec![plain_type(t)]
        }
    }

    fn expect_array_suffix(&mut self) {
        let _ = self.expect_all(&["[", "]"]) && self.optional(&[","]);
    }

    /// `A | SubjectSet<B, "r"> | …` up to the closing `)` or `>`.
    fn parse_type_union(&mut self, end: Kind) -> Vec<SubjectType> {
        let mut types = Vec::new();
        while !self.fatal {
            let t = self.take();
            if t.text == "SubjectSet" {
                types.push(self.parse_subject_set());
            } else {
                self.checks.push(Check::NamespaceExists {
                    namespace: t.clone(),
                });
                types.push(plain_type(t));
            }
            // Read even if the subject set just failed: Keto does, and then
            // reports this token as well.
            let sep = self.take();
            if sep.kind == end {
                break;
            }
            if sep.kind != Kind::Pipe {
                self.fatal_at(&sep, format!("expected '|', got {}", go_quote(&sep.text)));
            }
        }
        types
    }

    /// After `SubjectSet`: `<NS, "rel">`. Keto takes any token for both.
    fn parse_subject_set(&mut self) -> SubjectType {
        let mut namespace = Token::zero("");
        let mut relation = Token::zero("");
        let _ = self.expect("<")
            && self.any().map(|t| namespace = t).is_some()
            && self.expect(",")
            && self.any().map(|t| relation = t).is_some()
            && self.expect(">");
        let ty = SubjectType {
            namespace: namespace.text.to_string(),
            relation: Some(relation.text.to_string()).filter(|r| !r.is_empty()),
        };
        self.checks.push(Check::NamespaceHasRelation {
            namespace,
            relation,
        });
        ty
    }

    /// After `permits`: `= { name: (ctx: Context): boolean => expr, … }`.
    fn parse_permits(&mut self) {
        self.expect_all(&["=", "{"]);
        while !self.fatal {
            let t = self.take();
            match t.kind {
                Kind::BraceRight => return,
                Kind::Identifier | Kind::StringLiteral => {
                    let _ = self.expect_all(&[":", "(", "ctx"])
                        && self.optional(&[":", "Context"])
                        && self.expect(")")
                        && self.optional(&[":", "boolean"])
                        && self.expect("=>");
                    // An expression that ends without a term (e.g. `=> ,`)
                    // silently ends the block, as in Keto.
                    let Some(rewrite) = self.parse_permit_body() else {
                        return;
                    };
                    self.current.relations.push(Relation {
                        name: t.text.into_owned(),
                        types: Vec::new(),
                        rewrite: Some(rewrite),
                    });
                }
                _ => {
                    self.fatal_at(
                        &t,
                        format!(
                            "expected identifier or '}}', got {} {}",
                            t.kind.name(),
                            go_quote(&t.text)
                        ),
                    );
                    return;
                }
            }
        }
    }
}

fn plain_type(t: Token<'_>) -> SubjectType {
    SubjectType {
        namespace: t.text.into_owned(),
        relation: None,
    }
}
