//! Each grammar form, the operator quirk, flattening and Keto's lenient
//! corners (all verified against Keto's parser).

use super::{and, cs, fail, not, ok, or, plain, rewrite_of, set, ttu, with_permits};
use crate::opl::{MAX_NESTING, MAX_OPERATOR_CHANGES, Rewrite, check_syntax};

const R: &str = "this.related.r.includes(ctx.subject)";
const S: &str = "this.related.s.includes(ctx.subject)";
const T: &str = "this.related.t.includes(ctx.subject)";
const P: &str = "this.permits.p(ctx)";

/// The rewrite of permit `x` defined as `expr` (next to a permit `p`).
fn expr(expr: &str) -> Rewrite {
    rewrite_of(
        &with_permits(&format!("p: (ctx) => {R},\n    x: (ctx) => {expr},")),
        "x",
    )
}

#[test]
fn single_term_is_a_one_child_union() {
    assert_eq!(expr(R), or(vec![cs("r")]));
    assert_eq!(expr(P), or(vec![cs("p")]));
    assert_eq!(expr(&format!("(({R}))")), or(vec![cs("r")]));
}

#[test]
fn operators_have_no_precedence() {
    // Each operator wraps everything to its left.
    assert_eq!(
        expr(&format!("{R} || {S} && {T}")),
        and(vec![or(vec![cs("r"), cs("s")]), cs("t")])
    );
    assert_eq!(
        expr(&format!("{R} && {S} || {T}")),
        or(vec![and(vec![cs("r"), cs("s")]), cs("t")])
    );
    // Parentheses give the TypeScript meaning.
    assert_eq!(
        expr(&format!("{R} || ({S} && {T})")),
        or(vec![cs("r"), and(vec![cs("s"), cs("t")])])
    );
    assert_eq!(
        expr(&format!("({R} && {S}) || {T}")),
        or(vec![and(vec![cs("r"), cs("s")]), cs("t")])
    );
}

#[test]
fn same_operator_groups_are_flattened() {
    assert_eq!(
        expr(&format!("{R} || {S} || {T} || {P}")),
        or(vec![cs("r"), cs("s"), cs("t"), cs("p")])
    );
    assert_eq!(
        expr(&format!("{R} || ({S} || ({T}))")),
        or(vec![cs("r"), cs("s"), cs("t")])
    );
    assert_eq!(
        expr(&format!("({R} && {S}) && {T}")),
        and(vec![cs("r"), cs("s"), cs("t")])
    );
    // A top-level group is the rewrite itself.
    assert_eq!(expr(&format!("({R} && {S})")), and(vec![cs("r"), cs("s")]));
    // One-child groups melt into their parent, whatever their operator.
    assert_eq!(expr(&format!("{R} && ({S})")), and(vec![cs("r"), cs("s")]));
}

