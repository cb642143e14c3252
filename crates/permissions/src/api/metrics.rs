//! The metrics port: `GET /metrics/prometheus`, request counts and latency sums per API
//! and route, in Prometheus's text format. Counted by a layer on the read, write and
//! OPL routers.

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// (api, method, route, status), as rendered.
type Labels = (String, String, String, u16);

/// Counts by API, then route, then method and status. Every request passes through
/// [`count`], so an existing entry is found by borrowed keys, without building strings:
/// a route's text is looked up as `&str`, and a route sees only a few methods and statuses.
#[derive(Default)]
pub struct Metrics {
    counts: Mutex<HashMap<&'static str, HashMap<String, Vec<Entry>>>>,
}

struct Entry {
    method: Method,
    status: u16,
    requests: u64,
    seconds: f64,
}

pub type SharedMetrics = Arc<Metrics>;

/// What the layer needs: which API it counts for, and where.
#[derive(Clone)]
pub struct Counter {
    pub api: &'static str,
    pub metrics: SharedMetrics,
}

pub async fn count(State(c): State<Counter>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().cloned();
    let started = Instant::now();
    let res = next.run(req).await;
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    c.metrics.record(
        c.api,
        route,
        method,
        res.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    res
}

impl Metrics {
    fn record(&self, api: &'static str, route: &str, method: Method, status: u16, seconds: f64) {
        let Ok(mut counts) = self.counts.lock() else {
            return;
        };
        let routes = counts.entry(api).or_default();
        let entries = match routes.get_mut(route) {
            Some(entries) => entries,
            None => routes.entry(route.to_owned()).or_default(),
        };
        match entries
            .iter_mut()
            .find(|e| e.status == status && e.method == method)
        {
            Some(e) => {
                e.requests += 1;
                e.seconds += seconds;
            }
            None => entries.push(Entry {
                method,
                status,
                requests: 1,
                seconds,
            }),
        }
    }

    /// Every count, in the order the text lists them.
    fn sorted(&self) -> BTreeMap<Labels, (u64, f64)> {
        let Ok(counts) = self.counts.lock() else {
            return BTreeMap::new();
        };
        let mut out = BTreeMap::new();
        for (api, routes) in counts.iter() {
            for (route, entries) in routes {
                for e in entries {
                    let labels = (
                        api.to_string(),
                        e.method.to_string(),
                        route.clone(),
                        e.status,
                    );
                    out.insert(labels, (e.requests, e.seconds));
                }
            }
        }
        out
    }
}

pub async fn render(State(m): State<SharedMetrics>) -> Response {
    let mut out = String::from(
        "# HELP gatehouse_permissions_requests_total Requests by API, method, route and status.\n# TYPE gatehouse_permissions_requests_total counter\n",
    );
    let counts = m.sorted();
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
