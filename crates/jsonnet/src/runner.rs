//! The bounded runner the server calls.

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use crate::worker::{Job, Reply, WireLimits};
use crate::{JsonnetError, Limits, evaluate};

/// How much of a worker's stderr is kept to explain a crash; the rest is
/// read and dropped so the worker never blocks on a full pipe.
const STDERR_KEEP: usize = 4096;

/// Evaluates Jsonnet programs under [`Limits`].
#[derive(Debug, Clone)]
pub struct Runner {
    mode: Mode,
    limits: Limits,
}

#[derive(Debug, Clone)]
enum Mode {
    Subprocess { program: PathBuf, args: Vec<String> },
    InProcess,
}

impl Runner {
    /// The bounded runner: spawns `program args...` (the gatehouse binary
    /// re-invoked with its hidden `jsonnet-worker` subcommand), sends the
    /// job as one JSON line on stdin, reads one JSON line from stdout, and
    /// kills the child at the timeout. One fresh process per evaluation:
    /// rlimits (CPU time especially) are per process, so that is what makes
    /// them exact, and the cost is a few milliseconds (see README).
    pub fn subprocess(program: PathBuf, args: Vec<String>, limits: Limits) -> Runner {
        Runner {
            mode: Mode::Subprocess { program, args },
            limits,
        }
    }

