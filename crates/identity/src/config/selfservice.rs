//! `selfservice.*`: methods, flows, their UI URLs, lifespans and hooks.

use super::dur;
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SelfService {
    #[serde(default)]
    pub default_browser_return_url: Option<String>,
    #[serde(default)]
    pub allowed_return_urls: Vec<String>,
    #[serde(default)]
    pub methods: Methods,
    #[serde(default)]
    pub flows: Flows,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Methods {
    #[serde(default)]
    pub password: PasswordMethod,
    #[serde(default)]
    pub code: Value,
    #[serde(default)]
    pub link: LinkMethod,
    #[serde(default)]
    pub profile: Value,
    #[serde(default)]
    pub oidc: Value,
    #[serde(default)]
    pub totp: Value,
    #[serde(default)]
    pub lookup_secret: Value,
    #[serde(default)]
    pub webauthn: Value,
    #[serde(default)]
    pub passkey: Value,
    #[serde(default)]
    pub saml: Value,
}

/// `selfservice.methods.link`: verification and recovery by a link in the mail.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LinkMethod {
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub config: LinkConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkConfig {
    /// Kratos ignores it (links use the public URL); accepted so configs load unchanged.
    #[serde(default)]
    pub base_url: Option<String>,
    /// How long a mailed link works, independent of its flow's lifespan.
    #[serde(default = "dur::hour", deserialize_with = "dur::deserialize")]
    pub lifespan: Duration,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            base_url: None,
            lifespan: dur::hour(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordMethod {
    #[serde(default = "super::yes")]
    pub enabled: bool,
    #[serde(default)]
    pub config: PasswordConfig,
}

impl Default for PasswordMethod {
    fn default() -> Self {
        PasswordMethod {
            enabled: true,
            config: PasswordConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordConfig {
    #[serde(default = "min_length")]
    pub min_password_length: usize,
    #[serde(default = "super::yes")]
    pub identifier_similarity_check_enabled: bool,
    /// Accepted but never acted on: gatehouse makes no network calls for passwords.
    #[serde(default = "super::yes")]
    pub haveibeenpwned_enabled: bool,
    #[serde(default)]
    pub haveibeenpwned_host: Value,
    #[serde(default)]
    pub max_breaches: Value,
    #[serde(default)]
    pub ignore_network_errors: Value,
    #[serde(default)]
    pub migrate_hook: Value,
}

fn min_length() -> usize {
    8
}

impl Default for PasswordConfig {
    fn default() -> Self {
        PasswordConfig {
            min_password_length: 8,
            identifier_similarity_check_enabled: true,
            haveibeenpwned_enabled: true,
            haveibeenpwned_host: Value::Null,
            max_breaches: Value::Null,
            ignore_network_errors: Value::Null,
            migrate_hook: Value::Null,
        }
    }
}

/// One hook in a `hooks:` list.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookConfig {
    pub hook: String,
    #[serde(default)]
    pub config: Value,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct BeforeHooks {
    #[serde(default)]
    pub hooks: Vec<HookConfig>,
}

/// `after.<method>`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AfterMethod {
    #[serde(default)]
    pub default_browser_return_url: Option<String>,
    #[serde(default)]
    pub hooks: Vec<HookConfig>,
}

/// `after:` of any flow: a default URL, generic hooks, and per-method blocks.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct After {
    #[serde(default)]
    pub default_browser_return_url: Option<String>,
    #[serde(default)]
    pub hooks: Vec<HookConfig>,
    #[serde(default)]
    pub password: Option<AfterMethod>,
    #[serde(default)]
    pub oidc: Option<AfterMethod>,
    #[serde(default)]
    pub code: Option<AfterMethod>,
    #[serde(default)]
    pub totp: Option<AfterMethod>,
    #[serde(default)]
    pub webauthn: Option<AfterMethod>,
    #[serde(default)]
    pub passkey: Option<AfterMethod>,
    #[serde(default)]
    pub lookup_secret: Option<AfterMethod>,
    #[serde(default)]
    pub profile: Option<AfterMethod>,
    #[serde(default)]
    pub saml: Option<AfterMethod>,
}

/// The keys every flow has; flow-specific ones are in `extra` fields below.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flow {
    /// Unset means Kratos's default for the flow: on for registration, off for recovery
    /// and verification.
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub ui_url: Option<String>,
    #[serde(default = "dur::hour", deserialize_with = "dur::deserialize")]
    pub lifespan: Duration,
    #[serde(default)]
    pub before: BeforeHooks,
    #[serde(default)]
    pub after: After,
    // login
    #[serde(default)]
    pub style: Option<String>,
    // registration
    #[serde(default)]
    pub login_hints: Option<bool>,
    #[serde(default)]
    pub enable_legacy_one_step: Option<bool>,
    // settings
    #[serde(default = "dur::hour", deserialize_with = "dur::deserialize")]
    pub privileged_session_max_age: Duration,
    #[serde(default)]
    pub required_aal: Option<String>,
    // recovery, verification
    #[serde(default, rename = "use")]
    pub use_: Option<String>,
    #[serde(default)]
    pub notify_unknown_recipients: Option<bool>,
}

impl Default for Flow {
    fn default() -> Self {
        Flow {
            enabled: None,
            ui_url: None,
            lifespan: dur::hour(),
            before: BeforeHooks::default(),
            after: After::default(),
            style: None,
            login_hints: None,
            enable_legacy_one_step: None,
            privileged_session_max_age: dur::hour(),
            required_aal: None,
            use_: None,
            notify_unknown_recipients: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LogoutFlow {
    #[serde(default)]
    pub after: LogoutAfter,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LogoutAfter {
    #[serde(default)]
    pub default_browser_return_url: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ErrorFlow {
    #[serde(default)]
    pub ui_url: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Flows {
    #[serde(default)]
    pub login: Flow,
    #[serde(default)]
    pub registration: Flow,
    #[serde(default)]
    pub settings: Flow,
    #[serde(default)]
    pub recovery: Flow,
    #[serde(default)]
    pub verification: Flow,
    #[serde(default)]
    pub logout: LogoutFlow,
    #[serde(default)]
    pub error: ErrorFlow,
}
