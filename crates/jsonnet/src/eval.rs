//! In-process parsing and evaluation on top of rsjsonnet-lang.

use std::collections::HashSet;

use rsjsonnet_lang::arena::Arena;
use rsjsonnet_lang::interner::InternedStr;
use rsjsonnet_lang::program::{
    Callbacks, EvalError, EvalStackTraceItem, ImportError, NativeError, Program, Thunk, Value,
};
use rsjsonnet_lang::span::SpanId;

use crate::report::{self, Source};
use crate::{JsonnetError, Limits, nesting};

/// Stack for the thread that runs rsjsonnet: covers `nesting::MAX_NESTING`
/// levels of the parser's native recursion with a 2x (debug) to 4x
/// (release) margin. Debug frames are ~9x larger. The worker's address-space
/// limit must leave room for it.
const EVAL_STACK_BYTES: usize = if cfg!(debug_assertions) {
    32 << 20
} else {
    8 << 20
};

/// Deepest JSON argument converted into Jsonnet values. The conversion
/// recurses on the native stack; serde_json's own parser stops at 128.
const MAX_ARG_DEPTH: usize = 512;

/// Error messages and traces are cut to this many bytes: `error` can throw
/// a string of any size, and the reply must stay small.
const MAX_MESSAGE_BYTES: usize = 16 * 1024;

/// Parses only, for start-up validation: a syntax error names file, line and
/// column. Unknown variables are reported here too, as Jsonnet finds them
/// before evaluation.
pub fn check_syntax(file_name: &str, source: &str) -> Result<(), JsonnetError> {
    on_eval_thread(|| {
        let arena = Arena::new();
        let mut program = Program::new(&arena);
        load(&mut program, file_name, source).map(|_| ())
    })
}

/// In-process evaluation (used by the worker and by unit tests).
///
/// `tla` are top-level arguments given as JSON values (Kratos passes `ctx`);
/// they apply when the file evaluates to a function and are ignored
/// otherwise, as in the Jsonnet CLI. `ext_vars` are read with
/// `std.extVar`; a name given twice keeps its last value. Imports and
/// native functions are disabled. The result is the manifested JSON value.
///
/// Enforces `max_stack` and `max_output_bytes`; it cannot enforce time or
/// memory — a run-away program keeps this thread busy and may abort the
/// process on allocation failure. Use [`crate::Runner::subprocess`] for
/// untrusted programs.
pub fn evaluate(
    file_name: &str,
    source: &str,
    tla: &[(String, serde_json::Value)],
    ext_vars: &[(String, serde_json::Value)],
    limits: &Limits,
) -> Result<serde_json::Value, JsonnetError> {
    on_eval_thread(|| evaluate_here(file_name, source, tla, ext_vars, limits))
}

/// Runs `f` on a scoped thread with [`EVAL_STACK_BYTES`] of stack, whatever
/// the caller's stack (tokio workers have 2 MiB). The thread also contains
/// panics: rsjsonnet has internal `unwrap`s and `unreachable!`s, and should
/// one fire the caller gets an error, not a dead thread or a lost reply.
fn on_eval_thread<T: Send>(
    f: impl FnOnce() -> Result<T, JsonnetError> + Send,
) -> Result<T, JsonnetError> {
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .name("jsonnet-eval".into())
            .stack_size(EVAL_STACK_BYTES)
            .spawn_scoped(scope, f)
            .map_err(|e| match e.kind() {
                // Under the worker's RLIMIT_AS the stack mapping may not fit.
                std::io::ErrorKind::OutOfMemory => JsonnetError::MemoryExceeded,
                _ => JsonnetError::Worker(format!("cannot start evaluation thread: {e}")),
            })?;
        thread.join().unwrap_or_else(|payload| {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(JsonnetError::Worker(format!("evaluator panicked: {what}")))
        })
    })
}

fn evaluate_here(
    file_name: &str,
    source: &str,
    tla: &[(String, serde_json::Value)],
    ext_vars: &[(String, serde_json::Value)],
    limits: &Limits,
) -> Result<serde_json::Value, JsonnetError> {
    let arena = Arena::new();
    let mut program = Program::new(&arena);
    program.set_max_stack(limits.max_stack);

    // `add_ext_var` panics on a repeated name; keep the last one given.
    let mut seen = HashSet::new();
    for (name, value) in ext_vars.iter().rev() {
        if seen.insert(name.as_str()) {
            let value = to_jsonnet(&mut program, value, 0)?;
            let thunk = program.value_to_thunk(&value);
            let name = program.intern_str(name);
            program.add_ext_var(name, &thunk);
        }
    }

    let (thunk, src) = load(&mut program, file_name, source)?;
    let fail = |program: &Program<'_>, err: EvalError| runtime_error(program, &src, limits, err);
    let mut callbacks = NoHost;

    let top = program
        .eval_value(&thunk, &mut callbacks)
        .map_err(|e| fail(&program, e))?;
    let result = if top.is_function() {
        // Turn every value into a rooted thunk before the next evaluation
        // step: rsjsonnet only keeps thunks alive across garbage collection.
        let func = program.value_to_thunk(&top);
        let mut args: Vec<(InternedStr<'_>, Thunk<'_>)> = Vec::with_capacity(tla.len());
        for (name, value) in tla {
            let value = to_jsonnet(&mut program, value, 0)?;
            args.push((program.intern_str(name), program.value_to_thunk(&value)));
        }
        program
            .eval_call(&func, &[], &args, &mut callbacks)
            .map_err(|e| fail(&program, e))?
    } else {
        top
    };

    let text = program
        .manifest_json(&result, false)
        .map_err(|e| fail(&program, e))?;
    if text.len() > limits.max_output_bytes {
        return Err(JsonnetError::OutputTooLarge);
    }
    // serde_json refuses nesting past 128 levels (its parser recurses); no
    // web hook body comes close, so that limit stays.
    serde_json::from_str(&text).map_err(|e| JsonnetError::Runtime {
        message: format!("output cannot be read back as JSON (nested over 128 levels?): {e}"),
        trace: String::new(),
    })
}

