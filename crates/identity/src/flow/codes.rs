//! The form nodes that verification and recovery share: ask for an address, then for
//! the code that was mailed to it.

use super::ui::{InputSpec, Node, UiText};
use super::{Flow, FlowKind, FlowType};
use crate::service::Service;
use serde_json::json;

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
