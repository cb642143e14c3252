//! `Runner` end to end: the crate's real worker binary as the child.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use gatehouse_jsonnet::{JsonnetError, Limits, Runner};
use serde_json::{Value, json};

const REFERENCE_BODY: &str = r#"function(ctx) if ctx.identity.traits.user_type == "educator" then { email: ctx.identity.traits.email } else error "cancel""#;
/// 2^40 calls at depth 40: burns CPU, not memory or stack.
const SPIN: &str = "local f(n) = if n == 0 then 0 else f(n - 1) + f(n - 1); f(40)";

fn worker(limits: Limits) -> Runner {
    Runner::subprocess(
        PathBuf::from(env!("CARGO_BIN_EXE_jsonnet-worker")),
        vec![],
        limits,
    )
}

fn sh(script: &str) -> Runner {
    Runner::subprocess(
        PathBuf::from("/bin/sh"),
        vec!["-c".into(), script.into()],
        Limits::default(),
    )
}

fn ctx(user_type: &str) -> Vec<(String, Value)> {
    vec![(
        "ctx".into(),
        json!({ "identity": { "traits": { "email": "ada@example.org", "user_type": user_type } } }),
    )]
}

#[tokio::test]
async fn subprocess_evaluates_the_reference_body() {
    let runner = worker(Limits::default());
    let out = runner
        .evaluate("body.jsonnet", REFERENCE_BODY, ctx("educator"))
        .await
        .unwrap();
    assert_eq!(out, json!({ "email": "ada@example.org" }));

    let err = runner
        .evaluate("body.jsonnet", REFERENCE_BODY, ctx("student"))
        .await
        .unwrap_err();
    assert!(err.is_cancel(), "{err:?}");
}

#[tokio::test]
async fn subprocess_reports_syntax_and_runtime_errors() {
    let runner = worker(Limits::default());
    let err = runner
        .evaluate("bad.jsonnet", "function(ctx) {\n  a: 1\n  b: 2\n}", vec![])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, JsonnetError::Syntax { file, line: 3, column: 3, .. } if file == "bad.jsonnet"),
        "{err:?}"
    );
    let err = runner
        .evaluate("r.jsonnet", "function(ctx) ctx.nope", ctx("x"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, JsonnetError::Runtime { message, .. } if message == r#"unknown field "nope""#),
        "{err:?}"
    );
}

