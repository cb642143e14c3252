//! The OAuth 2.0 authenticators and the hydrator mutator against loopback servers that
//! play the introspection endpoint, the token endpoint and the hydrator API.

use crate::harness::{echo, http, start};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What a fake service received: one JSON record per request, by route.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<Value>>>);

impl Seen {
    fn push(&self, v: Value) {
        self.0.lock().unwrap().push(v);
    }
    fn all(&self, route: &str) -> Vec<Value> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|v| v["route"] == route)
            .cloned()
            .collect()
    }
    fn count(&self, route: &str) -> usize {
        self.all(route).len()
    }
}

fn headers_json(h: &HeaderMap) -> Value {
    h.iter()
        .map(|(k, v)| (k.as_str().to_string(), json!(v.to_str().unwrap_or(""))))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

/// The answer of the introspection endpoint for a token.
fn introspection_of(token: &str) -> Value {
    let active = json!({
        "active": true, "sub": "alice", "username": "alice@example.org", "client_id": "web",
        "scope": "photos.read openid", "aud": ["api", "other"], "iss": "https://issuer.example.org/",
        "exp": now() + 3600, "token_type": "Bearer", "token_use": "access_token",
        "ext": {"role": "admin"}
    });
    match token {
        "good" => active,
        "inactive" => json!({"active": false}),
        "expired" => json!({"active": true, "sub": "alice", "exp": now() - 10}),
        "refresh" => json!({"active": true, "sub": "alice", "token_use": "refresh_token"}),
        _ => json!({"active": false}),
    }
}

/// The introspection endpoint (`/introspect`; `/introspect-protected` wants the bearer
/// token `at-pre`), the token endpoint (`/token`) and the hydrator (`/hydrate`,
/// `/hydrate-other` answering another subject, `/hydrate-401`).
async fn fake_services() -> (String, Seen) {
    async fn introspect(
        State(seen): State<Seen>,
        headers: HeaderMap,
        axum::Form(form): axum::Form<HashMap<String, String>>,
    ) -> Response {
        seen.push(json!({"route": "introspect", "form": form, "headers": headers_json(&headers)}));
        if form.get("token").map(String::as_str) == Some("limited") {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "7")],
                "slow down",
            )
                .into_response();
        }
        if form.get("token").map(String::as_str) == Some("broken") {
            return (StatusCode::BAD_GATEWAY, "oops").into_response();
        }
        axum::Json(introspection_of(form.get("token").map_or("", |t| t))).into_response()
    }
    async fn introspect_protected(
        State(seen): State<Seen>,
        headers: HeaderMap,
        axum::Form(form): axum::Form<HashMap<String, String>>,
    ) -> Response {
        seen.push(json!({"route": "introspect-protected", "form": form, "headers": headers_json(&headers)}));
        if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer at-pre") {
            return StatusCode::UNAUTHORIZED.into_response();
        }
        axum::Json(introspection_of(form.get("token").map_or("", |t| t))).into_response()
    }
    async fn token(
        State(seen): State<Seen>,
        headers: HeaderMap,
        axum::Form(form): axum::Form<HashMap<String, String>>,
    ) -> Response {
        seen.push(json!({"route": "token", "form": form, "headers": headers_json(&headers)}));
        let creds = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .map(|b| String::from_utf8(b).unwrap())
            .unwrap_or_default();
        if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
            return (StatusCode::BAD_REQUEST, "grant_type").into_response();
        }
        match creds.as_str() {
            "svc:s3cret" | "my+svc:p%40ss" => axum::Json(
                json!({"access_token": "at-1", "token_type": "bearer", "expires_in": 3600}),
            )
            .into_response(),
            "introspector:pre-secret" => axum::Json(
                json!({"access_token": "at-pre", "token_type": "bearer", "expires_in": 3600}),
            )
            .into_response(),
            "empty:e" => {
                axum::Json(json!({"access_token": "", "token_type": "bearer"})).into_response()
            }
            "busy:b" => (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "3")], "").into_response(),
            "down:d" => StatusCode::SERVICE_UNAVAILABLE.into_response(),
            _ => (
                StatusCode::UNAUTHORIZED,
                axum::Json(json!({"error": "invalid_client"})),
            )
                .into_response(),
        }
    }
    async fn hydrate(
        State(seen): State<Seen>,
        RawQuery(query): RawQuery,
        headers: HeaderMap,
        axum::Json(mut session): axum::Json<Value>,
    ) -> Response {
        seen.push(json!({"route": "hydrate", "query": query, "headers": headers_json(&headers), "session": session.clone()}));
        session["extra"] = json!({"plan": "gold", "seen_subject": session["subject"].clone()});
        session["header"]["X-Hydrated"] = json!(["yes"]);
        axum::Json(session).into_response()
    }
    async fn hydrate_other(axum::Json(mut session): axum::Json<Value>) -> axum::Json<Value> {
        session["subject"] = json!("mallory");
        axum::Json(session)
    }
    async fn hydrate_401() -> StatusCode {
        StatusCode::UNAUTHORIZED
    }
    let seen = Seen::default();
    let app = axum::Router::new()
        .route("/introspect", axum::routing::post(introspect))
        .route(
            "/introspect-protected",
            axum::routing::post(introspect_protected),
        )
        .route("/token", axum::routing::post(token))
        .route("/hydrate", axum::routing::post(hydrate))
        .route("/hydrate-other", axum::routing::post(hydrate_other))
        .route("/hydrate-401", axum::routing::post(hydrate_401))
        .with_state(seen.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });
    (url, seen)
}

