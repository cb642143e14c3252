//! `Dialect::Oathkeeper` with the reference setups' templates and a realistic
//! Kratos `/sessions/whoami` document as `.Extra` (`extra_from: "@this"`,
//! `subject_from: identity.traits.email`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use gatehouse_gotmpl::{Dialect, Mode, Options, RenderReport, Template};
use serde_json::{Value, json};

fn whoami() -> Value {
    json!({
        "id": "5c7f3e6a-2b1d-4a8e-9f0c-1d2e3f4a5b6c",
        "active": true,
        "expires_at": "2025-06-02T09:15:02.123456Z",
        "authenticated_at": "2025-06-01T09:15:02.123456Z",
        "authenticator_assurance_level": "aal1",
        "authentication_methods": [
            {"method": "password", "aal": "aal1", "completed_at": "2025-06-01T09:15:02.1Z"}
        ],
        "issued_at": "2025-06-01T09:15:02.123456Z",
        "identity": {
            "id": "0b9f2d4e-6a8c-4e1f-b3d5-7a9c1e3f5b7d",
            "schema_id": "default",
            "schema_url": "https://kratos.example.space/schemas/ZGVmYXVsdA",
            "state": "active",
            "state_changed_at": "2025-05-30T12:00:00Z",
            "traits": {
                "email": "teacher@example.space",
                "name": "Ada Lovelace",
                "kind": "educator"
            },
            "verifiable_addresses": [{
                "id": "8e1c3a5b-7d9f-4b2e-a6c8-0e2f4a6c8e0a",
                "value": "teacher@example.space",
                "verified": true,
                "via": "email",
                "status": "completed",
                "verified_at": "2025-05-30T12:05:00Z",
                "created_at": "2025-05-30T12:00:00Z",
                "updated_at": "2025-05-30T12:05:00Z"
            }],
            "recovery_addresses": [{
                "id": "9f2d4b6c-8e0a-4c3f-b7d9-1f3a5c7e9b1d",
                "value": "teacher@example.space",
                "via": "email",
                "created_at": "2025-05-30T12:00:00Z",
                "updated_at": "2025-05-30T12:00:00Z"
            }],
            "metadata_public": null,
            "created_at": "2025-05-30T12:00:00Z",
            "updated_at": "2025-05-30T12:00:00Z",
            "organization_id": null
        },
        "devices": [{
            "id": "3a5c7e9b-1d3f-4a6c-8e0b-2d4f6a8c0e2b",
            "ip_address": "10.42.0.17",
            "user_agent": "Mozilla/5.0",
            "location": ""
        }]
    })
}

/// The `AuthenticationSession` as Oathkeeper hands it to templates.
fn session() -> Value {
    json!({
        "Subject": "teacher@example.space",
        "Extra": whoami(),
        "Header": {},
        "MatchContext": {
            "RegexpCaptureGroups": ["exam-2025-17", "answers"],
            "URL": {"Scheme": "https", "Host": "exam-generate-frontend.example.space", "Path": "/exam-2025-17/answers", "RawQuery": ""},
            "Method": "GET",
            "Header": {
                "Accept": ["text/html"],
                "Cookie": ["ory_kratos_session=MTcx"],
                "X-Forwarded-For": ["203.0.113.7", "10.42.0.1"]
            }
        }
    })
}

