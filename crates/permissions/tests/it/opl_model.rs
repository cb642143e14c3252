//! The reference's document/folder/group model in OPL, with its expected answers: every
//! rewrite kind (union, intersection, exclusion, computed subject sets, tuple-to-subject-
//! set), subject-set hops, cycles and depth.

use crate::harness::{backends, opl_config, start};
use serde_json::Value;

/// The reference's model (also parsed in the OPL unit tests, the conformance suite and the
/// benchmark).
pub const MODEL: &str = include_str!("../fixtures/documents.keto.ts");

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

#[tokio::test]
async fn reverse_lookups_answer_what_checks_answer() {
    for backend in backends() {
        let dir = tempfile::tempdir().unwrap();
        let k = start(&backend, opl_config(dir.path(), MODEL)).await;
        k.insert(TUPLES).await;
        k.insert(&[
            "Document:plan#parents@Folder:root",
            "Document:secret#owners@User:bob",
            "Folder:sub#parents@Folder:root",
            "Document:deep#parents@Folder:sub",
        ])
        .await;
        let get = |path: String| {
            let http = k.http.clone();
            async move {
                http.get(path)
                    .send()
                    .await
                    .unwrap()
                    .json::<Value>()
                    .await
                    .unwrap()
            }
        };
        let objects = |subject: &str, token: &str, size: usize| {
            let url = format!(
                "{}/relation-tuples/list-objects?namespace=Document&relation=view&subject_set.namespace=User&subject_set.object={subject}&subject_set.relation=&page_size={size}&page_token={token}",
                k.read
            );
            get(url)
        };
        let alice = objects("alice", "", 100).await;
        assert_eq!(
            alice["objects"],
            serde_json::json!(["deep", "plan", "spec"]),
            "{backend:?}"
        );
        let bob = objects("bob", "", 100).await;
        assert_eq!(bob["objects"], serde_json::json!(["secret", "spec"]));
        let dave = objects("dave", "", 100).await;
        assert_eq!(
            dave["objects"],
            serde_json::json!(["deep", "plan"]),
            "blocked on spec only"
        );
        let first = objects("alice", "", 2).await;
        assert_eq!(first["objects"], serde_json::json!(["deep", "plan"]));
        let token = first["next_page_token"].as_str().unwrap().to_string();
        let second = objects("alice", &token, 2).await;
        assert_eq!(second["objects"], serde_json::json!(["spec"]));
        assert_eq!(second["next_page_token"], "");

        let who = get(format!(
            "{}/relation-tuples/list-subjects?namespace=Document&object=spec&relation=view",
            k.read
        ))
        .await;
        let names: Vec<String> = who["subjects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["subject_set"]["object"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(names, vec!["alice", "bob", "carol", "erin"], "{who}");
        for name in &names {
            assert!(
                k.allowed(&format!("Document:spec#view@User:{name}"), None)
                    .await
            );
        }
        let bad = k
            .http
            .get(format!(
                "{}/relation-tuples/list-objects?namespace=Document&relation=view",
                k.read
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), 400);
    }
}

/// Many checks at once, each with its own answer: on PostgreSQL their lookups share
/// statements (`batch.rs`), and every answer must still be the one for its own question.
/// Then PostgreSQL ends every session of the database (as a restart would) and checks still
/// answer, on new connections.
#[tokio::test]
async fn concurrent_checks_each_get_their_own_answer() {
    const DOCS: usize = 30;
    for backend in backends() {
        let dir = tempfile::tempdir().unwrap();
        let k = start(&backend, opl_config(dir.path(), MODEL)).await;
        let mut tuples = Vec::new();
        for i in 0..DOCS {
            tuples.push(format!("Document:d{i}#owners@User:o{i}"));
            tuples.push(format!("Document:d{i}#parents@Folder:f{}", i % 3));
        }
        for j in 0..3 {
            tuples.push(format!("Folder:f{j}#viewers@Group:g{j}#members"));
            tuples.push(format!("Group:g{j}#members@User:m{j}"));
        }
        k.insert(&tuples.iter().map(String::as_str).collect::<Vec<_>>())
            .await;
        let mut cases = Vec::new();
        for i in 0..DOCS {
            let other = (i + 1) % DOCS;
            cases.push((format!("Document:d{i}#view@User:o{i}"), true));
            cases.push((format!("Document:d{i}#view@User:o{other}"), false));
            cases.push((format!("Document:d{i}#edit@User:o{i}"), true));
            cases.push((format!("Document:d{i}#view@User:m{}", i % 3), true));
            cases.push((format!("Document:d{i}#view@User:m{}", (i + 1) % 3), false));
            cases.push((format!("Document:d{i}#edit@User:m{}", i % 3), false));
        }
        let k = std::sync::Arc::new(k);
        let all_at_once = |round: &'static str| {
            let mut set = tokio::task::JoinSet::new();
            for (tuple, expected) in cases.clone() {
                let k = k.clone();
                set.spawn(async move { (k.allowed(&tuple, None).await, expected, tuple) });
            }
            let backend = backend.clone();
            async move {
                while let Some(done) = set.join_next().await {
                    let (got, expected, tuple) = done.unwrap();
                    assert_eq!(got, expected, "{tuple} on {backend:?}, {round}");
                }
            }
        };
        all_at_once("first round").await;
        if let crate::harness::Backend::Postgres(_) = &backend {
            k.end_database_sessions().await;
            all_at_once("after PostgreSQL ended every session").await;
        }
    }
}

