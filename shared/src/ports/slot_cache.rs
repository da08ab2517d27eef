//! Small values cached beside the source of truth, each in a slot with a generation, so that a
//! reader's late refill can never undo a newer write.
//!
//! The race it closes: a reader misses, reads the store, and is about to cache what it read; a
//! writer commits a change and drops the slot; the reader then caches the value from before the
//! change. Here the reader reads the slot's generation with its miss and fills *at* that
//! generation; a writer's [`SlotCache::forget`] moves the generation on, so the late fill is
//! refused. A fill never waits and never retries: the next reader refills.
//!
//! One gap stays: a Redis that is flushed, or evicts a slot, just between a reader's store read
//! and its fill reads that slot at generation 0 again, and may take that one fill. Values
//! therefore carry a TTL, which bounds how long such a value lasts. (The memory adapter never
//! hands out a generation twice.)

use std::time::Duration;

use async_trait::async_trait;

use crate::domain::{PostId, UserId};

/// What a slot holds: the parts of a post view, each cached and forgotten on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SlotKey {
    /// A post (as written; it never changes), or that it is gone.
    Post(PostId),
    /// A post's reply, like and repost counts.
    Counts(PostId),
    /// Whether `reader` likes and has reposted `post`.
    Viewer { post: PostId, reader: UserId },
    /// A user's summary (username and display name), or that the user is gone.
    User(UserId),
    /// No value: its generation is the epoch of every post's counts, moved on when a write
    /// changes counts it cannot name (an account's erasure takes back its likes everywhere).
    CountsEpoch,
}

/// One slot as read: its value, if cached, and its generation either way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub generation: u64,
    pub value: Option<Vec<u8>>,
}

/// A value to cache in `key`, only if the slot is still at `generation` (as read by
/// [`SlotCache::get`] before the store was read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fill {
    pub key: SlotKey,
    pub generation: u64,
    pub value: Vec<u8>,
    /// How long the value may be served; the bound on staleness when a forget was lost.
    pub ttl: Duration,
}

#[async_trait]
pub trait SlotCache: Send + Sync + 'static {
    /// For logs: "redis" or "memory".
    fn name(&self) -> &'static str;

    /// The slots of `keys`, in that order.
    async fn get(&self, keys: &[SlotKey]) -> anyhow::Result<Vec<Slot>>;

    /// Caches each value whose slot is still at the fill's generation; others are skipped.
    async fn fill(&self, fills: &[Fill]) -> anyhow::Result<()>;

    /// Drops the values of `keys` and moves their generations on, so that no fill made with a
    /// generation read before this call lands. Called after the store committed the change.
    async fn forget(&self, keys: &[SlotKey]) -> anyhow::Result<()>;
}
