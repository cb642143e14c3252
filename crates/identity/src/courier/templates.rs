//! The message templates: built-in defaults, overrides from `courier.template_override_path`
//! (Kratos's layout) and from `courier.templates.*` URIs, all loaded and parsed at start-up
//! so a broken template stops the service with its key path, line and column instead of
//! failing a user's flow later.
//!
//! For each template and each part (subject, HTML body, plaintext body) the first source
//! that exists wins: the URI under `courier.templates`, then the file under the override
//! path, then the built-in file. Subjects and plaintext bodies are Go `text/template`s; the
//! HTML body is an `html/template`, which escapes what it inserts.

use super::template_type::TemplateType;
use crate::config::CourierConfig;
use gatehouse_gotmpl::{Mode, Template};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

/// One part of an e-mail template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    Subject,
    Html,
    Plaintext,
}

impl Part {
    const ALL: [Part; 3] = [Part::Subject, Part::Html, Part::Plaintext];

    /// The file name in Kratos's layout.
    fn file(self) -> &'static str {
        match self {
            Part::Subject => "email.subject.gotmpl",
            Part::Html => "email.body.gotmpl",
            Part::Plaintext => "email.body.plaintext.gotmpl",
        }
    }

    /// The key below `courier.templates.<dir>.<validity>.email`.
    fn key(self) -> &'static str {
        match self {
            Part::Subject => "subject",
            Part::Html => "body.html",
            Part::Plaintext => "body.plaintext",
        }
    }

    fn mode(self) -> Mode {
        match self {
            Part::Html => Mode::Html,
            Part::Subject | Part::Plaintext => Mode::Text,
        }
    }
}

/// The built-in template files, embedded in the binary.
fn builtin(t: TemplateType, part: Part) -> &'static str {
    macro_rules! files {
        ($dir:literal) => {
            match part {
                Part::Subject => include_str!(concat!("templates/", $dir, "/email.subject.gotmpl")),
                Part::Html => include_str!(concat!("templates/", $dir, "/email.body.gotmpl")),
                Part::Plaintext => {
                    include_str!(concat!("templates/", $dir, "/email.body.plaintext.gotmpl"))
                }
            }
        };
    }
    match t {
        TemplateType::RecoveryValid => files!("recovery/valid"),
        TemplateType::RecoveryInvalid => files!("recovery/invalid"),
        TemplateType::RecoveryCodeValid => files!("recovery_code/valid"),
        TemplateType::RecoveryCodeInvalid => files!("recovery_code/invalid"),
        TemplateType::VerificationValid => files!("verification/valid"),
        TemplateType::VerificationInvalid => files!("verification/invalid"),
        TemplateType::VerificationCodeValid => files!("verification_code/valid"),
        TemplateType::VerificationCodeInvalid => files!("verification_code/invalid"),
        TemplateType::LoginCodeValid => files!("login_code/valid"),
        TemplateType::RegistrationCodeValid => files!("registration_code/valid"),
    }
}

/// An e-mail's parsed templates.
struct EmailTemplate {
    subject: Template,
    html: Template,
    plaintext: Template,
}

/// A rendered e-mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub html: String,
    pub plaintext: String,
}

/// Every template type, parsed.
pub struct Templates {
    by_type: HashMap<TemplateType, EmailTemplate>,
}

impl Templates {
    /// Loads and parses every template. `prefix` is where the identity config sits
    /// (`identity` in gatehouse.yml) so errors name the full key path.
    pub async fn load(cfg: &CourierConfig, prefix: &str) -> Result<Templates, String> {
        let key = |k: &str| {
            if prefix.is_empty() {
                k.to_string()
            } else {
                format!("{prefix}.{k}")
            }
        };
        let override_dir = cfg
            .template_override_path
            .as_deref()
            .filter(|p| !p.is_empty())
            .map(|p| p.strip_prefix("file://").unwrap_or(p));
        if let Some(dir) = override_dir
            && !Path::new(dir).is_dir()
        {
            return Err(format!(
                "config key `{}`: {dir} is not a directory",
                key("courier.template_override_path")
            ));
        }
        let mut by_type = HashMap::new();
        for t in TemplateType::ALL {
            let (dir, validity) = t.location();
            let uris = cfg.templates.uris(dir, validity);
            let mut parsed: Vec<Template> = Vec::with_capacity(3);
            for part in Part::ALL {
                let uri = uris.and_then(|u| match part {
                    Part::Subject => u.subject.as_deref(),
                    Part::Html => u.body.html.as_deref(),
                    Part::Plaintext => u.body.plaintext.as_deref(),
                });
                let (source, name, origin) = if let Some(uri) = uri.filter(|u| !u.is_empty()) {
                    let k = key(&format!(
                        "courier.templates.{dir}.{validity}.email.{}",
                        part.key()
                    ));
                    let bytes = gatehouse_core::loader::load(uri)
                        .await
                        .map_err(|e| format!("config key `{k}`: {e}"))?;
                    let text = String::from_utf8(bytes)
                        .map_err(|_| format!("config key `{k}`: the template is not UTF-8"))?;
                    (text, uri.to_string(), k)
                } else if let Some(file) = override_dir
                    .map(|d| Path::new(d).join(dir).join(validity).join(part.file()))
                    .filter(|f| f.is_file())
                {
                    let k = key("courier.template_override_path");
                    let text = tokio::fs::read_to_string(&file).await.map_err(|e| {
                        format!("config key `{k}`: cannot read {}: {e}", file.display())
                    })?;
                    (text, file.display().to_string(), k)
                } else {
                    (
                        builtin(t, part).to_string(),
                        format!("{dir}/{validity}/{}", part.file()),
                        "built-in template".to_string(),
                    )
                };
                let template = Template::parse_with(&name, &source, part.mode()).map_err(|e| {
                    format!(
                        "{origin}: the template {name} does not parse: line {}, column {}: {}",
                        e.line, e.column, e.message
                    )
                })?;
                parsed.push(template);
            }
            let mut parts = parsed.into_iter();
            let (Some(subject), Some(html), Some(plaintext)) =
                (parts.next(), parts.next(), parts.next())
            else {
                return Err(format!("{t}: templates missing"));
            };
            by_type.insert(
                t,
                EmailTemplate {
                    subject,
                    html,
                    plaintext,
                },
            );
        }
        Ok(Templates { by_type })
    }

    /// Renders a template with `model` (variables by their Go names). The subject is
    /// trimmed, as Kratos does. The error says which part failed and why.
    pub fn render(&self, t: TemplateType, model: &Value) -> Result<Rendered, String> {
        let e = self
            .by_type
            .get(&t)
            .ok_or_else(|| format!("no template for {t}"))?;
        let run = |part: &str, tpl: &Template| {
            tpl.render(model)
                .map_err(|err| format!("rendering the {part} of {t} failed: {err}"))
        };
        Ok(Rendered {
            subject: run("subject", &e.subject)?.trim().to_string(),
            html: run("HTML body", &e.html)?,
            plaintext: run("plaintext body", &e.plaintext)?,
        })
    }
}
