//! The Kratos config file (`kratos.yml`) as typed structs. Every key Kratos accepts is
//! accepted; the parts gatehouse acts on are typed with `deny_unknown_fields` so a typo is a
//! start-up error naming the key path, and subtrees it does not act on yet are kept as JSON.
//! Defaults are Kratos's. `validate` checks what types cannot (URLs, hook positions, ...).

mod courier;
mod selfservice;
mod serve;
mod validate;

pub use courier::*;
pub use selfservice::*;
pub use serve::*;

use gatehouse_core::config::{ConfigError, Kind};
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;

/// Durations written as Go durations (`1h`, `15m`), with a default when absent.
pub(crate) mod dur {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        gatehouse_core::duration::serde_opt::deserialize(d)?
            .ok_or_else(|| serde::de::Error::custom("a duration is required, e.g. 1h"))
    }

    pub fn opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        gatehouse_core::duration::serde_opt::deserialize(d)
    }

    /// For `#[serde(default = ...)]`.
    pub fn hour() -> Duration {
        Duration::from_secs(3600)
    }

    pub fn day() -> Duration {
        Duration::from_secs(24 * 3600)
    }

    #[allow(dead_code)]
    pub fn parse_value<'de, D: Deserializer<'de>>(d: D) -> Result<serde_json::Value, D::Error> {
        serde_json::Value::deserialize(d)
    }
}

fn yes() -> bool {
    true
}

/// The whole Kratos configuration.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub dsn: Option<String>,
    #[serde(skip)]
    pub dev: bool,
    /// Where this document sits in the file (`identity` in gatehouse.yml), for error
    /// messages found after parsing (templates are loaded at start-up).
    #[serde(skip)]
    pub key_prefix: String,
    #[serde(default)]
    pub serve: Serve,
    #[serde(default)]
    pub selfservice: SelfService,
    #[serde(default)]
    pub identity: IdentityConfig,
    #[serde(default)]
    pub session: SessionConfig,
    #[serde(default)]
    pub cookies: Cookies,
    #[serde(default)]
    pub secrets: Secrets,
    #[serde(default)]
    pub hashers: Hashers,
    #[serde(default)]
    pub log: Log,
    /// gatehouse's own settings (ignored by nothing: Kratos would reject this key).
    #[serde(default)]
    pub gatehouse: GatehouseExtras,
    #[serde(default)]
    pub courier: CourierConfig,
    // Accepted for compatibility; acted on by later gatehouse features.
    #[serde(default)]
    pub ciphers: Value,
    #[serde(default)]
    pub tracing: Value,
    #[serde(default)]
    pub clients: Value,
    #[serde(default)]
    pub feature_flags: Value,
    #[serde(default)]
    pub oauth2_provider: Value,
    #[serde(default)]
    pub organizations: Value,
    #[serde(default)]
    pub database: Value,
    #[serde(default)]
    pub security: Value,
    #[serde(default)]
    pub preview: Value,
    #[serde(default)]
    pub version: Value,
    #[serde(default)]
    pub expose_metrics_port: Value,
    #[serde(default, rename = "dev")]
    pub dev_key: Value,
    #[serde(default)]
    pub help: Value,
    #[serde(default, rename = "sqa-opt-out")]
    pub sqa_opt_out: Value,
    #[serde(default, rename = "watch-courier")]
    pub watch_courier: Value,
    #[serde(default)]
    pub config: Value,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct IdentityConfig {
    #[serde(default = "default_schema_id")]
    pub default_schema_id: String,
    #[serde(default)]
    pub schemas: Vec<SchemaEntry>,
}