fn render(src: &str) -> String {
    Template::parse_oathkeeper("exam-generation-rule:X-USER-EMAIL", src)
        .unwrap_or_else(|e| panic!("{e}"))
        .render(&session())
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn broken_setup_template_prints_a_go_map() {
    let t = Template::parse_oathkeeper(
        "exam-generation-rule:X-USER-EMAIL",
        "{{ print .Extra.identity }}",
    )
    .unwrap();
    assert_eq!(t.dialect(), Dialect::Oathkeeper);
    let (out, report) = t.render_checked(&session()).unwrap();
    assert!(
        out.starts_with("map[created_at:2025-05-30T12:00:00Z id:0b9f2d4e-"),
        "{out}"
    );
    assert!(
        out.contains(" metadata_public:<nil> organization_id:<nil> "),
        "{out}"
    );
    assert!(
        out.contains(" traits:map[email:teacher@example.space kind:educator name:Ada Lovelace] "),
        "{out}"
    );
    assert!(
        out.contains(" verifiable_addresses:[map[created_at:2025-05-30T12:00:00Z id:8e1c3a5b-"),
        "{out}"
    );
    assert!(
        out.ends_with("verified_at:2025-05-30T12:05:00Z via:email]]]"),
        "{out}"
    );
    // The start-up warning can rely on either the text or the report.
    assert!(report.printed_map_or_list);
}

#[test]
fn working_setup_templates() {
    assert_eq!(
        render("{{ print .Extra.identity.traits.email }}"),
        "teacher@example.space"
    );
    assert_eq!(render("{{ print .Subject }}"), "teacher@example.space");
    assert_eq!(
        render("{{ printIndex .MatchContext.RegexpCaptureGroups 0 }}"),
        "exam-2025-17"
    );
    assert_eq!(
        render(r#"{{ .MatchContext.Header.Get "x-forwarded-for" }}"#),
        "203.0.113.7"
    );
    let t =
        Template::parse_oathkeeper("r:X-User", "{{ print .Extra.identity.traits.email }}").unwrap();
    assert_eq!(
        t.render_checked(&session()).unwrap().1,
        RenderReport::default()
    );
}

#[test]
fn keto_remote_json_payload() {
    let src = r#"{"namespace":"Document","object":"{{ printIndex .MatchContext.RegexpCaptureGroups 0 }}",
 "relation":"view","subject_id":"{{ print .Subject }}"}"#;
    let out = render(src);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v,
        json!({"namespace": "Document", "object": "exam-2025-17", "relation": "view", "subject_id": "teacher@example.space"})
    );
    // Out of range and nil lists print nothing rather than failing.
    assert_eq!(
        render("[{{ printIndex .MatchContext.RegexpCaptureGroups 9 }}]"),
        "[]"
    );
    assert_eq!(render("[{{ printIndex .Extra.nope 0 }}]"), "[]");
}

