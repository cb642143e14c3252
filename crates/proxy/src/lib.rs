//! The access proxy: an Ory Oathkeeper-compatible identity-aware reverse proxy and
//! decisions API. A request is matched against access rules (`rule`), run through the
//! authenticate -> authorize -> mutate pipeline (`pipeline`), then forwarded upstream
//! (`forward`, proxy port) or answered with the mutated headers (`decision`, api port).

pub mod api;
pub mod call;
pub mod config;
pub mod cors;
pub mod credentials;
pub mod decision;
pub mod forward;
pub mod lint;
pub mod pipeline;
pub mod port;
pub mod rule;
pub mod template;
pub mod upstream;

use config::Config;
use std::sync::Arc;

/// Everything a request needs: config, the live rules, clients, parsed templates.
pub struct Proxy {
    pub config: Config,
    pub rules: Arc<rule::Rules>,
    /// For session stores and remote authorizers.
    pub http: reqwest::Client,
    /// For upstreams: pooled, streaming.
    pub upstream: Arc<upstream::Upstreams>,
    pub templates: template::Templates,
    /// Services of this process that calls go to directly (all-in-one `serve`).
    pub local: Vec<call::Local>,
    cors_proxy: Option<tower_http::cors::CorsLayer>,
    cors_api: Option<tower_http::cors::CorsLayer>,
    /// Introspection results, client-credentials tokens, hydrated sessions.
    pub caches: pipeline::remote::Caches,
    /// JSON Web Key Sets by URL (jwt authenticator, id_token mutator, jwks endpoint).
    pub jwks: credentials::Fetcher,
    /// Signed id_tokens and their signing keys.
    pub id_tokens: pipeline::id_token::Cache,
}

pub type SharedProxy = Arc<Proxy>;

impl Proxy {
    /// Loads and checks the rules and sets up the clients. Errors name the rule file, the
    /// rule id and the field.
    pub async fn build(config: Config) -> Result<SharedProxy, String> {
        Proxy::build_with(config, Vec::new()).await
    }

    /// The same, with services of this process to call directly.
    pub async fn build_with(
        config: Config,
        local: Vec<call::Local>,
    ) -> Result<SharedProxy, String> {
        let strategy = strategy(&config);
        let set = rule::load(&config.access_rules.repositories, strategy).await?;
        lint::check_handlers(&config, &set)?;
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        let cors_proxy = cors::layer(&config.serve.proxy.cors, "serve.proxy.cors")?;
        let cors_api = cors::layer(&config.serve.api.cors, "serve.api.cors")?;
        let (ttl, max_wait) = jwks_timing(&config)?;
        Ok(Arc::new(Proxy {
            cors_proxy,
            cors_api,
            jwks: credentials::Fetcher::new(http.clone(), ttl, max_wait),
            id_tokens: pipeline::id_token::Cache::default(),
            rules: rule::Rules::new(set),
            upstream: upstream::Upstreams::new(upstream::IDLE_TIMEOUT)?,
            http,
            templates: template::Templates::default(),
            local,
            caches: pipeline::remote::Caches::default(),
            config,
        }))
    }

    /// Reloads the rules when a rule file changes; a broken file, or rules that fail the
    /// start-up handler checks (an unknown or disabled handler, a bad `cache.ttl`), keep the
    /// rules in use.
    pub fn watch_rules(
        self: &Arc<Self>,
        every: std::time::Duration,
    ) -> tokio::task::JoinHandle<()> {
        let repos = self.config.access_rules.repositories.clone();
        let config = self.config.clone();
        let check: rule::Check = Arc::new(move |set| lint::check_handlers(&config, set));
        self.rules
            .watch_checked(repos, strategy(&self.config), every, check)
    }
}

/// `authenticators.jwt.config.jwks_ttl` and `jwks_max_wait`, Oathkeeper's global
/// settings of the key set cache.
fn jwks_timing(config: &Config) -> Result<(std::time::Duration, std::time::Duration), String> {
    let global = config.authenticators.get("jwt").map(|j| &j.config);
    let read = |key: &str, default: std::time::Duration| match global
        .and_then(|c| c.get(key))
        .and_then(|v| v.as_str())
    {
        None | Some("") => Ok(default),
        Some(s) => gatehouse_core::duration::parse(s)
            .map_err(|e| format!("authenticators.jwt.config.{key}: {e}")),
    };
    Ok((
        read("jwks_ttl", credentials::DEFAULT_TTL)?,
        read("jwks_max_wait", credentials::DEFAULT_MAX_WAIT)?,
    ))
}

fn strategy(config: &Config) -> rule::Strategy {
    match config.access_rules.matching_strategy.as_deref() {
        Some("glob") => rule::Strategy::Glob,
        _ => rule::Strategy::Regexp,
    }
}

/// The router of the api port: decisions, rules, health, version.
pub fn api_router(px: SharedProxy) -> axum::Router {
    let cors = px.cors_api.clone();
    let router = api::router(px);
    match cors {
        Some(layer) => router.layer(layer),
        None => router,
    }
}
