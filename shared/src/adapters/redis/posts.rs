//! A read-through Redis cache of posts, for hydrating feed pages: a `PostStore` decorator.
//!
//! Keys: `post:{<post uuid>}` holds the post as JSON (the private [`CachedPost`] format) or, for
//! a post known to be gone, the tombstone `deleted`. Entries expire after `ttl`.
//!
//! Tombstones close a race: a reader that missed, loaded the post from the store and is about
//! to write it back must not resurrect a post deleted meanwhile. Positive entries are only ever
//! written with `SET .. NX`, tombstones with a plain `SET`, so a tombstone is replaced only by
//! expiry.
//!
//! Redis is an optimisation here: when it fails, reads are answered by the wrapped store and a
//! warning is logged; they never fail because of Redis.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};

use crate::domain::{
    EntryKey, Event, FeedEntry, Mention, NewPost, Post, PostId, Relation, RelationCursor,
    Timestamp, UserId, UserSummary,
};
use crate::ports::{CreatePostError, PostStore, Reaction, StatsRow};

use super::ttl_secs;

/// The value of a deleted (or unknown-after-delete) post's key.
const TOMBSTONE: &[u8] = b"deleted";

/// The cached form of a post. Owned by this adapter, so that a change to how the API renders
/// a `Post` does not silently change (and break) the cache format.
#[derive(Debug, Serialize, Deserialize)]
struct CachedPost {
    id: PostId,
    author_id: UserId,
    author_username: String,
    author_display_name: String,
    content: String,
    created_at: Timestamp,
    // Entries written before replies, mentions and tags existed read as none.
    #[serde(default)]
    in_reply_to: Option<PostId>,
    #[serde(default)]
    mentions: Vec<Mention>,
    #[serde(default)]
    tags: Vec<String>,
}

impl From<&Post> for CachedPost {
    fn from(post: &Post) -> Self {
        // Destructured so that a new field on `Post` fails to compile here until it is cached.
        let Post {
            id,
            author:
                UserSummary {
                    id: author_id,
                    username,
                    display_name,
                },
            content,
            created_at,
            in_reply_to,
            mentions,
            tags,
        } = post;
        Self {
            id: *id,
            author_id: *author_id,
            author_username: username.clone(),
            author_display_name: display_name.clone(),
            content: content.clone(),
            created_at: *created_at,
            in_reply_to: *in_reply_to,
            mentions: mentions.clone(),
            tags: tags.clone(),
        }
    }
}

impl From<CachedPost> for Post {
    fn from(cached: CachedPost) -> Self {
        Post {
            id: cached.id,
            author: UserSummary {
                id: cached.author_id,
                username: cached.author_username,
                display_name: cached.author_display_name,
            },
            content: cached.content,
            created_at: cached.created_at,
            in_reply_to: cached.in_reply_to,
            mentions: cached.mentions,
            tags: cached.tags,
        }
    }
}

/// What the cache says about one post.
#[derive(Debug, PartialEq)]
enum Lookup {
    Hit(Post),
    /// Known to be deleted: not in the store either.
    Gone,
    Miss,
}

/// Reads one cached value; an unreadable value is a miss (with a warning).
fn decode(id: PostId, raw: Option<&[u8]>) -> Lookup {
    let Some(raw) = raw else {
        return Lookup::Miss;
    };
    if raw == TOMBSTONE {
        return Lookup::Gone;
    }
    match serde_json::from_slice::<CachedPost>(raw) {
        Ok(cached) if cached.id == id => Lookup::Hit(cached.into()),
        Ok(cached) => {
            tracing::warn!(%id, cached_id = %cached.id, "post cache entry holds another post; ignored");
            Lookup::Miss
        }
        Err(err) => {
            tracing::warn!(%id, error = %err, "unreadable post cache entry; ignored");
            Lookup::Miss
        }
    }
}

fn encode(post: &Post) -> anyhow::Result<Vec<u8>> {
    serde_json::to_vec(&CachedPost::from(post)).context("serialise a post for the cache")
}

/// `ids` without repeats, in first-seen order.
fn distinct(ids: &[PostId]) -> Vec<PostId> {
    let mut seen = HashSet::with_capacity(ids.len());
    ids.iter().copied().filter(|id| seen.insert(*id)).collect()
}

/// `PostStore` with a Redis read-through cache in front of `post` and `posts`.
pub struct CachedPosts {
    pub inner: Arc<dyn PostStore>,
    pub redis: ConnectionManager,
    /// How long a cached post (or tombstone) lives.
    pub ttl: Duration,
}

impl CachedPosts {
    pub fn new(inner: Arc<dyn PostStore>, redis: ConnectionManager, ttl: Duration) -> Self {
        Self { inner, redis, ttl }
    }

    /// `post:{<uuid>}`.
    pub fn key(id: PostId) -> String {
        format!("post:{{{id}}}")
    }

