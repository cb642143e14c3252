//! The built-in hooks beyond sign-up: `revoke_active_sessions` after login and after a
//! profile change, and the verification of an address added in settings.

use crate::app::message_ids;
use crate::{TestApp, backends};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";

async fn settings_flow(app: &TestApp, token: &str) -> Value {
    app.http
        .get(app.pub_url("self-service/settings/api"))
        .header("X-Session-Token", token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn submit(app: &TestApp, flow: &Value, token: &str, body: Value) -> (u16, Value) {
    let r = app
        .http
        .post(flow["ui"]["action"].as_str().unwrap())
        .header("X-Session-Token", token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn a_login_can_end_every_other_session() {
    let revoke = json!([{"hook": "revoke_active_sessions"}]);
    let app = TestApp::start(
        &backends()[0],
        json!({"selfservice": {"flows": {"login": {"after": {"password": {"hooks": revoke}}}}}}),
    )
    .await;
    let (_, signup_token) = app.register_api("single@example.org", PASSWORD).await;
    let (status, first) = app.login_api("single@example.org", PASSWORD).await;
    assert_eq!(status, 200);
    let first = first["session_token"].as_str().unwrap().to_string();
    assert_eq!(app.whoami(&signup_token).await.0, 401);
    let (_, second) = app.login_api("single@example.org", PASSWORD).await;
    let second = second["session_token"].as_str().unwrap().to_string();
    assert_eq!(app.whoami(&first).await.0, 401);
    assert_eq!(app.whoami(&second).await.0, 200);
}

#[tokio::test]
async fn a_profile_change_can_end_every_other_session() {
    let revoke = json!([{"hook": "revoke_active_sessions"}]);
    let app = TestApp::start(
        &backends()[0],
        json!({"selfservice": {"flows": {"settings": {"after": {"profile": {"hooks": revoke}}}}}}),
    )
    .await;
    let (_, token) = app.register_api("two@example.org", PASSWORD).await;
    let (_, other) = app.login_api("two@example.org", PASSWORD).await;
    let other = other["session_token"].as_str().unwrap().to_string();
    let flow = settings_flow(&app, &token).await;
    let (status, _) = submit(
        &app,
        &flow,
        &token,
        json!({"method": "profile", "traits": {"email": "two@example.org", "user_type": "student"}}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(app.whoami(&other).await.0, 401);
    assert_eq!(
        app.whoami(&token).await.0,
        200,
        "the session that changed it stays"
    );
}

#[tokio::test]
async fn a_new_address_from_settings_is_verified_like_a_new_account() {
    for backend in backends() {
        let app = TestApp::start(
            &backend,
            json!({"selfservice": {"flows": {"verification": {"enabled": true}}}}),
        )
        .await;
        let (id, token) = app.register_api("old@example.org", PASSWORD).await;
        let flow = settings_flow(&app, &token).await;
        let (status, saved) = submit(
            &app,
            &flow,
            &token,
            json!({"method": "profile", "traits": {"email": "new@example.org", "user_type": "educator"}}),
        )
        .await;
        assert_eq!(status, 200, "{saved}");
        let next = &saved["continue_with"][0];
        assert_eq!(next["action"], "show_verification_ui", "{saved}");
        assert_eq!(next["flow"]["verifiable_address"], "new@example.org");
        let identity: Value = app
            .http
            .get(app.admin_url(&format!("admin/identities/{id}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let address = &identity["verifiable_addresses"][0];
        assert_eq!(address["value"], "new@example.org");
        assert_eq!(address["status"], "sent", "{backend:?}");

        let code = app.last_code("new@example.org").await;
        let flow_id = next["flow"]["id"].as_str().unwrap();
        let r = app
            .http
            .post(app.pub_url(&format!("self-service/verification?flow={flow_id}")))
            .json(&json!({"method": "code", "code": code}))
            .send()
            .await
            .unwrap();
        let done: Value = r.json().await.unwrap();
        assert_eq!(message_ids(&done), vec![1080002]);

        // Saving the same traits again adds no address and mails nothing new.
        let flow = settings_flow(&app, &token).await;
        let (_, again) = submit(
            &app,
            &flow,
            &token,
            json!({"method": "profile", "traits": {"email": "new@example.org", "user_type": "student"}}),
        )
        .await;
        assert!(again.get("continue_with").is_none(), "{again}");
    }
}
