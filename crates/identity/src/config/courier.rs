//! `courier.*`: outgoing e-mail. SMTP or HTTP delivery, template overrides, retries and the
//! dispatch worker. Keys are Kratos's; `courier.worker.retry_base_delay` and
//! `courier.worker.retry_max_delay` are gatehouse extensions (Kratos retries on every pull).
//! `validate` checks what types cannot: the SMTP URI, the sender address, header names, and
//! that an HTTP strategy has somewhere to post to.

use super::dur;
use gatehouse_core::config::{ConfigError, Kind};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CourierConfig {
    #[serde(default)]
    pub templates: CourierTemplates,
    /// A directory in Kratos's layout: `<type>/<valid|invalid>/email.subject.gotmpl`, ...
    #[serde(default)]
    pub template_override_path: Option<String>,
    /// Failed sends retried this many times before the message is abandoned.
    #[serde(default = "five")]
    pub message_retries: u32,
    #[serde(default)]
    pub worker: WorkerConfig,
    #[serde(default)]
    pub delivery_strategy: DeliveryStrategy,
    #[serde(default)]
    pub http: Option<HttpDelivery>,
    #[serde(default)]
    pub smtp: SmtpConfig,
    /// SMS channels. Accepted so Kratos configs load; gatehouse sends e-mail only so far.
    #[serde(default)]
    pub channels: Vec<Value>,
}

impl Default for CourierConfig {
    fn default() -> Self {
        CourierConfig {
            templates: CourierTemplates::default(),
            template_override_path: None,
            message_retries: five(),
            worker: WorkerConfig::default(),
            delivery_strategy: DeliveryStrategy::Smtp,
            http: None,
            smtp: SmtpConfig::default(),
            channels: Vec::new(),
        }
    }
}

fn five() -> u32 {
    5
}

#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStrategy {
    #[default]
    Smtp,
    Http,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerConfig {
    /// How many due messages one pull claims.
    #[serde(default = "ten")]
    pub pull_count: u32,
    /// The pause between pulls when the queue is empty.
    #[serde(default = "second", deserialize_with = "dur::deserialize")]
    pub pull_wait: Duration,
    /// gatehouse: the delay before the first retry of a failed send; it doubles per attempt.
    #[serde(default = "five_seconds", deserialize_with = "dur::deserialize")]
    pub retry_base_delay: Duration,
    /// gatehouse: the longest delay between two attempts.
    #[serde(default = "ten_minutes", deserialize_with = "dur::deserialize")]
    pub retry_max_delay: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            pull_count: ten(),
            pull_wait: second(),
            retry_base_delay: five_seconds(),
            retry_max_delay: ten_minutes(),
        }
    }
}

fn ten() -> u32 {
    10
}
fn second() -> Duration {
    Duration::from_secs(1)
}
fn five_seconds() -> Duration {
    Duration::from_secs(5)
}
fn ten_minutes() -> Duration {
    Duration::from_secs(600)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// `smtp://user:pass@host:port/?disable_starttls=true&skip_ssl_verify=true&server_name=x`
    /// or `smtps://...`; see `courier::smtp`.
    #[serde(default)]
    pub connection_uri: Option<String>,
    #[serde(default)]
    pub client_cert_path: Option<String>,
    #[serde(default)]
    pub client_key_path: Option<String>,
    #[serde(default = "default_from")]
    pub from_address: String,
    #[serde(default)]
    pub from_name: Option<String>,
    /// Extra headers on every message (e.g. AWS SES's `X-SES-SOURCE-ARN`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The EHLO name.
    #[serde(default = "localhost")]
    pub local_name: String,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            connection_uri: None,
            client_cert_path: None,
            client_key_path: None,
            from_address: default_from(),
            from_name: None,
            headers: BTreeMap::new(),
            local_name: localhost(),
        }
    }
}

fn default_from() -> String {
    "no-reply@ory.kratos.sh".into()
}
fn localhost() -> String {
    "localhost".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpDelivery {
    pub request_config: RequestConfig,
}

/// Where and how the HTTP strategy posts each message.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestConfig {
    pub url: String,
    #[serde(default = "post")]
    pub method: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A Jsonnet body template in Kratos. Refused by `validate` until Jsonnet support lands.
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub auth: Option<RequestAuth>,
}

fn post() -> String {
    "POST".into()
}

