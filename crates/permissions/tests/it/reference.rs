//! The second reference setup's check: namespace `app`, object `homepage`, relation
//! `read`, a user's e-mail without `@` as the subject id, written as its `keto-perms`
//! container does and checked as the Flask app does (on Keto v0.8's `/check`).

use crate::harness::{backends, start};
use serde_json::json;

#[tokio::test]
async fn the_flask_apps_homepage_check() {
    for backend in backends() {
        let k = start(&backend, json!({"namespaces": [{"id": 0, "name": "app"}]})).await;
        let subject = "ada.lovelace@example.org".replace('@', "");
        let put = k
            .http
            .put(format!("{}/admin/relation-tuples", k.write))
            .json(&json!({"namespace": "app", "object": "homepage", "relation": "read", "subject_id": subject}))
            .send()
            .await
            .unwrap();
        assert_eq!(put.status(), 201);
        // The app calls Keto v0.8's `/check`; today's path answers the same.
        for path in ["/check", "/relation-tuples/check"] {
            let check = |who: String| {
                let path =
                    format!("{path}?namespace=app&object=homepage&relation=read&subject_id={who}");
                let k = &k;
                async move { k.read_get(&path).await }
            };
            assert_eq!(
                check(subject.clone()).await,
                (200, json!({"allowed": true})),
                "{path} on {backend:?}"
            );
            assert_eq!(
                check("mallory".into()).await,
                (403, json!({"allowed": false})),
                "{path}"
            );
        }
    }
}
