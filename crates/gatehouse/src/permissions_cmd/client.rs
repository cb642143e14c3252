//! Where client commands go: a server over HTTP (with Keto's client flags), or this
//! process's own handlers over the config's database.

use super::{Target, load};
use anyhow::bail;
use serde_json::Value;
use tower::ServiceExt;

/// Sends API calls to a server, or to this process's handlers over the config's database.
pub(super) enum Client {
    Remote(Remote),
    Local(axum::Router),
}

/// A server and how to reach it.
pub(super) struct Remote {
    http: reqwest::Client,
    base: String,
    authority: Option<String>,
    /// `KETO_BEARER_TOKEN`, sent as `Authorization: Bearer` (Keto's CLI does the same).
    token: Option<String>,
    block: bool,
}

impl Remote {
    fn new(t: &Target, remote: &str) -> anyhow::Result<Remote> {
        let mut base = if remote.contains("://") {
            remote.to_string()
        } else {
            format!("http://{remote}")
        };
        if t.insecure_disable_transport_security
            && let Some(rest) = base.strip_prefix("https://")
        {
            base = format!("http://{rest}");
        }
        let http = reqwest::Client::builder()
            .danger_accept_invalid_certs(t.insecure_skip_hostname_verification)
            .build()?;
        Ok(Remote {
            http,
            base: base.trim_end_matches('/').to_string(),
            authority: t.authority.clone().filter(|a| !a.is_empty()),
            token: std::env::var("KETO_BEARER_TOKEN")
                .ok()
                .filter(|t| !t.is_empty()),
            block: t.block,
        })
    }

    /// Sends a request; with `block`, a refused connection is retried every half second.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<String>,
    ) -> anyhow::Result<reqwest::Response> {
        loop {
            let mut req = self
                .http
                .request(method.clone(), format!("{}{path}", self.base));
            if let Some(body) = &body {
                req = req
                    .header("content-type", "application/json")
                    .body(body.clone());
            }
            if let Some(host) = &self.authority {
                req = req.header("host", host);
            }
            if let Some(token) = &self.token {
                req = req.bearer_auth(token);
            }
            match req.send().await {
                Ok(res) => return Ok(res),
                Err(e) if self.block && e.is_connect() => {
                    eprintln!("cannot reach {} yet; retrying", self.base);
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                }
                Err(e) => {
                    return Err(
                        anyhow::Error::new(e).context(format!("cannot reach {}", self.base))
                    );
                }
            }
        }
    }
}

impl Client {
    pub(super) async fn read(t: &Target) -> anyhow::Result<Client> {
        Client::new(t, &t.read_remote, gatehouse_permissions::api::read_router).await
    }

    pub(super) async fn write(t: &Target) -> anyhow::Result<Client> {
        Client::new(t, &t.write_remote, gatehouse_permissions::api::write_router).await
    }

    async fn new(
        t: &Target,
        remote: &str,
        router: fn(gatehouse_permissions::SharedPermissions) -> axum::Router,
    ) -> anyhow::Result<Client> {
        if !t.config.is_empty() {
            let p = gatehouse_permissions::Permissions::build(load(&t.config)?)
                .await
                .map_err(anyhow::Error::msg)?;
            return Ok(Client::Local(router(p)));
        }
        Ok(Client::Remote(Remote::new(t, remote)?))
    }

    /// The status code of a GET; an error only when the server cannot be reached.
    pub(super) async fn status_of(&self, path: &str) -> anyhow::Result<u16> {
        match self {
            Client::Remote(remote) => Ok(remote
                .send(reqwest::Method::GET, path, None)
                .await?
                .status()
                .as_u16()),
            Client::Local(router) => {
                let req = axum::http::Request::get(path).body(axum::body::Body::empty())?;
                Ok(router.clone().oneshot(req).await?.status().as_u16())
            }
        }
    }

    /// Sends one call; a 4xx/5xx answer becomes an error with the server's reason.
    pub(super) async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let bytes = body.map(|b| b.to_string()).unwrap_or_default();
        let (status, text) = match self {
            Client::Remote(remote) => {
                let m = reqwest::Method::from_bytes(method.as_bytes())?;
                let res = remote.send(m, path, Some(bytes)).await?;
                (res.status().as_u16(), res.text().await?)
            }
            Client::Local(router) => {
                let req = axum::http::Request::builder()
                    .method(method)
                    .uri(path)
                    .header("content-type", "application/json")
                    .body(axum::body::Body::from(bytes))?;
                let res = router.clone().oneshot(req).await?;
                let status = res.status().as_u16();
                let b = axum::body::to_bytes(res.into_body(), 64 << 20).await?;
                (status, String::from_utf8_lossy(&b).into_owned())
            }
        };
        let value: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if status >= 400 && status != 403 {
            let reason = value["error"]["reason"]
                .as_str()
                .or(value["error"]["message"].as_str())
                .unwrap_or("");
            bail!("the server answered {status}: {reason}");
        }
        Ok(value)
    }
}
