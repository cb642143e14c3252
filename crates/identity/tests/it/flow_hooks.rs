//! `before` and `after` web hooks of every flow: where each runs, what its `ctx` holds, and
//! that settings hooks which parse answers decide before anything is saved.

use crate::app::{message_ids, node};
use crate::hooks::b64;
use crate::receiver::{Calls, receiver};
use crate::{TestApp, backends};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";

/// A hook that reports where it ran and what its `ctx` held.
fn probe(base: &str, point: &str) -> Value {
    let body = format!(
        r#"function(ctx) {{
  point: "{point}",
  state: ctx.flow.state,
  identity: if std.objectHas(ctx, "identity") then ctx.identity.id else null,
  session: if std.objectHas(ctx, "session") then ctx.session.identity.id else null,
}}"#
    );
    json!([{"hook": "web_hook", "config": {"url": format!("{base}/ok"), "method": "POST",
        "body": b64(&body)}}])
}

fn calls_at(calls: &Calls, point: &str) -> Vec<Value> {
    calls
        .lock()
        .unwrap()
        .iter()
        .map(|call| call.body.clone())
        .filter(|b| b["point"] == point)
        .collect()
}

async fn get_json(app: &TestApp, path: &str, token: Option<&str>) -> (u16, Value) {
    let mut req = app.http.get(app.pub_url(path));
    if let Some(t) = token {
        req = req.header("X-Session-Token", t);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn post_json(app: &TestApp, url: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    let mut req = app.http.post(url).json(&body);
    if let Some(t) = token {
        req = req.header("X-Session-Token", t);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn admin_identity(app: &TestApp, id: &str) -> Value {
    let r = app
        .http
        .get(app.admin_url(&format!("admin/identities/{id}")))
        .send()
        .await
        .unwrap();
    r.json().await.unwrap()
}

#[tokio::test]
async fn every_flow_runs_its_before_and_after_hooks() {
    for backend in backends() {
        let (base, calls) = receiver().await;
        let cfg = json!({"selfservice": {"flows": {
            "login": {"after": {"password": {"hooks": probe(&base, "login.after")}}},
            "settings": {"before": {"hooks": probe(&base, "settings.before")},
                         "after": {"profile": {"hooks": probe(&base, "settings.after.profile")}}},
            "verification": {"enabled": true,
                             "before": {"hooks": probe(&base, "verification.before")},
                             "after": {"hooks": probe(&base, "verification.after")}},
            "recovery": {"enabled": true,
                         "before": {"hooks": probe(&base, "recovery.before")},
                         "after": {"hooks": probe(&base, "recovery.after")}}
        }}});
        let app = TestApp::start(&backend, cfg).await;
        let (id, _) = app.register_api("hooked@example.org", PASSWORD).await;

        let (_, login) = get_json(&app, "self-service/login/api", None).await;
        let (status, done) = post_json(
            &app,
            login["ui"]["action"].as_str().unwrap(),
            None,
            json!({"method": "password", "identifier": "hooked@example.org", "password": PASSWORD}),
        )
        .await;
        assert_eq!(status, 200, "{done}");
        let token = done["session_token"].as_str().unwrap().to_string();
        let seen = calls_at(&calls, "login.after");
        assert_eq!(seen.len(), 1, "{backend:?}");
        assert_eq!(seen[0]["identity"], id.as_str());
        assert_eq!(
            seen[0]["session"],
            id.as_str(),
            "login hooks see the session"
        );

        let (status, settings) = get_json(&app, "self-service/settings/api", Some(&token)).await;
        assert_eq!(status, 200);
        assert_eq!(calls_at(&calls, "settings.before").len(), 1);
        let (status, _) = post_json(
            &app,
            settings["ui"]["action"].as_str().unwrap(),
            Some(&token),
            json!({"method": "profile", "traits": {"email": "hooked@example.org",
                   "user_type": "student", "name": {"first": "Hook", "last": "Ed"}}}),
        )
        .await;
        assert_eq!(status, 200);
        let seen = calls_at(&calls, "settings.after.profile");
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0]["session"], id.as_str());

        for kind in ["verification", "recovery"] {
            let (status, flow) = get_json(&app, &format!("self-service/{kind}/api"), None).await;
            assert_eq!(status, 200);
            assert_eq!(calls_at(&calls, &format!("{kind}.before")).len(), 1);
            let action = flow["ui"]["action"].as_str().unwrap();
            let (status, _) = post_json(
                &app,
                action,
                None,
                json!({"method": "code", "email": "hooked@example.org"}),
            )
            .await;
            assert_eq!(status, 200);
            assert!(calls_at(&calls, &format!("{kind}.after")).is_empty());
            let field = if kind == "recovery" {
                "RecoveryCode"
            } else {
                "VerificationCode"
            };
            let code = app.last_mail_field("hooked@example.org", field).await;
            let (status, done) =
                post_json(&app, action, None, json!({"method": "code", "code": code})).await;
            assert_eq!(status, 200, "{done}");
            let seen = calls_at(&calls, &format!("{kind}.after"));
            assert_eq!(seen.len(), 1, "{kind}");
            assert_eq!(seen[0]["identity"], id.as_str());
            assert_eq!(seen[0]["state"], "passed_challenge");
        }
    }
}

#[tokio::test]
async fn a_refusing_before_hook_keeps_a_flow_from_starting() {
    let (base, _) = receiver().await;
    let deny = json!([{"hook": "web_hook", "config": {"url": format!("{base}/deny"),
        "method": "POST", "response": {"parse": true}}}]);
    let app = TestApp::start(
        &backends()[0],
        json!({"selfservice": {"flows": {"recovery": {"enabled": true, "before": {"hooks": deny}}}}}),
    )
    .await;
    let (status, err) = get_json(&app, "self-service/recovery/api", None).await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["error"]["id"], "self_service_flow_rejected");
    assert_eq!(err["error"]["details"]["messages"][0]["id"], 1234);
}

#[tokio::test]
async fn settings_hooks_that_parse_decide_before_the_change_is_saved() {
    for backend in backends() {
        let (base, calls) = receiver().await;
        let hook = |path: &str| {
            json!([{"hook": "web_hook", "config": {"url": format!("{base}{path}"),
                "method": "POST", "response": {"parse": true}}}])
        };
        let cfg = json!({"selfservice": {"flows": {"settings": {"after": {
            "profile": {"hooks": hook("/deny")},
            "password": {"hooks": hook("/amend")}
        }}}}});
        let app = TestApp::start(&backend, cfg).await;
        let (id, token) = app.register_api("decide@example.org", PASSWORD).await;
        let (_, flow) = get_json(&app, "self-service/settings/api", Some(&token)).await;
        let action = flow["ui"]["action"].as_str().unwrap();

        let (status, refused) = post_json(
            &app,
            action,
            Some(&token),
            json!({"method": "profile", "traits": {"email": "decide@example.org",
                   "user_type": "student"}}),
        )
        .await;
        assert_eq!(status, 400, "{refused}");
        assert_eq!(message_ids(&refused), vec![1234]);
        assert_eq!(node(&refused, "traits.email")["messages"][0]["id"], 1234);
        let stored = admin_identity(&app, &id).await;
        assert_eq!(
            stored["traits"]["user_type"], "educator",
            "nothing was saved"
        );

        let (status, saved) = post_json(
            &app,
            action,
            Some(&token),
            json!({"method": "password", "password": "an amended passphrase"}),
        )
        .await;
        assert_eq!(status, 200, "{saved}");
        let stored = admin_identity(&app, &id).await;
        assert_eq!(stored["metadata_public"]["plan"], "pro", "{backend:?}");
        assert_eq!(calls.lock().unwrap().len(), 2);
    }
}