fn default_schema_id() -> String {
    "default".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaEntry {
    pub id: String,
    pub url: String,
    #[serde(default)]
    pub selfservice_selectable: bool,
}

#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
pub enum SameSite {
    Strict,
    #[default]
    Lax,
    None,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionConfig {
    #[serde(default = "dur::day", deserialize_with = "dur::deserialize")]
    pub lifespan: Duration,
    #[serde(default)]
    pub cookie: SessionCookie,
    #[serde(default, deserialize_with = "dur::opt")]
    pub earliest_possible_extend: Option<Duration>,
    #[serde(default)]
    pub whoami: Value,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            lifespan: dur::day(),
            cookie: SessionCookie::default(),
            earliest_possible_extend: None,
            whoami: Value::Null,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionCookie {
    #[serde(default = "session_cookie_name")]
    pub name: String,
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub same_site: Option<SameSite>,
    #[serde(default = "yes")]
    pub persistent: bool,
}

fn session_cookie_name() -> String {
    "ory_kratos_session".into()
}

impl Default for SessionCookie {
    fn default() -> Self {
        SessionCookie {
            name: session_cookie_name(),
            domain: None,
            path: None,
            same_site: None,
            persistent: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cookies {
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default = "root_path")]
    pub path: String,
    #[serde(default)]
    pub same_site: SameSite,
    #[serde(default)]
    pub secure: Option<bool>,
}

fn root_path() -> String {
    "/".into()
}

impl Default for Cookies {
    fn default() -> Self {
        Cookies {
            domain: None,
            path: root_path(),
            same_site: SameSite::Lax,
            secure: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Secrets {
    #[serde(default)]
    pub default: Vec<String>,
    #[serde(default)]
    pub cookie: Vec<String>,
    #[serde(default)]
    pub cipher: Vec<String>,
    #[serde(default)]
    pub pagination: Vec<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum HashAlgorithm {
    #[default]
    Bcrypt,
    Argon2,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Hashers {
    #[serde(default)]
    pub algorithm: HashAlgorithm,
    #[serde(default)]
    pub bcrypt: BcryptConfig,
    #[serde(default)]
    pub argon2: Argon2Config,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BcryptConfig {
    #[serde(default = "bcrypt_cost")]
    pub cost: u32,
}

fn bcrypt_cost() -> u32 {
    12
}

impl Default for BcryptConfig {
    fn default() -> Self {
        BcryptConfig {
            cost: bcrypt_cost(),
        }
    }
}

/// A byte size written as `128MB`, `1GB`, `64KB` or a plain number of bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Number(n) => n.as_u64().map(ByteSize).ok_or_else(|| {
                serde::de::Error::custom("a byte size must be a positive whole number")
            }),
            Value::String(s) => parse_bytes(&s)
                .map(ByteSize)
                .map_err(serde::de::Error::custom),
            _ => Err(serde::de::Error::custom(
                "a byte size is a number or a string like 128MB",
            )),
        }
    }
}

fn parse_bytes(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("invalid byte size {s:?}"))?;
    let factor: u64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "KB" | "KIB" | "K" => 1 << 10,
        "MB" | "MIB" | "M" => 1 << 20,
        "GB" | "GIB" | "G" => 1 << 30,
        other => return Err(format!("unknown unit {other:?} in byte size {s:?}")),
    };
    n.checked_mul(factor)
        .ok_or_else(|| format!("byte size {s:?} is too large"))
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Argon2Config {
    #[serde(default = "argon_memory")]
    pub memory: ByteSize,
    #[serde(default = "one")]
    pub iterations: u32,
    #[serde(default = "argon_parallelism")]
    pub parallelism: u32,
    #[serde(default = "sixteen")]
    pub salt_length: u32,
    #[serde(default = "thirty_two")]
    pub key_length: u32,
    #[serde(default)]
    pub expected_duration: Value,
    #[serde(default)]
    pub expected_deviation: Value,
    #[serde(default)]
    pub dedicated_memory: Value,
}

fn argon_memory() -> ByteSize {
    ByteSize(128 << 20)
}
fn one() -> u32 {
    1
}
fn argon_parallelism() -> u32 {
    std::thread::available_parallelism()
        .map(|n| n.get() as u32 * 2)
        .unwrap_or(2)
}
fn sixteen() -> u32 {
    16
}
fn thirty_two() -> u32 {
    32
}

impl Default for Argon2Config {
    fn default() -> Self {
        Argon2Config {
            memory: argon_memory(),
            iterations: 1,
            parallelism: argon_parallelism(),
            salt_length: 16,
            key_length: 32,
            expected_duration: Value::Null,
            expected_deviation: Value::Null,
            dedicated_memory: Value::Null,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Log {
    #[serde(default)]
    pub level: Option<String>,
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default)]
    pub leak_sensitive_values: bool,
    #[serde(default)]
    pub redaction_text: Option<String>,
}

/// gatehouse's own keys, under `gatehouse:` in the identity config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatehouseExtras {
    #[serde(default)]
    pub ui: UiConfig,
    #[serde(default)]
    pub rate_limit: RateLimit,
    #[serde(default)]
    pub session_cache: SessionCacheConfig,
    /// How long a flow waits for a `web_hook` (Kratos has no key for it).
    #[serde(default = "ten_seconds", deserialize_with = "dur::deserialize")]
    pub web_hook_timeout: Duration,
}

fn ten_seconds() -> Duration {
    Duration::from_secs(10)
}

impl Default for GatehouseExtras {
    fn default() -> Self {
        GatehouseExtras {
            ui: UiConfig::default(),
            rate_limit: RateLimit::default(),
            session_cache: SessionCacheConfig::default(),
            web_hook_timeout: ten_seconds(),
        }
    }
}

/// The in-memory whoami cache (see `store::cache`); `capacity: 0` turns it off.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionCacheConfig {
    #[serde(default = "ten_thousand")]
    pub capacity: usize,
    #[serde(default = "minute", deserialize_with = "dur::deserialize")]
    pub ttl: Duration,
}

impl Default for SessionCacheConfig {
    fn default() -> Self {
        SessionCacheConfig {
            capacity: ten_thousand(),
            ttl: minute(),
        }
    }
}

fn ten_thousand() -> usize {
    10_000
}
fn minute() -> Duration {
    Duration::from_secs(60)
}

/// Branding of the built-in UI.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct UiConfig {
    #[serde(default)]
    pub product_name: Option<String>,
    #[serde(default)]
    pub logo_url: Option<String>,
    #[serde(default)]
    pub accent_color: Option<String>,
}

/// Throttling of failed sign-ins (see `ratelimit`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default = "five")]
    pub max_failures: u32,
    #[serde(default = "second", deserialize_with = "dur::deserialize")]
    pub base_delay: Duration,
    #[serde(default = "quarter_hour", deserialize_with = "dur::deserialize")]
    pub max_delay: Duration,
    #[serde(default = "quarter_hour", deserialize_with = "dur::deserialize")]
    pub window: Duration,
}

fn five() -> u32 {
    5
}
fn second() -> Duration {
    Duration::from_secs(1)
}
fn quarter_hour() -> Duration {
    Duration::from_secs(900)
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            enabled: true,
            max_failures: 5,
            base_delay: second(),
            max_delay: quarter_hour(),
            window: quarter_hour(),
        }
    }
}

