//! Connections to upstreams: HTTP/1.1 over TCP or TLS (rustls with ring, web PKI roots),
//! kept open and shared between client connections, one pool per upstream origin.
//!
//! A connection goes back to its pool when the client has read its answer to the end; an
//! answer dropped half-read closes it, as it could not carry another request. Idle
//! connections are closed after [`IDLE_TIMEOUT`]. A request that a pooled connection could
//! not send (the upstream closed it meanwhile) is sent once more on a new connection.
//!
//! This replaces hyper-util's pooled client, which spawned a task for every request to
//! wait for its connection to become ready again and looked the pool up by a key built
//! per request; here the answer's body returns the connection, and the pool of a rule's
//! origin is found by the origin text the rule already holds.

use crate::forward::UpstreamBody;
use bytes::Bytes;
use hyper::Request;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::client::conn::http1::SendRequest;
use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};
use tower::ServiceExt;

/// How long a connection may wait in a pool for its next request (hyper-util's default,
/// and Go's `http.Transport` default).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(90);

type Connector = hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>;
type Sender = SendRequest<UpstreamBody>;
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Every upstream origin's pool, and the connector that opens new connections.
pub struct Upstreams {
    connector: Connector,
    pools: Mutex<HashMap<Box<str>, Arc<Pool>>>,
    idle_timeout: Duration,
}

/// The idle connections to one origin, the most recently used last.
#[derive(Default)]
struct Pool {
    idle: Mutex<Vec<Idle>>,
}

struct Idle {
    sender: Sender,
    since: Instant,
}

impl Upstreams {
    /// The pools, empty, and a task that closes idle connections past the idle timeout
    /// (it ends when the pools are dropped). Needs a Tokio runtime.
    pub fn new(idle_timeout: Duration) -> Result<Arc<Upstreams>, String> {
        let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
            .map_err(|e| format!("TLS for upstreams: {e}"))?
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let up = Arc::new(Upstreams {
            connector,
            pools: Mutex::default(),
            idle_timeout,
        });
        tokio::spawn(sweep(Arc::downgrade(&up)));
        Ok(up)
    }

    /// Sends `req` (origin-form URI, `Host` set) to `origin` (`scheme://authority`, the
    /// pool's key) and returns the answer; its body returns the connection to the pool.
    pub async fn send(
        &self,
        origin: &str,
        target: &hyper::Uri,
        req: Request<UpstreamBody>,
    ) -> Result<hyper::Response<Body>, BoxError> {
        let pool = self.pool(origin);
        let (mut sender, reused) = match pool.take(self.idle_timeout) {
            Some(s) => (s, true),
            None => (Box::pin(self.connect(target)).await?, false),
        };
        let res = match sender.try_send_request(req).await {
            Ok(res) => res,
            Err(mut e) => match e.take_message() {
                // Never written: the pooled connection was closing. A new one gets it.
                Some(req) if reused => {
                    sender = Box::pin(self.connect(target)).await?;
                    Box::pin(sender.send_request(req)).await?
                }
                _ => return Err(e.into_error().into()),
            },
        };
        Ok(res.map(|inner| Body {
            inner,
            done: false,
            back: Some((pool, sender)),
        }))
    }

    fn pool(&self, origin: &str) -> Arc<Pool> {
        let mut pools = self.pools.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = pools.get(origin) {
            return p.clone();
        }
        pools.entry(origin.into()).or_default().clone()
    }

    async fn connect(&self, target: &hyper::Uri) -> Result<Sender, BoxError> {
        let io = self.connector.clone().oneshot(target.clone()).await?;
        let (sender, conn) = hyper::client::conn::http1::handshake(io).await?;
        tokio::spawn(async move {
            if let Err(e) = conn.with_upgrades().await {
                tracing::debug!(error = %e, "upstream connection ended");
            }
        });
        Ok(sender)
    }
}

