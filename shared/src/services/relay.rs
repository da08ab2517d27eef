//! The outbox relay: publishes events that were committed with their state change, and marks
//! them sent only once the bus has taken them. Failed events are retried with back-off, so one
//! bad event never blocks the rest. A broker's failures are outages: those events are retried
//! until the broker is back, never given up. The in-process bus fails an event only when a
//! consumer failed it, and gives it up after a bound (its dead-letter queue).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tracing::Instrument as _;

use crate::domain::{IDEMPOTENCY_WINDOW, Timestamp};
use crate::ports::{EventPublisher, Outbox, PostStore, ProcessedEvents};
use crate::telemetry::{metrics, trace};

#[derive(Clone)]
pub struct Relay {
    pub outbox: Arc<dyn Outbox>,
    pub publisher: Arc<dyn EventPublisher>,
    /// Attempts before an event is given up; `None` retries for as long as it takes.
    pub max_attempts: Option<u32>,
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
                let span = publish_span(&entry.event);
                match self.publisher.publish(&entry.event).instrument(span).await {
                    Ok(()) => {
                        self.outbox.mark_sent(id).await?;
                        metrics::event_published(entry.event.kind());
                        sent += 1;
                        progressed = true;
                    }
                    Err(err) => {
                        let give_up = self
                            .max_attempts
                            .is_some_and(|max| entry.attempts + 1 >= max);
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

    /// Reports how long the oldest unsent event has waited (0 when none), for the alarm on
    /// events that do not leave. A failure to read it is logged: the alarm treats a missing
    /// value as a problem of its own.
    pub async fn report_oldest_unsent(&self) {
        match self.outbox.oldest_unsent().await {
            Ok(oldest) => {
                let now = Timestamp::now().millis();
                let waited = oldest.map_or(0, |at| now.saturating_sub(at.millis()).max(0));
                let waited = Duration::from_millis(u64::try_from(waited).unwrap_or(0));
                metrics::outbox_oldest_pending(waited);
            }
            Err(err) => {
                tracing::warn!(error = %format!("{err:#}"), "could not read the outbox's age")
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

/// The span an event is published in, joined to the trace of the request that wrote it.
fn publish_span(event: &crate::domain::Event) -> tracing::Span {
    let span = tracing::info_span!(
        "publish",
        event_id = %event.id,
        event_type = event.kind(),
        trace_id = tracing::field::Empty,
    );
    trace::adopt(&span, event.trace.as_ref());
    span
}

/// Deletes what nothing needs any more (DESIGN 4.4): outbox rows sent longer than the
/// retention ago, and the processed-event ids of that age. Run by the relay: hourly in the
/// local server, after each scheduled run in Lambda.
#[derive(Clone)]
pub struct Pruner {
    pub outbox: Arc<dyn Outbox>,
    pub processed: Arc<dyn ProcessedEvents>,
    /// Idempotency claims go once their 24 hours are over, whatever `RETENTION_DAYS` says.
    pub posts: Arc<dyn PostStore>,
    /// `RETENTION_DAYS`.
    pub retention: Duration,
}

/// Rows deleted per statement, so that no prune holds its locks for long.
const PRUNE_BATCH: usize = 5_000;
/// Statements per `prune`, so that one run stays short; the next run goes on.
const PRUNE_ROUNDS: usize = 20;

impl Pruner {
    /// Prunes up to `PRUNE_ROUNDS` batches of each; returns how many rows went.
    pub async fn prune(&self) -> anyhow::Result<u64> {
        let retention = i64::try_from(self.retention.as_millis()).unwrap_or(i64::MAX / 2);
        let before = Timestamp::from_millis(Timestamp::now().millis().saturating_sub(retention));
        let window = i64::try_from(IDEMPOTENCY_WINDOW.as_millis()).unwrap_or(i64::MAX / 2);
        let expired = Timestamp::from_millis(Timestamp::now().millis().saturating_sub(window));
        let mut pruned = 0;
        for _ in 0..PRUNE_ROUNDS {
            let sent = self.outbox.prune_sent(before, PRUNE_BATCH).await?;
            let processed = self.processed.prune(before, PRUNE_BATCH).await?;
            let claims = self
                .posts
                .prune_idempotency_keys(expired, PRUNE_BATCH)
                .await?;
            pruned += sent + processed + claims;
            if [sent, processed, claims]
                .iter()
                .all(|&n| n < PRUNE_BATCH as u64)
            {
                break;
            }
        }
        Ok(pruned)
    }

    /// Prunes every `every`, for as long as the process runs.
    pub async fn run(self, every: Duration) {
        loop {
            match self.prune().await {
                Ok(0) => {}
                Ok(pruned) => tracing::info!(
                    pruned,
                    "pruned sent events, processed ids and expired idempotency keys"
                ),
                Err(err) => {
                    tracing::warn!(error = %format!("{err:#}"), "pruning failed; retrying later")
                }
            }
            tokio::time::sleep(every).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;

    use super::*;
    use crate::domain::{Event, EventId, EventPayload, PostId, UserId};
    use crate::ports::OutboxEntry;

    /// One event that has already failed `attempts` times; records what the relay decides.
    struct OneEvent {
        entry: Mutex<Option<OutboxEntry>>,
        given_up: Mutex<Vec<bool>>,
    }

    #[async_trait]
    impl Outbox for OneEvent {
        async fn enqueue(&self, _: &Event) -> anyhow::Result<()> {
            Ok(())
        }
        async fn pending(&self, _: usize) -> anyhow::Result<Vec<OutboxEntry>> {
            Ok(self
                .entry
                .lock()
                .map_err(|_| anyhow::anyhow!("poisoned"))?
                .take()
                .into_iter()
                .collect())
        }
        async fn mark_sent(&self, _: EventId) -> anyhow::Result<()> {
            Ok(())
        }
        async fn mark_failed(&self, _: EventId, _: &str, give_up: bool) -> anyhow::Result<()> {
            self.given_up
                .lock()
                .map_err(|_| anyhow::anyhow!("poisoned"))?
                .push(give_up);
            Ok(())
        }
        async fn prune_sent(&self, _: Timestamp, _: usize) -> anyhow::Result<u64> {
            Ok(0)
        }
        async fn oldest_unsent(&self) -> anyhow::Result<Option<Timestamp>> {
            Ok(None)
        }
    }

    struct Down;

    #[async_trait]
    impl EventPublisher for Down {
        async fn publish(&self, _: &Event) -> anyhow::Result<()> {
            anyhow::bail!("connection refused")
        }
        fn name(&self) -> &'static str {
            "down"
        }
        async fn ping(&self) -> anyhow::Result<()> {
            Ok(())
        }
    }

    async fn gives_up(max_attempts: Option<u32>, attempts: u32) -> anyhow::Result<bool> {
        let event = Event::new(EventPayload::PostDeleted {
            post_id: PostId::new(),
            author_id: UserId::new(),
            reposted_by: Vec::new(),
        });
        let outbox = Arc::new(OneEvent {
            entry: Mutex::new(Some(OutboxEntry { event, attempts })),
            given_up: Mutex::new(Vec::new()),
        });
        let relay = Relay {
            outbox: outbox.clone(),
            publisher: Arc::new(Down),
            max_attempts,
            batch: 10,
        };
        assert_eq!(relay.drain().await?, 0);
        let decided = outbox
            .given_up
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?
            .clone();
        assert_eq!(decided.len(), 1, "one failed attempt recorded");
        Ok(decided[0])
    }

    #[tokio::test]
    async fn a_bounded_bus_gives_up_on_the_last_attempt_only() -> anyhow::Result<()> {
        assert!(!gives_up(Some(8), 6).await?);
        assert!(gives_up(Some(8), 7).await?);
        Ok(())
    }

    #[tokio::test]
    async fn a_broker_outage_never_gives_an_event_up() -> anyhow::Result<()> {
        assert!(!gives_up(None, 1_000).await?);
        Ok(())
    }
}