impl Config {
    /// From a merged, env-overlaid document. `key_prefix` names where the document sits
    /// (`identity` inside gatehouse.yml) so errors give the full key path.
    pub fn from_value(doc: Value, key_prefix: &str, dev: bool) -> Result<Config, ConfigError> {
        let mut cfg: Config = gatehouse_core::config::deserialize(doc, key_prefix)?;
        cfg.dev = dev;
        cfg.key_prefix = key_prefix.to_string();
        validate::validate(&cfg, key_prefix)?;
        Ok(cfg)
    }

    /// `--dev` with no file: SQLite in the working directory, the built-in schema and UI.
    pub fn dev_default() -> Config {
        let mut cfg = Config {
            dsn: Some("sqlite://gatehouse.db?mode=rwc".into()),
            dev: true,
            ..Default::default()
        };
        cfg.identity.schemas = vec![SchemaEntry {
            id: "default".into(),
            url: "gatehouse:dev-schema".into(),
            selfservice_selectable: false,
        }];
        cfg.serve.public.host = "127.0.0.1".into();
        cfg.serve.admin.host = "127.0.0.1".into();
        cfg.hashers.bcrypt.cost = 8;
        cfg.selfservice.flows.registration.after.password = Some(AfterMethod {
            default_browser_return_url: None,
            hooks: vec![
                HookConfig {
                    hook: "session".into(),
                    config: Value::Null,
                },
                HookConfig {
                    hook: "show_verification_ui".into(),
                    config: Value::Null,
                },
            ],
        });
        // The whole sign-up story works out of the box; mail lands in the dev mailbox.
        cfg.selfservice.flows.verification.enabled = Some(true);
        cfg.selfservice.flows.recovery.enabled = Some(true);
        cfg
    }

