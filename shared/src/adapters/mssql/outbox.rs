use anyhow::Context as _;
use async_trait::async_trait;

use super::{Mssql, OutboxRow, column, count, id_param, limit, sql, time_param};
use crate::domain::{Event, EventId, Timestamp, TraceContext};
use crate::ports::{Outbox, OutboxEntry, ProcessedEvents};

#[async_trait]
impl Outbox for Mssql {
    async fn enqueue(&self, event: &Event) -> anyhow::Result<()> {
        let outbox = OutboxRow::new(event)?;
        let mut conn = self.conn().await?;
        conn.execute(
            sql::ENQUEUE,
            &[
                &outbox.id,
                &outbox.kind,
                &outbox.payload,
                &outbox.occurred_at,
                &outbox.trace,
            ],
        )
        .await
        .context("insert outbox row")?;
        Ok(())
    }

    async fn pending(&self, max: usize) -> anyhow::Result<Vec<OutboxEntry>> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let mut conn = self.conn().await?;
        let rows = conn
            .query(sql::PENDING, &[&limit(max)])
            .await?
            .into_first_result()
            .await?;
        rows.iter()
            .map(|row| {
                let payload: &str = column(row, "payload")?;
                let attempts: i32 = column(row, "attempts")?;
                let trace: Option<&str> = row.try_get("trace_context")?;
                let mut event = Event::from_json(payload.as_bytes())?;
                event.trace = trace.and_then(TraceContext::parse);
                Ok(OutboxEntry {
                    event,
                    attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                })
            })
            .collect()
    }

    async fn mark_sent(&self, id: EventId) -> anyhow::Result<()> {
        let mut conn = self.conn().await?;
        conn.execute(sql::MARK_SENT, &[&id_param(id.as_uuid())])
            .await?;
        Ok(())
    }

    async fn mark_failed(&self, id: EventId, error: &str, give_up: bool) -> anyhow::Result<()> {
        let mut conn = self.conn().await?;
        conn.execute(
            sql::MARK_FAILED,
            &[&id_param(id.as_uuid()), &error, &give_up],
        )
        .await?;
        Ok(())
    }

    async fn oldest_unsent(&self) -> anyhow::Result<Option<Timestamp>> {
        let mut conn = self.conn().await?;
        let row = conn
            .query(sql::OLDEST_UNSENT, &[])
            .await?
            .into_row()
            .await?
            .context("no answer to OLDEST_UNSENT")?;
        let oldest: Option<chrono::DateTime<chrono::Utc>> = row.try_get("oldest")?;
        Ok(oldest.map(|at| Timestamp::from_millis(at.timestamp_millis())))
    }

    async fn prune_sent(&self, before: Timestamp, max: usize) -> anyhow::Result<u64> {
        let mut conn = self.conn().await?;
        let rows = conn
            .query(sql::PRUNE_SENT, &[&time_param(before), &limit(max)])
            .await?;
        pruned(rows.into_row().await?)
    }
}

#[async_trait]
impl ProcessedEvents for Mssql {
    async fn is_processed(&self, consumer: &str, id: EventId) -> anyhow::Result<bool> {
        let mut conn = self.conn().await?;
        let found = conn
            .query(sql::IS_PROCESSED, &[&consumer, &id_param(id.as_uuid())])
            .await?
            .into_row()
            .await?;
        Ok(found.is_some())
    }

    async fn mark_processed(&self, consumer: &str, id: EventId) -> anyhow::Result<()> {
        let mut conn = self.conn().await?;
        conn.execute(sql::MARK_PROCESSED, &[&consumer, &id_param(id.as_uuid())])
            .await?;
        Ok(())
    }

    async fn prune(&self, before: Timestamp, max: usize) -> anyhow::Result<u64> {
        let mut conn = self.conn().await?;
        let rows = conn
            .query(sql::PRUNE_PROCESSED, &[&time_param(before), &limit(max)])
            .await?;
        pruned(rows.into_row().await?)
    }
}

/// How many rows a `PRUNE_*` statement says it deleted.
fn pruned(row: Option<tiberius::Row>) -> anyhow::Result<u64> {
    let row = row.context("a prune answered no row")?;
    Ok(u64::try_from(column::<i32>(&row, "pruned")?).unwrap_or(0))
}

/// Exposed for operators and the contract tests: rows parked after repeated failures.
impl Mssql {
    pub async fn given_up_count(&self) -> anyhow::Result<u64> {
        let mut conn = self.conn().await?;
        let row = conn
            .simple_query(sql::GIVEN_UP_COUNT)
            .await?
            .into_row()
            .await?
            .context("no answer to GIVEN_UP_COUNT")?;
        Ok(count(column(&row, "n")?))
    }
}
