//! The first reference setup's proxy: its rule as written (cookie_session against
//! whoami, `X-USER-EMAIL` for the upstream, `redirect` errors back to the login page),
//! an echo upstream, and the identity service. A browser without a session is sent to
//! sign in with the way back; after signing in it comes back and the upstream sees the
//! e-mail.

use crate::harness::{echo, http, identity, start, start_with};
use serde_json::{Value, json};

const HOST: &str = "exam-generate-frontend.example.space";

fn setup(upstream: &str, whoami: &str, login: &str, header_template: &str) -> (Value, Value) {
    let rules = json!([{
        "id": "exam-generation-rule",
        "upstream": {"url": upstream},
        "match": {
            "url": format!("https://{HOST}/<.*>"),
            "methods": ["GET", "POST", "OPTIONS", "PUT", "PATCH"]
        },
        "authenticators": [{"handler": "cookie_session"}],
        "authorizer": {"handler": "allow"},
        "mutators": [{"handler": "header", "config": {"headers": {"X-USER-EMAIL": header_template}}}],
        "errors": [{"handler": "redirect"}]
    }]);
    let config = json!({
        "serve": {"proxy": {"trust_forwarded_headers": true}},
        "authenticators": {"cookie_session": {"enabled": true, "config": {
            "check_session_url": whoami,
            "forward_http_headers": ["Cookie", "X-USER-EMAIL"],
            "preserve_path": true,
            "extra_from": "@this",
            "subject_from": "identity.traits.email",
            "only": ["ory_kratos_session"]
        }}},
        "errors": {"handlers": {"redirect": {"enabled": true, "config": {
            "to": login,
            "return_to_query_param": "return_to"
        }}}}
    });
    (rules, config)
}

#[tokio::test]
async fn a_browser_signs_in_and_the_upstream_sees_the_email() {
    let kratos = identity(&format!("https://{HOST}/")).await;
    let up = echo().await;
    let login = format!("{}ui/login", kratos.public);
    let (rules, config) = setup(
        &up,
        &format!("{}sessions/whoami", kratos.public),
        &login,
        "{{ print .Subject }}",
    );
    let px = start(rules, config).await;
    let through = |cookie: Option<String>| {
        let mut r = http()
            .get(format!("{}/exams/42?tab=results", px.proxy))
            .header("host", HOST)
            .header("x-forwarded-proto", "https")
            .header("accept", "text/html");
        if let Some(c) = cookie {
            r = r.header("cookie", c);
        }
        r.send()
    };

    let r = through(None).await.unwrap();
    assert_eq!(r.status(), 302);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let back = format!("https://{HOST}/exams/42?tab=results");
    let encoded: String = url::form_urlencoded::byte_serialize(back.as_bytes()).collect();
    assert_eq!(to, format!("{login}?return_to={encoded}"));

    let r = through(Some("ory_kratos_session=not-a-session".into()))
        .await
        .unwrap();
    assert_eq!(r.status(), 302, "an unknown session is sent to sign in too");

    // Signing in through the login UI's form, with the way back.
    kratos.register("ada@example.space").await;
    let (went, session) = sign_in(&kratos.public, "ada@example.space", &encoded).await;
    assert_eq!(
        went, back,
        "after signing in the browser goes back where it was"
    );

    let r = through(Some(format!("ory_kratos_session={session}")))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let seen: Value = r.json().await.unwrap();
    assert_eq!(seen["headers"]["x-user-email"], "ada@example.space");
    assert_eq!(seen["uri"], "/exams/42?tab=results");
}

