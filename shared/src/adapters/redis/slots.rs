//! Cached post counts, viewer state and user summaries in Redis, shared by every instance and
//! function: the `SlotCache` port.
//!
//! Keys, one hash each, hash-tagged on the post or user so that Redis Cluster keeps a slot on
//! one node: `counts:{<post>}`, `viewer:{<post>}:<reader>`, `user:{<user>}`. Field `g` is the
//! generation (absent reads as 0), field `v` the value.
//!
//! A read is one pipeline of `HMGET`s. A fill is a script per slot, so that the comparison of
//! generations and the write are one step. A forget is `HINCRBY g`, then `HDEL v`, in that
//! order on one connection: once the generation has moved, no older fill lands, and a reader in
//! between reads the old value as any reader did before the write answered.

use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use redis::aio::ConnectionManager;

use crate::ports::{Fill, Slot, SlotCache, SlotKey};

use super::ttl_secs;

/// A forgotten slot keeps its generation this long, so that a fill delayed even by a stalled
/// process finds it moved. A fill shortens it to the value's TTL: after that, a slot that
/// expired reads at 0, which no fill still in flight holds.
const FORGOTTEN_TTL: Duration = Duration::from_secs(3_600);

/// KEYS[1] the slot; ARGV: generation read, value, TTL in seconds.
const FILL: &str = r"
if (redis.call('HGET', KEYS[1], 'g') or '0') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'g', ARGV[1], 'v', ARGV[2])
  redis.call('EXPIRE', KEYS[1], ARGV[3])
end
return 0
";

/// The Redis key of a slot.
pub fn key(slot: &SlotKey) -> String {
    match slot {
        SlotKey::Counts(post) => format!("counts:{{{post}}}"),
        SlotKey::Viewer { post, reader } => format!("viewer:{{{post}}}:{reader}"),
        SlotKey::User(user) => format!("user:{{{user}}}"),
    }
}

pub struct RedisSlots {
    redis: ConnectionManager,
}

impl RedisSlots {
    pub fn new(redis: ConnectionManager) -> Self {
        Self { redis }
    }
}

#[async_trait]
impl SlotCache for RedisSlots {
    fn name(&self) -> &'static str {
        "redis"
    }

    async fn get(&self, keys: &[SlotKey]) -> anyhow::Result<Vec<Slot>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for slot in keys {
            pipe.cmd("HMGET").arg(key(slot)).arg("g").arg("v");
        }
        let mut redis = self.redis.clone();
        let read: Vec<(Option<u64>, Option<Vec<u8>>)> = pipe
            .query_async(&mut redis)
            .await
            .context("redis HMGET (slot cache)")?;
        anyhow::ensure!(
            read.len() == keys.len(),
            "redis answered {} slots for {} keys",
            read.len(),
            keys.len()
        );
        Ok(read
            .into_iter()
            .map(|(generation, value)| Slot {
                generation: generation.unwrap_or(0),
                value,
            })
            .collect())
    }

    async fn fill(&self, fills: &[Fill]) -> anyhow::Result<()> {
        if fills.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for fill in fills {
            pipe.cmd("EVAL")
                .arg(FILL)
                .arg(1)
                .arg(key(&fill.key))
                .arg(fill.generation)
                .arg(&fill.value)
                .arg(ttl_secs(fill.ttl))
                .ignore();
        }
        let mut redis = self.redis.clone();
        pipe.exec_async(&mut redis)
            .await
            .context("redis fill (slot cache)")
    }

    async fn forget(&self, keys: &[SlotKey]) -> anyhow::Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for slot in keys {
            let name = key(slot);
            pipe.cmd("HINCRBY").arg(&name).arg("g").arg(1).ignore();
            pipe.cmd("HDEL").arg(&name).arg("v").ignore();
            pipe.cmd("EXPIRE")
                .arg(&name)
                .arg(ttl_secs(FORGOTTEN_TTL))
                .ignore();
        }
        let mut redis = self.redis.clone();
        pipe.exec_async(&mut redis)
            .await
            .context("redis forget (slot cache)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{PostId, UserId};

    #[test]
    fn redis_slot_keys_are_hash_tagged_on_their_post_or_user() {
        let (post, reader) = (PostId::new(), UserId::new());
        assert_eq!(key(&SlotKey::Counts(post)), format!("counts:{{{post}}}"));
        assert_eq!(
            key(&SlotKey::Viewer { post, reader }),
            format!("viewer:{{{post}}}:{reader}")
        );
        assert_eq!(key(&SlotKey::User(reader)), format!("user:{{{reader}}}"));
    }
}
