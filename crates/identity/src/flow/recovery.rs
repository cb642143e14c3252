//! The recovery flow: someone who forgot their password names their recovery address, gets
//! a code (`code` method) or a link (`link` method) by e-mail, and in exchange gets a fresh
//! (privileged) session and a settings flow to set a new password. Unknown addresses get the same
//! answer as known ones.

use super::codes;
use super::ui::UiText;
use super::{Flow, FlowKind, FlowType};
use crate::courier::TemplateType;
use crate::identity::{Identity, View};
use crate::service::Service;
use gatehouse_core::ApiError;
use serde_json::json;

/// The `purpose` of recovery codes in the code table.
pub const PURPOSE: &str = "recovery";

/// A new recovery flow asking for the address.
pub fn new_flow(svc: &Service, flow_type: FlowType, request_url: String) -> Flow {
    codes::new_flow(
        svc,
        FlowKind::Recovery,
        &svc.settings.recovery,
        flow_type,
        request_url,
    )
}

fn uses_link(flow: &Flow) -> bool {
    flow.active.as_deref() == Some("link")
}

/// Mails a fresh code to `email` if it is someone's recovery address (or the "invalid"
/// notice when configured) and moves the flow to `sent_email`.
pub async fn send_code(svc: &Service, flow: &mut Flow, email: &str) -> Result<(), ApiError> {
    let email = email.trim().to_lowercase();
    let now = svc.clock.now();
    let strategy = if uses_link(flow) { "link" } else { "code" };
    svc.store
        .retire_codes(flow.id, codes::purpose(FlowKind::Recovery, strategy), now)
        .await?;
    let owner = svc
        .store
        .identity_by_recovery_address("email", &email)
        .await?;
    let identity = match owner {
        Some(id) => svc.store.get_identity_public(id).await?,
        None => None,
    };
    let transient = flow.internal.transient_payload.clone().unwrap_or(json!({}));
    match identity {
        Some(identity) if uses_link(flow) => {
            let url =
                codes::store_link(svc, flow, identity.id, &email, codes::link_expiry(svc)).await?;
            let data = json!({
                "To": email,
                "RecoveryURL": url,
                "Identity": svc.identity_json(&identity, View::Public),
                "RequestURL": flow.request_url,
                "TransientPayload": transient,
            });
            svc.courier
                .send_email(TemplateType::RecoveryValid, &email, data)
                .await?;
        }
        Some(identity) => {
            issue_code(svc, flow, &identity, &email).await?;
        }
        None if svc.settings.recovery.notify_unknown_recipients => {
            let template = if uses_link(flow) {
                TemplateType::RecoveryInvalid
            } else {
                TemplateType::RecoveryCodeInvalid
            };
            let data =
                json!({"To": email, "RequestURL": flow.request_url, "TransientPayload": transient});
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
            1060002,
            "An email containing a recovery link has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with.",
        )];
        return;
    }
    codes::sent_nodes(flow, email, UiText::info(1070010, "Recovery code"));
    flow.ui.messages = vec![UiText::info(
        1060003,
        "An email containing a recovery code has been sent to the email address you provided. If you have not received an email, check the spelling of the address and make sure to use the address you registered with.",
    )];
}

/// Stores a new code for `identity` on this flow and mails it; returns the code (the admin
/// API hands it out instead of mailing it).
pub async fn issue_code(
    svc: &Service,
    flow: &Flow,
    identity: &Identity,
    email: &str,
) -> Result<String, ApiError> {
    let code = store_code(svc, flow, identity, email).await?;
    let now = svc.clock.now();
    let data = json!({
        "To": email,
        "RecoveryCode": code,
        "Identity": svc.identity_json(identity, View::Public),
        "RequestURL": flow.request_url,
        "TransientPayload": flow.internal.transient_payload.clone().unwrap_or(json!({})),
        "ExpiresInMinutes": (flow.expires_at - now).whole_minutes().max(0),
    });
    svc.courier
        .send_email(TemplateType::RecoveryCodeValid, email, data)
        .await?;
    Ok(code)
}

/// Stores a new code for `identity` on this flow without mailing it.
pub async fn store_code(
    svc: &Service,
    flow: &Flow,
    identity: &Identity,
    address: &str,
) -> Result<String, ApiError> {
    codes::store_code(svc, flow, PURPOSE, identity.id, address).await
}

/// Checks `code`; on success returns whose account it recovers and passes the challenge.
pub async fn check_code(
    svc: &Service,
    flow: &mut Flow,
    code: &str,
) -> Result<Option<Identity>, ApiError> {
    let wrong = UiText::error(
        4060006,
        "The recovery code is invalid or has already been used. Please try again.",
    );
    let Some(spent) = codes::spend(svc, flow, PURPOSE, code, wrong).await? else {
        return Ok(None);
    };
    let identity = svc.store.get_identity(spent.identity_id).await?;
    if identity.is_some() {
        flow.state = "passed_challenge".into();
    }
    Ok(identity)
}

/// Follows a mailed (or admin-made) link: whose account it recovers, or `None` for a
/// wrong, used or expired link. Passes the flow's challenge.
pub async fn follow_link(
    svc: &Service,
    flow: &mut Flow,
    token: &str,
) -> Result<Option<Identity>, ApiError> {
    let Some(spent) = codes::spend_link(svc, flow, token).await? else {
        return Ok(None);
    };
    let identity = svc.store.get_identity(spent.identity_id).await?;
    if identity.is_some() {
        flow.state = "passed_challenge".into();
    }
    Ok(identity)
}

/// The message on the new flow a bad link lands in.
pub fn invalid_link_message() -> UiText {
    UiText::error(
        4060004,
        "The recovery token is invalid or has already been used. Please retry the flow.",
    )
}

/// The message on the settings flow a recovery lands in: how long the fresh session may
/// still change the password without signing in again.
pub fn recovered_message(
    privileged_until: time::OffsetDateTime,
    now: time::OffsetDateTime,
) -> UiText {
    let minutes = (privileged_until - now).as_seconds_f64() / 60.0;
    UiText::success(
        1060001,
        format!(
            "You successfully recovered your account. Please change your password or set up an alternative login method (e.g. social sign in) within the next {minutes:.2} minutes."
        ),
    )
    .with_context(json!({
        "privileged_session_expires_at": gatehouse_core::clock::rfc3339(privileged_until),
        "privileged_session_expires_at_unix": privileged_until.unix_timestamp(),
    }))
}
