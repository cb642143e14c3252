//! The `ui` container of a flow as Kratos shapes it: nodes grouped by method, each with
//! attributes, messages and a label, so Kratos clients render them unchanged.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A message shown to the user, with Kratos's stable numeric id (see `text` for the ids).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct UiText {
    pub id: u32,
    pub text: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<Value>,
}

impl UiText {
    pub fn info(id: u32, text: impl Into<String>) -> Self {
        Self {
            id,
            text: text.into(),
            kind: "info".into(),
            context: None,
        }
    }

    pub fn error(id: u32, text: impl Into<String>) -> Self {
        Self {
            id,
            text: text.into(),
            kind: "error".into(),
            context: None,
        }
    }

    pub fn success(id: u32, text: impl Into<String>) -> Self {
        Self {
            id,
            text: text.into(),
            kind: "success".into(),
            context: None,
        }
    }

    pub fn with_context(mut self, context: Value) -> Self {
        self.context = Some(context);
        self
    }
}

/// One UI node. Attributes are kept as JSON because their shape depends on `type`
/// (`input`, `img`, `a`, `text`, `script`) and clients read them as Kratos writes them.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Node {
    #[serde(rename = "type")]
    pub kind: String,
    pub group: String,
    pub attributes: Value,
    pub messages: Vec<UiText>,
    pub meta: NodeMeta,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct NodeMeta {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<UiText>,
}

/// Options for an input node; `None` fields are left out of the attributes.
#[derive(Clone, Debug, Default)]
pub struct InputSpec<'a> {
    pub name: &'a str,
    pub input_type: &'a str,
    pub value: Option<Value>,
    pub required: bool,
    pub autocomplete: Option<&'a str>,
    pub label: Option<UiText>,
    /// Allowed values (from a schema `enum`), rendered as `options`.
    pub options: Option<Vec<Value>>,
}

impl Node {
    /// An `input` node in `group`.
    pub fn input(group: &str, spec: InputSpec<'_>) -> Self {
        let mut attrs = json!({
            "name": spec.name,
            "type": spec.input_type,
            "disabled": false,
            "node_type": "input",
        });
        if let Some(v) = spec.value {
            attrs["value"] = v;
        }
        if spec.required {
            attrs["required"] = Value::Bool(true);
        }
        if let Some(a) = spec.autocomplete {
            attrs["autocomplete"] = Value::String(a.into());
        }
        if let Some(o) = spec.options {
            attrs["options"] = Value::Array(o);
        }
        Node {
            kind: "input".into(),
            group: group.into(),
            attributes: attrs,
            messages: Vec::new(),
            meta: NodeMeta { label: spec.label },
        }
    }

    /// The node's `name` attribute (inputs), if any.
    pub fn name(&self) -> Option<&str> {
        self.attributes.get("name").and_then(Value::as_str)
    }
}

/// The `ui` object of a flow.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct UiContainer {
    pub action: String,
    pub method: String,
    pub nodes: Vec<Node>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<UiText>,
}

impl UiContainer {
    pub fn new(action: String) -> Self {
        Self {
            action,
            method: "POST".into(),
            nodes: Vec::new(),
            messages: Vec::new(),
        }
    }

    /// Puts a message on the node named `name`, or on the flow when there is no such node.
    pub fn add_message(&mut self, name: Option<&str>, msg: UiText) {
        if let Some(node) =
            name.and_then(|n| self.nodes.iter_mut().find(|node| node.name() == Some(n)))
        {
            node.messages.push(msg);
        } else {
            self.messages.push(msg);
        }
    }

    /// Sets the `value` attribute of the node named `name` (keeps what the user typed).
    pub fn set_value(&mut self, name: &str, value: Value) {
        if let Some(node) = self.nodes.iter_mut().find(|n| n.name() == Some(name)) {
            node.attributes["value"] = value;
        }
    }

    /// Drops every message (before a new submission is judged).
    pub fn clear_messages(&mut self) {
        self.messages.clear();
        for n in &mut self.nodes {
            n.messages.clear();
        }
    }
}
