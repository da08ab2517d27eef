// STUB: replaced by the helper's implementation.
use anyhow::anyhow;
use async_trait::async_trait;

use super::Mssql;
use crate::domain::{SessionId, Timestamp, TokenHash, UserId};
use crate::ports::{Rotation, SessionStore};

#[async_trait]
impl SessionStore for Mssql {
    async fn start_session(
        &self,
        _session: SessionId,
        _user: UserId,
        _token: &TokenHash,
        _expires_at: Timestamp,
        _now: Timestamp,
    ) -> anyhow::Result<()> {
        Err(anyhow!("not written"))
    }

    async fn rotate(
        &self,
        _presented: &TokenHash,
        _next: &TokenHash,
        _expires_at: Timestamp,
        _now: Timestamp,
    ) -> anyhow::Result<Rotation> {
        Err(anyhow!("not written"))
    }

    async fn end_session(&self, _token: &TokenHash, _now: Timestamp) -> anyhow::Result<()> {
        Err(anyhow!("not written"))
    }

    async fn revoked_since(&self, _since: Timestamp) -> anyhow::Result<Vec<SessionId>> {
        Err(anyhow!("not written"))
    }
}
