//! The outbox relay: publishes events that were committed with their state change, and marks
//! them sent only once the bus has taken them. Failed events are retried with back-off and given
//! up on after a bound, so one bad event never blocks the rest.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::ports::{EventPublisher, Outbox};

pub struct Relay {
    pub outbox: Arc<dyn Outbox>,
    pub publisher: Arc<dyn EventPublisher>,
    pub max_attempts: u32,
    pub batch: usize,
}

impl Relay {
    /// Publishes what is pending now; returns how many events were sent.
    pub async fn drain(&self) -> anyhow::Result<usize> {
        let mut sent = 0;
        loop {
            let entries = self.outbox.pending(self.batch).await?;
            let mut progressed = false;
            for entry in &entries {
                let id = entry.event.id;
                match self.publisher.publish(&entry.event).await {
                    Ok(()) => {
                        self.outbox.mark_sent(id).await?;
                        sent += 1;
                        progressed = true;
                    }
                    Err(err) => {
                        let give_up = entry.attempts + 1 >= self.max_attempts;
                        let message = format!("{err:#}");
                        if give_up {
                            tracing::error!(event_id = %id, kind = entry.event.kind(), error = %message, "event given up after repeated failures");
                        } else {
                            tracing::warn!(event_id = %id, kind = entry.event.kind(), error = %message, "event publish failed; will retry");
                        }
                        self.outbox.mark_failed(id, &message, give_up).await?;
                    }
                }
            }
            if entries.len() < self.batch || !progressed {
                return Ok(sent);
            }
        }
    }

    /// Drains whenever woken, and at least every `poll`: the poll picks up retries and events
    /// written by other processes.
    pub async fn run(self, woken: Arc<Notify>, poll: Duration) {
        loop {
            if let Err(err) = self.drain().await {
                tracing::warn!(error = %format!("{err:#}"), "outbox relay failed; retrying");
            }
            tokio::select! {
                () = woken.notified() => {}
                () = tokio::time::sleep(poll) => {}
            }
        }
    }
}
