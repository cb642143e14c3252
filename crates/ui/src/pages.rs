//! The pages: a flow's form, the signed-in page, the signed-out page and the error page.

use crate::chrome::{Branding, escape, page};
use crate::nodes::{messages, node};
use serde_json::Value;

fn title(kind: &str) -> &'static str {
    match kind {
        "login" => "Sign in",
        "registration" => "Create account",
        "settings" => "Account settings",
        "recovery" => "Recover your account",
        "verification" => "Verify your e-mail",
        _ => "Continue",
    }
}

fn links(kind: &str, branding: &Branding) -> &'static str {
    match kind {
        "login" if branding.recovery_link => {
            "<div class=\"links\">No account yet? <a href=\"/ui/registration\">Create one</a><br><a href=\"/ui/recovery\">Forgot your password?</a></div>"
        }
        "login" => {
            "<div class=\"links\">No account yet? <a href=\"/ui/registration\">Create one</a></div>"
        }
        "recovery" => "<div class=\"links\"><a href=\"/ui/login\">Back to sign in</a></div>",
        "verification" => "<div class=\"links\"><a href=\"/ui/welcome\">Later</a></div>",
        "registration" => {
            "<div class=\"links\">Already have an account? <a href=\"/ui/login\">Sign in</a></div>"
        }
        "settings" => "<div class=\"links\"><a href=\"/ui/welcome\">Done</a></div>",
        _ => "<div class=\"links\"><a href=\"/ui/welcome\">Back</a></div>",
    }
}

/// A flow as one form per method group. Each form carries the `default` group's nodes
/// (the CSRF token, the identifier) so whichever button is pressed submits what Kratos
/// expects for that method.
pub fn flow_page(kind: &str, flow: &Value, branding: &Branding) -> String {
    let ui = flow.get("ui").unwrap_or(&Value::Null);
    let action = ui.get("action").and_then(Value::as_str).unwrap_or("");
    let method = ui.get("method").and_then(Value::as_str).unwrap_or("POST");
    let nodes: Vec<&Value> = ui
        .get("nodes")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let mut groups: Vec<&str> = Vec::new();
    for n in &nodes {
        let g = n.get("group").and_then(Value::as_str).unwrap_or("default");
        if g != "default" && !groups.contains(&g) {
            groups.push(g);
        }
    }
    let mut body = messages(ui.get("messages"), "msg", None);
    let default_nodes: Vec<(usize, &Value)> = nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.get("group").and_then(Value::as_str).unwrap_or("default") == "default")
        .map(|(i, n)| (i, *n))
        .collect();
    if groups.is_empty() {
        groups.push("default");
    }
    for (gi, g) in groups.iter().enumerate() {
        if gi > 0 {
            body.push_str("<hr>");
        }
        body.push_str(&format!(
            "<form action=\"{}\" method=\"{}\" novalidate>",
            escape(action),
            escape(method)
        ));
        for (i, n) in &default_nodes {
            // Visible default fields appear once, in the first form; the hidden ones in each.
            let hidden = n.pointer("/attributes/type").and_then(Value::as_str) == Some("hidden");
            if gi == 0 || hidden {
                body.push_str(&node(n, *i));
            }
        }
        if *g != "default" {
            for (i, n) in nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| n.get("group").and_then(Value::as_str) == Some(g))
            {
                body.push_str(&node(n, i));
            }
        }
        body.push_str("</form>");
    }
    body.push_str(links(kind, branding));
    page(title(kind), &body, branding)
}

/// The signed-in page: who you are and a sign-out button. With `verification` on, an
/// e-mail address not verified yet gets a link to the verification form.
pub fn welcome_page(
    session: &Value,
    logout_url: &str,
    verification: bool,
    branding: &Branding,
) -> String {
    let identity = session.get("identity").unwrap_or(&Value::Null);
    let unverified = identity
        .get("verifiable_addresses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|a| a.get("via").and_then(Value::as_str) == Some("email"))
        .filter(|a| a.get("verified").and_then(Value::as_bool) == Some(false))
        .filter_map(|a| a.get("value").and_then(Value::as_str))
        .next()
        .filter(|_| verification);
    let mut rows = String::new();
    let mut row =
        |k: &str, v: &str| rows.push_str(&format!("<dt>{}</dt><dd>{}</dd>", escape(k), escape(v)));
    if let Some(traits) = identity.get("traits").and_then(Value::as_object) {
        for (k, v) in traits {
            flatten(k, v, &mut row);
        }
    }
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    row("Identity", &text(identity, "id"));
    row("Signed in at", &text(session, "authenticated_at"));
    row("Session expires", &text(session, "expires_at"));
    let notice = unverified
        .map(|a| {
            format!(
                "<div class=\"msg info\" role=\"status\">{} is not verified yet. <a href=\"/ui/verification\">Verify your e-mail address</a></div>",
                escape(a)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "{notice}<p>You are signed in.</p><dl>{rows}</dl><form action=\"{}\" method=\"GET\">{}<button type=\"submit\">Sign out</button></form><div class=\"links\"><a href=\"/ui/settings\">Account settings</a></div>",
        escape(logout_url.split('?').next().unwrap_or("")),
        hidden_query_fields(logout_url)
    );
    page("Welcome", &body, branding)
}

/// A GET form submits its fields as the query; carry the logout URL's query that way.
fn hidden_query_fields(url: &str) -> String {
    let Some((_, query)) = url.split_once('?') else {
        return String::new();
    };
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                escape(&decode(k)),
                escape(&decode(v))
            )
        })
        .collect()
}

/// Percent-decoding of a query component (`+` is a space).
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn flatten(key: &str, v: &Value, row: &mut impl FnMut(&str, &str)) {
    match v {
        Value::Object(m) => m
            .iter()
            .for_each(|(k, v)| flatten(&format!("{key}.{k}"), v, row)),
        Value::String(s) => row(key, s),
        other => row(key, &other.to_string()),
    }
}

/// Not signed in.
pub fn signed_out_page(branding: &Branding) -> String {
    page(
        "Welcome",
        "<p>You are not signed in.</p><div class=\"links\"><a href=\"/ui/login\">Sign in</a> · <a href=\"/ui/registration\">Create an account</a></div>",
        branding,
    )
}

/// An error report (`{"error": {...}}` as `/self-service/errors` gives it).
pub fn error_page(error: &Value, branding: &Branding) -> String {
    let e = error.get("error").unwrap_or(error);
    let get = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("");
    let code = e
        .get("code")
        .and_then(Value::as_i64)
        .map(|c| c.to_string())
        .unwrap_or_default();
    let mut body = format!(
        "<div class=\"msg error\" role=\"alert\">{}</div>",
        escape(if get("message").is_empty() {
            "Something went wrong."
        } else {
            get("message")
        })
    );
    if !get("reason").is_empty() {
        body.push_str(&format!("<p>{}</p>", escape(get("reason"))));
    }
    if !code.is_empty() {
        body.push_str(&format!(
            "<p class=\"links\">Error {} {}</p>",
            escape(&code),
            escape(get("status"))
        ));
    }
    body.push_str("<div class=\"links\"><a href=\"/ui/login\">Sign in</a> · <a href=\"/ui/registration\">Create an account</a></div>");
    page("Something went wrong", &body, branding)
}

#[cfg(test)]
mod tests;
