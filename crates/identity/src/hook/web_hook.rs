//! Kratos's `web_hook`: an HTTP call made when a flow reaches a hook point, its body
//! rendered by Jsonnet from the flow's context. A hook may only observe (the default), may
//! be fired and forgotten (`response.ignore`), or may interrupt the flow with validation
//! messages and amend the identity (`response.parse`, or the legacy `can_interrupt`).

use crate::flow::ui::UiText;
use gatehouse_jsonnet::Runner;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::time::Duration;

/// A configured web hook, its body template loaded and syntax-checked at start-up.
#[derive(Clone, Debug)]
pub struct WebHook {
    pub url: String,
    pub method: reqwest::Method,
    pub headers: Vec<(String, String)>,
    body: Option<Template>,
    auth: Option<Auth>,
    /// Fire and forget: the flow does not wait and nothing it answers matters.
    pub ignore: bool,
    /// The answer is read: messages interrupt the flow, an identity amends it.
    pub parse: bool,
}

#[derive(Clone, Debug)]
struct Template {
    name: String,
    source: String,
}

#[derive(Clone, Debug)]
enum Auth {
    ApiKey {
        name: String,
        value: String,
        in_cookie: bool,
    },
    Basic {
        user: String,
        password: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    url: String,
    method: String,
    #[serde(default)]
    headers: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    auth: Option<RawAuth>,
    #[serde(default)]
    can_interrupt: bool,
    #[serde(default)]
    response: RawResponse,
    #[serde(default)]
    emit_analytics_event: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawResponse {
    #[serde(default)]
    ignore: bool,
    #[serde(default)]
    parse: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAuth {
    #[serde(rename = "type")]
    kind: String,
    config: Map<String, Value>,
}

impl WebHook {
    /// Reads a hook's `config`; `key` is its path for error messages. Loads and checks the
    /// Jsonnet body so a broken file stops start-up, naming file, line and column.
    pub async fn from_config(key: &str, config: &Value) -> Result<WebHook, String> {
        let raw: RawConfig = serde_json::from_value(config.clone())
            .map_err(|e| format!("config key `{key}`: {e}"))?;
        let _ = raw.emit_analytics_event;
        let method = raw
            .method
            .to_ascii_uppercase()
            .parse::<reqwest::Method>()
            .map_err(|_| {
                format!(
                    "config key `{key}.method`: {:?} is not an HTTP method",
                    raw.method
                )
            })?;
        url::Url::parse(&raw.url)
            .map_err(|e| format!("config key `{key}.url`: {:?} is not a URL: {e}", raw.url))?;
        if raw.response.ignore && raw.response.parse {
            return Err(format!(
                "config key `{key}.response`: ignore and parse cannot both be true"
            ));
        }
        let body = match raw.body.as_deref().filter(|b| !b.is_empty()) {
            None => None,
            Some(uri) => Some(load_template(key, uri).await?),
        };
        let auth = raw.auth.map(|a| parse_auth(key, a)).transpose()?;
        Ok(WebHook {
            url: raw.url,
            method,
            headers: raw.headers.into_iter().collect(),
            body,
            auth,
            ignore: raw.response.ignore,
            parse: raw.response.parse || raw.can_interrupt,
        })
    }
}

async fn load_template(key: &str, uri: &str) -> Result<Template, String> {
    let is_uri = ["file://", "base64://", "http://", "https://"]
        .iter()
        .any(|p| uri.starts_with(p));
    let (name, source) = if is_uri {
        let bytes = gatehouse_core::loader::load(uri)
            .await
            .map_err(|e| format!("config key `{key}.body`: {e}"))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| format!("config key `{key}.body`: {uri} is not UTF-8"))?;
        let name = uri.strip_prefix("file://").unwrap_or(uri);
        let name = if uri.starts_with("base64://") {
            "base64 body"
        } else {
            name
        };
        (name.to_string(), text)
    } else {
        // Kratos also takes the Jsonnet inline.
        ("inline body".to_string(), uri.to_string())
    };
    gatehouse_jsonnet::check_syntax(&name, &source)
        .map_err(|e| format!("config key `{key}.body`: {e}"))?;
    Ok(Template { name, source })
}

fn parse_auth(key: &str, a: RawAuth) -> Result<Auth, String> {
    let get = |k: &str| {
        a.config
            .get(k)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| format!("config key `{key}.auth.config.{k}`: required"))
    };
    match a.kind.as_str() {
        "api_key" => Ok(Auth::ApiKey {
            name: get("name")?,
            value: get("value")?,
            in_cookie: a.config.get("in").and_then(Value::as_str) == Some("cookie"),
        }),
        "basic_auth" => Ok(Auth::Basic {
            user: get("user")?,
            password: get("password")?,
        }),
        other => Err(format!(
            "config key `{key}.auth.type`: {other:?} is not api_key or basic_auth"
        )),
    }
}

/// What a hook call came to.
#[derive(Debug)]
pub enum Outcome {
    /// The body's Jsonnet said `error "cancel"`: no call was made.
    Cancelled,
    /// Called (or handed off, with `ignore`); nothing to change.
    Done,
    /// The hook answered with an identity whose fields replace the current ones.
    Amend(Map<String, Value>),
    /// The hook refused: messages for the node at each pointer (`None` for the flow).
    Interrupt(Vec<(Option<String>, UiText)>),
}

/// Why a hook could not be completed; the flow fails with it.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("web hook body: {0}")]
    Body(String),
    #[error("web hook failed with status code {0}")]
    Status(u16),
    #[error("web hook timed out")]
    Timeout,
    #[error("web hook could not be reached: {0}")]
    Unreachable(String),
}

