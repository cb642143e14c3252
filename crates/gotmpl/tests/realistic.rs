//! Templates as Ory Kratos (courier e-mails) and Oathkeeper (header, cookie
//! and id_token mutators) users write them, plus robustness checks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use gatehouse_gotmpl::{Mode, RenderReport, Template};
use serde_json::{Value, json};

fn kratos_model() -> Value {
    json!({
        "To": "ada@example.org",
        "VerificationURL": "https://auth.example.org/self-service/verification?flow=123&token=abc<x>",
        "VerificationCode": "123456",
        "RecoveryCode": "987654",
        "Identity": {
            "id": "9f425a8d-7ed4-4e6f-9c1b-3f0b3a7d2c11",
            "traits": {
                "email": "ada@example.org",
                "name": {"first": "Ada", "last": "Lovelace"}
            },
            "metadata_public": null
        },
        "TransientPayload": {"bar": 1}
    })
}

#[test]
fn kratos_verification_subject() {
    let t = Template::parse(
        "verification_valid.subject",
        "Please verify your email address",
    )
    .unwrap();
    assert_eq!(
        t.render(&kratos_model()).unwrap(),
        "Please verify your email address"
    );
}

#[test]
fn kratos_verification_html_body_escapes_url() {
    let src = "Hi, please verify your account by clicking the following link:\n\n<a href=\"{{ .VerificationURL }}\">{{ .VerificationURL }}</a>\n";
    let t = Template::parse_with("verification_valid.body", src, Mode::Html).unwrap();
    let out = t.render(&kratos_model()).unwrap();
    let url = "https://auth.example.org/self-service/verification?flow=123&amp;token=abc&lt;x&gt;";
    assert_eq!(
        out,
        format!(
            "Hi, please verify your account by clicking the following link:\n\n<a href=\"{url}\">{url}</a>\n"
        )
    );
}

#[test]
fn kratos_plaintext_body_is_not_escaped() {
    let src = "Hi, please verify your account by clicking the following link:\n\n{{ .VerificationURL }}\n";
    let t = Template::parse("verification_valid.body.plaintext", src).unwrap();
    let out = t.render(&kratos_model()).unwrap();
    assert!(out.contains("flow=123&token=abc<x>"), "{out}");
}

#[test]
fn kratos_traits_transient_payload_and_optional_name() {
    let src = "{{ if .Identity.traits.name }}Hi {{ .Identity.traits.name.first }}{{ end }},\n\
               your address is {{ .Identity.traits.email }}.\n\
               foo={{ .TransientPayload.foo | default \"x\" }} bar={{ .TransientPayload.bar | default \"x\" }}";
    let t = Template::parse_with("recovery.body", src, Mode::Html).unwrap();
    let model = kratos_model();
    assert_eq!(
        t.render(&model).unwrap(),
        "Hi Ada,\nyour address is ada@example.org.\nfoo=x bar=1"
    );
    // Without a name trait the greeting disappears; no TransientPayload at all is fine too.
    let mut model = model;
    model["Identity"]["traits"]
        .as_object_mut()
        .unwrap()
        .remove("name");
    model.as_object_mut().unwrap().remove("TransientPayload");
    assert_eq!(
        t.render(&model).unwrap(),
        ",\nyour address is ada@example.org.\nfoo=x bar=x"
    );
}

#[test]
fn kratos_code_templates_with_trim_markers() {
    let src = "Hi{{- with .Identity.traits.name }} {{ .first }}{{ end }},\n\n\
               please recover access to your account by entering the following code:\n\n\
               {{ .RecoveryCode }}\n";
    let t = Template::parse("recovery_code_valid.body.plaintext", src).unwrap();
    assert_eq!(
        t.render(&kratos_model()).unwrap(),
        "Hi Ada,\n\nplease recover access to your account by entering the following code:\n\n987654\n"
    );
}

