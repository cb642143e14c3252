//! Keto reloads an OPL model given as `file://` (a file or a directory) when it changes, so
//! an edited model applies without a restart; gatehouse does too. The location is read once
//! a second and compared with what was loaded: polling also sees a Kubernetes ConfigMap
//! update (a symlink swapped under the path), which file events can miss, and OPL files
//! are a few kilobytes.
//!
//! A changed model with errors is logged with file, line and column, and the namespaces in
//! force stay; so they do while the location cannot be read. Other locations (`base64://`,
//! `http(s)://`) are read once, at start-up.

use crate::SharedPermissions;
use crate::opl_source::OplSource;
use std::sync::Arc;
use std::time::Duration;

const EVERY: Duration = Duration::from_secs(1);

/// Watches `location` for as long as the service lives. `loaded` is what it held at start.
pub fn watch(p: &SharedPermissions, location: String, loaded: OplSource) {
    let Some(path) = location.strip_prefix("file://").map(str::to_string) else {
        return;
    };
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
            let read = OplSource::read_local(&path).await;
            state.look(&p, read);
        }
    });
}

struct State {
    /// The files last looked at, loaded or refused.
    loaded: OplSource,
    /// The last problem logged, so that a file that stays broken is reported once.
    complaint: Option<String>,
}

impl State {
    fn look(&mut self, p: &SharedPermissions, read: Result<OplSource, String>) {
        let source = match read {
            Ok(source) => source,
            Err(e) => {
                return self.complain(format!("{e}; the namespaces loaded before stay in force"));
            }
        };
        if source == self.loaded {
            self.complaint = None;
            return;
        }
        match source.parse() {
            Ok(namespaces) => {
                tracing::info!(
                    namespaces = namespaces.names().len(),
                    "the OPL model changed; its namespaces are in force"
                );
                p.namespaces.set(namespaces);
                self.complaint = None;
            }
            Err(e) => self.complain(format!(
                "{e}\nthe namespaces loaded before stay in force until the model is fixed"
            )),
        }
        self.loaded = source;
    }

    fn complain(&mut self, message: String) {
        if self.complaint.as_ref() != Some(&message) {
            tracing::error!("{message}");
            self.complaint = Some(message);
        }
    }
}
