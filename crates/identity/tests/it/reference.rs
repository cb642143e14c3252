//! The first reference setup end to end: the exam platform that left AWS Cognito. Its own
//! kratos.yml (tests/fixtures/kratos.yml) and identity schema, mail through SMTP (here a
//! server on loopback), and its post-sign-up trigger: a `web_hook` whose Jsonnet body lets
//! educators through and cancels the call for students. The story its authors tested: sign
//! up, receive the verification code by mail, be refused at login until verified, verify,
//! sign in; the subscriber function hears of educators only.

use crate::app::message_ids;
use crate::hooks::SUBSCRIBER;
use crate::receiver::receiver;
use crate::smtp::{Received, SmtpSink};
use crate::verification::{api_flow, post as submit_verification};
use crate::{TestApp, backends};
use gatehouse_core::config::parse_document;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

const PASSWORD: &str = "correct horse battery";

/// How long the courier worker may take to hand a mail to the SMTP server.
const MAIL_WITHIN: Duration = Duration::from_secs(20);

/// The reference kratos.yml, changed only where a test must: the database, the ports and
/// the schema file are `TestApp`'s (its schema is the reference schema); the hook calls the
/// receiver on loopback with the Jsonnet from a temporary file; mail goes to the SMTP
/// server on loopback; bcrypt cost 4 instead of 12 (seconds per hash in a debug build).
fn reference_config(hook_url: &str, jsonnet: &Path, smtp_port: u16) -> Value {
    let mut cfg = parse_document(include_str!("../fixtures/kratos.yml")).unwrap();
    let top = cfg.as_object_mut().unwrap();
    top.remove("dsn");
    top.remove("identity");
    for server in ["public", "admin"] {
        cfg["serve"][server]
            .as_object_mut()
            .unwrap()
            .remove("base_url");
    }
    cfg["hashers"]["bcrypt"]["cost"] = json!(4);
    cfg["courier"]["smtp"]["connection_uri"] = json!(format!(
        "smtp://127.0.0.1:{smtp_port}/?disable_starttls=true"
    ));

    // What the story depends on, as the reference setup has it.
    let flows = &mut cfg["selfservice"]["flows"];
    assert_eq!(flows["verification"]["enabled"], true);
    assert_eq!(flows["verification"]["use"], "code");
    assert_eq!(
        flows["login"]["after"]["password"]["hooks"],
        json!([{"hook": "require_verified_address"}])
    );
    let hooks = &mut flows["registration"]["after"]["password"]["hooks"];
    assert_eq!(hooks[0]["hook"], "web_hook");
    assert_eq!(
        hooks[0]["config"]["response"],
        json!({"ignore": false, "parse": false})
    );
    assert_eq!(hooks[1], json!({"hook": "session"}));
    hooks[0]["config"]["url"] = json!(hook_url);
    hooks[0]["config"]["body"] = json!(format!("file://{}", jsonnet.display()));
    cfg
}

/// The verification code in a mail: the plaintext body's only six-digit word.
fn code_in(mail: &Received) -> String {
    let text = mail
        .plain_text()
        .unwrap_or_else(|| panic!("no text/plain part in {}", mail.data));
    let codes: Vec<&str> = text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| w.len() == 6 && w.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    assert!(!codes.is_empty(), "no code in {text}");
    assert!(
        codes.iter().all(|c| *c == codes[0]),
        "more than one code in {text}"
    );
    codes[0].to_string()
}

/// Signs up through the API; the answer, checked for what every sign-up must give.
async fn sign_up(app: &TestApp, email: &str, first: &str, user_type: &str) -> Value {
    let traits =
        json!({"email": email, "name": {"first": first, "last": "Doe"}, "user_type": user_type});
    let (status, body) = app.register_traits(traits.clone(), PASSWORD).await;
    assert_eq!(status, 200, "{user_type} signs up: {body}");
    assert_eq!(body["identity"]["traits"], traits);
    let address = &body["identity"]["verifiable_addresses"][0];
    assert_eq!(address["value"], email, "{body}");
    assert_eq!(address["via"], "email");
    assert_eq!(address["verified"], false);
    // The `session` hook: a session at once, even before verification.
    let token = body["session_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"));
    let actions: Vec<&Value> = body["continue_with"].as_array().unwrap().iter().collect();
    assert!(
        actions
            .iter()
            .any(|a| a["action"] == "set_ory_session_token" && a["ory_session_token"] == token),
        "{body}"
    );
    body
}