/// `auth: {type: api_key|basic_auth, config: {...}}`, as for web hooks.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", content = "config", deny_unknown_fields)]
pub enum RequestAuth {
    #[serde(rename = "api_key")]
    ApiKey(ApiKeyAuth),
    #[serde(rename = "basic_auth")]
    BasicAuth(BasicAuth),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyAuth {
    pub name: String,
    pub value: String,
    #[serde(rename = "in")]
    pub location: ApiKeyLocation,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ApiKeyLocation {
    Header,
    Cookie,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    pub user: String,
    pub password: String,
}

/// `courier.templates`: per-template URIs (`file://`, `base64://`, `http(s)://`).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CourierTemplates {
    #[serde(default)]
    pub recovery: Option<ValidInvalidTemplates>,
    #[serde(default)]
    pub recovery_code: Option<ValidInvalidTemplates>,
    #[serde(default)]
    pub verification: Option<ValidInvalidTemplates>,
    #[serde(default)]
    pub verification_code: Option<ValidInvalidTemplates>,
    #[serde(default)]
    pub registration_code: Option<ValidOnlyTemplates>,
    #[serde(default)]
    pub login_code: Option<ValidOnlyTemplates>,
    /// A newer Kratos message gatehouse does not send yet; accepted so configs load.
    #[serde(default)]
    pub verifiable_address_changed: Option<Value>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ValidInvalidTemplates {
    #[serde(default)]
    pub valid: Option<ChannelTemplates>,
    #[serde(default)]
    pub invalid: Option<ChannelTemplates>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ValidOnlyTemplates {
    #[serde(default)]
    pub valid: Option<ChannelTemplates>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ChannelTemplates {
    #[serde(default)]
    pub email: EmailTemplateUris,
    /// SMS bodies; accepted so Kratos configs load, unused while gatehouse sends e-mail only.
    #[serde(default)]
    pub sms: Option<Value>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct EmailTemplateUris {
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub body: EmailBodyUris,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct EmailBodyUris {
    #[serde(default)]
    pub html: Option<String>,
    #[serde(default)]
    pub plaintext: Option<String>,
}

impl CourierTemplates {
    /// The configured URIs of one template directory (`recovery_code`) and validity
    /// (`valid`), if any.
    pub fn uris(&self, dir: &str, validity: &str) -> Option<&EmailTemplateUris> {
        fn both<'a>(
            t: &'a Option<ValidInvalidTemplates>,
            validity: &str,
        ) -> Option<&'a ChannelTemplates> {
            let t = t.as_ref()?;
            match validity {
                "valid" => t.valid.as_ref(),
                "invalid" => t.invalid.as_ref(),
                _ => None,
            }
        }
        fn valid_only<'a>(
            t: &'a Option<ValidOnlyTemplates>,
            validity: &str,
        ) -> Option<&'a ChannelTemplates> {
            if validity == "valid" {
                t.as_ref()?.valid.as_ref()
            } else {
                None
            }
        }
        let channels = match dir {
            "recovery" => both(&self.recovery, validity),
            "recovery_code" => both(&self.recovery_code, validity),
            "verification" => both(&self.verification, validity),
            "verification_code" => both(&self.verification_code, validity),
            "registration_code" => valid_only(&self.registration_code, validity),
            "login_code" => valid_only(&self.login_code, validity),
            _ => None,
        };
        channels.map(|c| &c.email)
    }
}

/// The env paths under `courier` (see `Config::known_env_paths`).
pub(super) fn env_paths() -> Vec<(String, Kind)> {
    let mut v: Vec<(String, Kind)> = [
        ("courier.smtp.connection_uri", Kind::String),
        ("courier.smtp.from_address", Kind::String),
        ("courier.smtp.from_name", Kind::String),
        ("courier.smtp.local_name", Kind::String),
        ("courier.smtp.headers", Kind::Json),
        ("courier.smtp.client_cert_path", Kind::String),
        ("courier.smtp.client_key_path", Kind::String),
        ("courier.template_override_path", Kind::String),
        ("courier.message_retries", Kind::Integer),
        ("courier.worker.pull_count", Kind::Integer),
        ("courier.worker.pull_wait", Kind::String),
        ("courier.worker.retry_base_delay", Kind::String),
        ("courier.worker.retry_max_delay", Kind::String),
        ("courier.delivery_strategy", Kind::String),
        ("courier.http.request_config", Kind::Json),
        ("courier.http.request_config.url", Kind::String),
        ("courier.http.request_config.method", Kind::String),
        ("courier.http.request_config.headers", Kind::Json),
        ("courier.http.request_config.auth", Kind::Json),
        ("courier.channels", Kind::Json),
    ]
    .into_iter()
    .map(|(p, k)| (p.to_string(), k))
    .collect();
    let dirs: [(&str, &[&str]); 6] = [
        ("recovery", &["valid", "invalid"]),
        ("recovery_code", &["valid", "invalid"]),
        ("verification", &["valid", "invalid"]),
        ("verification_code", &["valid", "invalid"]),
        ("registration_code", &["valid"]),
        ("login_code", &["valid"]),
    ];
    for (dir, validities) in dirs {
        for validity in validities {
            for leaf in ["subject", "body.html", "body.plaintext"] {
                v.push((
                    format!("courier.templates.{dir}.{validity}.email.{leaf}"),
                    Kind::String,
                ));
            }
        }
    }
    v
}

/// Checks the courier config beyond its types. `key` turns a path below the config root
/// into the full key path for messages.
pub(super) fn validate(c: &CourierConfig, key: &dyn Fn(&str) -> String) -> Result<(), ConfigError> {
    if let Some(uri) = &c.smtp.connection_uri {
        crate::courier::smtp::SmtpUri::parse(uri)
            .map_err(|e| ConfigError::invalid(key("courier.smtp.connection_uri"), e))?;
    }
    if c.smtp.from_address.parse::<lettre::Address>().is_err() {
        return Err(ConfigError::invalid(
            key("courier.smtp.from_address"),
            format!("{:?} is not an e-mail address", c.smtp.from_address),
        ));
    }
    if c.smtp.local_name.trim().is_empty() {
        return Err(ConfigError::invalid(
            key("courier.smtp.local_name"),
            "must not be empty",
        ));
    }
    for name in c.smtp.headers.keys() {
        if !is_header_name(name) {
            return Err(ConfigError::invalid(
                key(&format!("courier.smtp.headers.{name}")),
                format!("{name:?} is not a valid header name"),
            ));
        }
    }
    match (&c.smtp.client_cert_path, &c.smtp.client_key_path) {
        (Some(a), Some(b)) if !a.is_empty() && !b.is_empty() => {}
        (Some(a), _) if !a.is_empty() => {
            return Err(ConfigError::invalid(
                key("courier.smtp.client_key_path"),
                "required when client_cert_path is set",
            ));
        }
        (_, Some(b)) if !b.is_empty() => {
            return Err(ConfigError::invalid(
                key("courier.smtp.client_cert_path"),
                "required when client_key_path is set",
            ));
        }
        _ => {}
    }
    if c.worker.pull_count == 0 {
        return Err(ConfigError::invalid(
            key("courier.worker.pull_count"),
            "must be at least 1",
        ));
    }
    if c.worker.pull_wait.is_zero() {
        return Err(ConfigError::invalid(
            key("courier.worker.pull_wait"),
            "must be longer than zero",
        ));
    }
    if c.worker.retry_max_delay < c.worker.retry_base_delay {
        return Err(ConfigError::invalid(
            key("courier.worker.retry_max_delay"),
            "must not be shorter than courier.worker.retry_base_delay",
        ));
    }
    if let Some(http) = &c.http {
        validate_request(&http.request_config, "courier.http.request_config", key)?;
    }
    if c.delivery_strategy == DeliveryStrategy::Http && c.http.is_none() {
        return Err(ConfigError::invalid(
            key("courier.http.request_config"),
            "required when courier.delivery_strategy is http",
        ));
    }
    Ok(())
}

fn validate_request(
    r: &RequestConfig,
    base: &str,
    key: &dyn Fn(&str) -> String,
) -> Result<(), ConfigError> {
    match url::Url::parse(&r.url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => {}
        _ => {
            return Err(ConfigError::invalid(
                key(&format!("{base}.url")),
                format!("{:?} must be an absolute http or https URL", r.url),
            ));
        }
    }
    if r.method.parse::<axum::http::Method>().is_err() {
        return Err(ConfigError::invalid(
            key(&format!("{base}.method")),
            format!("{:?} is not an HTTP method", r.method),
        ));
    }
    for name in r.headers.keys() {
        if name.parse::<axum::http::HeaderName>().is_err() {
            return Err(ConfigError::invalid(
                key(&format!("{base}.headers.{name}")),
                format!("{name:?} is not a valid header name"),
            ));
        }
    }
    if r.body.is_some() {
        return Err(ConfigError::invalid(
            key(&format!("{base}.body")),
            "Jsonnet request bodies are not supported yet; they arrive with the web hook work. \
             Remove the key to post gatehouse's JSON body (recipient, template_type, template_data, \
             subject, body and the fields of Kratos's default body)",
        ));
    }
    if let Some(RequestAuth::ApiKey(k)) = &r.auth
        && k.location == ApiKeyLocation::Header
        && k.name.parse::<axum::http::HeaderName>().is_err()
    {
        return Err(ConfigError::invalid(
            key(&format!("{base}.auth.config.name")),
            format!("{:?} is not a valid header name", k.name),
        ));
    }
    Ok(())
}

/// RFC 5322 field names: printable ASCII except the colon.
fn is_header_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| (33..=126).contains(&b) && b != b':')
}
