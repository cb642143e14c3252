//! Page chrome: the document around a card, the stylesheet, branding, escaping.

/// How the UI presents the product. Set under `gatehouse.ui` in the identity config.
#[derive(Clone, Debug)]
pub struct Branding {
    pub product_name: String,
    /// Shown above every card. Any URL the operator configures; a `data:` URI keeps the
    /// page free of requests to other hosts.
    pub logo_url: Option<String>,
    /// `#rgb` or `#rrggbb`; anything else falls back to the default.
    pub accent_color: String,
    /// Offer "Forgot your password?" on the sign-in page (recovery is enabled).
    pub recovery_link: bool,
}

impl Default for Branding {
    fn default() -> Self {
        Branding {
            recovery_link: false,
            product_name: "gatehouse".into(),
            logo_url: None,
            accent_color: "#4f46e5".into(),
        }
    }
}

impl Branding {
    fn accent(&self) -> &str {
        let c = self.accent_color.as_str();
        let hex = c.strip_prefix('#').unwrap_or("");
        if (hex.len() == 3 || hex.len() == 6) && hex.chars().all(|ch| ch.is_ascii_hexdigit()) {
            c
        } else {
            "#4f46e5"
        }
    }
}

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const CSS: &str = r#"
:root { --accent: ACCENT; --fg: #111827; --muted: #4b5563; --bg: #f3f4f6; --card: #ffffff; --border: #d1d5db; --error: #b91c1c; --ok: #047857; }
* { box-sizing: border-box; }
body { margin: 0; min-height: 100vh; display: flex; align-items: flex-start; justify-content: center; background: var(--bg); color: var(--fg);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; padding: 48px 16px; }
main { width: 100%; max-width: 420px; }
.brand { display: flex; align-items: center; gap: 10px; justify-content: center; margin-bottom: 20px; font-weight: 600; font-size: 18px; }
.brand img { height: 32px; }
.card { background: var(--card); border: 1px solid var(--border); border-radius: 12px; padding: 28px; box-shadow: 0 1px 3px rgba(0,0,0,.06); }
h1 { font-size: 22px; margin: 0 0 18px; }
label { display: block; font-size: 14px; font-weight: 600; margin: 14px 0 6px; }
input[type=text], input[type=email], input[type=password], input[type=tel], input[type=url], input[type=number], input[type=date], input[type=datetime-local], select {
  width: 100%; padding: 10px 12px; border: 1px solid var(--border); border-radius: 8px; font: inherit; background: #fff; color: var(--fg); }
input[aria-invalid=true], select[aria-invalid=true] { border-color: var(--error); }
input:focus, select:focus, button:focus, a:focus { outline: 3px solid var(--accent); outline-offset: 2px; }
.check { display: flex; gap: 8px; align-items: center; margin-top: 14px; }
.check label { margin: 0; }
button { width: 100%; margin-top: 20px; padding: 11px 14px; border: 0; border-radius: 8px; background: var(--accent); color: #fff; font: inherit; font-weight: 600; cursor: pointer; }
button.secondary { background: #fff; color: var(--accent); border: 1px solid var(--accent); }
.field-msg { font-size: 14px; margin-top: 4px; }
.msg { border-radius: 8px; padding: 10px 12px; margin-bottom: 14px; font-size: 14px; }
.msg.error, .field-msg.error { color: var(--error); }
.msg.error { background: #fef2f2; border: 1px solid #fecaca; }
.msg.info { background: #eff6ff; border: 1px solid #bfdbfe; color: #1e3a8a; }
.msg.success { background: #ecfdf5; border: 1px solid #a7f3d0; color: var(--ok); }
.links { margin-top: 18px; font-size: 14px; color: var(--muted); text-align: center; }
.links a { color: var(--accent); }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 6px 14px; font-size: 14px; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; }
code { background: #f3f4f6; padding: 2px 6px; border-radius: 4px; }
hr { border: 0; border-top: 1px solid var(--border); margin: 22px 0 4px; }
main.wide { max-width: 760px; }
table { width: 100%; border-collapse: collapse; font-size: 14px; }
th, td { text-align: left; padding: 8px 6px; border-bottom: 1px solid var(--border); vertical-align: top; overflow-wrap: anywhere; }
th { color: var(--muted); font-weight: 600; }
td a { color: var(--accent); }
h2 { font-size: 16px; margin: 22px 0 8px; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: #f9fafb; border: 1px solid var(--border); border-radius: 8px; padding: 12px; font-size: 14px; margin: 0; }
iframe { width: 100%; min-height: 420px; border: 1px solid var(--border); border-radius: 8px; background: #fff; }
"#;

/// A whole page: `title` in the tab and the heading, `body` inside the card.
pub(crate) fn page(title: &str, body: &str, branding: &Branding) -> String {
    page_in("<main>", title, body, branding)
}

/// A page with a wider card, for tables and e-mails.
pub(crate) fn wide_page(title: &str, body: &str, branding: &Branding) -> String {
    page_in("<main class=\"wide\">", title, body, branding)
}

/// The empty `data:` icon keeps browsers from asking the server for `/favicon.ico` (a 404).
fn page_in(main: &str, title: &str, body: &str, branding: &Branding) -> String {
    let logo = branding
        .logo_url
        .as_deref()
        .filter(|u| {
            u.starts_with("data:image/")
                || u.starts_with('/')
                || u.starts_with("https://")
                || u.starts_with("http://")
        })
        .map(|u| format!("<img src=\"{}\" alt=\"\">", escape(u)))
        .unwrap_or_default();
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<link rel=\"icon\" href=\"data:,\"><title>{title} – {product}</title><style>{css}</style></head>\
<body>{main}<div class=\"brand\">{logo}<span>{product}</span></div><div class=\"card\"><h1>{title}</h1>{body}</div></main></body></html>\n",
        title = escape(title),
        product = escape(&branding.product_name),
        css = CSS.replace("ACCENT", branding.accent()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_validates_accent() {
        assert_eq!(
            escape("<a href=\"x\">'&"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;"
        );
        let b = Branding {
            accent_color: "red;}</style><script>".into(),
            ..Default::default()
        };
        assert_eq!(b.accent(), "#4f46e5");
        let b = Branding {
            accent_color: "#0a0".into(),
            ..Default::default()
        };
        assert_eq!(b.accent(), "#0a0");
    }
}
