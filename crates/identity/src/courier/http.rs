//! HTTP delivery (`courier.delivery_strategy: http`): each message is posted as JSON to
//! `courier.http.request_config.url`, with the configured headers and authentication.
//!
//! The body carries the Jsonnet context Kratos gives a custom body template (`recipient`,
//! `template_type`, `template_data`, `subject`, `body`, plus `html_body` and `message_type`)
//! and the fields Kratos's default body template derives from it (`to`, `recovery_code`,
//! `recovery_url`, `verification_url`, `verification_code`), so a receiver written for
//! either shape works. As in Kratos, `body` is the plaintext body.

use super::message::Message;
use crate::config::{ApiKeyLocation, RequestAuth, RequestConfig};
use base64::Engine;
use serde_json::{Value, json};
use std::time::Duration;

pub struct HttpSender {
    client: reqwest::Client,
    config: RequestConfig,
    method: reqwest::Method,
}

impl HttpSender {
    pub fn new(config: &RequestConfig) -> Result<HttpSender, String> {
        gatehouse_core::install_tls_provider();
        let method = config
            .method
            .parse::<reqwest::Method>()
            .map_err(|_| format!("courier.http.request_config.method: {:?}", config.method))?;
        let client = reqwest::Client::builder()
            // Fail fast; the worker retries with backoff.
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("courier.http: cannot build the HTTP client: {e}"))?;
        Ok(HttpSender {
            client,
            config: config.clone(),
            method,
        })
    }

    /// The JSON document posted for a message.
    pub fn body(m: &Message) -> Value {
        let data = &m.template_data;
        let pick = |k: &str| data.get(k).cloned().unwrap_or(Value::Null);
        json!({
            "recipient": m.recipient,
            "template_type": m.template_type,
            "template_data": data,
            "message_type": "email",
            "subject": m.subject,
            "body": m.body_plaintext,
            "html_body": m.body_html,
            "to": pick("to"),
            "recovery_code": pick("recovery_code"),
            "recovery_url": pick("recovery_url"),
            "verification_url": pick("verification_url"),
            "verification_code": pick("verification_code"),
        })
    }

    pub async fn send(&self, m: &Message) -> Result<(), String> {
        let mut req = self
            .client
            .request(self.method.clone(), &self.config.url)
            .json(&Self::body(m));
        for (k, v) in &self.config.headers {
            req = req.header(k, v);
        }
        match &self.config.auth {
            Some(RequestAuth::ApiKey(k)) => match k.location {
                ApiKeyLocation::Header => req = req.header(&k.name, &k.value),
                ApiKeyLocation::Cookie => {
                    req = req.header("cookie", format!("{}={}", k.name, k.value))
                }
            },
            Some(RequestAuth::BasicAuth(b)) => {
                let token = base64::engine::general_purpose::STANDARD
                    .encode(format!("{}:{}", b.user, b.password));
                req = req.header("authorization", format!("Basic {token}"));
            }
            None => {}
        }
        let res = req
            .send()
            .await
            .map_err(|e| format!("HTTP delivery to {} failed: {e}", self.config.url))?;
        let status = res.status();
        if status.is_success() {
            return Ok(());
        }
        // A little of the answer helps to see why; never more than 1 KiB.
        let text = res.text().await.unwrap_or_default();
        let snippet: String = text.chars().take(1024).collect();
        Err(format!(
            "HTTP delivery to {} was answered with status {}: {snippet}",
            self.config.url,
            status.as_u16()
        ))
    }
}
