use anyhow::Context as _;
use async_trait::async_trait;
use sqlx::{Row, Transaction};

use super::{Db, Sqlite, parse};
use crate::domain::{SessionId, Timestamp, TokenHash, UserId};
use crate::ports::{Rotation, SessionStore};

/// Revokes every live session of `user` and forgets their refresh tokens, inside the caller's
/// transaction (a password change, an erasure).
pub(super) async fn revoke_all(
    tx: &mut Transaction<'_, Db>,
    user: UserId,
    now: Timestamp,
) -> anyhow::Result<()> {
    sqlx::query("UPDATE sessions SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL")
        .bind(user.to_string())
        .bind(now.millis())
        .execute(&mut **tx)
        .await
        .context("revoke sessions")?;
    sqlx::query(
        "DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE user_id = ?1)",
    )
    .bind(user.to_string())
    .execute(&mut **tx)
    .await
    .context("forget refresh tokens")?;
    Ok(())
}

async fn revoke(tx: &mut Transaction<'_, Db>, session: &str, now: Timestamp) -> anyhow::Result<()> {
    sqlx::query("UPDATE sessions SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL")
        .bind(session)
        .bind(now.millis())
        .execute(&mut **tx)
        .await
        .context("revoke session")?;
    sqlx::query("DELETE FROM refresh_tokens WHERE session_id = ?1 AND spent_at IS NULL")
        .bind(session)
        .execute(&mut **tx)
        .await
        .context("forget the live refresh token")?;
    Ok(())
}

#[async_trait]
impl SessionStore for Sqlite {
    async fn start_session(
        &self,
        session: SessionId,
        user: UserId,
        token: &TokenHash,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await.context("begin")?;
        sqlx::query("INSERT INTO sessions (id, user_id, created_at) VALUES (?1, ?2, ?3)")
            .bind(session.to_string())
            .bind(user.to_string())
            .bind(now.millis())
            .execute(&mut *tx)
            .await
            .context("insert session")?;
        sqlx::query(
            "INSERT INTO refresh_tokens (hash, session_id, expires_at) VALUES (?1, ?2, ?3)",
        )
        .bind(token.to_hex())
        .bind(session.to_string())
        .bind(expires_at.millis())
        .execute(&mut *tx)
        .await
        .context("insert refresh token")?;
        tx.commit().await.context("commit session")?;
        Ok(())
    }

    async fn rotate(
        &self,
        presented: &TokenHash,
        next: &TokenHash,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> anyhow::Result<Rotation> {
        let mut tx = self.pool.begin().await.context("begin")?;
        // Spend first: the write takes SQLite's write lock, so that of two requests with the
        // same token exactly one finds it unspent.
        let spent = sqlx::query(
            "UPDATE refresh_tokens SET spent_at = ?2
             WHERE hash = ?1 AND spent_at IS NULL AND expires_at > ?2
               AND session_id IN (SELECT id FROM sessions WHERE revoked_at IS NULL)
             RETURNING session_id,
                       (SELECT user_id FROM sessions WHERE id = refresh_tokens.session_id) AS user_id",
        )
        .bind(presented.to_hex())
        .bind(now.millis())
        .fetch_optional(&mut *tx)
        .await
        .context("spend refresh token")?;
        if let Some(row) = spent {
            let session: String = row.try_get("session_id")?;
            sqlx::query(
                "INSERT INTO refresh_tokens (hash, session_id, expires_at) VALUES (?1, ?2, ?3)",
            )
            .bind(next.to_hex())
            .bind(&session)
            .bind(expires_at.millis())
            .execute(&mut *tx)
            .await
            .context("insert refresh token")?;
            tx.commit().await.context("commit rotation")?;
            return Ok(Rotation::Rotated {
                user: parse(row.try_get("user_id")?)?,
                session: parse(&session)?,
            });
        }
        let known = sqlx::query("SELECT session_id, spent_at FROM refresh_tokens WHERE hash = ?1")
            .bind(presented.to_hex())
            .fetch_optional(&mut *tx)
            .await
            .context("look the refresh token up")?;
        let Some(known) = known else {
            return Ok(Rotation::Unknown);
        };
        if known.try_get::<Option<i64>, _>("spent_at")?.is_none() {
            return Ok(Rotation::Unknown); // expired, or its session had ended
        }
        revoke(&mut tx, known.try_get("session_id")?, now).await?;
        tx.commit().await.context("commit revocation")?;
        Ok(Rotation::Reused)
    }

    async fn end_session(&self, token: &TokenHash, now: Timestamp) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await.context("begin")?;
        // A write first (see `rotate`): the session is read inside the UPDATE.
        sqlx::query(
            "UPDATE sessions SET revoked_at = ?2
             WHERE id = (SELECT session_id FROM refresh_tokens WHERE hash = ?1)
               AND revoked_at IS NULL",
        )
        .bind(token.to_hex())
        .bind(now.millis())
        .execute(&mut *tx)
        .await
        .context("end session")?;
        sqlx::query(
            "DELETE FROM refresh_tokens WHERE spent_at IS NULL
               AND session_id = (SELECT session_id FROM refresh_tokens WHERE hash = ?1)",
        )
        .bind(token.to_hex())
        .execute(&mut *tx)
        .await
        .context("forget the live refresh token")?;
        tx.commit().await.context("commit logout")?;
        Ok(())
    }

    async fn revoked_since(&self, since: Timestamp) -> anyhow::Result<Vec<SessionId>> {
        let rows = sqlx::query("SELECT id FROM sessions WHERE revoked_at >= ?1")
            .bind(since.millis())
            .fetch_all(&self.pool)
            .await
            .context("revoked sessions")?;
        rows.iter().map(|row| parse(row.try_get("id")?)).collect()
    }
}
