//! E-mail verification with codes: sign-up sends one, login waits for it, the flow's state
//! machine, wrong, reused, brute-forced and expired codes, no address enumeration.

use crate::app::{location, message_ids};
use crate::{TestApp, backends};
use serde_json::{Value, json};

fn config() -> Value {
    json!({"selfservice": {"flows": {
        "verification": {"enabled": true},
        "login": {"after": {"password": {"hooks": [{"hook": "require_verified_address"}]}}}
    }}})
}

/// A new verification flow from `/self-service/verification/api`.
pub async fn api_flow(app: &TestApp) -> Value {
    app.http
        .get(app.pub_url("self-service/verification/api"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Submits `body` to the verification flow `flow_id`; the status and the flow.
pub async fn post(app: &TestApp, flow_id: &str, body: Value) -> (u16, Value) {
    let r = app
        .http
        .post(app.pub_url(&format!("self-service/verification?flow={flow_id}")))
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn sign_up_mails_a_code_and_login_waits_for_it() {
    for backend in backends() {
        let app = TestApp::start(&backend, config()).await;
        let reg_flow: Value = app
            .http
            .get(app.pub_url("self-service/registration/api"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let r = app
            .http
            .post(reg_flow["ui"]["action"].as_str().unwrap())
            .json(
                &json!({"method": "password", "password": "correct horse battery",
                          "traits": {"email": "Verify@Example.org", "user_type": "educator"}}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let reg: Value = r.json().await.unwrap();
        let next = reg["continue_with"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["action"] == "show_verification_ui")
            .unwrap_or_else(|| panic!("{reg}"));
        assert_eq!(next["action"], "show_verification_ui", "{reg}");
        let flow_id = next["flow"]["id"].as_str().unwrap().to_string();
        assert_eq!(next["flow"]["verifiable_address"], "verify@example.org");

        let (status, refused) = app
            .login_api("verify@example.org", "correct horse battery")
            .await;
        assert_eq!(status, 400);
        assert_eq!(message_ids(&refused), vec![4000010]);

        let code = app.last_code("verify@example.org").await;
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let (status, bad) = post(&app, &flow_id, json!({"method": "code", "code": wrong})).await;
        assert_eq!(status, 200);
        assert_eq!(bad["state"], "sent_email");
        assert_eq!(message_ids(&bad), vec![4070006]);

        let (status, ok) = post(&app, &flow_id, json!({"method": "code", "code": code})).await;
        assert_eq!(status, 200, "{ok}");
        assert_eq!(ok["state"], "passed_challenge");
        assert_eq!(message_ids(&ok), vec![1080002]);
        let (status, again) = post(&app, &flow_id, json!({"method": "code", "code": code})).await;
        assert_eq!(status, 400);
        assert_eq!(message_ids(&again), vec![4070002]);

        let (status, _) = app
            .login_api("verify@example.org", "correct horse battery")
            .await;
        assert_eq!(status, 200, "{backend:?}");
        let listed: Value = app
            .http
            .get(app.admin_url("admin/identities?credentials_identifier=verify@example.org"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let address = &listed[0]["verifiable_addresses"][0];
        assert_eq!(address["verified"], true);
        assert_eq!(address["status"], "completed");
    }
}

#[tokio::test]
async fn codes_resist_guessing_reuse_expiry_and_enumeration() {
    let app = TestApp::start(&backends()[0], config()).await;
    app.register_api("guess@example.org", "correct horse battery")
        .await;
    let _signup_code = app.last_code("guess@example.org").await;

    // Unknown and known addresses get the same answer; only the known one gets mail.
    let unknown = api_flow(&app).await;
    let (status, u) = post(
        &app,
        unknown["id"].as_str().unwrap(),
        json!({"method": "code", "email": "nobody@example.org"}),
    )
    .await;
    let flow = api_flow(&app).await;
    let id = flow["id"].as_str().unwrap().to_string();
    let (status2, k) = post(
        &app,
        &id,
        json!({"method": "code", "email": "guess@example.org"}),
    )
    .await;
    assert_eq!((status, status2), (200, 200));
    assert_eq!(
        (u["state"].clone(), message_ids(&u)),
        (k["state"].clone(), message_ids(&k))
    );
    assert_eq!(message_ids(&k), vec![1080003]);
    assert!(!app.has_mail_to("nobody@example.org").await);

    // Five wrong guesses, then even the right code is refused: ask for a new one.
    let code = app.last_code("guess@example.org").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let (_, r) = post(&app, &id, json!({"method": "code", "code": wrong})).await;
        assert_eq!(message_ids(&r), vec![4070006]);
    }
    let (_, r) = post(&app, &id, json!({"method": "code", "code": code})).await;
    assert_eq!(message_ids(&r), vec![5000001], "{r}");
    let (_, r) = post(
        &app,
        &id,
        json!({"method": "code", "email": "guess@example.org"}),
    )
    .await;
    assert_eq!(r["state"], "sent_email");
    let fresh = app.last_code("guess@example.org").await;
    let (_, r) = post(&app, &id, json!({"method": "code", "code": fresh})).await;
    assert_eq!(r["state"], "passed_challenge", "{r}");

    // A code dies with its flow.
    let flow = api_flow(&app).await;
    let id = flow["id"].as_str().unwrap().to_string();
    post(
        &app,
        &id,
        json!({"method": "code", "email": "guess@example.org"}),
    )
    .await;
    let code = app.last_code("guess@example.org").await;
    app.svc.clock.advance(time::Duration::hours(2));
    let (status, gone) = post(&app, &id, json!({"method": "code", "code": code})).await;
    assert_eq!(status, 410);
    assert!(gone["use_flow_id"].is_string(), "{gone}");

    // Garbage gets a 4xx, never a 5xx.
    let (status, _) = post(
        &app,
        &id,
        json!({"method": "code", "code": "'; DROP TABLE x; --\u{0}"}),
    )
    .await;
    assert!((400..500).contains(&status), "{status}");
}

#[tokio::test]
async fn unknown_recipients_are_told_when_configured_and_links_work_in_browsers() {
    let mut cfg = config();
    cfg["selfservice"]["flows"]["verification"]["notify_unknown_recipients"] = json!(true);
    let app = TestApp::start(&backends()[0], cfg).await;
    let flow = api_flow(&app).await;
    post(
        &app,
        flow["id"].as_str().unwrap(),
        json!({"method": "code", "email": "stranger@example.org"}),
    )
    .await;
    assert!(app.has_mail_to("stranger@example.org").await);

    // The link from the mail, opened in a browser, verifies and shows the result.
    let b = app.browser();
    let f: Value = b
        .get(&app.pub_url("self-service/verification/browser"), true)
        .await
        .json()
        .await
        .unwrap();
    app.register_api("link@example.org", "correct horse battery")
        .await;
    let csrf = crate::app::node_value(&f, "csrf_token");
    let r = b
        .post_form(
            f["ui"]["action"].as_str().unwrap(),
            &[
                ("csrf_token", csrf.as_str().unwrap()),
                ("method", "code"),
                ("email", "link@example.org"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let url = app
        .last_mail_field("link@example.org", "VerificationURL")
        .await;
    assert!(
        url.contains(&format!("flow={}", f["id"].as_str().unwrap())),
        "{url}"
    );
    let r = b.get(&url, false).await;
    assert_eq!(r.status(), 303);
    let page = b.get(&location(&r), false).await.text().await.unwrap();
    assert!(
        page.contains("You successfully verified your email address."),
        "{page}"
    );
}
