//! `cookie_session`'s opt-in cache of the session store's answers (`cache.enabled`,
//! `cache.ttl`, `cache.max_cost`, as proposed for Oathkeeper): what is kept, for how long,
//! and what is never kept.

use crate::harness::{echo, http, start};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A session store that accepts cookies `ory_kratos_session=good...` while `active`, and
/// counts its calls.
#[derive(Default)]
struct Store {
    calls: AtomicUsize,
    logged_out: AtomicBool,
    expires_at: Mutex<String>,
}

async fn session_store() -> (String, Arc<Store>) {
    let store = Arc::new(Store::default());
    *store.expires_at.lock().unwrap() = "2999-01-01T00:00:00Z".into();
    let state = store.clone();
    let whoami = move |headers: HeaderMap| {
        let store = state.clone();
        async move {
            store.calls.fetch_add(1, Ordering::SeqCst);
            let cookie = headers
                .get("cookie")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let good = cookie.contains("ory_kratos_session=good");
            if !good || store.logged_out.load(Ordering::SeqCst) {
                return (StatusCode::UNAUTHORIZED, axum::Json(json!({})));
            }
            let expires_at = store.expires_at.lock().unwrap().clone();
            (
                StatusCode::OK,
                axum::Json(json!({
                    "active": true,
                    "expires_at": expires_at,
                    "identity": {"id": "u1", "traits": {"email": "alice@example.org"}},
                })),
            )
        }
    };
    let app = axum::Router::new().route("/sessions/whoami", axum::routing::get(whoami));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sessions/whoami", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });
    (url, store)
}

fn rule(id: &str, path: &str, upstream: &str, whoami: &str, cache: Value) -> Value {
    json!({
        "id": id,
        "upstream": {"url": upstream},
        "match": {"url": format!("http://<[^/]+>{path}"), "methods": ["GET"]},
        "authenticators": [{"handler": "cookie_session", "config": {
            "check_session_url": whoami, "preserve_path": true,
            "subject_from": "identity.traits.email", "cache": cache,
        }}],
        "authorizer": {"handler": "allow"},
        "mutators": [{"handler": "header", "config": {"headers": {"X-User": "{{ print .Subject }}"}}}],
    })
}

async fn get(url: String, cookie: &str) -> (u16, Value) {
    let r = http()
        .get(url)
        .header("cookie", format!("ory_kratos_session={cookie}"))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn session_answers_are_kept_only_when_enabled_and_never_refusals() {
    let up = echo().await;
    let (whoami, store) = session_store().await;
    let px = start(
        json!([
            rule(
                "cached",
                "/cached",
                &up,
                &whoami,
                json!({"enabled": true, "ttl": "1m"})
            ),
            rule(
                "uncached",
                "/uncached",
                &up,
                &whoami,
                json!({"enabled": false})
            ),
        ]),
        json!({"authenticators": {"cookie_session": {"enabled": true}}}),
    )
    .await;
    let calls = || store.calls.load(Ordering::SeqCst);
    for _ in 0..3 {
        let (status, body) = get(format!("{}/cached", px.proxy), "good").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["headers"]["x-user"], "alice@example.org");
    }
    assert_eq!(
        calls(),
        1,
        "the later requests were answered from the cache"
    );

    for _ in 0..2 {
        assert_eq!(get(format!("{}/cached", px.proxy), "bad").await.0, 401);
    }
    assert_eq!(calls(), 3, "refusals are not kept");

    for _ in 0..2 {
        assert_eq!(get(format!("{}/uncached", px.proxy), "good").await.0, 200);
    }
    assert_eq!(
        calls(),
        5,
        "without cache.enabled every request asks the store"
    );

    // The trade-off the setting makes: a session ended at the store still passes where its
    // answer is kept, until the entry's TTL runs out; nowhere else.
    store.logged_out.store(true, Ordering::SeqCst);
    assert_eq!(get(format!("{}/cached", px.proxy), "good").await.0, 200);
    assert_eq!(get(format!("{}/uncached", px.proxy), "good").await.0, 401);
}