/// The verification flow a sign-up answer points to (`show_verification_ui`).
fn verification_flow_of(signup: &Value, email: &str) -> String {
    let next = signup["continue_with"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["action"] == "show_verification_ui")
        .unwrap_or_else(|| panic!("no show_verification_ui in {signup}"));
    assert_eq!(next["flow"]["verifiable_address"], email);
    let id = next["flow"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        next["flow"]["url"],
        format!("https://exam.example.space/verification?flow={id}")
    );
    id
}

/// Password login is refused as Kratos v1.3 refuses it: 400, the flow, message 4000010.
async fn assert_login_refused(app: &TestApp, email: &str) {
    let (status, refused) = app.login_api(email, PASSWORD).await;
    assert_eq!(status, 400, "{email} is not verified yet: {refused}");
    assert_eq!(message_ids(&refused), vec![4000010], "{refused}");
    assert_eq!(refused["ui"]["messages"][0]["type"], "error");
    assert!(refused.get("session_token").is_none(), "{refused}");
}

/// Password login works, and its session is one the frontends can use (whoami).
async fn assert_login_works(app: &TestApp, email: &str, user_type: &str) {
    let (status, body) = app.login_api(email, PASSWORD).await;
    assert_eq!(status, 200, "{email} is verified: {body}");
    let identity = &body["session"]["identity"];
    assert_eq!(identity["traits"]["email"], email);
    assert_eq!(identity["verifiable_addresses"][0]["verified"], true);
    assert_eq!(identity["verifiable_addresses"][0]["status"], "completed");
    let token = body["session_token"].as_str().unwrap();
    let (status, me) = app.whoami(token).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["active"], true);
    assert_eq!(me["identity"]["traits"]["user_type"], user_type);
}

