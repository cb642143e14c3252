#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use serde_json::json;

fn schema() -> IdentitySchema {
    let raw: Value =
        serde_json::from_str(include_str!("../../tests/fixtures/identity.schema.json")).unwrap();
    IdentitySchema::compile("default", raw).unwrap()
}

#[test]
fn valid_traits_pass_and_yield_identifiers_and_addresses() {
    let s = schema();
    let t =
        json!({"email": " Ana@Example.org ", "user_type": "educator", "name": {"first": "Ana"}});
    assert!(
        s.validate_traits(&json!({"email": "ana@example.org", "user_type": "educator"}))
            .is_ok()
    );
    assert_eq!(s.password_identifiers(&t), vec!["ana@example.org"]);
    assert_eq!(
        s.verifiable_addresses(&t),
        vec![("email".to_string(), "ana@example.org".to_string())]
    );
    assert_eq!(
        s.recovery_addresses(&t),
        vec![("email".to_string(), "ana@example.org".to_string())]
    );
    assert_eq!(
        s.code_identifiers(&t),
        vec![("email".to_string(), "ana@example.org".to_string())]
    );
    assert!(s.has_password_identifier());
}

#[test]
fn errors_land_on_their_nodes() {
    let s = schema();
    let errs = s
        .validate_traits(&json!({"user_type": "teacher"}))
        .unwrap_err();
    let missing = errs.iter().find(|e| e.message.id == 4000002).unwrap();
    assert_eq!(missing.field.as_deref(), Some("traits.email"));
    assert_eq!(missing.message.text, "Property email is missing.");
    let bad_enum = errs
        .iter()
        .find(|e| e.field.as_deref() == Some("traits.user_type"))
        .unwrap();
    assert!(
        bad_enum.message.text.contains("educator"),
        "{:?}",
        bad_enum.message
    );

    let errs = s
        .validate_traits(&json!({"email": "not-an-email", "user_type": "student"}))
        .unwrap_err();
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].field.as_deref(), Some("traits.email"));
    assert_eq!(errs[0].message.id, 4000004);

    let errs = s
        .validate_traits(&json!({"email": "a@b.co", "user_type": "student", "name": {"first": 5}}))
        .unwrap_err();
    assert_eq!(errs[0].field.as_deref(), Some("traits.name.first"));
    assert_eq!(errs[0].message.id, 4000026);

    assert!(s.validate_traits(&json!("x")).is_err());
    assert!(
        s.validate_traits(
            &json!({"email": "a@b.co", "user_type": "student", "extra": "'; DROP TABLE x; --"})
        )
        .is_err()
    );
}

#[test]
fn nodes_follow_the_schema() {
    let s = schema();
    let nodes = s.trait_nodes("default", Some(&json!({"email": "a@b.co"})));
    let names: Vec<&str> = nodes.iter().filter_map(|n| n.name()).collect();
    assert_eq!(
        names,
        vec![
            "traits.email",
            "traits.name.first",
            "traits.name.last",
            "traits.user_type"
        ]
    );
    let email = &nodes[0];
    assert_eq!(email.attributes["type"], "email");
    assert_eq!(email.attributes["required"], true);
    assert_eq!(email.attributes["value"], "a@b.co");
    assert_eq!(email.meta.label.as_ref().unwrap().text, "E-Mail");
    assert_eq!(email.meta.label.as_ref().unwrap().id, 1070002);
    assert_eq!(
        nodes[3].attributes["options"],
        json!(["educator", "student"])
    );
    assert!(nodes[1].attributes.get("required").is_none());
}

#[tokio::test]
async fn registry_loads_from_urls_and_names_bad_schemas() {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD
        .encode(include_str!("../../tests/fixtures/identity.schema.json"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.json");
    std::fs::write(
        &file,
        include_str!("../../tests/fixtures/identity.schema.json"),
    )
    .unwrap();
    let r = SchemaRegistry::load(
        &[
            ("a".into(), format!("base64://{b64}")),
            ("b".into(), format!("file://{}", file.display())),
        ],
        "b",
    )
    .await
    .unwrap();
    assert_eq!(r.default_id(), "b");
    assert_eq!(r.all().count(), 2);
    assert_eq!(r.get("a").unwrap().url_id(), "YQ");

    let err = SchemaRegistry::load(
        &[("x".into(), "base64://eyJ0eXBlIjoib2JqZWN0In0=".into())],
        "x",
    )
    .await
    .err()
    .unwrap();
    assert!(err.contains("\"x\"") && err.contains("traits"), "{err}");
    let err = SchemaRegistry::load(&[("y".into(), "file:///nonexistent.json".into())], "y")
        .await
        .err()
        .unwrap();
    assert!(err.contains("\"y\""), "{err}");
    let err = SchemaRegistry::load(&[("a".into(), format!("base64://{b64}"))], "zzz")
        .await
        .err()
        .unwrap();
    assert!(err.contains("default_schema_id"), "{err}");
    assert!(SchemaRegistry::dev_default().is_ok());
}
