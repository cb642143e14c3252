//! A timed-out worker is killed and reaped before `evaluate` returns.
//! Alone in its test binary, so no other test's children are around.

use std::path::PathBuf;
use std::time::Duration;

use gatehouse_jsonnet::{JsonnetError, Limits, Runner};

/// (pid, state) of every child of this process, from /proc.
fn children() -> std::io::Result<Vec<(u32, char)>> {
    let me = std::process::id();
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc")?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid ..." — comm may contain spaces.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next().and_then(|s| s.chars().next()).unwrap_or('?');
        let ppid: u32 = fields.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        if ppid == me {
            out.push((pid, state));
        }
    }
    Ok(out)
}

#[tokio::test]
async fn timed_out_worker_leaves_no_process_behind() {
    let runner = Runner::subprocess(
        PathBuf::from(env!("CARGO_BIN_EXE_jsonnet-worker")),
        vec![],
        Limits {
            timeout: Duration::from_millis(300),
            ..Limits::default()
        },
    );
    assert_eq!(children().unwrap(), vec![]);
    let spin = "local f(n) = if n == 0 then 0 else f(n - 1) + f(n - 1); f(40)";
    let err = runner
        .evaluate("spin.jsonnet", spin, vec![])
        .await
        .unwrap_err();
    assert_eq!(err, JsonnetError::Timeout);
    // Neither running nor a zombie: killed and waited for.
    assert_eq!(children().unwrap(), vec![]);

    // A caller that gives up (drops the future) also kills the child.
    let pending = runner.evaluate("spin.jsonnet", spin, vec![]);
    let _ = tokio::time::timeout(Duration::from_millis(100), pending).await;
    let mut alive = children().unwrap();
    for _ in 0..50 {
        alive.retain(|(_, state)| *state != 'Z');
        if alive.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        alive = children().unwrap();
    }
    assert_eq!(alive, vec![], "child still running after drop");
}
