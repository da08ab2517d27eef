//! Events in motion: the transactional outbox, the publisher that takes events off it, the
//! consumers behind each queue, and the record of what each consumer already did.

use async_trait::async_trait;

use crate::domain::{Event, EventId, Queue, Timestamp};

/// One row of the outbox.
#[derive(Debug, Clone)]
pub struct OutboxEntry {
    pub event: Event,
    pub attempts: u32,
}

#[async_trait]
pub trait Outbox: Send + Sync + 'static {
    /// Records an event whose state change lives in another store (follows live in the graph).
    async fn enqueue(&self, event: &Event) -> anyhow::Result<()>;

    /// Unsent events, oldest first, leaving out those given up on and those waiting for a
    /// retry.
    async fn pending(&self, limit: usize) -> anyhow::Result<Vec<OutboxEntry>>;

    async fn mark_sent(&self, id: EventId) -> anyhow::Result<()>;

    /// Records a failed attempt; `give_up` parks the row for an operator.
    async fn mark_failed(&self, id: EventId, error: &str, give_up: bool) -> anyhow::Result<()>;

    /// Deletes up to `limit` rows sent before `before` (never an unsent or given-up one);
    /// returns how many.
    async fn prune_sent(&self, before: Timestamp, limit: usize) -> anyhow::Result<u64>;

    /// When the oldest event neither sent nor given up was written (waiting out a back-off
    /// included); `None` when every event has left.
    async fn oldest_unsent(&self) -> anyhow::Result<Option<Timestamp>>;
}

/// Hands an event to the bus. Returns only once the bus has taken responsibility for it
/// (a broker's confirm, or every in-process consumer done).
#[async_trait]
pub trait EventPublisher: Send + Sync + 'static {
    async fn publish(&self, event: &Event) -> anyhow::Result<()>;

    fn name(&self) -> &'static str;

    async fn ping(&self) -> anyhow::Result<()>;
}

/// Where a message no consumer can take goes, with why: its queue's dead-letter queue. The
/// lapin consumer has the broker do it (a reject without requeue); a Lambda consumer, whose
/// event source cannot reject one message of a batch, hands it over here.
#[async_trait]
pub trait DeadLetters: Send + Sync + 'static {
    /// Puts `body` on the dead-letter queue of `queue` (the name the broker knows it by), with
    /// `reason` in its `x-rookery-reason` header. Returns once the broker has it.
    async fn dead_letter(&self, queue: &str, body: &[u8], reason: &str) -> anyhow::Result<()>;
}

#[derive(Debug, thiserror::Error)]
pub enum ConsumeError {
    /// Worth retrying: an outage, a timeout.
    #[error("transient: {0:#}")]
    Transient(#[from] anyhow::Error),
    /// Will never succeed: a body that is not an event, an event this queue cannot take.
    #[error("poison: {0}")]
    Poison(String),
}

/// The work behind one queue.
#[async_trait]
pub trait Consumer: Send + Sync + 'static {
    fn queue(&self) -> Queue;

    async fn handle(&self, event: &Event) -> Result<(), ConsumeError>;
}

/// Which events each consumer has finished, so that a redelivery does nothing.
#[async_trait]
pub trait ProcessedEvents: Send + Sync + 'static {
    async fn is_processed(&self, consumer: &str, id: EventId) -> anyhow::Result<bool>;

    async fn mark_processed(&self, consumer: &str, id: EventId) -> anyhow::Result<()>;

    /// Forgets up to `limit` events processed before `before`; returns how many. A redelivery
    /// older than that would be processed again, so the retention must outlast any broker's
    /// redelivery.
    async fn prune(&self, before: Timestamp, limit: usize) -> anyhow::Result<u64>;
}
