//! How the worker hands a message over: SMTP, HTTP, the dev mailbox, or not at all.

use super::http::HttpSender;
use super::message::Message;
use super::smtp::SmtpSender;
use crate::config::{CourierConfig, DeliveryStrategy};

pub enum Delivery {
    Smtp(SmtpSender),
    Http(HttpSender),
    /// `--dev` with neither SMTP nor HTTP configured: messages count as delivered when the
    /// worker takes them; they are read at `/ui/mail` and their code or link is logged.
    Mailbox {
        public_base_url: String,
    },
    /// Nothing configured outside dev mode: the worker leaves messages queued, so they go
    /// out once delivery is configured.
    Unconfigured,
}

impl Delivery {
    /// The delivery the config asks for. Fails on what only shows when building a sender
    /// (unreadable client certificates).
    pub fn from_config(
        c: &CourierConfig,
        dev: bool,
        public_base_url: &str,
    ) -> Result<Delivery, String> {
        if c.delivery_strategy == DeliveryStrategy::Http {
            let http = c
                .http
                .as_ref()
                .ok_or("config key `courier.http.request_config`: required for http delivery")?;
            return Ok(Delivery::Http(HttpSender::new(&http.request_config)?));
        }
        match c.smtp.connection_uri.as_deref().filter(|u| !u.is_empty()) {
            Some(uri) => Ok(Delivery::Smtp(
                SmtpSender::new(uri, &c.smtp)
                    .map_err(|e| format!("config key `courier.smtp`: {e}"))?,
            )),
            None if dev => Ok(Delivery::Mailbox {
                public_base_url: public_base_url.to_string(),
            }),
            None => Ok(Delivery::Unconfigured),
        }
    }

    /// For the start-up log.
    pub fn describe(&self) -> String {
        match self {
            Delivery::Smtp(s) => format!("SMTP via {}", s.server),
            Delivery::Http(_) => "HTTP".into(),
            Delivery::Mailbox { public_base_url } => {
                format!("the dev mailbox at {public_base_url}ui/mail")
            }
            Delivery::Unconfigured => "nowhere (no courier.smtp.connection_uri)".into(),
        }
    }

    pub fn is_configured(&self) -> bool {
        !matches!(self, Delivery::Unconfigured)
    }

    pub async fn send(&self, m: &Message) -> Result<(), String> {
        match self {
            Delivery::Smtp(s) => s.send(m).await,
            Delivery::Http(h) => h.send(m).await,
            Delivery::Mailbox { public_base_url } => {
                let data = &m.template_data;
                let field = |keys: &[&str]| {
                    keys.iter()
                        .filter_map(|k| data.get(*k).and_then(|v| v.as_str()))
                        .find(|s| !s.is_empty())
                        .unwrap_or("")
                        .to_string()
                };
                let code = field(&[
                    "verification_code",
                    "recovery_code",
                    "login_code",
                    "registration_code",
                ]);
                let link = field(&["verification_url", "recovery_url"]);
                // Dev mode only: the point of the mailbox is to show the code.
                tracing::info!(
                    to = %m.recipient,
                    subject = %m.subject,
                    code = %code,
                    link = %link,
                    mailbox = %format!("{public_base_url}ui/mail/{}", m.id),
                    "dev mailbox: message delivered"
                );
                Ok(())
            }
            Delivery::Unconfigured => Err("no courier delivery is configured".into()),
        }
    }
}