impl Pool {
    /// The most recently used connection that can take a request now; closed or expired
    /// ones on the way are dropped.
    fn take(&self, idle_timeout: Duration) -> Option<Sender> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(c) = idle.pop() {
            if c.sender.is_ready() && c.since.elapsed() < idle_timeout {
                return Some(c.sender);
            }
        }
        None
    }

    fn put(&self, sender: Sender) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        idle.push(Idle {
            sender,
            since: Instant::now(),
        });
    }

    /// Back to the pool once the connection has finished the last exchange: at once when
    /// it has (the usual case), or when its task catches up (say, the upstream answered
    /// before reading the whole request body, which is still being sent).
    fn release(self: Arc<Self>, mut sender: Sender) {
        if sender.is_ready() {
            return self.put(sender);
        }
        if sender.is_closed() {
            return;
        }
        tokio::spawn(async move {
            if sender.ready().await.is_ok() {
                self.put(sender);
            }
        });
    }

    fn drop_expired(&self, idle_timeout: Duration) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        idle.retain(|c| !c.sender.is_closed() && c.since.elapsed() < idle_timeout);
    }
}

/// Every so often, closes the connections idle for longer than the timeout, so an upstream
/// that never closes idle connections itself does not keep them open forever.
async fn sweep(up: Weak<Upstreams>) {
    let every = up
        .upgrade()
        .map_or(IDLE_TIMEOUT, |u| u.idle_timeout)
        .div_f32(3.0)
        .max(Duration::from_millis(10));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(up) = up.upgrade() else { return };
        let pools: Vec<Arc<Pool>> = {
            let pools = up.pools.lock().unwrap_or_else(|p| p.into_inner());
            pools.values().cloned().collect()
        };
        for pool in pools {
            pool.drop_expired(up.idle_timeout);
        }
    }
}