#[test]
fn kratos_missing_trait_in_html_prints_nothing_but_is_reported() {
    let t =
        Template::parse_with("b", "Hello {{ .Identity.traits.nickname }}!", Mode::Html).unwrap();
    let (out, report) = t.render_checked(&kratos_model()).unwrap();
    assert_eq!(out, "Hello !");
    assert!(report.printed_no_value);
}

fn oathkeeper_session() -> Value {
    json!({
        "Subject": "9f425a8d-7ed4-4e6f-9c1b-3f0b3a7d2c11",
        "Extra": {
            "identity": {
                "id": "9f425a8d-7ed4-4e6f-9c1b-3f0b3a7d2c11",
                "traits": {"email": "ada@example.org", "roles": ["admin", "dev"], "age": 36}
            }
        },
        "Header": {"Authorization": ["Bearer abc"]},
        "MatchContext": {
            "RegexpCaptureGroups": ["tenant-a", "42"],
            "URL": "https://api.example.org/tenant-a/42",
            "Method": "GET",
            "Header": {"Accept": ["application/json"]}
        }
    })
}

#[test]
fn oathkeeper_header_mutator() {
    let s = oathkeeper_session();
    let cases = [
        (
            "{{ print .Subject }}",
            "9f425a8d-7ed4-4e6f-9c1b-3f0b3a7d2c11",
        ),
        (
            "{{ print .Extra.identity.traits.email }}",
            "ada@example.org",
        ),
        (
            "{{ index .MatchContext.RegexpCaptureGroups 0 }}",
            "tenant-a",
        ),
        ("{{ index .MatchContext.RegexpCaptureGroups 1 }}", "42"),
        (
            "{{ .Extra.identity.traits | toJson }}",
            r#"{"age":36,"email":"ada@example.org","roles":["admin","dev"]}"#,
        ),
        ("{{ join \",\" .Extra.identity.traits.roles }}", "admin,dev"),
        (
            "{{ .MatchContext.Method }} {{ index .Header.Authorization 0 }}",
            "GET Bearer abc",
        ),
        ("{{ print .Extra.identity.traits.missing }}", "<nil>"),
    ];
    for (src, want) in cases {
        let t = Template::parse("X-Header", src).unwrap();
        assert_eq!(t.render(&s).unwrap(), want, "template {src}");
    }
}

#[test]
fn oathkeeper_capture_group_out_of_range_is_an_error() {
    let t = Template::parse(
        "X-Tenant",
        "{{ index .MatchContext.RegexpCaptureGroups 5 }}",
    )
    .unwrap();
    let err = t.render(&oathkeeper_session()).unwrap_err();
    assert_eq!(err.line, 1);
    assert!(err.message.contains("index out of range: 5"), "{err}");
}

#[test]
fn oathkeeper_id_token_claims() {
    let src = r#"{"aud": ["gatehouse"], "session": {{ .Extra | toJson }}, "email": {{ .Extra.identity.traits.email | toJson }}}"#;
    let t = Template::parse("claims", src).unwrap();
    let out = t.render(&oathkeeper_session()).unwrap();
    let parsed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(parsed["email"], "ada@example.org");
    assert_eq!(parsed["session"]["identity"]["traits"]["age"], 36);
}

#[test]
fn oathkeeper_cookie_mutator() {
    let t = Template::parse(
        "user",
        "{{ print .Subject }}|{{ .Extra.identity.traits.email | urlquery }}",
    )
    .unwrap();
    assert_eq!(
        t.render(&oathkeeper_session()).unwrap(),
        "9f425a8d-7ed4-4e6f-9c1b-3f0b3a7d2c11|ada%40example.org"
    );
}

