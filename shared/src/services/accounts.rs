//! Register and log in.

use crate::domain::{
    DisplayName, Email, Event, EventPayload, Login, NewUser, Password, Timestamp, User, UserId,
    Username,
};
use crate::ports::CreateUserError;

use super::auth::IssuedToken;
use super::{Context, ErrorCode, ServiceError, ServiceResult};

/// A registration whose every field is valid.
#[derive(Debug)]
pub struct Registration {
    pub username: Username,
    pub email: Email,
    pub password: Password,
    pub display_name: Option<DisplayName>,
}

#[tracing::instrument(skip_all, fields(username = %input.username))]
pub async fn register(ctx: &Context, input: Registration) -> ServiceResult<User> {
    let password_hash = ctx.passwords()?.hash(&input.password).await?;
    let display_name = input
        .display_name
        .unwrap_or_else(|| DisplayName::from_username(&input.username));
    let user = NewUser {
        id: UserId::new(),
        username: input.username,
        email: input.email,
        display_name,
        password_hash,
        created_at: Timestamp::now(),
    };
    let event = Event::new(EventPayload::UserRegistered {
        user_id: user.id,
        username: user.username.to_string(),
        email: user.email.as_str().to_owned(),
        display_name: user.display_name.as_str().to_owned(),
    });
    let created = ctx
        .users()?
        .create_user(&user, &event)
        .await
        .map_err(|err| match err {
            CreateUserError::UsernameTaken => {
                ServiceError::Conflict(ErrorCode::UsernameTaken, "username is taken")
            }
            CreateUserError::EmailTaken => {
                ServiceError::Conflict(ErrorCode::EmailTaken, "email is taken")
            }
            CreateUserError::Other(err) => ServiceError::Unexpected(err),
        })?;
    ctx.event_written();
    tracing::info!(user_id = %created.id, "user registered");
    Ok(created)
}

/// Checks a username-or-e-mail and password; an unknown user and a wrong password fail alike,
/// in message and in time (see [`refuse_login`] for a login no user can have).
#[tracing::instrument(skip_all)]
pub async fn login(ctx: &Context, login: &Login, password: &str) -> ServiceResult<IssuedToken> {
    let credentials = ctx.users()?.credentials(login).await?;
    let hash = credentials.as_ref().map(|c| c.password_hash.as_str());
    let verified = ctx.passwords()?.verify(password, hash).await?;
    match credentials {
        Some(credentials) if verified => Ok(ctx.tokens()?.issue(credentials.id)?),
        _ => Err(ServiceError::Unauthorized),
    }
}

/// Refuses a login that is neither a username nor an e-mail address after the same password
/// check an unknown user gets, so that the answer takes as long as any other refusal.
#[tracing::instrument(skip_all)]
pub async fn refuse_login(ctx: &Context, password: &str) -> ServiceResult<IssuedToken> {
    ctx.passwords()?.verify(password, None).await?;
    Err(ServiceError::Unauthorized)
}
