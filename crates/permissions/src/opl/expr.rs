//! Permit expressions: `this.related.R.includes(ctx.subject)`,
//! `this.permits.P(ctx)`, `this.related.R.traverse(x => …)`, `!`, `( … )`,
//! `||` and `&&`, and the flattening into n-ary groups.
//!
//! Keto gives `||` and `&&` no precedence: each operator wraps everything to
//! its left, so `a || b && c` is `(a || b) && c`. Terms written next to each
//! other without an operator are accepted and joined to the group on the left
//! (except a term right after `!x` or `( … )`), and a group may end right
//! after an operator. All of that is kept, so the same files are accepted.
//!
//! Keto builds the left-nested binary tree first and flattens it afterwards.
//! Here each group is flattened into its parent the moment it is complete,
//! which gives the same tree without ever building a deep one (a permit with
//! thousands of `||` would otherwise overflow the stack).

use super::ast::Rewrite;
use super::check::Check;
use super::lexer::{Kind, Token};
use super::parser::Parser;

/// How many `(` and `!` one permit may nest.
pub const MAX_NESTING: usize = 10;

/// How often `||` and `&&` may alternate within one group. Each change nests
/// the tree one level deeper; Keto has no limit, but a tree thousands of
/// levels deep would overflow the stack of whatever walks it. No real model
/// comes near this.
pub const MAX_OPERATOR_CHANGES: usize = 100;

impl<'s> Parser<'s> {
    /// The expression after `=>`, up to the `,` ending the entry (consumed)
    /// or the `}` ending the block (left for the caller). `None` after an
    /// error, and also (without an error, as in Keto) when the expression
    /// ends without any term or starts with an operator.
    pub(crate) fn parse_permit_body(&mut self) -> Option<Rewrite> {
        self.parse_group(Kind::Comma, MAX_NESTING)
    }

    /// A sequence of terms and operators up to `end`. The result is always a
    /// group (union or intersection), already flattened.
    fn parse_group(&mut self, end: Kind, depth: usize) -> Option<Rewrite> {
        if depth == 0 {
            self.too_deep();
            return None;
        }
        let mut root: Option<Rewrite> = None;
        // Operator changes that nested the group one level deeper.
        let mut levels = 0;
        // Whether a plain term may come next. Keto sets it after operators
        // *and* after plain terms, so only a term right after `!x` or `( … )`
        // is refused.
        let mut term_allowed = true;
        while !self.fatal {
            let kind = self.peek_kind();
            if kind == Kind::ParenLeft {
                self.take();
                let group = self.parse_group(Kind::ParenRight, depth - 1)?;
                push_term(&mut root, group);
                term_allowed = false;
            } else if kind == end {
                self.take();
                return root;
            } else if kind == Kind::BraceRight {
                // The `}` closing the permits block also ends open groups.
                return root;
            } else if kind == Kind::Or || kind == Kind::And {
                let op = self.take();
                // An operator before any term: give up without a message.
                let left = root.take()?;
                let (wrapped, nested) = wrap(left, kind == Kind::Or);
                root = Some(wrapped);
                if nested {
                    levels += 1;
                    if levels > MAX_OPERATOR_CHANGES {
                        self.fatal_at(
                            &op,
                            format!(
                                "expression too complex; at most {MAX_OPERATOR_CHANGES} changes between '||' and '&&' are allowed"
                            ),
                        );
                        return None;
                    }
                }
                term_allowed = true;
            } else if kind == Kind::Not {
                self.take();
                let negated = self.parse_not(depth - 1)?;
                push_term(&mut root, negated);
                term_allowed = false;
            } else {
                if !term_allowed {
                    let t = self.peek();
                    self.fatal_at(&t, "did not expect another expression".to_owned());
                    return None;
                }
                let term = self.parse_term()?;
                push_term(&mut root, term);
                term_allowed = true;
            }
        }
        None
    }

    /// After `!`: a term or a parenthesised group.
    fn parse_not(&mut self, depth: usize) -> Option<Rewrite> {
        if depth == 0 {
            self.too_deep();
            return None;
        }
        let inner = if self.peek_kind() == Kind::ParenLeft {
            self.take();
            match self.parse_group(Kind::ParenRight, depth - 1) {
                Some(group) => group,
                // `!()` (or a group that gives up on a leading operator) is
                // no error in Keto: it keeps a negation of nothing and reads
                // on. An empty union stands for that nothing here; Keto's
                // check engine would fail on it at check time.
                None if !self.fatal => Rewrite::Union(Vec::new()),
                None => return None,
            }
        } else {
            self.parse_term()?
        };
        Some(Rewrite::Not(Box::new(inner)))
    }

    fn too_deep(&mut self) {
        let t = self.peek();
        self.fatal_at(
            &t,
            format!("expression nested too deeply; maximal nesting depth is {MAX_NESTING}"),
        );
    }

