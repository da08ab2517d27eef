//! Login sessions and their refresh tokens, kept in the SQL store beside the users (SQLite
//! embedded, SQL Server in production). Tokens are stored as hashes only.

use async_trait::async_trait;

use crate::domain::{SessionId, Timestamp, TokenHash, UserId};

/// What presenting a refresh token did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// The token was the session's current one: it is spent and `next` replaces it.
    Rotated { user: UserId, session: SessionId },
    /// The token had been spent already: someone holds a copy, so the whole session is now
    /// revoked (RFC 9700, section 4.14.2), if it was not already.
    Reused,
    /// No live session knows the token as unspent: never issued, expired, or the current token
    /// of a session that ended.
    Unknown,
}

#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Starts `session` for `user` with its first refresh token, valid until `expires_at`.
    async fn start_session(
        &self,
        session: SessionId,
        user: UserId,
        token: &TokenHash,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> anyhow::Result<()>;

    /// Spends `presented` and gives its session `next` (valid until `expires_at`), atomically:
    /// of two requests presenting the same token, one rotates and the other is a reuse.
    async fn rotate(
        &self,
        presented: &TokenHash,
        next: &TokenHash,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> anyhow::Result<Rotation>;

    /// Ends the session `token` belongs to (logout); a token no session knows changes nothing.
    async fn end_session(&self, token: &TokenHash, now: Timestamp) -> anyhow::Result<()>;

    /// The sessions revoked at `since` or later: the access tokens they issued are refused.
    async fn revoked_since(&self, since: Timestamp) -> anyhow::Result<Vec<SessionId>>;
}
