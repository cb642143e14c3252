//! The `gatehouse` binary as an operator uses it: version, config errors, migrations, a
//! served kratos.yml, and the `identities` admin commands against it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_gatehouse");
const SCHEMA: &str = include_str!("../../identity/tests/fixtures/identity.schema.json");

fn gatehouse(args: &[&str], dir: &Path, env: &[(&str, &str)]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("DSN")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A plain HTTP/1.1 GET; the status code, or None while nothing listens.
fn status_of(port: u16, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = String::new();
    s.read_to_string(&mut head).ok()?;
    head.split(' ').nth(1)?.parse().ok()
}

fn kratos_yml(dir: &Path, public: u16, admin: u16, extra: &str) -> String {
    std::fs::write(dir.join("identity.schema.json"), SCHEMA).unwrap();
    let yml = format!(
        "dsn: sqlite://{db}?mode=rwc
serve:
  public: {{ host: 127.0.0.1, port: {public}, base_url: 'http://127.0.0.1:{public}/' }}
  admin: {{ host: 127.0.0.1, port: {admin}, base_url: 'http://127.0.0.1:{admin}/' }}
identity:
  default_schema_id: default
  schemas: [{{ id: default, url: 'file://{schema}' }}]
hashers: {{ algorithm: bcrypt, bcrypt: {{ cost: 4 }} }}
secrets: {{ default: [a-long-enough-test-secret-0123] }}
{extra}",
        db = dir.join("kratos.db").display(),
        schema = dir.join("identity.schema.json").display(),
    );
    let path = dir.join("kratos.yml");
    std::fs::write(&path, yml).unwrap();
    path.display().to_string()
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn version_and_help_read_well() {
    let dir = tempfile::tempdir().unwrap();
    let v = gatehouse(&["version"], dir.path(), &[]);
    assert!(v.status.success());
    assert!(text(&v).contains(env!("CARGO_PKG_VERSION")), "{}", text(&v));
    let help = gatehouse(&["--help"], dir.path(), &[]);
    for word in ["serve", "identity", "identities", "version"] {
        assert!(text(&help).contains(word), "{}", text(&help));
    }
}

#[test]
fn a_config_error_stops_start_up_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = kratos_yml(
        dir.path(),
        free_port(),
        free_port(),
        "selfservice: { flows: { login: { ui_url: 'not a url' } } }\n",
    );
    let out = gatehouse(&["identity", "serve", "-c", &cfg, "--dev"], dir.path(), &[]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("selfservice.flows.login.ui_url"),
        "{}",
        text(&out)
    );

    // An environment override is checked the same way.
    let cfg = kratos_yml(dir.path(), free_port(), free_port(), "");
    let env = [("SERVE_PUBLIC_PORT", "not-a-port")];
    let out = gatehouse(&["identity", "serve", "-c", &cfg], dir.path(), &env);
    assert!(!out.status.success());
    assert!(text(&out).contains("serve.public.port"), "{}", text(&out));

    // A file that is not there is named, with the reason said once.
    let out = gatehouse(
        &["permissions", "serve", "-c", "missing.yml"],
        dir.path(),
        &[],
    );
    assert!(!out.status.success());
    let said = text(&out);
    assert!(
        said.contains("cannot read config file missing.yml"),
        "{said}"
    );
    assert_eq!(
        said.matches("No such file or directory").count(),
        1,
        "{said}"
    );
}

#[test]
fn migrations_apply_once_from_an_argument_or_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let dsn = format!("sqlite://{}?mode=rwc", dir.path().join("m.db").display());
    let first = gatehouse(
        &["identity", "migrate", "sql", "--yes", &dsn],
        dir.path(),
        &[],
    );
    assert!(first.status.success(), "{}", text(&first));
    let again = gatehouse(
        &["identity", "migrate", "sql", "-e", "--yes"],
        dir.path(),
        &[("DSN", &dsn)],
    );
    assert!(again.status.success(), "{}", text(&again));
    assert_ne!(
        text(&first),
        text(&again),
        "the second run applies nothing new"
    );
}

