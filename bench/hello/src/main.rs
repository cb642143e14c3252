//! A bare hello-world axum server on the same runtime settings as gatehouse, so benchmark
//! figures can be reported as ratios of what this machine serves at best.

use axum::Router;
use axum::routing::get;
// The allocator the library declares.
use gatehouse_bench_hello as _;

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:4999".into());
    let app = Router::new().route("/", get(|| async { "hello, world" }));
    gatehouse_core::runtime::build()?.block_on(async {
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        // The server loop gatehouse's listeners run.
        let app = gatehouse_core::server::router(app);
        gatehouse_core::server::serve(listener, app, std::future::pending()).await;
        Ok(())
    })
}
