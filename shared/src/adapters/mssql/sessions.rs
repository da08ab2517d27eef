//! [`SessionStore`] on SQL Server, with the SQLite adapter's semantics (see
//! `0006_accounts.sql` for the tables and `sql.rs` for the statements).

use anyhow::{Context as _, bail};
use async_trait::async_trait;
use tiberius::Row;

use super::{Mssql, column, id_param, sql, time_param, uuid_column};
use crate::domain::{SessionId, Timestamp, TokenHash, UserId};
use crate::ports::{Rotation, SessionStore};

/// A refresh token's hash as stored (`BINARY(32)`).
fn hash_param(token: &TokenHash) -> Vec<u8> {
    token.as_bytes().to_vec()
}

/// The answer of [`sql::ROTATE_REFRESH_TOKEN`].
fn rotation(row: &Row) -> anyhow::Result<Rotation> {
    Ok(match column::<i32>(row, "outcome")? {
        sql::ROTATION_ROTATED => Rotation::Rotated {
            user: UserId::from_uuid(uuid_column(row, "user_id")?),
            session: SessionId::from_uuid(uuid_column(row, "session_id")?),
        },
        sql::ROTATION_REUSED => Rotation::Reused,
        sql::ROTATION_UNKNOWN => Rotation::Unknown,
        other => bail!("ROTATE_REFRESH_TOKEN answered outcome {other}"),
    })
}

#[async_trait]
impl SessionStore for Mssql {
    async fn start_session(
        &self,
        session: SessionId,
        user: UserId,
        token: &TokenHash,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> anyhow::Result<()> {
        let hash = hash_param(token);
        let mut conn = self.conn().await?;
        conn.execute(
            sql::START_SESSION,
            &[
                &id_param(session.as_uuid()),
                &id_param(user.as_uuid()),
                &hash,
                &time_param(expires_at),
                &time_param(now),
            ],
        )
        .await
        .context("insert session")?;
        Ok(())
    }

    async fn rotate(
        &self,
        presented: &TokenHash,
        next: &TokenHash,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> anyhow::Result<Rotation> {
        let (presented, next) = (hash_param(presented), hash_param(next));
        let mut conn = self.conn().await?;
        let row = conn
            .query(
                sql::ROTATE_REFRESH_TOKEN,
                &[&presented, &next, &time_param(expires_at), &time_param(now)],
            )
            .await
            .context("rotate refresh token")?
            .into_row()
            .await
            .context("rotate refresh token")?
            .context("no answer to ROTATE_REFRESH_TOKEN")?;
        rotation(&row)
    }

    async fn end_session(&self, token: &TokenHash, now: Timestamp) -> anyhow::Result<()> {
        let hash = hash_param(token);
        let mut conn = self.conn().await?;
        conn.execute(sql::END_SESSION, &[&hash, &time_param(now)])
            .await
            .context("end session")?;
        Ok(())
    }

    async fn revoked_since(&self, since: Timestamp) -> anyhow::Result<Vec<SessionId>> {
        let mut conn = self.conn().await?;
        let rows = conn
            .query(sql::REVOKED_SESSIONS, &[&time_param(since)])
            .await
            .context("revoked sessions")?
            .into_first_result()
            .await
            .context("revoked sessions")?;
        rows.iter()
            .map(|row| Ok(SessionId::from_uuid(uuid_column(row, "id")?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::RefreshToken;

    #[test]
    fn a_token_hash_is_stored_as_its_32_bytes() -> anyhow::Result<()> {
        let hash = RefreshToken::generate().hash();
        let bytes = hash_param(&hash);
        assert_eq!(bytes.len(), 32);
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, hash.to_hex());
        Ok(())
    }

    #[test]
    fn the_statement_answers_the_outcomes_the_adapter_reads() {
        for (outcome, name) in [
            (sql::ROTATION_ROTATED, "ROTATION_ROTATED"),
            (sql::ROTATION_REUSED, "ROTATION_REUSED"),
        ] {
            assert!(
                sql::ROTATE_REFRESH_TOKEN.contains(&format!("SET @outcome = {outcome};")),
                "ROTATE_REFRESH_TOKEN must set {name}"
            );
        }
        assert!(
            sql::ROTATE_REFRESH_TOKEN.contains(&format!(
                "DECLARE @outcome INT = {};",
                sql::ROTATION_UNKNOWN
            )),
            "ROTATE_REFRESH_TOKEN must start from ROTATION_UNKNOWN"
        );
    }
}
