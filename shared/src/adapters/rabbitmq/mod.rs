//! RabbitMQ through lapin: the topology of DESIGN section 5, a publisher with confirms, and the
//! queue consumers.
//!
//! Queues are quorum queues: the broker counts deliveries (`x-delivery-count`) and dead-letters
//! a message after `x-delivery-limit` redeliveries, so a message that keeps failing ends in its
//! `<queue>.dlq` instead of looping, even if the consumer crashes each time.

mod consumer;
mod publisher;
mod topology;

pub use consumer::{ConsumerOptions, backoff, delivery_count, run_consumer};
pub use publisher::{RabbitPublisher, trace_of};
pub use topology::Topology;

use std::time::Duration;

use anyhow::Context as _;
use lapin::{Connection, ConnectionProperties};

/// A broker that accepts TCP but never answers (seen with one overloaded by quorum queues)
/// must fail a connect or a confirm, not hang the relay or a consumer for ever.
pub const BROKER_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens a connection; `name` shows in the broker's management UI.
pub async fn connect(url: &str, name: &str) -> anyhow::Result<Connection> {
    let properties = ConnectionProperties::default().with_connection_name(name.into());
    // The URL carries the password: it is never part of an error message.
    tokio::time::timeout(BROKER_TIMEOUT, Connection::connect(url, properties))
        .await
        .context("connect to RabbitMQ: no answer")?
        .context("connect to RabbitMQ")
}
