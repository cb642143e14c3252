//! The verification flow: the user names an address, gets a code (`code` method) or a link
//! (`link` method) by e-mail, and proves they can read it. States: `choose_method` ->
//! `sent_email` -> `passed_challenge`. Unknown addresses get the same answer as known ones.

use super::codes;
use super::ui::{Node, UiText};
use super::{Flow, FlowKind, FlowType};
use crate::courier::TemplateType;
use crate::identity::{Identity, View};
use crate::service::Service;
use gatehouse_core::ApiError;
use serde_json::{Value, json};

/// The `purpose` of verification codes in the code table.
pub const PURPOSE: &str = "verification";

/// A new verification flow asking for the address.
pub fn new_flow(svc: &Service, flow_type: FlowType, request_url: String) -> Flow {
    codes::new_flow(
        svc,
        FlowKind::Verification,
        &svc.settings.verification,
        flow_type,
        request_url,
    )
}

fn uses_link(flow: &Flow) -> bool {
    flow.active.as_deref() == Some("link")
}

fn code_sent_message() -> UiText {
    UiText::info(
        1080003,
        "An email containing a verification code has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with.",
    )
}

/// Mails a fresh code or link for `email` (or, for an address nobody has, the "invalid" notice when
/// configured) and moves the flow to `sent_email`. The answer never tells whether the
/// address is known.
pub async fn send_code(svc: &Service, flow: &mut Flow, email: &str) -> Result<(), ApiError> {
    let email = email.trim().to_lowercase();
    let now = svc.clock.now();
    let strategy = if uses_link(flow) { "link" } else { "code" };
    svc.store
        .retire_codes(
            flow.id,
            codes::purpose(FlowKind::Verification, strategy),
            now,
        )
        .await?;
    let owner = svc
        .store
        .identity_by_verifiable_address("email", &email)
        .await?;
    let identity = match owner {
        Some(id) => svc.store.get_identity_public(id).await?,
        None => None,
    };
    match identity {
        Some(identity) => issue(svc, flow, &identity, &email).await?,
        None if svc.settings.verification.notify_unknown_recipients => {
            let template = if uses_link(flow) {
                TemplateType::VerificationInvalid
            } else {
                TemplateType::VerificationCodeInvalid
            };
            let data = json!({
                "To": email,
                "RequestURL": flow.request_url,
                "TransientPayload": flow_transient_payload(flow),
            });
            svc.courier.send_email(template, &email, data).await?;
        }
        None => {}
    }
    mark_sent(flow, &email);
    Ok(())
}

/// Moves the flow to `sent_email`: the code form (or the address again, for links) and
/// the "sent" message.
pub fn mark_sent(flow: &mut Flow, email: &str) {
    flow.state = "sent_email".into();
    if uses_link(flow) {
        codes::link_sent_nodes(flow, email);
        flow.ui.messages = vec![UiText::info(
            1080001,
            "An email containing a verification link has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with.",
        )];
        return;
    }
    codes::sent_nodes(flow, email, UiText::info(1070011, "Verification code"));
    flow.ui.messages = vec![code_sent_message()];
}

/// Stores a new link token for `identity`'s `email` and mails the link.
async fn issue_link(
    svc: &Service,
    flow: &Flow,
    identity: &Identity,
    email: &str,
) -> Result<(), ApiError> {
    let url = codes::store_link(svc, flow, identity.id, email, codes::link_expiry(svc)).await?;
    let data = json!({
        "To": email,
        "VerificationURL": url,
        "Identity": svc.identity_json(identity, View::Public),
        "RequestURL": flow.request_url,
        "TransientPayload": flow_transient_payload(flow),
    });
    svc.courier
        .send_email(TemplateType::VerificationValid, email, data)
        .await?;
    Ok(())
}

/// Follows a mailed link: verifies its address and passes the flow's challenge, giving
/// whose address it was, or `None` for a link that is no good (the flow is left as it was).
pub async fn follow_link(
    svc: &Service,
    flow: &mut Flow,
    token: &str,
) -> Result<Option<Identity>, ApiError> {
    let Some(spent) = codes::spend_link(svc, flow, token).await? else {
        return Ok(None);
    };
    let identity = mark_verified(svc, spent.identity_id, &spent.via, &spent.address).await?;
    passed(svc, flow);
    Ok(Some(identity))
}

