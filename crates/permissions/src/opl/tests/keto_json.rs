//! Renders parse results in the JSON shape Keto's own parser produces
//! (`ast.Relation` marshalled), so cases can be compared against output
//! recorded from Keto.

use crate::opl::{Namespace, Rewrite, parse_partial};
use serde_json::{Value, json};

pub(super) fn rewrite(r: &Rewrite) -> Value {
    match r {
        Rewrite::Union(c) => {
            json!({"operator": "or", "children": c.iter().map(rewrite).collect::<Vec<_>>()})
        }
        Rewrite::Intersection(c) => {
            json!({"operator": "and", "children": c.iter().map(rewrite).collect::<Vec<_>>()})
        }
        // Keto's "negation of nothing" (`!()`), see `parse_not`.
        Rewrite::Not(inner) if inner.children().is_some_and(<[_]>::is_empty) => {
            json!({"inverted": null})
        }
        Rewrite::Not(inner) => json!({"inverted": rewrite(inner)}),
        Rewrite::ComputedSubjectSet { relation } => json!({"relation": relation}),
        Rewrite::TupleToSubjectSet { relation, computed } => {
            json!({"relation": relation, "computed_subject_set_relation": computed})
        }
    }
}

pub(super) fn namespaces(ns: &[Namespace]) -> Value {
    ns.iter()
        .map(|n| {
            let relations: Vec<Value> = n
                .relations
                .iter()
                .map(|r| {
                    let mut o = json!({"name": r.name});
                    if !r.types.is_empty() {
                        o["types"] = r
                            .types
                            .iter()
                            .map(|t| match &t.relation {
                                Some(rel) => json!({"namespace": t.namespace, "relation": rel}),
                                None => json!({"namespace": t.namespace}),
                            })
                            .collect();
                    }
                    if let Some(rw) = &r.rewrite {
                        o["rewrite"] = rewrite(rw);
                    }
                    o
                })
                .collect();
            json!({"name": n.name, "relations": relations})
        })
        .collect()
}

/// `{"errors": [...], "namespaces": [...]}` as the recording tool prints it.
pub(super) fn outcome(source: &str) -> Value {
    let (ns, errors) = parse_partial(source);
    json!({
        "errors": errors.iter().map(|e| e.to_json()).collect::<Vec<_>>(),
        "namespaces": namespaces(&ns),
    })
}

/// Writes `outcome` for every `*.opl` file in `$OPL_DIFF_DIR` next to it as
/// `*.rust.json`, to diff against Keto's answers for the same files.
#[test]
#[ignore = "tool: run with OPL_DIFF_DIR set"]
fn dump_outcomes() {
    let Ok(dir) = std::env::var("OPL_DIFF_DIR") else {
        return;
    };
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "opl") {
            let bytes = std::fs::read(&path).unwrap();
            let Ok(source) = String::from_utf8(bytes) else {
                continue;
            };
            let out = outcome(&source);
            std::fs::write(path.with_extension("rust.json"), out.to_string()).unwrap();
        }
    }
}
