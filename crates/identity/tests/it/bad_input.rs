//! Hostile and malformed input: always a 4xx in the envelope, never a 5xx, and the server
//! keeps answering.

use crate::{TestApp, backends};
use serde_json::{Value, json};

async fn assert_envelope(res: reqwest::Response, status: u16) -> Value {
    assert_eq!(res.status().as_u16(), status);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], status, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    body
}

#[tokio::test]
async fn malformed_requests_get_4xx_envelopes() {
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
        let action = flow["ui"]["action"].as_str().unwrap().to_string();

        let res = app
            .http
            .post(&action)
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_envelope(res, 400).await;
        let res = app
            .http
            .post(&action)
            .header("content-type", "text/plain")
            .body("hello")
            .send()
            .await
            .unwrap();
        assert_envelope(res, 415).await;
        let big = "x".repeat(2 << 20);
        let res = app
            .http
            .post(&action)
            .header("content-type", "application/json")
            .body(format!("{{\"a\":\"{big}\"}}"))
            .send()
            .await
            .unwrap();
        assert_envelope(res, 413).await;
        let res = app
            .http
            .post(app.pub_url(&format!(
                "self-service/registration?flow={}",
                uuid::Uuid::new_v4()
            )))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_envelope(res, 404).await;
        let res = app
            .http
            .post(app.pub_url("self-service/registration?flow=not-a-uuid"))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_envelope(res, 400).await;
        let res = app
            .http
            .get(app.pub_url("self-service/login/flows"))
            .send()
            .await
            .unwrap();
        assert_envelope(res, 400).await;
        let res = app
            .http
            .get(app.pub_url("sessions/whoami"))
            .header("X-Session-Token", "' OR 1=1 --")
            .send()
            .await
            .unwrap();
        assert_envelope(res, 401).await;
        let res = app
            .http
            .get(app.pub_url("sessions/whoami"))
            .header("Authorization", "Bearer \u{00e9}")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
        let res = app
            .http
            .post(&action)
            .json(
                &json!({"method": "password", "password": "correct horse battery", "traits": "x"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        let res = app
            .http
            .post(&action)
            .json(&json!({"method": "webauthn"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);

        // Unicode and SQL metacharacters are data, not code.
        let res = app.http.post(&action)
            .json(&json!({"method": "password", "password": "correct horse battery", "traits": {"email": "o'brien+tag@example.org", "user_type": "student", "name": {"first": "Robert'); DROP TABLE identity_identities;-- \u{1F600}", "last": "<script>alert(1)</script>"}}}))
            .send().await.unwrap();
        assert_eq!(res.status(), 200, "{:?}", res.text().await);

        // Admin: strict bodies.
        let res = app
            .http
            .post(app.admin_url("admin/identities"))
            .json(&json!({"schema_id": "default", "traits": {}, "unknown_field": 1}))
            .send()
            .await
            .unwrap();
        assert_envelope(res, 400).await;
        let res = app
            .http
            .post(app.admin_url("admin/identities"))
            .json(&json!({"schema_id": "nope", "traits": {"email": "a@b.co"}}))
            .send()
            .await
            .unwrap();
        assert_envelope(res, 400).await;
        let res = app
            .http
            .get(app.admin_url("admin/identities?page_size=0"))
            .send()
            .await
            .unwrap();
        assert_envelope(res, 400).await;
        let res = app
            .http
            .get(app.admin_url("admin/identities?page_token=%%%"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        let res = app
            .http
            .get(app.admin_url("admin/identities/not-a-uuid"))
            .send()
            .await
            .unwrap();
        assert_envelope(res, 404).await;
        let res = app
            .http
            .patch(app.admin_url(&format!("admin/identities/{}", uuid::Uuid::new_v4())))
            .json(&json!({"not": "a patch"}))
            .send()
            .await
            .unwrap();
        assert_envelope(res, 400).await;
        let res = app
            .http
            .get(app.pub_url("no/such/path"))
            .send()
            .await
            .unwrap();
        assert_envelope(res, 404).await;

        // Still answering.
        assert_eq!(
            app.http
                .get(app.pub_url("health/ready"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
}

#[tokio::test]
async fn health_version_and_schemas_on_both_ports() {
    let app = TestApp::start(&crate::Backend::Sqlite, json!({})).await;
    for url in [
        app.pub_url("health/alive"),
        app.pub_url("health/ready"),
        app.admin_url("admin/health/ready"),
        app.admin_url("health/alive"),
    ] {
        let res = app.http.get(&url).send().await.unwrap();
        assert_eq!(res.status(), 200, "{url}");
        assert_eq!(res.json::<Value>().await.unwrap()["status"], "ok");
    }
    let v: Value = app
        .http
        .get(app.admin_url("admin/version"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(v["version"].as_str().unwrap().starts_with('v'));
    let schemas: Value = app
        .http
        .get(app.pub_url("schemas"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(schemas[0]["id"], "default");
    let one: Value = app
        .http
        .get(app.pub_url("schemas/ZGVmYXVsdA"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        one["properties"]["traits"]["properties"]["user_type"]["enum"],
        json!(["educator", "student"])
    );
    assert_eq!(
        app.http
            .get(app.pub_url("schemas/bm9wZQ"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}
