//! The pipeline and the forwarding through the real proxy: matching, handlers, error
//! handlers, the decisions API, rule reloads, and hostile or broken traffic.

use crate::harness::{echo, http, start, try_start};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn rule(id: &str, url: &str, upstream: &str, authn: &str, authz: &str, mutators: Value) -> Value {
    json!({
        "id": id,
        "upstream": {"url": upstream},
        "match": {"url": url, "methods": ["GET", "POST", "PUT"]},
        "authenticators": [{"handler": authn}],
        "authorizer": {"handler": authz},
        "mutators": mutators,
    })
}

#[tokio::test]
async fn anonymous_requests_are_forwarded_with_headers_and_bodies() {
    let up = echo().await;
    let px = start(
        json!([rule("open", "http://<[^/]+>/open/<.*>", &up, "anonymous", "allow",
            json!([{"handler": "header", "config": {"headers": {"X-User": "{{ print .Subject }}", "X-Id": "{{ printIndex .MatchContext.RegexpCaptureGroups 1 }}"}}}]))]),
        json!({}),
    )
    .await;
    let r = http()
        .post(format!("{}/open/items/7?x=1", px.proxy))
        .header("x-user", "spoofed")
        .header("x-forwarded-for", "6.6.6.6")
        .header("connection", "x-secret")
        .header("x-secret", "hop")
        .body("payload")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let seen: Value = r.json().await.unwrap();
    assert_eq!(seen["method"], "POST");
    assert_eq!(seen["uri"], "/open/items/7?x=1");
    assert_eq!(seen["body"], "payload");
    let h = &seen["headers"];
    assert_eq!(
        h["x-user"], "anonymous",
        "the mutator overwrites what the client sent"
    );
    assert_eq!(h["x-id"], "items/7");
    assert_eq!(
        h["x-forwarded-for"], "127.0.0.1",
        "untrusted X-Forwarded-For is replaced"
    );
    assert!(
        h.get("x-secret").is_none(),
        "headers named in Connection are hop-by-hop"
    );
    assert_eq!(h["x-forwarded-proto"], "http");
    assert!(h["host"].as_str().unwrap().starts_with("127.0.0.1:"), "{h}");
}

#[tokio::test]
async fn no_rule_is_404_and_two_rules_are_500() {
    let up = echo().await;
    let px = start(
        json!([
            rule(
                "a",
                "http://<[^/]+>/both/<.*>",
                &up,
                "noop",
                "allow",
                json!([{"handler": "noop"}])
            ),
            rule(
                "b",
                "http://<[^/]+>/<both|other>/<.*>",
                &up,
                "noop",
                "allow",
                json!([{"handler": "noop"}])
            ),
        ]),
        json!({"errors": {"handlers": {"json": {"enabled": true, "config": {"verbose": true}}}}}),
    )
    .await;
    let r = http()
        .get(format!("{}/nothing", px.proxy))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["error"]["message"],
        "Requested url does not match any rules"
    );
    let r = http()
        .get(format!("{}/both/x", px.proxy))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("multiple rules"),
        "{body}"
    );
    let r = http()
        .get(format!("{}/other/x", px.proxy))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn refusals_go_to_the_error_handlers_by_when() {
    let up = echo().await;
    let mut r1 = rule(
        "closed",
        "http://<[^/]+>/closed",
        &up,
        "unauthorized",
        "allow",
        json!([{"handler": "noop"}]),
    );
    r1["errors"] = json!([
        {"handler": "redirect", "config": {"to": "https://login.example.org/ui/login",
            "return_to_query_param": "return_to",
            "when": [{"error": ["unauthorized"], "request": {"header": {"accept": ["text/html"]}}}]}}
    ]);
    let px = start(
        json!([
            r1,
            rule(
                "denied",
                "http://<[^/]+>/denied",
                &up,
                "anonymous",
                "deny",
                json!([{"handler": "noop"}])
            )
        ]),
        json!({"errors": {"fallback": ["json"], "handlers": {
            "redirect": {"enabled": true, "config": {"to": "https://unused.example.org"}},
            "www_authenticate": {"enabled": true}
        }}}),
    )
    .await;
    let browser = http()
        .get(format!("{}/closed?a=b", px.proxy))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(browser.status(), 302);
    let to = browser.headers()["location"].to_str().unwrap().to_string();
    assert!(
        to.starts_with("https://login.example.org/ui/login?return_to=http%3A%2F%2F127.0.0.1"),
        "{to}"
    );
    assert!(to.ends_with("%2Fclosed%3Fa%3Db"), "{to}");

    let api = http()
        .get(format!("{}/closed", px.proxy))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 401);
    assert_eq!(
        api.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    let body: Value = api.json().await.unwrap();
    assert_eq!(body["error"]["code"], 401);
    assert_eq!(
        body["error"]["message"],
        "The request could not be authorized"
    );

    let denied = http()
        .get(format!("{}/denied", px.proxy))
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 403);
}