#[test]
fn identities_commands_work_against_a_served_kratos_yml() {
    let dir = tempfile::tempdir().unwrap();
    let (public, admin) = (free_port(), free_port());
    let cfg = kratos_yml(dir.path(), public, admin, "");
    let child = Command::new(BIN)
        .args(["identity", "serve", "-c", &cfg, "--dev"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while status_of(admin, "/health/ready") != Some(200) {
        assert!(Instant::now() < deadline, "server did not become ready");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(status_of(public, "/health/alive"), Some(200));

    let hash = "$2b$04$Gg.zyYiTgokT8lJmosbAQ.6qzgEXs34cHWCxhZrzX.z8/E7myvmLi";
    let people = format!(
        r#"[{{"schema_id":"default","traits":{{"email":"ada@example.org","user_type":"educator"}},
            "credentials":{{"password":{{"config":{{"password":"correct horse battery"}}}}}}}},
           {{"schema_id":"default","traits":{{"email":"bob@example.org","user_type":"student"}},
            "credentials":{{"password":{{"config":{{"hashed_password":"{hash}"}}}}}}}}]"#
    );
    let file = dir.path().join("people.json");
    std::fs::write(&file, people).unwrap();
    let endpoint = format!("http://127.0.0.1:{admin}");
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--endpoint", &endpoint]);
        let o = gatehouse(&all, dir.path(), &[]);
        assert!(o.status.success(), "{args:?}: {}", text(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    let imported: serde_json::Value = serde_json::from_str(&run(&[
        "identities",
        "import",
        file.to_str().unwrap(),
        "--format",
        "json",
    ]))
    .unwrap();
    let ids: Vec<String> = imported
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 2);

    let table = run(&["identities", "list"]);
    assert!(
        table.contains("ada@example.org") && table.contains("bob@example.org"),
        "{table}"
    );
    let got: serde_json::Value = serde_json::from_str(&run(&[
        "identities",
        "get",
        &ids[1],
        "--include-credentials",
        "password",
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(got[0]["traits"]["email"], "bob@example.org");
    assert!(
        got[0]["credentials"]["password"]["config"]["hashed_password"]
            .as_str()
            .unwrap()
            .starts_with("$2b$04$")
    );

    assert!(run(&["identities", "delete", &ids[0]]).contains(&ids[0]));
    let table = run(&["identities", "list"]);
    assert!(
        !table.contains("ada@example.org") && table.contains("bob@example.org"),
        "{table}"
    );

    // A missing identity is an error with the server's reason, not a silent success.
    let o = gatehouse(
        &["identities", "get", &ids[0], "--endpoint", &endpoint],
        dir.path(),
        &[],
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("404"), "{}", text(&o));
}

#[test]
fn courier_config_errors_stop_start_up_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = kratos_yml(
        dir.path(),
        free_port(),
        free_port(),
        "courier:
  delivery_strategy: http
  http: { request_config: { url: 'https://mail.example.org/', body: 'base64://ZnVuY3Rpb24oY3R4KSB7fQ==' } }
",
    );
    let out = gatehouse(&["identity", "serve", "-c", &cfg, "--dev"], dir.path(), &[]);
    assert!(!out.status.success());
    let t = text(&out);
    assert!(
        t.contains("courier.http.request_config.body") && t.contains("Jsonnet"),
        "{t}"
    );

    // {{ .RecoveryCode with no closing braces, on line 2.
    let cfg = kratos_yml(
        dir.path(),
        free_port(),
        free_port(),
        "courier: { templates: { recovery_code: { valid: { email: { subject: 'base64://SGkKe3sgLlJlY292ZXJ5Q29kZQ==' } } } } }\n",
    );
    let out = gatehouse(
        &["identity", "courier", "watch", "-c", &cfg, "--dev"],
        dir.path(),
        &[],
    );
    assert!(!out.status.success());
    let t = text(&out);
    assert!(
        t.contains("courier.templates.recovery_code.valid.email.subject") && t.contains("line 2"),
        "{t}"
    );

    let env = [(
        "COURIER_SMTP_CONNECTION_URI",
        "smtp://mail.test/?skip_ssl_verify=perhaps",
    )];
    let cfg = kratos_yml(dir.path(), free_port(), free_port(), "");
    let out = gatehouse(
        &["identity", "serve", "-c", &cfg, "--dev"],
        dir.path(),
        &env,
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("courier.smtp.connection_uri"),
        "{}",
        text(&out)
    );
}

#[test]
fn courier_watch_runs_until_sigterm_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = kratos_yml(
        dir.path(),
        free_port(),
        free_port(),
        "courier: { smtp: { connection_uri: 'smtp://127.0.0.1:1/?disable_starttls=true' } }\n",
    );
    let mut child = Command::new(BIN)
        .args(["identity", "courier", "watch", "-c", &cfg, "--dev"])
        .current_dir(dir.path())
        .env("LOG_LEVEL", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let mut log = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !log.contains("courier worker started") {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                log.push_str(&line);
                log.push('\n');
            }
            Err(_) => panic!("the worker did not start:\n{log}"),
        }
    }
    assert!(log.contains("SMTP via 127.0.0.1:1"), "{log}");
    let kill = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(kill.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "no exit after SIGTERM:\n{log}");
        std::thread::sleep(Duration::from_millis(20));
    };
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(2)) {
        log.push_str(&line);
        log.push('\n');
    }
    assert!(status.success(), "{status}:\n{log}");
    assert!(log.contains("courier worker stopped"), "{log}");
}

