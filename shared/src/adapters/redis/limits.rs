//! Rate-limit counters in Redis, shared by every instance and function: one key per counter,
//! `rl:<class>:<subject>`, holding its GCRA theoretical arrival time in milliseconds of Redis'
//! own clock (so instances whose clocks disagree still count alike), and expiring at that time,
//! when it would hold nothing any more.
//!
//! One Lua script does a whole step (read, decide, write, expire) atomically; `redis::Script`
//! sends it by its SHA (EVALSHA) and loads it on the first NOSCRIPT. One key per call, so it
//! runs on Redis Cluster too. It is the arithmetic of `domain::limits::gcra`, which the contract
//! suite holds both adapters to.

use async_trait::async_trait;
use redis::Script;
use redis::aio::ConnectionManager;

use crate::domain::limits::{Decision, Rule};
use crate::ports::{RateKey, RateLimiter};

/// KEYS[1]: the counter. ARGV: the emission interval and the window (ms), and 1 to count or 0
/// to look only. Answers 0 when allowed, else the milliseconds until a request would be.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1]) or now) or now
if tat < now then tat = now end
local nxt = tat + tonumber(ARGV[1])
local allow_at = nxt - tonumber(ARGV[2])
if allow_at > now then return allow_at - now end
if ARGV[3] == '1' then redis.call('SET', KEYS[1], nxt, 'PX', nxt - now) end
return 0
";

pub struct RedisLimiter {
    redis: ConnectionManager,
    script: Script,
}

/// `rl:<class>:<subject>`.
pub fn key(key: &RateKey) -> String {
    format!("rl:{key}")
}

impl RedisLimiter {
    pub fn new(redis: ConnectionManager) -> Self {
        Self {
            redis,
            script: Script::new(GCRA),
        }
    }

    async fn step(&self, key: &RateKey, rule: Rule, count: bool) -> anyhow::Result<Decision> {
        let mut redis = self.redis.clone();
        let wait_ms: u64 = self
            .script
            .key(self::key(key))
            .arg(rule.interval_ms())
            .arg(rule.window_ms())
            .arg(u8::from(count))
            .invoke_async(&mut redis)
            .await?;
        Ok(match wait_ms {
            0 => Decision::Allowed,
            ms => Decision::Limited {
                retry_after: std::time::Duration::from_millis(ms),
            },
        })
    }
}

#[async_trait]
impl RateLimiter for RedisLimiter {
    fn name(&self) -> &'static str {
        "redis"
    }

    async fn acquire(&self, key: &RateKey, rule: Rule) -> anyhow::Result<Decision> {
        self.step(key, rule, true).await
    }

    async fn check(&self, key: &RateKey, rule: Rule) -> anyhow::Result<Decision> {
        self.step(key, rule, false).await
    }
}
