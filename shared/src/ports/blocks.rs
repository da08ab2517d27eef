//! Blocks and mutes (DESIGN 4.4), kept beside users in the SQL store (SQLite embedded, SQL
//! Server in production): an erasure takes a user's blocks and mutes with it in the same
//! transaction, and notifications are filtered by them in the same query that reads them.

use async_trait::async_trait;

use crate::domain::{
    Event, Hidden, Relation, RelationCursor, Restriction, Standing, Timestamp, UserId,
};

#[async_trait]
pub trait BlockStore: Send + Sync + 'static {
    /// `user` blocks or mutes `other` from `at` on, storing `event` in the same transaction
    /// when one is given and the restriction is new. Returns true when it is new; an existing
    /// one keeps its original time.
    async fn restrict(
        &self,
        kind: Restriction,
        user: UserId,
        other: UserId,
        at: Timestamp,
        event: Option<&Event>,
    ) -> anyhow::Result<bool>;

    /// `user` no longer blocks or mutes `other`. Returns false when they did not.
    async fn lift(&self, kind: Restriction, user: UserId, other: UserId) -> anyhow::Result<bool>;

    /// Whom `user` blocks or mutes, newest first, strictly after `after`.
    async fn restricted(
        &self,
        kind: Restriction,
        user: UserId,
        after: Option<RelationCursor>,
        limit: usize,
    ) -> anyhow::Result<Vec<Relation>>;

    /// The blocks and mutes between `user` and `other`, from `user`'s side.
    async fn standing(&self, user: UserId, other: UserId) -> anyhow::Result<Standing>;

    /// Everyone in a block with `reader` (either side) and everyone `reader` mutes.
    async fn hidden_from(&self, reader: UserId) -> anyhow::Result<Hidden>;
}
