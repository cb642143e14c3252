//! UI nodes for trait fields, shaped as Kratos generates them from the schema.

use crate::flow::ui::{InputSpec, Node, UiText};
use serde_json::{Value, json};

/// Adds an input node for every leaf property below `schema`, named `prefix.key...`.
pub(super) fn collect(
    schema: &Value,
    prefix: &str,
    group: &str,
    values: Option<&Value>,
    out: &mut Vec<Node>,
) {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for (key, prop) in props {
        let name = format!("{prefix}.{key}");
        let value = values.and_then(|v| v.get(key));
        if prop.get("type").and_then(Value::as_str) == Some("object") {
            collect(prop, &name, group, value, out);
            continue;
        }
        out.push(input_node(
            &name,
            key,
            prop,
            group,
            required.contains(&key.as_str()),
            value,
        ));
    }
}

fn input_node(
    name: &str,
    key: &str,
    prop: &Value,
    group: &str,
    required: bool,
    value: Option<&Value>,
) -> Node {
    let title = prop
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or(key)
        .to_string();
    let is_identifier = prop
        .pointer("/ory.sh~1kratos/credentials/password/identifier")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let format = prop.get("format").and_then(Value::as_str);
    let input_type = match (prop.get("type").and_then(Value::as_str), format) {
        (_, Some("email")) => "email",
        (_, Some("tel")) => "tel",
        (_, Some("date")) => "date",
        (_, Some("date-time")) => "datetime-local",
        (_, Some("uri" | "url")) => "url",
        (Some("integer" | "number"), _) => "number",
        (Some("boolean"), _) => "checkbox",
        _ => "text",
    };
    let autocomplete = match (input_type, is_identifier) {
        ("email", true) => Some("email"),
        ("email", false) => Some("email"),
        ("tel", _) => Some("tel"),
        _ => None,
    };
    let mut node = Node::input(
        group,
        InputSpec {
            name,
            input_type,
            value: value.cloned(),
            required,
            autocomplete,
            label: Some(UiText::info(1070002, title.clone()).with_context(json!({"title": title}))),
            options: prop.get("enum").and_then(Value::as_array).cloned(),
        },
    );
    if let Some(p) = prop.get("pattern").and_then(Value::as_str) {
        node.attributes["pattern"] = json!(p);
    }
    if let Some(m) = prop.get("maxLength").and_then(Value::as_u64) {
        node.attributes["maxlength"] = json!(m);
    }
    node
}
