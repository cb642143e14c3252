//! The permissions service: a Keto-compatible relationship server. Relation tuples live in
//! SQL (`store`); namespaces come from a list or an OPL file (`opl`, `namespaces`); checks
//! and expands walk Zanzibar's rewrites (`engine`); the read, write and OPL ports speak
//! Keto's REST API (`api`).

pub mod api;
mod batch;
pub mod config;
pub mod engine;
pub mod namespaces;
pub mod opl;
pub mod opl_source;
pub mod reload;
pub mod reverse;
pub mod store;
pub mod tuple;

use config::{Config, NamespaceSource};
use namespaces::Namespaces;
use std::sync::Arc;
use store::TupleStore;

/// Everything a request needs.
pub struct Permissions {
    pub config: Config,
    pub store: TupleStore,
    pub namespaces: namespaces::Current,
    /// Request counts for the metrics port.
    pub metrics: api::metrics::SharedMetrics,
}

pub type SharedPermissions = Arc<Permissions>;

impl Permissions {
    /// Connects, migrates, and loads the namespaces. An OPL file with errors stops
    /// start-up with each error's line and column; a `file://` one is reloaded when it
    /// changes (`reload`).
    pub async fn build(config: Config) -> Result<SharedPermissions, String> {
        Self::build_with(config, None).await
    }

    /// [`build`](Self::build), and with `reread` the namespaces follow the config file too:
    /// a new list or model location is applied without a restart, as in Keto.
    pub async fn build_with(
        config: Config,
        reread: Option<reload::Reread>,
    ) -> Result<SharedPermissions, String> {
        let (namespaces, loaded) = read_namespaces(&config).await?;
        let dsn = config.dsn.clone().unwrap_or_default();
        let db = gatehouse_store::Db::connect(&dsn)
            .await
            .map_err(|e| format!("database: {e}"))?;
        let store = TupleStore::new(db);
        store
            .migrate()
            .await
            .map_err(|e| format!("migrations: {e}"))?;
        let p = Arc::new(Permissions {
            config,
            store,
            namespaces: namespaces::Current::new(namespaces),
            metrics: Default::default(),
        });
        reload::watch(&p, loaded, reread);
        Ok(p)
    }

    pub fn engine(&self) -> engine::Engine<'_> {
        let mut engine = engine::Engine::new(
            &self.store,
            self.namespaces.get(),
            self.config.limit.max_read_width,
        );
        engine.max_candidates = self.config.limit.max_lookup_candidates;
        engine
    }

    /// `max-depth` as Keto takes it: absent, zero or above the configured limit means the
    /// limit.
    pub fn depth(&self, asked: Option<u32>) -> u32 {
        let max = self.config.limit.max_read_depth;
        match asked {
            Some(d) if d > 0 && d <= max => d,
            _ => max,
        }
    }
}

/// Reads the namespaces the config points to.
pub async fn load_namespaces(config: &Config) -> Result<Namespaces, String> {
    read_namespaces(config)
        .await
        .map(|(namespaces, _)| namespaces)
}

/// The namespaces, and what they were made from.
async fn read_namespaces(config: &Config) -> Result<(Namespaces, reload::Loaded), String> {
    let loaded = match config.namespace_source("").map_err(|e| e.to_string())? {
        NamespaceSource::Names(names) => reload::Loaded::Names(names),
        NamespaceSource::Opl(location) => {
            let source = opl_source::OplSource::read(&location).await?;
            reload::Loaded::Model { location, source }
        }
    };
    Ok((loaded.parse()?, loaded))
}