#[tokio::test]
async fn the_decisions_api_answers_with_the_mutated_headers() {
    let px = start(
        json!([{
            "id": "decide", "match": {"url": "https://app.example.org/api/<.*>", "methods": ["GET"]},
            "authenticators": [{"handler": "anonymous", "config": {"subject": "guest"}}],
            "authorizer": {"handler": "allow"},
            "mutators": [{"handler": "header", "config": {"headers": {"X-User": "{{ print .Subject }}", "X-Path": "{{ .MatchContext.URL.Path }}"}}}]
        }]),
        json!({}),
    )
    .await;
    let r = http()
        .get(format!("{}/decisions", px.api))
        .header("x-forwarded-method", "GET")
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "app.example.org")
        .header("x-forwarded-uri", "/api/things?page=2")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-user"], "guest");
    assert_eq!(r.headers()["x-path"], "/api/things");
    let r = http()
        .get(format!("{}/decisions/api/things", px.api))
        .header("host", "app.example.org")
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "the path after /decisions is the request's"
    );
    let r = http()
        .post(format!("{}/decisions/api/things", px.api))
        .header("x-forwarded-host", "app.example.org")
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "POST is not among the rule's methods");

    let rules: Value = http()
        .get(format!("{}/rules", px.api))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rules[0]["id"], "decide");
    let one = http()
        .get(format!("{}/rules/decide", px.api))
        .send()
        .await
        .unwrap();
    assert_eq!(one.status(), 200);
    let none = http()
        .get(format!("{}/rules/nope", px.api))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 404);
    let ready = http()
        .get(format!("{}/health/ready", px.api))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
}

#[tokio::test]
async fn header_values_with_line_breaks_or_non_ascii_never_leave() {
    let up = echo().await;
    let px = start(
        json!([
            rule("crlf", "http://<[^/]+>/crlf", &up, "anonymous", "allow",
                json!([{"handler": "header", "config": {"headers": {"X-Evil": "a\r\nX-Injected: 1"}}}])),
            rule("utf", "http://<[^/]+>/utf", &up, "anonymous", "allow",
                json!([{"handler": "header", "config": {"headers": {"X-Name": "Zoë"}}}])),
        ]),
        json!({}),
    )
    .await;
    for path in ["crlf", "utf"] {
        let r = http()
            .get(format!("{}/{path}", px.proxy))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 500, "{path}");
    }
}

#[tokio::test]
async fn a_down_or_hanging_upstream_gives_502_or_504() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        format!("http://127.0.0.1:{port}")
    };
    let hang = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hang_url = format!("http://{}", hang.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = hang.accept().await {
            held.push(s);
        }
    });
    let px = start(
        json!([
            rule(
                "down",
                "http://<[^/]+>/down",
                &closed,
                "noop",
                "allow",
                json!([{"handler": "noop"}])
            ),
            rule(
                "hang",
                "http://<[^/]+>/hang",
                &hang_url,
                "noop",
                "allow",
                json!([{"handler": "noop"}])
            ),
        ]),
        json!({"serve": {"proxy": {"timeout": {"write": "500ms"}}}}),
    )
    .await;
    let r = http()
        .get(format!("{}/down", px.proxy))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], 502);
    let r = http()
        .get(format!("{}/hang", px.proxy))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 504);
    let r = http()
        .get(format!("{}/down", px.proxy))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502, "the proxy is still up");
}

