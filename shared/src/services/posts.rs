//! Create, read and delete posts.

use crate::domain::{Event, EventPayload, NewPost, Post, PostContent, PostId, Timestamp, UserId};

use super::{Context, ServiceError, ServiceResult};

#[tracing::instrument(skip(ctx, content))]
pub async fn create_post(
    ctx: &Context,
    author: UserId,
    content: PostContent,
) -> ServiceResult<Post> {
    ctx.acting_user(author).await?;
    let post = NewPost {
        id: PostId::new(),
        author_id: author,
        content,
        created_at: Timestamp::now(),
    };
    let event = Event::new(EventPayload::PostCreated {
        post_id: post.id,
        author_id: author,
    });
    let created = ctx.posts()?.create_post(&post, &event).await?;
    ctx.event_written();
    Ok(created)
}

pub async fn get_post(ctx: &Context, id: PostId) -> ServiceResult<Post> {
    ctx.posts()?
        .post(id)
        .await?
        .ok_or(ServiceError::NotFound("post not found"))
}

/// Only the author may delete; anyone else gets 403, an unknown post 404.
#[tracing::instrument(skip(ctx))]
pub async fn delete_post(ctx: &Context, me: UserId, id: PostId) -> ServiceResult<()> {
    let post = get_post(ctx, id).await?;
    if post.author.id != me {
        return Err(ServiceError::Forbidden("only the author may delete a post"));
    }
    let event = Event::new(EventPayload::PostDeleted {
        post_id: post.id,
        author_id: me,
    });
    // A concurrent delete may have won the race: the post is gone either way.
    ctx.posts()?.delete_post(post.id, &event).await?;
    ctx.event_written();
    Ok(())
}
