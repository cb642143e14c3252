//! Checks a config beyond its types: URLs parse, secrets are long enough, schema ids are
//! unique and the default exists, and each hook is one Kratos allows where it is placed.

use super::{After, Config, HookConfig};
use gatehouse_core::config::ConfigError;

pub(super) fn validate(cfg: &Config, prefix: &str) -> Result<(), ConfigError> {
    let key = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    if cfg.dsn.as_deref().is_none_or(str::is_empty) && !cfg.dev {
        return Err(ConfigError::invalid(
            key("dsn"),
            "required (e.g. sqlite://gatehouse.db?mode=rwc or postgres://...)",
        ));
    }
    check_schemas(cfg, &key)?;
    check_urls(cfg, &key)?;
    check_secrets(cfg, &key)?;
    check_cors(cfg, &key)?;
    let cost = cfg.hashers.bcrypt.cost;
    let min_cost = if cfg.dev { 4 } else { 12 };
    if !(min_cost..=31).contains(&cost) {
        return Err(ConfigError::invalid(
            key("hashers.bcrypt.cost"),
            format!("must be between {min_cost} and 31 (4 is allowed with --dev), got {cost}"),
        ));
    }
    if cfg.selfservice.methods.password.config.min_password_length < 6 {
        return Err(ConfigError::invalid(
            key("selfservice.methods.password.config.min_password_length"),
            "must be at least 6",
        ));
    }
    check_hooks(cfg, &key)?;
    check_strategies(cfg, &key)?;
    super::courier::validate(&cfg.courier, &key)
}

fn check_schemas(cfg: &Config, key: &dyn Fn(&str) -> String) -> Result<(), ConfigError> {
    let schemas = &cfg.identity.schemas;
    if schemas.is_empty() {
        return Err(ConfigError::invalid(
            key("identity.schemas"),
            "at least one identity schema is required",
        ));
    }
    for (i, s) in schemas.iter().enumerate() {
        if schemas[..i].iter().any(|o| o.id == s.id) {
            return Err(ConfigError::invalid(
                key(&format!("identity.schemas[{i}].id")),
                format!("schema id {:?} is used twice", s.id),
            ));
        }
        if s.url.trim().is_empty() {
            return Err(ConfigError::invalid(
                key(&format!("identity.schemas[{i}].url")),
                "must not be empty",
            ));
        }
    }
    if !schemas
        .iter()
        .any(|s| s.id == cfg.identity.default_schema_id)
    {
        return Err(ConfigError::invalid(
            key("identity.default_schema_id"),
            format!(
                "{:?} is not the id of any entry in identity.schemas",
                cfg.identity.default_schema_id
            ),
        ));
    }
    Ok(())
}

/// `use: link` or `use: code` must name a method that is there: Kratos would only fail
/// when the first user submits the form.
fn check_strategies(cfg: &Config, key: &dyn Fn(&str) -> String) -> Result<(), ConfigError> {
    let flows = &cfg.selfservice.flows;
    for (name, flow) in [
        ("verification", &flows.verification),
        ("recovery", &flows.recovery),
    ] {
        match flow.use_.as_deref() {
            None | Some("code") => {}
            Some("link") if cfg.selfservice.methods.link.enabled => {}
            Some("link") => {
                return Err(ConfigError::invalid(
                    key(&format!("selfservice.flows.{name}.use")),
                    "is link, but selfservice.methods.link.enabled is not true",
                ));
            }
            Some(other) => {
                return Err(ConfigError::invalid(
                    key(&format!("selfservice.flows.{name}.use")),
                    format!("must be code or link, got {other:?}"),
                ));
            }
        }
    }
    Ok(())
}

fn check_url(key: String, value: Option<&String>) -> Result<(), ConfigError> {
    match value {
        Some(v) => match url::Url::parse(v) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(()),
            Ok(u) => Err(ConfigError::invalid(
                key,
                format!("{v:?} must be an http or https URL, not {}", u.scheme()),
            )),
            Err(e) => Err(ConfigError::invalid(
                key,
                format!("{v:?} is not a valid absolute URL: {e}"),
            )),
        },
        None => Ok(()),
    }
}

fn check_urls(cfg: &Config, key: &dyn Fn(&str) -> String) -> Result<(), ConfigError> {
    check_url(
        key("serve.public.base_url"),
        cfg.serve.public.base_url.as_ref(),
    )?;
    check_url(
        key("serve.admin.base_url"),
        cfg.serve.admin.base_url.as_ref(),
    )?;
    check_url(
        key("selfservice.default_browser_return_url"),
        cfg.selfservice.default_browser_return_url.as_ref(),
    )?;
    let f = &cfg.selfservice.flows;
    for (name, flow) in [
        ("login", &f.login),
        ("registration", &f.registration),
        ("settings", &f.settings),
        ("recovery", &f.recovery),
        ("verification", &f.verification),
    ] {
        check_url(
            key(&format!("selfservice.flows.{name}.ui_url")),
            flow.ui_url.as_ref(),
        )?;
        check_url(
            key(&format!(
                "selfservice.flows.{name}.after.default_browser_return_url"
            )),
            flow.after.default_browser_return_url.as_ref(),
        )?;
    }
    check_url(
        key("selfservice.flows.error.ui_url"),
        f.error.ui_url.as_ref(),
    )?;
    check_url(
        key("selfservice.flows.logout.after.default_browser_return_url"),
        f.logout.after.default_browser_return_url.as_ref(),
    )?;
    for (i, u) in cfg.selfservice.allowed_return_urls.iter().enumerate() {
        if !u.starts_with('/') && url::Url::parse(&u.replace("://*.", "://wildcard.")).is_err() {
            return Err(ConfigError::invalid(
                key(&format!("selfservice.allowed_return_urls[{i}]")),
                format!("{u:?} is neither an absolute URL nor a path"),
            ));
        }
    }
    Ok(())
}

