//! The one error type callers see, whichever runner produced it.

use serde::{Deserialize, Serialize};

/// Why an evaluation did not produce a JSON value.
///
/// It derives serde so the worker process can send it back to the runner
/// unchanged: both ends are the same binary, so the encoding is private.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum JsonnetError {
    /// The source does not parse (or refers to an unknown variable, which
    /// Jsonnet also reports before evaluation starts).
    #[error("{file}:{line}:{column}: {message}")]
    Syntax {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// Evaluation failed: `error "..."` in the program, an assertion, an
    /// unknown field, a type error, the stack limit...
    ///
    /// For `error "..."` the message is exactly the thrown string, so
    /// [`JsonnetError::is_cancel`] can apply Kratos' rule. `trace` is a
    /// human-readable location list, one `FILE:LINE:COL: what` per line.
    #[error("jsonnet runtime error: {message}")]
    Runtime { message: String, trace: String },
    /// The evaluation ran past `Limits::timeout` (wall clock, or the CPU
    /// rlimit of the worker).
    #[error("jsonnet evaluation timed out")]
    Timeout,
    /// The worker ran out of its address-space limit.
    #[error("jsonnet evaluation exceeded its memory limit")]
    MemoryExceeded,
    /// The manifested JSON is larger than `Limits::max_output_bytes`.
    #[error("jsonnet output exceeds the size limit")]
    OutputTooLarge,
    /// The worker could not be started, crashed, or answered nonsense; also
    /// a panic inside the evaluator library.
    #[error("jsonnet worker failed: {0}")]
    Worker(String),
}

impl JsonnetError {
    /// True when the program threw `error "cancel"`: Kratos then skips the
    /// web hook instead of failing the flow.
    ///
    /// Kratos tests `strings.Contains(err.Error(), "RUNTIME ERROR: cancel")`
    /// on go-jsonnet's `RUNTIME ERROR: <message>\n<trace>` text, which is a
    /// prefix test on the message; we keep exactly that rule so a body that
    /// throws `error "cancel: not an educator"` behaves as it does in Kratos.
    pub fn is_cancel(&self) -> bool {
        matches!(self, JsonnetError::Runtime { message, .. } if message.starts_with("cancel"))
    }
}