fn load<'p, 's>(
    program: &mut Program<'p>,
    file_name: &'s str,
    source: &'s str,
) -> Result<(Thunk<'p>, Source<'s>), JsonnetError> {
    let text = source.as_bytes();
    let (ctx, _) = program.span_manager_mut().insert_source_context(text.len());
    let src = Source {
        file_name,
        text,
        ctx,
    };
    if let Some(offset) = nesting::too_deep(text) {
        let pos = report::line_col(file_name, text, offset);
        return Err(JsonnetError::Syntax {
            file: pos.file,
            line: pos.line,
            column: pos.column,
            message: format!(
                "expression nests too deeply (limit {} levels)",
                nesting::MAX_NESTING
            ),
        });
    }
    match program.load_source(ctx, text, true, file_name) {
        Ok(thunk) => Ok((thunk, src)),
        Err(err) => {
            let (message, span) = report::load_error(&err);
            let pos = src.position(program, span);
            Err(JsonnetError::Syntax {
                file: pos.file,
                line: pos.line,
                column: pos.column,
                message,
            })
        }
    }
}

fn runtime_error(
    program: &Program<'_>,
    src: &Source<'_>,
    limits: &Limits,
    err: EvalError,
) -> JsonnetError {
    let (message, span): (String, Option<SpanId>) = report::eval_error(&err.kind, limits.max_stack);
    let mut trace = String::new();
    if let Some(span) = span {
        trace.push_str(&format!("{}: error\n", src.position(program, span)));
    }
    trace.push_str(&report::stack_trace(program, src, &err.stack_trace));
    JsonnetError::Runtime {
        message: truncate(message),
        trace: truncate(trace),
    }
}

fn truncate(mut text: String) -> String {
    if text.len() > MAX_MESSAGE_BYTES {
        let mut end = MAX_MESSAGE_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str("...");
    }
    text
}

fn to_jsonnet<'p>(
    program: &mut Program<'p>,
    value: &serde_json::Value,
    depth: usize,
) -> Result<Value<'p>, JsonnetError> {
    use serde_json::Value as J;
    if depth > MAX_ARG_DEPTH {
        return Err(JsonnetError::Runtime {
            message: format!("argument nests deeper than {MAX_ARG_DEPTH} levels"),
            trace: String::new(),
        });
    }
    Ok(match value {
        J::Null => Value::null(),
        J::Bool(b) => Value::bool(*b),
        // Without serde_json's arbitrary_precision every number has an f64
        // form; Jsonnet numbers are f64 anyway.
        J::Number(n) => Value::number(n.as_f64().unwrap_or_default()),
        J::String(s) => Value::string(s),
        J::Array(items) => {
            let mut values = Vec::with_capacity(items.len());
            for item in items {
                values.push(to_jsonnet(program, item, depth + 1)?);
            }
            program.make_array(&values)
        }
        J::Object(map) => {
            let mut fields = Vec::with_capacity(map.len());
            for (key, item) in map {
                let item = to_jsonnet(program, item, depth + 1)?;
                fields.push((program.intern_str(key), item));
            }
            program.make_object(&fields)
        }
    })
}

/// Web hook bodies get no access to the host: no file imports (Kratos'
/// jsonnetsecure refuses them too), no native functions; `std.trace`
/// output is dropped.
struct NoHost;

impl<'p> Callbacks<'p> for NoHost {
    fn import(
        &mut self,
        _: &mut Program<'p>,
        _: SpanId,
        _: &str,
    ) -> Result<Thunk<'p>, ImportError> {
        Err(ImportError)
    }

    fn import_str(
        &mut self,
        _: &mut Program<'p>,
        _: SpanId,
        _: &str,
    ) -> Result<String, ImportError> {
        Err(ImportError)
    }

    fn import_bin(
        &mut self,
        _: &mut Program<'p>,
        _: SpanId,
        _: &str,
    ) -> Result<Vec<u8>, ImportError> {
        Err(ImportError)
    }

    fn trace(&mut self, _: &mut Program<'p>, _: &str, _: &[EvalStackTraceItem]) {}

    fn native_call(
        &mut self,
        _: &mut Program<'p>,
        _: InternedStr<'p>,
        _: &[Value<'p>],
    ) -> Result<Value<'p>, NativeError> {
        Err(NativeError)
    }
}
