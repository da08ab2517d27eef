//! Reactions and conversations (DESIGN 4.2): likes, reposts, replies, a post's context, tag
//! pages.

use std::collections::{HashMap, HashSet};

use crate::domain::markup::normalize_tag;
use crate::domain::{
    Cursor as _, EntryKey, Event, EventPayload, Hidden, Limit, Page, PostId, PostView, Relation,
    RelationCursor, Timestamp, UserId, UserSummary, ValidationError,
};
use crate::ports::Reaction;

use super::blocks::{Contact, ensure_not_blocked, hidden_from};
use super::follow::summaries_in_order;
use super::posts::{find_post, views, views_of};
use super::{Context, ServiceError, ServiceResult};

const POST_NOT_FOUND: ServiceError = ServiceError::NotFound("post not found");

/// At most this many ancestors, from the root down to the parent.
pub const MAX_ANCESTORS: usize = 40;
/// At most this many descendants, depth first.
pub const MAX_DESCENDANTS: usize = 200;
/// How many replies a context looks at, level by level, before choosing its descendants: a
/// bound on the work of one request in a very large thread.
const DESCENDANTS_READ: usize = 1_000;

/// `me` likes the post; liking it again changes nothing.
#[tracing::instrument(skip(ctx))]
pub async fn like(ctx: &Context, me: UserId, id: PostId) -> ServiceResult<()> {
    ctx.acting_user(me).await?;
    let post = find_post(ctx, id).await?;
    ensure_not_blocked(ctx, me, post.author.id, Contact::Interact).await?;
    let event = Event::new(EventPayload::PostLiked {
        post_id: post.id,
        author_id: post.author.id,
        user_id: me,
    });
    match ctx.posts()?.like(id, me, Timestamp::now(), &event).await? {
        Reaction::Changed => {
            ctx.event_written();
            Ok(())
        }
        Reaction::Unchanged => Ok(()),
        Reaction::NoSuchPost => Err(POST_NOT_FOUND),
    }
}

/// `me` no longer likes the post; unliking a post not liked changes nothing.
#[tracing::instrument(skip(ctx))]
pub async fn unlike(ctx: &Context, me: UserId, id: PostId) -> ServiceResult<()> {
    ctx.acting_user(me).await?;
    match ctx.posts()?.unlike(id, me).await? {
        Reaction::Changed | Reaction::Unchanged => Ok(()),
        Reaction::NoSuchPost => Err(POST_NOT_FOUND),
    }
}

/// `me` reposts the post (one's own too); reposting it again changes nothing.
#[tracing::instrument(skip(ctx))]
pub async fn repost(ctx: &Context, me: UserId, id: PostId) -> ServiceResult<()> {
    ctx.acting_user(me).await?;
    let post = find_post(ctx, id).await?;
    ensure_not_blocked(ctx, me, post.author.id, Contact::Interact).await?;
    let entry = EntryKey::new();
    let event = Event::new(EventPayload::PostReposted {
        post_id: post.id,
        author_id: post.author.id,
        user_id: me,
        entry,
    });
    match ctx
        .posts()?
        .repost(id, me, entry, Timestamp::now(), &event)
        .await?
    {
        Reaction::Changed => {
            ctx.event_written();
            Ok(())
        }
        Reaction::Unchanged => Ok(()),
        Reaction::NoSuchPost => Err(POST_NOT_FOUND),
    }
}

/// `me` no longer reposts the post; undoing a repost that was never made changes nothing.
#[tracing::instrument(skip(ctx))]
pub async fn unrepost(ctx: &Context, me: UserId, id: PostId) -> ServiceResult<()> {
    ctx.acting_user(me).await?;
    let post = find_post(ctx, id).await?;
    // A repost from before reposts had feed places never reached a feed: its undo takes out
    // nothing, under a key that matches no entry.
    let entry = ctx
        .posts()?
        .repost_entry(id, me)
        .await?
        .unwrap_or_else(EntryKey::new);
    let event = Event::new(EventPayload::PostUnreposted {
        post_id: post.id,
        author_id: post.author.id,
        user_id: me,
        entry,
    });
    match ctx.posts()?.unrepost(id, me, &event).await? {
        Reaction::Changed => {
            ctx.event_written();
            Ok(())
        }
        Reaction::Unchanged => Ok(()),
        Reaction::NoSuchPost => Err(POST_NOT_FOUND),
    }
}