/// An upstream's answer body. Read to the end, it returns its connection to the pool when
/// dropped; dropped before the end, it closes the connection with it.
pub struct Body {
    inner: Incoming,
    /// Whether the body said it ended (a chunked body says so by its last frame).
    done: bool,
    back: Option<(Arc<Pool>, Sender)>,
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let frame = ready!(Pin::new(&mut self.inner).poll_frame(cx));
        match &frame {
            None => self.done = true,
            Some(Err(_)) => self.back = None,
            Some(Ok(_)) => {}
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Body {
    fn drop(&mut self) {
        if let Some((pool, sender)) = self.back.take()
            && hyper::body::Body::is_end_stream(self)
        {
            pool.release(sender);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, Either, Full};
    use std::convert::Infallible;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

    /// An upstream on loopback that counts the connections it accepted and those that
    /// ended. `/big` answers 4 MiB in 64 KiB chunks; `/close` answers with
    /// `Connection: close`; anything else `hello`.
    struct Upstream {
        origin: String,
        opened: Arc<AtomicUsize>,
        ended: Arc<AtomicUsize>,
    }

    /// Counts a connection as ended when the server drops its service.
    struct Ends(Arc<AtomicUsize>);

    impl Drop for Ends {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    async fn answer(req: Request<Incoming>) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
        Ok(match req.uri().path() {
            "/big" => hyper::Response::new(Full::from(vec![b'x'; 4 << 20])),
            "/close" => hyper::Response::builder()
                .header("connection", "close")
                .body(Full::from("bye"))
                .unwrap(),
            _ => hyper::Response::new(Full::from("hello")),
        })
    }

    async fn upstream() -> Upstream {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let (opened, ended) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (o, e) = (opened.clone(), ended.clone());
        let make = move |_peer| {
            o.fetch_add(1, SeqCst);
            let ends = Arc::new(Ends(e.clone()));
            hyper::service::service_fn(move |req| {
                let _alive = ends.clone();
                answer(req)
            })
        };
        tokio::spawn(gatehouse_core::server::serve(
            listener,
            make,
            std::future::pending(),
        ));
        Upstream {
            origin,
            opened,
            ended,
        }
    }

    async fn get(up: &Upstreams, origin: &str, path: &str) -> hyper::Response<Body> {
        let target: hyper::Uri = format!("{origin}{path}").parse().unwrap();
        let host = target.authority().unwrap().as_str().to_string();
        let req = Request::builder()
            .uri(path)
            .header("host", host)
            .body(Either::Right(Full::default()))
            .unwrap();
        up.send(origin, &target, req)
            .await
            .expect("the upstream answers")
    }

    async fn read(res: hyper::Response<Body>) -> usize {
        res.into_body().collect().await.unwrap().to_bytes().len()
    }

    /// Waits (up to 5 s) until `n` connections ended.
    async fn ended(u: &Upstream, n: usize) {
        for _ in 0..500 {
            if u.ended.load(SeqCst) >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{} connections ended, expected {n}", u.ended.load(SeqCst));
    }

    #[tokio::test]
    async fn answers_read_to_the_end_leave_their_connection_for_the_next_request() {
        let u = upstream().await;
        let up = Upstreams::new(IDLE_TIMEOUT).unwrap();
        for _ in 0..5 {
            assert_eq!(read(get(&up, &u.origin, "/").await).await, 5);
        }
        assert_eq!(read(get(&up, &u.origin, "/big").await).await, 4 << 20);
        assert_eq!(read(get(&up, &u.origin, "/").await).await, 5);
        assert_eq!(u.opened.load(SeqCst), 1);
    }

    #[tokio::test]
    async fn requests_at_the_same_time_open_connections_that_are_shared_afterwards() {
        let u = upstream().await;
        let up = Upstreams::new(IDLE_TIMEOUT).unwrap();
        let (a, b, c) = tokio::join!(
            get(&up, &u.origin, "/"),
            get(&up, &u.origin, "/"),
            get(&up, &u.origin, "/")
        );
        assert_eq!(u.opened.load(SeqCst), 3);
        for res in [a, b, c] {
            assert_eq!(read(res).await, 5);
        }
        for _ in 0..6 {
            assert_eq!(read(get(&up, &u.origin, "/").await).await, 5);
        }
        assert_eq!(u.opened.load(SeqCst), 3);
    }

    #[tokio::test]
    async fn an_answer_dropped_half_read_takes_its_connection_with_it() {
        let u = upstream().await;
        let up = Upstreams::new(IDLE_TIMEOUT).unwrap();
        let mut body = get(&up, &u.origin, "/big").await.into_body();
        body.frame().await.unwrap().unwrap();
        drop(body);
        ended(&u, 1).await;
        assert_eq!(read(get(&up, &u.origin, "/").await).await, 5);
        assert_eq!(u.opened.load(SeqCst), 2);
    }

    #[tokio::test]
    async fn a_connection_the_upstream_closes_is_not_used_again() {
        let u = upstream().await;
        let up = Upstreams::new(IDLE_TIMEOUT).unwrap();
        for n in 1..=3 {
            assert_eq!(read(get(&up, &u.origin, "/close").await).await, 3);
            ended(&u, n).await;
        }
        assert_eq!(u.opened.load(SeqCst), 3);
    }

    #[tokio::test]
    async fn idle_connections_are_closed_after_the_idle_timeout() {
        let u = upstream().await;
        let up = Upstreams::new(Duration::from_millis(100)).unwrap();
        assert_eq!(read(get(&up, &u.origin, "/").await).await, 5);
        assert_eq!(u.ended.load(SeqCst), 0);
        ended(&u, 1).await;
        assert_eq!(read(get(&up, &u.origin, "/").await).await, 5);
        assert_eq!(u.opened.load(SeqCst), 2);
    }

    #[tokio::test]
    async fn each_origin_has_a_pool_of_its_own() {
        let (a, b) = (upstream().await, upstream().await);
        let up = Upstreams::new(IDLE_TIMEOUT).unwrap();
        for _ in 0..3 {
            assert_eq!(read(get(&up, &a.origin, "/").await).await, 5);
            assert_eq!(read(get(&up, &b.origin, "/").await).await, 5);
        }
        assert_eq!((a.opened.load(SeqCst), b.opened.load(SeqCst)), (1, 1));
    }
}
