//! Reading feeds: from the cache when it holds them, rebuilt from the source of truth when it
//! does not, and from the source alone when the cache fails. Hybrid fan-out: posts of authors
//! with many followers are not pushed; they are merged in here.

use crate::domain::{Cursor, Limit, Page, PostId, PostView, UserId, Username};
use crate::ports::FeedKey;

use super::{Context, ServiceResult};

/// A feed names its cache key and, for rebuilds, whose posts it holds.
#[derive(Debug, Clone, Copy)]
enum Feed {
    Home(UserId),
    User(UserId),
}

impl Feed {
    fn key(self) -> FeedKey {
        match self {
            Feed::Home(user) => FeedKey::home(user),
            Feed::User(user) => FeedKey::user(user),
        }
    }

    async fn authors(self, ctx: &Context) -> anyhow::Result<Vec<UserId>> {
        match self {
            Feed::Home(user) => {
                let mut authors = ctx.graph()?.following_ids(user).await?;
                authors.push(user);
                Ok(authors)
            }
            Feed::User(user) => Ok(vec![user]),
        }
    }

    /// Ids from the source of truth: `who` is [`Feed::authors`]. A home feed shows a reply only
    /// to readers who follow (or are) the author of the post it answers.
    async fn source_ids(
        self,
        ctx: &Context,
        who: &[UserId],
        before: Option<PostId>,
        limit: usize,
    ) -> anyhow::Result<Vec<PostId>> {
        let posts = ctx.posts()?;
        match self {
            Feed::Home(reader) => posts.home_post_ids(reader, who, who, before, limit).await,
            Feed::User(_) => posts.post_ids_by_authors(who, before, limit).await,
        }
    }

    fn reader(self) -> Option<UserId> {
        match self {
            Feed::Home(reader) => Some(reader),
            Feed::User(_) => None,
        }
    }
}

/// The caller's home feed: own posts and followees' posts, newest first.
#[tracing::instrument(skip(ctx, cursor))]
pub async fn home_feed(
    ctx: &Context,
    user: UserId,
    cursor: Option<&str>,
    limit: Limit,
) -> ServiceResult<Page<PostView>> {
    let before = cursor.map(PostId::decode).transpose()?;
    let celebrities = ctx
        .graph()?
        .followees_with_min_followers(user, ctx.feed.celebrity_threshold)
        .await?;
    page(
        ctx,
        Feed::Home(user),
        &celebrities,
        before,
        limit,
        Some(user),
    )
    .await
}

/// One author's posts (replies included), newest first, as `reader` sees them.
pub async fn user_feed(
    ctx: &Context,
    username: &Username,
    cursor: Option<&str>,
    limit: Limit,
    reader: Option<UserId>,
) -> ServiceResult<Page<PostView>> {
    let before = cursor.map(PostId::decode).transpose()?;
    let author = super::follow::find_user(ctx, username).await?;
    page(ctx, Feed::User(author.id), &[], before, limit, reader).await
}

/// Posts deleted after their id was read are skipped; the loop fetches on until the page is
/// full or the feed is exhausted, so that `next_cursor` is null exactly at the end.
async fn page(
    ctx: &Context,
    feed: Feed,
    merged_authors: &[UserId],
    mut before: Option<PostId>,
    limit: Limit,
    reader: Option<UserId>,
) -> ServiceResult<Page<PostView>> {
    let want = limit.probe();
    let mut posts = Vec::with_capacity(want);
    // Each round moves `before` strictly older, so the loop ends; the bound is a backstop.
    for _ in 0..16 {
        let missing = want - posts.len();
        let ids = merged_ids(ctx, feed, merged_authors, before, missing).await?;
        let exhausted = ids.len() < missing;
        before = ids.last().copied().or(before);
        posts.extend(super::posts::views_of(ctx, &ids, reader).await?);
        if posts.len() >= want || exhausted {
            break;
        }
    }
    Ok(Page::from_probe(posts, limit, |view| view.post.id.encode()))
}

async fn merged_ids(
    ctx: &Context,
    feed: Feed,
    merged_authors: &[UserId],
    before: Option<PostId>,
    limit: usize,
) -> anyhow::Result<Vec<PostId>> {
    let mut ids = feed_ids(ctx, feed, before, limit).await?;
    if let (false, Some(reader)) = (merged_authors.is_empty(), feed.reader()) {
        let audience = feed.authors(ctx).await?;
        let extra = ctx
            .posts()?
            .home_post_ids(reader, merged_authors, &audience, before, limit)
            .await?;
        ids.extend(extra);
        ids.sort_unstable_by(|a, b| b.cmp(a));
        ids.dedup();
        ids.truncate(limit);
    }
    Ok(ids)
}

/// Ids from the cache, falling back to the source of truth when the cache fails.
async fn feed_ids(
    ctx: &Context,
    feed: Feed,
    before: Option<PostId>,
    limit: usize,
) -> anyhow::Result<Vec<PostId>> {
    match cached_ids(ctx, feed, before, limit).await {
        Ok(ids) => Ok(ids),
        Err(err) => {
            tracing::warn!(error = %err, cache = ctx.feeds()?.name(), "feed cache failed; reading the source of truth");
            let authors = feed.authors(ctx).await?;
            feed.source_ids(ctx, &authors, before, limit).await
        }
    }
}

async fn cached_ids(
    ctx: &Context,
    feed: Feed,
    before: Option<PostId>,
    limit: usize,
) -> anyhow::Result<Vec<PostId>> {
    let key = feed.key();
    let mut authors = None;
    let mut ids = match ctx.feeds()?.ready_page(key, before, limit).await? {
        Some(ids) => ids,
        None => {
            let who = feed.authors(ctx).await?;
            let recent = feed.source_ids(ctx, &who, None, ctx.feed.cap).await?;
            ctx.feeds()?.fill(key, &recent).await?;
            authors = Some(who);
            ctx.feeds()?.page(key, before, limit).await?
        }
    };
    if ids.len() < limit {
        // The cache is capped: what it does not hold may still exist further back.
        let who = match authors {
            Some(who) => who,
            None => feed.authors(ctx).await?,
        };
        let after = ids.last().copied().or(before);
        let older = feed.source_ids(ctx, &who, after, limit - ids.len()).await?;
        ids.extend(older);
    }
    Ok(ids)
}
