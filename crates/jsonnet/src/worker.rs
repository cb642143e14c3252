//! The child side of `Runner::subprocess`, and the line protocol both use.
//!
//! One job per line on stdin, one reply per line on stdout. The worker
//! serves jobs until stdin closes; the runner sends one job per process.

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{JsonnetError, Limits, evaluate};

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Job {
    pub(crate) file_name: String,
    pub(crate) source: String,
    pub(crate) tla: Vec<(String, serde_json::Value)>,
    pub(crate) ext_vars: Vec<(String, serde_json::Value)>,
    pub(crate) limits: WireLimits,
}

/// `Limits` as sent to the worker (the public type stays serde-free).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct WireLimits {
    pub(crate) timeout_ms: u64,
    pub(crate) max_memory_bytes: u64,
    pub(crate) max_output_bytes: usize,
    pub(crate) max_stack: usize,
}

impl From<&Limits> for WireLimits {
    fn from(l: &Limits) -> Self {
        WireLimits {
            timeout_ms: u64::try_from(l.timeout.as_millis()).unwrap_or(u64::MAX),
            max_memory_bytes: l.max_memory_bytes,
            max_output_bytes: l.max_output_bytes,
            max_stack: l.max_stack,
        }
    }
}

impl From<&WireLimits> for Limits {
    fn from(l: &WireLimits) -> Self {
        Limits {
            timeout: Duration::from_millis(l.timeout_ms),
            max_memory_bytes: l.max_memory_bytes,
            max_output_bytes: l.max_output_bytes,
            max_stack: l.max_stack,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Reply {
    /// The result as JSON text, parsed by the runner: nesting it inside the
    /// reply would add a level and could trip serde_json's depth limit on
    /// output `evaluate` itself accepted.
    Ok(String),
    Err(JsonnetError),
}

/// The worker side: reads jobs from stdin, applies `setrlimit` (address
/// space = `max_memory_bytes`, CPU seconds = ceil(timeout) + 1) before
/// evaluating, writes results to stdout. The gatehouse binary calls this
/// from a hidden `jsonnet-worker` subcommand.
///
/// Exit code 0 when stdin closes, 2 when stdin/stdout fail or the limits
/// cannot be applied — the runner then reports a `Worker` error.
pub fn run_worker() -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    let mut limits_applied = false;
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else {
            return ExitCode::from(2);
        };
        let reply = match serde_json::from_str::<Job>(&line) {
            Err(e) => Reply::Err(JsonnetError::Worker(format!("unreadable job: {e}"))),
            Ok(job) => {
                // rlimits only ever tighten, and CPU time accumulates over
                // the process' life, so a worker applies them once: the
                // runner's one-job-per-process use is what makes them exact.
                let limits = Limits::from(&job.limits);
                if !limits_applied {
                    if let Err(e) = apply_rlimits(&limits) {
                        let msg = format!("cannot apply resource limits: {e}");
                        let _ = write_reply(&mut stdout, &Reply::Err(JsonnetError::Worker(msg)));
                        return ExitCode::from(2);
                    }
                    limits_applied = true;
                }
                match evaluate(
                    &job.file_name,
                    &job.source,
                    &job.tla,
                    &job.ext_vars,
                    &limits,
                ) {
                    Ok(value) => match serde_json::to_string(&value) {
                        Ok(text) => Reply::Ok(text),
                        Err(e) => Reply::Err(JsonnetError::Worker(format!("encode result: {e}"))),
                    },
                    Err(e) => Reply::Err(e),
                }
            }
        };
        if write_reply(&mut stdout, &reply).is_err() {
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}

fn write_reply(out: &mut impl Write, reply: &Reply) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(reply).map_err(std::io::Error::other)?;
    line.push(b'\n');
    out.write_all(&line)?;
    out.flush()
}

/// Hard resource bounds, so even a worker the parent lost track of cannot
/// run away: past the address-space limit allocation fails (Rust aborts
/// with "memory allocation of N bytes failed", which the runner reports as
/// `MemoryExceeded`); past the soft CPU limit the kernel sends SIGXCPU
/// (reported as `Timeout`), and SIGKILL one second later.
fn apply_rlimits(limits: &Limits) -> std::io::Result<()> {
    use rlimit::Resource;
    let cpu_secs = limits.timeout.as_secs() + u64::from(limits.timeout.subsec_nanos() > 0) + 1;
    tighten(Resource::CPU, cpu_secs, cpu_secs + 1)?;
    tighten(
        Resource::AS,
        limits.max_memory_bytes,
        limits.max_memory_bytes,
    )
}

/// Sets a limit, never above the inherited hard limit (raising that is not
/// allowed, and a tighter limit from the environment should stay).
fn tighten(resource: rlimit::Resource, soft: u64, hard: u64) -> std::io::Result<()> {
    let (_, current_hard) = rlimit::getrlimit(resource)?;
    let hard = hard.min(current_hard);
    rlimit::setrlimit(resource, soft.min(hard), hard)
}
