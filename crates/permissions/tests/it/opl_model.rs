//! The reference's document/folder/group model in OPL, with its expected answers: every
//! rewrite kind (union, intersection, exclusion, computed subject sets, tuple-to-subject-
//! set), subject-set hops, cycles and depth.

use crate::harness::{backends, opl_config, start};
use serde_json::Value;

pub const MODEL: &str = r#"
import { Namespace, Context } from "@ory/keto-namespace-types"

class User implements Namespace {}

class Group implements Namespace {
  related: {
    members: (User | SubjectSet<Group, "members">)[]
  }
}

class Folder implements Namespace {
  related: {
    parents: Folder[]
    owners: User[]
    viewers: (User | SubjectSet<Group, "members">)[]
  }
  permits = {
    view: (ctx: Context): boolean =>
      this.related.owners.includes(ctx.subject) ||
      this.related.viewers.includes(ctx.subject) ||
      this.related.parents.traverse((f) => f.permits.view(ctx)),
  }
}

class Document implements Namespace {
  related: {
    parents: Folder[]
    owners: User[]
    editors: (User | SubjectSet<Group, "members">)[]
    viewers: (User | SubjectSet<Group, "members">)[]
    blocked: User[]
  }
  permits = {
    edit: (ctx: Context): boolean =>
      this.related.owners.includes(ctx.subject) || this.related.editors.includes(ctx.subject),
    view: (ctx: Context): boolean =>
      (this.permits.edit(ctx) ||
        this.related.viewers.includes(ctx.subject) ||
        this.related.parents.traverse((f) => f.permits.view(ctx))) &&
      !this.related.blocked.includes(ctx.subject),
  }
}
"#;

const TUPLES: &[&str] = &[
    "Group:eng#members@User:alice",
    "Group:eng#members@User:dave",
    "Group:eng#members@Group:leads#members",
    "Group:leads#members@User:carol",
    "Folder:root#viewers@Group:eng#members",
    "Document:spec#parents@Folder:root",
    "Document:spec#owners@User:bob",
    "Document:spec#blocked@User:dave",
    "Document:spec#view@User:erin",
];

#[tokio::test]
async fn the_reference_model_answers_as_expected() {
    for backend in backends() {
        let dir = tempfile::tempdir().unwrap();
        let k = start(&backend, opl_config(dir.path(), MODEL)).await;
        k.insert(TUPLES).await;
        for (tuple, expected) in [
            ("Document:spec#view@User:bob", true),
            ("Document:spec#edit@User:alice", false),
            ("Document:spec#view@User:alice", true),
            ("Document:spec#view@User:carol", true),
            ("Document:spec#view@User:dave", false),
            ("Document:spec#view@alice", false),
            ("Document:spec#view@User:erin", true),
            ("Group:eng#members@User:carol", true),
            ("Unknown:x#view@User:bob", false),
        ] {
            assert_eq!(
                k.allowed(tuple, None).await,
                expected,
                "{tuple} on {backend:?}"
            );
        }
        assert!(
            !k.allowed("Document:spec#view@User:carol", Some(2)).await,
            "too deep for max-depth 2"
        );
        let undefined = k
            .http
            .get(format!(
                "{}/relation-tuples/check?namespace=Document&object=spec&relation=destroy&subject_set.namespace=User&subject_set.object=bob&subject_set.relation=",
                k.read
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(undefined.status(), 400);
    }
}

#[tokio::test]
async fn cycles_end() {
    let dir = tempfile::tempdir().unwrap();
    let k = start(
        &crate::harness::Backend::Sqlite,
        opl_config(dir.path(), MODEL),
    )
    .await;
    k.insert(&[
        "Group:a#members@Group:b#members",
        "Group:b#members@Group:a#members",
        "Folder:x#parents@Folder:y",
        "Folder:y#parents@Folder:x",
    ])
    .await;
    assert!(!k.allowed("Group:a#members@User:nobody", Some(50)).await);
    assert!(!k.allowed("Folder:x#view@User:nobody", Some(50)).await);
}

#[tokio::test]
async fn opl_errors_have_positions_and_stop_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let broken = "class Doc implements Namespace {\n  related: {\n    owners: Nobody[]\n  }\n}\n";
    let err = crate::harness::try_start(
        &crate::harness::Backend::Sqlite,
        opl_config(dir.path(), broken),
    )
    .await
    .err()
    .expect("start-up fails");
    assert!(err.contains("namespaces.keto.ts:3:"), "{err}");
    let k = start(
        &crate::harness::Backend::Sqlite,
        opl_config(dir.path(), MODEL),
    )
    .await;
    let r = k
        .http
        .post(format!("{}/opl/syntax/check", k.opl))
        .body(broken)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["start"]["Line"], 3, "{body}");
    let ok: Value = k
        .http
        .post(format!("{}/opl/syntax/check", k.opl))
        .body(MODEL)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(ok.get("errors").is_none(), "{ok}");
}