#[test]
fn render_checked_flags_map_and_missing_key() {
    let s = oathkeeper_session();
    let t = Template::parse("X-Traits", "{{ .Extra.identity.traits }}").unwrap();
    let (out, report) = t.render_checked(&s).unwrap();
    assert_eq!(out, "map[age:36 email:ada@example.org roles:[admin dev]]");
    assert_eq!(
        report,
        RenderReport {
            printed_map_or_list: true,
            printed_no_value: false
        }
    );

    let t = Template::parse("X-Missing", "{{ .Extra.identity.traits.nickname }}").unwrap();
    let (out, report) = t.render_checked(&s).unwrap();
    assert_eq!(out, "<no value>");
    assert_eq!(
        report,
        RenderReport {
            printed_map_or_list: false,
            printed_no_value: true
        }
    );

    let t = Template::parse("X-Fine", "{{ .Subject }}").unwrap();
    assert_eq!(t.render_checked(&s).unwrap().1, RenderReport::default());
}

#[test]
fn parse_errors_point_at_the_problem() {
    let src = "Hello {{ .Identity.traits.email }}\n\nClick {{ .VerificationURL \n";
    let err = Template::parse("body", src).unwrap_err();
    assert_eq!((err.line, err.column), (3, 7));
    assert_eq!(err.message, "unclosed action");
    assert_eq!(err.to_string(), "template: body:3:7: unclosed action");

    let err = Template::parse("body", "a\n{{ .X | shout }}").unwrap_err();
    assert_eq!((err.line, err.column), (2, 9));
    assert_eq!(err.message, "function \"shout\" not defined");

    let err = Template::parse("body", "{{ if .A }}\nx\n{{ end }}\n{{ end }}").unwrap_err();
    assert_eq!((err.line, err.column), (4, 4));
    assert_eq!(err.message, "unexpected {{end}}");

    let err = Template::parse("body", "{{ else }}").unwrap_err();
    assert_eq!(err.message, "unexpected {{else}}");

    let err = Template::parse("body", "x {{ index }}").unwrap_err();
    assert!(
        err.message.contains("wrong number of args for index"),
        "{err}"
    );
}

#[test]
fn templates_are_shareable_across_threads() {
    let t = Arc::new(
        Template::parse(
            "X-User",
            "{{ .Subject }}:{{ index .MatchContext.RegexpCaptureGroups 1 }}",
        )
        .unwrap(),
    );
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let t = Arc::clone(&t);
            std::thread::spawn(move || t.render(&oathkeeper_session()).unwrap())
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), "9f425a8d-7ed4-4e6f-9c1b-3f0b3a7d2c11:42");
    }
}

/// Tiny deterministic xorshift so the test needs no extra dependencies.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const FRAGMENTS: &[&str] = &[
    "{{",
    "}}",
    "{{- ",
    " -}}",
    "{{/*",
    "*/}}",
    " ",
    "\n",
    "text",
    ".",
    ".A",
    ".A.B",
    ".l",
    "$",
    "$x",
    "$x :=",
    "$x =",
    ":=",
    "=",
    ",",
    "|",
    "(",
    ")",
    "\"s\"",
    "\"%d %s %v\"",
    "`raw`",
    "'c'",
    "1",
    "-2",
    "3.5",
    "0x1f",
    "1e400",
    "true",
    "nil",
    "if",
    "else",
    "end",
    "range",
    "with",
    "define",
    "template",
    "block",
    "break",
    "continue",
    "\"t\"",
    "printf",
    "print",
    "index",
    "slice",
    "len",
    "eq",
    "lt",
    "and",
    "or",
    "not",
    "default",
    "toJson",
    "fromJson",
    "split",
    "repeat",
    "dict",
    "list",
    "upper",
    "substr",
    "trunc",
    "indent",
    "div",
    "b64dec",
    "printIndex",
    ".H.Get",
    "Get",
    ".Values",
    "{{ end }}",
    "{{ else }}",
    "{{ if .A }}",
    "{{ range .l }}",
    "{{ with .m }}",
    "{{ define \"t\" }}",
    "{{ template \"t\" . }}",
    "{{ .A }}",
    "\\",
    "\"",
    "'",
    "`",
    "é",
    "}",
    "{",
    "-",
    "%",
];

