//! One Kratos UI node to HTML: inputs (text, hidden, checkbox, submit, select from
//! `options`), links, text and images; scripts are left out (the UI runs no JavaScript).

use crate::chrome::escape;
use serde_json::Value;

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// The value attribute of a node, as text.
fn value_text(attrs: &Value) -> String {
    match attrs.get("value") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(v)) => v.clone(),
        Some(other) => other.to_string(),
    }
}

/// The messages of a node (or flow), each in a block styled by type.
pub(crate) fn messages(list: Option<&Value>, class: &str, id: Option<&str>) -> String {
    let Some(items) = list.and_then(Value::as_array).filter(|a| !a.is_empty()) else {
        return String::new();
    };
    let mut out = String::new();
    for (i, m) in items.iter().enumerate() {
        let kind = match s(m, "type") {
            "error" => "error",
            "success" => "success",
            _ => "info",
        };
        let role = if kind == "error" { "alert" } else { "status" };
        let id_attr = id
            .map(|id| format!(" id=\"{}-{i}\"", escape(id)))
            .unwrap_or_default();
        out.push_str(&format!(
            "<div class=\"{class} {kind}\" role=\"{role}\"{id_attr} data-id=\"{}\">{}</div>",
            m.get("id").and_then(Value::as_i64).unwrap_or(0),
            escape(s(m, "text"))
        ));
    }
    out
}

/// Renders one node. `index` makes element ids unique on the page.
pub(crate) fn node(n: &Value, index: usize) -> String {
    let attrs = n.get("attributes").unwrap_or(&Value::Null);
    let label = n
        .pointer("/meta/label/text")
        .and_then(Value::as_str)
        .unwrap_or("");
    match s(n, "type") {
        "input" => input(attrs, label, n.get("messages"), index),
        "a" => format!(
            "<p><a href=\"{}\">{}</a></p>",
            escape(s(attrs, "href")),
            escape(
                attrs
                    .pointer("/title/text")
                    .and_then(Value::as_str)
                    .unwrap_or(label)
            )
        ),
        "text" => {
            let text = attrs
                .pointer("/text/text")
                .and_then(Value::as_str)
                .unwrap_or("");
            format!(
                "<p>{}<code>{}</code></p>",
                if label.is_empty() {
                    String::new()
                } else {
                    format!("{} ", escape(label))
                },
                escape(text)
            )
        }
        // Only inline images: the UI never makes the browser contact another host.
        "img" if s(attrs, "src").starts_with("data:image/") => {
            format!(
                "<p><img src=\"{}\" alt=\"{}\"></p>",
                escape(s(attrs, "src")),
                escape(label)
            )
        }
        _ => String::new(),
    }
}

fn input(attrs: &Value, label: &str, msgs: Option<&Value>, index: usize) -> String {
    let name = s(attrs, "name");
    let kind = s(attrs, "type");
    let value = value_text(attrs);
    let disabled = if attrs
        .get("disabled")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        " disabled"
    } else {
        ""
    };
    match kind {
        "hidden" => format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            escape(name),
            escape(&value)
        ),
        "submit" | "button" => format!(
            "<button type=\"submit\" name=\"{}\" value=\"{}\"{disabled}>{}</button>",
            escape(name),
            escape(&value),
            escape(if label.is_empty() { "Continue" } else { label })
        ),
        _ => field(attrs, name, kind, &value, label, msgs, index, disabled),
    }
}

#[allow(clippy::too_many_arguments)]
fn field(
    attrs: &Value,
    name: &str,
    kind: &str,
    value: &str,
    label: &str,
    msgs: Option<&Value>,
    index: usize,
    disabled: &str,
) -> String {
    let id = format!("f{index}");
    let has_error = msgs
        .and_then(Value::as_array)
        .is_some_and(|m| m.iter().any(|m| s(m, "type") == "error"));
    let described = if msgs
        .and_then(Value::as_array)
        .is_some_and(|m| !m.is_empty())
    {
        format!(" aria-describedby=\"{id}-m-0\"")
    } else {
        String::new()
    };
    let invalid = if has_error {
        " aria-invalid=\"true\""
    } else {
        ""
    };
    let required = if attrs
        .get("required")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        " required"
    } else {
        ""
    };
    let label_text = escape(if label.is_empty() { name } else { label });
    let control = if let Some(options) = attrs.get("options").and_then(Value::as_array) {
        let mut o = format!(
            "<select id=\"{id}\" name=\"{}\"{required}{invalid}{described}{disabled}>",
            escape(name)
        );
        if value.is_empty() {
            o.push_str("<option value=\"\">Choose…</option>");
        }
        for opt in options {
            let v = opt
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| opt.to_string());
            let selected = if v == value { " selected" } else { "" };
            o.push_str(&format!(
                "<option value=\"{0}\"{selected}>{0}</option>",
                escape(&v)
            ));
        }
        o.push_str("</select>");
        o
    } else if kind == "checkbox" {
        let checked = if attrs.get("value").and_then(Value::as_bool).unwrap_or(false) {
            " checked"
        } else {
            ""
        };
        return format!(
            "<div class=\"check\"><input id=\"{id}\" type=\"checkbox\" name=\"{}\" value=\"true\"{checked}{invalid}{described}{disabled}><label for=\"{id}\">{label_text}</label></div>{}",
            escape(name),
            messages(msgs, "field-msg", Some(&format!("{id}-m")))
        );
    } else {
        let mut extra = String::new();
        for key in ["autocomplete", "pattern"] {
            if let Some(v) = attrs.get(key).and_then(Value::as_str) {
                extra.push_str(&format!(" {key}=\"{}\"", escape(v)));
            }
        }
        if let Some(m) = attrs.get("maxlength").and_then(Value::as_u64) {
            extra.push_str(&format!(" maxlength=\"{m}\""));
        }
        let kind = if kind.is_empty() { "text" } else { kind };
        // Never echo a password back into the page.
        let value = if kind == "password" {
            String::new()
        } else {
            format!(" value=\"{}\"", escape(value))
        };
        format!(
            "<input id=\"{id}\" type=\"{}\" name=\"{}\"{value}{required}{extra}{invalid}{described}{disabled}>",
            escape(kind),
            escape(name)
        )
    };
    format!(
        "<label for=\"{id}\">{label_text}</label>{control}{}",
        messages(msgs, "field-msg", Some(&format!("{id}-m")))
    )
}
