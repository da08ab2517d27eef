//! Profiles: a user with follower, following and post counts.

use crate::domain::{Profile, User, UserId, Username};

use super::{Context, ServiceError, ServiceResult};

pub async fn profile_by_id(ctx: &Context, id: UserId) -> ServiceResult<Profile> {
    let user = ctx
        .users()?
        .user_by_id(id)
        .await?
        .ok_or(ServiceError::NotFound("user not found"))?;
    with_counts(ctx, user).await
}

pub async fn profile_by_username(ctx: &Context, username: &Username) -> ServiceResult<Profile> {
    let user = super::follow::find_user(ctx, username).await?;
    with_counts(ctx, user).await
}

async fn with_counts(ctx: &Context, user: User) -> ServiceResult<Profile> {
    let (counts, posts_count) = tokio::try_join!(
        ctx.graph()?.counts(user.id),
        ctx.posts()?.count_by_author(user.id)
    )?;
    Ok(Profile {
        user,
        followers_count: counts.followers,
        following_count: counts.following,
        posts_count,
    })
}