/// The status of the first verifiable address of the identity a sign-up created, as the
/// admin API shows it.
async fn address_status(app: &TestApp, signup: &Value) -> String {
    let id = signup["identity"]["id"].as_str().unwrap();
    let res = app
        .http
        .get(app.admin_url(&format!("admin/identities/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let identity: Value = res.json().await.unwrap();
    let address = &identity["verifiable_addresses"][0];
    assert_eq!(address["verified"], false, "{identity}");
    address["status"].as_str().unwrap_or_default().to_string()
}

/// How many mails to `to` the courier has (queued or sent).
async fn mails_to(app: &TestApp, to: &str) -> usize {
    let res = app
        .http
        .get(app.admin_url("admin/courier/messages"))
        .query(&[("recipient", to)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let list: Value = res.json().await.unwrap();
    list.as_array().unwrap().len()
}

#[tokio::test]
async fn exam_platform_sign_up_verify_sign_in_and_subscriber_hook() {
    let mut address_statuses = Vec::new();
    for backend in backends() {
        let smtp = SmtpSink::plain().await;
        let (hook_base, calls) = receiver().await;
        let dir = tempfile::tempdir().unwrap();
        let jsonnet = dir.path().join("subscriber.jsonnet");
        std::fs::write(&jsonnet, SUBSCRIBER).unwrap();
        let app = TestApp::start(
            &backend,
            reference_config(&format!("{hook_base}/hook"), &jsonnet, smtp.port),
        )
        .await;

        // The identity schema: e-mail (password identifier, verified and recovered by
        // e-mail), a name, and the kind of user.
        let schema: Value = app
            .http
            .get(app.pub_url("schemas/default"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let traits = &schema["properties"]["traits"]["properties"];
        let email_ext = &traits["email"]["ory.sh/kratos"];
        assert_eq!(email_ext["credentials"]["password"]["identifier"], true);
        assert_eq!(email_ext["verification"]["via"], "email");
        assert_eq!(email_ext["recovery"]["via"], "email");
        assert!(traits["name"].is_object(), "{schema}");
        assert_eq!(traits["user_type"]["enum"], json!(["educator", "student"]));

        let educator = "ada.teacher@example.org";
        let student = "ben.pupil@example.org";
        let educator_signup = sign_up(&app, educator, "Ada", "educator").await;
        let student_signup = sign_up(&app, student, "Ben", "student").await;
        let educator_flow = verification_flow_of(&educator_signup, educator);
        let student_flow = verification_flow_of(&student_signup, student);

        // Each one's code arrives by mail, from the reference setup's sender.
        let educator_mail = smtp.wait_for_to(educator, 1, MAIL_WITHIN).await.remove(0);
        let student_mail = smtp.wait_for_to(student, 1, MAIL_WITHIN).await.remove(0);
        for mail in [&educator_mail, &student_mail] {
            assert_eq!(mail.mail_from, "<no-reply@example.space>");
        }
        let educator_code = code_in(&educator_mail);
        let student_code = code_in(&student_mail);
        // With its code on the way, Kratos marks the address `sent` (code_sender.go). Checked
        // at the very end, so that the whole story runs on every backend whatever this says.
        let statuses_after_mail = [
            address_status(&app, &educator_signup).await,
            address_status(&app, &student_signup).await,
        ];

        // Not verified yet: no login, even with the right password.
        assert_login_refused(&app, educator).await;
        assert_login_refused(&app, student).await;

        // The educator verifies in the flow the sign-up answer points to, with the code
        // from the sign-up mail.
        let res = app
            .http
            .get(app.pub_url("self-service/verification/flows"))
            .query(&[("id", &educator_flow)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let flow: Value = res.json().await.unwrap();
        assert_eq!(flow["state"], "sent_email", "{flow}");
        let (status, done) = submit_verification(
            &app,
            &educator_flow,
            json!({"method": "code", "code": educator_code}),
        )
        .await;
        assert_eq!(status, 200, "{done}");
        assert_eq!(done["state"], "passed_challenge", "{done}");
        assert_eq!(message_ids(&done), vec![1080002]);
        assert_login_works(&app, educator, "educator").await;
        assert_login_refused(&app, student).await;

        // The student starts over at /self-service/verification/api: a new flow, a new
        // mail. The sign-up code belongs to the sign-up's flow and does not work here.
        let fresh = api_flow(&app).await;
        assert_eq!(fresh["state"], "choose_method", "{fresh}");
        let fresh_id = fresh["id"].as_str().unwrap().to_string();
        assert_ne!(fresh_id, student_flow);
        let (status, sent) =
            submit_verification(&app, &fresh_id, json!({"method": "code", "email": student})).await;
        assert_eq!(status, 200, "{sent}");
        assert_eq!(sent["state"], "sent_email");
        assert_eq!(message_ids(&sent), vec![1080003]);
        let second_mail = smtp.wait_for_to(student, 2, MAIL_WITHIN).await.remove(1);
        let second_code = code_in(&second_mail);
        if second_code != student_code {
            let (status, wrong) = submit_verification(
                &app,
                &fresh_id,
                json!({"method": "code", "code": student_code}),
            )
            .await;
            assert_eq!(status, 200, "{wrong}");
            assert_eq!(wrong["state"], "sent_email");
            assert_eq!(message_ids(&wrong), vec![4070006]);
            assert_login_refused(&app, student).await;
        }
        let (status, done) = submit_verification(
            &app,
            &fresh_id,
            json!({"method": "code", "code": second_code}),
        )
        .await;
        assert_eq!(status, 200, "{done}");
        assert_eq!(done["state"], "passed_challenge", "{done}");
        assert_login_works(&app, student, "student").await;

        // One mail per sign-up and one per verification request; a refused login sends
        // nothing (Kratos v1.3).
        assert_eq!(mails_to(&app, educator).await, 1);
        assert_eq!(mails_to(&app, student).await, 2);

        address_statuses.push((backend.clone(), statuses_after_mail));

        // The subscriber function heard of the educator, once; the student's call was
        // cancelled by the Jsonnet and never left.
        let calls = calls.lock().unwrap().clone();
        assert_eq!(calls.len(), 1, "{backend:?}: {calls:#?}");
        let call = &calls[0];
        assert_eq!(call.method, "POST");
        assert_eq!(call.path, "/hook");
        assert_eq!(call.headers["content-type"], "application/json");
        assert_eq!(call.body, json!({"email": educator}));
    }
    for (backend, statuses) in address_statuses {
        assert_eq!(
            statuses,
            ["sent", "sent"],
            "{backend:?}: once a verification code is queued for an address, Kratos sets its \
             status from `pending` to `sent` (selfservice/strategy/code/code_sender.go)"
        );
    }
}