#[test]
fn malformed_sources_never_panic() {
    let data = json!({"A": {"B": [1, 2]}, "l": [1, "x", null, {"k": "v"}], "m": {"a": 1},
                      "s": "str", "H": {"X-A": ["1", "2"]}});
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut parsed = 0;
    let mut rendered = 0;
    let mut oathkeeper_rendered = 0;
    for _ in 0..20_000 {
        let n = 1 + (rng.next() % 24) as usize;
        let mut src = String::new();
        for _ in 0..n {
            src.push_str(rng.pick(FRAGMENTS));
            if rng.next().is_multiple_of(3) {
                src.push(' ');
            }
        }
        match Template::parse("fuzz", &src) {
            Ok(t) => {
                parsed += 1;
                if t.render(&data).is_ok() {
                    rendered += 1;
                }
                let _ =
                    Template::parse_with("fuzz", &src, Mode::Html).map(|t| t.render_checked(&data));
            }
            Err(e) => {
                assert!(e.line >= 1 && e.column >= 1, "{e} for {src:?}");
                assert!(!e.message.is_empty());
            }
        }
        match Template::parse_oathkeeper("fuzz", &src) {
            Ok(t) => {
                if t.render_checked(&data).is_ok() {
                    oathkeeper_rendered += 1;
                }
            }
            Err(e) => assert!(e.line >= 1 && e.column >= 1, "{e} for {src:?}"),
        }
    }
    assert!(
        oathkeeper_rendered > 50,
        "only {oathkeeper_rendered} rendered as Oathkeeper"
    );
    // The generator must exercise both paths to mean anything.
    assert!(parsed > 100, "only {parsed} parsed");
    assert!(rendered > 50, "only {rendered} rendered");
}

#[test]
fn deep_nesting_is_rejected_without_overflowing_a_small_stack() {
    // 2 MiB is the default stack of spawned threads and tokio workers.
    let h = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let parens = format!("{{{{ {}1{} }}}}", "(".repeat(5000), ")".repeat(5000));
            assert!(Template::parse("p", &parens).is_err());
            let ifs = "{{ if 1 }}".repeat(5000) + &"{{ end }}".repeat(5000);
            assert!(Template::parse("i", &ifs).is_err());
            // Nested structure at the parse limit, recursed into until the
            // execution nesting limit stops it.
            let body = "{{ if 1 }}".repeat(90) + "{{ template \"r\" . }}" + &"{{ end }}".repeat(90);
            let src =
                format!("{{{{ define \"r\" }}}}{body}{{{{ end }}}}{{{{ template \"r\" . }}}}");
            let t = Template::parse("main", &src).unwrap();
            let err = t.render(&json!(null)).unwrap_err();
            assert!(err.message.contains("maximum"), "{err}");
            let mut deep = json!(1);
            for _ in 0..10_000 {
                deep = Value::Array(vec![deep]);
            }
            let t = Template::parse("d", "{{ . }}{{ toJson . }}").unwrap();
            assert!(t.render(&deep).is_err());
            // The Oathkeeper dialect copies the data to turn numbers into floats.
            let t = Template::parse_oathkeeper("d", "{{ print . }}").unwrap();
            assert!(t.render(&deep).is_err());
            // Drop iteratively so the test itself doesn't overflow.
            let mut v = deep;
            while let Value::Array(mut a) = v {
                v = a.pop().unwrap_or(Value::Null);
            }
        })
        .unwrap();
    h.join().unwrap();
}

