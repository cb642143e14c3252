//! `gatehouse proxy ...`: the access proxy alone, with Oathkeeper's config file, and the
//! rule checker.

use crate::serve::{Listener, shutdown_signal};
use anyhow::Context;
use clap::Subcommand;
use gatehouse_core::config::{apply_env, read_documents};
use gatehouse_proxy::config::Config;
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum ProxyCommand {
    /// Serve the proxy (4455) and its api (4456) with an Oathkeeper config file.
    Serve {
        /// Config file (YAML or JSON); repeat to merge several, later ones win.
        #[arg(short = 'c', long = "config")]
        config: Vec<PathBuf>,
        /// Accepted for compatibility with Oathkeeper's `serve` (gatehouse never sends
        /// telemetry).
        #[arg(long = "sqa-opt-out", hide = true)]
        sqa_opt_out: bool,
    },
    /// Access rules.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Signing keys for the id_token mutator (and test keys for the jwt authenticator).
    Credentials {
        #[command(subcommand)]
        command: CredentialsCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum CredentialsCommand {
    /// Print a JSON Web Key Set holding one new private key, like
    /// `oathkeeper credentials generate`: `gatehouse proxy credentials generate --alg RS256 > jwks.json`.
    Generate {
        /// RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA, HS256, HS384 or HS512.
        #[arg(long)]
        alg: String,
        /// The key id; a random UUID when not given.
        #[arg(long)]
        kid: Option<String>,
        /// Key size in bits (RSA: default 4096; HMAC: default the hash size).
        #[arg(long)]
        bits: Option<usize>,
    },
}

#[derive(Subcommand, Debug)]
pub enum RulesCommand {
    /// Check rule files: syntax, handlers (against the config when given), and header
    /// templates that would send a whole object or nothing.
    Validate {
        /// Rule files (JSON or YAML arrays of rules).
        files: Vec<PathBuf>,
        /// The proxy config the rules run under (handlers, matching strategy).
        #[arg(short = 'c', long = "config")]
        config: Vec<PathBuf>,
    },
}

pub async fn run(command: ProxyCommand) -> anyhow::Result<()> {
    match command {
        ProxyCommand::Serve { config, .. } => serve(load(&config)?).await,
        ProxyCommand::Rules {
            command: RulesCommand::Validate { files, config },
        } => validate(files, config).await,
        ProxyCommand::Credentials {
            command: CredentialsCommand::Generate { alg, kid, bits },
        } => {
            let set = gatehouse_proxy::credentials::generate(&alg, kid.as_deref(), bits)
                .map_err(anyhow::Error::msg)
                .context("unable to generate a key")?;
            println!("{}", serde_json::to_string_pretty(&set)?);
            Ok(())
        }
    }
}

/// An Oathkeeper config file with Oathkeeper's environment variables.
pub fn load(files: &[PathBuf]) -> anyhow::Result<Config> {
    if files.is_empty() {
        anyhow::bail!("no config file given: use -c oathkeeper.yml");
    }
    let mut doc = read_documents(files)?;
    apply_env(&mut doc, "", &Config::known_env_paths(), std::env::vars())?;
    Ok(Config::from_value(doc, "")?)
}

async fn serve(cfg: Config) -> anyhow::Result<()> {
    let stop = shutdown_signal();
    let (px, listeners) = build(cfg, Vec::new()).await?;
    let watcher = px.watch_rules(std::time::Duration::from_secs(1));
    crate::serve::serve_until(listeners, stop, async {}).await;
    watcher.abort();
    Ok(())
}

/// The proxy and its two listeners; rule warnings are logged.
pub async fn build(
    cfg: Config,
    local: Vec<gatehouse_proxy::call::Local>,
) -> anyhow::Result<(gatehouse_proxy::SharedProxy, Vec<Listener>)> {
    let proxy_addr = cfg.serve.proxy.addr();
    let api_addr = cfg.serve.api.addr();
    let px = gatehouse_proxy::Proxy::build_with(cfg, local)
        .await
        .map_err(anyhow::Error::msg)
        .context("invalid access rules")?;
    for w in gatehouse_proxy::lint::header_warnings(&px.config, &px.rules.current()) {
        tracing::warn!("{w}");
    }
    tracing::info!(rules = px.rules.current().len(), "access rules loaded");
    let listeners = vec![
        Listener::bind(&proxy_addr, "proxy", crate::serve::App::Proxy(px.clone())).await?,
        Listener::bind(
            &api_addr,
            "proxy api",
            gatehouse_proxy::api_router(px.clone()),
        )
        .await?,
    ];
    Ok((px, listeners))
}

async fn validate(files: Vec<PathBuf>, config: Vec<PathBuf>) -> anyhow::Result<()> {
    if files.is_empty() {
        anyhow::bail!("name at least one rule file");
    }
    let mut cfg = if config.is_empty() {
        Config::default()
    } else {
        load(&config)?
    };
    cfg.access_rules.repositories = files
        .iter()
        .map(|f| {
            format!(
                "file://{}",
                std::path::absolute(f).unwrap_or(f.clone()).display()
            )
        })
        .collect();
    let strategy = match cfg.access_rules.matching_strategy.as_deref() {
        Some("glob") => gatehouse_proxy::rule::Strategy::Glob,
        _ => gatehouse_proxy::rule::Strategy::Regexp,
    };
    let set = gatehouse_proxy::rule::load(&cfg.access_rules.repositories, strategy)
        .await
        .map_err(anyhow::Error::msg)?;
    if !config.is_empty() {
        gatehouse_proxy::lint::check_handlers(&cfg, &set).map_err(anyhow::Error::msg)?;
    }
    let warnings = gatehouse_proxy::lint::header_warnings(&cfg, &set);
    for w in &warnings {
        println!("warning: {w}");
    }
    println!(
        "{} rule(s) are valid{}",
        set.len(),
        if warnings.is_empty() {
            ""
        } else {
            " (see the warnings above)"
        }
    );
    Ok(())
}
