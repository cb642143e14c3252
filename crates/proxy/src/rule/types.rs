//! The access rule document types, shaped like Oathkeeper's `rule.Rule`.
//!
//! Field order matters: serde serializes in declaration order and `/rules`
//! must list fields the way Oathkeeper's Go structs do (`id, version,
//! description, match, authenticators, authorizer, mutators, errors,
//! upstream`; inside `match`: `methods, url`; inside `upstream`:
//! `preserve_host, strip_path, url`; inside a handler: `handler, config`).
//!
//! Input is stricter than the Go original in one way and looser in another:
//! unknown fields are rejected everywhere (Oathkeeper asks for that with
//! `DisallowUnknownFields`, but its custom `Rule.UnmarshalJSON` silently
//! loses the flag), and any field may be `null` (Go leaves the zero value),
//! and a string field also takes a YAML number or boolean as its text
//! (Oathkeeper's YAML loader converts scalars by the target type).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// One access rule.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    #[serde(default, deserialize_with = "string")]
    pub id: String,
    /// Oathkeeper always has a string here (it rewrites it to the server
    /// version on load); an absent version is written as `""`.
    #[serde(
        default,
        deserialize_with = "opt_string",
        serialize_with = "version_out"
    )]
    pub version: Option<String>,
    #[serde(default, deserialize_with = "string")]
    pub description: String,
    #[serde(default, deserialize_with = "or_default")]
    pub r#match: Match,
    #[serde(default, deserialize_with = "or_default")]
    pub authenticators: Vec<Handler>,
    /// An empty handler name is not a load error: Oathkeeper reports it when
    /// a request hits the rule.
    #[serde(default, deserialize_with = "or_default")]
    pub authorizer: Handler,
    #[serde(default, deserialize_with = "or_default")]
    pub mutators: Vec<Handler>,
    #[serde(default, deserialize_with = "or_default")]
    pub errors: Vec<Handler>,
    #[serde(default, deserialize_with = "or_default")]
    pub upstream: Upstream,
}

impl Rule {
    /// Whether one of the rule's handlers can see the URL's capture groups: those that
    /// render templates (`.MatchContext.RegexpCaptureGroups`) and those that send the
    /// session on (`match_context.regexp_capture_groups`). Matching leaves them out for
    /// the other rules, the common anonymous or session-only ones.
    pub fn reads_captures(&self) -> bool {
        matches!(self.authorizer.handler.as_str(), "remote" | "remote_json")
            || self.mutators.iter().any(|m| {
                matches!(
                    m.handler.as_str(),
                    "header" | "cookie" | "hydrator" | "id_token"
                )
            })
    }
}

/// Which requests a rule applies to.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Match {
    /// Compared case-insensitively; an empty list matches no request.
    #[serde(default, deserialize_with = "strings")]
    pub methods: Vec<String>,
    /// `scheme://host[:port]/path` pattern with `<...>` wildcards.
    #[serde(default, deserialize_with = "string")]
    pub url: String,
}

/// Where an upstream is: `scheme://authority` and the base path requests are joined to.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    pub origin: String,
    pub path: String,
    /// `host[:port]` as a `Host` header, for rules that do not preserve the client's.
    pub host: Option<axum::http::HeaderValue>,
}

impl Upstream {
    pub fn target(&self) -> Result<&Target, &str> {
        self.parsed
            .get_or_init(|| {
                let up = url::Url::parse(&self.url).map_err(|e| e.to_string())?;
                let host = up.host_str().unwrap_or("");
                let origin = match up.port() {
                    Some(p) => format!("{}://{host}:{p}", up.scheme()),
                    None => format!("{}://{host}", up.scheme()),
                };
                let authority = origin.split_once("://").map_or("", |(_, a)| a);
                Ok(Target {
                    host: axum::http::HeaderValue::from_str(authority).ok(),
                    path: up.path().to_string(),
                    origin,
                })
            })
            .as_ref()
            .map_err(String::as_str)
    }
}

/// Where the proxy forwards a request that passed the pipeline.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Upstream {
    #[serde(default, deserialize_with = "or_default")]
    pub preserve_host: bool,
    #[serde(default, deserialize_with = "string")]
    pub strip_path: String,
    #[serde(default, deserialize_with = "string")]
    pub url: String,
    /// `url` taken apart, or why it is not a URL.
    #[serde(skip)]
    pub parsed: Memo<Result<Target, String>>,
}

/// A pipeline handler reference: name plus per-rule config.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Handler {
    #[serde(default, deserialize_with = "string")]
    pub handler: String,
    /// `Null` when absent; Go's `json.RawMessage` writes that as `null` too.
    #[serde(default)]
    pub config: Value,
    /// The global config merged with `config`; `None`: the handler is not enabled.
    #[serde(skip)]
    pub effective: Memo<Option<Value>>,
}

