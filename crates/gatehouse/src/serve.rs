//! Starting the servers and the courier worker, printing where they listen, and shutting
//! down on SIGINT/SIGTERM after in-flight requests and the e-mail in flight finish.

use anyhow::Context;
use gatehouse_identity::config::Config as IdentityConfig;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;

/// How long shutdown waits for the courier's send in flight.
const COURIER_GRACE: Duration = Duration::from_secs(70);

/// Runs the identity service from `cfg` until a shutdown signal; with `watch_courier`, the
/// courier worker too.
pub async fn run(cfg: IdentityConfig, watch_courier: bool) -> anyhow::Result<()> {
    let public_addr = format!("{}:{}", cfg.serve.public.host, cfg.serve.public.port);
    let admin_addr = format!("{}:{}", cfg.serve.admin.host, cfg.serve.admin.port);
    let svc = gatehouse_identity::boot::build_with(cfg, jsonnet_runner()?)
        .await
        .map_err(anyhow::Error::msg)?;
    let stop = shutdown_signal();
    let public = TcpListener::bind(&public_addr)
        .await
        .with_context(|| format!("cannot listen on {public_addr} (public API)"))?;
    let admin = TcpListener::bind(&admin_addr)
        .await
        .with_context(|| format!("cannot listen on {admin_addr} (admin API)"))?;
    let s = &svc.settings;
    tracing::info!(addr = %public.local_addr()?, "identity public API listening");
    tracing::info!(addr = %admin.local_addr()?, "identity admin API listening");
    eprintln!();
    eprintln!("  gatehouse v{} is ready", gatehouse_core::VERSION);
    eprintln!("  Sign up:     {}ui/registration", s.public_base_url);
    eprintln!("  Sign in:     {}ui/login", s.public_base_url);
    eprintln!("  Public API:  {}", s.public_base_url);
    eprintln!("  Admin API:   {}", s.admin_base_url);
    if watch_courier {
        eprintln!("  E-mail to:   {}", svc.courier.delivery().describe());
    }
    eprintln!();
    let worker = watch_courier.then(|| svc.courier.spawn_worker());
    let public_app = gatehouse_identity::api::public_router(svc.clone())
        .into_make_service_with_connect_info::<SocketAddr>();
    let admin_app = gatehouse_identity::api::admin_router(svc.clone())
        .into_make_service_with_connect_info::<SocketAddr>();
    let (tx, rx) = tokio::sync::watch::channel(false);
    let wait = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let public_task = tokio::spawn(
        axum::serve(public, public_app)
            .with_graceful_shutdown(wait(rx.clone()))
            .into_future(),
    );
    let admin_task = tokio::spawn(
        axum::serve(admin, admin_app)
            .with_graceful_shutdown(wait(rx))
            .into_future(),
    );
    stop.await;
    tracing::info!("shutting down: finishing in-flight requests");
    let _ = tx.send(true);
    let courier = async {
        if let Some(w) = worker {
            stop_worker(w).await;
        }
    };
    let _ = tokio::join!(public_task, admin_task, courier);
    svc.store.db.close().await;
    Ok(())
}

/// `identity courier watch`: only the courier worker, until a shutdown signal.
pub async fn courier_watch(cfg: IdentityConfig) -> anyhow::Result<()> {
    let svc = gatehouse_identity::boot::build(cfg)
        .await
        .map_err(anyhow::Error::msg)?;
    let stop = shutdown_signal();
    eprintln!(
        "gatehouse v{}: courier worker delivering e-mail to {}",
        gatehouse_core::VERSION,
        svc.courier.delivery().describe()
    );
    let worker = svc.courier.spawn_worker();
    stop.await;
    tracing::info!("shutting down: finishing the e-mail in flight");
    stop_worker(worker).await;
    svc.store.db.close().await;
    Ok(())
}

async fn stop_worker(w: gatehouse_identity::courier::worker::WorkerHandle) {
    if tokio::time::timeout(COURIER_GRACE, w.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("the courier worker did not stop in time; its message is retried later");
    }
}

/// Jsonnet runs in a child process of this same binary, so a hostile or broken web hook
/// template is cut off by time and memory limits without touching the server.
fn jsonnet_runner() -> anyhow::Result<gatehouse_jsonnet::Runner> {
    let exe = std::env::current_exe().context("cannot find the gatehouse binary for Jsonnet")?;
    Ok(gatehouse_jsonnet::Runner::subprocess(
        exe,
        vec!["jsonnet-worker".to_string()],
        gatehouse_jsonnet::Limits::default(),
    ))
}

/// Waits for SIGTERM or Ctrl-C. The handlers are installed when this is called, not when
/// the future is first polled: call it before starting anything that announces readiness,
/// so a signal sent right after the announcement is never lost to the default action.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate()).ok();
        let int = signal(SignalKind::interrupt()).ok();
        async move {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = wait(term) => {},
                _ = wait(int) => {},
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