    /// `serve.public.base_url`, or `http://127.0.0.1:<port>/`; always ends with `/`.
    pub fn public_base_url(&self) -> String {
        base_url(
            self.serve.public.base_url.as_deref(),
            &self.serve.public.host,
            self.serve.public.port,
        )
    }

    pub fn admin_base_url(&self) -> String {
        base_url(
            self.serve.admin.base_url.as_deref(),
            &self.serve.admin.host,
            self.serve.admin.port,
        )
    }

    /// `cookies.secure`, or secure unless in dev mode.
    pub fn cookie_secure(&self) -> bool {
        self.cookies.secure.unwrap_or(!self.dev)
    }

    /// The key paths the environment may set, with how to read their values.
    pub fn known_env_paths() -> Vec<(&'static str, Kind)> {
        use Kind::*;
        let mut v = vec![
            ("dsn", String),
            ("serve.public.host", String),
            ("serve.public.port", Integer),
            ("serve.public.base_url", String),
            ("serve.public.cors.enabled", Bool),
            ("serve.public.cors.allowed_origins", StringList),
            ("serve.admin.host", String),
            ("serve.admin.port", Integer),
            ("serve.admin.base_url", String),
            ("selfservice.default_browser_return_url", String),
            ("selfservice.allowed_return_urls", StringList),
            ("selfservice.methods.password.enabled", Bool),
            (
                "selfservice.methods.password.config.min_password_length",
                Integer,
            ),
            (
                "selfservice.methods.password.config.identifier_similarity_check_enabled",
                Bool,
            ),
            (
                "selfservice.methods.password.config.haveibeenpwned_enabled",
                Bool,
            ),
            ("selfservice.flows.registration.enabled", Bool),
            (
                "selfservice.flows.logout.after.default_browser_return_url",
                String,
            ),
            ("identity.default_schema_id", String),
            ("identity.schemas", Json),
            ("session.lifespan", String),
            ("session.earliest_possible_extend", String),
            ("session.cookie.name", String),
            ("session.cookie.domain", String),
            ("session.cookie.path", String),
            ("session.cookie.same_site", String),
            ("session.cookie.persistent", Bool),
            ("cookies.domain", String),
            ("cookies.path", String),
            ("cookies.same_site", String),
            ("cookies.secure", Bool),
            ("secrets.default", StringList),
            ("secrets.cookie", StringList),
            ("secrets.cipher", StringList),
            ("secrets.pagination", StringList),
            ("hashers.algorithm", String),
            ("hashers.bcrypt.cost", Integer),
            ("hashers.argon2.memory", String),
            ("hashers.argon2.iterations", Integer),
            ("hashers.argon2.parallelism", Integer),
            ("log.level", String),
            ("log.format", String),
            ("log.leak_sensitive_values", Bool),
        ];
        for flow in [
            "login",
            "registration",
            "settings",
            "recovery",
            "verification",
            "error",
        ] {
            v.push((leak(format!("selfservice.flows.{flow}.ui_url")), String));
            v.push((leak(format!("selfservice.flows.{flow}.lifespan")), String));
            v.push((
                leak(format!(
                    "selfservice.flows.{flow}.after.default_browser_return_url"
                )),
                String,
            ));
        }
        for flow in ["recovery", "verification"] {
            v.push((leak(format!("selfservice.flows.{flow}.enabled")), Bool));
            v.push((leak(format!("selfservice.flows.{flow}.use")), String));
        }
        v.extend(courier::env_paths().into_iter().map(|(p, k)| (leak(p), k)));
        v
    }
}

/// The table of env paths is built once at start-up; leaking its few strings is fine.
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn base_url(configured: Option<&str>, host: &str, port: u16) -> String {
    match configured {
        Some(u) if u.ends_with('/') => u.to_string(),
        Some(u) => format!("{u}/"),
        None => {
            let host = if host.is_empty() || host == "0.0.0.0" || host == "::" {
                "127.0.0.1"
            } else {
                host
            };
            format!("http://{host}:{port}/")
        }
    }
}

#[cfg(test)]
mod tests;