/// A loopback address nothing listens on.
fn closed_port() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}

fn rule(id: &str, path: &str, upstream: &str, authn: Value, mutators: Value) -> Value {
    json!({
        "id": id,
        "upstream": {"url": upstream},
        "match": {"url": format!("http://<[^/]+>{path}"), "methods": ["GET", "POST"]},
        "authenticators": [authn],
        "authorizer": {"handler": "allow"},
        "mutators": mutators,
    })
}

fn who() -> Value {
    json!([{"handler": "header", "config": {"headers": {
        "X-User": "{{ print .Subject }}",
        "X-Role": "{{ print .Extra.role }}",
        "X-Client": "{{ print .Extra.client_id }}",
        "X-Aud": "{{ printIndex .Extra.aud 0 }}",
        "X-Scope": "{{ print .Extra.scope }}",
    }}}])
}

fn config(services: &str) -> Value {
    json!({
        "authenticators": {
            "oauth2_introspection": {"enabled": true, "config": {
                "introspection_url": format!("{services}/introspect")
            }},
            "oauth2_client_credentials": {"enabled": true, "config": {
                "token_url": format!("{services}/token")
            }}
        },
        "mutators": {"hydrator": {"enabled": true, "config": {
            "api": {"url": format!("{services}/hydrate")}
        }}},
        "errors": {"handlers": {"json": {"enabled": true, "config": {"verbose": true}}}}
    })
}

