//! Sessions (DESIGN 4.3): login starts one, refresh rotates its refresh token with reuse
//! detection, logout ends it; a password change or an erasure ends every session of the user.

use std::time::Duration;

use crate::domain::{
    Event, EventPayload, Login, Password, RefreshToken, SessionId, Timestamp, UserId,
};
use crate::ports::Rotation;

use super::limits::{Account, ClientAddr, keys};
use super::tokens::IssuedToken;
use super::{Context, ServiceError, ServiceResult};

/// What login and refresh answer: an access token and the session's next refresh token.
#[derive(Debug)]
pub struct IssuedSession {
    pub access: IssuedToken,
    pub refresh: RefreshToken,
}

fn expiry(ttl: Duration) -> Timestamp {
    let ttl = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2);
    Timestamp::from_millis(Timestamp::now().millis().saturating_add(ttl))
}

/// Checks a username-or-e-mail and password, then starts a session. An unknown user, a login
/// that names nobody and a wrong password fail alike, in message and in time: each pays for
/// one bcrypt verification.
///
/// Failed logins are limited per account per client address (DESIGN 4.4): past the rule the
/// answer is 429 even for the right password, decided before bcrypt runs, so that a storm costs
/// a counter, not a hash; each refusal counts one.
#[tracing::instrument(skip_all)]
pub async fn login(
    ctx: &Context,
    login: &str,
    password: &str,
    from: ClientAddr,
) -> ServiceResult<IssuedSession> {
    let credentials = match Login::parse(login) {
        Some(parsed) => ctx.users()?.credentials(&parsed).await?,
        None => None,
    };
    let failures = ctx.limits.as_ref().map(|limits| {
        let account = match &credentials {
            Some(credentials) => Account::User(credentials.id),
            None => Account::Unknown(login),
        };
        (limits, keys::login_failures(account, from))
    });
    if let Some((limits, key)) = &failures {
        limits.check(key).await?;
    }
    let hash = credentials.as_ref().map(|c| c.password_hash.as_str());
    let verified = ctx.passwords()?.verify(password, hash).await?;
    match credentials {
        Some(credentials) if verified => start(ctx, credentials.id).await,
        _ => {
            if let Some((limits, key)) = &failures {
                limits.count(key).await;
            }
            Err(ServiceError::Unauthorized)
        }
    }
}

async fn start(ctx: &Context, user: UserId) -> ServiceResult<IssuedSession> {
    let session = SessionId::new();
    let refresh = RefreshToken::generate();
    ctx.sessions()?
        .start_session(
            session,
            user,
            &refresh.hash(),
            expiry(ctx.refresh_ttl),
            Timestamp::now(),
        )
        .await?;
    let access = ctx.tokens()?.issue(user, session)?;
    tracing::info!(user_id = %user, "session started");
    Ok(IssuedSession { access, refresh })
}

/// Exchanges a refresh token for a new access token and the next refresh token. A token
/// spent before revokes its whole session: someone else holds a copy.
#[tracing::instrument(skip_all)]
pub async fn refresh(ctx: &Context, presented: &str) -> ServiceResult<IssuedSession> {
    let presented = RefreshToken::parse(presented).ok_or(ServiceError::Unauthorized)?;
    let next = RefreshToken::generate();
    let rotation = ctx
        .sessions()?
        .rotate(
            &presented.hash(),
            &next.hash(),
            expiry(ctx.refresh_ttl),
            Timestamp::now(),
        )
        .await?;
    match rotation {
        Rotation::Rotated { user, session } => Ok(IssuedSession {
            access: ctx.tokens()?.issue(user, session)?,
            refresh: next,
        }),
        Rotation::Reused => {
            ctx.sessions_revoked();
            tracing::warn!("a spent refresh token was presented again: its session is revoked");
            Err(ServiceError::Unauthorized)
        }
        Rotation::Unknown => Err(ServiceError::Unauthorized),
    }
}

/// Ends the session of a refresh token. A token no session knows changes nothing and is no
/// error (as RFC 7009 answers a revocation of an invalid token).
#[tracing::instrument(skip_all)]
pub async fn logout(ctx: &Context, presented: &str) -> ServiceResult<()> {
    if let Some(token) = RefreshToken::parse(presented) {
        ctx.sessions()?
            .end_session(&token.hash(), Timestamp::now())
            .await?;
        ctx.sessions_revoked();
    }
    Ok(())
}

/// Checks the password the caller re-entered for a sensitive change: 403 when it is wrong.
async fn confirm_password(ctx: &Context, me: UserId, password: &str) -> ServiceResult<()> {
    let credentials = ctx
        .users()?
        .credentials_by_id(me)
        .await?
        .ok_or(ServiceError::Unauthorized)?;
    let verified = ctx
        .passwords()?
        .verify(password, Some(&credentials.password_hash))
        .await?;
    if verified {
        Ok(())
    } else {
        Err(ServiceError::Forbidden("the password is wrong"))
    }
}

/// Sets a new password and revokes every session of the user.
#[tracing::instrument(skip_all, fields(user_id = %me))]
pub async fn change_password(
    ctx: &Context,
    me: UserId,
    current: &str,
    new: &Password,
) -> ServiceResult<()> {
    confirm_password(ctx, me, current).await?;
    let hash = ctx.passwords()?.hash(new).await?;
    if !ctx
        .users()?
        .set_password(me, &hash, Timestamp::now())
        .await?
    {
        return Err(ServiceError::Unauthorized);
    }
    ctx.sessions_revoked();
    tracing::info!("password changed; every session revoked");
    Ok(())
}

/// Erases the account: the SQL part in one transaction with `user.deleted`, whose consumers
/// take the user out of the graph and the caches (DESIGN 4.3).
#[tracing::instrument(skip_all, fields(user_id = %me))]
pub async fn delete_account(ctx: &Context, me: UserId, password: &str) -> ServiceResult<()> {
    confirm_password(ctx, me, password).await?;
    // What the user's feed holds is read first: the fan-out of a post written just before may
    // not have reached the cache, and the erased posts cannot be read afterwards.
    let entries = ctx.posts()?.user_feed(me, None, ctx.feed.cap).await?;
    let event = Event::new(EventPayload::user_deleted(me, &entries));
    if !ctx
        .users()?
        .delete_user(me, &event, Timestamp::now())
        .await?
    {
        return Err(ServiceError::Unauthorized);
    }
    ctx.sessions_revoked();
    ctx.event_written();
    tracing::info!("account erased");
    Ok(())
}