impl WebHook {
    /// Runs the hook with Kratos's Jsonnet `ctx`.
    pub async fn run(
        &self,
        http: &reqwest::Client,
        jsonnet: &Runner,
        ctx: Value,
        timeout: Duration,
    ) -> Result<Outcome, HookError> {
        let body = match &self.body {
            None => None,
            Some(t) => match jsonnet
                .evaluate(&t.name, &t.source, vec![("ctx".to_string(), ctx)])
                .await
            {
                Ok(v) => Some(v),
                Err(e) if e.is_cancel() => return Ok(Outcome::Cancelled),
                Err(e) => return Err(HookError::Body(e.to_string())),
            },
        };
        let request = self.request(http, body, timeout);
        if self.ignore {
            let url = self.url.clone();
            tokio::spawn(async move {
                if let Err(e) = request.send().await {
                    tracing::warn!(%url, error = %e, "fire-and-forget web hook failed");
                }
            });
            return Ok(Outcome::Done);
        }
        let response = request.send().await.map_err(|e| {
            if e.is_timeout() {
                HookError::Timeout
            } else {
                HookError::Unreachable(e.to_string())
            }
        })?;
        let status = response.status().as_u16();
        // Kratos reads at most 5 MB of an answer.
        let bytes = read_limited(response, 5 << 20).await?;
        self.judge(status, &bytes)
    }

    fn request(
        &self,
        http: &reqwest::Client,
        body: Option<Value>,
        timeout: Duration,
    ) -> reqwest::RequestBuilder {
        let mut req = http
            .request(self.method.clone(), &self.url)
            .timeout(timeout);
        for (k, v) in &self.headers {
            req = req.header(k, v);
        }
        match &self.auth {
            Some(Auth::ApiKey {
                name,
                value,
                in_cookie: false,
            }) => req = req.header(name, value),
            Some(Auth::ApiKey {
                name,
                value,
                in_cookie: true,
            }) => req = req.header(reqwest::header::COOKIE, format!("{name}={value}")),
            Some(Auth::Basic { user, password }) => req = req.basic_auth(user, Some(password)),
            None => {}
        }
        if let Some(b) = body {
            if !self
                .headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            {
                req = req.header(reqwest::header::CONTENT_TYPE, "application/json");
            }
            req = req.body(b.to_string());
        }
        req
    }

    fn judge(&self, status: u16, bytes: &[u8]) -> Result<Outcome, HookError> {
        if status >= 400 {
            if self.parse
                && let Some(messages) = parse_messages(bytes)
            {
                return Ok(Outcome::Interrupt(messages));
            }
            return Err(HookError::Status(status));
        }
        if self.parse && status != 204 {
            let identity = serde_json::from_slice::<Value>(bytes)
                .ok()
                .and_then(|v| v.get("identity").and_then(Value::as_object).cloned());
            if let Some(fields) = identity {
                return Ok(Outcome::Amend(fields));
            }
        }
        Ok(Outcome::Done)
    }
}

async fn read_limited(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, HookError> {
    let mut out = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if out.len() + chunk.len() > limit {
                    break;
                }
                out.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) if e.is_timeout() => return Err(HookError::Timeout),
            Err(e) => return Err(HookError::Unreachable(e.to_string())),
        }
    }
    Ok(out)
}

/// Kratos's interrupt format: `{"messages":[{"instance_ptr":"#/traits/email",
/// "messages":[{"id":..,"text":..,"type":..,"context":..}]}]}`. The pointer becomes a
/// node name (`traits.email`); `#` or none is the whole flow.
fn parse_messages(bytes: &[u8]) -> Option<Vec<(Option<String>, UiText)>> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    let groups = v.get("messages")?.as_array()?;
    let mut out = Vec::new();
    for g in groups {
        let node = g
            .get("instance_ptr")
            .and_then(Value::as_str)
            .map(|p| {
                p.trim_start_matches('#')
                    .trim_start_matches('/')
                    .replace('/', ".")
            })
            .filter(|p| !p.is_empty());
        for m in g
            .get("messages")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let id = m.get("id").and_then(Value::as_u64).unwrap_or(4000000) as u32;
            let text = m
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let mut t = match m.get("type").and_then(Value::as_str) {
                Some("info") => UiText::info(id, text),
                Some("success") => UiText::success(id, text),
                _ => UiText::error(id, text),
            };
            if let Some(c) = m.get("context").filter(|c| c.is_object()) {
                t = t.with_context(c.clone());
            }
            out.push((node.clone(), t));
        }
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::parse_messages;

    #[test]
    fn interrupt_messages_land_on_nodes() {
        let body = br##"{"messages":[{"instance_ptr":"#/traits/email","messages":[{"id":1234,"text":"No such school","type":"error","context":{"x":1}}]},{"instance_ptr":"#","messages":[{"id":1,"text":"flow","type":"info"}]}]}"##;
        let m = parse_messages(body).unwrap();
        assert_eq!(m[0].0.as_deref(), Some("traits.email"));
        assert_eq!(m[0].1.id, 1234);
        assert_eq!(m[1].0, None);
        assert!(parse_messages(b"garbage").is_none());
        assert!(parse_messages(br#"{"messages":[]}"#).is_none());
    }
}
