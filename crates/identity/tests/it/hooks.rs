//! `web_hook`s with Jsonnet bodies against a hook receiver on loopback: the first reference
//! setup's subscriber hook, hooks that refuse or amend a registration, and hooks that are
//! down, slow or broken.

use crate::app::message_ids;
use crate::receiver::receiver;
use crate::{TestApp, backends};
use base64::Engine;
use serde_json::{Value, json};

/// The first reference setup's subscriber hook: educators only.
pub const SUBSCRIBER: &str = r#"function(ctx)
  if ctx.identity.traits.user_type == "educator" then
    { email: ctx.identity.traits.email }
  else
    error "cancel"
"#;

pub fn b64(s: &str) -> String {
    format!(
        "base64://{}",
        base64::engine::general_purpose::STANDARD.encode(s)
    )
}

fn registration_hooks(hooks: Value) -> Value {
    json!({"selfservice": {"flows": {"registration": {"after": {"password": {"hooks": hooks}}}}},
           "gatehouse": {"web_hook_timeout": "300ms"}})
}

async fn register(app: &TestApp, email: &str, user_type: &str) -> (u16, Value) {
    app.register_traits(
        json!({"email": email, "user_type": user_type}),
        "correct horse battery",
    )
    .await
}

async fn identity_count(app: &TestApp) -> usize {
    let list: Value = app
        .http
        .get(app.admin_url("admin/identities"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list.as_array().unwrap().len()
}

#[tokio::test]
async fn only_educators_reach_the_subscriber_hook() {
    for backend in backends() {
        let (base, calls) = receiver().await;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("subscriber.jsonnet");
        std::fs::write(&file, SUBSCRIBER).unwrap();
        let app = TestApp::start(&backend, registration_hooks(json!([
            {"hook": "web_hook", "config": {"url": format!("{base}/ok"), "method": "POST",
                "body": format!("file://{}", file.display()),
                "auth": {"type": "api_key", "config": {"name": "X-Hook-Key", "value": "s3cret", "in": "header"}},
                "response": {"ignore": false, "parse": false}}},
            {"hook": "session"}
        ])))
        .await;
        let (status, educator) = register(&app, "teacher@example.org", "educator").await;
        assert_eq!(status, 200);
        assert!(
            educator["session_token"].is_string(),
            "the session hook still ran"
        );
        let (status, _) = register(&app, "pupil@example.org", "student").await;
        assert_eq!(status, 200);
        let calls = calls.lock().unwrap().clone();
        assert_eq!(calls.len(), 1, "{backend:?}: {calls:?}");
        assert_eq!(calls[0].body, json!({"email": "teacher@example.org"}));
        assert_eq!(calls[0].headers["x-hook-key"], "s3cret");
        assert_eq!(calls[0].headers["content-type"], "application/json");
    }
}

#[tokio::test]
async fn deciding_hooks_refuse_or_amend_before_anything_is_saved() {
    let (base, calls) = receiver().await;
    let ctx_body = b64(
        "function(ctx) { email: ctx.identity.traits.email, flow: ctx.flow.id, method: ctx.request_method }",
    );
    let deny = TestApp::start(&backends()[0], registration_hooks(json!([
        {"hook": "web_hook", "config": {"url": format!("{base}/deny"), "method": "POST", "body": ctx_body,
            "response": {"parse": true}}}
    ])))
    .await;
    let (status, flow) = register(&deny, "refused@example.org", "educator").await;
    assert_eq!(status, 400);
    let node = flow["ui"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["attributes"]["name"] == "traits.email")
        .unwrap();
    assert_eq!(node["messages"][0]["id"], 1234, "{node}");
    assert_eq!(identity_count(&deny).await, 0, "nothing half-written");
    let sent = calls.lock().unwrap().last().unwrap().body.clone();
    assert_eq!(sent["email"], "refused@example.org");
    assert_eq!(sent["method"], "POST");

    let amend = TestApp::start(&backends()[0], registration_hooks(json!([
        {"hook": "web_hook", "config": {"url": format!("{base}/amend"), "method": "POST", "body": ctx_body,
            "can_interrupt": true}}
    ])))
    .await;
    let (status, reg) = register(&amend, "amended@example.org", "student").await;
    assert_eq!(status, 200, "{reg}");
    let list: Value = amend
        .http
        .get(amend.admin_url("admin/identities"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["metadata_public"], json!({"plan": "pro"}));
}

#[tokio::test]
async fn hooks_that_are_down_slow_or_rude_never_cause_a_5xx() {
    let (base, _) = receiver().await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let a = l.local_addr().unwrap();
        drop(l);
        format!("http://{a}/gone")
    };
    for (url, parse) in [
        (closed.clone(), false),
        (closed, true),
        (format!("{base}/slow"), true),
        (format!("{base}/garbage"), true),
        (format!("{base}/garbage"), false),
    ] {
        let app = TestApp::start(&backends()[0], registration_hooks(json!([
            {"hook": "web_hook", "config": {"url": url, "method": "POST", "response": {"parse": parse}}}
        ])))
        .await;
        let (status, body) = register(&app, "hooked@example.org", "educator").await;
        if parse {
            assert_eq!(status, 400, "{url}: {body}");
            assert_eq!(message_ids(&body), vec![5000001]);
            assert_eq!(identity_count(&app).await, 0);
        } else {
            assert_eq!(
                status, 200,
                "{url}: an observing hook's outage is logged, not fatal"
            );
        }
    }
}

#[tokio::test]
async fn a_broken_jsonnet_file_stops_start_up_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.jsonnet");
    std::fs::write(
        &file,
        "function(ctx) {\n  email: ctx.identity.traits.email,\n  oops: ,\n}\n",
    )
    .unwrap();
    let doc = json!({
        "dsn": "memory",
        "identity": {"default_schema_id": "d", "schemas": [{"id": "d", "url": "base64://eyJ0eXBlIjoib2JqZWN0IiwicHJvcGVydGllcyI6eyJ0cmFpdHMiOnsidHlwZSI6Im9iamVjdCJ9fX0="}]},
        "selfservice": {"flows": {"registration": {"after": {"password": {"hooks": [
            {"hook": "web_hook", "config": {"url": "http://127.0.0.1:9/x", "method": "POST", "body": format!("file://{}", file.display())}}
        ]}}}}}
    });
    let cfg = gatehouse_identity::config::Config::from_value(doc, "", true).unwrap();
    let err = gatehouse_identity::boot::build(cfg)
        .await
        .err()
        .expect("start-up must fail");
    assert!(
        err.contains("broken.jsonnet") && err.contains(":3:"),
        "{err}"
    );
    assert!(
        err.contains("selfservice.flows.registration.after.password.hooks[0].config.body"),
        "{err}"
    );
}
