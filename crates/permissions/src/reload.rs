//! Keto applies a changed namespace setup without a restart: an edited OPL model given as
//! `file://` (a file or a directory), and, when the config file changes, a new namespace
//! list or model location. gatehouse does too. Once a second the config (when the server
//! was started from files) and a `file://` model are read again and compared with what is
//! in force: polling also sees a Kubernetes ConfigMap update (a symlink swapped under the
//! path), which file events can miss, and these files are a few kilobytes.
//!
//! A change with errors is logged once (with file, line and column for OPL) and the
//! namespaces in force stay; so they do while a file cannot be read. Other settings of the
//! config take effect at the next start, as before. A `base64://` or `http(s)://` model is
//! read again only when the config names another location.

use crate::SharedPermissions;
use crate::config::{Config, NamespaceSource};
use crate::namespaces::Namespaces;
use crate::opl_source::OplSource;
use std::sync::Arc;
use std::time::Duration;

const EVERY: Duration = Duration::from_secs(1);

/// Reads the config again (from the files the server started with, and the environment).
pub type Reread = Arc<dyn Fn() -> Result<Config, String> + Send + Sync>;

/// What the namespaces in force were made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Loaded {
    Names(Vec<String>),
    Model { location: String, source: OplSource },
}

impl Loaded {
    pub(crate) fn parse(&self) -> Result<Namespaces, String> {
        match self {
            Loaded::Names(names) => Ok(Namespaces::from_names(names.clone())),
            Loaded::Model { source, .. } => source.parse(),
        }
    }

    fn is_local_model(&self) -> bool {
        matches!(self, Loaded::Model { location, .. } if location.starts_with("file://"))
    }
}

/// Watches for as long as the service lives, when anything can change: a `file://` model,
/// or a config that can be read again.
pub fn watch(p: &SharedPermissions, loaded: Loaded, reread: Option<Reread>) {
    if reread.is_none() && !loaded.is_local_model() {
        return;
    }
    let service = Arc::downgrade(p);
    tokio::spawn(async move {
        let mut state = State {
            loaded,
            complaint: None,
        };
        loop {
            tokio::time::sleep(EVERY).await;
            let Some(p) = service.upgrade() else {
                return;
            };
            match state.read_again(reread.as_ref()).await {
                Ok(Some(now)) => state.apply(&p, now),
                Ok(None) => state.complaint = None,
                Err(e) => {
                    state.complain(format!("{e}; the namespaces loaded before stay in force"))
                }
            }
        }
    });
}

struct State {
    /// What was last looked at, taken or refused.
    loaded: Loaded,
    /// The last problem logged, so that a file that stays broken is reported once.
    complaint: Option<String>,
}

impl State {
    /// What the namespaces would be made from now; `None` when nothing changed.
    async fn read_again(&self, reread: Option<&Reread>) -> Result<Option<Loaded>, String> {
        let spec = match reread {
            Some(reread) => reread()?.namespace_source("").map_err(|e| e.to_string())?,
            None => match &self.loaded {
                Loaded::Names(names) => NamespaceSource::Names(names.clone()),
                Loaded::Model { location, .. } => NamespaceSource::Opl(location.clone()),
            },
        };
        let now = match spec {
            NamespaceSource::Names(names) => Loaded::Names(names),
            NamespaceSource::Opl(location) => {
                let unchanged_remote = !location.starts_with("file://")
                    && matches!(&self.loaded, Loaded::Model { location: l, .. } if *l == location);
                if unchanged_remote {
                    return Ok(None);
                }
                let source = OplSource::read(&location).await?;
                Loaded::Model { location, source }
            }
        };
        Ok((now != self.loaded).then_some(now))
    }

    fn apply(&mut self, p: &SharedPermissions, now: Loaded) {
        match now.parse() {
            Ok(namespaces) => {
                tracing::info!(
                    namespaces = namespaces.names().len(),
                    "the namespaces changed and are in force"
                );
                p.namespaces.set(namespaces);
                self.complaint = None;
            }
            Err(e) => self.complain(format!(
                "{e}\nthe namespaces loaded before stay in force until this is fixed"
            )),
        }
        self.loaded = now;
    }

    fn complain(&mut self, message: String) {
        if self.complaint.as_ref() != Some(&message) {
            tracing::error!("{message}");
            self.complaint = Some(message);
        }
    }
}