/// Who likes the post, newest like first.
pub async fn likers(
    ctx: &Context,
    id: PostId,
    cursor: Option<&str>,
    limit: Limit,
) -> ServiceResult<Page<UserSummary>> {
    reactors(ctx, id, cursor, limit, Kind::Likes).await
}

/// Who reposted the post, newest repost first.
pub async fn reposters(
    ctx: &Context,
    id: PostId,
    cursor: Option<&str>,
    limit: Limit,
) -> ServiceResult<Page<UserSummary>> {
    reactors(ctx, id, cursor, limit, Kind::Reposts).await
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Likes,
    Reposts,
}

async fn reactors(
    ctx: &Context,
    id: PostId,
    cursor: Option<&str>,
    limit: Limit,
    kind: Kind,
) -> ServiceResult<Page<UserSummary>> {
    let after = cursor.map(RelationCursor::decode).transpose()?;
    find_post(ctx, id).await?;
    let posts = ctx.posts()?;
    let found = match kind {
        Kind::Likes => posts.likers(id, after, limit.probe()).await?,
        Kind::Reposts => posts.reposters(id, after, limit.probe()).await?,
    };
    let page = Page::from_probe(found, limit, |like: &Relation| {
        RelationCursor {
            since: like.since,
            user: like.user,
        }
        .encode()
    });
    let ids: Vec<UserId> = page.items.iter().map(|like| like.user).collect();
    Ok(Page {
        items: summaries_in_order(ctx, &ids).await?,
        next_cursor: page.next_cursor,
    })
}

/// The direct replies to a post, oldest first.
pub async fn replies(
    ctx: &Context,
    id: PostId,
    cursor: Option<&str>,
    limit: Limit,
    reader: Option<UserId>,
) -> ServiceResult<Page<PostView>> {
    let after = cursor.map(PostId::decode).transpose()?;
    find_post(ctx, id).await?;
    let posts = ctx.posts()?;
    visible_page(ctx, reader, after, limit, |after, n| {
        posts.reply_ids(id, after, n)
    })
    .await
}

/// A page of post views, in the order `fetch` reads their ids after a cursor, without the
/// posts of users the reader is in a block with. Fetches on until the page is full or the ids
/// run out, so that `next_cursor` is null exactly at the end; each round is one query for the
/// ids and one batch for their views, never a query per post.
async fn visible_page<F, Fut>(
    ctx: &Context,
    reader: Option<UserId>,
    mut after: Option<PostId>,
    limit: Limit,
    fetch: F,
) -> ServiceResult<Page<PostView>>
where
    F: Fn(Option<PostId>, usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Vec<PostId>>>,
{
    let hidden = hidden_from(ctx, reader).await?;
    let want = limit.probe();
    let mut items: Vec<PostView> = Vec::with_capacity(want);
    // Each round moves `after` on, so the loop ends; the bound is a backstop.
    for _ in 0..16 {
        let missing = want - items.len();
        let ids = fetch(after, missing).await?;
        let exhausted = ids.len() < missing;
        after = ids.last().copied().or(after);
        let views = views_of(ctx, &ids, reader).await?;
        items.extend(
            views
                .into_iter()
                .filter(|view| !hidden.from_threads(view.post.author.id)),
        );
        if items.len() >= want || exhausted {
            break;
        }
    }
    Ok(Page::from_probe(items, limit, |view: &PostView| {
        view.post.id.encode()
    }))
}

/// A post's place in its conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thread {
    /// From the root down to the parent; stops at the first deleted one.
    pub ancestors: Vec<PostView>,
    /// Depth first, each level oldest first.
    pub descendants: Vec<PostView>,
}

