use anyhow::Context as _;
use async_trait::async_trait;
use sqlx::Row;

use super::{Sqlite, insert_outbox, limit};
use crate::domain::{Event, EventId, Timestamp, TraceContext};
use crate::ports::{Outbox, OutboxEntry, ProcessedEvents};

#[async_trait]
impl Outbox for Sqlite {
    async fn enqueue(&self, event: &Event) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        insert_outbox(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn pending(&self, max: usize) -> anyhow::Result<Vec<OutboxEntry>> {
        let rows = sqlx::query(
            "SELECT payload, attempts, trace_context FROM outbox
             WHERE sent_at IS NULL AND given_up_at IS NULL AND next_attempt_at <= ?1
             ORDER BY id LIMIT ?2",
        )
        .bind(Timestamp::now().millis())
        .bind(limit(max))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let payload: String = row.try_get("payload")?;
                let attempts: i64 = row.try_get("attempts")?;
                let trace: Option<String> = row.try_get("trace_context")?;
                let mut event = Event::from_json(payload.as_bytes())?;
                event.trace = trace.as_deref().and_then(TraceContext::parse);
                Ok(OutboxEntry {
                    event,
                    attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                })
            })
            .collect()
    }

    async fn mark_sent(&self, id: EventId) -> anyhow::Result<()> {
        sqlx::query("UPDATE outbox SET sent_at = ?2, last_error = NULL WHERE id = ?1")
            .bind(id.to_string())
            .bind(Timestamp::now().millis())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn mark_failed(&self, id: EventId, error: &str, give_up: bool) -> anyhow::Result<()> {
        let now = Timestamp::now().millis();
        // Back-off before the next try: 1, 2, 4, ... seconds, capped at a minute.
        sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?2,
                    next_attempt_at = ?3 + 1000 * MIN(60, 1 << MIN(attempts, 6)),
                    given_up_at = CASE WHEN ?4 THEN ?3 ELSE NULL END
             WHERE id = ?1",
        )
        .bind(id.to_string())
        .bind(error)
        .bind(now)
        .bind(give_up)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn oldest_unsent(&self) -> anyhow::Result<Option<Timestamp>> {
        // Ids are time-ordered: the first one of the pending index is the oldest.
        let oldest: Option<i64> = sqlx::query_scalar(
            "SELECT occurred_at FROM outbox WHERE sent_at IS NULL AND given_up_at IS NULL
             ORDER BY id LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(oldest.map(Timestamp::from_millis))
    }

    async fn prune_sent(&self, before: Timestamp, max: usize) -> anyhow::Result<u64> {
        let done = sqlx::query(
            "DELETE FROM outbox WHERE id IN (
                 SELECT id FROM outbox WHERE sent_at IS NOT NULL AND sent_at < ?1 LIMIT ?2)",
        )
        .bind(before.millis())
        .bind(limit(max))
        .execute(&self.pool)
        .await
        .context("prune sent outbox rows")?;
        Ok(done.rows_affected())
    }
}

#[async_trait]
impl ProcessedEvents for Sqlite {
    async fn is_processed(&self, consumer: &str, id: EventId) -> anyhow::Result<bool> {
        let found =
            sqlx::query("SELECT 1 FROM processed_events WHERE consumer = ?1 AND event_id = ?2")
                .bind(consumer)
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?;
        Ok(found.is_some())
    }

    async fn mark_processed(&self, consumer: &str, id: EventId) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT OR IGNORE INTO processed_events (consumer, event_id, processed_at)
             VALUES (?1, ?2, ?3)",
        )
        .bind(consumer)
        .bind(id.to_string())
        .bind(Timestamp::now().millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn prune(&self, before: Timestamp, max: usize) -> anyhow::Result<u64> {
        let done = sqlx::query(
            "DELETE FROM processed_events WHERE (consumer, event_id) IN (
                 SELECT consumer, event_id FROM processed_events WHERE processed_at < ?1 LIMIT ?2)",
        )
        .bind(before.millis())
        .bind(limit(max))
        .execute(&self.pool)
        .await
        .context("prune processed events")?;
        Ok(done.rows_affected())
    }
}

/// Exposed for the contract tests: rows parked after repeated failures.
impl Sqlite {
    pub async fn given_up_count(&self) -> anyhow::Result<u64> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE given_up_at IS NOT NULL")
                .fetch_one(&self.pool)
                .await?;
        Ok(super::count(n))
    }
}
