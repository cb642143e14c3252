use super::*;
use serde_json::json;

fn login_flow() -> Value {
    json!({"id": "f", "type": "browser", "ui": {"action": "http://127.0.0.1:4433/self-service/login?flow=f", "method": "POST",
    "messages": [{"id": 4000006, "text": "The provided credentials are invalid", "type": "error"}],
    "nodes": [
      {"type": "input", "group": "default", "attributes": {"name": "csrf_token", "type": "hidden", "value": "tok+/=", "required": true, "disabled": false, "node_type": "input"}, "messages": [], "meta": {}},
      {"type": "input", "group": "default", "attributes": {"name": "identifier", "type": "text", "value": "<script>x</script>", "required": true, "disabled": false, "node_type": "input"}, "messages": [{"id": 4000002, "text": "Property identifier is missing.", "type": "error"}], "meta": {"label": {"id": 1070004, "text": "ID", "type": "info"}}},
      {"type": "input", "group": "password", "attributes": {"name": "password", "type": "password", "value": "secret", "required": true, "disabled": false, "node_type": "input"}, "messages": [], "meta": {"label": {"id": 1070001, "text": "Password", "type": "info"}}},
      {"type": "input", "group": "password", "attributes": {"name": "method", "type": "submit", "value": "password", "disabled": false, "node_type": "input"}, "messages": [], "meta": {"label": {"id": 1010001, "text": "Sign in", "type": "info"}}},
      {"type": "script", "group": "webauthn", "attributes": {"src": "https://evil.example/x.js", "node_type": "script"}, "messages": [], "meta": {}}
    ]}})
}

#[test]
fn login_form_has_the_fields_kratos_expects() {
    let html = flow_page("login", &login_flow(), &Branding::default());
    assert!(
        html.contains(
            "<form action=\"http://127.0.0.1:4433/self-service/login?flow=f\" method=\"POST\""
        ),
        "{html}"
    );
    assert!(html.contains("<input type=\"hidden\" name=\"csrf_token\" value=\"tok+/=\">"));
    assert!(html.contains("name=\"identifier\""));
    assert!(html.contains("type=\"password\" name=\"password\""));
    assert!(!html.contains("secret"), "passwords are never echoed");
    assert!(
        html.contains(
            "<button type=\"submit\" name=\"method\" value=\"password\">Sign in</button>"
        )
    );
    assert!(html.contains("aria-invalid=\"true\""));
    assert!(html.contains("role=\"alert\""));
    assert!(html.contains("&lt;script&gt;x&lt;/script&gt;"));
    assert!(!html.contains("<script"), "no scripts at all");
    assert!(!html.contains("evil.example"));
    assert!(html.contains("<title>Sign in – gatehouse</title>"));
}

#[test]
fn registration_renders_enums_as_selects() {
    let flow = json!({"ui": {"action": "/r", "method": "POST", "nodes": [
        {"type": "input", "group": "default", "attributes": {"name": "traits.user_type", "type": "text", "options": ["educator", "student"], "value": "student", "disabled": false, "node_type": "input"}, "messages": [], "meta": {"label": {"id": 1070002, "text": "Account type", "type": "info"}}}
    ]}});
    let html = flow_page("registration", &flow, &Branding::default());
    assert!(
        html.contains("<select id=\"f0\" name=\"traits.user_type\""),
        "{html}"
    );
    assert!(html.contains("<option value=\"student\" selected>student</option>"));
    assert!(html.contains("<label for=\"f0\">Account type</label>"));
    assert!(html.contains("href=\"/ui/login\""));
}

#[test]
fn welcome_and_error_pages_escape() {
    let s = json!({"identity": {"id": "i", "traits": {"email": "a@b.c", "name": {"first": "<b>"}}}, "authenticated_at": "t", "expires_at": "e"});
    let html = welcome_page(
        &s,
        "http://127.0.0.1:4433/self-service/logout?token=ory_lo_abc&return_to=http%3A%2F%2Fx",
        true,
        &Branding::default(),
    );
    assert!(html.contains("a@b.c") && html.contains("&lt;b&gt;"));
    assert!(
        !html.contains("/ui/verification"),
        "no addresses, nothing to verify"
    );
    assert!(html.contains("action=\"http://127.0.0.1:4433/self-service/logout\" method=\"GET\""));
    assert!(html.contains("name=\"token\" value=\"ory_lo_abc\""));
    assert!(html.contains("value=\"http://x\""));
    let e = error_page(
        &json!({"error": {"code": 403, "status": "Forbidden", "message": "<no>", "reason": "csrf"}}),
        &Branding::default(),
    );
    assert!(e.contains("&lt;no&gt;") && e.contains("403"));
    assert!(signed_out_page(&Branding::default()).contains("/ui/login"));
}

#[test]
fn welcome_page_links_an_unverified_address_to_verification() {
    let s = |verified: bool| {
        json!({"identity": {"id": "i", "traits": {"email": "<a>@b.c"}, "verifiable_addresses": [
            {"value": "<a>@b.c", "via": "email", "verified": verified, "status": "pending"}
        ]}})
    };
    let html = welcome_page(&s(false), "/l", true, &Branding::default());
    assert!(
        html.contains("&lt;a&gt;@b.c is not verified yet."),
        "{html}"
    );
    assert!(html.contains("<a href=\"/ui/verification\">Verify your e-mail address</a>"));
    assert!(!welcome_page(&s(true), "/l", true, &Branding::default()).contains("/ui/verification"));
    assert!(
        !welcome_page(&s(false), "/l", false, &Branding::default()).contains("/ui/verification"),
        "verification is off"
    );
}

#[test]
fn pages_name_an_inline_icon() {
    // Else every page view costs a request for /favicon.ico, answered with a 404.
    let html = signed_out_page(&Branding::default());
    assert!(
        html.contains("<link rel=\"icon\" href=\"data:,\">"),
        "{html}"
    );
}
