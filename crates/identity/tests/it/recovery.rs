//! Account recovery with codes: the code signs the user in with a fresh session and opens
//! a settings flow; wrong codes, unknown addresses and the revoke hook.

use crate::app::{location, message_ids, node_value};
use crate::{TestApp, backends};
use serde_json::{Value, json};

fn config() -> Value {
    json!({"selfservice": {"flows": {
        "recovery": {"enabled": true, "after": {"hooks": [{"hook": "revoke_active_sessions"}]}}
    }}})
}

async fn post(app: &TestApp, flow_id: &str, body: Value) -> (u16, Value) {
    let r = app
        .http
        .post(app.pub_url(&format!("self-service/recovery?flow={flow_id}")))
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn a_mailed_code_signs_in_and_opens_settings() {
    for backend in backends() {
        let app = TestApp::start(&backend, config()).await;
        let (_, old_token) = app
            .register_api("forgot@example.org", "correct horse battery")
            .await;
        let flow: Value = app
            .http
            .get(app.pub_url("self-service/recovery/api"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = flow["id"].as_str().unwrap().to_string();
        let (status, sent) = post(
            &app,
            &id,
            json!({"method": "code", "email": "Forgot@Example.org"}),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(sent["state"], "sent_email");
        assert_eq!(message_ids(&sent), vec![1060003]);

        let code = app
            .last_mail_field("forgot@example.org", "RecoveryCode")
            .await;
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let (_, bad) = post(&app, &id, json!({"method": "code", "code": wrong})).await;
        assert_eq!(message_ids(&bad), vec![4060006]);

        let (status, done) = post(&app, &id, json!({"method": "code", "code": code})).await;
        assert_eq!(status, 200, "{done}");
        assert_eq!(done["state"], "passed_challenge");
        let token = done["continue_with"][0]["ory_session_token"]
            .as_str()
            .unwrap()
            .to_string();
        let settings_id = done["continue_with"][1]["flow"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (status, me) = app.whoami(&token).await;
        assert_eq!(status, 200);
        assert_eq!(me["authentication_methods"][0]["method"], "code_recovery");
        assert_eq!(
            app.whoami(&old_token).await.0,
            401,
            "revoke_active_sessions ran"
        );

        let settings: Value = app
            .http
            .get(app.pub_url(&format!("self-service/settings/flows?id={settings_id}")))
            .header("X-Session-Token", &token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(message_ids(&settings), vec![1060001]);
        let r = app
            .http
            .post(settings["ui"]["action"].as_str().unwrap())
            .header("X-Session-Token", &token)
            .json(&json!({"method": "password", "password": "my new recovered passphrase"}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            200,
            "a recovered session may change the password at once"
        );
        let login: Value = app
            .http
            .get(app.pub_url("self-service/login/api"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let r = app
            .http
            .post(login["ui"]["action"].as_str().unwrap())
            .json(&json!({"method": "password", "identifier": "forgot@example.org", "password": "my new recovered passphrase"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{backend:?}");
    }
}

#[tokio::test]
async fn unknown_addresses_look_the_same_and_browsers_land_in_settings() {
    let mut cfg = config();
    cfg["selfservice"]["flows"]["recovery"]["notify_unknown_recipients"] = json!(true);
    let app = TestApp::start(&backends()[0], cfg).await;
    app.register_api("known@example.org", "correct horse battery")
        .await;
    let a: Value = app
        .http
        .get(app.pub_url("self-service/recovery/api"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let b: Value = app
        .http
        .get(app.pub_url("self-service/recovery/api"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (s1, known) = post(
        &app,
        a["id"].as_str().unwrap(),
        json!({"method": "code", "email": "known@example.org"}),
    )
    .await;
    let (s2, unknown) = post(
        &app,
        b["id"].as_str().unwrap(),
        json!({"method": "code", "email": "ghost@example.org"}),
    )
    .await;
    assert_eq!((s1, message_ids(&known)), (s2, message_ids(&unknown)));
    assert!(
        app.has_mail_to("ghost@example.org").await,
        "notify_unknown_recipients mails the invalid notice"
    );
    let unknown_code = app.last_mail("ghost@example.org").await.unwrap();
    assert!(unknown_code.get("RecoveryCode").is_none(), "{unknown_code}");

    let browser = app.browser();
    let f: Value = browser
        .get(&app.pub_url("self-service/recovery/browser"), true)
        .await
        .json()
        .await
        .unwrap();
    let csrf = node_value(&f, "csrf_token");
    let action = f["ui"]["action"].as_str().unwrap().to_string();
    let r = browser
        .post_form(
            &action,
            &[
                ("csrf_token", csrf.as_str().unwrap()),
                ("method", "code"),
                ("email", "known@example.org"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let code = app
        .last_mail_field("known@example.org", "RecoveryCode")
        .await;
    let r = browser
        .post_form(
            &action,
            &[
                ("csrf_token", csrf.as_str().unwrap()),
                ("method", "code"),
                ("code", &code),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert!(
        location(&r).contains("/ui/settings?flow="),
        "{}",
        location(&r)
    );
    assert!(browser.has_cookie("ory_kratos_session"));
    let page = browser
        .get(&location(&r), false)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("You successfully recovered your account."),
        "{page}"
    );
}

#[tokio::test]
async fn the_admin_api_hands_out_recovery_codes() {
    let app = TestApp::start(&backends()[0], config()).await;
    let (id, _) = app
        .register_api("helpdesk@example.org", "correct horse battery")
        .await;
    let r = app
        .http
        .post(app.admin_url("admin/recovery/code"))
        .json(&json!({"identity_id": id, "expires_in": "15m", "flow_type": "api"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let made: Value = r.json().await.unwrap();
    let code = made["recovery_code"].as_str().unwrap();
    let link = made["recovery_link"].as_str().unwrap();
    let flow_id = link.split("flow=").nth(1).unwrap();
    let (status, done) = post(&app, flow_id, json!({"method": "code", "code": code})).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["continue_with"][1]["action"], "show_settings_ui");

    for (body, status) in [
        (json!({"identity_id": uuid::Uuid::new_v4()}), 404),
        (json!({"identity_id": "not-a-uuid"}), 400),
        (json!({"identity_id": id, "expires_in": "soon"}), 400),
        (
            json!({"identity_id": id, "flow_type": "carrier pigeon"}),
            400,
        ),
    ] {
        let r = app
            .http
            .post(app.admin_url("admin/recovery/code"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), status, "{body}");
    }
}
