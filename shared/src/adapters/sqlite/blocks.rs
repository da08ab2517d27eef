use anyhow::Context as _;
use async_trait::async_trait;
use sqlx::Row;

use super::{Sqlite, insert_outbox, limit, parse};
use crate::domain::{
    Event, Hidden, Relation, RelationCursor, Restriction, Standing, Timestamp, UserId,
};
use crate::ports::BlockStore;

fn kind(row: &sqlx::sqlite::SqliteRow) -> anyhow::Result<Restriction> {
    let kind: String = row.try_get("kind")?;
    Restriction::parse(&kind).with_context(|| format!("unknown restriction kind {kind:?}"))
}

#[async_trait]
impl BlockStore for Sqlite {
    async fn restrict(
        &self,
        kind: Restriction,
        user: UserId,
        other: UserId,
        at: Timestamp,
        event: Option<&Event>,
    ) -> anyhow::Result<bool> {
        let mut tx = self.pool.begin().await.context("begin")?;
        // Both users must exist: an erasure racing the block leaves no row behind.
        let added = sqlx::query(
            "INSERT INTO restrictions (user_id, kind, other_id, created_at)
             SELECT ?1, ?2, ?3, ?4
             WHERE EXISTS (SELECT 1 FROM users WHERE id = ?1)
               AND EXISTS (SELECT 1 FROM users WHERE id = ?3)
             ON CONFLICT (user_id, kind, other_id) DO NOTHING",
        )
        .bind(user.to_string())
        .bind(kind.as_str())
        .bind(other.to_string())
        .bind(at.millis())
        .execute(&mut *tx)
        .await
        .context("insert restriction")?
        .rows_affected()
            == 1;
        if let (true, Some(event)) = (added, event) {
            insert_outbox(&mut tx, event).await?;
        }
        tx.commit().await.context("commit restriction")?;
        Ok(added)
    }

    async fn lift(&self, kind: Restriction, user: UserId, other: UserId) -> anyhow::Result<bool> {
        let removed = sqlx::query(
            "DELETE FROM restrictions WHERE user_id = ?1 AND kind = ?2 AND other_id = ?3",
        )
        .bind(user.to_string())
        .bind(kind.as_str())
        .bind(other.to_string())
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(removed == 1)
    }

    async fn restricted(
        &self,
        kind: Restriction,
        user: UserId,
        after: Option<RelationCursor>,
        max: usize,
    ) -> anyhow::Result<Vec<Relation>> {
        let rows = sqlx::query(
            "SELECT other_id, created_at FROM restrictions
             WHERE user_id = ?1 AND kind = ?2 AND (created_at, other_id) < (?3, ?4)
             ORDER BY created_at DESC, other_id DESC LIMIT ?5",
        )
        .bind(user.to_string())
        .bind(kind.as_str())
        .bind(after.map_or(i64::MAX, |c| c.since.millis()))
        .bind(after.map_or_else(|| "~".to_owned(), |c| c.user.to_string()))
        .bind(limit(max))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Relation {
                    user: parse(row.try_get("other_id")?)?,
                    since: Timestamp::from_millis(row.try_get("created_at")?),
                })
            })
            .collect()
    }

    async fn standing(&self, user: UserId, other: UserId) -> anyhow::Result<Standing> {
        let rows = sqlx::query(
            "SELECT user_id = ?1 AS mine, kind FROM restrictions
             WHERE (user_id = ?1 AND other_id = ?2) OR (user_id = ?2 AND other_id = ?1)",
        )
        .bind(user.to_string())
        .bind(other.to_string())
        .fetch_all(&self.pool)
        .await?;
        let mut standing = Standing::default();
        for row in &rows {
            standing.record(row.try_get("mine")?, kind(row)?);
        }
        Ok(standing)
    }

    async fn hidden_from(&self, reader: UserId) -> anyhow::Result<Hidden> {
        let rows = sqlx::query(
            "SELECT other_id AS other, kind FROM restrictions WHERE user_id = ?1
             UNION ALL
             SELECT user_id, kind FROM restrictions WHERE other_id = ?1 AND kind = 'block'",
        )
        .bind(reader.to_string())
        .fetch_all(&self.pool)
        .await?;
        let mut hidden = Hidden::default();
        for row in &rows {
            hidden.record(parse(row.try_get("other")?)?, kind(row)?);
        }
        Ok(hidden)
    }
}
