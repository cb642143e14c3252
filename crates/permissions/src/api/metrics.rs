//! The metrics port: `GET /metrics/prometheus`, request counts and latency sums per API
//! and route, in Prometheus's text format. Counted by a layer on the read, write and
//! OPL routers.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// (api, method, route, status).
type Labels = (String, String, String, u16);

/// Counts by labels: requests and seconds spent.
#[derive(Default)]
pub struct Metrics {
    counts: Mutex<BTreeMap<Labels, (u64, f64)>>,
}

pub type SharedMetrics = Arc<Metrics>;

/// What the layer needs: which API it counts for, and where.
#[derive(Clone)]
pub struct Counter {
    pub api: &'static str,
    pub metrics: SharedMetrics,
}

pub async fn count(State(c): State<Counter>, req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let started = Instant::now();
    let res = next.run(req).await;
    let key = (c.api.to_string(), method, route, res.status().as_u16());
    if let Ok(mut m) = c.metrics.counts.lock() {
        let e = m.entry(key).or_insert((0, 0.0));
        e.0 += 1;
        e.1 += started.elapsed().as_secs_f64();
    }
    res
}

pub async fn render(State(m): State<SharedMetrics>) -> Response {
    let mut out = String::from(
        "# HELP gatehouse_permissions_requests_total Requests by API, method, route and status.\n# TYPE gatehouse_permissions_requests_total counter\n",
    );
    let counts = m.counts.lock().map(|c| c.clone()).unwrap_or_default();
    for ((api, method, route, status), (n, _)) in &counts {
        out.push_str(&format!(
            "gatehouse_permissions_requests_total{{api=\"{api}\",method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}\n"
        ));
    }
    out.push_str("# HELP gatehouse_permissions_request_seconds_total Time spent answering, by the same labels.\n# TYPE gatehouse_permissions_request_seconds_total counter\n");
    for ((api, method, route, status), (_, secs)) in &counts {
        out.push_str(&format!(
            "gatehouse_permissions_request_seconds_total{{api=\"{api}\",method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {secs}\n"
        ));
    }
    ([("content-type", "text/plain; version=0.0.4")], out).into_response()
}