#[tokio::test]
async fn conflicting_content_length_and_transfer_encoding_cannot_smuggle() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let up = echo().await;
    let px = start(
        json!([rule(
            "open",
            "http://<[^/]+>/<.*>",
            &up,
            "noop",
            "allow",
            json!([{"handler": "noop"}])
        )]),
        json!({}),
    )
    .await;
    let addr = px.proxy.trim_start_matches("http://").to_string();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    s.write_all(
        b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n",
    )
    .await
    .unwrap();
    // hyper frames the body by Transfer-Encoding, drops the Content-Length, answers the
    // one request and closes the connection: the smuggled request is never read.
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&answer).to_string();
    assert_eq!(answer.matches("HTTP/1.1 ").count(), 1, "{answer}");
    assert!(answer.contains("connection: close"), "{answer}");
    let body = &answer[answer.find("\r\n\r\n").unwrap() + 4..];
    let seen: Value = serde_json::from_str(body).unwrap();
    assert_eq!(seen["uri"], "/x");
    assert_eq!(
        seen["body"], "",
        "the upstream got the chunked body, not the smuggled bytes"
    );
    assert!(
        seen["headers"]
            .get("content-length")
            .is_none_or(|v| v == "0"),
        "{seen}"
    );
}

#[tokio::test]
async fn a_changed_rule_file_is_picked_up_and_a_broken_one_ignored() {
    let up = echo().await;
    let px = start(
        json!([rule(
            "v1",
            "http://<[^/]+>/v1",
            &up,
            "noop",
            "allow",
            json!([{"handler": "noop"}])
        )]),
        json!({}),
    )
    .await;
    let _watch = px.px.watch_rules(Duration::from_millis(50));
    let wait_for = |path: &'static str, status: u16| {
        let base = px.proxy.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let got = http()
                    .get(format!("{base}{path}"))
                    .send()
                    .await
                    .unwrap()
                    .status();
                if got == status {
                    return;
                }
                assert!(
                    Instant::now() < deadline,
                    "{path} stayed {got}, wanted {status}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    wait_for("/v1", 200).await;
    std::fs::write(
        px.rules_file(),
        serde_json::to_vec(&json!([rule(
            "v2",
            "http://<[^/]+>/v2",
            &up,
            "noop",
            "allow",
            json!([{"handler": "noop"}])
        )]))
        .unwrap(),
    )
    .unwrap();
    wait_for("/v2", 200).await;
    wait_for("/v1", 404).await;
    std::fs::write(px.rules_file(), b"[{\"id\": \"broken\", \"match\": ").unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    wait_for("/v2", 200).await;
    // Well-formed, but naming a handler the config does not enable: rejected as at start-up.
    let write = |id: &str, path: &str, authn: &str| {
        std::fs::write(
            px.rules_file(),
            serde_json::to_vec(&json!([rule(
                id,
                &format!("http://<[^/]+>{path}"),
                &up,
                authn,
                "allow",
                json!([{"handler": "noop"}])
            )]))
            .unwrap(),
        )
        .unwrap();
    };
    write("v3", "/v3", "cookie_session");
    tokio::time::sleep(Duration::from_millis(400)).await;
    wait_for("/v2", 200).await;
    wait_for("/v3", 404).await;
    write("v4", "/v4", "noop");
    wait_for("/v4", 200).await;
}

#[tokio::test]
async fn malformed_rules_and_disabled_handlers_stop_start_up_with_names() {
    let bad_field = try_start(json!([{"id": "typo", "match": {"url": "http://a/", "methods": ["GET"]}, "authenticatorz": []}]), json!({}))
        .await
        .err()
        .unwrap();
    assert!(
        bad_field.contains("rules.json") && bad_field.contains("authenticatorz"),
        "{bad_field}"
    );
    let disabled = try_start(
        json!([rule(
            "off",
            "http://a/<.*>",
            "http://127.0.0.1:1",
            "cookie_session",
            "allow",
            json!([{"handler": "noop"}])
        )]),
        json!({}),
    )
    .await
    .err()
    .unwrap();
    assert!(
        disabled.contains("\"off\"") && disabled.contains("authenticators[0].handler"),
        "{disabled}"
    );
}

#[tokio::test]
async fn websocket_upgrades_are_bridged_both_ways() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // An upstream that switches protocols and then echoes bytes in upper case.
    let up = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let up_url = format!("http://{}", up.local_addr().unwrap());
    tokio::spawn(async move {
        let (mut s, _) = up.accept().await.unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            s.read_exact(&mut byte).await.unwrap();
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
        assert!(head.contains("upgrade: websocket"), "{head}");
        assert!(head.contains("x-user: anonymous"), "{head}");
        s.write_all(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 64];
        loop {
            let n = s.read(&mut buf).await.unwrap();
            if n == 0 {
                return;
            }
            s.write_all(&buf[..n].to_ascii_uppercase()).await.unwrap();
        }
    });
    let px = start(
        json!([rule("ws", "http://<[^/]+>/socket", &up_url, "anonymous", "allow",
            json!([{"handler": "header", "config": {"headers": {"X-User": "{{ print .Subject }}"}}}]))]),
        json!({}),
    )
    .await;
    let addr = px.proxy.trim_start_matches("http://").to_string();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"GET /socket HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
        .await
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_string();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    for word in ["ping", "hello"] {
        s.write_all(word.as_bytes()).await.unwrap();
        let mut got = vec![0u8; word.len()];
        tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut got))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, word.to_ascii_uppercase().as_bytes());
    }
}

