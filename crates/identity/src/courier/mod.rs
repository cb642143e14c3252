//! The courier: outgoing e-mail, as Kratos's courier does it. Flows call
//! [`Courier::send_email`], which renders the message from its template right away and puts
//! it in the outbox (a table); the [`worker`] delivers the outbox over SMTP or HTTP (or, in
//! dev mode, to the built-in mailbox at `/ui/mail`), retrying with backoff.
//!
//! Rendering at queue time means a flow never waits for a mail server, and a template that
//! cannot render leaves an abandoned message with the reason instead of failing the flow.

pub mod delivery;
pub mod http;
pub mod message;
pub mod smtp;
pub mod template_type;
pub mod templates;
pub mod worker;

pub use template_type::TemplateType;

use crate::config::Config;
use crate::store::SqlStore;
use delivery::Delivery;
use gatehouse_core::{ApiError, Clock};
use message::{Message, Status, dispatch_error};
use serde_json::Value;
use std::sync::Arc;
use templates::Templates;
use tokio::sync::Notify;
use worker::{WorkerHandle, WorkerSettings};

/// Queues e-mail and owns what the worker needs to deliver it.
pub struct Courier {
    pub(crate) store: SqlStore,
    templates: Templates,
    pub(crate) delivery: Arc<Delivery>,
    pub(crate) clock: Clock,
    pub(crate) worker: WorkerSettings,
    /// Wakes this process's worker when a message is queued, so it need not wait for the
    /// next pull.
    pub(crate) wake: Arc<Notify>,
}

impl Courier {
    /// Loads and parses the templates and sets up delivery; any error names the config key.
    pub async fn new(cfg: &Config, store: SqlStore, clock: Clock) -> Result<Courier, String> {
        let c = &cfg.courier;
        let templates = Templates::load(c, &cfg.key_prefix).await?;
        let delivery = Delivery::from_config(c, cfg.dev, &cfg.public_base_url())?;
        if !c.channels.is_empty() {
            tracing::warn!("courier.channels (SMS) is not supported yet; only e-mail is sent");
        }
        Ok(Courier {
            store,
            templates,
            delivery: Arc::new(delivery),
            clock,
            worker: WorkerSettings {
                pull_count: c.worker.pull_count,
                pull_wait: c.worker.pull_wait,
                message_retries: c.message_retries,
                retry_base_delay: c.worker.retry_base_delay,
                retry_max_delay: c.worker.retry_max_delay,
            },
            wake: Arc::new(Notify::new()),
        })
    }

    /// Renders `template` for `to` with `data` (the Go template variables by their Go
    /// names: `VerificationCode`, `RecoveryURL`, `Identity`, ...; `To` is set from `to`)
    /// and queues it. Returns the message id.
    ///
    /// A template that fails to render still gives `Ok`: the message is stored abandoned
    /// with the reason (see the admin API), so the flow goes on. An address that is not an
    /// e-mail address is a 400.
    pub async fn send_email(
        &self,
        template: TemplateType,
        to: &str,
        data: Value,
    ) -> Result<uuid::Uuid, ApiError> {
        let to = to.trim();
        if to.parse::<lettre::Address>().is_err() {
            return Err(ApiError::bad_request(
                "The e-mail recipient is not a valid e-mail address.",
            ));
        }
        let model = template.model(to, &data);
        let now = self.clock.now();
        let mut m = Message {
            id: uuid::Uuid::new_v4(),
            status: Status::Queued,
            recipient: to.to_string(),
            subject: String::new(),
            body_html: String::new(),
            body_plaintext: String::new(),
            template_type: template.as_str().to_string(),
            template_data: template_type::json_model(&model),
            channel: "email".into(),
            send_count: 0,
            last_error: None,
            next_attempt_at: now,
            created_at: now,
            updated_at: now,
        };
        match self.templates.render(template, &model) {
            Ok(r) => {
                m.subject = r.subject;
                m.body_html = r.html;
                m.body_plaintext = r.plaintext;
                self.store.insert_courier_message(&m, None).await?;
                self.wake.notify_one();
            }
            Err(reason) => {
                tracing::error!(message_id = %m.id, template = %template, error = %reason, "courier: the message template did not render; the message is abandoned");
                m.status = Status::Abandoned;
                m.last_error = Some(reason.clone());
                self.store
                    .insert_courier_message(&m, Some(&dispatch_error(&reason)))
                    .await?;
            }
        }
        Ok(m.id)
    }

    /// Starts the dispatch worker on the current runtime; see [`worker`].
    pub fn spawn_worker(&self) -> WorkerHandle {
        worker::spawn(self)
    }

    /// Where messages go, for the start-up banner.
    pub fn delivery(&self) -> &Delivery {
        &self.delivery
    }
}
