//! The floor under the access proxy: axum in front, hyper-util's pooled client behind, and
//! nothing between (no rules, no pipeline, no header work). `bench/proxy.py` runs it beside
//! gatehouse and nginx so the report shows how much of gatehouse's cost is the HTTP stack.
//!
//! Usage: bare-proxy LISTEN_ADDR UPSTREAM_ADDR

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use hyper_util::client::legacy::{Client, connect::HttpConnector};
use hyper_util::rt::TokioExecutor;
// The allocator the library declares.
use gatehouse_bench_hello as _;

type Upstream = (Client<HttpConnector, Body>, String);

async fn forward(State((client, upstream)): State<Upstream>, mut req: Request) -> Response {
    let pq = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let Ok(uri) = format!("http://{upstream}{pq}").parse::<Uri>() else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    *req.uri_mut() = uri;
    match client.request(req).await {
        Ok(res) => res.map(Body::new),
        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
    }
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(listen), Some(upstream)) = (args.next(), args.next()) else {
        eprintln!("usage: bare-proxy LISTEN_ADDR UPSTREAM_ADDR");
        std::process::exit(2);
    };
    gatehouse_core::runtime::build()?.block_on(async {
        let client = Client::builder(TokioExecutor::new()).build(HttpConnector::new());
        let app = axum::Router::new()
            .fallback(forward)
            .with_state((client, upstream));
        let listener = tokio::net::TcpListener::bind(&listen).await?;
        axum::serve(listener, app).await
    })
}
