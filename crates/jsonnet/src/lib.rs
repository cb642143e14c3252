//! Bounded Jsonnet evaluation for gatehouse.
//!
//! Kratos renders web hook bodies (and courier HTTP payloads, claims
//! mappers) with Jsonnet programs written by the operator, called with a
//! top-level argument `ctx`. A buggy or hostile program must not hang the
//! server or exhaust its memory, so production evaluation happens in a
//! short-lived child process (`Runner::subprocess`) under `setrlimit` and a
//! wall-clock deadline, as Kratos does with its `jsonnetsecure` processes.
//!
//! * [`check_syntax`] validates a file at start-up.
//! * [`evaluate`] evaluates in the current thread (used by the worker and by
//!   tests); it enforces the stack and output limits only.
//! * [`Runner`] is what the server calls; [`run_worker`] is the child side.

mod error;
mod eval;
mod nesting;
mod report;
mod runner;
mod worker;

use std::time::Duration;

pub use error::JsonnetError;
pub use eval::{check_syntax, evaluate};
pub use runner::Runner;
pub use worker::run_worker;

/// Resource bounds for one evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock bound for one evaluation, process start-up included.
    pub timeout: Duration,
    /// Address-space limit (`RLIMIT_AS`) of the worker process.
    pub max_memory_bytes: u64,
    /// Largest manifested JSON accepted, in bytes.
    pub max_output_bytes: usize,
    /// Jsonnet call-stack depth (function calls and nested evaluations).
    pub max_stack: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(1),
            max_memory_bytes: 128 * 1024 * 1024,
            max_output_bytes: 1024 * 1024,
            max_stack: 200,
        }
    }
}