#[tokio::test]
async fn subprocess_infinite_recursion_is_a_stack_error() {
    let start = Instant::now();
    let err = worker(Limits::default())
        .evaluate("rec.jsonnet", "local f(x) = f(x) + 1; f(0)", vec![])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, JsonnetError::Runtime { message, .. } if message.contains("stack overflow")),
        "{err:?}"
    );
    assert!(start.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn subprocess_timeout_kills_the_child() {
    let limits = Limits {
        timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let start = Instant::now();
    let err = worker(limits)
        .evaluate("spin.jsonnet", SPIN, vec![])
        .await
        .unwrap_err();
    let took = start.elapsed();
    assert_eq!(err, JsonnetError::Timeout);
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_millis(1500),
        "{took:?}"
    );
}

#[tokio::test]
async fn subprocess_memory_blowup_is_contained() {
    let limits = Limits {
        timeout: Duration::from_secs(5),
        ..Limits::default()
    };
    // The first is Kratos' own request/stub/oom.jsonnet.
    for source in [
        r#"function(ctx) { user_id: std.repeat("a", 1000000000) }"#,
        "std.range(1, 1e9)",
        "std.length([x for x in std.range(1, 3000000)])",
    ] {
        let start = Instant::now();
        let err = worker(limits.clone())
            .evaluate("oom.jsonnet", source, ctx("x"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, JsonnetError::MemoryExceeded | JsonnetError::Timeout),
            "{source}: {err:?}"
        );
        assert!(start.elapsed() < Duration::from_secs(5), "{source}");
    }
}

#[tokio::test]
async fn subprocess_huge_output_is_refused() {
    let err = worker(Limits::default())
        .evaluate("big.jsonnet", r#"std.repeat("x", 2 * 1024 * 1024)"#, vec![])
        .await
        .unwrap_err();
    assert_eq!(err, JsonnetError::OutputTooLarge);
}

#[tokio::test]
async fn worker_crash_and_nonsense_are_worker_errors() {
    let cases = [
        // Dies by signal without answering.
        sh("kill -SEGV $$"),
        // Reads the job, exits non-zero.
        sh("cat >/dev/null; echo 'it broke' >&2; exit 3"),
        // Answers something that is not a reply.
        sh("cat >/dev/null; echo '{\"nonsense\": true}'"),
        // Exits at once, before the job is even written.
        sh("exit 0"),
    ];
    for runner in cases {
        let err = runner.evaluate("x.jsonnet", "1", vec![]).await.unwrap_err();
        assert!(matches!(err, JsonnetError::Worker(_)), "{err:?}");
    }
    let err = sh("cat >/dev/null; echo 'it broke' >&2; exit 3")
        .evaluate("x.jsonnet", "1", vec![])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("it broke"), "{err}");

    let err = Runner::subprocess(
        PathBuf::from("/nonexistent/gatehouse"),
        vec![],
        Limits::default(),
    )
    .evaluate("x.jsonnet", "1", vec![])
    .await
    .unwrap_err();
    assert!(
        matches!(&err, JsonnetError::Worker(m) if m.contains("cannot start")),
        "{err:?}"
    );
}

#[tokio::test]
async fn stuck_worker_times_out() {
    // A child that never answers nor exits.
    let runner = Runner::subprocess(
        PathBuf::from("/bin/sh"),
        vec!["-c".into(), "exec sleep 30".into()],
        Limits {
            timeout: Duration::from_millis(200),
            ..Limits::default()
        },
    );
    let start = Instant::now();
    let err = runner.evaluate("x.jsonnet", "1", vec![]).await.unwrap_err();
    assert_eq!(err, JsonnetError::Timeout);
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_subprocess_evaluations() {
    let runner = worker(Limits::default());
    let mut tasks = Vec::new();
    for i in 0..16 {
        let runner = runner.clone();
        tasks.push(tokio::spawn(async move {
            runner
                .evaluate(
                    "n.jsonnet",
                    "function(ctx) { n: ctx.n * 2 }",
                    vec![("ctx".into(), json!({ "n": i }))],
                )
                .await
        }));
    }
    for (i, task) in tasks.into_iter().enumerate() {
        assert_eq!(task.await.unwrap().unwrap(), json!({ "n": i * 2 }));
    }
}

#[tokio::test]
async fn in_process_runner_evaluates_and_times_out() {
    let runner = Runner::in_process(Limits::default());
    let out = runner
        .evaluate("body.jsonnet", REFERENCE_BODY, ctx("educator"))
        .await
        .unwrap();
    assert_eq!(out, json!({ "email": "ada@example.org" }));
    let err = runner
        .evaluate("body.jsonnet", REFERENCE_BODY, ctx("student"))
        .await
        .unwrap_err();
    assert!(err.is_cancel());

    // The caller gets Timeout at the deadline; the thread runs on until the
    // program ends (here a few seconds of CPU: 2^22 calls).
    let runner = Runner::in_process(Limits {
        timeout: Duration::from_millis(100),
        ..Limits::default()
    });
    let start = Instant::now();
    let err = runner
        .evaluate(
            "spin.jsonnet",
            "local f(n) = if n == 0 then 0 else f(n - 1) + f(n - 1); f(22)",
            vec![],
        )
        .await
        .unwrap_err();
    assert_eq!(err, JsonnetError::Timeout);
    assert!(start.elapsed() < Duration::from_millis(600));
}
