//! The admin API: identities and sessions.

use crate::{TestApp, backends};
use serde_json::{Value, json};

#[tokio::test]
async fn identities_crud_patch_and_pagination() {
    for b in backends() {
        let app = TestApp::start(&b, json!({})).await;
        let res = app
            .http
            .post(app.admin_url("admin/identities"))
            .json(&json!({
                "schema_id": "default",
                "traits": {"email": "Fay@example.org", "user_type": "educator"},
                "metadata_admin": {"crm": 42},
                "credentials": {"password": {"config": {"password": "correct horse battery"}}},
                "verifiable_addresses": [{"value": "fay@example.org", "via": "email", "verified": true, "status": "completed"}]
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let location = res.headers()["location"].to_str().unwrap().to_string();
        let created: Value = res.json().await.unwrap();
        let id = created["id"].as_str().unwrap().to_string();
        assert!(location.ends_with(&format!("/admin/identities/{id}")));
        assert_eq!(
            created["credentials"]["password"]["identifiers"],
            json!(["fay@example.org"])
        );
        assert!(created["credentials"]["password"].get("config").is_none());
        assert_eq!(created["metadata_admin"]["crm"], 42);
        assert_eq!(created["verifiable_addresses"][0]["verified"], true);
        assert_eq!(
            app.login_api("fay@example.org", "correct horse battery")
                .await
                .0,
            200
        );

        let with: Value = app
            .http
            .get(app.admin_url(&format!("identities/{id}?include_credential=password")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            with["credentials"]["password"]["config"]["hashed_password"]
                .as_str()
                .unwrap()
                .starts_with("$2")
        );
        let bad = app
            .http
            .get(app.admin_url(&format!("admin/identities/{id}?include_credential=nope")))
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), 400);

        // Conflict on the same identifier.
        let dup = app.http.post(app.admin_url("admin/identities")).json(&json!({"schema_id": "default", "traits": {"email": "fay@example.org", "user_type": "student"}})).send().await.unwrap();
        assert_eq!(dup.status(), 409);

        // PUT replaces traits (and clears metadata that is left out).
        let put: Value = app.http.put(app.admin_url(&format!("admin/identities/{id}")))
            .json(&json!({"schema_id": "default", "state": "active", "traits": {"email": "fay2@example.org", "user_type": "educator"}}))
            .send().await.unwrap().json().await.unwrap();
        assert_eq!(put["traits"]["email"], "fay2@example.org");
        assert_eq!(put["metadata_admin"], Value::Null);
        assert_eq!(
            app.login_api("fay2@example.org", "correct horse battery")
                .await
                .0,
            200
        );
        assert_eq!(
            app.login_api("fay@example.org", "correct horse battery")
                .await
                .0,
            400
        );

        // JSON Patch.
        let patched = app.http.patch(app.admin_url(&format!("admin/identities/{id}")))
            .json(&json!([{"op": "replace", "path": "/traits/user_type", "value": "student"}, {"op": "add", "path": "/metadata_public", "value": {"plan": "pro"}}]))
            .send().await.unwrap();
        assert_eq!(patched.status(), 200);
        let patched: Value = patched.json().await.unwrap();
        assert_eq!(patched["traits"]["user_type"], "student");
        assert_eq!(patched["metadata_public"]["plan"], "pro");
        let invalid = app
            .http
            .patch(app.admin_url(&format!("admin/identities/{id}")))
            .json(&json!([{"op": "replace", "path": "/traits/user_type", "value": "teacher"}]))
            .send()
            .await
            .unwrap();
        assert_eq!(invalid.status(), 400);
        let denied = app
            .http
            .patch(app.admin_url(&format!("admin/identities/{id}")))
            .json(&json!([{"op": "replace", "path": "/id", "value": "x"}]))
            .send()
            .await
            .unwrap();
        assert_eq!(denied.status(), 400);

        // Pagination with the Link header.
        for i in 0..4 {
            let r = app.http.post(app.admin_url("identities")).json(&json!({"schema_id": "default", "traits": {"email": format!("p{i}@example.org"), "user_type": "student"}})).send().await.unwrap();
            assert_eq!(r.status(), 201);
        }
        let mut seen = Vec::new();
        let mut url = app.admin_url("admin/identities?page_size=2");
        loop {
            let res = app.http.get(&url).send().await.unwrap();
            let link = res.headers()["link"].to_str().unwrap().to_string();
            let page: Value = res.json().await.unwrap();
            seen.extend(
                page.as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i["id"].as_str().unwrap().to_string()),
            );
            let Some(next) = link.split(',').find(|l| l.contains("rel=\"next\"")) else {
                break;
            };
            let path = next.split('<').nth(1).unwrap().split('>').next().unwrap();
            url = app.admin_url(path);
        }
        assert_eq!(seen.len(), 5);
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 5);

        // Delete removes credentials and sessions.
        let (other, token) = app
            .register_api("gone@example.org", "correct horse battery")
            .await;
        for (kind, status) in [("password", 400), ("totp", 404), ("nonsense", 400)] {
            let r = app
                .http
                .delete(app.admin_url(&format!("admin/identities/{other}/credentials/{kind}")))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), status, "deleting {kind} credentials");
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["error"]["code"], status, "{body}");
        }
        let del = app
            .http
            .delete(app.admin_url(&format!("admin/identities/{other}")))
            .send()
            .await
            .unwrap();
        assert_eq!(del.status(), 204);
        assert_eq!(
            app.http
                .get(app.pub_url("sessions/whoami"))
                .header("X-Session-Token", &token)
                .send()
                .await
                .unwrap()
                .status(),
            401
        );
        assert_eq!(
            app.login_api("gone@example.org", "correct horse battery")
                .await
                .0,
            400
        );
        assert_eq!(
            app.http
                .delete(app.admin_url(&format!("admin/identities/{other}")))
                .send()
                .await
                .unwrap()
                .status(),
            404
        );
    }
}

