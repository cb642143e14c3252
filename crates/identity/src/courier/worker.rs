//! The dispatch worker: pulls due messages, sends them, and records the outcome.
//!
//! Each pull claims up to `courier.worker.pull_count` messages for a lease (see
//! `store::courier`). Before each send the claim is renewed and the attempt counted; a send
//! is bounded by [`SEND_TIMEOUT`], well inside the lease, so a claim never lapses while its
//! message is in flight and no two workers send the same message. A process that dies
//! mid-send leaves its claims to lapse; the message is then pulled again (counted as a
//! failed attempt, since nobody knows whether it went out). A failed send is retried after
//! `retry_base_delay`, doubling per attempt up to `retry_max_delay`; after
//! `courier.message_retries` retries the message is abandoned.
//!
//! Shutdown lets the send in flight finish, puts the rest of the pull back in the queue,
//! and stops.

use super::Courier;
use super::delivery::Delivery;
use super::message::{Message, dispatch_error};
use crate::store::{AfterFailure, SqlStore};
use gatehouse_core::Clock;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

/// The longest one delivery attempt may take.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a claim holds; longer than a send may take.
const LEASE: Duration = Duration::from_secs(120);

/// The worker's settings, from `courier.*`.
#[derive(Clone, Debug)]
pub struct WorkerSettings {
    pub pull_count: u32,
    pub pull_wait: Duration,
    pub message_retries: u32,
    pub retry_base_delay: Duration,
    pub retry_max_delay: Duration,
}

impl WorkerSettings {
    /// The wait before attempt number `attempts + 1`.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempts.saturating_sub(1));
        self.retry_base_delay
            .saturating_mul(factor)
            .min(self.retry_max_delay)
    }
}

/// A running worker. Dropping it asks the worker to stop after the send in flight.
pub struct WorkerHandle {
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl WorkerHandle {
    /// Stops the worker and waits until the send in flight is done.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

struct Worker {
    store: SqlStore,
    delivery: Arc<Delivery>,
    clock: Clock,
    settings: WorkerSettings,
    wake: Arc<Notify>,
    stop: watch::Receiver<bool>,
}

/// Starts the worker of `courier` on the current runtime.
pub fn spawn(courier: &Courier) -> WorkerHandle {
    let (tx, rx) = watch::channel(false);
    let worker = Worker {
        store: courier.store.clone(),
        delivery: courier.delivery.clone(),
        clock: courier.clock.clone(),
        settings: courier.worker.clone(),
        wake: courier.wake.clone(),
        stop: rx,
    };
    if worker.delivery.is_configured() {
        tracing::info!(delivery = %worker.delivery.describe(), "courier worker started");
    } else {
        tracing::warn!(
            "courier worker started without delivery: set courier.smtp.connection_uri (or courier.delivery_strategy: http); messages stay queued until then"
        );
    }
    WorkerHandle {
        stop: tx,
        task: Some(tokio::spawn(worker.run())),
    }
}

impl Worker {
    fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    async fn run(mut self) {
        loop {
            if self.stopping() {
                break;
            }
            let pulled = if self.delivery.is_configured() {
                match self.pull().await {
                    Ok(n) => n,
                    Err(e) => {
                        tracing::warn!(error = %e, "courier: pulling messages failed; trying again");
                        0
                    }
                }
            } else {
                0
            };
            // A full pull means more may be due: go on without waiting.
            if pulled >= self.settings.pull_count as usize {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(self.settings.pull_wait) => {}
                _ = self.wake.notified() => {}
                _ = self.stop.changed() => {}
            }
        }
        tracing::info!("courier worker stopped");
    }

    /// One pull: claims due messages and works through them. Returns how many it claimed.
    async fn pull(&self) -> Result<usize, String> {
        let claim = uuid::Uuid::new_v4().to_string();
        let now = self.clock.now();
        let messages = self
            .store
            .claim_courier_messages(&claim, now, now + LEASE, self.settings.pull_count)
            .await
            .map_err(|e| e.to_string())?;
        let count = messages.len();
        for m in messages {
            if self.stopping() {
                break;
            }
            if let Err(e) = self.attempt(&claim, &m).await {
                tracing::warn!(message_id = %m.id, error = %e, "courier: could not record the outcome of a delivery attempt");
            }
        }
        // Whatever this pull did not get to goes back to the queue for the next one.
        self.store
            .courier_release(&claim, self.clock.now())
            .await
            .map_err(|e| e.to_string())?;
        Ok(count)
    }

    async fn attempt(&self, claim: &str, m: &Message) -> Result<(), String> {
        let retries = self.settings.message_retries;
        if m.send_count > retries {
            let reason = format!(
                "abandoned after {} attempts; the last one stopped before it could finish",
                m.send_count
            );
            tracing::warn!(message_id = %m.id, "courier: {reason}");
            self.store
                .courier_abandon_claimed(m.id, claim, &reason, self.clock.now())
                .await
                .map_err(|e| e.to_string())?;
            return Ok(());
        }
        let now = self.clock.now();
        let mine = self
            .store
            .begin_courier_attempt(m.id, claim, now, now + LEASE)
            .await
            .map_err(|e| e.to_string())?;
        if !mine {
            return Ok(());
        }
        let attempts = m.send_count + 1;
        let outcome = match tokio::time::timeout(SEND_TIMEOUT, self.delivery.send(m)).await {
            Ok(r) => r,
            Err(_) => Err(format!(
                "delivery did not finish within {} seconds",
                SEND_TIMEOUT.as_secs()
            )),
        };
        let now = self.clock.now();
        match outcome {
            Ok(()) => {
                tracing::debug!(message_id = %m.id, template = %m.template_type, "courier: message sent");
                self.store
                    .courier_sent(m.id, claim, now)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Err(reason) => {
                let then = if attempts > retries {
                    tracing::warn!(message_id = %m.id, attempts, error = %reason, "courier: message abandoned");
                    AfterFailure::Abandon
                } else {
                    let wait = self.settings.backoff(attempts);
                    tracing::warn!(message_id = %m.id, attempts, retry_in_ms = wait.as_millis() as u64, error = %reason, "courier: delivery failed; will retry");
                    AfterFailure::Retry(now + wait)
                };
                self.store
                    .courier_failed(m.id, claim, &dispatch_error(&reason), &reason, then, now)
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let s = WorkerSettings {
            pull_count: 10,
            pull_wait: Duration::from_secs(1),
            message_retries: 5,
            retry_base_delay: Duration::from_secs(5),
            retry_max_delay: Duration::from_secs(30),
        };
        assert_eq!(s.backoff(1), Duration::from_secs(5));
        assert_eq!(s.backoff(2), Duration::from_secs(10));
        assert_eq!(s.backoff(3), Duration::from_secs(20));
        assert_eq!(s.backoff(4), Duration::from_secs(30));
        assert_eq!(s.backoff(40), Duration::from_secs(30));
    }
}
