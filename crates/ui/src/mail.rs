//! The dev mailbox (`/ui/mail`): the e-mails gatehouse sent in dev mode, newest first, and
//! one e-mail with its plaintext and HTML bodies. The HTML body is shown in a sandboxed
//! frame (no scripts, no forms, its own origin) through an escaped `srcdoc`, never mixed
//! into this page.

use crate::chrome::{Branding, escape, wide_page};
use serde_json::Value;

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// The mailbox: `messages` are `{id, recipient, subject, status, created_at}` objects.
pub fn mailbox_page(messages: &[Value], branding: &Branding) -> String {
    let mut body = String::from(
        "<p>E-mails sent in dev mode land here instead of a mail server. Newest first.</p>",
    );
    if messages.is_empty() {
        body.push_str("<p class=\"links\">No messages yet.</p>");
    } else {
        body.push_str(
            "<table><thead><tr><th scope=\"col\">Received</th><th scope=\"col\">To</th><th scope=\"col\">Subject</th><th scope=\"col\">Status</th></tr></thead><tbody>",
        );
        for m in messages {
            let subject = match s(m, "subject") {
                "" => "(no subject)",
                other => other,
            };
            body.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td><a href=\"/ui/mail/{}\">{}</a></td><td>{}</td></tr>",
                escape(s(m, "created_at")),
                escape(s(m, "recipient")),
                escape(s(m, "id")),
                escape(subject),
                escape(s(m, "status")),
            ));
        }
        body.push_str("</tbody></table>");
    }
    wide_page("Mailbox", &body, branding)
}

/// One e-mail: `{id, recipient, subject, status, created_at, template_type, code, link,
/// body_plaintext, body_html, last_error}`.
pub fn mail_page(m: &Value, branding: &Branding) -> String {
    let mut rows = String::new();
    let mut row = |k: &str, v: &str| {
        if !v.is_empty() {
            rows.push_str(&format!("<dt>{}</dt><dd>{}</dd>", escape(k), v));
        }
    };
    row("To", &escape(s(m, "recipient")));
    row("Subject", &escape(s(m, "subject")));
    row("Received", &escape(s(m, "created_at")));
    row("Status", &escape(s(m, "status")));
    row("Template", &escape(s(m, "template_type")));
    if !s(m, "code").is_empty() {
        row("Code", &format!("<code>{}</code>", escape(s(m, "code"))));
    }
    let link = s(m, "link");
    if link.starts_with("http://") || link.starts_with("https://") {
        row(
            "Link",
            &format!("<a href=\"{}\">{}</a>", escape(link), escape(link)),
        );
    }
    row("Problem", &escape(s(m, "last_error")));
    let mut body = format!("<dl>{rows}</dl>");
    body.push_str("<h2 id=\"plaintext\">Plain text</h2>");
    body.push_str(&format!(
        "<pre aria-labelledby=\"plaintext\">{}</pre>",
        escape(s(m, "body_plaintext"))
    ));
    if !s(m, "body_html").is_empty() {
        body.push_str("<h2>HTML</h2>");
        body.push_str(&format!(
            "<iframe sandbox=\"\" referrerpolicy=\"no-referrer\" title=\"The HTML body of the e-mail\" srcdoc=\"{}\"></iframe>",
            escape(s(m, "body_html"))
        ));
    }
    body.push_str("<div class=\"links\"><a href=\"/ui/mail\">Back to the mailbox</a></div>");
    wide_page(
        match s(m, "subject") {
            "" => "(no subject)",
            other => other,
        },
        &body,
        branding,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn html_bodies_stay_inside_a_sandboxed_frame() {
        let m = json!({
            "id": "1", "recipient": "a@example.org", "subject": "<b>Hi</b>",
            "body_plaintext": "code <123>", "code": "123456",
            "link": "javascript:alert(1)",
            "body_html": "<p onclick=\"x\">Hello</p><script>alert(1)</script>"
        });
        let html = mail_page(&m, &Branding::default());
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("<p onclick"), "{html}");
        assert!(
            html.contains("srcdoc=\"&lt;p onclick=&quot;x&quot;&gt;Hello&lt;/p&gt;&lt;script&gt;")
        );
        assert!(html.contains("<iframe sandbox=\"\""));
        assert!(html.contains("&lt;b&gt;Hi&lt;/b&gt;"));
        assert!(html.contains("code &lt;123&gt;"));
        assert!(html.contains("<code>123456</code>"));
        assert!(
            !html.contains("javascript:"),
            "only http(s) links are linked"
        );
    }

    #[test]
    fn mailbox_lists_and_links_messages() {
        let html = mailbox_page(
            &[
                json!({"id": "abc", "recipient": "a@example.org", "subject": "Hello & bye", "status": "sent", "created_at": "2026-01-01T00:00:00Z"}),
            ],
            &Branding::default(),
        );
        assert!(html.contains("<a href=\"/ui/mail/abc\">Hello &amp; bye</a>"));
        assert!(mailbox_page(&[], &Branding::default()).contains("No messages yet."));
    }
}
