//! The follow graph (SQLite embedded, Neo4j in production).

use async_trait::async_trait;

use crate::domain::{Relation, RelationCursor, Timestamp, UserId};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FollowCounts {
    pub followers: u64,
    pub following: u64,
}

#[async_trait]
pub trait SocialGraph: Send + Sync + 'static {
    /// Creates the user's node; a second call changes nothing.
    async fn add_user(&self, user: UserId) -> anyhow::Result<()>;

    /// Makes `follower` follow `followee` since `since`, creating either node if missing.
    /// Returns true when the edge is new; an existing edge keeps its original `since`.
    async fn follow(
        &self,
        follower: UserId,
        followee: UserId,
        since: Timestamp,
    ) -> anyhow::Result<bool>;

    /// Removes the edge; returns false when there was none.
    async fn unfollow(&self, follower: UserId, followee: UserId) -> anyhow::Result<bool>;

    async fn is_following(&self, follower: UserId, followee: UserId) -> anyhow::Result<bool>;

    /// Who follows `user`, newest relation first, strictly after `after`.
    async fn followers(
        &self,
        user: UserId,
        after: Option<RelationCursor>,
        limit: usize,
    ) -> anyhow::Result<Vec<Relation>>;

    /// Whom `user` follows, newest relation first, strictly after `after`.
    async fn following(
        &self,
        user: UserId,
        after: Option<RelationCursor>,
        limit: usize,
    ) -> anyhow::Result<Vec<Relation>>;

    async fn counts(&self, user: UserId) -> anyhow::Result<FollowCounts>;

    /// Every user that `user` follows.
    async fn following_ids(&self, user: UserId) -> anyhow::Result<Vec<UserId>>;

    /// A chunk of `user`'s followers in id order, strictly after `after`: fan-out walks them
    /// chunk by chunk instead of loading millions at once.
    async fn follower_ids(
        &self,
        user: UserId,
        after: Option<UserId>,
        limit: usize,
    ) -> anyhow::Result<Vec<UserId>>;

    /// The users `user` follows who have at least `min_followers` followers: the authors that
    /// hybrid fan-out merges in at read time.
    async fn followees_with_min_followers(
        &self,
        user: UserId,
        min_followers: u64,
    ) -> anyhow::Result<Vec<UserId>>;

    /// Whether anyone at all has at least `min_followers` followers. Most deployments have no
    /// one above the fan-out threshold; a feed read that knows this skips the query above.
    async fn has_users_with_min_followers(&self, min_followers: u64) -> anyhow::Result<bool>;

    /// Takes `user` out of the graph with every edge to or from it, the other ends' counters
    /// following; a second call changes nothing.
    async fn remove_user(&self, user: UserId) -> anyhow::Result<()>;

    /// Drops any cached view of `user`'s relations, so the next read sees the graph. A store
    /// that caches nothing has nothing to do.
    async fn refresh(&self, _user: UserId) -> anyhow::Result<()> {
        Ok(())
    }
}