/// Accepts HTTP requests on loopback, answers 200, and hands back each request's body.
fn hook_receiver() -> (u16, std::sync::mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Headers, then as many body bytes as Content-Length says.
            let body = loop {
                let n = stream.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break String::new();
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if body.len() >= len {
                        break body.to_string();
                    }
                }
            };
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            let _ = tx.send(body);
        }
    });
    (port, rx)
}

#[test]
fn web_hook_bodies_run_in_the_jsonnet_worker_process() {
    let dir = tempfile::tempdir().unwrap();
    let (hook_port, bodies) = hook_receiver();
    let jsonnet = dir.path().join("subscriber.jsonnet");
    std::fs::write(
        &jsonnet,
        "function(ctx) if ctx.identity.traits.user_type == 'educator' then { email: ctx.identity.traits.email } else error 'cancel'\n",
    )
    .unwrap();
    let (public, admin) = (free_port(), free_port());
    let hooks = format!(
        "selfservice:\n  flows:\n    registration:\n      after:\n        password:\n          hooks:\n            - hook: web_hook\n              config: {{ url: 'http://127.0.0.1:{hook_port}/hook', method: POST, body: 'file://{}' }}\n            - hook: session\n",
        jsonnet.display()
    );
    let cfg = kratos_yml(dir.path(), public, admin, &hooks);
    let child = Command::new(BIN)
        .args(["identity", "serve", "-c", &cfg, "--dev"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while status_of(public, "/health/ready") != Some(200) {
        assert!(Instant::now() < deadline, "server did not become ready");
        std::thread::sleep(Duration::from_millis(50));
    }
    for (email, kind) in [
        ("pupil@example.org", "student"),
        ("teacher@example.org", "educator"),
    ] {
        let flow = http_json(public, "GET", "/self-service/registration/api", "");
        let action = flow["ui"]["action"].as_str().unwrap().to_string();
        let path = action
            .split_once(&format!("127.0.0.1:{public}"))
            .unwrap()
            .1
            .to_string();
        let body = serde_json::json!({"method": "password", "password": "correct horse battery",
            "traits": {"email": email, "user_type": kind}});
        let done = http_json(public, "POST", &path, &body.to_string());
        assert!(done["session_token"].is_string(), "{done}");
    }
    let got = bodies.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&got).unwrap(),
        serde_json::json!({"email": "teacher@example.org"})
    );
    assert!(
        bodies.recv_timeout(Duration::from_millis(300)).is_err(),
        "the student was cancelled"
    );
}

/// A JSON request over plain HTTP/1.1; the parsed answer body.
/// The body of a GET on loopback, as text.
fn http_get_text(port: u16, path: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    assert!(head.starts_with("HTTP/1.1 200"), "GET {path}: {head}");
    body.to_string()
}

