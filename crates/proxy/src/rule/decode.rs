//! Decodes one rules document: a JSON array of rules or, when the bytes are
//! not valid JSON, a YAML sequence of them (Oathkeeper's `decode`).
//!
//! Rules are decoded one by one from a generic value so an error can name
//! the rule (id and index) and the path of the bad field inside it.

use serde_json::Value;

use super::types::Rule;

/// The rules of a document, in order. An empty or `null` document has none.
pub(crate) fn decode(bytes: &[u8]) -> Result<Vec<Rule>, String> {
    let items = if serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok() {
        json_items(bytes)?
    } else {
        yaml_items(bytes)?
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| decode_rule(item, i))
        .collect()
}

fn json_items(bytes: &[u8]) -> Result<Vec<Value>, String> {
    match serde_json::from_slice(bytes) {
        Ok(Value::Array(items)) => Ok(items),
        Ok(Value::Null) => Ok(Vec::new()),
        Ok(_) => Err(NOT_A_LIST.to_owned()),
        Err(e) => Err(format!("invalid JSON: {e}")),
    }
}

fn yaml_items(bytes: &[u8]) -> Result<Vec<Value>, String> {
    let invalid = |e: yaml_serde::Error| format!("neither JSON nor valid YAML: {e}");
    let Some(mut doc) =
        yaml_serde::from_slice::<Option<yaml_serde::Value>>(bytes).map_err(invalid)?
    else {
        return Ok(Vec::new());
    };
    // go-yaml (behind Oathkeeper's YAML loader) honours `<<: *anchor`.
    doc.apply_merge().map_err(invalid)?;
    match serde_json::to_value(doc) {
        Ok(Value::Array(items)) => Ok(items),
        Ok(Value::Null) => Ok(Vec::new()),
        Ok(_) => Err(NOT_A_LIST.to_owned()),
        Err(e) => Err(format!("YAML that has no JSON equivalent: {e}")),
    }
}

const NOT_A_LIST: &str = "the document must be a list of rules";

fn decode_rule(item: Value, index: usize) -> Result<Rule, String> {
    let label = label(item.get("id").and_then(Value::as_str), index);
    serde_path_to_error::deserialize::<_, Rule>(item).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            format!("{label}: {inner}")
        } else {
            format!("{label}: {path}: {inner}")
        }
    })
}

/// How errors name a rule: `rule "api" (index 2)`.
pub(crate) fn label(id: Option<&str>, index: usize) -> String {
    match id {
        Some(id) => format!("rule {id:?} (index {index})"),
        None => format!("rule at index {index}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_array() {
        let rules = decode(
            br#"[{"id":"a","match":{"url":"http://a/<.*>","methods":["GET"]}},
                 {"id":"b","authenticators":[{"handler":"noop"}]}]"#,
        )
        .unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].r#match.methods, ["GET"]);
        assert_eq!(rules[1].authenticators[0].handler, "noop");
    }

    #[test]
    fn yaml_sequence_with_anchors_and_merge_keys() {
        let doc = br#"
- id: a
  match: &m
    url: http://a/<.*>
    methods: [GET]
  authenticators: &auth
    - handler: cookie_session
      config:
        check_session_url: http://kratos/sessions/whoami
  upstream:
    <<: &up { url: "http://backend", preserve_host: true }
    strip_path: /api
- id: 2
  match: *m
  authenticators: *auth
  upstream: *up
"#;
        let rules = decode(doc).unwrap();
        assert_eq!(rules[0].upstream.url, "http://backend");
        assert!(rules[0].upstream.preserve_host);
        assert_eq!(rules[0].upstream.strip_path, "/api");
        assert_eq!(rules[1].id, "2", "a YAML number is taken as the id's text");
        assert_eq!(rules[1].r#match, rules[0].r#match);
        assert_eq!(
            rules[1].authenticators[0].config["check_session_url"],
            "http://kratos/sessions/whoami"
        );
    }

    #[test]
    fn empty_and_null_documents_have_no_rules() {
        for doc in ["", "  \n", "# only a comment\n", "null", "~", "[]"] {
            assert!(decode(doc.as_bytes()).unwrap().is_empty(), "{doc:?}");
        }
    }

    #[test]
    fn documents_that_are_not_lists() {
        assert_eq!(decode(br#"{"id":"a"}"#).unwrap_err(), NOT_A_LIST);
        assert_eq!(decode(b"id: a").unwrap_err(), NOT_A_LIST);
        let err = decode(b"- id: [unclosed").unwrap_err();
        assert!(err.starts_with("neither JSON nor valid YAML"), "{err}");
    }

    #[test]
    fn unknown_fields_are_named_with_their_path() {
        let err = decode(br#"[{"id":"ok"},{"id":"api","match":{"url":"u","method":["GET"]}}]"#)
            .unwrap_err();
        assert!(
            err.starts_with(r#"rule "api" (index 1): match.method: unknown field `method`"#),
            "{err}"
        );
        let err = decode(b"- id: x\n  upstream:\n    preserve_hots: true\n").unwrap_err();
        assert!(
            err.starts_with(r#"rule "x" (index 0): upstream.preserve_hots: unknown field"#),
            "{err}"
        );
        let err =
            decode(br#"[{"id":"h","mutators":[{"handler":"a"},{"handlr":"b"}]}]"#).unwrap_err();
        assert!(
            err.contains("mutators[1].handlr: unknown field `handlr`"),
            "{err}"
        );
    }

    #[test]
    fn type_errors_name_the_field() {
        let err = decode(br#"[{"id":"t","upstream":{"preserve_host":"yes"}}]"#).unwrap_err();
        assert!(
            err.starts_with(r#"rule "t" (index 0): upstream.preserve_host: invalid type"#),
            "{err}"
        );
        let err = decode(br#"["just a string"]"#).unwrap_err();
        assert!(err.starts_with("rule at index 0: invalid type"), "{err}");
    }
}
