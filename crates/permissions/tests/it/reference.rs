//! The second reference setup's check: namespace `app`, object `homepage`, relation
//! `read`, a user's e-mail without `@` as the subject id, written as its `keto-perms`
//! container does and checked as the Flask app does.

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
        let check = |who: String| {
            let url = format!(
                "{}/relation-tuples/check?namespace=app&object=homepage&relation=read&subject_id={who}",
                k.read
            );
            let http = k.http.clone();
            async move { http.get(url).send().await.unwrap().status().as_u16() }
        };
        assert_eq!(check(subject.clone()).await, 200, "{backend:?}");
        assert_eq!(check("mallory".into()).await, 403);
    }
}
