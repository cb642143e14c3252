//! Stand-alone worker, so this crate's tests can run `Runner::subprocess`
//! against a real child process. Gatehouse itself re-invokes its own
//! binary with a hidden `jsonnet-worker` subcommand instead.

fn main() -> std::process::ExitCode {
    gatehouse_jsonnet::run_worker()
}
