//! A queued message and its delivery attempts (dispatches), with Kratos's JSON for both.

use gatehouse_core::clock::rfc3339;
use serde_json::{Value, json};
use time::OffsetDateTime;

/// Where a message is in its life. Stored as Kratos's integers (1 queued, 2 sent,
/// 3 processing, 4 abandoned) so a database can be read the same way in both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Queued,
    Sent,
    Processing,
    Abandoned,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Sent => "sent",
            Status::Processing => "processing",
            Status::Abandoned => "abandoned",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        match s {
            "queued" => Some(Status::Queued),
            "sent" => Some(Status::Sent),
            "processing" => Some(Status::Processing),
            "abandoned" => Some(Status::Abandoned),
            _ => None,
        }
    }

    pub fn code(self) -> i64 {
        match self {
            Status::Queued => 1,
            Status::Sent => 2,
            Status::Processing => 3,
            Status::Abandoned => 4,
        }
    }

    pub fn from_code(code: i64) -> Option<Status> {
        match code {
            1 => Some(Status::Queued),
            2 => Some(Status::Sent),
            3 => Some(Status::Processing),
            4 => Some(Status::Abandoned),
            _ => None,
        }
    }
}

/// An e-mail in the outbox, rendered when it was queued.
#[derive(Clone, Debug)]
pub struct Message {
    pub id: uuid::Uuid,
    pub status: Status,
    pub recipient: String,
    pub subject: String,
    /// The HTML body.
    pub body_html: String,
    pub body_plaintext: String,
    /// `recovery_code_valid`, ...
    pub template_type: String,
    /// The template's variables under Kratos's JSON names (`to`, `recovery_code`, ...).
    pub template_data: Value,
    pub channel: String,
    /// Delivery attempts made so far.
    pub send_count: u32,
    /// Why the last attempt failed, or why the message was abandoned.
    pub last_error: Option<String>,
    pub next_attempt_at: OffsetDateTime,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// Whether one delivery attempt worked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DispatchStatus {
    Failed,
    Success,
}

impl DispatchStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DispatchStatus::Failed => "failed",
            DispatchStatus::Success => "success",
        }
    }
}

/// One delivery attempt of a message.
#[derive(Clone, Debug)]
pub struct Dispatch {
    pub id: uuid::Uuid,
    pub message_id: uuid::Uuid,
    pub status: DispatchStatus,
    /// An error object in Ory's shape (`{"code", "status", "reason", "message"}`).
    pub error: Option<Value>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Dispatch {
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "id": self.id,
            "message_id": self.message_id,
            "status": self.status.as_str(),
            "created_at": rfc3339(self.created_at),
            "updated_at": rfc3339(self.updated_at),
        });
        if let Some(e) = &self.error {
            v["error"] = e.clone();
        }
        v
    }
}

/// What the admin API shows of a message's content: Kratos hides subjects and bodies
/// (they carry codes and links) unless it runs in dev mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Content {
    Shown,
    Redacted,
}

const REDACTED: &str = "<redacted-unless-dev-mode>";

impl Message {
    /// Kratos's message JSON. `body` is the plaintext body, as Kratos stores it; the HTML
    /// body is not part of the wire format. `dispatches` is set only for a single message
    /// and left out when empty, as Kratos does.
    pub fn to_json(&self, content: Content, dispatches: Option<&[Dispatch]>) -> Value {
        let (subject, body) = match content {
            Content::Shown => (self.subject.as_str(), self.body_plaintext.as_str()),
            Content::Redacted => (REDACTED, REDACTED),
        };
        let mut v = json!({
            "id": self.id,
            "status": self.status.as_str(),
            "type": "email",
            "recipient": self.recipient,
            "body": body,
            "subject": subject,
            "template_type": self.template_type,
            "channel": self.channel,
            "send_count": self.send_count,
            "created_at": rfc3339(self.created_at),
            "updated_at": rfc3339(self.updated_at),
        });
        if let Some(d) = dispatches.filter(|d| !d.is_empty()) {
            v["dispatches"] = Value::Array(d.iter().map(Dispatch::to_json).collect());
        }
        v
    }
}

/// An error object for a dispatch row, in the shape Kratos records (herodot's).
pub fn dispatch_error(reason: &str) -> Value {
    json!({
        "code": 500,
        "status": "Internal Server Error",
        "reason": reason,
        "message": "The message could not be delivered",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_round_trip() {
        for s in [
            Status::Queued,
            Status::Sent,
            Status::Processing,
            Status::Abandoned,
        ] {
            assert_eq!(Status::from_code(s.code()), Some(s));
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse("Queued"), None);
        assert_eq!(Status::from_code(0), None);
    }

    #[test]
    fn json_redacts_content_outside_dev() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let m = Message {
            id: uuid::Uuid::nil(),
            status: Status::Queued,
            recipient: "a@example.org".into(),
            subject: "Use code 123456".into(),
            body_html: "<p>123456</p>".into(),
            body_plaintext: "123456".into(),
            template_type: "login_code_valid".into(),
            template_data: json!({}),
            channel: "email".into(),
            send_count: 0,
            last_error: None,
            next_attempt_at: now,
            created_at: now,
            updated_at: now,
        };
        let shown = m.to_json(Content::Shown, Some(&[]));
        assert_eq!(shown["body"], "123456");
        assert_eq!(shown["type"], "email");
        assert!(shown.get("dispatches").is_none());
        let hidden = m.to_json(Content::Redacted, None);
        assert_eq!(hidden["subject"], REDACTED);
        assert_eq!(hidden["body"], REDACTED);
    }
}
