//! Follow, unfollow, and the follower / following listings.

use std::collections::HashMap;

use crate::domain::{
    Cursor, Event, EventPayload, Limit, Page, Relation, RelationCursor, Timestamp, User, UserId,
    UserSummary, Username, ValidationError,
};

use super::blocks::{Contact, ensure_not_blocked};
use super::{Context, ServiceError, ServiceResult};

pub(super) async fn find_user(ctx: &Context, username: &Username) -> ServiceResult<User> {
    ctx.users()?
        .user_by_username(username.as_ref())
        .await?
        .ok_or(ServiceError::NotFound("user not found"))
}

async fn target(ctx: &Context, me: UserId, username: &Username) -> ServiceResult<User> {
    let user = find_user(ctx, username).await?;
    if user.id == me {
        return Err(ValidationError::new("username", "you cannot follow yourself").into());
    }
    Ok(user)
}

/// Idempotent: following again keeps the original `since`.
///
/// The graph and the outbox may be different stores, so they cannot share a transaction. The
/// event is therefore recorded on every call, even when the edge already existed: a client that
/// retries after a failure between the two writes still gets its backfill, and the consumer
/// checks the graph before acting, so a repeated event is harmless.
#[tracing::instrument(skip(ctx))]
pub async fn follow(ctx: &Context, me: UserId, username: &Username) -> ServiceResult<()> {
    let followee = target(ctx, me, username).await?;
    ctx.acting_user(me).await?;
    ensure_not_blocked(ctx, me, followee.id, Contact::Follow).await?;
    let graph = ctx.graph()?;
    if graph.is_following(me, followee.id).await? {
        return Ok(()); // changes nothing, so no event (DESIGN 4.4)
    }
    if graph.counts(me).await?.following >= ctx.max_following {
        return Err(ValidationError::new(
            "username",
            format!("you follow {} users, the most allowed", ctx.max_following),
        )
        .into());
    }
    let created = graph.follow(me, followee.id, Timestamp::now()).await?;
    ctx.popular.forget();
    if !created {
        return Ok(()); // a concurrent follow of the same user made the edge first
    }
    record(
        ctx,
        EventPayload::UserFollowed {
            follower_id: me,
            followee_id: followee.id,
        },
    )
    .await
}

/// Idempotent: unfollowing someone you do not follow succeeds and changes nothing.
#[tracing::instrument(skip(ctx))]
pub async fn unfollow(ctx: &Context, me: UserId, username: &Username) -> ServiceResult<()> {
    let followee = target(ctx, me, username).await?;
    if !ctx.graph()?.unfollow(me, followee.id).await? {
        return Ok(()); // there was no edge: nothing changed, so no event (DESIGN 4.4)
    }
    ctx.popular.forget();
    record(
        ctx,
        EventPayload::UserUnfollowed {
            follower_id: me,
            followee_id: followee.id,
        },
    )
    .await
}

async fn record(ctx: &Context, payload: EventPayload) -> ServiceResult<()> {
    ctx.outbox()?.enqueue(&Event::new(payload)).await?;
    ctx.event_written();
    Ok(())
}

#[derive(Debug, Clone, Copy)]
enum Direction {
    Followers,
    Following,
}

pub async fn followers(
    ctx: &Context,
    username: &Username,
    cursor: Option<&str>,
    limit: Limit,
) -> ServiceResult<Page<UserSummary>> {
    relations(ctx, username, cursor, limit, Direction::Followers).await
}

pub async fn following(
    ctx: &Context,
    username: &Username,
    cursor: Option<&str>,
    limit: Limit,
) -> ServiceResult<Page<UserSummary>> {
    relations(ctx, username, cursor, limit, Direction::Following).await
}

async fn relations(
    ctx: &Context,
    username: &Username,
    cursor: Option<&str>,
    limit: Limit,
    direction: Direction,
) -> ServiceResult<Page<UserSummary>> {
    let after = cursor.map(RelationCursor::decode).transpose()?;
    let user = find_user(ctx, username).await?;
    let edges = match direction {
        Direction::Followers => {
            ctx.graph()?
                .followers(user.id, after, limit.probe())
                .await?
        }
        Direction::Following => {
            ctx.graph()?
                .following(user.id, after, limit.probe())
                .await?
        }
    };
    let page = Page::from_probe(edges, limit, |edge: &Relation| {
        RelationCursor {
            since: edge.since,
            user: edge.user,
        }
        .encode()
    });
    let ids: Vec<UserId> = page.items.iter().map(|edge| edge.user).collect();
    Ok(Page {
        items: summaries_in_order(ctx, &ids).await?,
        next_cursor: page.next_cursor,
    })
}

/// The summaries of `ids`, in that order. An id without a user row (a graph node left behind
/// would be a bug elsewhere) is skipped rather than failing every page that holds it.
pub(super) async fn summaries_in_order(
    ctx: &Context,
    ids: &[UserId],
) -> anyhow::Result<Vec<UserSummary>> {
    let mut by_id: HashMap<UserId, UserSummary> = ctx
        .users()?
        .summaries(ids)
        .await?
        .into_iter()
        .map(|summary| (summary.id, summary))
        .collect();
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}
