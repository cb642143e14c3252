use super::*;
use std::io::Write as _;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;

const JSON_RULES: &str = r#"[{"id":"j","match":{"url":"http://j/<.*>","methods":["GET"]}}]"#;
const YAML_RULES: &str = "- id: y\n  match:\n    url: http://y/<.*>\n    methods: [GET]\n";

fn inline(doc: &str) -> String {
    format!(
        "inline://{}",
        base64::engine::general_purpose::STANDARD.encode(doc)
    )
}

fn temp_file(content: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(content.as_bytes()).unwrap();
    file
}

/// Serves `body` with `status` on 127.0.0.1; returns the base URL.
async fn serve(status: StatusCode, body: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().route("/rules", get(move || async move { (status, body) }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

fn ids(set: &RuleSet) -> Vec<&str> {
    set.rules().iter().map(|r| r.id.as_str()).collect()
}

#[test]
fn parses_repository_urls() {
    assert_eq!(
        Source::parse("file:///etc/rules.yml"),
        Source::File("/etc/rules.yml".into())
    );
    assert_eq!(
        Source::parse("file://./rules//a.json"),
        Source::File("rules/a.json".into())
    );
    assert_eq!(
        Source::parse("/etc/r.json"),
        Source::File("/etc/r.json".into())
    );
    assert_eq!(Source::parse("rules.yml"), Source::File("rules.yml".into()));
    assert_eq!(
        Source::parse("inline://W10="),
        Source::Inline("W10=".into())
    );
    assert_eq!(
        Source::parse("HTTPS://cfg/rules.json"),
        Source::Http("HTTPS://cfg/rules.json".into())
    );
    assert_eq!(
        Source::parse("s3://bucket/rules.json"),
        Source::Unsupported("s3://bucket/rules.json".into())
    );
}

#[tokio::test]
async fn loads_inline_json_and_yaml_in_order() {
    let repos = [inline(JSON_RULES), inline(YAML_RULES)];
    let set = load(&repos, Strategy::Regexp).await.unwrap();
    assert_eq!(ids(&set), ["j", "y"]);
    assert_eq!(set.find("GET", "http://y/x").unwrap().rule.id, "y");
    assert_eq!(set.origins().len(), 2);
    assert_eq!(set.origins()[1].rules, 1..2);
}

#[tokio::test]
async fn loads_files_by_path_and_file_url() {
    let json = temp_file(JSON_RULES);
    let yaml = temp_file(YAML_RULES);
    let repos = [
        json.path().display().to_string(),
        format!("file://{}", yaml.path().display()),
    ];
    let set = load(&repos, Strategy::Regexp).await.unwrap();
    assert_eq!(ids(&set), ["j", "y"]);
}

#[tokio::test]
async fn errors_name_the_repository_rule_and_field() {
    let file =
        temp_file("- id: ok\n  match: {url: 'http://a/'}\n- id: api\n  match: {methods: [GET]}\n");
    let path = file.path().display().to_string();
    let err = load(std::slice::from_ref(&path), Strategy::Regexp)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        format!(r#"access rules in {path}: rule "api" (index 1): match.url is required"#)
    );

    let repo = inline(r#"[{"id":"bad","match":{"url":"http://a/<[0-9]+"}}]"#);
    let err = load(&[repo], Strategy::Regexp).await.unwrap_err();
    assert!(
        err.ends_with(r#": rule "bad" (index 0): match.url: unbalanced "<""#),
        "{err}"
    );
    assert!(err.starts_with("access rules in inline://"), "{err}");

    let repo = inline(r#"[{"id":"u","match":{"url":"http://a/"},"upstream":{"uri":"x"}}]"#);
    let err = load(&[repo], Strategy::Regexp).await.unwrap_err();
    assert!(
        err.contains(r#"rule "u" (index 0): upstream.uri: unknown field `uri`"#),
        "{err}"
    );
}

#[tokio::test]
async fn unreadable_repositories_are_errors() {
    let err = load(&["/nonexistent/rules.json".to_owned()], Strategy::Regexp)
        .await
        .unwrap_err();
    assert!(
        err.starts_with("access rules in /nonexistent/rules.json: "),
        "{err}"
    );
    let err = load(&["inline://%%%".to_owned()], Strategy::Regexp)
        .await
        .unwrap_err();
    assert!(err.contains("invalid base64"), "{err}");
    let err = load(&["s3://b/r.json".to_owned()], Strategy::Regexp)
        .await
        .unwrap_err();
    assert!(
        err.starts_with("access rules in s3://b/r.json: unsupported"),
        "{err}"
    );
}

#[tokio::test]
async fn the_strategy_applies_to_every_repository() {
    let repo =
        inline(r#"[{"id":"g","match":{"url":"<{http,https}>://g/<**>","methods":["GET"]}}]"#);
    let set = load(&[repo], Strategy::Glob).await.unwrap();
    assert_eq!(set.find("GET", "https://g/a/b").unwrap().rule.id, "g");
}

#[tokio::test]
async fn fetches_http_repositories() {
    // reqwest is built without a default TLS provider; the binary installs one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let base = serve(StatusCode::OK, JSON_RULES).await;
    let set = load(&[format!("{base}/rules")], Strategy::Regexp)
        .await
        .unwrap();
    assert_eq!(ids(&set), ["j"]);

    let base = serve(StatusCode::NOT_FOUND, "nope").await;
    let url = format!("{base}/rules");
    let err = load(std::slice::from_ref(&url), Strategy::Regexp)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        format!("access rules in {url}: expected http response status code 200 but got 404")
    );
}
