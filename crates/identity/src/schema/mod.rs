//! Identity schemas: JSON Schemas of the traits with Kratos's `ory.sh/kratos` extension,
//! which marks login identifiers and verifiable and recovery addresses. A schema validates
//! traits (with Kratos's message ids, on the right UI node) and yields the UI nodes of a
//! registration or settings form.

mod nodes;
mod validate;

use crate::flow::ui::Node;
use serde_json::Value;

pub use validate::TraitError;

/// One loaded and compiled schema.
pub struct IdentitySchema {
    pub id: String,
    pub raw: Value,
    validator: jsonschema::Validator,
    /// Paths (within traits) of fields carrying the extension, with their settings.
    marks: Vec<Mark>,
}

/// What the extension says about one trait field.
#[derive(Clone, Debug, Default)]
struct Mark {
    /// Path segments below `traits`.
    path: Vec<String>,
    password_identifier: bool,
    code_identifier: Option<String>,
    verification_via: Option<String>,
    recovery_via: Option<String>,
}

impl IdentitySchema {
    /// Compiles a schema document. Errors say what is wrong.
    pub fn compile(id: &str, raw: Value) -> Result<Self, String> {
        let traits = raw
            .pointer("/properties/traits")
            .ok_or_else(|| format!("identity schema {id:?} has no properties.traits"))?;
        if traits.get("type").and_then(Value::as_str) != Some("object") {
            return Err(format!(
                "identity schema {id:?}: properties.traits must be of type object"
            ));
        }
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&raw)
            .map_err(|e| format!("identity schema {id:?} is not a valid JSON Schema: {e}"))?;
        let mut marks = Vec::new();
        collect_marks(traits, &mut Vec::new(), &mut marks);
        Ok(IdentitySchema {
            id: id.to_string(),
            raw,
            validator,
            marks,
        })
    }

    /// Checks traits; every problem is reported, each on its node.
    pub fn validate_traits(&self, traits: &Value) -> Result<(), Vec<TraitError>> {
        validate::validate(&self.validator, traits)
    }

    fn values_of<'a>(
        &'a self,
        traits: &'a Value,
        pick: impl Fn(&Mark) -> bool + 'a,
    ) -> impl Iterator<Item = (&'a Mark, String)> + 'a {
        self.marks
            .iter()
            .filter(move |m| pick(m))
            .flat_map(move |m| {
                let v = m.path.iter().try_fold(traits, |v, k| v.get(k));
                let strings: Vec<String> = match v {
                    Some(Value::String(s)) => vec![s.clone()],
                    Some(Value::Array(items)) => items
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect(),
                    _ => Vec::new(),
                };
                strings
                    .into_iter()
                    .map(move |s| (m, s.trim().to_string()))
                    .filter(|(_, s)| !s.is_empty())
            })
    }

    /// Password login identifiers, lower-cased and without duplicates.
    pub fn password_identifiers(&self, traits: &Value) -> Vec<String> {
        let mut out: Vec<String> = self
            .values_of(traits, |m| m.password_identifier)
            .map(|(_, s)| s.to_lowercase())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Identifiers for the code method with their channel.
    pub fn code_identifiers(&self, traits: &Value) -> Vec<(String, String)> {
        dedup(
            self.values_of(traits, |m| m.code_identifier.is_some())
                .map(|(m, s)| {
                    let via = m.code_identifier.clone().unwrap_or_default();
                    let s = normalise(&via, &s);
                    (via, s)
                }),
        )
    }

    /// Addresses to verify, with their channel (`email` values lower-cased).
    pub fn verifiable_addresses(&self, traits: &Value) -> Vec<(String, String)> {
        dedup(
            self.values_of(traits, |m| m.verification_via.is_some())
                .map(|(m, s)| {
                    let via = m.verification_via.clone().unwrap_or_default();
                    let s = normalise(&via, &s);
                    (via, s)
                }),
        )
    }

    /// Addresses that may recover the account.
    pub fn recovery_addresses(&self, traits: &Value) -> Vec<(String, String)> {
        dedup(
            self.values_of(traits, |m| m.recovery_via.is_some())
                .map(|(m, s)| {
                    let via = m.recovery_via.clone().unwrap_or_default();
                    let s = normalise(&via, &s);
                    (via, s)
                }),
        )
    }

    pub fn has_password_identifier(&self) -> bool {
        self.marks.iter().any(|m| m.password_identifier)
    }

    /// The UI nodes of the trait fields, filled from `values` when given.
    pub fn trait_nodes(&self, group: &str, values: Option<&Value>) -> Vec<Node> {
        let traits = self
            .raw
            .pointer("/properties/traits")
            .unwrap_or(&Value::Null);
        let mut out = Vec::new();
        nodes::collect(traits, "traits", group, values, &mut out);
        out
    }

    /// base64url (no padding) of the id, as in `/schemas/{id}` and `schema_url`.
    pub fn url_id(&self) -> String {
        gatehouse_core::token::b64_url(self.id.as_bytes())
    }
}

fn normalise(via: &str, value: &str) -> String {
    if via == "email" {
        value.to_lowercase()
    } else {
        value.to_string()
    }
}

fn dedup(items: impl Iterator<Item = (String, String)>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

fn collect_marks(schema: &Value, path: &mut Vec<String>, out: &mut Vec<Mark>) {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (key, prop) in props {
        path.push(key.clone());
        if let Some(ext) = prop
            .get("ory.sh/kratos")
            .or_else(|| prop.pointer("/items/ory.sh~1kratos"))
        {
            let s = |p: &str| ext.pointer(p).and_then(Value::as_str).map(str::to_string);
            let code = ext
                .pointer("/credentials/code/identifier")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            out.push(Mark {
                path: path.clone(),
                password_identifier: ext
                    .pointer("/credentials/password/identifier")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                code_identifier: code
                    .then(|| s("/credentials/code/via").unwrap_or_else(|| "email".into())),
                verification_via: s("/verification/via"),
                recovery_via: s("/recovery/via"),
            });
        }
        collect_marks(prop, path, out);
        path.pop();
    }
}

/// The configured schemas, in config order, and which one is the default.
pub struct SchemaRegistry {
    /// Never empty; `default` indexes into it.
    schemas: Vec<IdentitySchema>,
    default: usize,
}

impl SchemaRegistry {
    /// Loads `(id, url)` entries (`file://`, `base64://`, `http(s)://`).
    pub async fn load(entries: &[(String, String)], default_id: &str) -> Result<Self, String> {
        let mut schemas = Vec::with_capacity(entries.len());
        for (id, url) in entries {
            let bytes = gatehouse_core::loader::load(url)
                .await
                .map_err(|e| format!("identity schema {id:?} ({url}): {e}"))?;
            let raw: Value = serde_json::from_slice(&bytes)
                .map_err(|e| format!("identity schema {id:?} ({url}) is not valid JSON: {e}"))?;
            schemas.push(IdentitySchema::compile(id, raw)?);
        }
        let default = schemas
            .iter()
            .position(|s| s.id == default_id)
            .ok_or_else(|| {
                format!("identity.default_schema_id {default_id:?} is not one of identity.schemas")
            })?;
        Ok(SchemaRegistry { schemas, default })
    }

    /// The built-in schema of `--dev`: e-mail (identifier, verified, recovery) and a name.
    pub fn dev_default() -> Result<Self, String> {
        let raw: Value =
            serde_json::from_str(include_str!("dev.schema.json")).map_err(|e| e.to_string())?;
        Ok(SchemaRegistry {
            schemas: vec![IdentitySchema::compile("default", raw)?],
            default: 0,
        })
    }

    pub fn get(&self, id: &str) -> Option<&IdentitySchema> {
        self.schemas.iter().find(|s| s.id == id)
    }

    pub fn default_id(&self) -> &str {
        &self.schemas[self.default].id
    }

    pub fn default_schema(&self) -> &IdentitySchema {
        &self.schemas[self.default]
    }

    pub fn all(&self) -> impl Iterator<Item = &IdentitySchema> {
        self.schemas.iter()
    }
}

#[cfg(test)]
mod tests;
