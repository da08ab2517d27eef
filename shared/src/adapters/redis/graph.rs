//! Cached follower/following lists: a read-through Redis decorator over the social graph.
//!
//! Cached: whom a user follows (read on every feed rebuild and deep page). The list is dropped
//! when the user follows or unfollows, and again by the `feed.follows` consumer through
//! [`SocialGraph::refresh`], so a drop that failed during a Redis outage is retried with the
//! event. A Redis failure falls back to the graph.
//!
//! Not cached: which followees are popular enough for hybrid fan-out. Another user's follow can
//! change that for every follower of the followee, so a cached copy could only be kept right by
//! expiring it, and a feed that lags a follow is exactly what the contract forbids.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::AsyncCommands;
use redis::aio::ConnectionManager;

use crate::domain::{Relation, RelationCursor, Timestamp, UserId};
use crate::ports::{FollowCounts, SocialGraph};

use super::ttl_secs;

pub struct CachedGraph {
    inner: Arc<dyn SocialGraph>,
    redis: ConnectionManager,
    ttl: Duration,
}

/// `graph:{<uuid>}:following`.
fn following_key(user: UserId) -> String {
    format!("graph:{{{user}}}:following")
}

impl CachedGraph {
    pub fn new(inner: Arc<dyn SocialGraph>, redis: ConnectionManager, ttl: Duration) -> Self {
        Self { inner, redis, ttl }
    }

    async fn cached(&self, key: &str) -> Option<Vec<UserId>> {
        let mut redis = self.redis.clone();
        match redis.get::<_, Option<String>>(key).await {
            Ok(Some(json)) => serde_json::from_str(&json).ok(),
            Ok(None) => None,
            Err(err) => {
                tracing::warn!(error = %err, "graph cache read failed; asking the graph");
                None
            }
        }
    }

    async fn store(&self, key: &str, ids: &[UserId]) {
        let Ok(json) = serde_json::to_string(ids) else {
            return;
        };
        let mut redis = self.redis.clone();
        let written: redis::RedisResult<()> = redis
            .set_ex(key, json, u64::try_from(ttl_secs(self.ttl)).unwrap_or(1))
            .await;
        if let Err(err) = written {
            tracing::warn!(error = %err, "graph cache write failed");
        }
    }

    /// Best effort at write time; the consumer's `refresh` makes it certain.
    async fn forget(&self, user: UserId) {
        if let Err(err) = self.drop_lists(user).await {
            tracing::warn!(error = %err, %user, "graph cache drop failed; the follow event retries it");
        }
    }

    async fn drop_lists(&self, user: UserId) -> anyhow::Result<()> {
        let mut redis = self.redis.clone();
        let _: () = redis.del(following_key(user)).await?;
        Ok(())
    }
}

#[async_trait]
impl SocialGraph for CachedGraph {
    async fn add_user(&self, user: UserId) -> anyhow::Result<()> {
        self.inner.add_user(user).await
    }

    /// The followers' cached following lists name the user: each is dropped after the removal.
    async fn remove_user(&self, user: UserId) -> anyhow::Result<()> {
        let mut followers = Vec::new();
        let mut after = None;
        loop {
            let chunk = self.inner.follower_ids(user, after, 1_000).await?;
            after = chunk.last().copied();
            let full = chunk.len() == 1_000;
            followers.extend(chunk);
            if !full {
                break;
            }
        }
        self.inner.remove_user(user).await?;
        for follower in followers.into_iter().chain([user]) {
            self.drop_lists(follower).await?;
        }
        Ok(())
    }

    async fn follow(
        &self,
        follower: UserId,
        followee: UserId,
        since: Timestamp,
    ) -> anyhow::Result<bool> {
        let created = self.inner.follow(follower, followee, since).await?;
        self.forget(follower).await;
        Ok(created)
    }

    async fn unfollow(&self, follower: UserId, followee: UserId) -> anyhow::Result<bool> {
        let removed = self.inner.unfollow(follower, followee).await?;
        self.forget(follower).await;
        Ok(removed)
    }

    async fn is_following(&self, follower: UserId, followee: UserId) -> anyhow::Result<bool> {
        self.inner.is_following(follower, followee).await
    }

    async fn followers(
        &self,
        user: UserId,
        after: Option<RelationCursor>,
        limit: usize,
    ) -> anyhow::Result<Vec<Relation>> {
        self.inner.followers(user, after, limit).await
    }

    async fn following(
        &self,
        user: UserId,
        after: Option<RelationCursor>,
        limit: usize,
    ) -> anyhow::Result<Vec<Relation>> {
        self.inner.following(user, after, limit).await
    }

    async fn counts(&self, user: UserId) -> anyhow::Result<FollowCounts> {
        self.inner.counts(user).await
    }

    async fn following_ids(&self, user: UserId) -> anyhow::Result<Vec<UserId>> {
        let key = following_key(user);
        if let Some(ids) = self.cached(&key).await {
            return Ok(ids);
        }
        let ids = self.inner.following_ids(user).await?;
        self.store(&key, &ids).await;
        Ok(ids)
    }

    async fn follower_ids(
        &self,
        user: UserId,
        after: Option<UserId>,
        limit: usize,
    ) -> anyhow::Result<Vec<UserId>> {
        self.inner.follower_ids(user, after, limit).await
    }

    async fn followees_with_min_followers(
        &self,
        user: UserId,
        min_followers: u64,
    ) -> anyhow::Result<Vec<UserId>> {
        self.inner
            .followees_with_min_followers(user, min_followers)
            .await
    }

    async fn has_users_with_min_followers(&self, min_followers: u64) -> anyhow::Result<bool> {
        self.inner.has_users_with_min_followers(min_followers).await
    }

    async fn refresh(&self, user: UserId) -> anyhow::Result<()> {
        self.inner.refresh(user).await?;
        self.drop_lists(user).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_graph_key_is_per_user() {
        let user = UserId::new();
        assert_eq!(following_key(user), format!("graph:{{{user}}}:following"));
    }
}