fn http_json(port: u16, method: &str, path: &str, body: &str) -> serde_json::Value {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (_, body) = out.split_once("\r\n\r\n").unwrap();
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[test]
fn proxy_rules_validate_flags_the_map_template_and_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yml");
    std::fs::write(
        &rules,
        r#"- id: exam-generation-rule
  upstream: {url: "http://127.0.0.1:8501"}
  match: {url: "https://exam.example.space/<.*>", methods: [GET]}
  authenticators: [{handler: cookie_session}]
  authorizer: {handler: allow}
  mutators: [{handler: header, config: {headers: {X-USER-EMAIL: "{{ print .Extra.identity }}"}}}]
"#,
    )
    .unwrap();
    let cfg = dir.path().join("oathkeeper.yml");
    std::fs::write(
        &cfg,
        "authenticators: {cookie_session: {enabled: true, config: {check_session_url: 'http://127.0.0.1:4433/sessions/whoami', extra_from: '@this', preserve_path: true}}}\nauthorizers: {allow: {enabled: true}}\nmutators: {header: {enabled: true}}\n",
    )
    .unwrap();
    let out = gatehouse(
        &[
            "proxy",
            "rules",
            "validate",
            rules.to_str().unwrap(),
            "-c",
            cfg.to_str().unwrap(),
        ],
        dir.path(),
        &[],
    );
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("exam-generation-rule") && said.contains("X-USER-EMAIL"),
        "{said}"
    );
    assert!(said.contains(".Extra.identity.traits.email"), "{said}");

    std::fs::write(&rules, "- id: broken\n  match: {methods: [GET]}\n").unwrap();
    let out = gatehouse(
        &["proxy", "rules", "validate", rules.to_str().unwrap()],
        dir.path(),
        &[],
    );
    let said = text(&out);
    assert!(!out.status.success());
    assert!(
        said.contains("rules.yml") && said.contains("\"broken\"") && said.contains("match.url"),
        "{said}"
    );
}

#[test]
fn proxy_credentials_generate_prints_a_jwks_with_a_private_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = gatehouse(
        &[
            "proxy",
            "credentials",
            "generate",
            "--alg",
            "ES256",
            "--kid",
            "k1",
        ],
        dir.path(),
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    let set: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let key = &set["keys"][0];
    assert_eq!(key["kid"], "k1");
    assert_eq!(key["alg"], "ES256");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["crv"], "P-256");
    assert!(key["d"].is_string() && key["x"].is_string() && key["y"].is_string());

    let out = gatehouse(
        &["proxy", "credentials", "generate", "--alg", "none"],
        dir.path(),
        &[],
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("unsupported algorithm"),
        "{}",
        text(&out)
    );
}