const SEEDS: &[&str] = &[
    "Hi{{- with .Identity.traits.name }} {{ .first }}{{ end }},\n{{ .RecoveryCode }}\n",
    "{{ if .Identity.traits.name }}Hi {{ .Identity.traits.name.first }}{{ else }}Hi{{ end }}",
    "{{ range $i, $e := .l }}{{ $i }}={{ $e | toJson }}{{ else }}none{{ end }}",
    "{{ define \"t\" }}[{{ . }}]{{ end }}{{ template \"t\" .A }}{{ block \"b\" . }}{{ len .l }}{{ end }}",
    "{{ printf \"%-5s|%05.1f|%q\" .s 3.25 (index .l 1) }}{{/* note */}}",
    "{{ $x := dict \"a\" (list 1 2) }}{{ $x.a | join \",\" }}{{ $x = 3 }}{{ add $x 1 }}",
    "{{ .TransientPayload.foo | default \"x\" | upper | trunc 3 | quote }}",
];

const OATHKEEPER_SEEDS: &[&str] = &[
    "{{ print .Extra.identity.traits.email }}",
    "{{ printIndex .MatchContext.RegexpCaptureGroups 0 }}:{{ print .Subject }}",
    "{{ .MatchContext.Header.Get \"x-forwarded-for\" }}{{ \"accept\" | .MatchContext.Header.Values }}",
    "{\"sub\": {{ .Subject | toJson }}, \"n\": {{ print .Extra.n }}}",
];

#[test]
fn mutated_realistic_templates_never_panic() {
    let data = json!({"A": {"B": [1, 2]}, "l": [1, "x", null], "s": "str",
                      "Identity": {"traits": {"name": {"first": "Ada"}}}, "RecoveryCode": "1"});
    // The seeds themselves are valid.
    for seed in SEEDS {
        Template::parse("seed", seed)
            .unwrap()
            .render(&data)
            .unwrap();
    }
    let mut rng = Rng(42);
    for _ in 0..20_000 {
        let mut src: Vec<char> = rng.pick(SEEDS).chars().collect();
        for _ in 0..1 + rng.next() % 3 {
            let at = (rng.next() % (src.len() as u64 + 1)) as usize;
            match rng.next() % 3 {
                0 if at < src.len() => {
                    let len = (1 + rng.next() % 4) as usize;
                    src.drain(at..(at + len).min(src.len()));
                }
                1 => {
                    let frag: Vec<char> = rng.pick(FRAGMENTS).chars().collect();
                    src.splice(at..at, frag);
                }
                _ if at < src.len() => {
                    let c = src[at];
                    src.insert(at, c);
                }
                _ => {}
            }
        }
        let src: String = src.into_iter().collect();
        if let Ok(t) = Template::parse("m", &src) {
            let _ = t.render_checked(&data);
            let _ = format!("{t:?}");
        }
    }
}

#[test]
fn mutated_oathkeeper_templates_never_panic() {
    let data = json!({"Subject": "u", "Extra": {"identity": {"traits": {"email": "e"}}, "n": 7},
                      "Header": {}, "MatchContext": {"RegexpCaptureGroups": ["a"],
                      "Header": {"X-Forwarded-For": ["1.2.3.4"], "Accept": ["*/*"]}}});
    for seed in OATHKEEPER_SEEDS {
        Template::parse_oathkeeper("seed", seed)
            .unwrap()
            .render(&data)
            .unwrap();
    }
    let mut rng = Rng(7);
    for _ in 0..20_000 {
        let mut src: Vec<char> = rng.pick(OATHKEEPER_SEEDS).chars().collect();
        for _ in 0..1 + rng.next() % 3 {
            let at = (rng.next() % (src.len() as u64 + 1)) as usize;
            match rng.next() % 3 {
                0 if at < src.len() => {
                    let len = (1 + rng.next() % 4) as usize;
                    src.drain(at..(at + len).min(src.len()));
                }
                1 => {
                    let frag: Vec<char> = rng.pick(FRAGMENTS).chars().collect();
                    src.splice(at..at, frag);
                }
                _ if at < src.len() => {
                    let c = src[at];
                    src.insert(at, c);
                }
                _ => {}
            }
        }
        let src: String = src.into_iter().collect();
        if let Ok(t) = Template::parse_oathkeeper("m", &src) {
            let _ = t.render_checked(&data);
        }
    }
}
