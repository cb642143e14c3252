//! In-process evaluation: Kratos bodies, std functions, errors, limits.

use std::time::{Duration, Instant};

use gatehouse_jsonnet::{JsonnetError, Limits, check_syntax, evaluate};
use serde_json::{Value, json};

const REFERENCE_BODY: &str = r#"function(ctx) if ctx.identity.traits.user_type == "educator" then { email: ctx.identity.traits.email } else error "cancel""#;

fn ctx(user_type: &str) -> Vec<(String, Value)> {
    vec![(
        "ctx".into(),
        json!({
            "identity": {
                "id": "9f425a8d-7efc-4768-8f23-7647a74fdf13",
                "traits": { "email": "ada@example.org", "user_type": user_type, "name": { "first": "Ada", "last": "Lovelace" } }
            },
            "flow": {
                "id": "e2c5a7b0-2f5e-4b8f-8a8c-1b0e6d1e0c3a",
                "type": "browser",
                "transient_payload": { "consents": ["newsletter", "terms"], "referrer": "https://example.org/a?b=c" }
            },
            "request_headers": { "User-Agent": ["curl/8.0"] },
            "request_url": "https://auth.example.org/self-service/registration?flow=e2c5",
        }),
    )]
}

fn eval(source: &str, tla: &[(String, Value)]) -> Result<Value, JsonnetError> {
    evaluate("body.jsonnet", source, tla, &[], &Limits::default())
}

#[test]
fn reference_body_educator_gets_email() {
    let out = eval(REFERENCE_BODY, &ctx("educator")).unwrap();
    assert_eq!(out, json!({ "email": "ada@example.org" }));
}