#[tokio::test]
async fn preserve_host_and_strip_path_shape_the_upstream_request() {
    let up = echo().await;
    let mut keep = rule(
        "keep",
        "http://<[^/]+>/api/<.*>",
        &format!("{up}/base/"),
        "noop",
        "allow",
        json!([{"handler": "noop"}]),
    );
    keep["upstream"]["preserve_host"] = json!(true);
    keep["upstream"]["strip_path"] = json!("/api");
    let px = start(json!([keep]), json!({})).await;
    let r = http()
        .get(format!("{}/api/users/7/?q=1", px.proxy))
        .header("host", "public.example.org")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let seen: Value = r.json().await.unwrap();
    assert_eq!(
        seen["uri"], "/base/users/7/?q=1",
        "joined, stripped, trailing slash and query kept"
    );
    assert_eq!(seen["headers"]["host"], "public.example.org");
    assert_eq!(seen["headers"]["x-forwarded-host"], "public.example.org");
}

#[tokio::test]
async fn oversized_headers_are_refused_before_the_pipeline() {
    let up = echo().await;
    let px = start(
        json!([rule(
            "open",
            "http://<[^/]+>/<.*>",
            &up,
            "noop",
            "allow",
            json!([{"handler": "noop"}])
        )]),
        json!({}),
    )
    .await;
    let mut req = http().get(format!("{}/x", px.proxy));
    for i in 0..150 {
        req = req.header(format!("x-filler-{i}"), "y");
    }
    let status = req.send().await.map(|r| r.status().as_u16()).unwrap_or(0);
    assert!(status == 431 || status == 0, "too many headers: {status}");
    let huge = "a".repeat(512 * 1024);
    let status = http()
        .get(format!("{}/x", px.proxy))
        .header("x-huge", huge)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0);
    assert!(status == 431 || status == 0, "a huge header: {status}");
    let r = http().get(format!("{}/x", px.proxy)).send().await.unwrap();
    assert_eq!(r.status(), 200, "the proxy is still up");
}