    /// `this.related.R.includes(…)`, `this.related.R.traverse(…)` or
    /// `this.permits.P(ctx)`. Property names may be `.name` or `["name"]`.
    fn parse_term(&mut self) -> Option<Rewrite> {
        if !self.expect_all(&["this", "."]) {
            return None;
        }
        let verb = self.any()?;
        let name = self.property(Parser::any)?;
        match verb.text.as_ref() {
            "related" => {
                if !self.expect(".") {
                    return None;
                }
                let method = self.take();
                match method.text.as_ref() {
                    "traverse" => self.parse_traverse(name),
                    "includes" => {
                        if !self.expect_all(&["(", "ctx", ".", "subject", ")"]) {
                            return None;
                        }
                        Some(self.computed(name))
                    }
                    other => {
                        let message = format!(
                            "expected 'traverse' or 'includes', got {}",
                            super::error::go_quote(other)
                        );
                        self.fatal_at(&method, message);
                        None
                    }
                }
            }
            "permits" => {
                if !self.expect_all(&["(", "ctx", ")"]) {
                    return None;
                }
                Some(self.computed(name))
            }
            other => {
                let message = format!(
                    "expected 'related' or 'permits', got {}",
                    super::error::go_quote(other)
                );
                self.fatal_at(&verb, message);
                None
            }
        }
    }

    /// `.name` or `["name"]`, the name read by `read`.
    fn property(&mut self, read: fn(&mut Self) -> Option<Token<'s>>) -> Option<Token<'s>> {
        if self.fatal {
            return None;
        }
        if self.peek_kind() == Kind::BracketLeft {
            self.take();
            let name = read(self)?;
            return self.expect("]").then_some(name);
        }
        if !self.expect(".") {
            return None;
        }
        read(self)
    }

    fn computed(&mut self, relation: Token<'s>) -> Rewrite {
        let term = Rewrite::ComputedSubjectSet {
            relation: relation.text.to_string(),
        };
        self.checks.push(Check::CurrentHasRelation {
            namespace: self.current.name.clone(),
            relation,
        });
        term
    }

    /// After `this.related.R.traverse`:
    /// `(x => x.related.S.includes(ctx.subject))` or `(x => x.permits.S(ctx))`,
    /// the parameter optionally in parentheses. A `traverse` inside is
    /// refused (Keto wants `includes` there).
    fn parse_traverse(&mut self, relation: Token<'s>) -> Option<Rewrite> {
        if !self.expect("(") {
            return None;
        }
        let param = if self.peek_kind() == Kind::ParenLeft {
            self.take();
            let param = self.any()?;
            if !self.expect(")") {
                return None;
            }
            param
        } else {
            self.any()?
        };
        let mut verb = Token::zero("");
        let _ =
            self.expect_all(&["=>", &param.text, "."]) && self.any().map(|t| verb = t).is_some();
        let target = match verb.text.as_ref() {
            "related" => {
                let target = self.property(Parser::expect_name)?;
                let _ = self.expect_all(&[".", "includes", "(", "ctx", ".", "subject"])
                    && self.optional(&[","])
                    && self.expect(")")
                    && self.optional(&[","])
                    && self.expect(")");
                target
            }
            "permits" => {
                let target = self.property(Parser::expect_name)?;
                self.expect_all(&["(", "ctx", ")", ")"]);
                target
            }
            _ => {
                // Also reached when the arrow part above failed: Keto then
                // adds this second error, about an empty token at 1:1.
                let message = format!(
                    "expected 'related' or 'permits', got {}",
                    super::error::go_quote(&verb.describe())
                );
                self.fatal_at(&verb, message);
                return None;
            }
        };
        self.checks.push(Check::TraverseTargets {
            namespace: self.current.name.clone(),
            relation: relation.clone(),
            target: target.text.to_string(),
        });
        self.checks.push(Check::CurrentHasRelation {
            namespace: self.current.name.clone(),
            relation: relation.clone(),
        });
        Some(Rewrite::TupleToSubjectSet {
            relation: relation.text.into_owned(),
            computed: target.text.into_owned(),
        })
    }
}

/// Adds a term to the group on the left; the first term starts the group.
/// A group that starts an expression *is* the expression's group (so
/// `(a && b) || c` is a union holding an intersection); anything else is
/// wrapped in a union.
fn push_term(root: &mut Option<Rewrite>, term: Rewrite) {
    match root {
        Some(group) => push_child(group, term),
        None => {
            *root = Some(match term {
                Rewrite::Union(_) | Rewrite::Intersection(_) => term,
                other => Rewrite::Union(vec![other]),
            });
        }
    }
}

/// Adds a complete term to a group. A child group with the same operator,
/// or with a single child, is merged into the parent (this is Keto's
/// flattening, done as each group completes). Its own children were merged
/// the same way when they were added, so nothing below needs revisiting.
fn push_child(group: &mut Rewrite, child: Rewrite) {
    let same_operator = matches!(
        (&*group, &child),
        (Rewrite::Union(_), Rewrite::Union(_))
            | (Rewrite::Intersection(_), Rewrite::Intersection(_))
    );
    let (Rewrite::Union(children) | Rewrite::Intersection(children)) = group else {
        return;
    };
    match child {
        Rewrite::Union(grand) | Rewrite::Intersection(grand)
            if same_operator || grand.len() == 1 =>
        {
            children.extend(grand);
        }
        other => children.push(other),
    }
}

/// `left || …` or `left && …`: a new group whose first child is `left`,
/// merged as [`push_child`] would. Returns whether the tree got one level
/// deeper (`left` kept as a child).
fn wrap(left: Rewrite, union: bool) -> (Rewrite, bool) {
    let make = |children| {
        if union {
            Rewrite::Union(children)
        } else {
            Rewrite::Intersection(children)
        }
    };
    let same_operator = matches!(left, Rewrite::Union(_)) == union;
    match left {
        Rewrite::Union(children) | Rewrite::Intersection(children)
            if same_operator || children.len() == 1 =>
        {
            (make(children), false)
        }
        other => (make(vec![other]), true),
    }
}
