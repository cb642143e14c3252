//! Hooks: what runs when a flow starts (`before`) and after it succeeds (`after`). The
//! built-in hooks (`session`, `revoke_active_sessions`, `require_verified_address`, ...) are
//! settings the flows read; the `web_hook`s live here, loaded once at start-up.

pub mod web_hook;

use crate::boot::method_hooks;
use crate::config::{Config, HookConfig};
use crate::flow::ui::UiText;
use axum::http::HeaderMap;
use serde_json::{Map, Value, json};
pub use web_hook::{HookError, Outcome, WebHook};

/// Every configured web hook, by the point where it runs.
#[derive(Clone, Debug, Default)]
pub struct WebHooks {
    pub login_before: Vec<WebHook>,
    pub registration_before: Vec<WebHook>,
    pub settings_before: Vec<WebHook>,
    pub recovery_before: Vec<WebHook>,
    pub verification_before: Vec<WebHook>,
    pub login_after_password: Vec<WebHook>,
    pub registration_after_password: Vec<WebHook>,
    pub settings_after_profile: Vec<WebHook>,
    pub settings_after_password: Vec<WebHook>,
    pub recovery_after: Vec<WebHook>,
    pub verification_after: Vec<WebHook>,
}

async fn web_hooks(key: &str, hooks: &[HookConfig]) -> Result<Vec<WebHook>, String> {
    let mut out = Vec::new();
    for (i, h) in hooks.iter().enumerate() {
        if h.hook == "web_hook" {
            out.push(WebHook::from_config(&format!("{key}[{i}].config"), &h.config).await?);
        }
    }
    Ok(out)
}

impl WebHooks {
    /// Loads every `web_hook` of the config; `prefix` is where the config sits in the file
    /// (e.g. `identity` in gatehouse.yml), for error messages.
    pub async fn load(cfg: &Config, prefix: &str) -> Result<WebHooks, String> {
        let f = &cfg.selfservice.flows;
        let key = |k: &str| {
            if prefix.is_empty() {
                format!("selfservice.flows.{k}")
            } else {
                format!("{prefix}.selfservice.flows.{k}")
            }
        };
        // Which list applies depends on whether per-method hooks are set; name the one used.
        let after_key = |flow: &str, after: &crate::config::After, method: &str| {
            let per_method = match method {
                "password" => after.password.as_ref(),
                "profile" => after.profile.as_ref(),
                _ => None,
            };
            match per_method {
                Some(m) if !m.hooks.is_empty() => key(&format!("{flow}.after.{method}.hooks")),
                _ => key(&format!("{flow}.after.hooks")),
            }
        };
        Ok(WebHooks {
            login_before: web_hooks(&key("login.before.hooks"), &f.login.before.hooks).await?,
            registration_before: web_hooks(
                &key("registration.before.hooks"),
                &f.registration.before.hooks,
            )
            .await?,
            settings_before: web_hooks(&key("settings.before.hooks"), &f.settings.before.hooks)
                .await?,
            recovery_before: web_hooks(&key("recovery.before.hooks"), &f.recovery.before.hooks)
                .await?,
            verification_before: web_hooks(
                &key("verification.before.hooks"),
                &f.verification.before.hooks,
            )
            .await?,
            login_after_password: web_hooks(
                &after_key("login", &f.login.after, "password"),
                method_hooks(&f.login.after, "password"),
            )
            .await?,
            registration_after_password: web_hooks(
                &after_key("registration", &f.registration.after, "password"),
                method_hooks(&f.registration.after, "password"),
            )
            .await?,
            settings_after_profile: web_hooks(
                &after_key("settings", &f.settings.after, "profile"),
                method_hooks(&f.settings.after, "profile"),
            )
            .await?,
            settings_after_password: web_hooks(
                &after_key("settings", &f.settings.after, "password"),
                method_hooks(&f.settings.after, "password"),
            )
            .await?,
            recovery_after: web_hooks(&key("recovery.after.hooks"), &f.recovery.after.hooks)
                .await?,
            verification_after: web_hooks(
                &key("verification.after.hooks"),
                &f.verification.after.hooks,
            )
            .await?,
        })
    }
}

/// The request a hook runs in, as Kratos's Jsonnet `ctx` shows it.
#[derive(Clone, Debug, Default)]
pub struct RequestContext {
    pub method: String,
    pub url: String,
    pub headers: Map<String, Value>,
    pub cookies: Map<String, Value>,
}

/// Headers a hook may see (Kratos's default allow list); cookies and credentials stay out.
const HEADER_ALLOWLIST: &[&str] = &[
    "accept",
    "accept-encoding",
    "accept-language",
    "content-length",
    "content-type",
    "origin",
    "priority",
    "referer",
    "true-client-ip",
    "user-agent",
];

