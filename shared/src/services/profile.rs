//! Profiles: a user with follower, following and post counts.

use crate::domain::{
    Cursor as _, Limit, NameCursor, Page, Profile, ProfileChanges, Relationship, User, UserId,
    UserQuery, UserSummary, Username,
};

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

/// How `reader` stands towards `user`: follows either way, and the reader's block or mute.
pub async fn relationship(
    ctx: &Context,
    reader: UserId,
    user: UserId,
) -> ServiceResult<Relationship> {
    if reader == user {
        return Ok(Relationship::default());
    }
    let graph = ctx.graph()?;
    let (following, followed_by, standing) = tokio::try_join!(
        graph.is_following(reader, user),
        graph.is_following(user, reader),
        ctx.blocks()?.standing(reader, user)
    )?;
    Ok(Relationship {
        following,
        followed_by,
        blocking: standing.blocking,
        muting: standing.muting,
    })
}

/// Changes the caller's display name and bio (those given) and answers the `/me` view.
pub async fn update_profile(
    ctx: &Context,
    me: UserId,
    changes: &ProfileChanges,
) -> ServiceResult<Profile> {
    let user = ctx
        .users()?
        .update_profile(me, changes)
        .await?
        .ok_or(ServiceError::Unauthorized)?;
    with_counts(ctx, user).await
}

/// Users whose username or display name starts with the query, ordered by username.
pub async fn search_users(
    ctx: &Context,
    query: &UserQuery,
    after: Option<NameCursor>,
    limit: Limit,
) -> ServiceResult<Page<UserSummary>> {
    let found = ctx
        .users()?
        .search_users(query, after.as_ref().map(|c| c.0.as_str()), limit.probe())
        .await?;
    Ok(Page::from_probe(found, limit, |user| {
        NameCursor(user.username.to_ascii_lowercase()).encode()
    }))
}