/// As in Keto, an edited OPL file (`file://`) is in force within seconds, without a
/// restart; an edit with errors leaves the namespaces in force until it is fixed.
#[tokio::test]
async fn an_edited_opl_file_is_reloaded() {
    const FIRST: &str = r#"
import { Namespace, Context } from "@ory/keto-namespace-types"
class User implements Namespace {}
class Doc implements Namespace {
  related: { viewers: User[] }
}
"#;
    const SECOND: &str = r#"
import { Namespace, Context } from "@ory/keto-namespace-types"
class User implements Namespace {}
class Folder implements Namespace {}
class Doc implements Namespace {
  related: { viewers: User[]; editors: User[] }
  permits = {
    view: (ctx: Context): boolean =>
      this.related.viewers.includes(ctx.subject) || this.related.editors.includes(ctx.subject),
  }
}
"#;
    let dir = tempfile::tempdir().unwrap();
    let config = opl_config(dir.path(), FIRST);
    let file = dir.path().join("namespaces.keto.ts");
    let k = start(&crate::harness::Backend::Sqlite, config).await;
    k.insert(&["Doc:a#viewers@User:ann"]).await;
    let names = || async {
        let (_, body) = k.read_get("/namespaces").await;
        body["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["name"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(names().await, ["User", "Doc"]);
    let view = "/relation-tuples/check/openapi?namespace=Doc&object=a&relation=view\
                &subject_set.namespace=User&subject_set.object=ann&subject_set.relation=";
    assert_eq!(
        k.read_get(view).await.0,
        400,
        "no `view` in the first model"
    );

    std::fs::write(&file, SECOND).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while names().await != ["User", "Folder", "Doc"] {
        assert!(std::time::Instant::now() < deadline, "not reloaded");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(k.allowed("Doc:a#view@User:ann", None).await);

    std::fs::write(&file, "class Doc implements Namespace {\n  related: {").unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(
        names().await,
        ["User", "Folder", "Doc"],
        "the broken edit is not taken"
    );
    assert!(k.allowed("Doc:a#view@User:ann", None).await);
}

/// `namespaces.location` may name a directory, as in Keto: each visible file's classes,
/// in file name order; hidden entries (a ConfigMap's `..data`) are skipped. A class
/// declared in two files stops start-up naming both, and the directory is watched as a
/// file is.
#[tokio::test]
async fn a_directory_of_opl_files_is_one_model() {
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("namespaces");
    std::fs::create_dir_all(models.join("..data")).unwrap();
    std::fs::write(models.join("..data/x.ts"), "not OPL").unwrap();
    std::fs::write(models.join(".hidden.ts"), "not OPL either").unwrap();
    std::fs::write(models.join("a.ts"), "class User implements Namespace {}\n").unwrap();
    std::fs::write(
        models.join("b.ts"),
        "class User implements Namespace {}\nclass Team implements Namespace {\n  related: { members: User[] }\n}\n",
    )
    .unwrap();
    let config =
        serde_json::json!({"namespaces": {"location": format!("file://{}", models.display())}});
    let twice = crate::harness::try_start(&crate::harness::Backend::Sqlite, config.clone())
        .await
        .err()
        .unwrap();
    assert!(
        twice.contains("b.ts: class User is declared in") && twice.contains("a.ts too"),
        "{twice}"
    );

    std::fs::write(
        models.join("b.ts"),
        "class Team implements Namespace {\n  related: { members: Team[] }\n}\n",
    )
    .unwrap();
    let k = start(&crate::harness::Backend::Sqlite, config).await;
    let names = || async {
        let (_, body) = k.read_get("/namespaces").await;
        body["namespaces"].clone()
    };
    assert_eq!(
        names().await,
        serde_json::json!([{"name": "User"}, {"name": "Team"}])
    );
    std::fs::write(
        models.join("c.ts"),
        "class Folder implements Namespace {}\n",
    )
    .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while names().await.as_array().unwrap().len() != 3 {
        assert!(std::time::Instant::now() < deadline, "not reloaded");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(names().await[2]["name"], "Folder");
}
