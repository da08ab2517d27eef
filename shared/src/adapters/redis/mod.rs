//! Redis: the feeds (`feeds`), the cached follow lists (`graph`), the cached posts, counts,
//! viewer state and user summaries (`slots`), and the rate-limit counters (`limits`), over one
//! multiplexed connection manager per process.

pub mod feeds;
pub mod graph;
pub mod limits;
pub mod slots;

use std::time::Duration;

use anyhow::Context as _;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

pub use feeds::RedisFeeds;
pub use graph::CachedGraph;
pub use limits::RedisLimiter;
pub use slots::RedisSlots;

/// Connects a [`ConnectionManager`] tuned for a cache: short timeouts and few retries per
/// attempt, so that callers fall back to the source of truth quickly during an outage. The
/// manager reconnects by itself on the next command after one fails.
///
/// The URL is not repeated in errors: it may hold a password.
pub async fn connect_manager(url: &str) -> anyhow::Result<ConnectionManager> {
    let client = redis::Client::open(url).context("invalid Redis URL")?;
    let config = ConnectionManagerConfig::new()
        .set_number_of_retries(2)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_millis(500))
        .set_connection_timeout(Some(Duration::from_secs(1)))
        .set_response_timeout(Some(Duration::from_millis(500)));
    ConnectionManager::new_with_config(client, config)
        .await
        .context("connect to Redis")
}

/// A TTL in whole seconds, at least one (Redis rejects `EX 0`).
pub(crate) fn ttl_secs(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX).max(1)
}
