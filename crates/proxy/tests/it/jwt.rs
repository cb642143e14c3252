//! The `jwt` authenticator and the `id_token` mutator through the real proxy: tokens
//! signed here with test keys (`keys/*.json`, made with `gatehouse proxy credentials
//! generate`; test-only), key sets served from a file and from a loopback HTTP server,
//! and the api port's `/.well-known/jwks.json` checked against the tokens the proxy signs.

use crate::harness::{echo, http, start};
use gatehouse_proxy::credentials;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const RSA_A: &str = include_str!("keys/rsa-a.json");
const RSA_B: &str = include_str!("keys/rsa-b.json");

fn key(set: &str) -> Value {
    serde_json::from_str::<Value>(set).unwrap()["keys"][0].clone()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Signs `claims` with the private `jwk`, naming `kid` in the header.
fn sign(jwk: &Value, kid: &str, claims: Value) -> String {
    let alg: jsonwebtoken::Algorithm = jwk["alg"].as_str().unwrap().parse().unwrap();
    let header = jsonwebtoken::Header {
        kid: Some(kid.into()),
        ..jsonwebtoken::Header::new(alg)
    };
    jsonwebtoken::encode(&header, &claims, &credentials::signing_key(jwk).unwrap()).unwrap()
}

/// A JWKS document with the public halves of `keys`.
fn public_set(keys: &[&Value]) -> Value {
    json!({"keys": keys.iter().map(|k| credentials::public(k).unwrap()).collect::<Vec<_>>()})
}

fn rule(id: &str, path: &str, upstream: &str, authn: Value, mutators: Value) -> Value {
    json!({
        "id": id,
        "upstream": {"url": upstream},
        "match": {"url": format!("http://<[^/]+>{path}"), "methods": ["GET"]},
        "authenticators": authn,
        "authorizer": {"handler": "allow"},
        "mutators": mutators,
    })
}

fn who() -> Value {
    json!([{"handler": "header", "config": {"headers": {
        "X-User": "{{ print .Subject }}",
        "X-Scope": "{{ printIndex .Extra.scp 0 }}",
        "X-Email": "{{ print .Extra.email }}"
    }}}])
}

async fn get(url: &str, token: Option<&str>) -> reqwest::Response {
    let mut r = http().get(url);
    if let Some(t) = token {
        r = r.header("authorization", format!("Bearer {t}"));
    }
    r.send().await.unwrap()
}

#[tokio::test]
async fn jwt_from_a_file_key_set_authenticates_and_bad_tokens_are_401() {
    let up = echo().await;
    let a = key(RSA_A);
    let b = key(RSA_B);
    let keys = tempfile::tempdir().unwrap();
    let file = keys.path().join("jwks.json");
    std::fs::write(&file, public_set(&[&a]).to_string()).unwrap();
    let jwks = format!("file://{}", file.display());
    let px = start(
        json!([
            rule("plain", "/plain", &up, json!([{"handler": "jwt"}]), who()),
            rule(
                "strict",
                "/strict",
                &up,
                json!([{"handler": "jwt", "config": {
                "target_audience": ["api"], "trusted_issuers": ["https://issuer.example"]}}]),
                who()
            ),
            rule(
                "scoped",
                "/scoped",
                &up,
                json!([{"handler": "jwt", "config": {
                "required_scope": ["photos.read"], "scope_strategy": "hierarchic"}}]),
                who()
            ),
            rule(
                "nostrategy",
                "/nostrategy",
                &up,
                json!([{"handler": "jwt", "config": {
                "required_scope": ["photos"]}}]),
                who()
            ),
            rule(
                "fallback",
                "/fallback",
                &up,
                json!([
                {"handler": "jwt", "config": {"token_from": {"header": "X-Token"}}},
                {"handler": "anonymous"}]),
                who()
            ),
        ]),
        json!({
            "authenticators": {"jwt": {"enabled": true, "config": {"jwks_urls": [jwks]}}},
            "errors": {"handlers": {"json": {"enabled": true, "config": {"verbose": true}}}},
        }),
    )
    .await;
    let base = &px.proxy;
    let good = json!({"sub": "user-1", "exp": now() + 600, "iat": now(), "email": "a@b.c",
                      "scope": "photos offline", "aud": ["api", "other"], "iss": "https://issuer.example"});

    // A valid token: the subject and the claims reach the upstream.
    let r = get(
        &format!("{base}/plain"),
        Some(&sign(&a, "test-rsa-a", good.clone())),
    )
    .await;
    assert_eq!(r.status(), 200);
    let seen: Value = r.json().await.unwrap();
    assert_eq!(seen["headers"]["x-user"], "user-1");
    assert_eq!(seen["headers"]["x-email"], "a@b.c");
    assert_eq!(
        seen["headers"]["x-scope"], "photos",
        "scope is normalised into scp"
    );
    let r = get(
        &format!("{base}/strict"),
        Some(&sign(&a, "test-rsa-a", good.clone())),
    )
    .await;
    assert_eq!(r.status(), 200);

    // Everything wrong with a JWT is a 401 (Oathkeeper wraps every verification error).
    let reason = |v: &Value| v["error"]["reason"].as_str().unwrap_or("").to_string();
    let cases: Vec<(&str, String, &str)> = vec![
        ("plain", sign(&b, "test-rsa-a", good.clone()), "signature"),
        (
            "plain",
            sign(&b, "test-rsa-b", good.clone()),
            "could not be found",
        ),
        (
            "plain",
            sign(&a, "test-rsa-a", json!({"sub": "x", "exp": now() - 5})),
            "expired",
        ),
        (
            "plain",
            sign(&a, "test-rsa-a", json!({"sub": "x", "nbf": now() + 600})),
            "not valid yet",
        ),
        (
            "plain",
            sign(&a, "test-rsa-a", json!({"sub": "x", "iat": now() + 600})),
            "before issued",
        ),
        (
            "strict",
            sign(
                &a,
                "test-rsa-a",
                json!({"sub": "x", "aud": "web", "iss": "https://issuer.example"}),
            ),
            "audience",
        ),
        (
            "strict",
            sign(
                &a,
                "test-rsa-a",
                json!({"sub": "x", "aud": "api", "iss": "https://evil.example"}),
            ),
            "issuer",
        ),
        (
            "scoped",
            sign(&a, "test-rsa-a", json!({"sub": "x", "scp": ["videos"]})),
            "missing required scope",
        ),
        (
            "nostrategy",
            sign(&a, "test-rsa-a", good.clone()),
            "scope strategy",
        ),
        ("plain", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln".to_string(), "kid"),
        ("plain", "not.a.jwt".to_string(), "malformed"),
    ];
    for (path, token, why) in cases {
        let r = get(&format!("{base}/{path}"), Some(&token)).await;
        assert_eq!(r.status(), 401, "{path} {why}");
        let body: Value = r.json().await.unwrap();
        assert!(reason(&body).contains(why), "{path} {why}: {body}");
    }
    // The refused token's claims are in the verbose error's details, as in Oathkeeper.
    let expired = sign(&a, "test-rsa-a", json!({"sub": "late", "exp": now() - 5}));
    let body: Value = get(&format!("{base}/plain"), Some(&expired))
        .await
        .json()
        .await
        .unwrap();
    let claims: Value =
        serde_json::from_str(body["error"]["details"]["jwt_claims"].as_str().unwrap()).unwrap();
    assert_eq!(claims["sub"], "late");
    // An algorithm outside allowed_algorithms (default RS256) is refused.
    let hs = json!({"kty": "oct", "kid": "test-rsa-a", "alg": "HS256", "k": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI"});
    let r = get(
        &format!("{base}/plain"),
        Some(&sign(&hs, "test-rsa-a", good.clone())),
    )
    .await;
    assert_eq!(r.status(), 401);
    assert!(reason(&r.json().await.unwrap()).contains("not allowed"));
    // The scope a hierarchic strategy grants.
    let r = get(
        &format!("{base}/scoped"),
        Some(&sign(
            &a,
            "test-rsa-a",
            json!({"sub": "x", "scp": ["photos"]}),
        )),
    )
    .await;
    assert_eq!(r.status(), 200);

    // Not a JWT: the jwt authenticator is not responsible and the next one decides.
    let r = http()
        .get(format!("{base}/fallback"))
        .header("x-token", "opaque-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let seen: Value = r.json().await.unwrap();
    assert_eq!(seen["headers"]["x-user"], "anonymous");
    // ... while a token that looks like a JWT is the jwt authenticator's to refuse.
    let r = http()
        .get(format!("{base}/fallback"))
        .header("x-token", sign(&b, "test-rsa-a", good.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = http()
        .get(format!("{base}/fallback"))
        .header("x-token", sign(&a, "test-rsa-a", good.clone()))
        .send()
        .await
        .unwrap();
    let seen: Value = r.json().await.unwrap();
    assert_eq!(seen["headers"]["x-user"], "user-1");
}

/// A key server on loopback that counts its requests; its document can be swapped.
async fn key_server(doc: Value) -> (String, Arc<AtomicUsize>, Arc<Mutex<Value>>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let doc = Arc::new(Mutex::new(doc));
    let (h, d) = (hits.clone(), doc.clone());
    let app = axum::Router::new().route(
        "/jwks.json",
        axum::routing::get(move || {
            let (h, d) = (h.clone(), d.clone());
            async move {
                h.fetch_add(1, Ordering::SeqCst);
                axum::Json(d.lock().unwrap().clone())
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });
    (url, hits, doc)
}

#[tokio::test]
async fn jwks_over_http_are_cached_and_fetched_again_for_a_new_kid() {
    let up = echo().await;
    let a = key(RSA_A);
    let b = key(RSA_B);
    let (jwks, hits, doc) = key_server(public_set(&[&a])).await;
    let px = start(
        json!([rule("api", "/api", &up, json!([{"handler": "jwt"}]), who())]),
        json!({"authenticators": {"jwt": {"enabled": true, "config": {"jwks_urls": [jwks]}}}}),
    )
    .await;
    let url = format!("{}/api", px.proxy);
    let claims = json!({"sub": "user-1", "exp": now() + 600});
    for _ in 0..3 {
        let r = get(&url, Some(&sign(&a, "test-rsa-a", claims.clone()))).await;
        assert_eq!(r.status(), 200);
    }
    assert_eq!(hits.load(Ordering::SeqCst), 1, "the key set is cached");

    let unknown: Vec<String> = (0..10)
        .map(|i| sign(&b, &format!("nope-{i}"), claims.clone()))
        .collect();

    // A rotated-in key: a token naming it makes the proxy fetch the set again.
    *doc.lock().unwrap() = public_set(&[&a, &b]);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = get(&url, Some(&sign(&b, "test-rsa-b", claims.clone()))).await;
    assert_eq!(r.status(), 200);
    assert_eq!(hits.load(Ordering::SeqCst), 2);

    // Unknown key ids cannot make it hammer the key server.
    for token in &unknown {
        let r = get(&url, Some(token)).await;
        assert_eq!(r.status(), 401);
    }
    assert!(
        hits.load(Ordering::SeqCst) <= 3,
        "at most one fetch a second: {}",
        hits.load(Ordering::SeqCst)
    );
}

#[tokio::test]
async fn id_token_is_signed_and_verifies_against_the_api_jwks() {
    let up = echo().await;
    let a = key(RSA_A);
    let keys = tempfile::tempdir().unwrap();
    let rsa_file = keys.path().join("rsa.json");
    std::fs::write(&rsa_file, RSA_A).unwrap();
    let es = credentials::generate("ES256", Some("test-es"), None).unwrap();
    let es_file = keys.path().join("es.json");
    std::fs::write(&es_file, es.to_string()).unwrap();
    let hs = credentials::generate("HS256", Some("test-hs"), None).unwrap();
    let hs_file = keys.path().join("hs.json");
    std::fs::write(&hs_file, hs.to_string()).unwrap();
    let claims = r#"{"aud": ["backend"], "email": "{{ print .Subject }}@example.org", "iss": "forged", "sub": "forged"}"#;
    let px = start(
        json!([
            rule("rsa", "/rsa", &up, json!([{"handler": "jwt"}]),
                json!([{"handler": "id_token", "config": {"claims": claims}}])),
            rule("es", "/es", &up, json!([{"handler": "anonymous"}]),
                json!([{"handler": "id_token", "config": {"jwks_url": format!("file://{}", es_file.display()), "ttl": "1m"}}])),
            rule("hs", "/hs", &up, json!([{"handler": "anonymous"}]),
                json!([{"handler": "id_token", "config": {"jwks_url": format!("file://{}", hs_file.display())}}])),
        ]),
        json!({
            "authenticators": {"jwt": {"enabled": true, "config": {"jwks_urls": [format!("file://{}", rsa_file.display())]}}},
            "mutators": {"id_token": {"enabled": true, "config": {
                "issuer_url": "https://proxy.example", "jwks_url": format!("file://{}", rsa_file.display())}}},
        }),
    )
    .await;

    // The public keys of the global and the rules' key sets; no private or symmetric parts.
    let set: Value = http()
        .get(format!("{}/.well-known/jwks.json", px.api))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let published = set["keys"].as_array().unwrap();
    let kids: Vec<&str> = published
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, ["test-rsa-a", "test-es"], "{set}");
    assert!(
        published
            .iter()
            .all(|k| k.get("d").is_none() && k.get("k").is_none())
    );

    let verify = |token: &str, aud: Option<&str>| -> Value {
        let header = jsonwebtoken::decode_header(token).unwrap();
        let kid = header.kid.clone().unwrap();
        let jwk = published.iter().find(|k| k["kid"] == kid.as_str()).unwrap();
        let mut v = jsonwebtoken::Validation::new(header.alg);
        v.leeway = 0;
        match aud {
            Some(a) => v.set_audience(&[a]),
            None => v.validate_aud = false,
        }
        v.set_issuer(&["https://proxy.example"]);
        jsonwebtoken::decode::<Value>(token, &credentials::verifying_key(jwk).unwrap(), &v)
            .unwrap()
            .claims
    };
    let bearer = |seen: &Value| -> String {
        seen["headers"]["authorization"]
            .as_str()
            .unwrap()
            .strip_prefix("Bearer ")
            .unwrap()
            .to_string()
    };

    // jwt in, id_token out: the template's claims and the forced ones.
    let incoming = sign(
        &a,
        "test-rsa-a",
        json!({"sub": "user-1", "exp": now() + 600}),
    );
    let r = get(&format!("{}/rsa", px.proxy), Some(&incoming)).await;
    assert_eq!(r.status(), 200);
    let token = bearer(&r.json().await.unwrap());
    assert_ne!(token, incoming);
    let c = verify(&token, Some("backend"));
    assert_eq!(c["sub"], "user-1");
    assert_eq!(c["iss"], "https://proxy.example");
    assert_eq!(c["email"], "user-1@example.org");
    assert_eq!(c["aud"], json!(["backend"]));
    let (iat, exp) = (c["iat"].as_i64().unwrap(), c["exp"].as_i64().unwrap());
    assert_eq!(exp - iat, 15 * 60, "default ttl");
    assert_eq!(c["nbf"], c["iat"]);
    assert!((iat - now()).abs() < 5);
    assert_eq!(c["jti"].as_str().unwrap().len(), 36);
    // The same session gets the same (cached) token.
    let r = get(&format!("{}/rsa", px.proxy), Some(&incoming)).await;
    assert_eq!(bearer(&r.json().await.unwrap()), token);

    // A rule's own key set (ES256) and ttl; the decisions API answers with the token too.
    let r = http()
        .get(format!("{}/decisions/es", px.api))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let token = r.headers()["authorization"]
        .to_str()
        .unwrap()
        .strip_prefix("Bearer ")
        .unwrap()
        .to_string();
    assert_eq!(
        jsonwebtoken::decode_header(&token).unwrap().alg,
        jsonwebtoken::Algorithm::ES256
    );
    let c = verify(&token, None);
    assert_eq!(c["sub"], "anonymous");
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 60);

    // HS256 signs too, but its key is never published.
    let r = get(&format!("{}/hs", px.proxy), None).await;
    assert_eq!(r.status(), 200);
    let token = bearer(&r.json().await.unwrap());
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::HS256);
    assert_eq!(header.kid.as_deref(), Some("test-hs"));
}

#[tokio::test]
async fn a_broken_id_token_config_is_a_500_naming_the_problem() {
    let up = echo().await;
    let px = start(
        json!([
            rule(
                "nojwks",
                "/nojwks",
                &up,
                json!([{"handler": "anonymous"}]),
                json!([{"handler": "id_token", "config": {"issuer_url": "https://x"}}])
            ),
            rule(
                "badclaims",
                "/badclaims",
                &up,
                json!([{"handler": "anonymous"}]),
                json!([{"handler": "id_token", "config": {"issuer_url": "https://x",
                    "jwks_url": "file:///nonexistent/jwks.json", "claims": "[1, 2]"}}])
            ),
            rule(
                "missingfile",
                "/missingfile",
                &up,
                json!([{"handler": "anonymous"}]),
                json!([{"handler": "id_token", "config": {"issuer_url": "https://x",
                    "jwks_url": "file:///nonexistent/jwks.json"}}])
            ),
        ]),
        json!({
            "mutators": {"id_token": {"enabled": true}},
            "errors": {"handlers": {"json": {"enabled": true, "config": {"verbose": true}}}},
        }),
    )
    .await;
    for (path, why) in [
        ("nojwks", "jwks_url is required"),
        ("badclaims", "JSON object"),
        ("missingfile", "valid JSON Web Key Set"),
    ] {
        let r = get(&format!("{}/{path}", px.proxy), None).await;
        assert_eq!(r.status(), 500, "{path}");
        let body: Value = r.json().await.unwrap();
        assert!(
            body["error"]["reason"].as_str().unwrap().contains(why),
            "{path}: {body}"
        );
    }
    // The key set endpoint names what it cannot read rather than hiding it.
    let r = http()
        .get(format!("{}/.well-known/jwks.json", px.api))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
}
