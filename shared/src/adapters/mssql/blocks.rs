//! [`BlockStore`] on SQL Server, with the SQLite adapter's semantics (see `0008_blocks.sql` for
//! the table and `sql.rs` for the statements).

use anyhow::Context as _;
use async_trait::async_trait;

use super::posts::{newest_first_bound, relations};
use super::{Mssql, OutboxRow, column, id_param, limit, sql, text_column, time_param, uuid_column};
use crate::domain::{
    Event, Hidden, Relation, RelationCursor, Restriction, Standing, Timestamp, UserId,
};
use crate::ports::BlockStore;

fn kind(row: &tiberius::Row) -> anyhow::Result<Restriction> {
    let kind = text_column(row, "kind")?;
    Restriction::parse(&kind).with_context(|| format!("unknown restriction kind {kind:?}"))
}

#[async_trait]
impl BlockStore for Mssql {
    async fn restrict(
        &self,
        kind: Restriction,
        user: UserId,
        other: UserId,
        at: Timestamp,
        event: Option<&Event>,
    ) -> anyhow::Result<bool> {
        let outbox = event.map(OutboxRow::new).transpose()?;
        let mut conn = self.conn().await?;
        let row = conn
            .query(
                sql::RESTRICT,
                &[
                    &outbox.as_ref().map(|o| o.id.as_slice()),
                    &outbox.as_ref().map(|o| o.kind),
                    &outbox.as_ref().map(|o| o.payload.as_str()),
                    &outbox.as_ref().map(|o| o.occurred_at),
                    &id_param(user.as_uuid()),
                    &kind.as_str(),
                    &id_param(other.as_uuid()),
                    &time_param(at),
                    &outbox.as_ref().and_then(|o| o.trace.as_deref()),
                ],
            )
            .await
            .context("insert restriction")?
            .into_row()
            .await
            .context("insert restriction")?
            .context("no answer to RESTRICT")?;
        Ok(column::<i32>(&row, "added")? > 0)
    }

    async fn lift(&self, kind: Restriction, user: UserId, other: UserId) -> anyhow::Result<bool> {
        let mut conn = self.conn().await?;
        let row = conn
            .query(
                sql::LIFT_RESTRICTION,
                &[
                    &id_param(user.as_uuid()),
                    &kind.as_str(),
                    &id_param(other.as_uuid()),
                ],
            )
            .await
            .context("delete restriction")?
            .into_row()
            .await
            .context("delete restriction")?
            .context("no answer to LIFT_RESTRICTION")?;
        Ok(column::<i32>(&row, "removed")? > 0)
    }

    async fn restricted(
        &self,
        kind: Restriction,
        user: UserId,
        after: Option<RelationCursor>,
        max: usize,
    ) -> anyhow::Result<Vec<Relation>> {
        let (since, other) = newest_first_bound(after);
        let mut conn = self.conn().await?;
        let rows = conn
            .query(
                sql::RESTRICTED,
                &[
                    &id_param(user.as_uuid()),
                    &kind.as_str(),
                    &since,
                    &other,
                    &limit(max),
                ],
            )
            .await?
            .into_first_result()
            .await?;
        relations(&rows, "created_at")
    }

    async fn standing(&self, user: UserId, other: UserId) -> anyhow::Result<Standing> {
        let mut conn = self.conn().await?;
        let rows = conn
            .query(
                sql::STANDING,
                &[&id_param(user.as_uuid()), &id_param(other.as_uuid())],
            )
            .await?
            .into_first_result()
            .await?;
        let mut standing = Standing::default();
        for row in &rows {
            standing.record(column::<i32>(row, "mine")? == 1, kind(row)?);
        }
        Ok(standing)
    }

    async fn hidden_from(&self, reader: UserId) -> anyhow::Result<Hidden> {
        let mut conn = self.conn().await?;
        let rows = conn
            .query(sql::HIDDEN_FROM, &[&id_param(reader.as_uuid())])
            .await?
            .into_first_result()
            .await?;
        let mut hidden = Hidden::default();
        for row in &rows {
            hidden.record(UserId::from_uuid(uuid_column(row, "other")?), kind(row)?);
        }
        Ok(hidden)
    }
}
