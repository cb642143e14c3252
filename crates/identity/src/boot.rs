//! Turning a config into a running service: settings resolved with every default, the
//! database connected and migrated, schemas and courier templates loaded, hashing pool and
//! limiter set up.

use crate::config::{After, Config, HashAlgorithm, HookConfig, SameSite};
use crate::courier::Courier;
use crate::credential::hash::{HashPool, Hasher};
use crate::ratelimit::{FailureLimiter, RateLimitConfig};
use crate::schema::SchemaRegistry;
use crate::service::{Service, SharedService};
use crate::settings::{CodeFlowSettings, CookieSettings, FlowSettings, PasswordSettings, Settings};
use crate::store::SqlStore;
use crate::store::cache::CacheLimits;
use gatehouse_core::Clock;
use gatehouse_store::Db;
use std::sync::Arc;

/// Connects to `dsn` and applies the identity migrations; returns the versions applied.
pub async fn migrate(dsn: &str) -> Result<Vec<i64>, String> {
    let db = Db::connect(dsn).await.map_err(|e| e.to_string())?;
    let applied = SqlStore::new(db.clone())
        .migrate()
        .await
        .map_err(|e| e.to_string());
    db.close().await;
    applied
}

/// Builds the service. The database is migrated on start (SQLite and PostgreSQL alike), so
/// `serve` works on an empty database; `migrate sql` exists for deployments that migrate
/// in a separate job first.
pub async fn build(cfg: Config) -> Result<SharedService, String> {
    let jsonnet = gatehouse_jsonnet::Runner::in_process(gatehouse_jsonnet::Limits::default());
    build_with(cfg, jsonnet).await
}

/// Like [`build`], with the Jsonnet runner to use: the binary runs Jsonnet in a bounded
/// child process; tests and embedders may evaluate in-process.
pub async fn build_with(
    cfg: Config,
    jsonnet: gatehouse_jsonnet::Runner,
) -> Result<SharedService, String> {
    let settings = resolve(&cfg);
    let dsn = cfg.dsn.clone().ok_or("config key `dsn`: required")?;
    let db = Db::connect(&dsn)
        .await
        .map_err(|e| format!("cannot open the database: {e}"))?;
    let mut store = SqlStore::new(db);
    store
        .migrate()
        .await
        .map_err(|e| format!("cannot migrate the database: {e}"))?;
    let sc = &cfg.gatehouse.session_cache;
    let limits = CacheLimits {
        capacity: sc.capacity,
        ttl: sc.ttl,
    };
    if let Err(e) = store.enable_cache(limits).await {
        tracing::warn!("whoami cache off: {e}");
    }
    let schemas = load_schemas(&cfg).await?;
    let clock = Clock::system();
    let courier = Courier::new(&cfg, store.clone(), clock.clone()).await?;
    let hooks = crate::hook::WebHooks::load(&cfg, &cfg.key_prefix).await?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot build the HTTP client for web hooks: {e}"))?;
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let hashes = HashPool::new(hasher(&cfg), cpus);
    let rl = &cfg.gatehouse.rate_limit;
    let limiter = FailureLimiter::new(RateLimitConfig {
        enabled: rl.enabled,
        max_failures: rl.max_failures,
        base_delay: rl.base_delay,
        max_delay: rl.max_delay,
        window: rl.window,
    });
    let ui = &cfg.gatehouse.ui;
    let mut branding = gatehouse_ui::Branding::default();
    if let Some(n) = &ui.product_name {
        branding.product_name = n.clone();
    }
    branding.logo_url = ui.logo_url.clone();
    branding.recovery_link = settings.recovery.enabled;
    if let Some(c) = &ui.accent_color {
        branding.accent_color = c.clone();
    }
    if cfg.dev && cfg.secrets.default.is_empty() && cfg.secrets.cookie.is_empty() {
        tracing::warn!(
            "dev mode: generated random secrets; sessions survive restarts but logout links do not"
        );
    }
    Ok(Arc::new(Service {
        settings,
        store,
        schemas,
        hashes,
        limiter,
        clock,
        branding,
        courier,
        hooks,
        jsonnet,
        http,
        hook_timeout: cfg.gatehouse.web_hook_timeout,
    }))
}

async fn load_schemas(cfg: &Config) -> Result<SchemaRegistry, String> {
    if cfg
        .identity
        .schemas
        .iter()
        .all(|s| s.url.starts_with("gatehouse:"))
    {
        return SchemaRegistry::dev_default();
    }
    let entries: Vec<(String, String)> = cfg
        .identity
        .schemas
        .iter()
        .map(|s| (s.id.clone(), s.url.clone()))
        .collect();
    SchemaRegistry::load(&entries, &cfg.identity.default_schema_id).await
}

fn hasher(cfg: &Config) -> Hasher {
    match cfg.hashers.algorithm {
        HashAlgorithm::Bcrypt => Hasher::Bcrypt {
            cost: cfg.hashers.bcrypt.cost,
        },
        HashAlgorithm::Argon2 => {
            let a = &cfg.hashers.argon2;
            Hasher::Argon2 {
                memory_kib: (a.memory.0 / 1024).clamp(8, u64::from(u32::MAX)) as u32,
                iterations: a.iterations,
                parallelism: a.parallelism,
                salt_length: a.salt_length,
                key_length: a.key_length,
            }
        }
    }
}

/// The hooks that run after `method` in a flow: per-method hooks replace the generic list
/// when set (Kratos does not merge them).
pub(crate) fn method_hooks<'a>(after: &'a After, method: &str) -> &'a [HookConfig] {
    let per_method = match method {
        "password" => after.password.as_ref(),
        "profile" => after.profile.as_ref(),
        "code" => after.code.as_ref(),
        _ => None,
    };
    match per_method {
        Some(m) if !m.hooks.is_empty() => &m.hooks,
        _ => &after.hooks,
    }
}