    /// One `MGET` for all of `ids`, decoded in the same order.
    async fn lookup(&self, ids: &[PostId]) -> anyhow::Result<Vec<Lookup>> {
        let keys: Vec<String> = ids.iter().map(|id| Self::key(*id)).collect();
        let mut redis = self.redis.clone();
        let raw: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
            .arg(&keys)
            .query_async(&mut redis)
            .await
            .context("redis MGET (post cache)")?;
        anyhow::ensure!(
            raw.len() == ids.len(),
            "redis MGET answered {} values for {} keys",
            raw.len(),
            ids.len()
        );
        Ok(ids
            .iter()
            .zip(&raw)
            .map(|(id, raw)| decode(*id, raw.as_deref()))
            .collect())
    }

    /// Caches `posts` unless their keys are taken (by a tombstone, say): one pipeline, and
    /// failures are only logged.
    async fn write_back(&self, posts: &[Post]) {
        if posts.is_empty() {
            return;
        }
        let ttl = ttl_secs(self.ttl);
        let mut pipe = redis::pipe();
        for post in posts {
            match encode(post) {
                Ok(json) => {
                    pipe.cmd("SET")
                        .arg(Self::key(post.id))
                        .arg(json)
                        .arg("NX")
                        .arg("EX")
                        .arg(ttl)
                        .ignore();
                }
                Err(err) => tracing::warn!(post_id = %post.id, error = %err, "post not cached"),
            }
        }
        let mut redis = self.redis.clone();
        if let Err(err) = pipe.exec_async(&mut redis).await {
            tracing::warn!(error = %err, posts = posts.len(), "redis SET (post cache) failed; posts not cached");
        }
    }

    /// Marks a post as gone, whatever the cache held for it.
    async fn tombstone(&self, id: PostId) {
        let mut redis = self.redis.clone();
        let result = redis::cmd("SET")
            .arg(Self::key(id))
            .arg(TOMBSTONE)
            .arg("EX")
            .arg(ttl_secs(self.ttl))
            .exec_async(&mut redis)
            .await;
        if let Err(err) = result {
            tracing::warn!(post_id = %id, error = %err, "redis SET (post cache tombstone) failed; a deleted post may be served until its entry expires");
        }
    }
}

#[async_trait]
impl PostStore for CachedPosts {
    async fn create_post(&self, post: &NewPost, event: &Event) -> Result<Post, CreatePostError> {
        let created = self.inner.create_post(post, event).await?;
        // Readers of the fan-out will ask for it soon.
        self.write_back(std::slice::from_ref(&created)).await;
        Ok(created)
    }

    async fn prune_idempotency_keys(&self, before: Timestamp, max: usize) -> anyhow::Result<u64> {
        self.inner.prune_idempotency_keys(before, max).await
    }

    async fn post(&self, id: PostId) -> anyhow::Result<Option<Post>> {
        match self.lookup(&[id]).await.map(|mut found| found.pop()) {
            Ok(Some(Lookup::Hit(post))) => return Ok(Some(post)),
            Ok(Some(Lookup::Gone)) => return Ok(None),
            Ok(Some(Lookup::Miss) | None) => {}
            Err(err) => {
                tracing::warn!(error = %err, "post cache failed; reading the store");
                return self.inner.post(id).await;
            }
        }
        let loaded = self.inner.post(id).await?;
        if let Some(post) = &loaded {
            self.write_back(std::slice::from_ref(post)).await;
        }
        Ok(loaded)
    }

    async fn delete_post(&self, id: PostId, event: &Event) -> anyhow::Result<bool> {
        let deleted = self.inner.delete_post(id, event).await?;
        // Either way the post is not in the store now.
        self.tombstone(id).await;
        Ok(deleted)
    }

    async fn posts(&self, ids: &[PostId]) -> anyhow::Result<Vec<Post>> {
        let ids = distinct(ids);
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let lookups = match self.lookup(&ids).await {
            Ok(lookups) => lookups,
            Err(err) => {
                tracing::warn!(error = %err, "post cache failed; reading the store");
                return self.inner.posts(&ids).await;
            }
        };
        let mut found = Vec::with_capacity(ids.len());
        let mut missing = Vec::new();
        for (id, lookup) in ids.iter().zip(lookups) {
            match lookup {
                Lookup::Hit(post) => found.push(post),
                Lookup::Gone => {}
                Lookup::Miss => missing.push(*id),
            }
        }
        if !missing.is_empty() {
            let loaded = self.inner.posts(&missing).await?;
            self.write_back(&loaded).await;
            found.extend(loaded);
        }
        Ok(found)
    }

    async fn post_ids_by_authors(
        &self,
        authors: &[UserId],
        before: Option<PostId>,
        limit: usize,
    ) -> anyhow::Result<Vec<PostId>> {
        self.inner.post_ids_by_authors(authors, before, limit).await
    }

