//! API flows as native apps use them: session tokens, whoami, logout, sessions.

use crate::app::{message_ids, node};
use crate::{TestApp, backends};
use serde_json::{Value, json};

#[tokio::test]
async fn register_login_whoami_logout() {
    for b in backends() {
        let app = TestApp::start(&b, json!({})).await;
        let (id, token) = app
            .register_api("Ana@Example.org", "correct horse battery")
            .await;

        let who = app
            .http
            .get(app.pub_url("sessions/whoami"))
            .header("X-Session-Token", &token)
            .send()
            .await
            .unwrap();
        assert_eq!(who.status(), 200, "{b:?}");
        assert_eq!(
            who.headers()["x-kratos-authenticated-identity-id"],
            id.as_str()
        );
        let who: Value = who.json().await.unwrap();
        assert_eq!(who["identity"]["traits"]["email"], "Ana@Example.org");
        assert_eq!(who["active"], true);
        assert_eq!(who["authentication_methods"][0]["method"], "password");
        assert!(
            who["identity"].get("credentials").is_none(),
            "whoami must not leak credentials"
        );
        assert_eq!(
            who["identity"]["verifiable_addresses"][0]["value"],
            "ana@example.org"
        );

        // Login with the identifier in another case.
        let flow: Value = app
            .http
            .get(app.pub_url("self-service/login/api"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(flow["type"], "api");
        assert!(
            node(&flow, "csrf_token").is_null(),
            "API flows carry no CSRF token"
        );
        let res = app
            .http
            .post(flow["ui"]["action"].as_str().unwrap())
            .json(&json!({"method": "password", "identifier": "ANA@example.org", "password": "correct horse battery"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        let token2 = body["session_token"].as_str().unwrap().to_string();
        assert!(token2.starts_with("ory_st_"));
        assert_eq!(body["continue_with"][0]["action"], "set_ory_session_token");

        let bearer = app
            .http
            .get(app.pub_url("sessions/whoami"))
            .bearer_auth(&token2)
            .send()
            .await
            .unwrap();
        assert_eq!(bearer.status(), 200);

        // The first session sees the second in its list, and can revoke it.
        let list: Value = app
            .http
            .get(app.pub_url("sessions"))
            .header("X-Session-Token", &token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(list.as_array().unwrap().len(), 1);
        let other = list[0]["id"].as_str().unwrap();
        let del = app
            .http
            .delete(app.pub_url(&format!("sessions/{other}")))
            .header("X-Session-Token", &token)
            .send()
            .await
            .unwrap();
        assert_eq!(del.status(), 204);
        let gone = app
            .http
            .get(app.pub_url("sessions/whoami"))
            .bearer_auth(&token2)
            .send()
            .await
            .unwrap();
        assert_eq!(gone.status(), 401);

        let out = app
            .http
            .delete(app.pub_url("self-service/logout/api"))
            .json(&json!({"session_token": token}))
            .send()
            .await
            .unwrap();
        assert_eq!(out.status(), 204);
        let who = app
            .http
            .get(app.pub_url("sessions/whoami"))
            .header("X-Session-Token", &token)
            .send()
            .await
            .unwrap();
        assert_eq!(who.status(), 401);
        let err: Value = who.json().await.unwrap();
        assert_eq!(err["error"]["code"], 401);
        assert_eq!(
            err["error"]["reason"],
            "No valid session credentials found in the request."
        );
        let again = app
            .http
            .delete(app.pub_url("self-service/logout/api"))
            .json(&json!({"session_token": token}))
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 403);
    }
}

#[tokio::test]
async fn wrong_password_and_unknown_user_look_the_same() {
    for b in backends() {
        let app = TestApp::start(&b, json!({})).await;
        app.register_api("bo@example.org", "correct horse battery")
            .await;
        let mut seen = Vec::new();
        for (ident, pw) in [
            ("bo@example.org", "wrong password!"),
            ("nobody@example.org", "correct horse battery"),
        ] {
            let flow: Value = app
                .http
                .get(app.pub_url("self-service/login/api"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let res = app
                .http
                .post(flow["ui"]["action"].as_str().unwrap())
                .json(&json!({"method": "password", "identifier": ident, "password": pw}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 400);
            let body: Value = res.json().await.unwrap();
            assert_eq!(message_ids(&body), vec![4000006]);
            assert_eq!(
                body["ui"]["nodes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|n| n["attributes"]["name"] == "identifier")
                    .unwrap()["attributes"]["value"],
                ident
            );
            seen.push(body["ui"]["messages"].clone());
        }
        assert_eq!(seen[0], seen[1]);
    }
}

#[tokio::test]
async fn registration_validates_traits_on_the_right_nodes() {
    for b in backends() {
        let app = TestApp::start(&b, json!({})).await;
        let flow: Value = app
            .http
            .get(app.pub_url("self-service/registration/api"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            node(&flow, "traits.user_type")["attributes"]["options"],
            json!(["educator", "student"])
        );
        let action = flow["ui"]["action"].as_str().unwrap().to_string();
        let res = app
            .http
            .post(&action)
            .json(&json!({"method": "password", "password": "correct horse battery", "traits": {"email": "cy@example.org", "user_type": "teacher"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        let body: Value = res.json().await.unwrap();
        let msgs = node(&body, "traits.user_type")["messages"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(msgs.len(), 1, "{body}");
        assert_eq!(
            node(&body, "traits.email")["attributes"]["value"],
            "cy@example.org",
            "input is kept"
        );

        // Too short and too similar passwords are refused with Kratos's ids.
        let res = app.http.post(&action)
            .json(&json!({"method": "password", "password": "short", "traits": {"email": "cy@example.org", "user_type": "student"}}))
            .send().await.unwrap();
        let body: Value = res.json().await.unwrap();
        assert!(message_ids(&body).contains(&4000032), "{body}");

        // The same identifier twice: 4000007 and still one identity.
        app.register_api("dup@example.org", "correct horse battery")
            .await;
        let flow: Value = app
            .http
            .get(app.pub_url("self-service/registration/api"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let res = app.http.post(flow["ui"]["action"].as_str().unwrap())
            .json(&json!({"method": "password", "password": "another good password", "traits": {"email": "DUP@example.org", "user_type": "student"}}))
            .send().await.unwrap();
        assert_eq!(res.status(), 400);
        let body: Value = res.json().await.unwrap();
        assert_eq!(message_ids(&body), vec![4000007]);
    }
}

#[tokio::test]
async fn fifty_concurrent_registrations_make_one_identity() {
    for b in backends() {
        let app = TestApp::start(&b, json!({})).await;
        let mut tasks = Vec::new();
        for i in 0..50 {
            let http = app.http.clone();
            let init = app.pub_url("self-service/registration/api");
            tasks.push(tokio::spawn(async move {
                let flow: Value = http.get(init).send().await.unwrap().json().await.unwrap();
                let res = http
                    .post(flow["ui"]["action"].as_str().unwrap())
                    .json(&json!({"method": "password", "password": format!("a strong password {i}"), "traits": {"email": "race@example.org", "user_type": "student"}}))
                    .send()
                    .await
                    .unwrap();
                let status = res.status().as_u16();
                (status, res.json::<Value>().await.unwrap())
            }));
        }
        let mut ok = 0;
        for t in tasks {
            let (status, body) = t.await.unwrap();
            match status {
                200 => ok += 1,
                400 => assert_eq!(message_ids(&body), vec![4000007], "{body}"),
                other => panic!("unexpected status {other}: {body}"),
            }
        }
        assert_eq!(ok, 1);
        let list: Value = app
            .http
            .get(app.admin_url("admin/identities?credentials_identifier=race@example.org"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(list.as_array().unwrap().len(), 1);
        let all: Value = app
            .http
            .get(app.admin_url("admin/identities"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            all.as_array().unwrap().len(),
            1,
            "no half-written identities"
        );
    }
}

#[tokio::test]
async fn expired_flows_answer_410_with_a_new_flow() {
    for b in backends() {
        let app = TestApp::start(
            &b,
            json!({"selfservice": {"flows": {"login": {"lifespan": "10m"}}}}),
        )
        .await;
        let flow: Value = app
            .http
            .get(app.pub_url("self-service/login/api"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        app.svc.clock.advance(time::Duration::minutes(11));
        let res = app.http.post(flow["ui"]["action"].as_str().unwrap())
            .json(&json!({"method": "password", "identifier": "x@example.org", "password": "whatever it is"}))
            .send().await.unwrap();
        assert_eq!(res.status(), 410);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["id"], "self_service_flow_expired");
        let new_id = body["use_flow_id"].as_str().unwrap();
        let fresh: Value = app
            .http
            .get(app.pub_url(&format!("self-service/login/flows?id={new_id}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(message_ids(&fresh).contains(&4010001));
        let get = app
            .http
            .get(app.pub_url(&format!(
                "self-service/login/flows?id={}",
                flow["id"].as_str().unwrap()
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(get.status(), 410);
    }
}

#[tokio::test]
async fn failed_logins_are_throttled_and_success_resets() {
    let app = TestApp::start(
        &crate::Backend::Sqlite,
        json!({"gatehouse": {"rate_limit": {"max_failures": 3}}}),
    )
    .await;
    app.register_api("rl@example.org", "correct horse battery")
        .await;
    let attempt = |pw: &'static str| {
        let http = app.http.clone();
        let init = app.pub_url("self-service/login/api");
        async move {
            let flow: Value = http.get(init).send().await.unwrap().json().await.unwrap();
            http.post(flow["ui"]["action"].as_str().unwrap())
                .json(
                    &json!({"method": "password", "identifier": "rl@example.org", "password": pw}),
                )
                .send()
                .await
                .unwrap()
        }
    };
    for _ in 0..3 {
        assert_eq!(attempt("wrong password").await.status(), 400);
    }
    let blocked = attempt("correct horse battery").await;
    assert_eq!(blocked.status(), 429);
    assert!(blocked.headers().contains_key("retry-after"));
    let body: Value = blocked.json().await.unwrap();
    assert_eq!(body["error"]["code"], 429);
}
