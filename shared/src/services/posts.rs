//! Create, read and delete posts, and turn posts into the views answers show.

use std::collections::HashMap;

use crate::domain::markup::{mention_candidates, tags};
use crate::domain::{
    Event, EventPayload, IDEMPOTENCY_HEADER, IdempotencyClaim, IdempotencyKey, Mention, NewPost,
    Post, PostContent, PostId, PostView, ReplyTo, Timestamp, UserId, ValidationError,
};
use crate::ports::{CreatePostError, StatsRow, joined};

use super::{Context, ServiceError, ServiceResult};

const POST_NOT_FOUND: ServiceError = ServiceError::NotFound("post not found");

/// The most reposters a deletion names in its event (so that it stays a small message); feeds
/// that reposts beyond them brought the post into skip it as deleted when they are read.
const REPOSTERS_READ: usize = 1_000;

/// A post to write: its content and the post it answers, if any.
#[derive(Debug, Clone)]
pub struct Draft {
    pub content: PostContent,
    pub in_reply_to: Option<PostId>,
}

/// Writes the post; with an idempotency key, a retry of the same request within a day answers
/// the post it created (and writes nothing), and another request under the same key is 422.
#[tracing::instrument(skip(ctx, draft, key))]
pub async fn create_post(
    ctx: &Context,
    author: UserId,
    draft: Draft,
    key: Option<IdempotencyKey>,
) -> ServiceResult<PostView> {
    ctx.acting_user(author).await?;
    let in_reply_to = match draft.in_reply_to {
        Some(parent) => {
            let parent = find_post(ctx, parent).await?;
            super::blocks::ensure_not_blocked(
                ctx,
                author,
                parent.author.id,
                super::blocks::Contact::Interact,
            )
            .await?;
            Some(ReplyTo {
                post: parent.id,
                author: parent.author.id,
            })
        }
        None => None,
    };
    let idempotency = key.map(|key| IdempotencyClaim::new(key, &draft.content, draft.in_reply_to));
    let post = NewPost {
        id: PostId::new(),
        author_id: author,
        mentions: mentions(ctx, &draft.content).await?,
        tags: tags(draft.content.as_str()),
        content: draft.content,
        created_at: Timestamp::now(),
        in_reply_to,
        idempotency,
    };
    let event = Event::new(EventPayload::PostCreated {
        post_id: post.id,
        author_id: author,
        in_reply_to: in_reply_to.map(|r| r.post),
        reply_to_author: in_reply_to.map(|r| r.author),
        mentions: post.mentions.iter().map(|m| m.id).collect(),
    });
    let created = match ctx.posts()?.create_post(&post, &event).await {
        Ok(created) => created,
        Err(CreatePostError::ParentGone) => return Err(POST_NOT_FOUND),
        Err(CreatePostError::AlreadyCreated(first)) => {
            return get_post(ctx, first, Some(author))
                .await
                .map_err(|err| match err {
                    ServiceError::NotFound(_) => ServiceError::NotFound(
                        "the post created under this idempotency key is deleted",
                    ),
                    other => other,
                });
        }
        Err(CreatePostError::KeyReused) => {
            return Err(ValidationError::new(
                IDEMPOTENCY_HEADER,
                "was used for a different request within the last 24 hours",
            )
            .into());
        }
        Err(CreatePostError::Other(err)) => return Err(err.into()),
    };
    ctx.event_written();
    let mut views = views(ctx, vec![created], Some(author)).await?;
    views.pop().ok_or(POST_NOT_FOUND)
}

/// The users the content mentions, in order of first appearance; names of no user are text.
async fn mentions(ctx: &Context, content: &PostContent) -> anyhow::Result<Vec<Mention>> {
    let names = mention_candidates(content.as_str());
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let found = ctx.users()?.summaries_by_username(&names).await?;
    Ok(names
        .iter()
        .filter_map(|name| {
            found
                .iter()
                .find(|user| user.username.eq_ignore_ascii_case(name))
                .map(|user| Mention {
                    id: user.id,
                    username: user.username.clone(),
                })
        })
        .collect())
}

/// The stored post, or 404.
pub(super) async fn find_post(ctx: &Context, id: PostId) -> ServiceResult<Post> {
    ctx.posts()?.post(id).await?.ok_or(POST_NOT_FOUND)
}

/// One post as `reader` sees it.
pub async fn get_post(
    ctx: &Context,
    id: PostId,
    reader: Option<UserId>,
) -> ServiceResult<PostView> {
    let post = find_post(ctx, id).await?;
    views(ctx, vec![post], reader)
        .await?
        .pop()
        .ok_or(POST_NOT_FOUND)
}

/// Only the author may delete; anyone else gets 403, an unknown post 404.
#[tracing::instrument(skip(ctx))]
pub async fn delete_post(ctx: &Context, me: UserId, id: PostId) -> ServiceResult<()> {
    let post = find_post(ctx, id).await?;
    if post.author.id != me {
        return Err(ServiceError::Forbidden("only the author may delete a post"));
    }
    // Whoever reposted it brought it into their followers' feeds: those entries go too.
    let reposted_by = ctx
        .posts()?
        .reposters(post.id, None, REPOSTERS_READ)
        .await?
        .into_iter()
        .map(|repost| repost.user)
        .collect();
    let event = Event::new(EventPayload::PostDeleted {
        post_id: post.id,
        author_id: me,
        reposted_by,
    });
    // A concurrent delete may have won the race: the post is gone either way.
    ctx.posts()?.delete_post(post.id, &event).await?;
    ctx.event_written();
    Ok(())
}

/// Posts with their counts, `reader`'s state when there is a reader, and their authors as they
/// are now: one batched look-up for all of them. The authors come with the counts because
/// posts may come from a cache that holds them as they were: a changed display name shows at
/// once. A post deleted meanwhile (no counts) is left out; the order is kept.
pub async fn views(
    ctx: &Context,
    posts: Vec<Post>,
    reader: Option<UserId>,
) -> anyhow::Result<Vec<PostView>> {
    if posts.is_empty() {
        return Ok(Vec::new());
    }
    let rows = ctx.posts()?.stats_of(&posts, reader).await?;
    Ok(joined(posts, rows).into_iter().map(view).collect())
}

/// The views of `ids`, in that order: one look-up for the posts and their counts
/// ([`crate::ports::PostStore::hydrate`]).
pub async fn views_of(
    ctx: &Context,
    ids: &[PostId],
    reader: Option<UserId>,
) -> anyhow::Result<Vec<PostView>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut by_id: HashMap<PostId, (Post, StatsRow)> = ctx
        .posts()?
        .hydrate(ids, reader)
        .await?
        .into_iter()
        .map(|(post, row)| (post.id, (post, row)))
        .collect();
    Ok(ids
        .iter()
        .filter_map(|id| by_id.remove(id))
        .map(view)
        .collect())
}

fn view((mut post, row): (Post, StatsRow)) -> PostView {
    post.author = row.author;
    PostView {
        post,
        stats: row.stats,
        viewer: row.viewer,
    }
}
