//! nginx (Debian's package) in front of an echo upstream, asking the decisions API with
//! `auth_request`: allowed requests reach the upstream with the mutated header, others
//! get nginx's 401.

use crate::harness::{echo, http, start};
use serde_json::json;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

struct Nginx(Child);

impl Drop for Nginx {
    /// SIGTERM, so the master stops its workers too (SIGKILL would orphan them).
    fn drop(&mut self) {
        let pid = self.0.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let _ = self.0.wait();
    }
}

fn nginx_binary() -> Option<&'static str> {
    ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
}

#[tokio::test]
async fn nginx_auth_request_asks_the_decisions_api() {
    let Some(bin) = nginx_binary() else {
        eprintln!("skipped: nginx is not installed (apt-get install nginx-light)");
        return;
    };
    let up = echo().await;
    let px = start(
        json!([{
            "id": "app", "match": {"url": "http://app.example.org/<(?:public|private)/.*>", "methods": ["GET"]},
            "authenticators": [{"handler": "anonymous"}],
            "authorizer": {"handler": "allow"},
            "mutators": [{"handler": "header", "config": {"headers": {"X-User": "{{ print .Subject }}"}}}]
        }, {
            "id": "closed", "match": {"url": "http://app.example.org/admin/<.*>", "methods": ["GET"]},
            "authenticators": [{"handler": "unauthorized"}],
            "authorizer": {"handler": "allow"},
            "mutators": [{"handler": "noop"}]
        }]),
        json!({}),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let conf = format!(
        r#"daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {dir}; proxy_temp_path {dir}; fastcgi_temp_path {dir}; uwsgi_temp_path {dir}; scgi_temp_path {dir};
  server {{
    listen 127.0.0.1:{port};
    server_name app.example.org;
    location / {{
      auth_request /_auth;
      auth_request_set $user $upstream_http_x_user;
      proxy_set_header X-User $user;
      proxy_pass {up};
    }}
    location = /_auth {{
      internal;
      proxy_pass {api}/decisions$request_uri;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Forwarded-Method $request_method;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
    }}
  }}
}}
"#,
        dir = dir.path().display(),
        api = px.api,
    );
    let conf_path = dir.path().join("nginx.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let _nginx = Nginx(
        Command::new(bin)
            .args([
                "-p",
                &dir.path().display().to_string(),
                "-c",
                &conf_path.display().to_string(),
            ])
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "nginx did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let get = |path: &str| {
        http()
            .get(format!("{base}{path}"))
            .header("host", "app.example.org")
            .send()
    };
    let r = get("/public/page").await.unwrap();
    assert_eq!(r.status(), 200);
    let seen: serde_json::Value = r.json().await.unwrap();
    assert_eq!(seen["headers"]["x-user"], "anonymous");
    assert_eq!(get("/admin/panel").await.unwrap().status(), 401);
    assert_eq!(
        get("/elsewhere").await.unwrap().status(),
        500,
        "nginx turns the 404 of no rule into 500"
    );
}
