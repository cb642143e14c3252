//! Trait validation with Kratos's message ids, each error placed on the node of the field
//! it concerns (`traits.email`), or on the flow when it concerns the traits as a whole.

use crate::flow::ui::UiText;
use jsonschema::error::ValidationErrorKind;
use serde_json::{Value, json};

/// One validation problem: where it goes and what it says.
#[derive(Clone, Debug, PartialEq)]
pub struct TraitError {
    /// The node name (`traits.name.first`), or `None` for the flow.
    pub field: Option<String>,
    pub message: UiText,
}

pub(super) fn validate(
    validator: &jsonschema::Validator,
    traits: &Value,
) -> Result<(), Vec<TraitError>> {
    if !traits.is_object() {
        return Err(vec![TraitError {
            field: None,
            message: UiText::error(4000026, "traits must be an object"),
        }]);
    }
    let doc = json!({"traits": traits});
    let errors: Vec<TraitError> = validator
        .iter_errors(&doc)
        .map(|e| to_trait_error(e.instance_path().as_str(), e.kind(), e.instance()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// `/traits/name/first` -> `traits.name.first`.
fn node_name(pointer: &str) -> Option<String> {
    let parts: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|p| p.replace("~1", "/").replace("~0", "~"))
        .collect();
    if parts.len() < 2 {
        None
    } else {
        Some(parts.join("."))
    }
}

fn to_trait_error(pointer: &str, kind: &ValidationErrorKind, instance: &Value) -> TraitError {
    let field = node_name(pointer);
    let message = match kind {
        ValidationErrorKind::Required { property } => {
            let p = property.as_str().unwrap_or_default().to_string();
            let base = if pointer.is_empty() || pointer == "/" {
                String::new()
            } else {
                format!("{}.", pointer.trim_start_matches('/').replace('/', "."))
            };
            return TraitError {
                field: Some(format!("{base}{p}")).filter(|f| f.starts_with("traits.")),
                message: UiText::error(4000002, format!("Property {p} is missing."))
                    .with_context(json!({"property": p})),
            };
        }
        ValidationErrorKind::MinLength { limit } => {
            let actual = instance.as_str().map(|s| s.chars().count()).unwrap_or(0);
            UiText::error(
                4000003,
                format!("length must be >= {limit}, but got {actual}"),
            )
            .with_context(json!({"min_length": limit, "actual_length": actual}))
        }
        ValidationErrorKind::MaxLength { limit } => {
            let actual = instance.as_str().map(|s| s.chars().count()).unwrap_or(0);
            UiText::error(
                4000017,
                format!("length must be <= {limit}, but got {actual}"),
            )
            .with_context(json!({"max_length": limit, "actual_length": actual}))
        }
        ValidationErrorKind::Pattern { pattern } => {
            UiText::error(4000004, format!("does not match pattern {pattern:?}"))
                .with_context(json!({"pattern": pattern}))
        }
        ValidationErrorKind::Format { format } => {
            let shown = instance
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| instance.to_string());
            UiText::error(4000004, format!("{shown:?} is not valid {format:?}"))
                .with_context(json!({"format": format}))
        }
        ValidationErrorKind::Enum { options } => {
            let allowed: Vec<String> = options
                .as_array()
                .map(|a| a.iter().map(|v| v.to_string()).collect())
                .unwrap_or_default();
            // Kratos's generic validation message: the context carries the reason.
            let reason = format!("value must be one of {}", allowed.join(", "));
            UiText::error(4000001, reason.clone()).with_context(json!({ "reason": reason }))
        }
        ValidationErrorKind::Minimum { limit } => {
            UiText::error(4000018, format!("must be >= {limit} but found {instance}"))
        }
        ValidationErrorKind::Maximum { limit } => {
            UiText::error(4000020, format!("must be <= {limit} but found {instance}"))
        }
        ValidationErrorKind::ExclusiveMinimum { limit } => {
            UiText::error(4000019, format!("must be > {limit} but found {instance}"))
        }
        ValidationErrorKind::ExclusiveMaximum { limit } => {
            UiText::error(4000021, format!("must be < {limit} but found {instance}"))
        }
        ValidationErrorKind::MaxItems { limit } => {
            UiText::error(4000023, format!("maximum {limit} items allowed"))
        }
        ValidationErrorKind::MinItems { limit } => {
            UiText::error(4000024, format!("minimum {limit} items allowed"))
        }
        ValidationErrorKind::UniqueItems => UiText::error(4000025, "items must be unique"),
        ValidationErrorKind::Type { kind } => UiText::error(
            4000026,
            format!(
                "expected {}, but got {}",
                type_name(kind),
                json_type(instance)
            ),
        ),
        ValidationErrorKind::AdditionalProperties { unexpected } => UiText::error(
            4000001,
            format!(
                "additionalProperties {} not allowed",
                unexpected
                    .iter()
                    .map(|u| format!("{u:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        other => UiText::error(
            4000001,
            format!(
                "the value does not satisfy the schema ({})",
                other.keyword()
            ),
        ),
    };
    TraitError { field, message }
}

fn type_name(kind: &jsonschema::error::TypeKind) -> String {
    match kind {
        jsonschema::error::TypeKind::Single(t) => t.to_string(),
        jsonschema::error::TypeKind::Multiple(ts) => ts
            .iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(" or "),
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