    async fn count_by_author(&self, author: UserId) -> anyhow::Result<u64> {
        self.inner.count_by_author(author).await
    }

    // Counts, likes and listings change with every reaction: they are read from the store.

    async fn home_feed(
        &self,
        reader: UserId,
        authors: &[UserId],
        audience: &[UserId],
        before: Option<EntryKey>,
        limit: usize,
    ) -> anyhow::Result<Vec<FeedEntry>> {
        self.inner
            .home_feed(reader, authors, audience, before, limit)
            .await
    }

    async fn user_feed(
        &self,
        author: UserId,
        before: Option<EntryKey>,
        limit: usize,
    ) -> anyhow::Result<Vec<FeedEntry>> {
        self.inner.user_feed(author, before, limit).await
    }

    async fn post_ids_by_tag(
        &self,
        tag: &str,
        before: Option<PostId>,
        limit: usize,
    ) -> anyhow::Result<Vec<PostId>> {
        self.inner.post_ids_by_tag(tag, before, limit).await
    }

    async fn reply_ids(
        &self,
        post: PostId,
        after: Option<PostId>,
        limit: usize,
    ) -> anyhow::Result<Vec<PostId>> {
        self.inner.reply_ids(post, after, limit).await
    }

    async fn replies_of(
        &self,
        parents: &[PostId],
        limit: usize,
    ) -> anyhow::Result<Vec<(PostId, PostId)>> {
        self.inner.replies_of(parents, limit).await
    }

    async fn stats(&self, ids: &[PostId], reader: Option<UserId>) -> anyhow::Result<Vec<StatsRow>> {
        self.inner.stats(ids, reader).await
    }

    async fn like(
        &self,
        post: PostId,
        user: UserId,
        at: Timestamp,
        event: &Event,
    ) -> anyhow::Result<Reaction> {
        self.inner.like(post, user, at, event).await
    }

    async fn unlike(&self, post: PostId, user: UserId) -> anyhow::Result<Reaction> {
        self.inner.unlike(post, user).await
    }

    async fn likers(
        &self,
        post: PostId,
        after: Option<RelationCursor>,
        limit: usize,
    ) -> anyhow::Result<Vec<Relation>> {
        self.inner.likers(post, after, limit).await
    }

    async fn repost(
        &self,
        post: PostId,
        user: UserId,
        entry: EntryKey,
        at: Timestamp,
        event: &Event,
    ) -> anyhow::Result<Reaction> {
        self.inner.repost(post, user, entry, at, event).await
    }

    async fn repost_entry(&self, post: PostId, user: UserId) -> anyhow::Result<Option<EntryKey>> {
        self.inner.repost_entry(post, user).await
    }

    async fn unrepost(
        &self,
        post: PostId,
        user: UserId,
        event: &Event,
    ) -> anyhow::Result<Reaction> {
        self.inner.unrepost(post, user, event).await
    }

    async fn reposters(
        &self,
        post: PostId,
        after: Option<RelationCursor>,
        limit: usize,
    ) -> anyhow::Result<Vec<Relation>> {
        self.inner.reposters(post, after, limit).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Post {
        Post {
            id: PostId::new(),
            author: UserSummary {
                id: UserId::new(),
                username: "ann".into(),
                display_name: "Ann \"quoted\" Lee".into(),
            },
            content: "hello, world ✓ @bob #Tag".into(),
            created_at: Timestamp::from_millis(1_764_028_800_123),
            in_reply_to: Some(PostId::new()),
            mentions: vec![Mention {
                id: UserId::new(),
                username: "bob".into(),
            }],
            tags: vec!["tag".into()],
        }
    }

    #[test]
    fn redis_post_key_is_hash_tagged() {
        let id = PostId::new();
        assert_eq!(CachedPosts::key(id), format!("post:{{{id}}}"));
    }

    #[test]
    fn redis_post_cache_round_trips_a_post() -> anyhow::Result<()> {
        let post = sample();
        let raw = encode(&post)?;
        assert_eq!(decode(post.id, Some(&raw)), Lookup::Hit(post));
        Ok(())
    }

    #[test]
    fn redis_post_cache_reads_tombstones_misses_and_garbage() -> anyhow::Result<()> {
        let post = sample();
        assert_eq!(decode(post.id, None), Lookup::Miss);
        assert_eq!(decode(post.id, Some(TOMBSTONE)), Lookup::Gone);
        assert_eq!(decode(post.id, Some(b"{not json")), Lookup::Miss);
        // An entry that holds another post is not trusted.
        let raw = encode(&post)?;
        assert_eq!(decode(PostId::new(), Some(&raw)), Lookup::Miss);
        Ok(())
    }

    #[test]
    fn redis_post_cache_asks_once_per_id() {
        let (a, b) = (PostId::new(), PostId::new());
        assert_eq!(distinct(&[b, a, b, a, b]), vec![b, a]);
        assert_eq!(distinct(&[]), Vec::<PostId>::new());
    }
}
