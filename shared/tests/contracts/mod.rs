//! Contract suites for the ports, written once against the traits so that every adapter (the
//! embedded ones now; Redis, RabbitMQ, SMTP, SQL Server and Neo4j later) runs the very same
//! checks. Each suite takes the adapter under test (or a factory for it) and returns an error
//! naming the first broken promise.
//!
//! The suites mint fresh ids, usernames and feed keys for everything they create, so they also
//! run against a store that already holds data, and leave what they create behind.

// Each test binary uses the suites of its own adapters only.
#![allow(dead_code)]

pub mod accounts;
pub mod blocks;
pub mod bolt;
pub mod bus;
pub mod conversations;
pub mod cypher;
pub mod feed_cache;
pub mod graph;
pub mod idempotency;
pub mod limits;
pub mod mailer;
pub mod notifications;
pub mod outbox;
pub mod slot_cache;
pub mod store;

use std::future::Future;
use std::time::Duration;

/// Runs every named check of a suite in order, whatever the ones before did, and fails naming
/// each that failed with its error: one broken promise does not hide the others.
pub async fn every_check(
    suite: &str,
    checks: Vec<(
        &'static str,
        futures::future::LocalBoxFuture<'_, anyhow::Result<()>>,
    )>,
) -> anyhow::Result<()> {
    let mut failed = Vec::new();
    for (name, check) in checks {
        if let Err(err) = check.await {
            failed.push(format!("{name}: {err:#}"));
        }
    }
    anyhow::ensure!(
        failed.is_empty(),
        "{suite}: {} check(s) failed:\n  {}",
        failed.len(),
        failed.join("\n  ")
    );
    Ok(())
}

/// A short random suffix, `[0-9a-f]{12}`, for names that must not collide with earlier runs.
pub fn unique_suffix() -> String {
    format!("{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff)
}

/// Polls `check` until it returns true or `timeout` has passed; one check when `timeout` is
/// zero. For adapters that deliver eventually (a broker), never for back-offs.
pub async fn eventually<F, Fut>(timeout: Duration, mut check: F) -> anyhow::Result<bool>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<bool>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await? {
            return Ok(true);
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Now, shifted by `millis` (negative: the past).
pub fn from_now(millis: i64) -> rookery::domain::Timestamp {
    rookery::domain::Timestamp::from_millis(rookery::domain::Timestamp::now().millis() + millis)
}

/// `ensure!(got == want)` with both values in the message.
pub fn check_eq<T: std::fmt::Debug + PartialEq>(got: T, want: T, what: &str) -> anyhow::Result<()> {
    anyhow::ensure!(got == want, "{what}: got {got:?}, want {want:?}");
    Ok(())
}
