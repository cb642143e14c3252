//! The proxy port as a hyper service: every request goes through the rules, and an
//! upstream's answer goes back to the client as hyper hands it over, without a routing
//! table or a boxed body in between (see [`gatehouse_core::server`]).

use crate::{SharedProxy, decision};
use bytes::Bytes;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::service::Service;
use hyper::{Request, Response};
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};
use tower::{Layer, ServiceExt};

/// The per-connection service of the proxy port, for [`gatehouse_core::server::serve`].
pub fn proxy_port(px: SharedProxy) -> impl Fn(SocketAddr) -> ProxyPort {
    move |peer| ProxyPort {
        px: px.clone(),
        client_ip: peer.ip(),
    }
}

#[derive(Clone)]
pub struct ProxyPort {
    px: SharedProxy,
    client_ip: IpAddr,
}

type Answer = Pin<Box<dyn Future<Output = Result<Response<ProxyBody>, Infallible>> + Send>>;

impl Service<Request<Incoming>> for ProxyPort {
    type Response = Response<ProxyBody>;
    type Error = Infallible;
    type Future = Answer;

    fn call(&self, req: Request<Incoming>) -> Answer {
        let (px, ip) = (self.px.clone(), self.client_ip);
        let Some(cors) = px.cors_proxy.clone() else {
            return Box::pin(async move { Ok(decision::proxy(px, ip, req).await) });
        };
        let inner = tower::service_fn(move |req: Request<Incoming>| {
            let px = px.clone();
            async move { Ok::<_, Infallible>(decision::proxy(px, ip, req).await) }
        });
        Box::pin(cors.layer(inner).oneshot(req))
    }
}

/// What the proxy port answers with: the upstream's body as it arrives, or one of ours
/// (errors, redirects, CORS preflights).
pub enum ProxyBody {
    Upstream(crate::upstream::Body),
    Local(axum::body::Body),
}

impl Default for ProxyBody {
    fn default() -> Self {
        ProxyBody::Local(axum::body::Body::empty())
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl hyper::body::Body for ProxyBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            ProxyBody::Upstream(b) => Pin::new(b).poll_frame(cx).map_err(Into::into),
            ProxyBody::Local(b) => Pin::new(b).poll_frame(cx).map_err(Into::into),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ProxyBody::Upstream(b) => b.is_end_stream(),
            ProxyBody::Local(b) => b.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ProxyBody::Upstream(b) => b.size_hint(),
            ProxyBody::Local(b) => b.size_hint(),
        }
    }
}

/// An answer of ours on the proxy port.
pub fn local(res: axum::response::Response) -> Response<ProxyBody> {
    res.map(ProxyBody::Local)
}
