use anyhow::Context as _;
use async_trait::async_trait;
use sqlx::Row;

use super::{Sqlite, count, limit, parse};
use crate::domain::{Relation, RelationCursor, Timestamp, UserId};
use crate::ports::{FollowCounts, SocialGraph};

fn relations(rows: &[sqlx::sqlite::SqliteRow]) -> anyhow::Result<Vec<Relation>> {
    rows.iter()
        .map(|row| {
            Ok(Relation {
                user: parse(row.try_get("other")?)?,
                since: Timestamp::from_millis(row.try_get("since")?),
            })
        })
        .collect()
}

fn ids(rows: &[sqlx::sqlite::SqliteRow]) -> anyhow::Result<Vec<UserId>> {
    rows.iter().map(|row| parse(row.try_get(0)?)).collect()
}

// Keyset bounds are always bound, with a sentinel for "from the start" (`i64::MAX` and the empty
// string sort past every row), never written as `(?2 IS NULL OR col > ?2)`: SQLite cannot use
// an index range for that OR, and would rescan every follower for every chunk.
#[async_trait]
impl SocialGraph for Sqlite {
    async fn add_user(&self, user: UserId) -> anyhow::Result<()> {
        sqlx::query("INSERT OR IGNORE INTO graph_nodes (user_id) VALUES (?1)")
            .bind(user.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn remove_user(&self, user: UserId) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await.context("begin")?;
        for statement in [
            "UPDATE follower_counts SET followers = followers - 1
             WHERE user_id IN (SELECT followee_id FROM follows WHERE follower_id = ?1)",
            "DELETE FROM follows WHERE follower_id = ?1",
            "DELETE FROM follows WHERE followee_id = ?1",
            "DELETE FROM follower_counts WHERE user_id = ?1",
            "DELETE FROM graph_nodes WHERE user_id = ?1",
        ] {
            sqlx::query(statement)
                .bind(user.to_string())
                .execute(&mut *tx)
                .await
                .context("remove user from the graph")?;
        }
        tx.commit().await.context("commit removal")?;
        Ok(())
    }

    async fn follow(
        &self,
        follower: UserId,
        followee: UserId,
        since: Timestamp,
    ) -> anyhow::Result<bool> {
        let mut tx = self.pool.begin().await.context("begin")?;
        let created = sqlx::query(
            "INSERT OR IGNORE INTO follows (follower_id, followee_id, since) VALUES (?1, ?2, ?3)",
        )
        .bind(follower.to_string())
        .bind(followee.to_string())
        .bind(since.millis())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        sqlx::query("INSERT OR IGNORE INTO graph_nodes (user_id) VALUES (?1), (?2)")
            .bind(follower.to_string())
            .bind(followee.to_string())
            .execute(&mut *tx)
            .await?;
        if created {
            sqlx::query(
                "INSERT INTO follower_counts (user_id, followers) VALUES (?1, 1)
                 ON CONFLICT (user_id) DO UPDATE SET followers = followers + 1",
            )
            .bind(followee.to_string())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await.context("commit follow")?;
        Ok(created)
    }

    async fn unfollow(&self, follower: UserId, followee: UserId) -> anyhow::Result<bool> {
        let mut tx = self.pool.begin().await.context("begin")?;
        let removed =
            sqlx::query("DELETE FROM follows WHERE follower_id = ?1 AND followee_id = ?2")
                .bind(follower.to_string())
                .bind(followee.to_string())
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
        if removed {
            sqlx::query("UPDATE follower_counts SET followers = followers - 1 WHERE user_id = ?1")
                .bind(followee.to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await.context("commit unfollow")?;
        Ok(removed)
    }

    async fn is_following(&self, follower: UserId, followee: UserId) -> anyhow::Result<bool> {
        let found =
            sqlx::query("SELECT 1 FROM follows WHERE follower_id = ?1 AND followee_id = ?2")
                .bind(follower.to_string())
                .bind(followee.to_string())
                .fetch_optional(&self.pool)
                .await?;
        Ok(found.is_some())
    }

    async fn followers(
        &self,
        user: UserId,
        after: Option<RelationCursor>,
        max: usize,
    ) -> anyhow::Result<Vec<Relation>> {
        let rows = sqlx::query(
            "SELECT follower_id AS other, since FROM follows
             WHERE followee_id = ?1 AND (since, follower_id) < (?2, ?3)
             ORDER BY since DESC, follower_id DESC LIMIT ?4",
        )
        .bind(user.to_string())
        .bind(after.map_or(i64::MAX, |c| c.since.millis()))
        .bind(after.map_or_else(String::new, |c| c.user.to_string()))
        .bind(limit(max))
        .fetch_all(&self.pool)
        .await?;
        relations(&rows)
    }

    async fn following(
        &self,
        user: UserId,
        after: Option<RelationCursor>,
        max: usize,
    ) -> anyhow::Result<Vec<Relation>> {
        let rows = sqlx::query(
            "SELECT followee_id AS other, since FROM follows
             WHERE follower_id = ?1 AND (since, followee_id) < (?2, ?3)
             ORDER BY since DESC, followee_id DESC LIMIT ?4",
        )
        .bind(user.to_string())
        .bind(after.map_or(i64::MAX, |c| c.since.millis()))
        .bind(after.map_or_else(String::new, |c| c.user.to_string()))
        .bind(limit(max))
        .fetch_all(&self.pool)
        .await?;
        relations(&rows)
    }

    async fn counts(&self, user: UserId) -> anyhow::Result<FollowCounts> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM follows WHERE followee_id = ?1) AS followers,
                    (SELECT COUNT(*) FROM follows WHERE follower_id = ?1) AS following",
        )
        .bind(user.to_string())
        .fetch_one(&self.pool)
        .await?;
        Ok(FollowCounts {
            followers: count(row.try_get("followers")?),
            following: count(row.try_get("following")?),
        })
    }

    async fn following_ids(&self, user: UserId) -> anyhow::Result<Vec<UserId>> {
        let rows = sqlx::query("SELECT followee_id FROM follows WHERE follower_id = ?1")
            .bind(user.to_string())
            .fetch_all(&self.pool)
            .await?;
        ids(&rows)
    }

    async fn follower_ids(
        &self,
        user: UserId,
        after: Option<UserId>,
        max: usize,
    ) -> anyhow::Result<Vec<UserId>> {
        let rows = sqlx::query(
            "SELECT follower_id FROM follows
             WHERE followee_id = ?1 AND follower_id > ?2
             ORDER BY follower_id LIMIT ?3",
        )
        .bind(user.to_string())
        .bind(after.map_or_else(String::new, |id| id.to_string()))
        .bind(limit(max))
        .fetch_all(&self.pool)
        .await?;
        ids(&rows)
    }

    async fn followees_with_min_followers(
        &self,
        user: UserId,
        min_followers: u64,
    ) -> anyhow::Result<Vec<UserId>> {
        let rows = sqlx::query(
            // Driven from the (few) users above the threshold, through the index on
            // `followers`: the cost does not grow with the reader's followees.
            "SELECT c.user_id FROM follower_counts c
             WHERE c.followers >= ?2
               AND EXISTS (SELECT 1 FROM follows f
                           WHERE f.follower_id = ?1 AND f.followee_id = c.user_id)",
        )
        .bind(user.to_string())
        .bind(i64::try_from(min_followers).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        ids(&rows)
    }

    async fn has_users_with_min_followers(&self, min_followers: u64) -> anyhow::Result<bool> {
        let any: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM follower_counts WHERE followers >= ?1)",
        )
        .bind(i64::try_from(min_followers).unwrap_or(i64::MAX))
        .fetch_one(&self.pool)
        .await?;
        Ok(any)
    }
}
