//! The HTTP/1.1 server loop every gatehouse listener runs: hyper's connection driver
//! straight on the accepted socket, WebSocket upgrades allowed, and a graceful stop that
//! lets requests in flight finish.
//!
//! `axum::serve` does the same for a `Router`, but only for a `Router`: the proxy port
//! answers with upstream bodies as they come (no boxing, no routing table), which saved a
//! tenth of its CPU a request. One loop for both keeps their behaviour identical.

use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::service::Service;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

/// Serves `listener` until `stop` completes: each connection gets the service `make`
/// returns for its peer. After `stop`, no connection is accepted; open ones finish the
/// request in flight and close, and this returns when all have.
pub async fn serve<M, S, B>(listener: TcpListener, make: M, stop: impl Future<Output = ()>)
where
    M: Fn(SocketAddr) -> S,
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible> + Send + 'static,
    S::Future: Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (stopping, stopped) = watch::channel(false);
    // Every connection holds a sender; `recv` yields `None` once the last one is gone.
    let (open, mut all_closed) = mpsc::channel::<()>(1);
    tokio::pin!(stop);
    loop {
        let accepted = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => accepted,
        };
        let (tcp, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                pause_after(&e).await;
                continue;
            }
        };
        let service = make(peer);
        let stopped = stopped.clone();
        let open = open.clone();
        tokio::spawn(async move {
            connection(tcp, service, stopped).await;
            drop(open);
        });
    }
    let _ = stopping.send(true);
    drop(open);
    let _ = all_closed.recv().await;
}

async fn connection<S, B>(tcp: TcpStream, service: S, mut stopped: watch::Receiver<bool>)
where
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible> + Send + 'static,
    S::Future: Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    // Answers go out in one write; Nagle's algorithm could only hold them back.
    let _ = tcp.set_nodelay(true);
    let conn = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(tcp), service)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        _ = stopped.wait_for(|s| *s) => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}

/// A failed accept: a connection reset before it was taken is nothing; anything else
/// (out of file descriptors, say) would fail again at once, so wait a little.
async fn pause_after(e: &std::io::Error) {
    use std::io::ErrorKind::*;
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | ConnectionRefused
    ) {
        return;
    }
    tracing::warn!(error = %e, "accepting a connection failed");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// The per-connection service for an axum `Router`, with the peer's address as
/// `ConnectInfo` (as `into_make_service_with_connect_info` gives).
pub fn router(router: axum::Router) -> impl Fn(SocketAddr) -> RouterService {
    move |peer| RouterService {
        router: router.clone(),
        peer,
    }
}

#[derive(Clone)]
pub struct RouterService {
    router: axum::Router,
    peer: SocketAddr,
}

impl Service<Request<Incoming>> for RouterService {
    type Response = axum::response::Response;
    type Error = Infallible;
    type Future = axum::routing::future::RouteFuture<Infallible>;

    fn call(&self, mut req: Request<Incoming>) -> Self::Future {
        req.extensions_mut().insert(ConnectInfo(self.peer));
        // A Router is always ready; its clone is a reference count.
        tower::Service::call(&mut self.router.clone(), req)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use axum::routing::get;

    /// A request in flight when the stop comes still gets its answer; then the listener
    /// is gone and `serve` returns.
    #[tokio::test]
    async fn a_stop_lets_the_request_in_flight_finish() {
        crate::install_tls_provider();
        let (entered, mut inside) = mpsc::channel::<()>(1);
        let app = axum::Router::new().route(
            "/slow",
            get(move || {
                let entered = entered.clone();
                async move {
                    let _ = entered.send(()).await;
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    "done"
                }
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, router(app), async {
            let _ = stopped.await;
        }));
        let request = tokio::spawn(reqwest::get(format!("http://{addr}/slow")));
        inside.recv().await.unwrap();
        stop.send(()).unwrap();
        let res = request.await.unwrap().unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.text().await.unwrap(), "done");
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .expect("serve returns once its connections are closed")
            .unwrap();
        assert!(reqwest::get(format!("http://{addr}/slow")).await.is_err());
    }

    /// Handlers see the peer's address as axum's `ConnectInfo`.
    #[tokio::test]
    async fn routers_get_the_peer_address() {
        crate::install_tls_provider();
        let app = axum::Router::new().route(
            "/",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.ip().to_string() }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(serve(listener, router(app), std::future::pending()));
        let body = reqwest::get(format!("http://{addr}/"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(body, "127.0.0.1");
    }
}
