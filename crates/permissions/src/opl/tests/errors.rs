//! Every kind of error, with Keto's message and Keto's start/end positions
//! (the table was recorded by running Keto's own parser on each source), the
//! human line/column, the syntax-check JSON and the multi-line report.

use super::{fail, ok};
use crate::opl::{OplError, Position, check_syntax};

/// message, Keto start (Line, column), Keto end (Line, column)
type Expected = (String, (usize, usize), (usize, usize));
type ExpectedStatic = (&'static str, (usize, usize), (usize, usize));

struct Case {
    name: &'static str,
    source: &'static str,
    /// message, Keto start (Line, column), Keto end (Line, column)
    errors: &'static [ExpectedStatic],
}

const CASES: &[Case] = &[
    Case {
        name: "unclosed_comment",
        source: r#"class A implements Namespace {}
/* never closed"#,
        errors: &[(r#"fatal: at "": unclosed comment"#, (1, 32), (2, 15))],
    },
    Case {
        name: "unclosed_string",
        source: r#"class A implements Namespace {
  related: { "r: A[] }
}
"#,
        errors: &[(
            r#"expected identifier or '}', got Error "at \"\": unclosed string literal""#,
            (2, 14),
            (3, 2),
        )],
    },
    Case {
        name: "unexpected_top",
        source: r#"const x = 1
class A implements Namespace {}
"#,
        errors: &[(
            r#"fatal: at "1\nclass A implements Namespace {}\n": unexpected token 1"#,
            (1, 10),
            (1, 10),
        )],
    },
    Case {
        name: "unexpected_in_class",
        source: r#"class A implements Namespace {
  # note
}
"#,
        errors: &[(
            r##"expected 'permits' or 'related', got "at \"# note\\n}\\n\": unexpected token #""##,
            (2, 2),
            (2, 2),
        )],
    },
    Case {
        name: "header_iface",
        source: r#"class A implements Foo {}
"#,
        errors: &[(r#"expected "Namespace", got "Foo""#, (1, 19), (1, 22))],
    },
    Case {
        name: "header_keyword",
        source: r#"class this implements Namespace {}
"#,
        errors: &[(r#"expected identifier, got KeywordThis"#, (1, 6), (1, 10))],
    },
    Case {
        name: "class_body",
        source: r#"class A implements Namespace {
  metadata = {}
}
"#,
        errors: &[(
            r#"expected 'permits' or 'related', got "metadata""#,
            (2, 2),
            (2, 10),
        )],
    },
    Case {
        name: "related_keyword",
        source: r#"class A implements Namespace {
  related: {
    ctx: A[]
  }
}
"#,
        errors: &[(
            r#"expected identifier or '}', got KeywordCtx "ctx""#,
            (3, 4),
            (3, 7),
        )],
    },
    Case {
        name: "related_no_brackets",
        source: r#"class A implements Namespace {
  related: {
    r: A
  }
}
"#,
        errors: &[(r#"expected "[", got "}""#, (4, 2), (4, 3))],
    },
    Case {
        name: "array_comma",
        source: r#"class A implements Namespace {
  related: {
    r: Array<A>,
  }
}
"#,
        errors: &[(
            r#"expected identifier or '}', got "," ",""#,
            (3, 15),
            (3, 16),
        )],
    },
    Case {
        name: "union_sep",
        source: r#"class A implements Namespace {
  related: {
    r: (A, A)[]
  }
}
"#,
        errors: &[(r#"expected '|', got ",""#, (3, 9), (3, 10))],
    },
    Case {
        name: "subjectset_comma",
        source: r#"class A implements Namespace {
  related: {
    r: (SubjectSet<A "r">)[]
  }
}
"#,
        errors: &[
            (r#"expected ",", got "r""#, (3, 22), (3, 23)),
            (r#"expected '|', got ">""#, (3, 24), (3, 25)),
        ],
    },
    Case {
        name: "permit_name",
        source: r#"class A implements Namespace {
  related: { r: A[] }
  permits = {
    (ctx) => this.permits.p(ctx)
  }
}
"#,
        errors: &[(r#"expected identifier or '}', got "(" "(""#, (4, 4), (4, 5))],
    },
    Case {
        name: "permit_param",
        source: r#"class A implements Namespace {
  related: { r: A[] }
  permits = {
    p: (context) => this.permits.p(context)
  }
}
"#,
        errors: &[(r#"expected "ctx", got "context""#, (4, 8), (4, 15))],
    },
    Case {
        name: "permit_context",
        source: r#"class A implements Namespace {
  related: { r: A[] }
  permits = {
    p: (ctx: Ctx) => this.permits.p(ctx)
  }
}
"#,
        errors: &[(r#"expected "Context", got "Ctx""#, (4, 13), (4, 16))],
    },
    Case {
        name: "permit_arrow",
        source: r#"class A implements Namespace {
  related: { r: A[] }
  permits = {
    p: (ctx) this.permits.p(ctx)
  }
}
"#,
        errors: &[(r#"expected "=>", got "this""#, (4, 13), (4, 17))],
    },
    Case {
        name: "term_this",
        source: r#"class A implements Namespace {
  related: { r: A[] }
  permits = {
    p: (ctx) => that.permits.p(ctx)
  }
}
"#,
        errors: &[(r#"expected "this", got "that""#, (4, 16), (4, 20))],
    },
    Case {
        name: "term_verb",
        source: r#"class A implements Namespace {
  related: { r: A[] }
  permits = {
    p: (ctx) => this.friends.p(ctx)
  }
}
"#,
        errors: &[(
            r#"expected 'related' or 'permits', got "friends""#,
            (4, 21),
            (4, 28),
        )],
    },
    Case {
        name: "term_method",
        source: r#"class A implements Namespace {
  related: { r: A[] }
  permits = {
    p: (ctx) => this.related.r.some(ctx.subject)
  }
}
"#,
        errors: &[(
            r#"expected 'traverse' or 'includes', got "some""#,
            (4, 31),
            (4, 35),
        )],
    },
    Case {
        name: "term_after_group",
        source: r#"class A implements Namespace {
  related: { r: A[] }
  permits = {
    p: (ctx) => (this.permits.p(ctx)) this.permits.p(ctx)
  }
}
"#,
        errors: &[(r#"did not expect another expression"#, (4, 38), (4, 42))],
    },
    Case {
        name: "too_deep",
        source: r#"class A implements Namespace {
  related: { r: A[] }
  permits = {
    p: (ctx) => ((((((((((this.permits.p(ctx))))))))))
  }
}
"#,
        errors: &[(
            r#"expression nested too deeply; maximal nesting depth is 10"#,
            (4, 26),
            (4, 30),
        )],
    },
    Case {
        name: "not_deep",
        source: r#"class A implements Namespace {
  related: { r: A[] }
  permits = {
    p: (ctx) => !(!(!(!(!(this.permits.p(ctx))))))
  }
}
"#,
        errors: &[(
            r#"expression nested too deeply; maximal nesting depth is 10"#,
            (4, 26),
            (4, 30),
        )],
    },
    Case {
        name: "not_not",
        source: r#"class A implements Namespace {
  related: { r: A[] }
  permits = {
    p: (ctx) => !!this.permits.p(ctx)
  }
}
"#,
        errors: &[(r#"expected "this", got "!""#, (4, 17), (4, 18))],
    },
    Case {
        name: "nested_traverse",
        source: r#"class A implements Namespace {
  related: { r: A[] }
  permits = {
    p: (ctx) => this.related.r.traverse((x) => x.related.r.traverse((y) => y.permits.p(ctx)))
  }
}
"#,
        errors: &[(r#"expected "includes", got "traverse""#, (4, 59), (4, 67))],
    },
    Case {
        name: "traverse_param",
        source: r#"class A implements Namespace {
  related: { r: A[] }
  permits = {
    p: (ctx) => this.related.r.traverse((x) => y.permits.p(ctx))
  }
}
"#,
        errors: &[
            (r#"expected "x", got "y""#, (4, 47), (4, 48)),
            (
                r#"expected 'related' or 'permits', got "error: ""#,
                (1, 1),
                (1, 1),
            ),
        ],
    },
    Case {
        name: "traverse_verb",
        source: r#"class A implements Namespace {
  related: { r: A[] }
  permits = {
    p: (ctx) => this.related.r.traverse((x) => x.parents.p(ctx))
  }
}
"#,
        errors: &[(
            r#"expected 'related' or 'permits', got "'parents'""#,
            (4, 49),
            (4, 56),
        )],
    },
    Case {
        name: "traverse_verb_long",
        source: r#"class A implements Namespace {
  related: { r: A[] }
  permits = {
    p: (ctx) => this.related.r.traverse((x) => x.parentFolders.p(ctx))
  }
}
"#,
        errors: &[(
            r#"expected 'related' or 'permits', got "'parentFold...'""#,
            (4, 49),
            (4, 62),
        )],
    },
    Case {
        name: "eof_expr",
        source: r#"class A implements Namespace {
  permits = {
    p: (ctx) =>"#,
        errors: &[(r#"expected "this", got """#, (3, 15), (3, 15))],
    },
    Case {
        name: "eof_subjectset",
        source: r#"class A implements Namespace {
  related: { r: SubjectSet<A"#,
        errors: &[(r#"expected ",", got """#, (2, 28), (2, 28))],
    },
    Case {
        name: "eof_union",
        source: r#"class A implements Namespace {
  related: { r: (A"#,
        errors: &[(r#"expected '|', got """#, (2, 18), (2, 18))],
    },
    Case {
        name: "unknown_ns",
        source: r#"class A implements Namespace {
  related: {
    r: B[]
    s: (A | C)[]
    t: Array<SubjectSet<D, "x">>
  }
}
"#,
        errors: &[
            (r#"namespace "B" was not declared"#, (3, 7), (3, 8)),
            (r#"namespace "C" was not declared"#, (4, 12), (4, 13)),
            (r#"namespace "D" was not declared"#, (5, 24), (5, 25)),
        ],
    },
    Case {
        name: "subjectset_rel",
        source: r#"class A implements Namespace {
  related: {
    r: SubjectSet<A, "members">[]
  }
}
"#,
        errors: &[(
            r#"namespace "A" did not declare relation "members""#,
            (3, 22),
            (3, 29),
        )],
    },
    Case {
        name: "includes_undefined",
        source: r#"class A implements Namespace {
  permits = {
    p: (ctx) => this.related.owners.includes(ctx.subject),
  }
}
"#,
        errors: &[(
            r#"namespace "A" did not declare relation "owners""#,
            (3, 29),
            (3, 35),
        )],
    },
    Case {
        name: "permits_undefined",
        source: r#"class A implements Namespace {
  permits = {
    p: (ctx) => this.permits.edit(ctx),
  }
}
"#,
        errors: &[(
            r#"namespace "A" did not declare relation "edit""#,
            (3, 29),
            (3, 33),
        )],
    },
    Case {
        name: "traverse_rel_undefined",
        source: r#"class A implements Namespace {
  permits = {
    p: (ctx) => this.related.parents.traverse((x) => x.permits.p(ctx)),
  }
}
"#,
        errors: &[
            (
                r#"relation "parents" was not declared in namespace "A""#,
                (3, 29),
                (3, 36),
            ),
            (
                r#"namespace "A" did not declare relation "parents""#,
                (3, 29),
                (3, 36),
            ),
        ],
    },
    Case {
        name: "traverse_target",
        source: r#"class U implements Namespace {}
class A implements Namespace {
  related: { parents: (A | U)[] }
  permits = {
    p: (ctx) => this.related.parents.traverse((x) => x.permits.p(ctx)),
  }
}
"#,
        errors: &[(
            r#"relation "p" was not declared in namespace "U""#,
            (5, 29),
            (5, 36),
        )],
    },
    Case {
        name: "traverse_cycle",
        source: r#"class U implements Namespace {}
class G implements Namespace {
  related: { members: (U | SubjectSet<G, "members">)[] }
}
class D implements Namespace {
  related: { viewers: SubjectSet<G, "members">[] }
  permits = {
    p: (ctx) => this.related.viewers.traverse((x) => x.related.members.includes(ctx.subject)),
  }
}
"#,
        // 10 times the same error, then one more
        errors: &[
            (
                r#"relation "members" was not declared in namespace "U""#,
                (8, 29),
                (8, 36),
            ),
            (
                r#"relation "members" was not declared in namespace "U""#,
                (8, 29),
                (8, 36),
            ),
            (
                r#"relation "members" was not declared in namespace "U""#,
                (8, 29),
                (8, 36),
            ),
            (
                r#"relation "members" was not declared in namespace "U""#,
                (8, 29),
                (8, 36),
            ),
            (
                r#"relation "members" was not declared in namespace "U""#,
                (8, 29),
                (8, 36),
            ),
            (
                r#"relation "members" was not declared in namespace "U""#,
                (8, 29),
                (8, 36),
            ),
            (
                r#"relation "members" was not declared in namespace "U""#,
                (8, 29),
                (8, 36),
            ),
            (
                r#"relation "members" was not declared in namespace "U""#,
                (8, 29),
                (8, 36),
            ),
            (
                r#"relation "members" was not declared in namespace "U""#,
                (8, 29),
                (8, 36),
            ),
            (
                r#"relation "members" was not declared in namespace "U""#,
                (8, 29),
                (8, 36),
            ),
            (
                r#"could not typecheck deeply nested SubjectSet further"#,
                (8, 29),
                (8, 36),
            ),
        ],
    },
    Case {
        name: "multiple_type_errors",
        source: r#"class A implements Namespace {
  related: { r: B[] }
  permits = {
    p: (ctx) => this.related.x.includes(ctx.subject) || this.permits.y(ctx),
  }
}
"#,
        errors: &[
            (r#"namespace "B" was not declared"#, (2, 16), (2, 17)),
            (
                r#"namespace "A" did not declare relation "x""#,
                (4, 29),
                (4, 30),
            ),
            (
                r#"namespace "A" did not declare relation "y""#,
                (4, 69),
                (4, 70),
            ),
        ],
    },
    Case {
        name: "unicode_positions",
        source: r#"// ünïcödé
class A implements Namespace {
  related: { "rélation": B[] }
}
"#,
        errors: &[(r#"namespace "B" was not declared"#, (3, 30), (3, 31))],
    },
    Case {
        name: "lex_err_in_traverse",
        source: r#"class A implements Namespace {
  related: { r: A[] }
  permits = {
    p: (ctx) => this.related.r.traverse((x) => x.permits.p(ctx) ? 1 : 2)
  }
}
"#,
        errors: &[(
            r#"expected ")", got "at \"? 1 : 2)\\n  }\\n}\\n\": unexpected token ?""#,
            (4, 64),
            (4, 64),
        )],
    },
];

#[test]
fn every_error_kind_matches_keto() {
    for case in CASES {
        let got: Vec<Expected> = check_syntax(case.source)
            .errors
            .iter()
            .map(|e| {
                (
                    e.message.clone(),
                    (e.start.line, e.start.column),
                    (e.end.line, e.end.column),
                )
            })
            .collect();
        let want: Vec<Expected> = case
            .errors
            .iter()
            .map(|(m, s, e)| ((*m).to_owned(), *s, *e))
            .collect();
        assert_eq!(got, want, "case {}", case.name);
    }
}

fn first(source: &str) -> OplError {
    fail(source).remove(0)
}

#[test]
fn human_positions_are_one_based_token_starts() {
    // Keto's column is 0-based and puts line starts on the line above; the
    // `line`/`column` fields are what an editor shows.
    let e = first("class A implements Foo {}\n");
    assert_eq!((e.line, e.column), (1, 20));
    assert_eq!(
        e.start,
        Position {
            line: 1,
            column: 19
        }
    );
    assert_eq!(e.offset, 19..22);

    let e = first("class A implements Namespace {}\n/* never closed");
    assert_eq!((e.line, e.column), (2, 1));
    assert_eq!(
        e.start,
        Position {
            line: 1,
            column: 32
        }
    );

    let e = first("class A implements Namespace {\n  related: { r: B[] }\n}\n");
    assert_eq!((e.line, e.column), (2, 17));
    assert_eq!(e.message, r#"namespace "B" was not declared"#);

    // A string literal is reported without its quotes.
    let e = first("class A implements Namespace {\n  related: { r: SubjectSet<A, \"x\">[] }\n}\n");
    assert_eq!((e.line, e.column), (2, 32));
    assert_eq!(e.offset.len(), 1);
}

#[test]
fn positions_count_characters_for_people_and_bytes_for_keto() {
    // Keto advances one character per byte of the offset, so multi-byte
    // characters before the token push its position to the right.
    let src = "// ünïcödé\nclass A implements Namespace {\n  related: { \"rélation\": B[] }\n}\n";
    let e = first(src);
    assert_eq!((e.line, e.column), (3, 26));
    assert_eq!(
        e.start,
        Position {
            line: 3,
            column: 30
        }
    );
}

#[test]
fn syntax_check_json_has_ketos_shape() {
    let body = serde_json::to_value(check_syntax("class A implements Foo {}\n")).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"errors": [{
            "message": "expected \"Namespace\", got \"Foo\"",
            "start": {"Line": 1, "column": 19},
            "end": {"Line": 1, "column": 22},
        }]})
    );
    let e = first("class A implements Foo {}\n");
    assert_eq!(e.to_json(), body["errors"][0]);
    // No errors: Keto omits the list.
    let body = serde_json::to_value(check_syntax("class A implements Namespace {}")).unwrap();
    assert_eq!(body, serde_json::json!({}));
}

#[test]
fn display_and_render_match_ketos_report() {
    let src = "class A implements Namespace {\n  permits = {\n    p: (ctx) => this.related.owners.includes(ctx.subject),\n  }\n}\n";
    let e = first(src);
    assert_eq!(
        e.to_string(),
        r#"error from 3:29 to 3:35: namespace "A" did not declare relation "owners""#
    );
    let want = [
        r#"error from 3:29 to 3:35: namespace "A" did not declare relation "owners""#,
        "",
        "   1 |   permits = {",
        "   2 |     p: (ctx) => this.related.owners.includes(ctx.subject),",
        "     |                              ^~~~~~                       ",
        "   3 |   }",
        "",
        "",
    ]
    .join("\n");
    assert_eq!(e.render(src), want);

    let src = "class A implements Foo {}\n";
    let want = "error from 1:19 to 1:22: expected \"Namespace\", got \"Foo\"\n\n   0 | class A implements Foo {}\n     |                    ^~~   \n   1 | \n\n";
    assert_eq!(first(src).render(src), want);
}

#[test]
fn syntax_errors_stop_before_type_checks() {
    // The unknown namespace B is not reported: type checks only run on a
    // file that parsed.
    let errors = fail("class A implements Namespace {\n  related: { r: B[] }\n  foo\n}\n");
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0].message,
        r#"expected 'permits' or 'related', got "foo""#
    );
}

#[test]
fn type_checks_report_everything_in_source_order() {
    let errors = fail(
        "class A implements Namespace {\n  related: { r: B[] }\n  permits = {\n    p: (ctx) => this.related.x.includes(ctx.subject) || this.permits.y(ctx),\n  }\n}\n",
    );
    let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            r#"namespace "B" was not declared"#,
            r#"namespace "A" did not declare relation "x""#,
            r#"namespace "A" did not declare relation "y""#,
        ]
    );
}

#[test]
fn traverse_check_follows_subject_sets_up_to_the_limit() {
    // D#r holds SubjectSet<N{n}, "m">, each N{i}#m holds SubjectSet<N{i-1}, "m">,
    // N0#m holds U. The check follows 10 subject-set hops.
    let chain = |n: usize| {
        let mut s = String::from(
            "class U implements Namespace { related: { m: U[] } }\nclass N0 implements Namespace { related: { m: U[] } }\n",
        );
        for i in 1..=n {
            s.push_str(&format!(
                "class N{i} implements Namespace {{ related: {{ m: SubjectSet<N{}, \"m\">[] }} }}\n",
                i - 1
            ));
        }
        s.push_str(&format!(
            "class D implements Namespace {{ related: {{ r: SubjectSet<N{n}, \"m\">[] }} permits = {{ v: (ctx) => this.related.r.traverse(x => x.related.m.includes(ctx.subject)) }} }}\n"
        ));
        s
    };
    ok(&chain(9));
    let errors = fail(&chain(10));
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0].message,
        "could not typecheck deeply nested SubjectSet further"
    );
}

#[test]
fn traverse_check_stays_fast_on_branching_cycles() {
    // Keto walks every path: 4 self-references over 11 levels would be
    // millions of steps. The walk is cut off after a fixed budget.
    let src = r#"class U implements Namespace { related: { m: U[] } }
class G implements Namespace {
  related: { m: (U | SubjectSet<G, "m"> | SubjectSet<G, "m"> | SubjectSet<G, "m"> | SubjectSet<G, "m">)[] }
}
class D implements Namespace {
  related: { r: SubjectSet<G, "m">[] }
  permits = { v: (ctx) => this.related.r.traverse(x => x.related.m.includes(ctx.subject)) }
}"#;
    let started = std::time::Instant::now();
    let errors = fail(src);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert!(
        errors
            .iter()
            .all(|e| e.message == "could not typecheck deeply nested SubjectSet further")
    );
}
