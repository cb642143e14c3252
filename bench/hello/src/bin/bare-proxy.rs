//! The floor under the access proxy: gatehouse's server loop in front, its upstream
//! connection pool (`gatehouse_proxy::upstream`) behind, and nothing between (no rules, no
//! pipeline, no header work): the request body goes upstream and the upstream's body comes
//! back as hyper hands them over, as on gatehouse's proxy port. `bench/proxy.py` runs it
//! beside gatehouse and nginx so the report shows how much of gatehouse's cost is the HTTP
//! stack.
//!
//! Usage: bare-proxy LISTEN_ADDR UPSTREAM_ADDR

use gatehouse_proxy::upstream::{Body, IDLE_TIMEOUT, Upstreams};
use http_body_util::{Either, Empty};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode, Uri};
use std::convert::Infallible;
use std::sync::Arc;
// The allocator the library declares.
use gatehouse_bench_hello as _;

type Answer = Response<Either<Body, Empty<Bytes>>>;

async fn forward(
    pool: Arc<Upstreams>,
    origin: Arc<str>,
    req: Request<Incoming>,
) -> Result<Answer, Infallible> {
    let pq = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let Ok(target) = format!("{origin}{pq}").parse::<Uri>() else {
        return Ok(failed(StatusCode::BAD_REQUEST));
    };
    let req = req.map(Either::Left);
    Ok(match pool.send(&origin, &target, req).await {
        Ok(res) => res.map(Either::Left),
        Err(_) => failed(StatusCode::BAD_GATEWAY),
    })
}

fn failed(status: StatusCode) -> Answer {
    let mut res = Response::new(Either::Right(Empty::new()));
    *res.status_mut() = status;
    res
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(listen), Some(upstream)) = (args.next(), args.next()) else {
        eprintln!("usage: bare-proxy LISTEN_ADDR UPSTREAM_ADDR");
        std::process::exit(2);
    };
    let origin: Arc<str> = format!("http://{upstream}").into();
    gatehouse_core::runtime::build()?.block_on(async {
        let pool = Upstreams::new(IDLE_TIMEOUT).map_err(std::io::Error::other)?;
        let make = move |_peer| {
            let (pool, origin) = (pool.clone(), origin.clone());
            hyper::service::service_fn(move |req| forward(pool.clone(), origin.clone(), req))
        };
        let listener = tokio::net::TcpListener::bind(&listen).await?;
        gatehouse_core::server::serve(listener, make, std::future::pending()).await;
        Ok(())
    })
}