/// Whether the `session` hook runs after password registration.
fn issues_session(cfg: &Config) -> bool {
    method_hooks(&cfg.selfservice.flows.registration.after, "password")
        .iter()
        .any(|h| h.hook == "session")
}

/// The runtime settings, with the built-in UI as the default for every unset `ui_url`.
pub fn resolve(cfg: &Config) -> Settings {
    let public = cfg.public_base_url();
    let admin = cfg.admin_base_url();
    let mut s = Settings::for_dev(&public, &admin);
    let f = &cfg.selfservice.flows;
    let ui = |set: &Option<String>, page: &str| {
        set.clone()
            .unwrap_or_else(|| format!("{}ui/{page}", s.public_base_url))
    };
    s.dev = cfg.dev;
    s.login = FlowSettings {
        ui_url: ui(&f.login.ui_url, "login"),
        lifespan: f.login.lifespan,
        after_return_url: f.login.after.default_browser_return_url.clone(),
    };
    s.registration = FlowSettings {
        ui_url: ui(&f.registration.ui_url, "registration"),
        lifespan: f.registration.lifespan,
        after_return_url: f.registration.after.default_browser_return_url.clone(),
    };
    s.registration_enabled = f.registration.enabled.unwrap_or(true);
    s.registration_issues_session = if cfg.dev
        && cfg
            .identity
            .schemas
            .iter()
            .all(|x| x.url.starts_with("gatehouse:"))
    {
        true
    } else {
        issues_session(cfg)
    };
    s.settings_flow = FlowSettings {
        ui_url: ui(&f.settings.ui_url, "settings"),
        lifespan: f.settings.lifespan,
        after_return_url: f.settings.after.default_browser_return_url.clone(),
    };
    s.privileged_session_max_age = f.settings.privileged_session_max_age;
    let has = |after: &crate::config::After, method: &str, hook: &str| {
        method_hooks(after, method).iter().any(|h| h.hook == hook)
    };
    s.settings_password_revokes_sessions =
        has(&f.settings.after, "password", "revoke_active_sessions");
    s.settings_profile_revokes_sessions =
        has(&f.settings.after, "profile", "revoke_active_sessions");
    s.settings_shows_verification_ui = has(&f.settings.after, "profile", "show_verification_ui");
    s.login_revokes_sessions = has(&f.login.after, "password", "revoke_active_sessions");
    let code_flow = |flow: &crate::config::Flow, page: &str| CodeFlowSettings {
        enabled: flow.enabled.unwrap_or(false),
        flow: FlowSettings {
            ui_url: ui(&flow.ui_url, page),
            lifespan: flow.lifespan,
            after_return_url: flow.after.default_browser_return_url.clone(),
        },
        use_link: flow.use_.as_deref() == Some("link"),
        notify_unknown_recipients: flow.notify_unknown_recipients.unwrap_or(false),
    };
    s.recovery = code_flow(&f.recovery, "recovery");
    s.verification = code_flow(&f.verification, "verification");
    s.link_lifespan = cfg.selfservice.methods.link.config.lifespan;
    s.registration_shows_verification_ui = method_hooks(&f.registration.after, "password")
        .iter()
        .any(|h| h.hook == "show_verification_ui");
    s.recovery_revokes_sessions = f
        .recovery
        .after
        .hooks
        .iter()
        .any(|h| h.hook == "revoke_active_sessions");
    s.login_requires_verified_address = method_hooks(&f.login.after, "password")
        .iter()
        .any(|h| h.hook == "require_verified_address");
    s.error_ui_url = ui(&f.error.ui_url, "error");
    s.default_return_url = cfg
        .selfservice
        .default_browser_return_url
        .clone()
        .unwrap_or_else(|| format!("{}ui/welcome", s.public_base_url));
    s.allowed_return_urls = cfg.selfservice.allowed_return_urls.clone();
    s.logout_return_url = f
        .logout
        .after
        .default_browser_return_url
        .clone()
        .or(s.logout_return_url.take());
    s.session_lifespan = cfg.session.lifespan;
    s.earliest_possible_extend = cfg
        .session
        .earliest_possible_extend
        .unwrap_or(cfg.session.lifespan);
    let same_site = cfg
        .session
        .cookie
        .same_site
        .unwrap_or(cfg.cookies.same_site);
    s.cookies = CookieSettings {
        session_name: cfg.session.cookie.name.clone(),
        csrf_name: Settings::csrf_cookie_name(&s.public_base_url),
        domain: cfg
            .session
            .cookie
            .domain
            .clone()
            .or_else(|| cfg.cookies.domain.clone()),
        path: cfg
            .session
            .cookie
            .path
            .clone()
            .unwrap_or_else(|| cfg.cookies.path.clone()),
        same_site: match same_site {
            SameSite::Strict => "Strict",
            SameSite::Lax => "Lax",
            SameSite::None => "None",
        }
        .into(),
        secure: cfg.cookie_secure(),
        persistent: cfg.session.cookie.persistent,
    };
    let p = &cfg.selfservice.methods.password;
    s.password = PasswordSettings {
        enabled: p.enabled,
        min_length: p.config.min_password_length,
        similarity_check: p.config.identifier_similarity_check_enabled,
    };
    let secrets: Vec<String> = if !cfg.secrets.cookie.is_empty() {
        cfg.secrets.cookie.clone()
    } else {
        cfg.secrets.default.clone()
    };
    if !secrets.is_empty() {
        s.secrets = secrets;
    }
    s.cors = cfg.serve.public.cors.clone();
    s
}