#[test]
fn header_methods() {
    assert_eq!(
        render(
            r#"{{ .MatchContext.Header.Get "COOKIE" }}|{{ .MatchContext.Header.Get "X-Missing" }}|{{ .Header.Get "X-User" }}"#
        ),
        "ory_kratos_session=MTcx||"
    );
    assert_eq!(
        render(r#"{{ "x-forwarded-for" | .MatchContext.Header.Get | upper }}"#),
        "203.0.113.7"
    );
    assert_eq!(
        render(
            r#"{{ with .MatchContext }}{{ $h := .Header }}{{ $h.Get "accept" }} {{ .Header.Values "X-Forwarded-For" }}{{ end }}"#
        ),
        "text/html [203.0.113.7 10.42.0.1]"
    );
    assert_eq!(
        render(r#"{{ print (.MatchContext.Header.Get "Accept") }}"#),
        "text/html"
    );
}

#[test]
fn missing_keys_follow_missingkey_zero() {
    assert_eq!(render("[{{ print .Extra.identity.traits.phone }}]"), "[]");
    assert_eq!(
        render("[{{ .Extra.identity.traits.phone }}]"),
        "[<no value>]"
    );
    let t = Template::parse_oathkeeper("r:X-Phone", "{{ print .Extra.identity.phone.number }}")
        .unwrap();
    let err = t.render(&session()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "template: r:X-Phone:1: executing \"r:X-Phone\" at <print .Extra.identity.phone.number>: nil pointer evaluating interface {}.number"
    );
    // `null` in the document behaves the same way.
    let t =
        Template::parse_oathkeeper("r:X", "{{ .Extra.identity.metadata_public.plan }}").unwrap();
    assert!(
        t.render(&session())
            .unwrap_err()
            .message
            .contains("nil pointer evaluating interface {}.plan")
    );
}

#[test]
fn numbers_print_as_go_float64() {
    let data = json!({"Subject": "s", "Extra": {"exp": 1_600_000_000, "age": 42, "score": 3.5}, "Header": {}, "MatchContext": {"Header": {}}});
    let t = Template::parse_oathkeeper(
        "r:X",
        "{{ print .Extra.exp }} {{ print .Extra.age }} {{ print .Extra.score }} {{ .Extra.exp }} {{ .Extra.exp | toJson }} {{ print 1000000 }}",
    )
    .unwrap();
    assert_eq!(
        t.render(&data).unwrap(),
        "1.6e+09 42 3.5 1.6e+09 1600000000 1000000"
    );
}

#[test]
fn id_token_claims_render_valid_json() {
    let src = r#"{"email": {{ .Extra.identity.traits.email | toJson }}, "kind": "{{ print .Extra.identity.traits.kind }}", "aal": "{{ .Extra.authenticator_assurance_level }}"}"#;
    let v: Value = serde_json::from_str(&render(src)).unwrap();
    assert_eq!(
        v,
        json!({"email": "teacher@example.space", "kind": "educator", "aal": "aal1"})
    );
}

#[test]
fn courier_print_is_still_variadic() {
    let kratos =
        json!({"To": "a@b.c", "Identity": {"traits": {"email": "a@b.c"}}, "Count": 1_000_000});
    let t = Template::parse(
        "courier.body",
        "{{ print \"to:\" .To 1 2 }}|{{ print .Missing }}|{{ .Count }}|{{ .Identity.x.y }}",
    )
    .unwrap();
    assert_eq!(t.dialect(), Dialect::Standard);
    assert_eq!(
        t.render(&kratos).unwrap(),
        "to:a@b.c1 2|<nil>|1000000|<no value>"
    );
    let t = Template::parse_with("courier.body", "{{ print .To \"!\" }}", Mode::Html).unwrap();
    assert_eq!(t.render(&kratos).unwrap(), "a@b.c!");
    // printIndex and header methods are Oathkeeper-only.
    assert!(
        Template::parse("c", "{{ printIndex .L 0 }}")
            .unwrap_err()
            .message
            .contains("\"printIndex\" not defined")
    );
    assert!(
        Template::parse("c", "{{ .H.Get \"x\" }}")
            .unwrap_err()
            .message
            .contains("can't give argument to non-function")
    );
}

#[test]
fn oathkeeper_print_takes_exactly_one_argument() {
    for (src, n) in [("{{ print }}", 0), ("{{ print .Subject .Subject }}", 2)] {
        let err = Template::parse_oathkeeper("r:X", src).unwrap_err();
        assert_eq!(
            err.message,
            format!("wrong number of args for print: want 1 got {n}")
        );
    }
    assert_eq!(render("{{ .Subject | print }}"), "teacher@example.space");
}

#[test]
fn options_combine_dialect_mode_and_funcs() {
    let mut funcs = gatehouse_gotmpl::Funcs::new();
    funcs.insert("shout", |a: &[Value]| {
        Ok(json!(format!(
            "{}!",
            a.first().and_then(Value::as_str).unwrap_or_default()
        )))
    });
    let opts = Options {
        mode: Mode::Html,
        dialect: Dialect::Oathkeeper,
        funcs,
    };
    let t = Template::parse_with_options("r", "<{{ print .Subject | shout }}>", &opts).unwrap();
    assert_eq!(t.render(&json!({"Subject": "a&b"})).unwrap(), "<a&amp;b!>");
    assert_eq!((t.mode(), t.dialect()), (Mode::Html, Dialect::Oathkeeper));
}