impl RequestContext {
    pub fn new(method: &str, url: String, headers: &HeaderMap) -> Self {
        let mut shown = Map::new();
        for (name, value) in headers {
            let n = name.as_str();
            let allowed = HEADER_ALLOWLIST.contains(&n)
                || n.starts_with("sec-ch-ua")
                || n.starts_with("sec-fetch-");
            if let (true, Ok(v)) = (allowed, value.to_str()) {
                shown.insert(canonical(n), json!([v]));
            }
        }
        let mut cookies = Map::new();
        for value in headers.get_all(axum::http::header::COOKIE) {
            for pair in value.to_str().unwrap_or("").split(';') {
                if let Some((k, v)) = pair.trim().split_once('=') {
                    cookies.insert(k.to_string(), json!(v));
                }
            }
        }
        RequestContext {
            method: method.to_string(),
            url,
            headers: shown,
            cookies,
        }
    }
}

/// `user-agent` -> `User-Agent`, as Go prints header names.
fn canonical(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut c = part.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// Kratos's `ctx` for a hook's Jsonnet body.
pub fn context(
    flow: &Value,
    identity: Option<&Value>,
    session: Option<&Value>,
    req: &RequestContext,
) -> Value {
    let mut ctx = json!({
        "flow": flow,
        "request_headers": req.headers,
        "request_method": req.method,
        "request_url": req.url,
        "request_cookies": req.cookies,
    });
    if let Some(i) = identity {
        ctx["identity"] = i.clone();
    }
    if let Some(s) = session {
        ctx["session"] = s.clone();
    }
    ctx
}

/// What a point's web hooks decided together.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Identity fields the hooks returned, in order.
    pub amend: Vec<Map<String, Value>>,
    /// Messages that stop the flow (only hooks that parse answers can give them).
    pub interrupt: Vec<(Option<String>, UiText)>,
}

/// The message a flow shows when a hook that must decide could not be asked.
fn unavailable() -> UiText {
    UiText::error(
        5000001,
        "An external check this step depends on is unavailable. Please try again in a moment.",
    )
}

/// Runs `hooks` in order with `ctx`. A hook that only observes and fails is logged and the
/// flow goes on; a hook that decides (parses answers) and fails stops the flow with a
/// message rather than letting it through unchecked. Either way the caller never answers
/// a 5xx for someone else's outage.
pub async fn run(
    hooks: &[WebHook],
    http: &reqwest::Client,
    jsonnet: &gatehouse_jsonnet::Runner,
    timeout: std::time::Duration,
    ctx: &Value,
) -> Verdict {
    let mut verdict = Verdict::default();
    for hook in hooks {
        match hook.run(http, jsonnet, ctx.clone(), timeout).await {
            Ok(Outcome::Cancelled) | Ok(Outcome::Done) => {}
            Ok(Outcome::Amend(fields)) => verdict.amend.push(fields),
            Ok(Outcome::Interrupt(messages)) => {
                verdict.interrupt.extend(messages);
                break;
            }
            Err(e) if hook.parse => {
                tracing::warn!(url = %hook.url, error = %e, "web hook failed; the flow was stopped");
                verdict.interrupt.push((None, unavailable()));
                break;
            }
            Err(e) => {
                tracing::warn!(url = %hook.url, error = %e, "web hook failed; the flow went on");
            }
        }
    }
    verdict
}

/// Applies a hook's returned identity fields (Kratos's `response.parse`) to `identity`.
pub fn amend(identity: &mut crate::identity::Identity, fields: &Map<String, Value>) {
    if let Some(t) = fields
        .get("traits")
        .filter(|t| t.as_object().is_some_and(|o| !o.is_empty()))
    {
        identity.traits = t.clone();
    }
    if let Some(s) = fields
        .get("schema_id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        identity.schema_id = s.to_string();
    }
    if let Some(m) = fields.get("metadata_public").filter(|m| !m.is_null()) {
        identity.metadata_public = Some(m.clone());
    }
    if let Some(m) = fields.get("metadata_admin").filter(|m| !m.is_null()) {
        identity.metadata_admin = Some(m.clone());
    }
    if let Some(e) = fields
        .get("external_id")
        .and_then(Value::as_str)
        .filter(|e| !e.is_empty())
    {
        identity.external_id = Some(e.to_string());
    }
    if let Some(state) = fields
        .get("state")
        .and_then(Value::as_str)
        .and_then(crate::identity::State::parse)
    {
        identity.state = state;
    }
}