#[test]
fn proxy_serve_answers_on_both_ports_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (proxy, api) = (free_port(), free_port());
    std::fs::write(
        dir.path().join("rules.json"),
        r#"[{"id": "open", "match": {"url": "http://<[^/]+>/<.*>", "methods": ["GET"]},
             "authenticators": [{"handler": "noop"}], "authorizer": {"handler": "deny"},
             "mutators": [{"handler": "noop"}]}]"#,
    )
    .unwrap();
    let cfg = dir.path().join("oathkeeper.yml");
    std::fs::write(
        &cfg,
        format!(
            "serve: {{proxy: {{host: 127.0.0.1, port: {proxy}}}, api: {{host: 127.0.0.1, port: {api}}}}}\naccess_rules: {{repositories: ['file://{}']}}\nauthenticators: {{noop: {{enabled: true}}}}\nauthorizers: {{deny: {{enabled: true}}}}\nmutators: {{noop: {{enabled: true}}}}\n",
            dir.path().join("rules.json").display()
        ),
    )
    .unwrap();
    let mut child = Command::new(BIN)
        .args([
            "proxy",
            "serve",
            "--sqa-opt-out",
            "-c",
            cfg.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while status_of(api, "/health/ready") != Some(200) {
        assert!(Instant::now() < deadline, "the proxy did not become ready");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        status_of(proxy, "/anything"),
        Some(403),
        "the rule's deny answers"
    );
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "no exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
}

#[test]
fn all_in_one_serve_runs_the_proxy_against_its_own_identity_service() {
    let dir = tempfile::tempdir().unwrap();
    let (public, admin, proxy, api) = (free_port(), free_port(), free_port(), free_port());
    let (read, write, opl, metrics) = (free_port(), free_port(), free_port(), free_port());
    let kratos = kratos_yml(dir.path(), public, admin, "");
    let identity = std::fs::read_to_string(&kratos).unwrap();
    std::fs::write(
        dir.path().join("rules.json"),
        format!(
            r#"[{{"id": "app", "match": {{"url": "http://<[^/]+>/page", "methods": ["GET"]}},
             "authenticators": [{{"handler": "cookie_session"}}], "authorizer": {{"handler": "allow"}},
             "mutators": [{{"handler": "noop"}}], "errors": [{{"handler": "json"}}]}},
            {{"id": "docs", "match": {{"url": "http://<[^/]+>/docs/<[a-z]+>", "methods": ["GET"]}},
             "authenticators": [{{"handler": "anonymous"}}],
             "authorizer": {{"handler": "remote_json", "config": {{
               "remote": "http://127.0.0.1:{read}/relation-tuples/check",
               "payload": "{{\"namespace\":\"app\",\"object\":\"{{{{ printIndex .MatchContext.RegexpCaptureGroups 1 }}}}\",\"relation\":\"read\",\"subject_id\":\"{{{{ print .Subject }}}}\"}}"}}}},
             "mutators": [{{"handler": "noop"}}]}}]"#
        ),
    )
    .unwrap();
    let indented: String = identity.lines().map(|l| format!("  {l}\n")).collect();
    let yml = format!(
        "identity:\n{indented}proxy:\n  serve: {{proxy: {{host: 127.0.0.1, port: {proxy}}}, api: {{host: 127.0.0.1, port: {api}}}}}\n  access_rules: {{repositories: ['file://{rules}']}}\n  authenticators: {{cookie_session: {{enabled: true, config: {{check_session_url: 'http://127.0.0.1:{public}/sessions/whoami', preserve_path: true}}}}, anonymous: {{enabled: true}}}}\n  authorizers: {{allow: {{enabled: true}}, remote_json: {{enabled: true}}}}\n  mutators: {{noop: {{enabled: true}}}}\npermissions:\n  dsn: sqlite://{keto}?mode=rwc\n  namespaces: [{{id: 0, name: app}}]\n  serve: {{read: {{host: 127.0.0.1, port: {read}}}, write: {{host: 127.0.0.1, port: {write}}}, opl: {{host: 127.0.0.1, port: {opl}}}, metrics: {{host: 127.0.0.1, port: {metrics}}}}}\n",
        rules = dir.path().join("rules.json").display(),
        keto = dir.path().join("keto.db").display(),
    );
    let cfg = dir.path().join("gatehouse.yml");
    std::fs::write(&cfg, yml).unwrap();
    let _server = Server(
        Command::new(BIN)
            .args(["serve", "-c", cfg.to_str().unwrap(), "--dev"])
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while status_of(api, "/health/ready") != Some(200)
        || status_of(public, "/health/ready") != Some(200)
        || status_of(read, "/health/ready") != Some(200)
    {
        assert!(
            Instant::now() < deadline,
            "gatehouse serve did not become ready"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        status_of(proxy, "/page"),
        Some(401),
        "no session: the json error handler answers"
    );
    let mut s = TcpStream::connect(("127.0.0.1", write)).unwrap();
    let body =
        r#"{"namespace":"app","object":"homepage","relation":"read","subject_id":"anonymous"}"#;
    write!(
        s,
        "PUT /admin/relation-tuples HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    assert_eq!(
        status_of(api, "/decisions/docs/homepage"),
        Some(200),
        "the permission check allows"
    );
    assert_eq!(
        status_of(api, "/decisions/docs/secret"),
        Some(403),
        "and denies"
    );
}

#[test]
fn permissions_cli_like_the_keto_perms_container() {
    let dir = tempfile::tempdir().unwrap();
    let (read, write, opl, metrics) = (free_port(), free_port(), free_port(), free_port());
    let cfg = dir.path().join("keto.yml");
    std::fs::write(
        &cfg,
        format!(
            "dsn: sqlite://{db}?mode=rwc\nnamespaces:\n  - id: 0\n    name: app\nserve:\n  read: {{host: 127.0.0.1, port: {read}}}\n  write: {{host: 127.0.0.1, port: {write}}}\n  opl: {{host: 127.0.0.1, port: {opl}}}\n  metrics: {{host: 127.0.0.1, port: {metrics}}}\n",
            db = dir.path().join("keto.db").display()
        ),
    )
    .unwrap();
    let cfg_s = cfg.to_str().unwrap();
    let migrations = || {
        let out = gatehouse(
            &["permissions", "migrate", "status", "-c", cfg_s],
            dir.path(),
            &[],
        );
        assert!(out.status.success(), "{}", text(&out));
        text(&out)
    };
    let before = migrations();
    assert!(
        before.starts_with("Version\tName\tStatus\n1\ttuples\tPending\n"),
        "{before}"
    );
    let out = gatehouse(
        &["permissions", "migrate", "up", "-y", "-c", cfg_s],
        dir.path(),
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    let after = migrations();
    assert!(
        !after.contains("Pending") && after.contains("1\ttuples\tApplied"),
        "{after}"
    );

    // `keto status`: NOT reachable is an error; --block waits for the server to come up.
    let read_remote = format!("127.0.0.1:{read}");
    let out = gatehouse(
        &["permissions", "status", "--read-remote", &read_remote],
        dir.path(),
        &[],
    );
    assert!(!out.status.success(), "{}", text(&out));
    let mut waiting = Command::new(BIN)
        .args([
            "permissions",
            "status",
            "--block",
            "--read-remote",
            &read_remote,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _server = Server(
        Command::new(BIN)
            .args(["permissions", "serve", "-c", cfg_s, "--sqa-opt-out"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while status_of(read, "/health/ready") != Some(200)
        || status_of(write, "/health/alive") != Some(200)
    {
        assert!(
            Instant::now() < deadline,
            "the permissions service did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while waiting.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "status --block did not return");
        std::thread::sleep(Duration::from_millis(50));
    }
    let said = waiting.wait_with_output().unwrap();
    assert!(said.status.success());
    assert_eq!(String::from_utf8_lossy(&said.stdout).trim(), "SERVING");
    let out = gatehouse(
        &[
            "permissions",
            "status",
            "--endpoint",
            "write",
            "--write-remote",
            &format!("127.0.0.1:{write}"),
        ],
        dir.path(),
        &[],
    );
    assert_eq!(text(&out).trim(), "SERVING");

    std::fs::write(
        dir.path().join("tuples.json"),
        r#"[{"namespace": "app", "object": "homepage", "relation": "read", "subject_id": "adaexample.org"}]"#,
    )
    .unwrap();
    let remotes = [
        "--read-remote".to_string(),
        format!("127.0.0.1:{read}"),
        "--write-remote".to_string(),
        format!("127.0.0.1:{write}"),
    ];
    let with = |args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(remotes.iter().map(String::as_str));
        gatehouse(&all, dir.path(), &[])
    };
    let out = with(&[
        "permissions",
        "relation-tuple",
        "create",
        "-f",
        "tuples.json",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        text(&out),
        "NAMESPACE\tOBJECT\tRELATION NAME\tSUBJECT\t\napp\thomepage\tread\tadaexample.org\t\n",
        "Keto prints the tuples written"
    );
    let out = with(&[
        "permissions",
        "check",
        "adaexample.org",
        "read",
        "app",
        "homepage",
    ]);
    assert_eq!(text(&out).trim(), "Allowed");
    let out = with(&["permissions", "check", "mallory", "read", "app:homepage"]);
    assert_eq!(text(&out).trim(), "Denied");
    let out = with(&[
        "permissions",
        "check",
        "mallory",
        "read",
        "app:homepage",
        "--format",
        "json",
    ]);
    assert_eq!(text(&out).trim(), r#"{"allowed":false}"#);
    // Keto's CLI draws the expand tree.
    let out = with(&["permissions", "expand", "read", "app:homepage"]);
    assert_eq!(
        text(&out),
        "or :#@app:homepage#read\n└──∋ :#@adaexample.org\u{fe0f}\n",
        "{}",
        text(&out)
    );
    let out = with(&["permissions", "relation-tuple", "get", "--namespace", "app"]);
    assert_eq!(
        text(&out),
        "NAMESPACE\tOBJECT\tRELATION NAME\tSUBJECT\t\n\
         app\thomepage\tread\tadaexample.org\t\n\
         \t\nNEXT PAGE TOKEN\t\t\nIS LAST PAGE\ttrue\t\n"
    );

    let out = with(&[
        "permissions",
        "relation-tuple",
        "get",
        "--namespace",
        "app",
        "--format",
        "json",
    ]);
    let page: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(page["relation_tuples"][0]["subject_id"], "adaexample.org");
    assert_eq!(
        (&page["is_last_page"], &page["next_page_token"]),
        (&serde_json::json!(true), &serde_json::json!(""))
    );

    // Keto's metrics port counts what the read and write ports answered: the three checks,
    // the two listings and the write above.
    let prometheus = http_get_text(metrics, "/metrics/prometheus");
    for line in [
        r#"gatehouse_permissions_requests_total{api="read",method="POST",route="/relation-tuples/check/openapi",status="200"} 3"#,
        r#"gatehouse_permissions_requests_total{api="read",method="GET",route="/relation-tuples",status="200"} 2"#,
        r#"gatehouse_permissions_requests_total{api="write",method="PATCH",route="/admin/relation-tuples",status="204"} 1"#,
    ] {
        assert!(
            prometheus.lines().any(|l| l == line),
            "no {line} in\n{prometheus}"
        );
    }

    // Older Keto's form: the JSON file as an argument.
    std::fs::write(
        dir.path().join("more.json"),
        r#"{"namespace": "app", "object": "homepage", "relation": "read", "subject_id": "bob"}"#,
    )
    .unwrap();
    let out = with(&["permissions", "relation-tuple", "create", "more.json"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = with(&["permissions", "check", "bob", "read", "app:homepage"]);
    assert_eq!(text(&out).trim(), "Allowed");
    let out = with(&["permissions", "relation-tuple", "delete", "more.json"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = with(&["permissions", "check", "bob", "read", "app:homepage"]);
    assert_eq!(text(&out).trim(), "Denied");

    // `-f` takes directories too: every file below, as Keto reads them.
    let batch = dir.path().join("batch");
    std::fs::create_dir_all(batch.join("more")).unwrap();
    std::fs::write(
        batch.join("a.json"),
        r#"{"namespace": "app", "object": "feed", "relation": "read", "subject_id": "cy"}"#,
    )
    .unwrap();
    std::fs::write(
        batch.join("more/b.json"),
        r#"[{"namespace": "app", "object": "feed", "relation": "read", "subject_id": "di"}]"#,
    )
    .unwrap();
    let out = with(&[
        "permissions",
        "relation-tuple",
        "create",
        "-f",
        "batch",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let written: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(written.as_array().map(Vec::len), Some(2), "{written}");
    for who in ["cy", "di"] {
        let out = with(&["permissions", "check", who, "read", "app:feed"]);
        assert_eq!(text(&out).trim(), "Allowed", "{who}");
    }

    // Keto's delete-all: without --force it only shows what would go.
    let out = with(&["permissions", "relation-tuple", "create", "more.json"]);
    assert!(out.status.success(), "{}", text(&out));
    let delete_all = [
        "permissions",
        "relation-tuple",
        "delete-all",
        "--namespace",
        "app",
        "--subject-id",
        "bob",
    ];
    let out = with(&delete_all);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).starts_with("WARNING") && text(&out).contains("app\thomepage\tread\tbob\t\n"),
        "{}",
        text(&out)
    );
    let out = with(&["permissions", "check", "bob", "read", "app:homepage"]);
    assert_eq!(
        text(&out).trim(),
        "Allowed",
        "nothing was deleted without --force"
    );
    let out = with(&[&delete_all[..], &["--force"]].concat());
    assert!(out.status.success(), "{}", text(&out));
    let out = with(&["permissions", "check", "bob", "read", "app:homepage"]);
    assert_eq!(text(&out).trim(), "Denied");
    let out = with(&[
        "permissions",
        "check",
        "adaexample.org",
        "read",
        "app:homepage",
    ]);
    assert_eq!(text(&out).trim(), "Allowed", "only bob's tuple matched");

    let out = with(&[
        "permissions",
        "list-objects",
        "adaexample.org",
        "read",
        "app",
    ]);
    assert!(text(&out).contains("homepage"), "{}", text(&out));
    let out = with(&["permissions", "list-subjects", "read", "app:homepage"]);
    assert!(text(&out).contains("adaexample.org"), "{}", text(&out));

    // The same through the database directly, with the config instead of a server.
    let out = gatehouse(
        &[
            "permissions",
            "check",
            "adaexample.org",
            "read",
            "app:homepage",
            "-c",
            cfg_s,
        ],
        dir.path(),
        &[],
    );
    assert_eq!(text(&out).trim(), "Allowed", "{}", text(&out));

    std::fs::write(
        dir.path().join("tuples.txt"),
        "// the homepage\napp:homepage#read@bob\n\n  app:feed#read@https://id.example/carol\n",
    )
    .unwrap();
    // Keto's flags: `-f FILE`, `--format`; its table by default.
    let parse = |args: &[&str]| {
        let all = [&["permissions", "relation-tuple", "parse"][..], args].concat();
        gatehouse(&all, dir.path(), &[])
    };
    let out = parse(&["-f", "tuples.txt"]);
    assert_eq!(
        text(&out),
        "NAMESPACE\tOBJECT\tRELATION NAME\tSUBJECT\t\n\
         app\thomepage\tread\tbob\t\n\
         app\tfeed\tread\thttps://id.example/carol\t\n"
    );
    let out = parse(&["-f", "tuples.txt", "--format", "json-pretty"]);
    let parsed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(parsed[0]["subject_id"], "bob");
    // Only a whole line is a comment: a URL's `//` belongs to its tuple.
    assert_eq!(parsed[1]["subject_set"]["object"], "//id.example/carol");
    // Keto's scripts ask for one line of JSON, to pipe into `create -`.
    let out = gatehouse(
        &[
            "permissions",
            "relation-tuple",
            "parse",
            "tuples.txt",
            "--format",
            "json",
        ],
        dir.path(),
        &[],
    );
    assert_eq!(
        text(&out).trim(),
        concat!(
            r#"[{"namespace":"app","object":"homepage","relation":"read","subject_id":"bob"},"#,
            r#"{"namespace":"app","object":"feed","relation":"read","#,
            r#""subject_set":{"namespace":"https","object":"//id.example/carol","relation":""}}]"#
        )
    );
    // One tuple is one row, as Keto prints it: an object in JSON, FIELD value lines.
    std::fs::write(dir.path().join("one.txt"), "app:homepage#read@bob\n").unwrap();
    let out = parse(&["-f", "one.txt", "--format", "json"]);
    assert_eq!(
        text(&out).trim(),
        r#"{"namespace":"app","object":"homepage","relation":"read","subject_id":"bob"}"#
    );
    let out = parse(&["-f", "one.txt"]);
    assert_eq!(
        text(&out),
        "NAMESPACE\tapp\t\nOBJECT ID\thomepage\t\nRELATION NAME\tread\t\nSUBJECT\tbob\t\n"
    );

    std::fs::write(
        dir.path().join("bad.ts"),
        "class A implements Namespace {\n  related: { x: Nope[] }\n}\n",
    )
    .unwrap();
    let out = gatehouse(
        &["permissions", "namespace", "validate", "bad.ts"],
        dir.path(),
        &[],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("bad.ts:2:"), "{}", text(&out));

    // As Keto, the running server follows keto.yml: a namespace added to the list is
    // served without a restart; a broken edit leaves the namespaces in force.
    let config = std::fs::read_to_string(&cfg).unwrap();
    let namespaces = || http_get_text(read, "/namespaces");
    assert_eq!(namespaces(), r#"{"namespaces":[{"name":"app"}]}"#);
    std::fs::write(
        &cfg,
        config.replace(
            "    name: app\n",
            "    name: app\n  - id: 1\n    name: docs\n",
        ),
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while !namespaces().contains("docs") {
        assert!(Instant::now() < deadline, "keto.yml was not reloaded");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::fs::write(&cfg, "namespaces: [unclosed").unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        namespaces(),
        r#"{"namespaces":[{"name":"app"},{"name":"docs"}]}"#
    );
}

/// Keto's client flags, read for HTTP: `--authority` is the Host asked for,
/// `KETO_BEARER_TOKEN` is sent as a bearer token, and `--insecure-disable-transport-security`
/// turns an https:// remote into plain HTTP. A one-shot listener records the request.
#[test]
fn permissions_client_flags_reach_the_request() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = s.read(&mut buf).unwrap();
            request.extend_from_slice(&buf[..n]);
        }
        let body = r#"{"allowed":true}"#;
        write!(
            s,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        String::from_utf8_lossy(&request).to_lowercase()
    });
    let dir = tempfile::tempdir().unwrap();
    let out = gatehouse(
        &[
            "permissions",
            "check",
            "ann",
            "read",
            "app:homepage",
            "--read-remote",
            &format!("https://127.0.0.1:{port}"),
            "--insecure-disable-transport-security",
            "--authority",
            "keto.internal",
        ],
        dir.path(),
        &[("KETO_BEARER_TOKEN", "t0ken")],
    );
    assert_eq!(text(&out).trim(), "Allowed", "{}", text(&out));
    let request = seen.join().unwrap();
    assert!(request.contains("\r\nhost: keto.internal\r\n"), "{request}");
    assert!(
        request.contains("\r\nauthorization: bearer t0ken\r\n"),
        "{request}"
    );
}