#[test]
fn reference_body_student_is_cancel() {
    let err = eval(REFERENCE_BODY, &ctx("student")).unwrap_err();
    assert!(err.is_cancel(), "{err:?}");
    match &err {
        JsonnetError::Runtime { message, trace } => {
            assert_eq!(message, "cancel");
            assert!(trace.contains("body.jsonnet:1:"), "{trace}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn cancel_follows_kratos_prefix_rule() {
    // Kratos: strings.Contains(err, "RUNTIME ERROR: cancel") — a prefix.
    let err = eval(r#"error "cancel: not an educator""#, &[]).unwrap_err();
    assert!(err.is_cancel());
    for source in [
        r#"error "denied""#,
        r#"error "please cancel""#,
        r#"{ a: {}.b }"#,
    ] {
        let err = eval(source, &[]).unwrap_err();
        assert!(!err.is_cancel(), "{source}: {err:?}");
    }
    assert!(!JsonnetError::Timeout.is_cancel());
}

#[test]
fn kratos_docs_style_body() {
    let source = r#"
function(ctx) {
  user_id: ctx.identity.id,
  email: ctx.identity.traits.email,
  name: "%s %s" % [ctx.identity.traits.name.first, ctx.identity.traits.name.last],
  flow_id: ctx.flow.id,
  consents: if std.objectHas(ctx.flow, "transient_payload") then ctx.flow.transient_payload.consents else [],
  user_agent: std.join(" ", ctx.request_headers["User-Agent"]),
}
"#;
    let out = eval(source, &ctx("educator")).unwrap();
    assert_eq!(
        out,
        json!({
            "user_id": "9f425a8d-7efc-4768-8f23-7647a74fdf13",
            "email": "ada@example.org",
            "name": "Ada Lovelace",
            "flow_id": "e2c5a7b0-2f5e-4b8f-8a8c-1b0e6d1e0c3a",
            "consents": ["newsletter", "terms"],
            "user_agent": "curl/8.0",
        })
    );
}

#[test]
fn common_std_functions() {
    let source = r#"
function(ctx)
  local traits = ctx.identity.traits;
  {
    has_identity: std.objectHas(ctx, "identity"),
    has_session: std.objectHas(ctx, "session"),
    n_consents: std.length(ctx.flow.transient_payload.consents),
    email_len: std.length(traits.email),
    is_example: std.startsWith(traits.email, "ada@"),
    ends: std.endsWith(traits.email, ".org"),
    joined: std.join(",", ctx.flow.transient_payload.consents),
    formatted: std.format("%s <%s> #%d", [traits.name.first, traits.email, 7]),
    percent: "%s" % traits.user_type,
    escaped: std.escapeStringJson('say "hi"\n'),
    lower: std.asciiLower("ADA"),
    split: std.split("a,b", ","),
    mapped: std.map(function(c) std.asciiUpper(c), ctx.flow.transient_payload.consents),
    filtered: std.filter(function(c) c != "terms", ctx.flow.transient_payload.consents),
    got: std.get(traits, "phone", "none"),
    str: std.toString(42),
    md5: std.md5("abc"),
    b64: std.base64("gatehouse"),
    parsed: std.parseJson('{"x": [1, 2]}'),
    manifested: std.manifestJsonMinified({ b: 1, a: [true, null] }),
    referrer: ctx.flow.transient_payload.referrer,
  }
"#;
    let out = eval(source, &ctx("educator")).unwrap();
    assert_eq!(
        out,
        json!({
            "has_identity": true,
            "has_session": false,
            "n_consents": 2,
            "email_len": 15,
            "is_example": true,
            "ends": true,
            "joined": "newsletter,terms",
            "formatted": "Ada <ada@example.org> #7",
            "percent": "educator",
            "escaped": "\"say \\\"hi\\\"\\n\"",
            "lower": "ada",
            "split": ["a", "b"],
            "mapped": ["NEWSLETTER", "TERMS"],
            "filtered": ["newsletter"],
            "got": "none",
            "str": "42",
            "md5": "900150983cd24fb0d6963f7d28e17f72",
            "b64": "Z2F0ZWhvdXNl",
            "parsed": { "x": [1, 2] },
            "manifested": "{\"a\":[true,null],\"b\":1}",
            "referrer": "https://example.org/a?b=c",
        })
    );
}

#[test]
fn object_has_guard_on_missing_identity() {
    let source = r#"function(ctx) if std.objectHas(ctx, "identity") then { id: ctx.identity.id } else { anonymous: true }"#;
    let out = eval(source, &[("ctx".into(), json!({ "flow": {} }))]).unwrap();
    assert_eq!(out, json!({ "anonymous": true }));
}

#[test]
fn ext_vars_are_readable_and_last_one_wins() {
    let ext = vec![
        ("api_key".to_string(), json!("first")),
        ("tenant".to_string(), json!({ "id": 7 })),
        ("api_key".to_string(), json!("second")),
    ];
    let out = evaluate(
        "body.jsonnet",
        r#"function(ctx) { key: std.extVar("api_key"), tenant: std.extVar("tenant").id, email: ctx.identity.traits.email }"#,
        &ctx("educator"),
        &ext,
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(
        out,
        json!({ "key": "second", "tenant": 7, "email": "ada@example.org" })
    );

    let err = eval(r#"std.extVar("missing")"#, &[]).unwrap_err();
    assert!(
        matches!(&err, JsonnetError::Runtime { message, .. } if message.contains("missing")),
        "{err:?}"
    );
}

#[test]
fn non_function_ignores_tla_and_values_round_trip() {
    let out = eval(
        r#"{ n: 1.5, big: 1e21, neg: -3, t: true, z: null, s: "ü\u0001", a: [[]], o: {} }"#,
        &ctx("x"),
    )
    .unwrap();
    assert_eq!(
        out,
        json!({ "n": 1.5, "big": 1e21, "neg": -3, "t": true, "z": null, "s": "ü\u{1}", "a": [[]], "o": {} })
    );
}

#[test]
fn syntax_error_names_file_line_and_column() {
    // Line 3 lacks the `{` that its `}` closes.
    let source =
        "function(ctx) {\n  email: ctx.identity.traits.email,\n  name: first: ctx.x },\n}\n";
    let err = check_syntax("hooks/body.jsonnet", source).unwrap_err();
    match &err {
        JsonnetError::Syntax {
            file,
            line,
            column,
            message,
        } => {
            assert_eq!(file, "hooks/body.jsonnet");
            assert_eq!((*line, *column), (3, 14), "{message}");
            assert!(message.starts_with("expected"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with("hooks/body.jsonnet:3:14: expected"),
        "{err}"
    );

    // A missing comma, reported where the next field starts.
    let source = "function(ctx) {\n  a: 1\n  b: 2\n}\n";
    let err = check_syntax("b.jsonnet", source).unwrap_err();
    assert!(
        matches!(
            err,
            JsonnetError::Syntax {
                line: 3,
                column: 3,
                ..
            }
        ),
        "{err:?}"
    );

    // evaluate reports the same error.
    let err = eval(source, &[]).unwrap_err();
    assert!(
        matches!(err, JsonnetError::Syntax { line: 3, .. }),
        "{err:?}"
    );
}

#[test]
fn syntax_check_covers_lexer_and_unknown_variables() {
    let err = check_syntax("x.jsonnet", "{\n  a: \"unterminated\n}").unwrap_err();
    assert!(
        matches!(&err, JsonnetError::Syntax { line: 2, column: 6, message, .. } if message.contains("unfinished string")),
        "{err:?}"
    );
    let err = check_syntax("x.jsonnet", "function(ctx)\n  { a: ctxx.b }").unwrap_err();
    assert!(
        matches!(&err, JsonnetError::Syntax { line: 2, column: 8, message, .. } if message.contains("ctxx")),
        "{err:?}"
    );
    // Valid syntax passes even when evaluation would fail.
    check_syntax(
        "ok.jsonnet",
        r#"function(ctx) { a: ctx.missing, b: error "cancel" }"#,
    )
    .unwrap();
    check_syntax("ref.jsonnet", REFERENCE_BODY).unwrap();
}

#[test]
fn runtime_errors_carry_message_and_location() {
    let err = eval("function(ctx) {\n  a: ctx.identity.nope,\n}", &ctx("x")).unwrap_err();
    match &err {
        JsonnetError::Runtime { message, trace } => {
            assert_eq!(message, r#"unknown field "nope""#);
            assert!(trace.starts_with("body.jsonnet:2:"), "{trace}");
        }
        other => panic!("{other:?}"),
    }

    let err = eval(
        r#"function(ctx) { a: ctx.identity.traits.email - 1 }"#,
        &ctx("x"),
    )
    .unwrap_err();
    assert!(
        matches!(&err, JsonnetError::Runtime { message, .. } if message.contains("binary operator `-`")),
        "{err:?}"
    );
    let err = eval(r#"std.length(5)"#, &[]).unwrap_err();
    assert!(matches!(err, JsonnetError::Runtime { .. }), "{err:?}");
    let err = eval(r#"function(x) x"#, &[]).unwrap_err();
    assert!(
        matches!(&err, JsonnetError::Runtime { message, .. } if message.contains("not bound")),
        "{err:?}"
    );
    let err = eval(r#"function(ctx) ctx"#, &[("other".into(), json!(1))]).unwrap_err();
    assert!(
        matches!(&err, JsonnetError::Runtime { message, .. } if message.contains("unknown parameter")),
        "{err:?}"
    );
    let err = eval(r#"{ f: function() 1 }"#, &[]).unwrap_err();
    assert!(
        matches!(&err, JsonnetError::Runtime { message, .. } if message.contains("manifested")),
        "{err:?}"
    );
}

#[test]
fn imports_are_refused() {
    for source in [
        r#"import "/etc/hostname""#,
        r#"importstr "/etc/passwd""#,
        r#"importbin "/etc/passwd""#,
    ] {
        let err = eval(source, &[]).unwrap_err();
        assert!(
            matches!(&err, JsonnetError::Runtime { message, .. } if message.contains("imports are disabled")),
            "{source}: {err:?}"
        );
    }
}

#[test]
fn infinite_recursion_hits_the_stack_limit_quickly() {
    let start = Instant::now();
    let err = eval("local f(x) = f(x) + 1; f(0)", &[]).unwrap_err();
    assert!(
        matches!(&err, JsonnetError::Runtime { message, trace } if message.contains("stack overflow") && trace.contains("frames")),
        "{err:?}"
    );
    assert!(start.elapsed() < Duration::from_secs(2));

    // Deep data built without deep calls is bounded too.
    let err = eval(
        "std.foldl(function(acc, x) [acc], std.range(1, 5000), null)",
        &[],
    )
    .unwrap_err();
    assert!(
        matches!(&err, JsonnetError::Runtime { message, .. } if message.contains("stack overflow")),
        "{err:?}"
    );
}

#[test]
fn max_stack_is_configurable() {
    let source = "local f(n) = if n == 0 then 0 else 1 + f(n - 1); f(150)";
    let mut limits = Limits::default();
    assert_eq!(
        evaluate("s.jsonnet", source, &[], &[], &limits).unwrap(),
        json!(150)
    );
    limits.max_stack = 50;
    assert!(evaluate("s.jsonnet", source, &[], &[], &limits).is_err());
}

#[test]
fn deeply_nested_source_is_rejected_not_a_crash() {
    // rsjsonnet's parser recurses natively: unguarded, these abort the
    // process with a stack overflow.
    let sources = [
        format!("{}1{}", "{a:".repeat(20_000), "}".repeat(20_000)),
        format!("{}1", "local x = 1; ".repeat(20_000)),
        format!("{}1", "if true then ".repeat(20_000)),
        format!("local x = {{}}; x{}", ".a".repeat(20_000)),
        format!("{}1{}", "std.abs(".repeat(20_000), ")".repeat(20_000)),
    ];
    for source in &sources {
        let err = check_syntax("deep.jsonnet", source).unwrap_err();
        assert!(
            matches!(&err, JsonnetError::Syntax { message, .. } if message.contains("nests too deeply")),
            "{err:?}"
        );
        let err = eval(source, &[]).unwrap_err();
        assert!(matches!(err, JsonnetError::Syntax { .. }), "{err:?}");
    }
    // Just under the limit still loads; evaluation then meets max_stack.
    let source = format!("{}1{}", "{a:".repeat(400), "}".repeat(400));
    check_syntax("deep.jsonnet", &source).unwrap();
    let err = eval(&source, &[]).unwrap_err();
    assert!(
        matches!(&err, JsonnetError::Runtime { message, .. } if message.contains("stack overflow")),
        "{err:?}"
    );
    // Output nesting up to serde_json's 128 levels comes back as a value.
    let source = format!("{}1{}", "{a:".repeat(120), "}".repeat(120));
    evaluate("deep.jsonnet", &source, &[], &[], &Limits::default()).unwrap();
    let source = format!("{}1{}", "{a:".repeat(150), "}".repeat(150));
    let err = eval(&source, &[]).unwrap_err();
    assert!(
        matches!(&err, JsonnetError::Runtime { message, .. } if message.contains("128")),
        "{err:?}"
    );
    // Long flat files are fine: commas end constructs.
    let fields: Vec<String> = (0..2000)
        .map(|i| {
            format!("f{i}: if std.objectHas(ctx, \"identity\") then ctx.identity.id else null")
        })
        .collect();
    let source = format!("function(ctx) {{ {} }}", fields.join(",\n"));
    let out = eval(&source, &ctx("x")).unwrap();
    assert_eq!(out.as_object().map(|o| o.len()), Some(2000));
}

#[test]
fn huge_output_is_refused() {
    let err = eval(r#"{ a: std.repeat("x", 2 * 1024 * 1024) }"#, &[]).unwrap_err();
    assert_eq!(err, JsonnetError::OutputTooLarge);
    let err = eval("[i for i in std.range(1, 300000)]", &[]).unwrap_err();
    assert_eq!(err, JsonnetError::OutputTooLarge);
    let limits = Limits {
        max_output_bytes: 10,
        ..Limits::default()
    };
    assert_eq!(
        evaluate("o.jsonnet", r#""123456789""#, &[], &[], &limits),
        Err(JsonnetError::OutputTooLarge)
    );
    assert_eq!(
        evaluate("o.jsonnet", r#""1234567""#, &[], &[], &limits),
        Ok(json!("1234567"))
    );
}

#[test]
fn huge_error_messages_are_truncated() {
    let err = eval(r#"error std.repeat("x", 1000000)"#, &[]).unwrap_err();
    match err {
        JsonnetError::Runtime { message, .. } => {
            assert!(message.len() < 20_000 && message.ends_with("..."))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn deeply_nested_arguments_are_refused() {
    let mut v = json!(1);
    for _ in 0..600 {
        v = json!([v]);
    }
    let err = eval("function(ctx) 1", &[("ctx".into(), v)]).unwrap_err();
    assert!(matches!(err, JsonnetError::Runtime { .. }), "{err:?}");
}
