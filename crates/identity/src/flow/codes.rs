//! What verification and recovery share: ask for an address, then mail it a secret that
//! proves the user can read it: a six-digit code to type in (`code`, the default) or a
//! link to follow (`link`). Both live in the code table, hashed, tied to their flow.

use super::ui::{InputSpec, Node, UiText};
use super::{Flow, FlowKind, FlowType};
use crate::service::Service;
use crate::settings::CodeFlowSettings;
use crate::store::{CodeUse, NewCode};
use gatehouse_core::ApiError;
use serde_json::json;

/// Wrong guesses a code survives; then the flow needs a new code.
pub const MAX_ATTEMPTS: i64 = 5;

/// The method a new flow uses, from `selfservice.flows.<kind>.use`.
pub fn strategy(settings: &CodeFlowSettings) -> &'static str {
    if settings.use_link { "link" } else { "code" }
}

/// The code-table purpose of `kind`'s secrets for `strategy`: a link token is never
/// accepted as a typed code, nor the other way round.
pub fn purpose(kind: FlowKind, strategy: &str) -> &'static str {
    match (kind, strategy) {
        (FlowKind::Recovery, "link") => "recovery_link",
        (FlowKind::Recovery, _) => "recovery",
        (_, "link") => "verification_link",
        _ => "verification",
    }
}

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
    store_secret(
        svc,
        flow,
        purpose,
        identity_id,
        address,
        &code,
        flow.expires_at,
    )
    .await?;
    Ok(code)
}

/// When a link mailed now stops working: `selfservice.methods.link.config.lifespan`
/// from now. A link outlives its flow, as in Kratos: mail can be slow, and following the
/// link needs nothing else from the flow.
pub fn link_expiry(svc: &Service) -> time::OffsetDateTime {
    let lifespan =
        time::Duration::try_from(svc.settings.link_lifespan).unwrap_or(time::Duration::HOUR);
    svc.clock.now() + lifespan
}

/// Stores a new link token for `identity_id`'s `address` and returns the link to mail.
pub async fn store_link(
    svc: &Service,
    flow: &Flow,
    identity_id: uuid::Uuid,
    address: &str,
    expires_at: time::OffsetDateTime,
) -> Result<String, ApiError> {
    let kind = flow.kind.unwrap_or(FlowKind::Verification);
    let token = gatehouse_core::token::random_alphanumeric(32);
    let purpose = purpose(kind, "link");
    store_secret(svc, flow, purpose, identity_id, address, &token, expires_at).await?;
    Ok(svc.settings.public_url(&format!(
        "self-service/{}?flow={}&token={token}",
        kind.as_str(),
        flow.id
    )))
}

async fn store_secret(
    svc: &Service,
    flow: &Flow,
    purpose: &str,
    identity_id: uuid::Uuid,
    address: &str,
    secret: &str,
    expires_at: time::OffsetDateTime,
) -> Result<(), ApiError> {
    let hash = svc.code_hash(flow.id, secret, svc.signing_secret());
    svc.store
        .create_code(
            &NewCode {
                flow_id: flow.id,
                purpose,
                identity_id: Some(identity_id),
                via: "email",
                address,
                code_hash: &hash,
                expires_at,
            },
            svc.clock.now(),
        )
        .await?;
    Ok(())
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

/// Spends a link token: whose address it proves, or `None` for a wrong, used or expired
/// one (the caller starts a new flow with its "invalid link" message).
pub async fn spend_link(
    svc: &Service,
    flow: &Flow,
    token: &str,
) -> Result<Option<Spent>, ApiError> {
    let kind = flow.kind.unwrap_or(FlowKind::Verification);
    let used = svc
        .store
        .use_code(
            flow.id,
            purpose(kind, "link"),
            |stored| svc.code_matches(flow.id, token.trim(), stored),
            MAX_ATTEMPTS,
            svc.clock.now(),
        )
        .await?;
    Ok(match used {
        CodeUse::Valid {
            identity_id: Some(identity_id),
            via,
            address,
        } => Some(Spent {
            identity_id,
            via,
            address,
        }),
        _ => None,
    })
}

/// A new verification or recovery flow asking for the address, for `strategy`.
pub fn new_flow(
    svc: &Service,
    kind: FlowKind,
    settings: &CodeFlowSettings,
    flow_type: FlowType,
    request_url: String,
) -> Flow {
    let s = &svc.settings;
    let strategy = strategy(settings);
    let mut flow = Flow::new(
        kind,
        flow_type,
        svc.clock.now(),
        settings.flow.lifespan,
        request_url,
        |id| s.public_url(&format!("self-service/{}?flow={id}", kind.as_str())),
    );
    flow.active = Some(strategy.into());
    flow.ui.nodes.push(email_input(strategy, None));
    flow.ui.nodes.push(continue_button(strategy));
    flow
}

/// The address field of the first step (`value` once an address was given).
pub fn email_input(group: &str, value: Option<&str>) -> Node {
    Node::input(
        group,
        InputSpec {
            name: "email",
            input_type: "email",
            required: true,
            value: value.map(|v| json!(v)),
            label: Some(UiText::info(1070007, "Email")),
            ..Default::default()
        },
    )
}

pub fn continue_button(strategy: &str) -> Node {
    Node::input(
        strategy,
        InputSpec {
            name: "method",
            input_type: "submit",
            value: Some(json!(strategy)),
            label: Some(UiText::info(1070009, "Continue")),
            ..Default::default()
        },
    )
}

/// The `sent_email` form of the `link` method: the address again, to send another link.
pub fn link_sent_nodes(flow: &mut Flow, email: &str) {
    flow.ui.nodes.retain(|n| n.group == "default");
    flow.ui.nodes.push(email_input("link", Some(email)));
    flow.ui.nodes.push(continue_button("link"));
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
    flow.ui.nodes.push(continue_button("code"));
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
