//! Keto reloads an OPL file given as `file://` when it changes, so an edited model applies
//! without a restart; gatehouse does too. The file is read once a second and compared with
//! what was loaded: polling also sees a Kubernetes ConfigMap update (a symlink swapped
//! under the path), which file events can miss, and an OPL file is a few kilobytes.
//!
//! A changed file with errors is logged with line and column, and the namespaces in force
//! stay; so they do while the file cannot be read. Other locations (`base64://`,
//! `http(s)://`) are read once, at start-up.

use crate::SharedPermissions;
use std::sync::Arc;
use std::time::Duration;

const EVERY: Duration = Duration::from_secs(1);

/// Watches `location` for as long as the service lives. `loaded` is what it held at start.
pub fn watch(p: &SharedPermissions, location: String, loaded: Vec<u8>) {
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
            let read = tokio::fs::read(&path).await;
            state.look(&p, &location, read);
        }
    });
}

struct State {
    /// The bytes last looked at, loaded or refused.
    loaded: Vec<u8>,
    /// The last problem logged, so that a file that stays broken is reported once.
    complaint: Option<String>,
}

impl State {
    fn look(&mut self, p: &SharedPermissions, location: &str, read: std::io::Result<Vec<u8>>) {
        let bytes = match read {
            Ok(bytes) => bytes,
            Err(e) => {
                return self.complain(format!(
                    "namespaces.location: cannot read {location} ({e}); the namespaces \
                     loaded before stay in force"
                ));
            }
        };
        if bytes == self.loaded {
            self.complaint = None;
            return;
        }
        match crate::parse_opl(location, &bytes) {
            Ok(namespaces) => {
                tracing::info!(
                    location,
                    namespaces = namespaces.names().len(),
                    "the OPL file changed; its namespaces are in force"
                );
                p.namespaces.set(namespaces);
                self.complaint = None;
            }
            Err(e) => self.complain(format!(
                "{e}\nthe namespaces loaded before stay in force until the file is fixed"
            )),
        }
        self.loaded = bytes;
    }

    fn complain(&mut self, message: String) {
        if self.complaint.as_ref() != Some(&message) {
            tracing::error!("{message}");
            self.complaint = Some(message);
        }
    }
}