/// The message on the new flow a bad link lands in.
pub fn invalid_link_message() -> UiText {
    UiText::error(
        4070001,
        "The verification token is invalid or has already been used. Please retry the flow.",
    )
}

/// Mails `identity`'s `email` a new code or link, as the flow's method says.
pub async fn issue(
    svc: &Service,
    flow: &Flow,
    identity: &Identity,
    email: &str,
) -> Result<(), ApiError> {
    if uses_link(flow) {
        issue_link(svc, flow, identity, email).await?;
    } else {
        issue_code(svc, flow, identity, email).await?;
    }
    svc.store
        .mark_address_sent(identity.id, "email", email, svc.clock.now())
        .await?;
    Ok(())
}

/// Stores a new code for `identity`'s `email` on this flow and mails it.
async fn issue_code(
    svc: &Service,
    flow: &Flow,
    identity: &Identity,
    email: &str,
) -> Result<(), ApiError> {
    let now = svc.clock.now();
    let code = codes::store_code(svc, flow, PURPOSE, identity.id, email).await?;
    let url = svc.settings.public_url(&format!(
        "self-service/verification?code={code}&flow={}",
        flow.id
    ));
    let minutes = (flow.expires_at - now).whole_minutes().max(0);
    let data = json!({
        "To": email,
        "VerificationCode": code,
        "VerificationURL": url,
        "Identity": svc.identity_json(identity, View::Public),
        "RequestURL": flow.request_url,
        "TransientPayload": flow_transient_payload(flow),
        "ExpiresInMinutes": minutes,
    });
    svc.courier
        .send_email(TemplateType::VerificationCodeValid, email, data)
        .await?;
    Ok(())
}

fn flow_transient_payload(flow: &Flow) -> Value {
    flow.internal.transient_payload.clone().unwrap_or(json!({}))
}

/// Checks `code` against the flow's live code. On success the address is verified, the
/// flow passes its challenge, and the identity is given; otherwise the flow carries the
/// reason.
pub async fn check_code(
    svc: &Service,
    flow: &mut Flow,
    code: &str,
) -> Result<Option<Identity>, ApiError> {
    let wrong = UiText::error(
        4070006,
        "The verification code is invalid or has already been used. Please try again.",
    );
    match codes::spend(svc, flow, PURPOSE, code, wrong).await? {
        Some(spent) => {
            let identity =
                mark_verified(svc, spent.identity_id, &spent.via, &spent.address).await?;
            passed(svc, flow);
            Ok(Some(identity))
        }
        None => Ok(None),
    }
}

async fn mark_verified(
    svc: &Service,
    id: uuid::Uuid,
    via: &str,
    address: &str,
) -> Result<Identity, ApiError> {
    let Some(mut identity) = svc.store.get_identity(id).await? else {
        return Err(ApiError::not_found("Unable to locate the resource"));
    };
    let now = svc.clock.now();
    for a in identity
        .verifiable_addresses
        .iter_mut()
        .filter(|a| a.via == via && a.value == address)
    {
        a.verified = true;
        a.status = "completed".into();
        a.verified_at = Some(now);
        a.updated_at = now;
    }
    identity.updated_at = now;
    svc.store.update_identity(&identity).await?;
    Ok(identity)
}

/// The `passed_challenge` form: a message and a link onwards.
fn passed(svc: &Service, flow: &mut Flow) {
    let to = flow
        .return_to
        .clone()
        .or_else(|| svc.settings.verification.flow.after_return_url.clone())
        .unwrap_or_else(|| svc.settings.default_return_url.clone());
    let group = flow.active.clone().unwrap_or_else(|| "code".into());
    flow.state = "passed_challenge".into();
    flow.ui.action = to.clone();
    flow.ui.method = "GET".into();
    flow.ui.nodes.retain(|n| n.group == "default");
    flow.ui.nodes.push(Node {
        kind: "a".into(),
        group,
        attributes: json!({
            "href": to,
            "id": "continue",
            "title": UiText::info(1070009, "Continue"),
            "node_type": "a",
        }),
        messages: Vec::new(),
        meta: super::ui::NodeMeta {
            label: Some(UiText::info(1070009, "Continue")),
        },
    });
    flow.ui.messages = vec![UiText::success(
        1080002,
        "You successfully verified your email address.",
    )];
}
