//! The live rule set: one `Arc<RuleSet>` behind a lock, swapped whole on
//! reload, plus the task that reloads it when a rules file changes.
//!
//! Readers clone the `Arc` (the lock is held for that clone only) and keep
//! using their set for the whole request, so a reload never pulls rules
//! from under a request in flight.
//!
//! The watcher polls each `file://` repository's modification time and size
//! (no inotify: it works the same on every file system, bind mounts and
//! Kubernetes ConfigMap symlink swaps included). When files changed, only
//! those are re-read and compiled; the other repositories' rules (remote
//! ones too, which Oathkeeper never re-fetches) are reused from the current
//! set. A changed file that cannot be read or compiled keeps its previous
//! rules and logs an error naming it, as Oathkeeper does.

use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock, Weak};
use std::time::{Duration, SystemTime};

use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::entry::Compiler;
use super::repository::{Source, load, load_one};
use super::set::{Origin, RuleSet};
use super::types::Strategy;

/// A check a reloaded set must pass before it replaces the one in use (the config's handler
/// checks, which the rule module does not know); its error is logged.
pub type Check = Arc<dyn Fn(&RuleSet) -> Result<(), String> + Send + Sync>;

/// The rule set requests are matched against right now.
#[derive(Debug)]
pub struct Rules {
    current: RwLock<Arc<RuleSet>>,
}

impl Rules {
    pub fn new(set: RuleSet) -> Arc<Rules> {
        Arc::new(Rules {
            current: RwLock::new(Arc::new(set)),
        })
    }

    /// The set to use for one request.
    pub fn current(&self) -> Arc<RuleSet> {
        // A panic elsewhere cannot leave a half-written Arc; keep serving.
        let guard = self.current.read().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(&guard)
    }

    pub fn replace(&self, set: RuleSet) {
        let set = Arc::new(set);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = set;
    }

    /// Polls the `file://` (and plain path) entries of `repositories` every
    /// `every` and reloads changed ones. Changes made between the initial
    /// [`load`] and this call are seen only at the file's next change. The
    /// task ends when these `Rules` are dropped, or at once when no
    /// repository is a file. Must be called inside a Tokio runtime. When the
    /// repository list or strategy changes, abort the returned handle and
    /// watch again (a set that `load` did not build from exactly these
    /// repositories is reloaded whole at the next file change).
    pub fn watch(
        self: &Arc<Self>,
        repositories: Vec<String>,
        strategy: Strategy,
        every: Duration,
    ) -> JoinHandle<()> {
        self.watch_checked(repositories, strategy, every, Arc::new(|_| Ok(())))
    }

    /// [`Rules::watch`], with a reloaded set taking effect only if it passes `check`.
    pub fn watch_checked(
        self: &Arc<Self>,
        repositories: Vec<String>,
        strategy: Strategy,
        every: Duration,
        check: Check,
    ) -> JoinHandle<()> {
        let rules = Arc::downgrade(self);
        // Stamp the files now, not when the task first runs, so that every
        // change made after `watch` returns is seen.
        let mut watcher = Watcher::new(repositories, strategy, check);
        tokio::spawn(async move {
            if !watcher.files.is_empty() {
                watcher.run(rules, every).await;
            }
        })
    }
}

/// What a file looked like at the last poll; `None` when it was unreadable.
type Stamp = Option<(Option<SystemTime>, u64)>;

struct Watcher {
    repositories: Vec<String>,
    strategy: Strategy,
    check: Check,
    /// (repository index, path, last stamp) for every file repository.
    files: Vec<(usize, PathBuf, Stamp)>,
}

impl Watcher {
    /// Stats the files synchronously: once, at startup, a few syscalls.
    fn new(repositories: Vec<String>, strategy: Strategy, check: Check) -> Watcher {
        let mut files = Vec::new();
        for (i, repository) in repositories.iter().enumerate() {
            if let Source::File(path) = Source::parse(repository) {
                let stamp = std::fs::metadata(&path).ok().map(stamp_of);
                files.push((i, path, stamp));
            }
        }
        Watcher {
            repositories,
            strategy,
            check,
            files,
        }
    }

    async fn run(&mut self, rules: Weak<Rules>, every: Duration) {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        ticker.tick().await; // the first tick is immediate
        loop {
            ticker.tick().await;
            let Some(rules) = rules.upgrade() else { return };
            let changed = self.changed().await;
            if !changed.is_empty() {
                self.reload(&rules, &changed).await;
            }
        }
    }

    /// Indexes of the repositories whose file changed since the last poll.
    async fn changed(&mut self) -> Vec<usize> {
        let mut changed = Vec::new();
        for (i, path, last) in &mut self.files {
            let now = stamp(path).await;
            if now != *last {
                *last = now;
                changed.push(*i);
            }
        }
        changed
    }

    async fn reload(&self, rules: &Rules, changed: &[usize]) {
        let current = rules.current();
        let layout = current.origins().iter().map(|o| &o.repository);
        if current.strategy() != self.strategy || !layout.eq(self.repositories.iter()) {
            // Not a set `load` built from these repositories: load them all.
            match load(&self.repositories, self.strategy).await {
                Ok(set) => self.accept(rules, set),
                Err(e) => tracing::error!("cannot reload access rules, keeping the old ones: {e}"),
            }
            return;
        }
        if let Some(set) = self.rebuild(&current, changed).await {
            self.accept(rules, set);
        }
    }

    /// Puts `set` in use if it passes the check; otherwise the rules in use stay.
    fn accept(&self, rules: &Rules, set: RuleSet) {
        match (self.check)(&set) {
            Ok(()) => rules.replace(set),
            Err(e) => tracing::error!("reloaded access rules rejected, keeping the old ones: {e}"),
        }
    }

    /// `current` with the changed repositories re-read; `None` if none of
    /// them could be.
    async fn rebuild(&self, current: &RuleSet, changed: &[usize]) -> Option<RuleSet> {
        let mut compiler = Compiler::new(self.strategy);
        let mut entries = Vec::new();
        let mut origins = Vec::new();
        let mut reloaded = false;
        for (i, origin) in current.origins().iter().enumerate() {
            let start = entries.len();
            let previous = &current.entries()[origin.rules.clone()];
            if !changed.contains(&i) {
                entries.extend_from_slice(previous);
            } else {
                match load_one(&origin.repository, &mut compiler).await {
                    Ok(fresh) => {
                        tracing::info!(rules = fresh.len(), "reloaded {}", origin.repository);
                        entries.extend(fresh);
                        reloaded = true;
                    }
                    Err(e) => {
                        tracing::error!("{e}; keeping the previous rules of this file");
                        entries.extend_from_slice(previous);
                    }
                }
            }
            origins.push(Origin {
                repository: origin.repository.clone(),
                rules: start..entries.len(),
            });
        }
        reloaded.then(|| RuleSet::build(entries, self.strategy, origins))
    }
}

async fn stamp(path: &Path) -> Stamp {
    tokio::fs::metadata(path).await.ok().map(stamp_of)
}

fn stamp_of(meta: std::fs::Metadata) -> (Option<SystemTime>, u64) {
    (meta.modified().ok(), meta.len())
}

#[cfg(test)]
mod tests;
