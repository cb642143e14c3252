//! Verification and recovery with the `link` method: the mailed link verifies or signs in
//! once, a used or wrong link starts a new flow that says so, flows of one method refuse
//! the other, and the admin API hands out recovery links.

use crate::app::{Browser, location, message_ids, node, node_value};
use crate::{TestApp, backends};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";

fn config() -> Value {
    json!({"selfservice": {
        "methods": {"link": {"enabled": true, "config": {"lifespan": "15m"}}},
        "flows": {
            "verification": {"enabled": true, "use": "link"},
            "recovery": {"enabled": true, "use": "link"}
        }
    }})
}

/// A browser flow of `kind` as JSON, with its CSRF cookie kept by `browser`.
async fn browser_flow(app: &TestApp, browser: &Browser, kind: &str) -> Value {
    let r = browser
        .get(&app.pub_url(&format!("self-service/{kind}/browser")), true)
        .await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// Asks for a link on a browser flow; returns the flow after the submission.
async fn ask_for_link(browser: &Browser, flow: &Value, email: &str) -> Value {
    let csrf = node_value(flow, "csrf_token");
    let r = browser
        .post_json(
            flow["ui"]["action"].as_str().unwrap(),
            &json!({"method": "link", "email": email, "csrf_token": csrf}),
        )
        .await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// The flow a redirect to a UI page (`...?flow=ID`) is about.
async fn flow_behind(app: &TestApp, browser: &Browser, kind: &str, to: &str) -> Value {
    let id = to.rsplit_once("flow=").map(|(_, id)| id).unwrap();
    let r = browser
        .get(
            &app.pub_url(&format!("self-service/{kind}/flows?id={id}")),
            true,
        )
        .await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

#[tokio::test]
async fn a_mailed_link_verifies_the_address_once() {
    for backend in backends() {
        let app = TestApp::start(&backend, config()).await;
        app.register_api("link@example.org", PASSWORD).await;
        let browser = app.browser();
        let flow = browser_flow(&app, &browser, "verification").await;
        assert_eq!(flow["active"], "link");
        assert_eq!(node(&flow, "email")["group"], "link");
        assert_eq!(node_value(&flow, "method"), "link");

        let sent = ask_for_link(&browser, &flow, "Link@Example.org").await;
        assert_eq!(sent["state"], "sent_email", "{sent}");
        assert_eq!(message_ids(&sent), vec![1080001]);
        assert_eq!(node_value(&sent, "email"), "link@example.org");

        let link = app
            .last_mail_field("link@example.org", "VerificationURL")
            .await;
        assert!(link.contains("token="), "{link}");
        let r = browser.get(&link, false).await;
        assert_eq!(r.status(), 303);
        let to = location(&r);
        assert!(
            to.contains(&format!("flow={}", flow["id"].as_str().unwrap())),
            "{to}"
        );
        let done = flow_behind(&app, &browser, "verification", &to).await;
        assert_eq!(done["state"], "passed_challenge");
        assert_eq!(message_ids(&done), vec![1080002]);
        assert_eq!(done["ui"]["nodes"][1]["group"], "link", "{done}");

        let listed: Value = app
            .http
            .get(app.admin_url("admin/identities?credentials_identifier=link@example.org"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let address = &listed[0]["verifiable_addresses"][0];
        assert_eq!(address["verified"], true, "{backend:?}");
        assert_eq!(address["status"], "completed");

        let r = browser.get(&link, false).await;
        assert_eq!(r.status(), 303, "a used link starts over");
        let retry = flow_behind(&app, &browser, "verification", &location(&r)).await;
        assert_ne!(retry["id"], flow["id"]);
        assert_eq!(retry["state"], "choose_method");
        assert_eq!(message_ids(&retry), vec![4070001]);

        let forged = link.replace("token=", "token=x");
        let r = browser.get(&forged, false).await;
        let forged_flow = flow_behind(&app, &browser, "verification", &location(&r)).await;
        assert_eq!(message_ids(&forged_flow), vec![4070001]);
    }
}

#[tokio::test]
async fn a_link_flow_takes_no_codes_and_a_code_flow_no_links() {
    let app = TestApp::start(&backends()[0], config()).await;
    app.register_api("strict@example.org", PASSWORD).await;
    let browser = app.browser();
    let flow = browser_flow(&app, &browser, "verification").await;
    let csrf = node_value(&flow, "csrf_token");
    let action = flow["ui"]["action"].as_str().unwrap();
    let r = browser
        .post_json(
            action,
            &json!({"method": "code", "code": "123456", "csrf_token": csrf}),
        )
        .await;
    assert_eq!(r.status(), 400);
    let refused: Value = r.json().await.unwrap();
    assert_eq!(message_ids(&refused), vec![4010006]);

    let sent = ask_for_link(&browser, &flow, "strict@example.org").await;
    let r = browser
        .post_json(
            action,
            &json!({"method": "link", "code": "123456", "csrf_token": csrf}),
        )
        .await;
    assert_eq!(
        r.status(),
        400,
        "a link flow asks for the address, never a code"
    );
    let missing: Value = r.json().await.unwrap();
    assert_eq!(message_ids(&missing), vec![4000002]);
    assert_eq!(sent["state"], "sent_email");

    let code_app = TestApp::start(
        &backends()[0],
        json!({"selfservice": {"flows": {"verification": {"enabled": true}}}}),
    )
    .await;
    let browser = code_app.browser();
    let flow = browser_flow(&code_app, &browser, "verification").await;
    assert_eq!(flow["active"], "code");
    let r = browser
        .post_json(
            flow["ui"]["action"].as_str().unwrap(),
            &json!({"method": "link", "email": "a@example.org",
                    "csrf_token": node_value(&flow, "csrf_token")}),
        )
        .await;
    assert_eq!(r.status(), 400);
    let refused: Value = r.json().await.unwrap();
    assert_eq!(message_ids(&refused), vec![4010006]);
}

#[tokio::test]
async fn a_recovery_link_signs_in_and_lands_in_settings() {
    for backend in backends() {
        let app = TestApp::start(&backend, config()).await;
        app.register_api("lost@example.org", PASSWORD).await;
        let browser = app.browser();
        let flow = browser_flow(&app, &browser, "recovery").await;
        let sent = ask_for_link(&browser, &flow, "lost@example.org").await;
        assert_eq!(sent["state"], "sent_email");
        assert_eq!(message_ids(&sent), vec![1060002]);

        let link = app.last_mail_field("lost@example.org", "RecoveryURL").await;
        let r = browser.get(&link, false).await;
        assert_eq!(r.status(), 303);
        let to = location(&r);
        assert!(to.contains("/settings?flow="), "{to}");
        assert!(browser.has_cookie("ory_kratos_session"));
        let settings = flow_behind(&app, &browser, "settings", &to).await;
        assert_eq!(message_ids(&settings), vec![1060001], "{backend:?}");

        let r = browser
            .post_json(
                settings["ui"]["action"].as_str().unwrap(),
                &json!({"method": "password", "password": "a brand new passphrase",
                        "csrf_token": node_value(&settings, "csrf_token")}),
            )
            .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

        let r = browser.get(&link, false).await;
        assert_eq!(r.status(), 303);
        let retry = flow_behind(&app, &browser, "recovery", &location(&r)).await;
        assert_eq!(message_ids(&retry), vec![4060004]);

        let mailed_before = app.last_mail("nobody@example.org").await;
        let other = browser_flow(&app, &browser, "recovery").await;
        let same = ask_for_link(&browser, &other, "nobody@example.org").await;
        assert_eq!(message_ids(&same), vec![1060002], "no enumeration");
        assert_eq!(app.last_mail("nobody@example.org").await, mailed_before);
    }
}

#[tokio::test]
async fn the_admin_api_hands_out_recovery_links() {
    let app = TestApp::start(&backends()[0], config()).await;
    let (id, _) = app.register_api("helpdesk@example.org", PASSWORD).await;
    let create = |body: Value| {
        app.http
            .post(app.admin_url("admin/recovery/link"))
            .json(&body)
            .send()
    };
    let r = create(json!({"identity_id": id, "expires_in": "10m"}))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let made: Value = r.json().await.unwrap();
    let link = made["recovery_link"].as_str().unwrap();
    assert!(made["expires_at"].is_string());

    let browser = app.browser();
    let r = browser.get(link, false).await;
    assert_eq!(r.status(), 303);
    let settings = flow_behind(&app, &browser, "settings", &location(&r)).await;
    let r = browser
        .post_json(
            settings["ui"]["action"].as_str().unwrap(),
            &json!({"method": "password", "password": "set by the helpdesk user",
                    "csrf_token": node_value(&settings, "csrf_token")}),
        )
        .await;
    assert_eq!(
        r.status(),
        200,
        "the link's flow is bound to the browser that opened it"
    );

    let nobody = uuid::Uuid::new_v4();
    let r = create(json!({"identity_id": nobody})).await.unwrap();
    assert_eq!(r.status(), 404);
    let r = create(json!({"identity_id": id, "expires_in": "soon"}))
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let err: Value = r.json().await.unwrap();
    assert!(
        err["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("expires_in"),
        "{err}"
    );
    let r = create(json!({"identity_id": id, "expires_in": "0s"}))
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn use_link_needs_the_link_method() {
    let cfg = json!({"selfservice": {"flows": {"recovery": {"enabled": true, "use": "link"}}}});
    let err = TestApp::try_start(&backends()[0], cfg, true)
        .await
        .err()
        .expect("start-up must fail");
    assert!(err.contains("selfservice.flows.recovery.use"), "{err}");
    assert!(err.contains("selfservice.methods.link.enabled"), "{err}");
}
