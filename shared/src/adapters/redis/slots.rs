//! Cached posts, counts, viewer state and user summaries in Redis, shared by every instance
//! and function: the `SlotCache` port.
//!
//! Keys are hash-tagged on the post or user: `slot:post:{<post>}`, `slot:counts:{<post>}`,
//! `slot:viewer:{<post>}:<reader>`, `slot:user:{<user>}`; and `slot:counts-epoch`, one key that
//! every page reads (on a cluster, one small hot key on one node). A key holds `<generation>` (a
//! forgotten slot) or `<generation>:<value>`; a missing key is generation 0.
//!
//! A read is one `MGET`, whatever the number of slots: a feed page reads sixty, and one reply
//! parses far faster than sixty. (redis-rs splits an `MGET` by slot on a cluster.) A fill and
//! a forget are each a script per key, so that reading the generation and writing are one
//! step.

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
local held = redis.call('GET', KEYS[1])
local generation = held and string.match(held, '^%d+') or '0'
if generation == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1] .. ':' .. ARGV[2], 'EX', ARGV[3])
end
return 0
";

/// KEYS[1] the slot; ARGV[1] how long the generation is kept, in seconds.
const FORGET: &str = r"
local held = redis.call('GET', KEYS[1])
local generation = held and tonumber(string.match(held, '^%d+')) or 0
redis.call('SET', KEYS[1], string.format('%d', generation + 1), 'EX', ARGV[1])
return 0
";

/// The Redis key of a slot.
pub fn key(slot: &SlotKey) -> String {
    match slot {
        SlotKey::Post(post) => format!("slot:post:{{{post}}}"),
        SlotKey::Counts(post) => format!("slot:counts:{{{post}}}"),
        SlotKey::Viewer { post, reader } => format!("slot:viewer:{{{post}}}:{reader}"),
        SlotKey::User(user) => format!("slot:user:{{{user}}}"),
        SlotKey::CountsEpoch => "slot:counts-epoch".to_owned(),
    }
}

/// A slot from what its key holds; an unreadable one is a miss at generation 0, which the next
/// fill overwrites.
fn parse(held: Option<Vec<u8>>) -> Slot {
    let Some(mut held) = held else {
        return Slot {
            generation: 0,
            value: None,
        };
    };
    let colon = held.iter().position(|byte| *byte == b':');
    let digits = &held[..colon.unwrap_or(held.len())];
    let generation = std::str::from_utf8(digits)
        .ok()
        .and_then(|digits| digits.parse::<u64>().ok());
    match (generation, colon) {
        (Some(generation), Some(colon)) => Slot {
            generation,
            value: Some(held.split_off(colon + 1)),
        },
        (Some(generation), None) => Slot {
            generation,
            value: None,
        },
        (None, _) => Slot {
            generation: 0,
            value: None,
        },
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
        let names: Vec<String> = keys.iter().map(key).collect();
        let mut redis = self.redis.clone();
        let held: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
            .arg(&names)
            .query_async(&mut redis)
            .await
            .context("redis MGET (slot cache)")?;
        anyhow::ensure!(
            held.len() == keys.len(),
            "redis answered {} slots for {} keys",
            held.len(),
            keys.len()
        );
        Ok(held.into_iter().map(parse).collect())
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
            pipe.cmd("EVAL")
                .arg(FORGET)
                .arg(1)
                .arg(key(slot))
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
        assert_eq!(key(&SlotKey::Post(post)), format!("slot:post:{{{post}}}"));
        assert_eq!(
            key(&SlotKey::Counts(post)),
            format!("slot:counts:{{{post}}}")
        );
        assert_eq!(
            key(&SlotKey::Viewer { post, reader }),
            format!("slot:viewer:{{{post}}}:{reader}")
        );
        assert_eq!(
            key(&SlotKey::User(reader)),
            format!("slot:user:{{{reader}}}")
        );
    }

    #[test]
    fn redis_slot_values_carry_their_generation() {
        let slot = |generation, value: Option<&[u8]>| Slot {
            generation,
            value: value.map(<[u8]>::to_vec),
        };
        assert_eq!(parse(None), slot(0, None));
        assert_eq!(parse(Some(b"7".to_vec())), slot(7, None));
        assert_eq!(parse(Some(b"7:".to_vec())), slot(7, Some(b"")));
        assert_eq!(
            parse(Some(b"12:{\"a\":1}".to_vec())),
            slot(12, Some(b"{\"a\":1}"))
        );
        // What an older format left there is a miss, overwritten by the next fill.
        assert_eq!(parse(Some(b"{\"id\":1}".to_vec())), slot(0, None));
        assert_eq!(parse(Some(b"deleted".to_vec())), slot(0, None));
    }
}