async fn get(url: String, authorization: Option<&str>) -> (u16, Value) {
    let mut r = http().get(url);
    if let Some(a) = authorization {
        r = r.header("authorization", a);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let body = r.json().await.unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test]
async fn introspection_decides_and_fills_the_session() {
    let up = echo().await;
    let (svc, seen) = fake_services().await;
    let intro = |cfg: Value| json!({"handler": "oauth2_introspection", "config": cfg});
    let px = start(
        json!([
            rule("plain", "/plain", &up, intro(json!({})), who()),
            rule("aud", "/aud", &up, intro(json!({"target_audience": ["api", "billing"]})), who()),
            rule("aud-ok", "/aud-ok", &up, intro(json!({"target_audience": ["api"]})), who()),
            rule("iss", "/iss", &up, intro(json!({"trusted_issuers": ["https://other.example.org/"]})), who()),
            rule("scope", "/scope", &up, intro(json!({"scope_strategy": "exact", "required_scope": ["photos.write"]})), who()),
            rule("scope-ok", "/scope-ok", &up, intro(json!({"scope_strategy": "hierarchic", "required_scope": ["openid", "photos.read.own"]})), who()),
            rule("scope-none", "/scope-none", &up, intro(json!({"required_scope": ["a", "b"]})), who()),
            rule("prefixed", "/prefixed", &up, intro(json!({"prefix": "ory_at_"})), who()),
            rule("query", "/query", &up, intro(json!({"token_from": {"query_parameter": "access_token"}, "preserve_host": true, "introspection_request_headers": {"X-Api-Key": "k1"}})), who()),
        ]),
        config(&svc),
    )
    .await;
    let bearer = |t: &str| format!("Bearer {t}");

    let (status, seen_up) = get(format!("{}/plain", px.proxy), Some(&bearer("good"))).await;
    assert_eq!(status, 200, "{seen_up}");
    let h = &seen_up["headers"];
    assert_eq!(h["x-user"], "alice");
    assert_eq!(h["x-role"], "admin", "ext becomes extra");
    assert_eq!(h["x-client"], "web");
    assert_eq!(h["x-aud"], "api");
    assert_eq!(h["x-scope"], "photos.read openid");
    let call = &seen.all("introspect")[0];
    assert_eq!(call["form"]["token"], "good");
    assert!(call["form"].get("scope").is_none(), "{call}");
    assert!(
        call["headers"]["content-type"]
            .as_str()
            .unwrap()
            .starts_with("application/x-www-form-urlencoded")
    );

    for (token, want, reason) in [
        ("inactive", 401, "Access token is not active"),
        ("expired", 401, "Access token expired"),
        (
            "refresh",
            403,
            "Use of introspected token is not an access token but \"refresh_token\"",
        ),
    ] {
        let (status, body) = get(format!("{}/plain", px.proxy), Some(&bearer(token))).await;
        assert_eq!(status, want, "{token}: {body}");
        assert_eq!(body["error"]["reason"], reason, "{token}");
    }
    let (status, body) = get(format!("{}/aud", px.proxy), Some(&bearer("good"))).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body["error"]["reason"],
        "Token audience is not intended for target audience billing"
    );
    let (status, _) = get(format!("{}/aud-ok", px.proxy), Some(&bearer("good"))).await;
    assert_eq!(status, 200);
    let (status, body) = get(format!("{}/iss", px.proxy), Some(&bearer("good"))).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = get(format!("{}/scope", px.proxy), Some(&bearer("good"))).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body["error"]["reason"],
        "Scope photos.write was not granted"
    );
    let (status, body) = get(format!("{}/scope-ok", px.proxy), Some(&bearer("good"))).await;
    assert_eq!(status, 200, "{body}");

    // Without a strategy the scopes go to the endpoint, which decides.
    let (status, _) = get(format!("{}/scope-none", px.proxy), Some(&bearer("good"))).await;
    assert_eq!(status, 200);
    let last = seen.all("introspect").pop().unwrap();
    assert_eq!(last["form"]["scope"], "a b");

    // Errors of the endpoint: 429 passes on, anything else not 200 is a 500.
    let r = http()
        .get(format!("{}/plain", px.proxy))
        .header("authorization", bearer("limited"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "7");
    let (status, _) = get(format!("{}/plain", px.proxy), Some(&bearer("broken"))).await;
    assert_eq!(status, 500);

    // Not responsible: no token, or not the prefix; the rule then answers 401.
    let before = seen.count("introspect");
    let (status, _) = get(format!("{}/plain", px.proxy), None).await;
    assert_eq!(status, 401);
    let (status, _) = get(format!("{}/prefixed", px.proxy), Some(&bearer("good"))).await;
    assert_eq!(status, 401);
    assert_eq!(seen.count("introspect"), before, "no call without a token");

    let (status, body) = get(format!("{}/query?access_token=good", px.proxy), None).await;
    assert_eq!(status, 200, "{body}");
    let last = seen.all("introspect").pop().unwrap();
    assert_eq!(last["form"]["token"], "good");
    assert_eq!(last["headers"]["x-api-key"], "k1");
    assert!(
        last["headers"]["x-forwarded-host"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );
}

#[tokio::test]
async fn introspection_answers_are_cached_when_enabled() {
    let up = echo().await;
    let (svc, seen) = fake_services().await;
    let px = start(
        json!([
            rule("cached", "/cached", &up, json!({"handler": "oauth2_introspection", "config": {"cache": {"enabled": true, "ttl": "1m"}, "scope_strategy": "exact", "required_scope": ["openid"]}}), who()),
            rule("uncached", "/uncached", &up, json!({"handler": "oauth2_introspection"}), who()),
            rule("cached-inactive", "/cached-inactive", &up, json!({"handler": "oauth2_introspection", "config": {"cache": {"enabled": true}}}), who()),
        ]),
        config(&svc),
    )
    .await;
    for _ in 0..2 {
        let (status, body) = get(format!("{}/cached", px.proxy), Some("Bearer good")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["headers"]["x-user"], "alice", "{body}");
    }
    assert_eq!(
        seen.count("introspect"),
        1,
        "the second request used the cache"
    );
    for _ in 0..2 {
        let (status, _) = get(format!("{}/uncached", px.proxy), Some("Bearer good")).await;
        assert_eq!(status, 200);
    }
    assert_eq!(seen.count("introspect"), 3, "no cache unless enabled");
    for _ in 0..2 {
        let (status, _) = get(
            format!("{}/cached-inactive", px.proxy),
            Some("Bearer inactive"),
        )
        .await;
        assert_eq!(status, 401);
    }
    assert_eq!(seen.count("introspect"), 5, "refusals are not cached");
}

#[tokio::test]
async fn pre_authorization_calls_the_endpoint_with_a_client_credentials_token() {
    let up = echo().await;
    let (svc, seen) = fake_services().await;
    let pre = |secret: &str| {
        json!({"handler": "oauth2_introspection", "config": {
            "introspection_url": format!("{svc}/introspect-protected"),
            "pre_authorization": {"enabled": true, "client_id": "introspector", "client_secret": secret,
                "token_url": format!("{svc}/token"), "audience": "introspection", "scope": ["introspect", "admin"]}
        }})
    };
    let px = start(
        json!([
            rule("pre", "/pre", &up, pre("pre-secret"), who()),
            rule("pre-bad", "/pre-bad", &up, pre("wrong"), who()),
            rule("no-pre", "/no-pre", &up, json!({"handler": "oauth2_introspection", "config": {"introspection_url": format!("{svc}/introspect-protected")}}), who()),
        ]),
        config(&svc),
    )
    .await;
    for _ in 0..2 {
        let (status, body) = get(format!("{}/pre", px.proxy), Some("Bearer good")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["headers"]["x-user"], "alice");
    }
    let calls = seen.all("introspect-protected");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0]["headers"]["authorization"], "Bearer at-pre");
    let grants = seen.all("token");
    assert_eq!(grants.len(), 1, "the token is reused until it expires");
    assert_eq!(grants[0]["form"]["grant_type"], "client_credentials");
    assert_eq!(grants[0]["form"]["audience"], "introspection");
    assert_eq!(grants[0]["form"]["scope"], "introspect admin");

    let (status, _) = get(format!("{}/no-pre", px.proxy), Some("Bearer good")).await;
    assert_eq!(
        status, 500,
        "the endpoint refuses without the bearer token: 500"
    );
    let (status, body) = get(format!("{}/pre-bad", px.proxy), Some("Bearer good")).await;
    assert_eq!(status, 500, "{body}");
}

