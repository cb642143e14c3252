//! The settings flow: profile and password changes, privileged sessions, ownership.

use crate::app::{location, message_ids, node_value};
use crate::{TestApp, backends};
use serde_json::{Value, json};

async fn settings_flow(app: &TestApp, token: &str) -> Value {
    let r = app
        .http
        .get(app.pub_url("self-service/settings/api"))
        .header("X-Session-Token", token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
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
async fn profile_and_password_change_through_the_api() {
    for backend in backends() {
        let app = TestApp::start(
            &backend,
            json!({"selfservice": {"flows": {"settings": {"after": {"password": {"hooks": [{"hook": "revoke_active_sessions"}]}}}}}}),
        )
        .await;
        let (id, token) = app
            .register_api("set@example.org", "correct horse battery")
            .await;
        let (_, other_token) = app
            .register_api("other@example.org", "correct horse battery")
            .await;
        let flow = settings_flow(&app, &token).await;
        assert_eq!(flow["state"], "show_form");
        assert_eq!(flow["identity"]["id"], id.as_str());
        assert_eq!(node_value(&flow, "traits.email"), "set@example.org");
        let groups: Vec<&str> = flow["ui"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["group"].as_str().unwrap())
            .collect();
        assert!(
            groups.contains(&"profile") && groups.contains(&"password"),
            "{groups:?}"
        );

        // Someone else's session cannot read or submit it.
        let foreign = app
            .http
            .get(app.pub_url(&format!(
                "self-service/settings/flows?id={}",
                flow["id"].as_str().unwrap()
            )))
            .header("X-Session-Token", &other_token)
            .send()
            .await
            .unwrap();
        assert_eq!(foreign.status(), 403);
        let body: Value = foreign.json().await.unwrap();
        assert_eq!(body["error"]["id"], "security_identity_mismatch");

        // A profile change that keeps the identifiers needs no fresh sign-in.
        let traits = json!({"email": "set@example.org", "user_type": "student", "name": {"first": "Ada", "last": "L"}});
        let (status, done) = submit(
            &app,
            &flow,
            &token,
            json!({"method": "profile", "traits": traits}),
        )
        .await;
        assert_eq!(status, 200, "{done}");
        assert_eq!(done["state"], "success");
        assert_eq!(message_ids(&done), vec![1050001]);
        assert_eq!(done["identity"]["traits"]["user_type"], "student");
        let me: Value = app
            .http
            .get(app.pub_url("sessions/whoami"))
            .header("X-Session-Token", &token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(me["identity"]["traits"]["name"]["first"], "Ada");

        // Invalid traits land on their node; the identity is unchanged.
        let flow = settings_flow(&app, &token).await;
        let bad = json!({"email": "set@example.org", "user_type": "admin"});
        let (status, rejected) = submit(
            &app,
            &flow,
            &token,
            json!({"method": "profile", "traits": bad}),
        )
        .await;
        assert_eq!(status, 400);
        let node = rejected["ui"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["attributes"]["name"] == "traits.user_type")
            .unwrap();
        assert_eq!(node["messages"][0]["id"], 4000001);
        // Taking another identity's e-mail is refused with 4000007.
        let taken = json!({"email": "other@example.org", "user_type": "student"});
        let (status, dup) = submit(
            &app,
            &flow,
            &token,
            json!({"method": "profile", "traits": taken}),
        )
        .await;
        assert_eq!(status, 400);
        assert!(message_ids(&dup).contains(&4000007), "{dup}");

        // A new password: policy first, then it replaces the old one and revokes other sessions.
        let (_, second_token) = {
            let s = app
                .login_api("set@example.org", "correct horse battery")
                .await
                .0;
            assert_eq!(s, 200);
            app.register_api("third@example.org", "correct horse battery")
                .await
        };
        let flow = settings_flow(&app, &token).await;
        let (status, weak) = submit(
            &app,
            &flow,
            &token,
            json!({"method": "password", "password": "short"}),
        )
        .await;
        assert_eq!(status, 400);
        let pw = weak["ui"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["attributes"]["name"] == "password")
            .unwrap();
        assert!(!pw["messages"].as_array().unwrap().is_empty(), "{pw}");
        let (status, _) = submit(
            &app,
            &flow,
            &token,
            json!({"method": "password", "password": "a brand new passphrase"}),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(
            app.login_api("set@example.org", "correct horse battery")
                .await
                .0,
            400
        );
        assert_eq!(
            app.login_api("set@example.org", "a brand new passphrase")
                .await
                .0,
            200
        );
        let whoami = |t: String| {
            let app = &app;
            async move {
                app.http
                    .get(app.pub_url("sessions/whoami"))
                    .header("X-Session-Token", t)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        };
        assert_eq!(
            whoami(token.clone()).await,
            200,
            "the session that changed it stays"
        );
        assert_eq!(
            whoami(second_token).await,
            200,
            "another identity's session is untouched"
        );
    }
}

#[tokio::test]
async fn stale_sessions_must_sign_in_again_for_credential_changes() {
    let app = TestApp::start(
        &backends()[0],
        json!({"selfservice": {"flows": {"settings": {"privileged_session_max_age": "5m"}}}}),
    )
    .await;
    let (_, token) = app
        .register_api("stale@example.org", "correct horse battery")
        .await;
    app.svc.clock.advance(time::Duration::minutes(10));
    let flow = settings_flow(&app, &token).await;
    let (status, err) = submit(
        &app,
        &flow,
        &token,
        json!({"method": "password", "password": "another long passphrase"}),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(err["error"]["id"], "session_refresh_required");
    let to = err["redirect_browser_to"].as_str().unwrap();
    assert!(
        to.contains("/self-service/login/browser?refresh=true&return_to="),
        "{to}"
    );
    // Changing the e-mail (an identifier) is privileged too; the name is not.
    let new_mail = json!({"email": "new@example.org", "user_type": "educator"});
    let (status, _) = submit(
        &app,
        &flow,
        &token,
        json!({"method": "profile", "traits": new_mail}),
    )
    .await;
    assert_eq!(status, 403);
    let rename =
        json!({"email": "stale@example.org", "user_type": "educator", "name": {"first": "S"}});
    let (status, _) = submit(
        &app,
        &flow,
        &token,
        json!({"method": "profile", "traits": rename}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.login_api("stale@example.org", "correct horse battery")
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn browser_settings_need_a_session_and_render_in_the_ui() {
    let app = TestApp::start(&backends()[0], json!({})).await;
    let anonymous = app.browser();
    let r = anonymous
        .get(&app.pub_url("self-service/settings/browser"), false)
        .await;
    assert_eq!(r.status(), 303);
    assert!(location(&r).contains("/ui/login"), "{}", location(&r));
    let r = anonymous
        .get(&app.pub_url("self-service/settings/browser"), true)
        .await;
    assert_eq!(r.status(), 401);

    // Register in a browser, then change the name through the form.
    let b = app.browser();
    let r = b
        .get(&app.pub_url("self-service/registration/browser"), true)
        .await;
    let flow: Value = r.json().await.unwrap();
    let csrf = node_value(&flow, "csrf_token");
    let r = b
        .post_form(
            flow["ui"]["action"].as_str().unwrap(),
            &[
                ("csrf_token", csrf.as_str().unwrap()),
                ("method", "password"),
                ("traits.email", "ui-settings@example.org"),
                ("traits.user_type", "educator"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = b
        .get(&app.pub_url("self-service/settings/browser"), false)
        .await;
    assert_eq!(r.status(), 303);
    let page_url = location(&r);
    assert!(page_url.contains("/ui/settings?flow="), "{page_url}");
    let page = b.get(&page_url, false).await.text().await.unwrap();
    assert!(
        page.contains("ui-settings@example.org") && page.contains("Save"),
        "{page}"
    );
    let flow_id = page_url.split("flow=").nth(1).unwrap();
    let flow: Value = b
        .get(
            &app.pub_url(&format!("self-service/settings/flows?id={flow_id}")),
            true,
        )
        .await
        .json()
        .await
        .unwrap();
    let csrf = node_value(&flow, "csrf_token");
    let r = b
        .post_form(
            flow["ui"]["action"].as_str().unwrap(),
            &[
                ("csrf_token", csrf.as_str().unwrap()),
                ("method", "profile"),
                ("traits.email", "ui-settings@example.org"),
                ("traits.user_type", "student"),
                ("traits.name.first", "Grace"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let page = b.get(&location(&r), false).await.text().await.unwrap();
    assert!(page.contains("Your changes have been saved!"), "{page}");
    assert!(page.contains("Grace"));
    // Without the CSRF token nothing is saved.
    let r = b
        .post_form(
            flow["ui"]["action"].as_str().unwrap(),
            &[
                ("method", "profile"),
                ("traits.email", "x@example.org"),
                ("traits.user_type", "student"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert!(location(&r).contains("/ui/error"), "{}", location(&r));
}