pub async fn context(ctx: &Context, id: PostId, reader: Option<UserId>) -> ServiceResult<Thread> {
    let post = find_post(ctx, id).await?;
    let mut ancestors = Vec::new();
    let mut parent = post.in_reply_to;
    while let Some(parent_id) = parent {
        if ancestors.len() == MAX_ANCESTORS {
            break;
        }
        let Some(found) = ctx.posts()?.post(parent_id).await? else {
            break; // deleted: the chain stops here
        };
        parent = found.in_reply_to;
        ancestors.push(found);
    }
    ancestors.reverse();
    let descendants = descendant_ids(ctx, id).await?;
    let hidden = hidden_from(ctx, reader).await?;
    let ancestors = views(ctx, ancestors, reader).await?;
    let descendants = views_of(ctx, &descendants, reader).await?;
    Ok(Thread {
        ancestors: ancestors
            .into_iter()
            .filter(|view| !hidden.from_threads(view.post.author.id))
            .collect(),
        descendants: without_hidden_branches(descendants, &hidden),
    })
}

/// Descendants (depth first) without the replies of users the reader is in a block with, nor
/// the branches below them: an answer to a hidden reply would hang in the air.
fn without_hidden_branches(descendants: Vec<PostView>, hidden: &Hidden) -> Vec<PostView> {
    if hidden.blocked.is_empty() {
        return descendants;
    }
    let mut cut: HashSet<PostId> = HashSet::new();
    descendants
        .into_iter()
        .filter(|view| {
            let below_cut = view
                .post
                .in_reply_to
                .is_some_and(|parent| cut.contains(&parent));
            if below_cut || hidden.from_threads(view.post.author.id) {
                cut.insert(view.post.id);
                return false;
            }
            true
        })
        .collect()
}

/// The first [`MAX_DESCENDANTS`] replies below `root` in depth-first order, read level by level
/// (one query per level).
async fn descendant_ids(ctx: &Context, root: PostId) -> anyhow::Result<Vec<PostId>> {
    let mut children: HashMap<PostId, Vec<PostId>> = HashMap::new();
    let mut level = vec![root];
    let mut read = 0;
    while !level.is_empty() && read < DESCENDANTS_READ {
        let pairs = ctx
            .posts()?
            .replies_of(&level, DESCENDANTS_READ - read)
            .await?;
        read += pairs.len();
        level = pairs.iter().map(|(_, reply)| *reply).collect();
        for (parent, reply) in pairs {
            children.entry(parent).or_default().push(reply);
        }
    }
    let mut order = Vec::new();
    let mut stack: Vec<PostId> = children.remove(&root).unwrap_or_default();
    stack.reverse();
    while let Some(next) = stack.pop() {
        if order.len() == MAX_DESCENDANTS {
            break;
        }
        order.push(next);
        if let Some(mut below) = children.remove(&next) {
            below.reverse();
            stack.extend(below);
        }
    }
    Ok(order)
}

/// A tag as a path names it, or 422 naming `tag`.
///
/// # Errors
/// Text no post can be tagged with.
pub fn parse_tag(raw: &str) -> Result<String, ValidationError> {
    normalize_tag(raw).ok_or_else(|| {
        ValidationError::new("tag", "must be 1 to 50 letters, digits or underscores")
    })
}

/// Posts tagged `tag`, newest first; a tag nobody used is an empty page.
pub async fn tag_posts(
    ctx: &Context,
    tag: &str,
    cursor: Option<&str>,
    limit: Limit,
    reader: Option<UserId>,
) -> ServiceResult<Page<PostView>> {
    let before = cursor.map(PostId::decode).transpose()?;
    let posts = ctx.posts()?;
    visible_page(ctx, reader, before, limit, |before, n| {
        posts.post_ids_by_tag(tag, before, n)
    })
    .await
}