fn check_cors(cfg: &Config, key: &dyn Fn(&str) -> String) -> Result<(), ConfigError> {
    gatehouse_core::cors::validate(&cfg.serve.public.cors, &key("serve.public.cors"))
}

fn check_secrets(cfg: &Config, key: &dyn Fn(&str) -> String) -> Result<(), ConfigError> {
    for (name, list, min) in [
        ("default", &cfg.secrets.default, 16),
        ("cookie", &cfg.secrets.cookie, 16),
        ("pagination", &cfg.secrets.pagination, 16),
    ] {
        if let Some(i) = list.iter().position(|s| s.len() < min) {
            return Err(ConfigError::invalid(
                key(&format!("secrets.{name}[{i}]")),
                format!("must be at least {min} characters long"),
            ));
        }
    }
    if let Some(i) = cfg.secrets.cipher.iter().position(|s| s.len() != 32) {
        return Err(ConfigError::invalid(
            key(&format!("secrets.cipher[{i}]")),
            "must be exactly 32 characters long",
        ));
    }
    Ok(())
}

const BEFORE: &[&str] = &["web_hook"];
const LOGIN_AFTER: &[&str] = &[
    "revoke_active_sessions",
    "require_verified_address",
    "web_hook",
    "verification",
    "show_verification_ui",
];
const REGISTRATION_METHOD: &[&str] = &[
    "session",
    "web_hook",
    "show_verification_ui",
    "verification",
];
const GENERIC_AFTER: &[&str] = &["web_hook"];
const SETTINGS_METHOD: &[&str] = &[
    "web_hook",
    "revoke_active_sessions",
    "show_verification_ui",
    "verification",
];
const RECOVERY_AFTER: &[&str] = &["web_hook", "revoke_active_sessions"];

fn check_hook_list(
    base: String,
    hooks: &[HookConfig],
    allowed: &[&str],
) -> Result<(), ConfigError> {
    for (i, h) in hooks.iter().enumerate() {
        if !allowed.contains(&h.hook.as_str()) {
            return Err(ConfigError::invalid(
                format!("{base}[{i}].hook"),
                format!(
                    "`{}` is not allowed here; allowed: {}",
                    h.hook,
                    allowed.join(", ")
                ),
            ));
        }
        if h.hook == "web_hook" {
            for field in ["url", "method"] {
                if h.config
                    .get(field)
                    .and_then(|v| v.as_str())
                    .is_none_or(str::is_empty)
                {
                    return Err(ConfigError::invalid(
                        format!("{base}[{i}].config.{field}"),
                        "required for web_hook",
                    ));
                }
            }
        }
    }
    Ok(())
}

fn check_after(
    base: &str,
    after: &After,
    generic: &[&str],
    per_method: &[&str],
) -> Result<(), ConfigError> {
    check_hook_list(format!("{base}.hooks"), &after.hooks, generic)?;
    let methods = [
        ("password", &after.password),
        ("oidc", &after.oidc),
        ("code", &after.code),
        ("totp", &after.totp),
        ("webauthn", &after.webauthn),
        ("passkey", &after.passkey),
        ("lookup_secret", &after.lookup_secret),
        ("profile", &after.profile),
        ("saml", &after.saml),
    ];
    for (name, m) in methods {
        if let Some(m) = m {
            check_hook_list(format!("{base}.{name}.hooks"), &m.hooks, per_method)?;
        }
    }
    Ok(())
}

fn check_hooks(cfg: &Config, key: &dyn Fn(&str) -> String) -> Result<(), ConfigError> {
    let f = &cfg.selfservice.flows;
    for (name, flow) in [
        ("login", &f.login),
        ("registration", &f.registration),
        ("settings", &f.settings),
        ("recovery", &f.recovery),
        ("verification", &f.verification),
    ] {
        check_hook_list(
            key(&format!("selfservice.flows.{name}.before.hooks")),
            &flow.before.hooks,
            BEFORE,
        )?;
    }
    check_after(
        &key("selfservice.flows.login.after"),
        &f.login.after,
        LOGIN_AFTER,
        LOGIN_AFTER,
    )?;
    check_after(
        &key("selfservice.flows.registration.after"),
        &f.registration.after,
        REGISTRATION_METHOD,
        REGISTRATION_METHOD,
    )?;
    check_after(
        &key("selfservice.flows.settings.after"),
        &f.settings.after,
        GENERIC_AFTER,
        SETTINGS_METHOD,
    )?;
    check_after(
        &key("selfservice.flows.recovery.after"),
        &f.recovery.after,
        RECOVERY_AFTER,
        RECOVERY_AFTER,
    )?;
    check_after(
        &key("selfservice.flows.verification.after"),
        &f.verification.after,
        GENERIC_AFTER,
        GENERIC_AFTER,
    )?;
    Ok(())
}
