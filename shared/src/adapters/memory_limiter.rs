//! Rate-limit counters in this process's memory: the default without `REDIS_URL`. Each
//! instance counts alone, and a restart forgets every counter.
//!
//! A key holds its GCRA theoretical arrival time (`domain::limits`); a key past it holds nothing
//! and is dropped by a sweep that runs whenever the map has doubled since the last one, so the
//! map stays within about twice the number of keys live in the last window.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_trait::async_trait;

use crate::domain::limits::{Decision, Rule, gcra};
use crate::ports::{RateKey, RateLimiter};

/// Milliseconds on a monotonic clock.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// Fewer keys than this are never swept.
const MIN_SWEEP: usize = 1_024;

struct Counters {
    tats: HashMap<RateKey, u64>,
    sweep_at: usize,
}

pub struct MemoryLimiter {
    counters: Mutex<Counters>,
    clock: Clock,
}

impl Default for MemoryLimiter {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryLimiter {
    pub fn new() -> Self {
        let start = Instant::now();
        Self::with_clock(Arc::new(move || {
            u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
        }))
    }

    /// A limiter on `clock`: tests move time by hand.
    pub fn with_clock(clock: Clock) -> Self {
        Self {
            counters: Mutex::new(Counters {
                tats: HashMap::new(),
                sweep_at: MIN_SWEEP,
            }),
            clock,
        }
    }

    /// How many keys are held (expired ones included until the next sweep).
    pub fn len(&self) -> usize {
        self.counters.lock().map_or(0, |c| c.tats.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn step(&self, key: &RateKey, rule: Rule, count: bool) -> anyhow::Result<Decision> {
        let now = (self.clock)();
        let mut counters = self
            .counters
            .lock()
            .map_err(|_| anyhow::anyhow!("rate limiter lock poisoned"))?;
        let (decision, next) = gcra(rule, counters.tats.get(key).copied(), now);
        if let (true, Some(next)) = (count, next) {
            counters.tats.insert(key.clone(), next);
            if counters.tats.len() >= counters.sweep_at {
                counters.tats.retain(|_, tat| *tat > now);
                counters.sweep_at = (counters.tats.len() * 2).max(MIN_SWEEP);
            }
        }
        Ok(decision)
    }
}

#[async_trait]
impl RateLimiter for MemoryLimiter {
    fn name(&self) -> &'static str {
        "memory"
    }

    async fn acquire(&self, key: &RateKey, rule: Rule) -> anyhow::Result<Decision> {
        self.step(key, rule, true)
    }

    async fn check(&self, key: &RateKey, rule: Rule) -> anyhow::Result<Decision> {
        self.step(key, rule, false)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    use super::*;
    use crate::ports::RateClass;

    fn manual() -> (Arc<AtomicU64>, MemoryLimiter) {
        let now = Arc::new(AtomicU64::new(1_000));
        let clock = now.clone();
        let limiter = MemoryLimiter::with_clock(Arc::new(move || clock.load(Ordering::SeqCst)));
        (now, limiter)
    }

    #[tokio::test]
    async fn time_releases_what_the_rule_refused() -> anyhow::Result<()> {
        let (now, limiter) = manual();
        let rule: Rule = "2/1s".parse().map_err(anyhow::Error::msg)?;
        let key = RateKey::new(RateClass::Posts, "u1");
        assert!(limiter.acquire(&key, rule).await?.is_allowed());
        assert!(limiter.acquire(&key, rule).await?.is_allowed());
        let refused = limiter.acquire(&key, rule).await?;
        assert_eq!(
            refused,
            Decision::Limited {
                retry_after: Duration::from_millis(500)
            }
        );
        assert_eq!(limiter.check(&key, rule).await?, refused);
        now.fetch_add(500, Ordering::SeqCst);
        assert!(limiter.check(&key, rule).await?.is_allowed());
        assert!(limiter.acquire(&key, rule).await?.is_allowed());
        assert!(!limiter.acquire(&key, rule).await?.is_allowed());
        Ok(())
    }

    #[tokio::test]
    async fn expired_keys_are_swept_once_the_map_doubles() -> anyhow::Result<()> {
        let (now, limiter) = manual();
        let rule: Rule = "5/1s".parse().map_err(anyhow::Error::msg)?;
        for i in 0..MIN_SWEEP - 1 {
            limiter
                .acquire(&RateKey::new(RateClass::Writes, i.to_string()), rule)
                .await?;
        }
        assert_eq!(limiter.len(), MIN_SWEEP - 1);
        // Each of those keys is past its TAT a fifth of a second later.
        now.fetch_add(200, Ordering::SeqCst);
        let live = RateKey::new(RateClass::Writes, "live");
        limiter.acquire(&live, rule).await?;
        assert_eq!(limiter.len(), 1, "the sweep kept only the live key");
        // The live key kept its count.
        for _ in 0..4 {
            assert!(limiter.acquire(&live, rule).await?.is_allowed());
        }
        assert!(!limiter.acquire(&live, rule).await?.is_allowed());
        Ok(())
    }
}
