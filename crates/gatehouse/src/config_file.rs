//! Reading config files: Ory's own (`kratos.yml`) for a single service, or `gatehouse.yml`
//! whose `identity:` key holds a Kratos config, then the environment overlay.

use anyhow::Context;
use gatehouse_core::config::{apply_env, read_documents};
use gatehouse_identity::config::Config as IdentityConfig;
use serde_json::{Map, Value};
use std::path::PathBuf;

/// A Kratos config file, with Kratos's environment variables (`DSN`, `SERVE_PUBLIC_PORT`...).
pub fn load_identity(files: &[PathBuf], dev: bool) -> anyhow::Result<IdentityConfig> {
    if files.is_empty() && dev {
        return Ok(IdentityConfig::dev_default());
    }
    if files.is_empty() {
        anyhow::bail!("no config file given: use -c kratos.yml, or --dev to start with defaults");
    }
    let mut doc = read_documents(files)?;
    apply_env(
        &mut doc,
        "",
        &IdentityConfig::known_env_paths(),
        std::env::vars(),
    )?;
    Ok(IdentityConfig::from_value(doc, "", dev)?)
}

/// What `gatehouse serve` runs: the identity service, and the proxy when `proxy:` is set.
pub struct AllInOne {
    pub identity: IdentityConfig,
    pub proxy: Option<gatehouse_proxy::config::Config>,
    pub permissions: Option<gatehouse_permissions::config::Config>,
}

/// `gatehouse.yml`: the `identity:` key is a Kratos config, `proxy:` an Oathkeeper config;
/// environment variables for them carry the `IDENTITY_` and `PROXY_` prefixes
/// (`IDENTITY_DSN`, `PROXY_SERVE_PROXY_PORT`), and a plain `DSN` applies when identity has
/// none.
pub fn load_all_in_one(files: &[PathBuf], dev: bool) -> anyhow::Result<AllInOne> {
    if files.is_empty() && dev {
        return Ok(AllInOne {
            identity: IdentityConfig::dev_default(),
            proxy: None,
            permissions: None,
        });
    }
    if files.is_empty() {
        anyhow::bail!(
            "no config file given: use -c gatehouse.yml, or --dev to start with defaults"
        );
    }
    let doc = read_documents(files)?;
    let Value::Object(mut top) = doc else {
        anyhow::bail!("gatehouse.yml must be a mapping")
    };
    for key in top.keys() {
        if !["identity", "proxy", "permissions", "dsn"].contains(&key.as_str()) {
            anyhow::bail!(
                "config key `{key}`: unknown; gatehouse.yml has the keys identity, proxy, permissions and dsn"
            );
        }
    }
    let shared_dsn = top.remove("dsn");
    let permissions = match top.remove("permissions") {
        None | Some(Value::Null) => None,
        Some(mut doc) => {
            if doc.get("dsn").is_none()
                && let (Some(d), Value::Object(m)) = (shared_dsn.clone(), &mut doc)
            {
                m.insert("dsn".into(), d);
            }
            apply_env(
                &mut doc,
                "PERMISSIONS_",
                &gatehouse_permissions::config::Config::known_env_paths(),
                std::env::vars(),
            )?;
            Some(gatehouse_permissions::config::Config::from_value(
                doc,
                "permissions",
            )?)
        }
    };
    let proxy = match top.remove("proxy") {
        None | Some(Value::Null) => None,
        Some(mut doc) => {
            apply_env(
                &mut doc,
                "PROXY_",
                &gatehouse_proxy::config::Config::known_env_paths(),
                std::env::vars(),
            )?;
            Some(gatehouse_proxy::config::Config::from_value(doc, "proxy")?)
        }
    };
    let mut identity = top
        .remove("identity")
        .unwrap_or_else(|| Value::Object(Map::new()));
    if identity.get("dsn").is_none()
        && let (Some(d), Value::Object(m)) = (shared_dsn, &mut identity)
    {
        m.insert("dsn".into(), d);
    }
    apply_env(
        &mut identity,
        "IDENTITY_",
        &IdentityConfig::known_env_paths(),
        std::env::vars(),
    )?;
    if identity.get("dsn").is_none()
        && let (Ok(d), Value::Object(m)) = (std::env::var("DSN"), &mut identity)
    {
        m.insert("dsn".into(), Value::String(d));
    }
    let identity =
        IdentityConfig::from_value(identity, "identity", dev).context("invalid configuration")?;
    Ok(AllInOne {
        identity,
        proxy,
        permissions,
    })
}
