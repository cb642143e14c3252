//! Browser flows: redirects, CSRF cookie and token, session cookie, logout.

use crate::app::{location, message_ids, node_value};
use crate::{TestApp, backends};
use serde_json::{Value, json};

#[tokio::test]
async fn register_sign_out_sign_in_through_forms() {
    for b in backends() {
        let app = TestApp::start(&b, json!({})).await;
        let browser = app.browser();
        let res = browser
            .get(&app.pub_url("self-service/registration/browser"), false)
            .await;
        assert_eq!(res.status(), 303);
        let to = location(&res);
        assert!(
            to.starts_with(&app.pub_url("ui/registration?flow=")),
            "{to}"
        );
        let csrf_name = &app.svc.settings.cookies.csrf_name;
        assert!(browser.has_cookie(csrf_name));
        let set_cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
        assert!(
            set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
            "{set_cookie}"
        );

        let id = to.split("flow=").nth(1).unwrap();
        let flow: Value = browser
            .get(
                &app.pub_url(&format!("self-service/registration/flows?id={id}")),
                true,
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(flow["type"], "browser");
        let csrf = node_value(&flow, "csrf_token")
            .as_str()
            .unwrap()
            .to_string();
        let action = flow["ui"]["action"].as_str().unwrap().to_string();

        // The built-in UI renders the same flow.
        let page = browser.get(&to, false).await.text().await.unwrap();
        assert!(
            page.contains("name=\"traits.email\"") && page.contains("name=\"csrf_token\""),
            "{page}"
        );

        let res = browser
            .post_form(
                &action,
                &[
                    ("csrf_token", &csrf),
                    ("traits.email", "eve@example.org"),
                    ("traits.user_type", "educator"),
                    ("password", "correct horse battery"),
                    ("method", "password"),
                ],
            )
            .await;
        assert_eq!(res.status(), 303);
        assert_eq!(location(&res), app.pub_url("ui/welcome"));
        let session_cookie = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .find(|c| c.starts_with("ory_kratos_session="))
            .unwrap();
        assert!(
            session_cookie.contains("HttpOnly") && session_cookie.contains("Max-Age="),
            "{session_cookie}"
        );
        assert!(
            !session_cookie.contains("Secure"),
            "dev mode cookies are not Secure"
        );

        let who = browser.get(&app.pub_url("sessions/whoami"), true).await;
        assert_eq!(who.status(), 200);
        let welcome = browser
            .get(&app.pub_url("ui/welcome"), false)
            .await
            .text()
            .await
            .unwrap();
        assert!(welcome.contains("eve@example.org"));

        // Logging in again while signed in is refused for JSON clients.
        let again = browser
            .get(&app.pub_url("self-service/login/browser"), true)
            .await;
        assert_eq!(again.status(), 400);
        let err: Value = again.json().await.unwrap();
        assert_eq!(err["error"]["id"], "session_already_available");

        let logout: Value = browser
            .get(&app.pub_url("self-service/logout/browser"), true)
            .await
            .json()
            .await
            .unwrap();
        let url = logout["logout_url"].as_str().unwrap();
        let bad = browser
            .get(
                &app.pub_url("self-service/logout?token=ory_lo_wrong"),
                false,
            )
            .await;
        assert!(
            location(&bad).starts_with(&app.pub_url("ui/error?id=")),
            "a wrong logout token is an error"
        );
        assert_eq!(
            browser
                .get(&app.pub_url("sessions/whoami"), true)
                .await
                .status(),
            200,
            "and ends nothing"
        );
        let bad = browser
            .get(&app.pub_url("self-service/logout?token=ory_lo_wrong"), true)
            .await;
        assert_eq!(bad.status(), 403);
        let res = browser.get(url, false).await;
        assert_eq!(res.status(), 303);
        assert!(!browser.has_cookie("ory_kratos_session"));
        assert_eq!(
            browser
                .get(&app.pub_url("sessions/whoami"), true)
                .await
                .status(),
            401
        );

        // Sign in with a form, as a browser would.
        let res = browser
            .get(&app.pub_url("self-service/login/browser"), false)
            .await;
        let id = location(&res).split("flow=").nth(1).unwrap().to_string();
        let flow: Value = browser
            .get(
                &app.pub_url(&format!("self-service/login/flows?id={id}")),
                true,
            )
            .await
            .json()
            .await
            .unwrap();
        let csrf = node_value(&flow, "csrf_token")
            .as_str()
            .unwrap()
            .to_string();
        let res = browser
            .post_form(
                flow["ui"]["action"].as_str().unwrap(),
                &[
                    ("csrf_token", &csrf),
                    ("identifier", "eve@example.org"),
                    ("password", "correct horse battery"),
                    ("method", "password"),
                ],
            )
            .await;
        assert_eq!(res.status(), 303);
        assert_eq!(
            browser
                .get(&app.pub_url("sessions/whoami"), true)
                .await
                .status(),
            200
        );
    }
}

#[tokio::test]
async fn csrf_is_checked_on_every_browser_submission() {
    for b in backends() {
        let app = TestApp::start(&b, json!({})).await;
        let browser = app.browser();
        let flow: Value = browser
            .get(&app.pub_url("self-service/login/browser"), true)
            .await
            .json()
            .await
            .unwrap();
        let action = flow["ui"]["action"].as_str().unwrap().to_string();

        // No token.
        let res = browser
            .post_json(
                &action,
                &json!({"method": "password", "identifier": "a@b.c", "password": "whatever123"}),
            )
            .await;
        assert_eq!(res.status(), 403);
        let err: Value = res.json().await.unwrap();
        assert_eq!(err["error"]["id"], "security_csrf_violation");

        // A token from another browser's cookie.
        let other = app.browser();
        let other_flow: Value = other
            .get(&app.pub_url("self-service/login/browser"), true)
            .await
            .json()
            .await
            .unwrap();
        let foreign = node_value(&other_flow, "csrf_token");
        let res = browser.post_json(&action, &json!({"method": "password", "identifier": "a@b.c", "password": "whatever123", "csrf_token": foreign})).await;
        assert_eq!(res.status(), 403);

        // No cookie at all.
        let res = app
            .http
            .post(&action)
            .json(&json!({"method": "password", "csrf_token": node_value(&flow, "csrf_token")}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403);

        // An HTML form without a token goes to the error UI with a stored report.
        let res = browser
            .post_form(
                &action,
                &[
                    ("identifier", "a@b.c"),
                    ("password", "x"),
                    ("method", "password"),
                ],
            )
            .await;
        assert_eq!(res.status(), 303);
        let to = location(&res);
        assert!(to.starts_with(&app.pub_url("ui/error?id=")), "{to}");
        let id = to.split("id=").nth(1).unwrap();
        let report: Value = app
            .http
            .get(app.pub_url(&format!("self-service/errors?id={id}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(report["error"]["id"], "security_csrf_violation");

        // With the right token the submission is judged (and the password is wrong).
        let res = browser.post_json(&action, &json!({"method": "password", "identifier": "a@b.c", "password": "whatever123", "csrf_token": node_value(&flow, "csrf_token")})).await;
        assert_eq!(res.status(), 400);
        let body: Value = res.json().await.unwrap();
        assert_eq!(message_ids(&body), vec![4000006]);
    }
}

#[tokio::test]
async fn return_to_must_be_allowed() {
    let app = TestApp::start(&crate::Backend::Sqlite, json!({})).await;
    let browser = app.browser();
    let res = browser
        .get(
            &app.pub_url("self-service/login/browser?return_to=https://evil.example.com/"),
            true,
        )
        .await;
    assert_eq!(res.status(), 400);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["error"]["id"], "self_service_flow_return_to_forbidden");

    let res = browser
        .get(
            &app.pub_url(
                "self-service/registration/browser?return_to=https://app.example.org/dash",
            ),
            true,
        )
        .await;
    assert_eq!(res.status(), 200);
    let flow: Value = res.json().await.unwrap();
    let res = browser
        .post_form(
            flow["ui"]["action"].as_str().unwrap(),
            &[
                (
                    "csrf_token",
                    node_value(&flow, "csrf_token").as_str().unwrap(),
                ),
                ("traits.email", "rt@example.org"),
                ("traits.user_type", "student"),
                ("password", "correct horse battery"),
                ("method", "password"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "https://app.example.org/dash");
}

#[tokio::test]
async fn cors_answers_allowed_origins_only() {
    let cors = json!({"serve": {"public": {"cors": {
        "enabled": true,
        "allowed_origins": ["https://*.example.org", "https://exact.test"]
    }}}});
    let app = TestApp::start(&backends()[0], cors).await;
    let preflight = |origin: &'static str| {
        app.http
            .request(
                reqwest::Method::OPTIONS,
                app.pub_url("self-service/login/browser"),
            )
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "content-type,x-session-token",
            )
            .send()
    };
    let ok = preflight("https://app.example.org").await.unwrap();
    let h = ok.headers();
    assert_eq!(h["access-control-allow-origin"], "https://app.example.org");
    assert_eq!(h["access-control-allow-credentials"], "true");
    let methods = h["access-control-allow-methods"].to_str().unwrap();
    assert!(methods.contains("POST"), "{methods}");
    let headers = h["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(headers.contains("x-session-token"), "{headers}");

    let denied = preflight("https://example.org.evil.test").await.unwrap();
    assert!(
        denied
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    let simple = app
        .http
        .get(app.pub_url("sessions/whoami"))
        .header("Origin", "https://exact.test")
        .send()
        .await
        .unwrap();
    assert_eq!(simple.status(), 401);
    assert_eq!(
        simple.headers()["access-control-allow-origin"],
        "https://exact.test"
    );

    // Off by default, and never on the admin port.
    let plain = TestApp::start(&backends()[0], json!({})).await;
    let r = plain
        .http
        .get(plain.pub_url("sessions/whoami"))
        .header("Origin", "https://exact.test")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
}
