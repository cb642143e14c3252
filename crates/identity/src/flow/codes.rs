//! The form nodes that verification and recovery share: ask for an address, then for
//! the code that was mailed to it.

use super::ui::{InputSpec, Node, UiText};
use super::{Flow, FlowKind, FlowType};
use crate::service::Service;
use crate::store::{CodeUse, NewCode};
use gatehouse_core::ApiError;
use serde_json::json;

/// Wrong guesses a code survives; then the flow needs a new code.
pub const MAX_ATTEMPTS: i64 = 5;

/// Stores a new six-digit code for `identity_id`'s `address` on this flow (dying with
/// it) and returns the code, which is never stored in clear.
pub async fn store_code(
    svc: &Service,
    flow: &Flow,
    purpose: &str,
    identity_id: uuid::Uuid,
    address: &str,
) -> Result<String, ApiError> {
    let code = gatehouse_core::token::random_digits(6);
    let hash = svc.code_hash(flow.id, &code, svc.signing_secret());
    svc.store
        .create_code(
            &NewCode {
                flow_id: flow.id,
                purpose,
                identity_id: Some(identity_id),
                via: "email",
                address,
                code_hash: &hash,
                expires_at: flow.expires_at,
            },
            svc.clock.now(),
        )
        .await?;
    Ok(code)
}

/// A right code's owner: identity, channel and address.
pub struct Spent {
    pub identity_id: uuid::Uuid,
    pub via: String,
    pub address: String,
}

/// Spends a guess at the flow's code. A wrong, used or over-guessed code puts the reason
/// on the flow (`wrong` is the flow's own "invalid code" message) and gives `None`.
pub async fn spend(
    svc: &Service,
    flow: &mut Flow,
    purpose: &str,
    code: &str,
    wrong: UiText,
) -> Result<Option<Spent>, ApiError> {
    let code = code.trim();
    let used = svc
        .store
        .use_code(
            flow.id,
            purpose,
            |stored| svc.code_matches(flow.id, code, stored),
            MAX_ATTEMPTS,
            svc.clock.now(),
        )
        .await?;
    flow.ui.clear_messages();
    match used {
        CodeUse::Valid {
            identity_id: Some(identity_id),
            via,
            address,
        } => Ok(Some(Spent {
            identity_id,
            via,
            address,
        })),
        CodeUse::Valid { .. } | CodeUse::Invalid => {
            flow.ui.messages.push(wrong);
            Ok(None)
        }
        CodeUse::TooOften => {
            flow.ui.messages.push(UiText::error(
                5000001,
                "The request was submitted too often. Please request another code.",
            ));
            Ok(None)
        }
    }
}

/// A new verification or recovery flow asking for the address.
pub fn new_flow(
    svc: &Service,
    kind: FlowKind,
    lifespan: std::time::Duration,
    flow_type: FlowType,
    request_url: String,
) -> Flow {
    let s = &svc.settings;
    let mut flow = Flow::new(
        kind,
        flow_type,
        svc.clock.now(),
        lifespan,
        request_url,
        |id| s.public_url(&format!("self-service/{}?flow={id}", kind.as_str())),
    );
    flow.active = Some("code".into());
    flow.ui.nodes.push(email_input());
    flow.ui.nodes.push(continue_button());
    flow
}

/// The address field of the first step.
pub fn email_input() -> Node {
    Node::input(
        "code",
        InputSpec {
            name: "email",
            input_type: "email",
            required: true,
            label: Some(UiText::info(1070007, "Email")),
            ..Default::default()
        },
    )
}

pub fn continue_button() -> Node {
    Node::input(
        "code",
        InputSpec {
            name: "method",
            input_type: "submit",
            value: Some(json!("code")),
            label: Some(UiText::info(1070009, "Continue")),
            ..Default::default()
        },
    )
}

/// The `sent_email` form: the code, a continue button, and a resend button for `email`.
pub fn sent_nodes(flow: &mut Flow, email: &str, code_label: UiText) {
    flow.ui.nodes.retain(|n| n.group == "default");
    flow.ui.nodes.push(Node::input(
        "code",
        InputSpec {
            name: "method",
            input_type: "hidden",
            value: Some(json!("code")),
            ..Default::default()
        },
    ));
    flow.ui.nodes.push(Node::input(
        "code",
        InputSpec {
            name: "code",
            input_type: "text",
            required: true,
            autocomplete: Some("one-time-code"),
            label: Some(code_label),
            ..Default::default()
        },
    ));
    flow.ui.nodes.push(continue_button());
    flow.ui.nodes.push(Node::input(
        "code",
        InputSpec {
            name: "email",
            input_type: "submit",
            value: Some(json!(email)),
            label: Some(UiText::info(1070008, "Resend code")),
            ..Default::default()
        },
    ));
}