/// Something worked out from a rule by the first request that needs it, then kept: a
/// rule never changes once loaded (a reload brings new rules), and neither does the global
/// config. Not part of a rule's identity: clones start empty, all compare equal.
pub struct Memo<T>(std::sync::OnceLock<T>);

impl<T> Memo<T> {
    pub fn get_or_init(&self, init: impl FnOnce() -> T) -> &T {
        self.0.get_or_init(init)
    }
}

impl<T> Default for Memo<T> {
    fn default() -> Self {
        Memo(std::sync::OnceLock::new())
    }
}

impl<T> Clone for Memo<T> {
    fn clone(&self) -> Self {
        Memo::default()
    }
}

impl<T> PartialEq for Memo<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<T> std::fmt::Debug for Memo<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Memo")
    }
}

/// `access_rules.matching_strategy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    #[default]
    Regexp,
    Glob,
}

/// `null` reads as the type's default, the way Go's decoder leaves a zero value.
fn or_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A string field: also takes `null` (→ "") and YAML scalars (→ their text).
fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<Scalar>::deserialize(d)?
        .map(|s| s.0)
        .unwrap_or_default())
}

fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<Scalar>::deserialize(d)?.map(|s| s.0))
}

fn strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let list: Option<Vec<Scalar>> = Option::deserialize(d)?;
    Ok(list.unwrap_or_default().into_iter().map(|s| s.0).collect())
}

fn version_out<S: Serializer>(v: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(v.as_deref().unwrap_or(""))
}

/// A string, or a number or boolean taken as its text.
struct Scalar(String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl serde::de::Visitor<'_> for ScalarVisitor {
    type Value = Scalar;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar(v.to_owned()))
    }
    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Scalar, E> {
        Ok(Scalar(v))
    }
    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Scalar, E> {
        Ok(Scalar(v.to_string()))
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar(v.to_string()))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Scalar, E> {
        Ok(Scalar(v.to_string()))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Scalar, E> {
        Ok(Scalar(v.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn serializes_in_oathkeeper_field_order() {
        let rule = Rule {
            id: "a".into(),
            r#match: Match {
                methods: vec!["GET".into()],
                url: "http://x/<.*>".into(),
            },
            authenticators: vec![Handler {
                handler: "noop".into(),
                ..Handler::default()
            }],
            ..Rule::default()
        };
        let text = serde_json::to_string(&rule).unwrap();
        assert_eq!(
            text,
            r#"{"id":"a","version":"","description":"","match":{"methods":["GET"],"url":"http://x/<.*>"},"authenticators":[{"handler":"noop","config":null}],"authorizer":{"handler":"","config":null},"mutators":[],"errors":[],"upstream":{"preserve_host":false,"strip_path":"","url":""}}"#
        );
    }

    #[test]
    fn nulls_and_missing_fields_take_defaults() {
        let rule: Rule = serde_json::from_value(json!({
            "id": "a", "version": null, "description": null, "match": {"url": "u", "methods": null},
            "authenticators": null, "upstream": null
        }))
        .unwrap();
        assert_eq!(rule.version, None);
        assert_eq!(rule.r#match.url, "u");
        assert!(rule.r#match.methods.is_empty());
        assert_eq!(rule.authorizer, Handler::default());
        assert_eq!(rule.upstream, Upstream::default());
    }

    #[test]
    fn scalars_are_taken_as_text() {
        let rule: Rule =
            serde_json::from_value(json!({"id": 7, "version": 0.4, "description": true})).unwrap();
        assert_eq!(rule.id, "7");
        assert_eq!(rule.version.as_deref(), Some("0.4"));
        assert_eq!(rule.description, "true");
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let err = serde_json::from_value::<Rule>(json!({"id": "a", "matches": {}})).unwrap_err();
        assert!(err.to_string().contains("unknown field `matches`"), "{err}");
        let err = serde_json::from_value::<Rule>(json!({"upstream": {"preserveHost": true}}))
            .unwrap_err();
        assert!(err.to_string().contains("`preserveHost`"), "{err}");
    }

    #[test]
    fn a_version_round_trips_and_config_is_kept() {
        let input = json!({"id": "a", "version": "v0.40.0",
            "mutators": [{"handler": "header", "config": {"headers": {"X": "y"}}}]});
        let rule: Rule = serde_json::from_value(input).unwrap();
        let out = serde_json::to_value(&rule).unwrap();
        assert_eq!(out["version"], "v0.40.0");
        assert_eq!(out["mutators"][0]["config"]["headers"]["X"], "y");
    }

    #[test]
    fn strategy_names() {
        let s: Strategy = serde_json::from_value(json!("glob")).unwrap();
        assert_eq!(s, Strategy::Glob);
        assert_eq!(Strategy::default(), Strategy::Regexp);
        assert!(serde_json::from_value::<Strategy>(json!("Glob")).is_err());
    }
}