#[tokio::test]
async fn client_credentials_are_checked_with_a_grant() {
    let up = echo().await;
    let (svc, seen) = fake_services().await;
    let cc = |cfg: Value| json!({"handler": "oauth2_client_credentials", "config": cfg});
    let px = start(
        json!([
            rule(
                "cc",
                "/cc",
                &up,
                cc(json!({"required_scope": ["read", "write"]})),
                who()
            ),
            rule(
                "cc-cached",
                "/cc-cached",
                &up,
                cc(json!({"cache": {"enabled": true, "ttl": "1m"}})),
                who()
            ),
            rule(
                "cc-down",
                "/cc-down",
                &up,
                cc(json!({"token_url": format!("{}/token", closed_port())})),
                who()
            ),
        ]),
        config(&svc),
    )
    .await;
    let (status, body) = get(format!("{}/cc", px.proxy), Some(&basic("svc", "s3cret"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["headers"]["x-user"], "svc");
    let grant = seen.all("token").pop().unwrap();
    assert_eq!(grant["form"]["scope"], "read write");
    assert_eq!(
        grant["headers"]["authorization"],
        basic("svc", "s3cret"),
        "the client's credentials, in Basic auth"
    );

    // URL-escaped credentials: the subject is unescaped, the grant escapes again.
    let (status, body) = get(
        format!("{}/cc", px.proxy),
        Some(&basic("my%20svc", "p%40ss")),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["headers"]["x-user"], "my svc");

    for (id, secret, want) in [
        ("svc", "wrong", 401),
        ("empty", "e", 401),
        ("busy", "b", 429),
        ("down", "d", 503),
    ] {
        let (status, body) = get(format!("{}/cc", px.proxy), Some(&basic(id, secret))).await;
        assert_eq!(status, want, "{id}: {body}");
    }
    let (status, _) = get(format!("{}/cc", px.proxy), Some(&basic("bad%zz", "x"))).await;
    assert_eq!(status, 401, "a broken escape");
    let (status, _) = get(
        format!("{}/cc-down", px.proxy),
        Some(&basic("svc", "s3cret")),
    )
    .await;
    assert_eq!(status, 503, "an unreachable token endpoint");

    // Not responsible without Basic auth.
    let before = seen.count("token");
    let (status, _) = get(format!("{}/cc", px.proxy), Some("Bearer good")).await;
    assert_eq!(status, 401);
    let (status, _) = get(format!("{}/cc", px.proxy), None).await;
    assert_eq!(status, 401);
    assert_eq!(seen.count("token"), before);

    for _ in 0..2 {
        let (status, _) = get(
            format!("{}/cc-cached", px.proxy),
            Some(&basic("svc", "s3cret")),
        )
        .await;
        assert_eq!(status, 200);
    }
    assert_eq!(
        seen.count("token"),
        before + 1,
        "the token came from the cache"
    );
    let (status, _) = get(
        format!("{}/cc-cached", px.proxy),
        Some(&basic("svc", "wrong")),
    )
    .await;
    assert_eq!(status, 401, "another secret is not a cache hit");
}

#[tokio::test]
async fn the_hydrator_enriches_the_session() {
    let up = echo().await;
    let (svc, seen) = fake_services().await;
    let anon = json!({"handler": "anonymous", "config": {"subject": "guest"}});
    let hydrated = |cfg: Value| {
        json!([
            {"handler": "header", "config": {"headers": {"X-Before": "set"}}},
            {"handler": "hydrator", "config": cfg},
            {"handler": "header", "config": {"headers": {"X-Plan": "{{ print .Extra.plan }}", "X-User": "{{ print .Subject }}"}}}
        ])
    };
    let px = start(
        json!([
            rule("hy", "/hy", &up, anon.clone(), hydrated(json!({"api": {"auth": {"basic": {"username": "hy", "password": "pw"}}}}))),
            rule("hy-cached", "/hy-cached", &up, anon.clone(), hydrated(json!({"cache": {"enabled": true, "ttl": "1m"}}))),
            rule("hy-other", "/hy-other", &up, anon.clone(), hydrated(json!({"api": {"url": format!("{svc}/hydrate-other")}}))),
            rule("hy-401", "/hy-401", &up, anon.clone(), hydrated(json!({"api": {"url": format!("{svc}/hydrate-401")}}))),
            rule("hy-down", "/hy-down", &up, anon.clone(), hydrated(json!({"api": {"url": closed_port()}}))),
            rule("hy-retry", "/hy-retry", &up, anon.clone(), hydrated(json!({"api": {"url": closed_port(), "retry": {"max_delay": "50ms", "give_up_after": "300ms"}}}))),
        ]),
        config(&svc),
    )
    .await;
    let r = http()
        .get(format!("{}/hy?b=2&a=1", px.proxy))
        .header("x-custom", "c1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let h = &body["headers"];
    assert_eq!(h["x-plan"], "gold", "extra from the hydrator: {body}");
    assert_eq!(h["x-user"], "guest");
    assert_eq!(h["x-hydrated"], "yes", "headers from the hydrator");
    assert_eq!(h["x-before"], "set", "the hydrator echoed the header back");

    let call = seen.all("hydrate").pop().unwrap();
    assert_eq!(call["session"]["subject"], "guest");
    assert_eq!(call["session"]["header"]["X-Before"], json!(["set"]));
    assert_eq!(call["query"], "a=1&b=2", "the original query");
    assert_eq!(call["headers"]["x-custom"], "c1", "the original headers");
    assert_eq!(call["headers"]["authorization"], basic("hy", "pw"));
    assert_eq!(call["headers"]["content-type"], "application/json");

    for _ in 0..2 {
        let (status, body) = get(format!("{}/hy-cached", px.proxy), None).await;
        assert_eq!(status, 200);
        assert_eq!(body["headers"]["x-plan"], "gold");
    }
    assert_eq!(
        seen.count("hydrate"),
        2,
        "the second identical request hit the cache"
    );

    let (status, body) = get(format!("{}/hy-other", px.proxy), None).await;
    assert_eq!(status, 500, "another subject: {body}");
    assert!(
        body["error"]["reason"]
            .as_str()
            .unwrap()
            .starts_with("The call to an external API returned an invalid JSON object"),
        "{body}"
    );
    let (status, body) = get(format!("{}/hy-401", px.proxy), None).await;
    assert_eq!(status, 500);
    assert_eq!(
        body["error"]["reason"],
        "No credentials were provided in mutator configuration"
    );
    let (status, _) = get(format!("{}/hy-down", px.proxy), None).await;
    assert_eq!(status, 500);
    let t = Instant::now();
    let (status, _) = get(format!("{}/hy-retry", px.proxy), None).await;
    assert_eq!(status, 500);
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "retries stop after give_up_after"
    );
}

#[tokio::test]
async fn the_decisions_api_returns_hydrated_headers() {
    let (svc, _seen) = fake_services().await;
    let px = start(
        json!([{
            "id": "decide", "match": {"url": "https://app.example.org/<.*>", "methods": ["GET"]},
            "authenticators": [{"handler": "oauth2_introspection"}],
            "authorizer": {"handler": "allow"},
            "mutators": [{"handler": "hydrator"}, {"handler": "header", "config": {"headers": {"X-User": "{{ print .Subject }}", "X-Plan": "{{ print .Extra.plan }}"}}}]
        }]),
        config(&svc),
    )
    .await;
    let r = http()
        .get(format!("{}/decisions/x", px.api))
        .header("x-forwarded-host", "app.example.org")
        .header("x-forwarded-proto", "https")
        .header("authorization", "Bearer good")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-user"], "alice");
    assert_eq!(r.headers()["x-plan"], "gold");
    assert_eq!(r.headers()["x-hydrated"], "yes");
}
