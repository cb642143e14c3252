//! The `gatehouse` binary: command line, config files, wiring of the services, shutdown.
//! Each service is a library; this crate only reads configuration and starts them.

mod cli;
mod config_file;
mod identities_cmd;
mod permissions_cmd;
mod proxy_cmd;
mod serve;

use clap::Parser;
use std::process::ExitCode;

// A proxy hop or a check allocates and frees many small buffers per request; mimalloc's
// thread-local free lists serve them for less than glibc's malloc (about a tenth of the
// proxy's CPU per request, bench/proxy.py).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // The Jsonnet worker is this binary re-run by the server, with limits on itself; it
    // needs no runtime, logging or TLS.
    if matches!(cli.command, cli::Command::JsonnetWorker) {
        return gatehouse_jsonnet::run_worker();
    }
    gatehouse_core::install_tls_provider();
    init_tracing();
    let runtime = match gatehouse_core::runtime::build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LOG_LEVEL")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        // Colour codes only for a terminal, not for log files and collectors.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}