#[tokio::test]
async fn imported_hashes_verify_at_login() {
    for b in backends() {
        let app = TestApp::start(&b, json!({})).await;
        let bcrypt = gatehouse_identity::credential::hash::Hasher::Bcrypt { cost: 4 }
            .hash("imported secret 1")
            .unwrap();
        let argon = gatehouse_identity::credential::hash::Hasher::Argon2 {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
            salt_length: 16,
            key_length: 32,
        }
        .hash("imported secret 2")
        .unwrap();
        for (email, hash, pw) in [
            ("h1@example.org", bcrypt, "imported secret 1"),
            ("h2@example.org", argon, "imported secret 2"),
        ] {
            let res = app.http.post(app.admin_url("admin/identities"))
                .json(&json!({"schema_id": "default", "traits": {"email": email, "user_type": "student"}, "credentials": {"password": {"config": {"hashed_password": hash}}}}))
                .send().await.unwrap();
            assert_eq!(res.status(), 201);
            assert_eq!(app.login_api(email, pw).await.0, 200, "{email}");
            assert_eq!(app.login_api(email, "not the password").await.0, 400);
        }
        let bad = app.http.post(app.admin_url("admin/identities"))
            .json(&json!({"schema_id": "default", "traits": {"email": "h3@example.org", "user_type": "student"}, "credentials": {"password": {"config": {"hashed_password": "$nonsense$abc"}}}}))
            .send().await.unwrap();
        assert_eq!(bad.status(), 400);
        let none: Value = app
            .http
            .get(app.admin_url("admin/identities?credentials_identifier=h3@example.org"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            none.as_array().unwrap().len(),
            0,
            "a refused import writes nothing"
        );
    }
}

#[tokio::test]
async fn admin_sessions_list_get_extend_revoke_and_batch() {
    for b in backends() {
        let app = TestApp::start(&b, json!({})).await;
        let (id, token) = app
            .register_api("sam@example.org", "correct horse battery")
            .await;
        let list: Value = app
            .http
            .get(app.admin_url(&format!("admin/identities/{id}/sessions")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(list.as_array().unwrap().len(), 1);
        let sid = list[0]["id"].as_str().unwrap().to_string();
        let one: Value = app
            .http
            .get(app.admin_url(&format!("admin/sessions/{sid}?expand=identity")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(one["identity"]["id"], id.as_str());
        let ext = app
            .http
            .patch(app.admin_url(&format!("admin/sessions/{sid}/extend")))
            .send()
            .await
            .unwrap();
        assert_eq!(ext.status(), 200);
        let all = app
            .http
            .get(app.admin_url("admin/sessions?active=maybe"))
            .send()
            .await
            .unwrap();
        assert_eq!(all.status(), 400);
        let del = app
            .http
            .delete(app.admin_url(&format!("admin/sessions/{sid}")))
            .send()
            .await
            .unwrap();
        assert_eq!(del.status(), 204);
        assert_eq!(
            app.http
                .get(app.pub_url("sessions/whoami"))
                .header("X-Session-Token", &token)
                .send()
                .await
                .unwrap()
                .status(),
            401
        );

        let batch: Value = app.http.patch(app.admin_url("admin/identities"))
            .json(&json!({"identities": [
                {"create": {"schema_id": "default", "traits": {"email": "b1@example.org", "user_type": "student"}}},
                {"create": {"schema_id": "default", "traits": {"email": "sam@example.org", "user_type": "student"}}},
                {"create": {"schema_id": "default", "traits": {"email": "b3@example.org", "user_type": "nope"}}}
            ]}))
            .send().await.unwrap().json().await.unwrap();
        let actions: Vec<&str> = batch["identities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions, vec!["create", "error", "error"]);
    }
}
