//! Registration.

use crate::domain::{
    DisplayName, Email, Event, EventPayload, NewUser, Password, Timestamp, User, UserId, Username,
};
use crate::ports::CreateUserError;

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
