//! Measures per-call latency. Run with
//! `cargo build --release --bins --examples && target/release/examples/latency`
//! (the worker binary is looked up next to the examples directory).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use gatehouse_jsonnet::{JsonnetError, Limits, Runner, check_syntax, evaluate};
use serde_json::{Value, json};

const REFERENCE_BODY: &str = r#"function(ctx) if ctx.identity.traits.user_type == "educator" then { email: ctx.identity.traits.email } else error "cancel""#;

fn stats(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let n = samples.len();
    let mean = samples.iter().sum::<Duration>() / n as u32;
    println!(
        "{name:<40} n={n:<4} mean={mean:>10.3?} p50={:>10.3?} p99={:>10.3?}",
        samples[n / 2],
        samples[(n * 99) / 100]
    );
}

fn ctx() -> Vec<(String, Value)> {
    vec![(
        "ctx".into(),
        json!({ "identity": { "id": "x", "traits": { "email": "ada@example.org", "user_type": "educator" } }, "flow": { "id": "f" } }),
    )]
}

fn time<T>(n: usize, mut f: impl FnMut() -> T) -> Vec<Duration> {
    (0..n)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed()
        })
        .collect()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let exe = std::env::current_exe()?;
    let worker = exe
        .parent()
        .and_then(|p| p.parent())
        .map(|p| p.join("jsonnet-worker"))
        .ok_or("no worker path")?;
    let limits = Limits::default();

    stats(
        "check_syntax(reference body)",
        time(300, || check_syntax("b.jsonnet", REFERENCE_BODY)),
    );
    stats(
        "evaluate(reference body), in-process",
        time(300, || {
            evaluate("b.jsonnet", REFERENCE_BODY, &ctx(), &[], &limits)
        }),
    );
    let inproc = Runner::in_process(limits.clone());
    let mut samples = Vec::new();
    for _ in 0..300 {
        let t = Instant::now();
        inproc.evaluate("b.jsonnet", REFERENCE_BODY, ctx()).await?;
        samples.push(t.elapsed());
    }
    stats("Runner::in_process round trip", samples);

    let sub = Runner::subprocess(PathBuf::from(&worker), vec![], limits.clone());
    let mut samples = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        sub.evaluate("b.jsonnet", REFERENCE_BODY, ctx()).await?;
        samples.push(t.elapsed());
    }
    stats("Runner::subprocess round trip (fresh)", samples);

    // Throughput with concurrent callers on this 2-core machine.
    let t = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let sub = sub.clone();
        tasks.push(tokio::spawn(async move {
            sub.evaluate("b.jsonnet", REFERENCE_BODY, ctx()).await
        }));
    }
    for task in tasks {
        task.await??;
    }
    println!(
        "Runner::subprocess 200 calls, all concurrent: {:.3?} total, {:.3?}/call",
        t.elapsed(),
        t.elapsed() / 200
    );

    let hostile = [
        (
            "std.repeat 1e9 (Kratos oom stub)",
            r#"function(ctx) { user_id: std.repeat("a", 1000000000) }"#,
        ),
        ("std.range(1, 1e9)", "std.range(1, 1e9)"),
        (
            "3e6-element comprehension",
            "std.length([x for x in std.range(1, 3000000)])",
        ),
        (
            "exponential recursion f(40)",
            "local f(n) = if n == 0 then 0 else f(n - 1) + f(n - 1); f(40)",
        ),
        ("infinite recursion", "local f(x) = f(x) + 1; f(0)"),
        ("2 MiB output", r#"std.repeat("x", 2 * 1024 * 1024)"#),
    ];
    for (name, source) in hostile {
        let t = Instant::now();
        let r: Result<Value, JsonnetError> = sub.evaluate("h.jsonnet", source, ctx()).await;
        let what = match r {
            Ok(_) => "Ok".to_string(),
            Err(JsonnetError::Runtime { message, .. }) => format!("Runtime({message})"),
            Err(e) => format!("{e:?}"),
        };
        println!("hostile {name:<34} -> {what} in {:.3?}", t.elapsed());
    }
    Ok(())
}