/// Signs in through the browser login form with `return_to`; gives where the browser is
/// sent next and the session cookie's value.
async fn sign_in(public: &str, email: &str, return_to: &str) -> (String, String) {
    let client = http();
    let init = client
        .get(format!(
            "{public}self-service/login/browser?return_to={return_to}"
        ))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    let csrf_cookie: Vec<String> = init
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
        .collect();
    let flow: Value = init.json().await.unwrap();
    let csrf = flow["ui"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["attributes"]["name"] == "csrf_token")
        .unwrap()["attributes"]["value"]
        .as_str()
        .unwrap()
        .to_string();
    let r = client
        .post(flow["ui"]["action"].as_str().unwrap())
        .header("cookie", csrf_cookie.join("; "))
        .header("accept", "text/html")
        .form(&[
            ("method", "password"),
            ("identifier", email),
            ("password", "correct horse battery"),
            ("csrf_token", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let went = r.headers()["location"].to_str().unwrap().to_string();
    let session = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find_map(|c| c.strip_prefix("ory_kratos_session="))
        .map(|c| c.split(';').next().unwrap().to_string())
        .expect("a session cookie");
    (went, session)
}

#[tokio::test]
async fn the_template_that_prints_a_map_is_flagged() {
    let (rules, config) = setup(
        "http://127.0.0.1:1",
        "http://127.0.0.1:1/sessions/whoami",
        "https://login.example.space/login",
        "{{ print .Extra.identity }}",
    );
    let px = start(rules.clone(), config.clone()).await;
    let warnings = gatehouse_proxy::lint::header_warnings(&px.px.config, &px.px.rules.current());
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].rule, "exam-generation-rule");
    assert_eq!(warnings[0].header, "X-USER-EMAIL");
    assert!(
        warnings[0].message.contains(".Extra.identity.traits.email"),
        "{}",
        warnings[0]
    );

    for good in [
        "{{ print .Subject }}",
        "{{ print .Extra.identity.traits.email }}",
    ] {
        let (rules, config) = setup(
            "http://127.0.0.1:1",
            "http://127.0.0.1:1/w",
            "https://l/",
            good,
        );
        let px = start(rules, config).await;
        let w = gatehouse_proxy::lint::header_warnings(&px.px.config, &px.px.rules.current());
        assert!(w.is_empty(), "{good}: {w:?}");
    }
}

#[tokio::test]
async fn in_process_session_checks_answer_as_over_http() {
    let kratos = identity(&format!("https://{HOST}/")).await;
    kratos.register("grace@example.space").await;
    let (_, session) = sign_in(&kratos.public, "grace@example.space", "").await;
    let up = echo().await;
    // A host name that does not resolve: only an in-process call can reach it.
    let internal = "http://kratos.internal.invalid/";
    let (rules, config) = setup(
        &up,
        &format!("{internal}sessions/whoami"),
        "https://login.example.space/login",
        "{{ print .Subject }}",
    );
    let local = vec![gatehouse_proxy::call::Local {
        base: internal.to_string(),
        router: gatehouse_identity::api::public_router(kratos.svc.clone()),
    }];
    let in_process = start_with(rules.clone(), config.clone(), local)
        .await
        .unwrap();
    let (_, over_http_config) = setup(
        &up,
        &format!("{}sessions/whoami", kratos.public),
        "https://login.example.space/login",
        "{{ print .Subject }}",
    );
    let over_http = start(rules, over_http_config).await;
    for cookie in [
        Some(format!("ory_kratos_session={session}")),
        Some("ory_kratos_session=forged".to_string()),
        None,
    ] {
        let mut answers = Vec::new();
        for px in [&in_process, &over_http] {
            let mut r = http()
                .get(format!("{}/exams", px.proxy))
                .header("host", HOST)
                .header("x-forwarded-proto", "https");
            if let Some(c) = &cookie {
                r = r.header("cookie", c);
            }
            let res = r.send().await.unwrap();
            let status = res.status().as_u16();
            let body: Value = res.json().await.unwrap_or(Value::Null);
            answers.push((status, body["headers"]["x-user-email"].clone()));
        }
        assert_eq!(answers[0], answers[1], "{cookie:?}");
    }
    let ok = http()
        .get(format!("{}/exams", in_process.proxy))
        .header("host", HOST)
        .header("x-forwarded-proto", "https")
        .header("cookie", format!("ory_kratos_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}
