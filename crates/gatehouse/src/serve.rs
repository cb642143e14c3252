//! Starting the servers and the courier worker, printing where they listen, and shutting
//! down on SIGINT/SIGTERM after in-flight requests and the e-mail in flight finish.

use anyhow::Context;
use gatehouse_core::server;
use gatehouse_identity::config::Config as IdentityConfig;
use gatehouse_proxy::port::proxy_port;
use std::time::Duration;
use tokio::net::TcpListener;

/// How long shutdown waits for the courier's send in flight.
const COURIER_GRACE: Duration = Duration::from_secs(70);

/// Runs the identity service from `cfg` until a shutdown signal; with `watch_courier`, the
/// courier worker too.
pub async fn run(cfg: IdentityConfig, watch_courier: bool) -> anyhow::Result<()> {
    run_services(cfg, watch_courier, None, None).await
}

/// `gatehouse serve`: the identity service with its courier, and the proxy and the
/// permissions service when configured; the proxy calls this process's identity and
/// permissions services directly.
pub async fn run_all(
    cfg: IdentityConfig,
    proxy: Option<gatehouse_proxy::config::Config>,
    permissions: Option<(
        gatehouse_permissions::config::Config,
        gatehouse_permissions::reload::Reread,
    )>,
) -> anyhow::Result<()> {
    run_services(cfg, true, proxy, permissions).await
}

async fn run_services(
    cfg: IdentityConfig,
    watch_courier: bool,
    proxy_cfg: Option<gatehouse_proxy::config::Config>,
    permissions_cfg: Option<(
        gatehouse_permissions::config::Config,
        gatehouse_permissions::reload::Reread,
    )>,
) -> anyhow::Result<()> {
    let public_addr = format!("{}:{}", cfg.serve.public.host, cfg.serve.public.port);
    let admin_addr = format!("{}:{}", cfg.serve.admin.host, cfg.serve.admin.port);
    let svc = gatehouse_identity::boot::build_with(cfg, jsonnet_runner()?)
        .await
        .map_err(anyhow::Error::msg)?;
    let stop = shutdown_signal();
    let mut listeners = vec![
        Listener::bind(
            &public_addr,
            "identity public API",
            gatehouse_identity::api::public_router(svc.clone()),
        )
        .await?,
        Listener::bind(
            &admin_addr,
            "identity admin API",
            gatehouse_identity::api::admin_router(svc.clone()),
        )
        .await?,
    ];
    let mut local = vec![gatehouse_proxy::call::Local {
        base: svc.settings.public_base_url.clone(),
        router: gatehouse_identity::api::public_router(svc.clone()),
    }];
    let mut permissions = None;
    if let Some((pc, reread)) = permissions_cfg {
        let read = pc.serve.read.clone();
        let (p, more) = crate::permissions_cmd::build(pc, Some(reread)).await?;
        for base in local_bases(&read.host, read.port) {
            local.push(gatehouse_proxy::call::Local {
                base,
                router: gatehouse_permissions::api::read_router(p.clone()),
            });
        }
        listeners.extend(more);
        permissions = Some(p);
    }
    let mut watcher = None;
    if let Some(pc) = proxy_cfg {
        let (px, more) = crate::proxy_cmd::build(pc, local).await?;
        watcher = Some(px.watch_rules(std::time::Duration::from_secs(1)));
        listeners.extend(more);
    }
    let s = &svc.settings;
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
    let courier = async {
        if let Some(w) = worker {
            stop_worker(w).await;
        }
    };
    serve_until(listeners, stop, courier).await;
    if let Some(w) = watcher {
        w.abort();
    }
    if let Some(p) = permissions {
        p.store.db.close().await;
    }
    svc.store.db.close().await;
    Ok(())
}

/// The URLs a rule may use for a service of this process listening on `host:port`.
fn local_bases(host: &str, port: u16) -> Vec<String> {
    match host {
        "" | "0.0.0.0" | "127.0.0.1" | "localhost" => vec![
            format!("http://127.0.0.1:{port}/"),
            format!("http://localhost:{port}/"),
        ],
        h => vec![format!("http://{h}:{port}/")],
    }
}

/// A bound listener and what it serves.
pub struct Listener {
    listener: TcpListener,
    app: App,
}

/// What a listener serves: an axum router, or the proxy port (a hyper service of its own,
/// see `gatehouse_proxy::port`).
pub enum App {
    Router(axum::Router),
    Proxy(gatehouse_proxy::SharedProxy),
}

impl From<axum::Router> for App {
    fn from(router: axum::Router) -> App {
        App::Router(router)
    }
}

impl Listener {
    pub async fn bind(addr: &str, what: &str, app: impl Into<App>) -> anyhow::Result<Listener> {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} ({what})"))?;
        tracing::info!(addr = %listener.local_addr()?, "{what} listening");
        Ok(Listener {
            listener,
            app: app.into(),
        })
    }
}

/// Serves every listener until `stop`, then lets requests in flight finish and runs
/// `cleanup` alongside.
pub async fn serve_until(
    listeners: Vec<Listener>,
    stop: impl std::future::Future<Output = ()>,
    cleanup: impl std::future::Future<Output = ()>,
) {
    let (tx, rx) = tokio::sync::watch::channel(false);
    let tasks: Vec<_> = listeners
        .into_iter()
        .map(|l| {
            let mut rx = rx.clone();
            let stop = async move {
                let _ = rx.wait_for(|stop| *stop).await;
            };
            match l.app {
                App::Router(r) => tokio::spawn(server::serve(l.listener, server::router(r), stop)),
                App::Proxy(px) => tokio::spawn(server::serve(l.listener, proxy_port(px), stop)),
            }
        })
        .collect();
    stop.await;
    tracing::info!("shutting down: finishing in-flight requests");
    let _ = tx.send(true);
    let servers = async {
        for t in tasks {
            let _ = t.await;
        }
    };
    tokio::join!(servers, cleanup);
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
