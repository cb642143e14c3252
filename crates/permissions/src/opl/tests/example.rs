//! The example model of the reference (shared/reference/permissions.md §5)
//! parses to the expected namespaces and rewrite trees.

use super::{and, cs, not, ok, or, plain, set, ttu};
use crate::opl::{Namespace, Relation};

/// The model, shared with the integration tests, the conformance suite and the benchmark.
pub(super) const EXAMPLE: &str = include_str!("../../../tests/fixtures/documents.keto.ts");

fn related(name: &str, types: Vec<crate::opl::SubjectType>) -> Relation {
    Relation {
        name: name.to_owned(),
        types,
        rewrite: None,
    }
}

fn permit(name: &str, rewrite: crate::opl::Rewrite) -> Relation {
    Relation {
        name: name.to_owned(),
        types: Vec::new(),
        rewrite: Some(rewrite),
    }
}

#[test]
fn example_model_parses_to_the_expected_ast() {
    let members = || vec![plain("User"), set("Group", "members")];
    let expected = vec![
        Namespace {
            name: "User".into(),
            relations: vec![],
        },
        Namespace {
            name: "Group".into(),
            relations: vec![related("members", members())],
        },
        Namespace {
            name: "Folder".into(),
            relations: vec![
                related("parents", vec![plain("Folder")]),
                related("owners", vec![plain("User")]),
                related("viewers", members()),
                permit(
                    "view",
                    or(vec![cs("owners"), cs("viewers"), ttu("parents", "view")]),
                ),
            ],
        },
        Namespace {
            name: "Document".into(),
            relations: vec![
                related("parents", vec![plain("Folder")]),
                related("owners", vec![plain("User")]),
                related("editors", members()),
                related("viewers", members()),
                related("blocked", vec![plain("User")]),
                permit("edit", or(vec![cs("owners"), cs("editors")])),
                permit(
                    "view",
                    and(vec![
                        or(vec![cs("edit"), cs("viewers"), ttu("parents", "view")]),
                        not(cs("blocked")),
                    ]),
                ),
            ],
        },
    ];
    assert_eq!(ok(EXAMPLE), expected);
}

#[test]
fn relation_lookup() {
    let ns = ok(EXAMPLE);
    let doc = &ns[3];
    assert!(doc.relation("blocked").is_some_and(|r| !r.is_permit()));
    assert!(doc.relation("view").is_some_and(|r| r.is_permit()));
    assert!(doc.relation("destroy").is_none());
    assert_eq!(
        doc.relation("editors").map(|r| r.types.clone()),
        Some(vec![plain("User"), set("Group", "members")])
    );
}