#[test]
fn negation() {
    assert_eq!(expr(&format!("!{R}")), or(vec![not(cs("r"))]));
    assert_eq!(
        expr(&format!("{P} && !{R}")),
        and(vec![cs("p"), not(cs("r"))])
    );
    // A group under `!` stays a group, flattened inside.
    assert_eq!(expr(&format!("!({R})")), or(vec![not(or(vec![cs("r")]))]));
    assert_eq!(
        expr(&format!("!({R} || ({S} || {T}))")),
        or(vec![not(or(vec![cs("r"), cs("s"), cs("t")]))])
    );
    assert_eq!(
        expr(&format!("!(!{R})")),
        or(vec![not(or(vec![not(cs("r"))]))])
    );
    // `!!x` needs parentheses.
    let e = &check_syntax(&with_permits(&format!("x: (ctx) => !!{R}"))).errors[0];
    assert_eq!(e.message, r#"expected "this", got "!""#);
}

#[test]
fn ketos_lenient_corners_are_kept() {
    // Two terms without an operator join the group on their left ...
    assert_eq!(expr(&format!("{R} {S}")), or(vec![cs("r"), cs("s")]));
    // ... as do two parenthesised groups.
    assert_eq!(expr(&format!("({R}) ({S})")), or(vec![cs("r"), cs("s")]));
    // A trailing operator is accepted.
    assert_eq!(expr(&format!("{R} &&")), and(vec![cs("r")]));
    // `!()` negates nothing (an empty union here).
    assert_eq!(expr("!()"), or(vec![not(or(vec![]))]));
    // But a term right after `!x` or `( … )` is refused.
    let e = &check_syntax(&with_permits(&format!("x: (ctx) => !{R} {S}"))).errors[0];
    assert_eq!(e.message, "did not expect another expression");
}

#[test]
fn a_permit_without_terms_ends_the_block_silently() {
    // As in Keto, `=> ,` ends the permits block without a message; the
    // class then sees the next entry.
    let ns = ok("class A implements Namespace {\n  permits = {\n    x: (ctx) => ,\n  }\n}\n");
    assert!(ns[0].relations.is_empty());
    let e = &check_syntax(&with_permits("x: (ctx) => || this.permits.x(ctx)")).errors[0];
    assert_eq!(e.message, r#"expected 'permits' or 'related', got "this""#);
}

#[test]
fn nesting_limit() {
    let nested = |n: usize| format!("x: (ctx) => {}{R}{}", "(".repeat(n), ")".repeat(n));
    assert_eq!(MAX_NESTING, 10);
    assert_eq!(
        rewrite_of(&with_permits(&nested(9)), "x"),
        or(vec![cs("r")])
    );
    let e = &check_syntax(&with_permits(&nested(10))).errors;
    assert_eq!(e.len(), 1);
    assert_eq!(
        e[0].message,
        "expression nested too deeply; maximal nesting depth is 10"
    );
    // `!(` counts twice.
    let nots = |n: usize| format!("x: (ctx) => {}{R}{}", "!(".repeat(n), ")".repeat(n));
    assert!(check_syntax(&with_permits(&nots(4))).errors.is_empty());
    assert_eq!(check_syntax(&with_permits(&nots(5))).errors.len(), 1);
}

#[test]
fn traverse_forms() {
    let cases = [
        (
            "this.related.r.traverse(x => x.related.s.includes(ctx.subject))",
            ttu("r", "s"),
        ),
        (
            "this.related.r.traverse((x) => x.related.s.includes(ctx.subject))",
            ttu("r", "s"),
        ),
        (
            "this.related.r.traverse((x) => x.related.s.includes(ctx.subject,),)",
            ttu("r", "s"),
        ),
        (
            "this.related.r.traverse((x) => x.permits.p(ctx))",
            ttu("r", "p"),
        ),
        (
            "this.related[\"r\"].traverse((x) => x.permits['p'](ctx))",
            ttu("r", "p"),
        ),
        (
            "this.related.r.traverse((x) => x.related[\"t\"].includes(ctx.subject))",
            ttu("r", "t"),
        ),
    ];
    for (src, want) in cases {
        assert_eq!(expr(src), or(vec![want]), "{src}");
    }
}

#[test]
fn nested_traverse_is_rejected() {
    let src = with_permits(
        "p: (ctx) => this.related.r.traverse((x) => x.related.r.traverse((y) => y.permits.p(ctx)))",
    );
    let errors = check_syntax(&src).errors;
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].message, r#"expected "includes", got "traverse""#);
}

#[test]
fn type_forms() {
    let ns = ok(r#"class U implements Namespace {}
class A implements Namespace {
  related: {
    a: U[]
    b: SubjectSet<A, "a">[]
    c: (U | SubjectSet<A, 'a'>)[]
    d: (U)[]
    e: Array<U>
    f: Array<U | SubjectSet<A, "a">>
    g: Array<SubjectSet<A, "a">>
  }
}"#);
    let types = |name: &str| ns[1].relation(name).map(|r| r.types.clone());
    assert_eq!(types("a"), Some(vec![plain("U")]));
    assert_eq!(types("b"), Some(vec![set("A", "a")]));
    assert_eq!(types("c"), Some(vec![plain("U"), set("A", "a")]));
    assert_eq!(types("d"), Some(vec![plain("U")]));
    assert_eq!(types("e"), Some(vec![plain("U")]));
    assert_eq!(types("f"), Some(vec![plain("U"), set("A", "a")]));
    assert_eq!(types("g"), Some(vec![set("A", "a")]));
    // An empty relation is the plain type, as in Keto's storage (the check
    // still wants the relation "" to exist).
    assert!(
        check_syntax("class A implements Namespace { related: { h: SubjectSet<A, \"\">[] } }")
            .errors
            .iter()
            .any(|e| e.message == r#"namespace "A" did not declare relation """#)
    );
    let ns =
        ok("class A implements Namespace { related: { \"\": A[], h: SubjectSet<A, \"\">[] } }");
    assert_eq!(ns[0].relations[1].types, vec![plain("A")]);
}

#[test]
fn separators_in_related() {
    let ns = ok(r#"class U implements Namespace {}
class A implements Namespace {
  related: {
    a: U[],
    b: U[];
    c: (U | A)[],
    d: Array<U>;
    e: SubjectSet<A, "a">[],
  };
};"#);
    assert_eq!(ns[1].relations.len(), 5);
    // `Array<…>` may not be followed by a comma (Keto reads none there).
    let e = &check_syntax("class A implements Namespace { related: { a: Array<A>, b: A[] } }")
        .errors[0];
    assert_eq!(e.message, r#"expected identifier or '}', got "," ",""#);
}

#[test]
fn permit_signature_annotations_are_optional() {
    let src = format!(
        "class A implements Namespace {{ related: {{ r: A[] }}
  permits = {{
    a: (ctx) => {R},
    b: (ctx: Context) => {R},
    c: (ctx): boolean => {R},
    d: (ctx: Context): boolean => {R}
  }}
}}"
    );
    let ns = ok(&src);
    for name in ["a", "b", "c", "d"] {
        assert_eq!(
            ns[0].relation(name).and_then(|r| r.rewrite.clone()),
            Some(or(vec![cs("r")])),
            "{name}"
        );
    }
}

#[test]
fn string_literal_names() {
    let ns = ok(r#"class R implements Namespace {
  related: { "scope.rel": R[]; 'other': R[] }
  permits = {
    "can-view": (ctx: Context): boolean =>
      this.related["scope.rel"].includes(ctx.subject) || this.permits['can-edit'](ctx),
    'can-edit': (ctx) => this.related["other"].traverse((r) => r.permits["can-view"](ctx)),
  }
}"#);
    let names: Vec<&str> = ns[0].relations.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["scope.rel", "other", "can-view", "can-edit"]);
    assert_eq!(
        ns[0].relation("can-view").and_then(|r| r.rewrite.clone()),
        Some(or(vec![cs("scope.rel"), cs("can-edit")]))
    );
    assert_eq!(
        ns[0].relation("can-edit").and_then(|r| r.rewrite.clone()),
        Some(or(vec![ttu("other", "can-view")]))
    );
}

#[test]
fn comments_and_other_top_level_code_are_skipped() {
    let ns = ok(
        r#"import { Namespace, Context, SubjectSet } from "@ory/keto-namespace-types"
// line comment with class Fake implements Namespace {}
/** doc comment
 * class AlsoFake implements Namespace {}
 */
export class User implements Namespace {} // trailing
type Alias = { foo: string }
export default User;
class Doc /* inline */ implements Namespace {
  related: {
    owners: User[] // who owns it
  }
  permits = {
    view: (ctx /* the context */: Context): boolean =>
      // a comment inside the expression
      this.related.owners.includes(ctx.subject) /* and another */,
  }
}
"#,
    );
    let names: Vec<&str> = ns.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["User", "Doc"]);
    assert_eq!(
        ns[1].relation("view").and_then(|r| r.rewrite.clone()),
        Some(or(vec![cs("owners")]))
    );
}

#[test]
fn tokens_match_by_text() {
    // Keto compares token text, so quoted keywords work.
    let ns = ok("class \"A\" implements Namespace { \"related\": { x: A[] } }");
    assert_eq!(ns[0].name, "A");
    assert_eq!(ns[0].relations[0].types, vec![plain("A")]);
}

#[test]
fn duplicate_names_resolve_to_the_first() {
    // The second A's `this.related.y` is looked up on the first A.
    let errors = fail(
        "class A implements Namespace { related: { x: A[] } }\nclass A implements Namespace { related: { y: A[] } permits = { p: (ctx) => this.related.y.includes(ctx.subject) } }",
    );
    assert_eq!(
        errors[0].message,
        r#"namespace "A" did not declare relation "y""#
    );
    let ns = ok("class A implements Namespace { related: { x: A[] } related: { x: (A | A)[] } }");
    assert_eq!(
        ns[0].relation("x").map(|r| r.types.clone()),
        Some(vec![plain("A")])
    );
}

#[test]
fn empty_sources() {
    assert_eq!(ok(""), vec![]);
    assert_eq!(ok(" \n\t// nothing\n"), vec![]);
    assert_eq!(ok("class A implements Namespace {}")[0].relations, vec![]);
}

#[test]
fn operator_changes_are_bounded() {
    // Every change between `||` and `&&` nests the tree one level deeper.
    let chain = |ops: usize| {
        let mut e = R.to_owned();
        for i in 0..ops {
            e.push_str(if i % 2 == 0 { " || " } else { " && " });
            e.push_str(S);
        }
        with_permits(&format!("x: (ctx) => {e}"))
    };
    // 101 operators: the first only extends the one-term group, then 100 changes.
    let mut rewrite = rewrite_of(&chain(MAX_OPERATOR_CHANGES + 1), "x");
    let mut depth = 0;
    while let Some(children) = rewrite.children() {
        depth += 1;
        rewrite = children[0].clone();
    }
    assert_eq!(depth, MAX_OPERATOR_CHANGES + 1);
    let errors = check_syntax(&chain(MAX_OPERATOR_CHANGES + 2)).errors;
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0].message,
        "expression too complex; at most 100 changes between '||' and '&&' are allowed"
    );
    // The same operator any number of times stays one flat group.
    let flat = format!("x: (ctx) => {}", vec![R; 5000].join(" && "));
    let rewrite = rewrite_of(&with_permits(&flat), "x");
    assert_eq!(rewrite.children().map(<[_]>::len), Some(5000));
}