    /// Evaluates on a thread of this process, for tests and trusted
    /// programs. The caller gets `Timeout` at the deadline, but nothing can
    /// stop the evaluation thread: it runs on until the program finishes or
    /// fails, keeping a core busy. Memory is not bounded at all — a program
    /// that allocates without limit aborts the whole process. Stack depth
    /// and output size are enforced.
    pub fn in_process(limits: Limits) -> Runner {
        Runner {
            mode: Mode::InProcess,
            limits,
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Evaluates `source` with top-level arguments `tla` (Kratos: `ctx`)
    /// and returns the manifested JSON value.
    pub async fn evaluate(
        &self,
        file_name: &str,
        source: &str,
        tla: Vec<(String, serde_json::Value)>,
    ) -> Result<serde_json::Value, JsonnetError> {
        match &self.mode {
            Mode::InProcess => self.in_thread(file_name, source, tla).await,
            Mode::Subprocess { program, args } => {
                let job = Job {
                    file_name: file_name.to_owned(),
                    source: source.to_owned(),
                    tla,
                    ext_vars: Vec::new(),
                    limits: WireLimits::from(&self.limits),
                };
                self.in_child(program, args, &job).await
            }
        }
    }

    async fn in_thread(
        &self,
        file_name: &str,
        source: &str,
        tla: Vec<(String, serde_json::Value)>,
    ) -> Result<serde_json::Value, JsonnetError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (file_name, source, limits) =
            (file_name.to_owned(), source.to_owned(), self.limits.clone());
        // A plain thread rather than spawn_blocking: a run-away evaluation
        // must not hold a blocking-pool slot or delay runtime shutdown.
        std::thread::Builder::new()
            .name("jsonnet-in-process".into())
            .spawn(move || {
                // The receiver is gone after a timeout; nothing to tell.
                let _ = tx.send(evaluate(&file_name, &source, &tla, &[], &limits));
            })
            .map_err(|e| JsonnetError::Worker(format!("cannot start evaluation thread: {e}")))?;
        match tokio::time::timeout(self.limits.timeout, rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(JsonnetError::Worker(
                "evaluation thread ended without a result".into(),
            )),
            Err(_) => Err(JsonnetError::Timeout),
        }
    }

    async fn in_child(
        &self,
        program: &PathBuf,
        args: &[String],
        job: &Job,
    ) -> Result<serde_json::Value, JsonnetError> {
        let deadline = tokio::time::Instant::now() + self.limits.timeout;
        let mut line = serde_json::to_vec(job)
            .map_err(|e| JsonnetError::Worker(format!("cannot encode job: {e}")))?;
        line.push(b'\n');

        let mut child = Command::new(program)
            .args(args)
            // A panic backtrace would only cost time and memory in the child.
            .env("RUST_BACKTRACE", "0")
            // glibc gives the evaluation thread its own malloc arena by
            // reserving 128 MiB of address space, which never fits under
            // RLIMIT_AS; it then retries on every allocation (measured: 2,000+
            // failed mmaps, 20 ms instead of 2 ms per evaluation). One arena
            // is all a single evaluation needs.
            .env("MALLOC_ARENA_MAX", "1")
            // The same for mimalloc (the gatehouse binary's allocator): it reserves
            // 1 GiB of address space for its first arena and at least 64 MiB with a
            // smaller setting, which leaves no room under RLIMIT_AS for the evaluation
            // thread's stack. With no reserve it maps what it uses.
            .env("MIMALLOC_ARENA_RESERVE", "0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // If the caller drops this future, the child dies with it (tokio
            // reaps it in the background).
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                JsonnetError::Worker(format!("cannot start {}: {e}", program.display()))
            })?;
        let (Some(mut stdin), Some(stdout), Some(mut stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(JsonnetError::Worker("worker pipes missing".into()));
        };
        // A reply is the result re-encoded (≤ max_output_bytes) and then
        // escaped as a JSON string (at most doubled), plus the envelope.
        let reply_cap = self.limits.max_output_bytes.saturating_mul(2) + 4096;

        let exchange = async {
            let write = async {
                // A worker that dies early closes its stdin; its exit
                // status says why, so the write error itself is not needed.
                let _ = stdin.write_all(&line).await;
                drop(stdin);
            };
            let read = async {
                let mut out = Vec::new();
                let mut limited = stdout.take(reply_cap as u64 + 1);
                limited.read_to_end(&mut out).await.map(|_| out)
            };
            let (_, out) = tokio::join!(write, read);
            let too_large = matches!(&out, Ok(out) if out.len() > reply_cap);
            if too_large {
                let _ = child.start_kill();
            }
            let status = child.wait().await;
            (out, status, too_large)
        };
        let drain_stderr = async {
            let mut kept = Vec::new();
            let _ = (&mut stderr)
                .take(STDERR_KEEP as u64)
                .read_to_end(&mut kept)
                .await;
            let _ = tokio::io::copy(&mut stderr, &mut tokio::io::sink()).await;
            kept
        };

        let outcome =
            tokio::time::timeout_at(deadline, async { tokio::join!(exchange, drain_stderr) }).await;
        let ((out, status, too_large), err) = match outcome {
            Ok(done) => done,
            Err(_) => {
                // Kill and reap now, so no zombie outlives the call.
                let _ = child.start_kill();
                let _ = child.wait().await;
                return Err(JsonnetError::Timeout);
            }
        };
        if too_large {
            return Err(JsonnetError::OutputTooLarge);
        }
        let out = out.map_err(|e| JsonnetError::Worker(format!("reading worker output: {e}")))?;
        let status =
            status.map_err(|e| JsonnetError::Worker(format!("waiting for worker: {e}")))?;
        interpret(&out, status, &err)
    }
}

/// Turns what a finished worker left behind into the caller's result.
fn interpret(
    out: &[u8],
    status: ExitStatus,
    stderr: &[u8],
) -> Result<serde_json::Value, JsonnetError> {
    let first_line = out.split(|&b| b == b'\n').next().unwrap_or_default();
    if let Ok(reply) = serde_json::from_slice::<Reply>(first_line) {
        return match reply {
            Reply::Ok(text) => serde_json::from_str(&text)
                .map_err(|e| JsonnetError::Worker(format!("unreadable result: {e}"))),
            Reply::Err(e) => Err(e),
        };
    }
    let stderr = String::from_utf8_lossy(stderr);
    // Under RLIMIT_AS a failed allocation makes Rust print this and abort.
    if stderr.contains("memory allocation of") {
        return Err(JsonnetError::MemoryExceeded);
    }
    // SIGXCPU at the soft CPU limit, SIGKILL at the hard one.
    if matches!(status.signal(), Some(libc::SIGXCPU | libc::SIGKILL)) {
        return Err(JsonnetError::Timeout);
    }
    Err(JsonnetError::Worker(format!(
        "worker {status} without a reply{}{}",
        if stderr.trim().is_empty() { "" } else { ": " },
        stderr.trim()
    )))
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::ExitStatusExt;
    use std::process::ExitStatus;

    use super::interpret;
    use crate::JsonnetError;

    #[test]
    fn a_reply_wins_over_the_exit_status() {
        let out = b"{\"Ok\":\"{\\\"a\\\":1}\"}\n";
        let value = interpret(out, ExitStatus::from_raw(0), b"").unwrap();
        assert_eq!(value, serde_json::json!({ "a": 1 }));
        let out = b"{\"Err\":\"Timeout\"}\n";
        assert_eq!(
            interpret(out, ExitStatus::from_raw(0), b""),
            Err(JsonnetError::Timeout)
        );
    }

    #[test]
    fn how_a_silent_worker_died_decides_the_error() {
        let abort = ExitStatus::from_raw(libc::SIGABRT);
        assert_eq!(
            interpret(b"", abort, b"memory allocation of 800 bytes failed\n"),
            Err(JsonnetError::MemoryExceeded)
        );
        assert_eq!(
            interpret(b"", ExitStatus::from_raw(libc::SIGXCPU), b""),
            Err(JsonnetError::Timeout)
        );
        assert!(matches!(
            interpret(b"garbage\n", ExitStatus::from_raw(3 << 8), b"boom"),
            Err(JsonnetError::Worker(m)) if m.contains("boom")
        ));
    }
}
