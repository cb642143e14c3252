use super::*;
use std::path::Path;
use std::time::Instant;

const EVERY: Duration = Duration::from_millis(10);
const DEADLINE: Duration = Duration::from_secs(10);

fn rules_doc(ids: &[&str]) -> String {
    let rules: Vec<String> = ids
        .iter()
        .map(|id| {
            format!(r#"{{"id":"{id}","match":{{"url":"http://{id}/<.*>","methods":["GET"]}}}}"#)
        })
        .collect();
    format!("[{}]", rules.join(","))
}

fn ids(rules: &Rules) -> Vec<String> {
    rules
        .current()
        .rules()
        .iter()
        .map(|r| r.id.clone())
        .collect()
}

/// Waits (polling, bounded) until the live ids equal `want`.
async fn wait_for(rules: &Rules, want: &[&str]) {
    let start = Instant::now();
    while ids(rules) != want {
        assert!(
            start.elapsed() < DEADLINE,
            "still {:?}, want {want:?}",
            ids(rules)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Replaces the file atomically, so the watcher never reads half of it.
fn write(path: &Path, content: &str) {
    let next = path.with_extension("next");
    std::fs::write(&next, content).unwrap();
    std::fs::rename(&next, path).unwrap();
}

#[test]
fn replace_swaps_and_keeps_old_arcs_valid() {
    let first = RuleSet::compile(Vec::new(), Strategy::Regexp).unwrap();
    let rules = Rules::new(first);
    let held = rules.current();
    let doc = super::super::decode::decode(rules_doc(&["a"]).as_bytes()).unwrap();
    rules.replace(RuleSet::compile(doc, Strategy::Regexp).unwrap());
    assert!(held.is_empty(), "a request's set is unaffected by the swap");
    assert_eq!(ids(&rules), ["a"]);
}

#[tokio::test]
async fn a_changed_file_is_reloaded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.json");
    write(&path, &rules_doc(&["a"]));
    let repos = vec![format!("file://{}", path.display())];
    let rules = Rules::new(load(&repos, Strategy::Regexp).await.unwrap());
    let task = rules.watch(repos, Strategy::Regexp, EVERY);

    write(&path, &rules_doc(&["a", "b"]));
    wait_for(&rules, &["a", "b"]).await;
    let m = rules.current().find("GET", "http://b/x").unwrap();
    assert_eq!(m.rule.id, "b");

    // YAML works as well, and the task ends once the rules are dropped.
    write(
        &path,
        "- id: c\n  match: {url: 'http://c/', methods: [GET]}\n",
    );
    wait_for(&rules, &["c"]).await;
    drop(rules);
    tokio::time::timeout(DEADLINE, task).await.unwrap().unwrap();
}

#[tokio::test]
async fn a_broken_file_keeps_its_old_rules() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.json");
    let other = dir.path().join("other.yml");
    write(&broken, &rules_doc(&["a"]));
    write(&other, &rules_doc(&["x"]));
    let remote = format!(
        "inline://{}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            rules_doc(&["r"])
        )
    );
    let repos = vec![
        broken.display().to_string(),
        remote,
        other.display().to_string(),
    ];
    let rules = Rules::new(load(&repos, Strategy::Regexp).await.unwrap());
    let _task = rules.watch(repos, Strategy::Regexp, EVERY);

    // Break one file, then change the other: once the second change is
    // live, the first has been seen too, and its old rule must remain.
    write(&broken, r#"[{"id":"a","match":{"url":"http://a/<"}}]"#);
    write(&other, &rules_doc(&["x", "y"]));
    wait_for(&rules, &["a", "r", "x", "y"]).await;

    std::fs::remove_file(&broken).unwrap();
    write(&other, &rules_doc(&["z"]));
    wait_for(&rules, &["a", "r", "z"]).await;

    // The watcher survived the errors and picks up the repaired file.
    write(&broken, &rules_doc(&["a2"]));
    wait_for(&rules, &["a2", "r", "z"]).await;
}

#[tokio::test]
async fn a_set_not_built_by_load_is_replaced_by_a_full_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.json");
    write(&path, &rules_doc(&["a"]));
    let rules = Rules::new(RuleSet::empty());
    let _task = rules.watch(vec![path.display().to_string()], Strategy::Glob, EVERY);
    write(&path, &rules_doc(&["a", "b"]));
    wait_for(&rules, &["a", "b"]).await;
    assert_eq!(rules.current().strategy(), Strategy::Glob);
}

#[tokio::test]
async fn no_file_repositories_means_no_polling() {
    let rules = Rules::new(RuleSet::empty());
    let task = rules.watch(vec!["inline://W10=".into()], Strategy::Regexp, EVERY);
    tokio::time::timeout(DEADLINE, task).await.unwrap().unwrap();
}
