//! Feeds as a cache (in-memory embedded, Redis in production). A feed is a capped set of
//! entries, newest first by entry key, at most one per post: the post itself, or a repost that
//! brought it in. A feed may vanish at any moment; it is rebuilt from the source of truth.

use async_trait::async_trait;

use crate::domain::{EntryKey, FeedEntry, PostId, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeedKind {
    /// Own posts and followees' posts.
    Home,
    /// One author's posts.
    User,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FeedKey {
    pub kind: FeedKind,
    pub user: UserId,
}

impl FeedKey {
    pub fn home(user: UserId) -> Self {
        Self {
            kind: FeedKind::Home,
            user,
        }
    }

    pub fn user(user: UserId) -> Self {
        Self {
            kind: FeedKind::User,
            user,
        }
    }
}

#[async_trait]
pub trait FeedCache: Send + Sync + 'static {
    /// True when the feed was loaded from the source of truth and still holds, up to the cap,
    /// every post it should. A feed that only received pushes is not ready.
    async fn is_ready(&self, key: FeedKey) -> anyhow::Result<bool>;

    /// Merges `entries` into the feed (entries pushed meanwhile are kept), trims it to the cap
    /// and marks it ready.
    async fn fill(&self, key: FeedKey, entries: &[FeedEntry]) -> anyhow::Result<()>;

    /// Adds `entries` to every feed in `keys`, trimming each to the cap. Adding an entry twice
    /// leaves one; a repost of a post the feed already holds (as itself or through another
    /// repost) adds nothing.
    async fn add(&self, keys: &[FeedKey], entries: &[FeedEntry]) -> anyhow::Result<()>;

    /// Removes every entry of `posts` from every feed in `keys`.
    async fn remove(&self, keys: &[FeedKey], posts: &[PostId]) -> anyhow::Result<()>;

    /// Removes each of `entries` from every feed in `keys` where it is its post's entry: an
    /// undone repost takes out what it added, not the post brought in another way.
    async fn remove_entries(&self, keys: &[FeedKey], entries: &[FeedEntry]) -> anyhow::Result<()>;

    /// Deletes these feeds outright (an erased user's own): they are no longer ready, and the
    /// next read rebuilds them from the source of truth.
    async fn clear(&self, keys: &[FeedKey]) -> anyhow::Result<()>;

    /// Up to `limit` entries, newest first, strictly before `before`. Counts as activity: a
    /// read feed does not expire.
    async fn page(
        &self,
        key: FeedKey,
        before: Option<EntryKey>,
        limit: usize,
    ) -> anyhow::Result<Vec<FeedEntry>>;

    /// `page` of a ready feed, or `None` (and nothing read) when the feed is not ready: what a
    /// feed read asks first. An adapter may answer it in one round trip.
    async fn ready_page(
        &self,
        key: FeedKey,
        before: Option<EntryKey>,
        limit: usize,
    ) -> anyhow::Result<Option<Vec<FeedEntry>>> {
        if !self.is_ready(key).await? {
            return Ok(None);
        }
        self.page(key, before, limit).await.map(Some)
    }

    /// A short label for `/health` and logs.
    fn name(&self) -> &'static str;

    /// Reachability, for `/health`.
    async fn ping(&self) -> anyhow::Result<()>;
}
