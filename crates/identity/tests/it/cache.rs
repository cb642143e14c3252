//! The whoami cache never serves an answer that a committed write has changed: not on the
//! instance that wrote, and (PostgreSQL) not on another instance of the same database.

use crate::{Backend, TestApp, backends};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

async fn admin(app: &TestApp, method: reqwest::Method, path: &str, body: Option<Value>) -> u16 {
    let mut req = app.http.request(method, app.admin_url(path));
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn writes_are_seen_at_once_by_the_writing_instance() {
    for backend in backends() {
        let app = TestApp::start(&backend, json!({})).await;
        let (id, token) = app
            .register_api("cache@example.org", "correct horse battery")
            .await;
        for _ in 0..3 {
            let (status, body) = app.whoami(&token).await;
            assert_eq!(status, 200);
            assert_eq!(body["identity"]["traits"]["user_type"], "educator");
        }
        let patch = json!([{"op": "replace", "path": "/traits/user_type", "value": "student"}]);
        let status = admin(
            &app,
            reqwest::Method::PATCH,
            &format!("admin/identities/{id}"),
            Some(patch),
        )
        .await;
        assert_eq!(status, 200);
        let (_, body) = app.whoami(&token).await;
        assert_eq!(
            body["identity"]["traits"]["user_type"], "student",
            "{backend:?}"
        );

        let session_id = body["id"].as_str().unwrap().to_string();
        let extend = format!("admin/sessions/{session_id}/extend");
        assert!([200, 204].contains(&admin(&app, reqwest::Method::PATCH, &extend, None).await));
        let (status, _) = app.whoami(&token).await;
        assert_eq!(status, 200);

        let revoke = format!("admin/sessions/{session_id}");
        assert_eq!(
            admin(&app, reqwest::Method::DELETE, &revoke, None).await,
            204
        );
        assert_eq!(app.whoami(&token).await.0, 401, "{backend:?}");

        let (id2, token2) = app
            .register_api("cache2@example.org", "correct horse battery")
            .await;
        assert_eq!(app.whoami(&token2).await.0, 200);
        let patch = json!([{"op": "replace", "path": "/state", "value": "inactive"}]);
        let path = format!("admin/identities/{id2}");
        assert_eq!(
            admin(&app, reqwest::Method::PATCH, &path, Some(patch)).await,
            200
        );
        assert_eq!(app.whoami(&token2).await.0, 401, "{backend:?}");
    }
}

#[tokio::test]
async fn another_instance_drops_its_cached_answer_after_a_write() {
    let Some(pg) = backends()
        .into_iter()
        .find(|b| matches!(b, Backend::Postgres(_)))
    else {
        eprintln!("skipped: needs GATEHOUSE_TEST_POSTGRES_DSN");
        return;
    };
    let a = TestApp::start(&pg, json!({})).await;
    let b = a.sibling(json!({})).await;
    let (_, token) = a
        .register_api("multi@example.org", "correct horse battery")
        .await;
    let (status, body) = b.whoami(&token).await;
    assert_eq!(status, 200);
    assert_eq!(b.whoami(&token).await.0, 200);

    let revoke = format!("admin/sessions/{}", body["id"].as_str().unwrap());
    assert_eq!(admin(&a, reqwest::Method::DELETE, &revoke, None).await, 204);
    // The notice travels through PostgreSQL; allow it a moment, far below the cache TTL.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if b.whoami(&token).await.0 == 401 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "instance b kept serving a revoked session"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
