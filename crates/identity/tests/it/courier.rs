//! The courier end to end: messages queued through `Courier::send_email`, delivered by the
//! worker to a real SMTP server on loopback (cleartext, STARTTLS, implicit TLS) or to an
//! HTTP receiver, with retries, restarts and concurrent workers; templates overridden from
//! config; the admin API and the dev mailbox.

use crate::smtp::{Behaviour, SmtpSink, closed_port};
use crate::{TestApp, backends};
use base64::Engine;
use gatehouse_identity::courier::TemplateType;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Quick polling and retries, so failures surface in milliseconds.
fn courier(smtp_uri: &str, extra: Value) -> Value {
    let mut c = json!({"courier": {
        "message_retries": 2,
        "worker": {"pull_wait": "50ms", "retry_base_delay": "100ms", "retry_max_delay": "1s"},
        "smtp": {"connection_uri": smtp_uri}
    }});
    gatehouse_core::config::merge(&mut c, extra);
    c
}

fn plain_uri(sink: &SmtpSink) -> String {
    format!("smtp://127.0.0.1:{}/?disable_starttls=true", sink.port)
}

async fn get_json(app: &TestApp, path: &str) -> (u16, Value) {
    let res = app.http.get(app.admin_url(path)).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Polls the admin API until the message has `status`, or panics after `within`.
async fn wait_status(app: &TestApp, id: uuid::Uuid, status: &str, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let (code, m) = get_json(app, &format!("admin/courier/messages/{id}")).await;
        assert_eq!(code, 200, "{m}");
        if m["status"] == status {
            return m;
        }
        assert!(
            Instant::now() < deadline,
            "message {id} did not become {status} within {within:?}: {m}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn send_code(app: &TestApp, template: TemplateType, to: &str, code: &str) -> uuid::Uuid {
    let data = match template {
        TemplateType::VerificationCodeValid => json!({
            "VerificationCode": code,
            "VerificationURL": format!("{}self-service/verification?code={code}", app.public),
            "ExpiresInMinutes": 15
        }),
        TemplateType::RecoveryCodeValid => json!({"RecoveryCode": code, "ExpiresInMinutes": 15}),
        TemplateType::LoginCodeValid => json!({"LoginCode": code, "ExpiresInMinutes": 15}),
        _ => json!({}),
    };
    app.svc
        .courier
        .send_email(template, to, data)
        .await
        .expect("queued")
}

fn dispatch_statuses(m: &Value) -> Vec<String> {
    m["dispatches"]
        .as_array()
        .map(|d| {
            d.iter()
                .map(|d| d["status"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn smtp_delivers_multipart_with_sender_name_headers_and_auth() {
    for b in backends() {
        let sink = SmtpSink::plain().await;
        let uri = format!(
            "smtp://mailer%40example.org:p%2Fss%20word@127.0.0.1:{}/?disable_starttls=true",
            sink.port
        );
        let app = TestApp::start(
            &b,
            courier(
                &uri,
                json!({"courier": {"smtp": {
                    "from_address": "no-reply@example.org",
                    "from_name": "Gate House",
                    "local_name": "mx.gatehouse.test",
                    "headers": {"X-SES-SOURCE-ARN": "arn:aws:ses:test", "X-Test": "yes"}
                }}}),
            ),
        )
        .await;
        let id = send_code(
            &app,
            TemplateType::VerificationCodeValid,
            "Ann@Example.org",
            "482913",
        )
        .await;
        let got = sink.wait_for(1, Duration::from_secs(10)).await;
        let m = &got[0];
        assert_eq!(m.helo, "mx.gatehouse.test");
        assert_eq!(m.mail_from, "<no-reply@example.org>");
        assert_eq!(m.rcpt_to, vec!["<Ann@Example.org>".to_string()]);
        assert_eq!(
            m.auth,
            Some(("mailer@example.org".into(), "p/ss word".into())),
            "user and password are percent-decoded"
        );
        assert!(!m.tls);
        let from = m.header("From").unwrap();
        assert!(
            from.contains("Gate House") && from.contains("<no-reply@example.org>"),
            "{from}"
        );
        assert!(m.header("Subject").unwrap().contains("482913"));
        assert_eq!(m.header("X-Test").as_deref(), Some("yes"));
        assert_eq!(
            m.header("X-SES-SOURCE-ARN").as_deref(),
            Some("arn:aws:ses:test")
        );
        assert!(
            m.header("Content-Type")
                .unwrap()
                .starts_with("multipart/alternative")
        );
        assert!(m.data.contains("text/plain"), "{}", m.data);
        assert!(m.data.contains("text/html"), "{}", m.data);
        assert!(
            m.data.matches("482913").count() >= 2,
            "code in both bodies: {}",
            m.data
        );

        let sent = wait_status(&app, id, "sent", Duration::from_secs(5)).await;
        assert_eq!(sent["type"], "email");
        assert_eq!(sent["channel"], "email");
        assert_eq!(sent["recipient"], "Ann@Example.org");
        assert_eq!(sent["template_type"], "verification_code_valid");
        assert_eq!(sent["send_count"], 1);
        assert!(sent["body"].as_str().unwrap().contains("482913"));
        assert!(
            !sent["body"].as_str().unwrap().contains("<html"),
            "body is the plaintext"
        );
        assert_eq!(dispatch_statuses(&sent), vec!["success"]);
        assert_eq!(sink.received().len(), 1);
    }
}

#[tokio::test]
async fn smtp_down_is_retried_with_backoff_then_abandoned() {
    for b in backends() {
        let port = closed_port().await;
        let app = TestApp::start(
            &b,
            courier(
                &format!("smtp://127.0.0.1:{port}/?disable_starttls=true"),
                json!({}),
            ),
        )
        .await;
        let id = send_code(
            &app,
            TemplateType::RecoveryCodeValid,
            "bo@example.org",
            "111222",
        )
        .await;
        let m = wait_status(&app, id, "abandoned", Duration::from_secs(20)).await;
        // message_retries: 2 means the first attempt and two retries.
        assert_eq!(m["send_count"], 3, "{m}");
        let dispatches = m["dispatches"].as_array().unwrap();
        assert_eq!(dispatch_statuses(&m), vec!["failed"; 3]);
        for d in dispatches {
            let reason = d["error"]["reason"].as_str().unwrap();
            assert!(reason.contains(&format!("127.0.0.1:{port}")), "{reason}");
        }
        // Newest first; each retry waited at least its backoff (100ms, then 200ms).
        let at = |i: usize| {
            time::OffsetDateTime::parse(
                dispatches[i]["created_at"].as_str().unwrap(),
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap()
        };
        assert!(at(1) - at(2) >= time::Duration::milliseconds(100), "{m}");
        assert!(at(0) - at(1) >= time::Duration::milliseconds(200), "{m}");
        // Abandoned stays abandoned.
        let (_, list) = get_json(&app, "admin/courier/messages?status=abandoned").await;
        assert_eq!(list.as_array().unwrap().len(), 1);
    }
}

#[tokio::test]
async fn dropped_connection_and_4xx_are_retried_and_delivered_once() {
    for b in backends() {
        let sink = SmtpSink::plain().await;
        sink.drop_next_data(1);
        let app = TestApp::start(
            &b,
            courier(
                &plain_uri(&sink),
                json!({"courier": {"message_retries": 10}}),
            ),
        )
        .await;
        let id = send_code(
            &app,
            TemplateType::LoginCodeValid,
            "cy@example.org",
            "909090",
        )
        .await;
        let m = wait_status(&app, id, "sent", Duration::from_secs(10)).await;
        assert_eq!(m["send_count"], 2);
        assert_eq!(dispatch_statuses(&m), vec!["success", "failed"]);
        assert_eq!(
            sink.data_started.load(std::sync::atomic::Ordering::SeqCst),
            2
        );
        assert_eq!(sink.received().len(), 1, "delivered exactly once");

        sink.set(Behaviour::TemporaryFailure);
        let id = send_code(
            &app,
            TemplateType::LoginCodeValid,
            "cy@example.org",
            "313131",
        )
        .await;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (_, m) = get_json(&app, &format!("admin/courier/messages/{id}")).await;
            if let Some(d) = m["dispatches"].as_array().and_then(|d| d.last()) {
                assert_eq!(d["status"], "failed", "{m}");
                let reason = d["error"]["reason"].as_str().unwrap().to_string();
                assert!(reason.contains("451"), "{reason}");
                break;
            }
            assert!(Instant::now() < deadline, "no failed attempt recorded: {m}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        sink.set(Behaviour::Accept);
        wait_status(&app, id, "sent", Duration::from_secs(10)).await;
        assert_eq!(sink.received().len(), 2);
    }
}

#[tokio::test]
async fn a_queued_message_is_delivered_after_a_restart() {
    for b in backends() {
        let port = closed_port().await;
        let mut first = TestApp::start(
            &b,
            courier(
                &format!("smtp://127.0.0.1:{port}/?disable_starttls=true"),
                json!({"courier": {"message_retries": 10}}),
            ),
        )
        .await;
        let id = send_code(
            &first,
            TemplateType::VerificationCodeValid,
            "di@example.org",
            "777000",
        )
        .await;
        // The first process fails at least once, then goes away.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (_, m) = get_json(&first, &format!("admin/courier/messages/{id}")).await;
            if m["send_count"].as_u64().unwrap_or(0) >= 1 {
                break;
            }
            assert!(Instant::now() < deadline, "no attempt: {m}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        first.stop_courier().await;
        let (_, m) = get_json(&first, &format!("admin/courier/messages/{id}")).await;
        assert_eq!(m["status"], "queued", "{m}");

        let sink = SmtpSink::plain().await;
        let second = first
            .sibling(courier(
                &plain_uri(&sink),
                json!({"courier": {"message_retries": 10}}),
            ))
            .await;
        let got = sink.wait_for(1, Duration::from_secs(10)).await;
        assert!(got[0].header("Subject").unwrap().contains("777000"));
        let m = wait_status(&second, id, "sent", Duration::from_secs(5)).await;
        assert_eq!(dispatch_statuses(&m)[0], "success");
    }
}

#[tokio::test]
async fn two_workers_never_send_a_message_twice() {
    for b in backends() {
        let sink = SmtpSink::plain().await;
        let mut a = TestApp::start(
            &b,
            courier(
                &plain_uri(&sink),
                json!({"courier": {"worker": {"pull_count": 3}}}),
            ),
        )
        .await;
        let mut c = a
            .sibling(courier(
                &plain_uri(&sink),
                json!({"courier": {"worker": {"pull_count": 3}}}),
            ))
            .await;
        // Queue everything first, then let both workers race for it.
        a.stop_courier().await;
        c.stop_courier().await;
        let mut ids = Vec::new();
        for i in 0..24 {
            ids.push(
                send_code(
                    &a,
                    TemplateType::LoginCodeValid,
                    "ed@example.org",
                    &format!("{i:06}"),
                )
                .await,
            );
        }
        a.courier = Some(a.svc.courier.spawn_worker());
        c.courier = Some(c.svc.courier.spawn_worker());
        let got = sink.wait_for(24, Duration::from_secs(20)).await;
        for id in &ids {
            wait_status(&a, *id, "sent", Duration::from_secs(10)).await;
        }
        let mut subjects: Vec<String> = sink
            .received()
            .iter()
            .map(|m| m.header("Subject").unwrap())
            .collect();
        subjects.sort();
        subjects.dedup();
        assert_eq!(got.len(), 24);
        assert_eq!(subjects.len(), 24, "every message exactly once");
        assert_eq!(sink.received().len(), 24);
    }
}

#[tokio::test]
async fn smtps_with_skip_ssl_verify_and_certificate_checks() {
    for b in backends() {
        let sink = SmtpSink::implicit_tls().await;
        let app = TestApp::start(
            &b,
            courier(
                &format!("smtps://u:p@localhost:{}/?skip_ssl_verify=true", sink.port),
                json!({}),
            ),
        )
        .await;
        let id = send_code(
            &app,
            TemplateType::RecoveryCodeValid,
            "fi@example.org",
            "246810",
        )
        .await;
        let got = sink.wait_for(1, Duration::from_secs(10)).await;
        assert!(got[0].tls);
        assert_eq!(got[0].auth, Some(("u".into(), "p".into())));
        wait_status(&app, id, "sent", Duration::from_secs(5)).await;

        // Without skip_ssl_verify a self-signed certificate is refused.
        let strict = TestApp::start(
            &b,
            courier(
                &format!("smtps://localhost:{}/", sink.port),
                json!({"courier": {"message_retries": 0}}),
            ),
        )
        .await;
        let id = send_code(
            &strict,
            TemplateType::RecoveryCodeValid,
            "fi@example.org",
            "135791",
        )
        .await;
        let m = wait_status(&strict, id, "abandoned", Duration::from_secs(10)).await;
        let reason = m["dispatches"][0]["error"]["reason"].as_str().unwrap();
        assert!(reason.to_lowercase().contains("certificate"), "{reason}");
        assert_eq!(sink.received().len(), 1);
    }
}

#[tokio::test]
async fn starttls_is_required_on_smtp_unless_disabled() {
    for b in backends() {
        let sink = SmtpSink::starttls().await;
        let app = TestApp::start(
            &b,
            courier(
                &format!("smtp://localhost:{}/?skip_ssl_verify=true", sink.port),
                json!({}),
            ),
        )
        .await;
        let id = send_code(
            &app,
            TemplateType::VerificationCodeValid,
            "gu@example.org",
            "864200",
        )
        .await;
        let got = sink.wait_for(1, Duration::from_secs(10)).await;
        assert!(got[0].tls, "the message went over STARTTLS");
        wait_status(&app, id, "sent", Duration::from_secs(5)).await;

        // A server that does not offer STARTTLS gets nothing over smtp:// ...
        let cleartext = SmtpSink::plain().await;
        let strict = TestApp::start(
            &b,
            courier(
                &format!("smtp://localhost:{}/", cleartext.port),
                json!({"courier": {"message_retries": 0}}),
            ),
        )
        .await;
        let id = send_code(
            &strict,
            TemplateType::VerificationCodeValid,
            "gu@example.org",
            "112358",
        )
        .await;
        wait_status(&strict, id, "abandoned", Duration::from_secs(10)).await;
        assert!(cleartext.received().is_empty());
    }
}

/// An HTTP receiver: records each request, answers 503 to the first `fail_first`.
async fn receiver(fail_first: usize) -> (String, Arc<Mutex<Vec<(axum::http::HeaderMap, Value)>>>) {
    use axum::routing::post;
    let seen: Arc<Mutex<Vec<(axum::http::HeaderMap, Value)>>> = Arc::default();
    let s = seen.clone();
    let app = axum::Router::new().route(
        "/mail",
        post(
            move |headers: axum::http::HeaderMap, body: axum::Json<Value>| {
                let s = s.clone();
                async move {
                    let mut v = s.lock().unwrap();
                    v.push((headers, body.0));
                    if v.len() <= fail_first {
                        axum::http::StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        axum::http::StatusCode::OK
                    }
                }
            },
        ),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mail", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });
    (url, seen)
}

#[tokio::test]
async fn http_delivery_posts_json_with_api_key() {
    for b in backends() {
        let (url, seen) = receiver(1).await;
        let app = TestApp::start(
            &b,
            json!({"courier": {
                "delivery_strategy": "http",
                "message_retries": 2,
                "worker": {"pull_wait": "50ms", "retry_base_delay": "50ms"},
                "http": {"request_config": {
                    "url": url,
                    "method": "POST",
                    "headers": {"X-Tenant": "t1"},
                    "auth": {"type": "api_key", "config": {"name": "Authorization", "value": "Bearer k3y", "in": "header"}}
                }}
            }}),
        )
        .await;
        let id = send_code(
            &app,
            TemplateType::LoginCodeValid,
            "ha@example.org",
            "550055",
        )
        .await;
        let m = wait_status(&app, id, "sent", Duration::from_secs(10)).await;
        assert_eq!(dispatch_statuses(&m), vec!["success", "failed"]);
        let reason = m["dispatches"][1]["error"]["reason"].as_str().unwrap();
        assert!(reason.contains("503"), "{reason}");
        let requests = seen.lock().unwrap().clone();
        assert_eq!(requests.len(), 2);
        let (headers, body) = &requests[1];
        assert_eq!(headers["authorization"], "Bearer k3y");
        assert_eq!(headers["x-tenant"], "t1");
        assert_eq!(body["recipient"], "ha@example.org");
        assert_eq!(body["template_type"], "login_code_valid");
        assert_eq!(body["template_data"]["login_code"], "550055");
        assert_eq!(body["template_data"]["to"], "ha@example.org");
        assert_eq!(body["template_data"]["expires_in_minutes"], 15);
        assert_eq!(body["to"], "ha@example.org");
        assert!(body["subject"].as_str().unwrap().contains("550055"));
        assert!(body["body"].as_str().unwrap().contains("550055"));
        assert!(body["html_body"].as_str().unwrap().contains("<html"));
    }
}

fn b64(s: &str) -> String {
    format!(
        "base64://{}",
        base64::engine::general_purpose::STANDARD.encode(s)
    )
}

#[tokio::test]
async fn templates_are_overridden_from_base64_file_and_override_path() {
    for b in backends() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("login.plaintext.gotmpl");
        std::fs::write(&plain, "Plain: {{ .LoginCode }} for {{ .To }}").unwrap();
        let root = dir.path().join("courier-templates");
        std::fs::create_dir_all(root.join("login_code/valid")).unwrap();
        std::fs::write(
            root.join("login_code/valid/email.body.gotmpl"),
            "<p>Html: {{ .LoginCode }} {{ .TransientPayload.greeting }}</p>",
        )
        .unwrap();
        std::fs::create_dir_all(root.join("recovery_code/valid")).unwrap();
        std::fs::write(
            root.join("recovery_code/valid/email.subject.gotmpl"),
            "Recover with {{ .RecoveryCode }}",
        )
        .unwrap();
        let app = TestApp::start(
            &b,
            json!({"courier": {
                "template_override_path": root.display().to_string(),
                "templates": {"login_code": {"valid": {"email": {
                    "subject": b64("  Your code is {{ .LoginCode }}\n"),
                    "body": {"plaintext": format!("file://{}", plain.display())}
                }}}}
            }}),
        )
        .await;
        let id = app
            .svc
            .courier
            .send_email(
                TemplateType::LoginCodeValid,
                "io@example.org",
                json!({"LoginCode": "424242", "TransientPayload": {"greeting": "<hi>"}}),
            )
            .await
            .unwrap();
        let m = app
            .svc
            .store
            .get_courier_message(id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(m.subject, "Your code is 424242", "subjects are trimmed");
        assert_eq!(m.body_plaintext, "Plain: 424242 for io@example.org");
        assert_eq!(
            m.body_html, "<p>Html: 424242 &lt;hi&gt;</p>",
            "the HTML body escapes"
        );
        // Parts without an override keep the built-in text.
        let id = send_code(
            &app,
            TemplateType::RecoveryCodeValid,
            "io@example.org",
            "989898",
        )
        .await;
        let m = app
            .svc
            .store
            .get_courier_message(id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(m.subject, "Recover with 989898");
        assert!(m.body_plaintext.contains("989898"));
        assert!(m.body_html.contains("989898"));
    }
}

#[tokio::test]
async fn a_broken_template_stops_start_up_with_its_key_and_position() {
    let b = &backends()[0];
    let err = TestApp::try_start(
        b,
        json!({"courier": {"templates": {"recovery_code": {"valid": {"email": {
            "subject": b64("Hello\n{{ .RecoveryCode ")
        }}}}}}),
        true,
    )
    .await
    .err()
    .expect("start-up fails");
    assert!(
        err.contains("courier.templates.recovery_code.valid.email.subject"),
        "{err}"
    );
    assert!(err.contains("line 2"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("verification_code/valid")).unwrap();
    std::fs::write(
        dir.path()
            .join("verification_code/valid/email.body.plaintext.gotmpl"),
        "{{ if .VerificationCode }}unterminated",
    )
    .unwrap();
    let err = TestApp::try_start(
        b,
        json!({"courier": {"template_override_path": dir.path().display().to_string()}}),
        true,
    )
    .await
    .err()
    .expect("start-up fails");
    assert!(err.contains("courier.template_override_path"), "{err}");
    assert!(err.contains("email.body.plaintext.gotmpl"), "{err}");
}

#[tokio::test]
async fn a_template_that_fails_to_render_abandons_the_message_with_the_reason() {
    for b in backends() {
        let app = TestApp::start(
            &b,
            json!({"courier": {"templates": {"login_code": {"valid": {"email": {
                "body": {"plaintext": b64("Code: {{ .LoginCode.digits }}")}
            }}}}}}),
        )
        .await;
        let id = app
            .svc
            .courier
            .send_email(
                TemplateType::LoginCodeValid,
                "jo@example.org",
                json!({"LoginCode": "123456"}),
            )
            .await
            .expect("the flow goes on");
        let (code, m) = get_json(&app, &format!("admin/courier/messages/{id}")).await;
        assert_eq!(code, 200);
        assert_eq!(m["status"], "abandoned", "{m}");
        assert_eq!(m["send_count"], 0);
        let reason = m["dispatches"][0]["error"]["reason"].as_str().unwrap();
        assert!(reason.contains("plaintext body"), "{reason}");
        let stored = app
            .svc
            .store
            .get_courier_message(id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.last_error.as_deref(), Some(reason));
        // Not an address at all is refused outright.
        let bad = app
            .svc
            .courier
            .send_email(TemplateType::LoginCodeValid, "not an address", json!({}))
            .await
            .unwrap_err();
        assert_eq!(bad.http_status, 400);
    }
}

#[tokio::test]
async fn admin_api_lists_filters_pages_and_gets_messages() {
    for b in backends() {
        let mut app =
            TestApp::start(&b, json!({"courier": {"worker": {"pull_wait": "50ms"}}})).await;
        app.stop_courier().await;
        let mut ids = Vec::new();
        for (i, to) in [
            "ka@example.org",
            "ka@example.org",
            "ka@example.org",
            "lu@example.org",
            "lu@example.org",
        ]
        .iter()
        .enumerate()
        {
            ids.push(
                send_code(
                    &app,
                    TemplateType::LoginCodeValid,
                    to,
                    &format!("{i}{i}{i}{i}{i}{i}"),
                )
                .await,
            );
        }
        // Newest first, two per page, the Link header leading on.
        let mut seen = Vec::new();
        let mut path = "admin/courier/messages?page_size=2".to_string();
        for expected in [2, 2, 1] {
            let res = app.http.get(app.admin_url(&path)).send().await.unwrap();
            assert_eq!(res.status(), 200);
            let link = res.headers()["link"].to_str().unwrap().to_string();
            let page: Value = res.json().await.unwrap();
            let page = page.as_array().unwrap();
            assert_eq!(page.len(), expected, "{page:?}");
            assert!(page.iter().all(|m| m.get("dispatches").is_none()));
            seen.extend(page.iter().map(|m| m["id"].as_str().unwrap().to_string()));
            match link.split(',').find(|l| l.contains("rel=\"next\"")) {
                Some(next) => {
                    let url = next
                        .trim()
                        .trim_start_matches('<')
                        .split('>')
                        .next()
                        .unwrap();
                    path = url.trim_start_matches('/').to_string();
                }
                None => assert_eq!(expected, 1, "only the last page has no next link"),
            }
        }
        let newest_first: Vec<String> = ids.iter().rev().map(|i| i.to_string()).collect();
        assert_eq!(seen, newest_first);

        let (_, lu) = get_json(&app, "admin/courier/messages?recipient=lu@example.org").await;
        assert_eq!(lu.as_array().unwrap().len(), 2);
        let (_, queued) = get_json(&app, "courier/messages?status=queued").await;
        assert_eq!(
            queued.as_array().unwrap().len(),
            5,
            "also without the /admin prefix"
        );
        let (_, sent) = get_json(&app, "admin/courier/messages?status=sent").await;
        assert_eq!(sent, json!([]));
        // Filters stay in the next link.
        let res = app
            .http
            .get(app.admin_url(
                "admin/courier/messages?status=queued&recipient=ka%40example.org&page_size=1",
            ))
            .send()
            .await
            .unwrap();
        let link = res.headers()["link"].to_str().unwrap().to_string();
        assert!(
            link.contains("status=queued") && link.contains("recipient=ka%40example.org"),
            "{link}"
        );

        for bad in [
            "admin/courier/messages?status=delivered",
            "admin/courier/messages?status=",
            "admin/courier/messages?page_size=0",
            "admin/courier/messages?page_token=%%%",
            "admin/courier/messages/not-a-uuid",
        ] {
            let (code, body) = get_json(&app, bad).await;
            assert_eq!(code, 400, "{bad}: {body}");
            assert_eq!(body["error"]["code"], 400, "{bad}: {body}");
        }
        let (code, body) = get_json(
            &app,
            &format!("admin/courier/messages/{}", uuid::Uuid::new_v4()),
        )
        .await;
        assert_eq!(code, 404);
        assert_eq!(body["error"]["status"], "Not Found");

        // Once the worker runs (dev mailbox here) they are all sent.
        app.courier = Some(app.svc.courier.spawn_worker());
        for id in &ids {
            let m = wait_status(&app, *id, "sent", Duration::from_secs(10)).await;
            assert_eq!(dispatch_statuses(&m), vec!["success"]);
            assert!(
                m["body"].as_str().unwrap().contains("sign in"),
                "dev shows bodies: {m}"
            );
        }
    }
}

#[tokio::test]
async fn dev_mailbox_shows_messages_and_exists_only_in_dev() {
    for b in backends() {
        let app = TestApp::start(&b, json!({"courier": {"worker": {"pull_wait": "50ms"}}})).await;
        let id = send_code(
            &app,
            TemplateType::VerificationCodeValid,
            "mo@example.org",
            "606060",
        )
        .await;
        let m = wait_status(&app, id, "sent", Duration::from_secs(10)).await;
        assert!(
            m["subject"].as_str().unwrap().contains("606060"),
            "dev shows content"
        );

        let res = app.http.get(app.pub_url("ui/mail")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let csp = res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(csp.contains("default-src 'none'"), "{csp}");
        let list = res.text().await.unwrap();
        assert!(list.contains(&format!("/ui/mail/{id}")), "{list}");
        assert!(list.contains("mo@example.org"));

        let page = app
            .http
            .get(app.pub_url(&format!("ui/mail/{id}")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("<code>606060</code>"), "{page}");
        assert!(page.contains("<iframe sandbox=\"\""), "{page}");
        assert!(
            page.contains("srcdoc=\"&lt;!doctype html&gt;"),
            "the HTML body is escaped into srcdoc"
        );
        assert!(page.contains("self-service/verification?code=606060"));
        let res = app
            .http
            .get(app.pub_url(&format!("ui/mail/{}", uuid::Uuid::new_v4())))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404);

        // Outside dev mode: no mailbox, no delivery configured (messages wait), content
        // redacted in the admin API.
        let prod = TestApp::start_non_dev(&b, json!({"hashers": {"bcrypt": {"cost": 12}}})).await;
        for path in ["ui/mail", &format!("ui/mail/{id}")] {
            let res = prod.http.get(prod.pub_url(path)).send().await.unwrap();
            assert_eq!(res.status(), 404, "{path}");
        }
        let id = send_code(
            &prod,
            TemplateType::VerificationCodeValid,
            "mo@example.org",
            "707070",
        )
        .await;
        let (_, m) = get_json(&prod, &format!("admin/courier/messages/{id}")).await;
        assert_eq!(m["status"], "queued");
        assert_eq!(m["subject"], "<redacted-unless-dev-mode>");
        assert_eq!(m["body"], "<redacted-unless-dev-mode>");
        let (_, list) = get_json(&prod, "admin/courier/messages").await;
        assert_eq!(list[0]["body"], "<redacted-unless-dev-mode>");
    }
}

#[tokio::test]
async fn a_message_held_by_a_crashed_worker_is_taken_over_after_its_lease() {
    for b in backends() {
        let sink = SmtpSink::plain().await;
        let mut app = TestApp::start(&b, courier(&plain_uri(&sink), json!({}))).await;
        app.stop_courier().await;
        let id = send_code(
            &app,
            TemplateType::LoginCodeValid,
            "lo@example.org",
            "515151",
        )
        .await;
        // A worker claims it and dies before sending: its lease runs out in a second.
        let now = time::OffsetDateTime::now_utc();
        let held = app
            .svc
            .store
            .claim_courier_messages("crashed-worker", now, now + time::Duration::SECOND, 10)
            .await
            .unwrap();
        assert_eq!(held.len(), 1);
        let (_, m) = get_json(&app, &format!("admin/courier/messages/{id}")).await;
        assert_eq!(m["status"], "processing", "{m}");

        app.courier = Some(app.svc.courier.spawn_worker());
        let got = sink.wait_for(1, Duration::from_secs(10)).await;
        assert!(got[0].header("Subject").unwrap().contains("515151"));
        let m = wait_status(&app, id, "sent", Duration::from_secs(5)).await;
        assert_eq!(dispatch_statuses(&m), vec!["success"], "{b:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(sink.received().len(), 1, "sent once");
    }
}

#[tokio::test]
async fn templates_load_from_http_urls() {
    let app = axum::Router::new().route(
        "/subject.gotmpl",
        axum::routing::get(|| async { "Served code {{ .VerificationCode }}" }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });
    let app = TestApp::start(
        &backends()[0],
        json!({"courier": {"templates": {"verification_code": {"valid": {"email": {
            "subject": format!("{base}/subject.gotmpl")
        }}}}}}),
    )
    .await;
    let id = send_code(
        &app,
        TemplateType::VerificationCodeValid,
        "ht@example.org",
        "636363",
    )
    .await;
    let m = app
        .svc
        .store
        .get_courier_message(id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.subject, "Served code 636363");

    let missing = TestApp::try_start(
        &backends()[0],
        json!({"courier": {"templates": {"verification_code": {"valid": {"email": {
            "subject": format!("{base}/missing.gotmpl")
        }}}}}}),
        true,
    )
    .await
    .err()
    .expect("a template that cannot be fetched stops start-up");
    assert!(
        missing.contains("courier.templates.verification_code.valid.email.subject"),
        "{missing}"
    );
}