#[tokio::test]
async fn a_kept_answer_never_outlives_its_session() {
    let up = echo().await;
    let (whoami, store) = session_store().await;
    let soon = time::OffsetDateTime::now_utc() + time::Duration::seconds(1);
    *store.expires_at.lock().unwrap() = soon
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let px = start(
        json!([rule(
            "cached",
            "/cached",
            &up,
            &whoami,
            json!({"enabled": true, "ttl": "1h"})
        )]),
        json!({"authenticators": {"cookie_session": {"enabled": true}}}),
    )
    .await;
    let calls = || store.calls.load(Ordering::SeqCst);
    assert_eq!(get(format!("{}/cached", px.proxy), "good").await.0, 200);
    assert_eq!(get(format!("{}/cached", px.proxy), "good").await.0, 200);
    assert_eq!(calls(), 1, "kept while the session lasts");
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    store.logged_out.store(true, Ordering::SeqCst);
    assert_eq!(
        get(format!("{}/cached", px.proxy), "good").await.0,
        401,
        "the session expired, so its answer was dropped despite the hour's TTL"
    );
    assert_eq!(calls(), 2);
}

#[tokio::test]
async fn a_cache_ttl_that_is_not_a_duration_stops_start_up() {
    let up = echo().await;
    let err = crate::harness::try_start(
        json!([rule(
            "r1",
            "/x",
            &up,
            "http://127.0.0.1:1/sessions/whoami",
            json!({"enabled": true, "ttl": "soon"})
        )]),
        json!({"authenticators": {"cookie_session": {"enabled": true}}}),
    )
    .await
    .err()
    .expect("start-up fails");
    assert!(
        err.contains("rule \"r1\" authenticators[0]: config.cache.ttl of \"cookie_session\""),
        "{err}"
    );
}

/// A session store that answers any path with a session, and records the path and query
/// it was asked at.
async fn recording_store() -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let any = move |uri: axum::http::Uri| {
        let log = log.clone();
        async move {
            log.lock().unwrap().push(uri.to_string());
            axum::Json(json!({"active": true, "identity": {"id": "u1", "traits": {}}}))
        }
    };
    let app = axum::Router::new().fallback(any);
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });
    (base, seen)
}

#[tokio::test]
async fn the_session_store_is_asked_at_the_path_and_query_oathkeeper_would_use() {
    let upstream = echo().await;
    let (store, seen) = recording_store().await;
    let whoami = format!("{store}/sessions/whoami?source=proxy");
    let with = |id: &str, path: &str, extra: Value| {
        let mut config = json!({"check_session_url": whoami});
        gatehouse_core::config::merge(&mut config, extra);
        json!({
            "id": id,
            "upstream": {"url": upstream},
            "match": {"url": format!("http://<[^/]+>{path}<.*>"), "methods": ["GET"]},
            "authenticators": [{"handler": "cookie_session", "config": config}],
            "authorizer": {"handler": "allow"},
            "mutators": [{"handler": "noop"}],
        })
    };
    let rules = json!([
        with("kept", "/kept/", json!({"preserve_path": true})),
        with("request-path", "/path/", json!({})),
        with(
            "request-query",
            "/query/",
            json!({"preserve_path": true, "preserve_query": false})
        ),
    ]);
    let p = start(
        rules,
        json!({"authenticators": {"cookie_session": {"enabled": true}}}),
    )
    .await;
    for path in ["/kept/a?q=1", "/path/b?q=2", "/query/c?q=3"] {
        let (status, _) = get(format!("{}{path}", p.proxy), "any").await;
        assert_eq!(status, 200, "{path}");
    }
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "/sessions/whoami?source=proxy",
            "/path/b?source=proxy",
            "/sessions/whoami?q=3",
        ]
    );
}