#[tokio::test]
async fn a_session_store_that_is_down_gets_the_rules_error_handler() {
    let up = echo().await;
    let mut r = rule(
        "app",
        "http://<[^/]+>/app",
        &up,
        "cookie_session",
        "allow",
        json!([{"handler": "noop"}]),
    );
    r["errors"] = json!([{"handler": "redirect", "config": {"to": "https://login.example.org/"}}]);
    let px = start(
        json!([r]),
        json!({
            "authenticators": {"cookie_session": {"enabled": true, "config": {
                "check_session_url": "http://127.0.0.1:1/sessions/whoami", "preserve_path": true}}},
            "errors": {"handlers": {"redirect": {"enabled": true, "config": {"to": "https://unused.example.org/"}}}}
        }),
    )
    .await;
    for _ in 0..2 {
        let res = http()
            .get(format!("{}/app", px.proxy))
            .header("cookie", "ory_kratos_session=abc")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 302);
        assert_eq!(res.headers()["location"], "https://login.example.org/");
    }
}

#[tokio::test]
async fn cors_preflights_on_the_api_port_are_answered_for_allowed_origins() {
    let px = start(
        json!([rule("any", "http://<[^/]+>/<.*>", "http://127.0.0.1:1", "anonymous", "allow", json!([{"handler": "noop"}]))]),
        json!({"serve": {"api": {"cors": {"enabled": true, "allowed_origins": ["https://app.example.org", "https://*.tenant.example"],
            "allowed_methods": ["GET"], "allowed_headers": ["Authorization"], "allow_credentials": true}}}}),
    )
    .await;
    let pre = |origin: &'static str| {
        http()
            .request(reqwest::Method::OPTIONS, format!("{}/decisions/x", px.api))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .send()
    };
    let ok = pre("https://app.example.org").await.unwrap();
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://app.example.org"
    );
    assert_eq!(ok.headers()["access-control-allow-credentials"], "true");
    let other = pre("https://evil.example.org").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
    // One `*` in an origin is a wildcard, as in Oathkeeper (rs/cors).
    let tenant = pre("https://a.tenant.example").await.unwrap();
    assert_eq!(
        tenant.headers()["access-control-allow-origin"],
        "https://a.tenant.example"
    );
    assert!(
        pre("https://tenant.example.evil")
            .await
            .unwrap()
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    let bad = try_start(
        json!([]),
        json!({"serve": {"api": {"cors": {"enabled": true, "allowed_origins": ["app.example.org"]}}}}),
    )
    .await
    .err()
    .unwrap();
    assert!(bad.contains("serve.api.cors.allowed_origins[0]"), "{bad}");

    let tls = try_start(
        json!([]),
        json!({"serve": {"proxy": {"tls": {"cert": {"path": "/x"}}}}}),
    )
    .await
    .err()
    .unwrap();
    assert!(tls.contains("serve.proxy.tls"), "{tls}");
}

#[tokio::test]
async fn cors_on_the_proxy_port_answers_preflights_and_marks_proxied_answers() {
    let upstream = echo().await;
    let px = start(
        json!([rule("any", "http://<[^/]+>/<.*>", &upstream, "anonymous", "allow", json!([{"handler": "noop"}]))]),
        json!({"serve": {"proxy": {"cors": {"enabled": true, "allowed_origins": ["https://app.example.org"],
            "allowed_methods": ["GET", "PUT"]}}}}),
    )
    .await;
    let pre = http()
        .request(reqwest::Method::OPTIONS, format!("{}/items", px.proxy))
        .header("origin", "https://app.example.org")
        .header("access-control-request-method", "PUT")
        .send()
        .await
        .unwrap();
    assert_eq!(pre.status(), 200);
    assert_eq!(
        pre.headers()["access-control-allow-origin"],
        "https://app.example.org"
    );
    assert!(
        pre.text().await.unwrap().is_empty(),
        "a preflight has no body"
    );
    let res = http()
        .get(format!("{}/items?x=1", px.proxy))
        .header("origin", "https://app.example.org")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://app.example.org"
    );
    let seen: Value = res.json().await.unwrap();
    assert_eq!(seen["uri"], "/items?x=1", "{seen}");
}
