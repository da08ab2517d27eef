//! Reading feeds: from the cache when it holds them, rebuilt from the source of truth when it
//! does not, and from the source alone when the cache fails. Hybrid fan-out: posts and reposts
//! of authors with many followers are not pushed; they are merged in here.
//!
//! A feed is a list of entries, newest first: a post in its author's place, or a post in the
//! place where someone the reader follows reposted it, with that reposter. A post is in a feed
//! at most once.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::domain::{
    Cursor, EntryKey, FeedEntry, Hidden, Limit, Page, PostView, UserId, UserSummary, Username,
};
use crate::ports::FeedKey;
use crate::telemetry::metrics;

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

    /// The users whose posts and reposts the feed holds: the reader and whom they follow, or
    /// the author.
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

    /// Entries from the source of truth: `who` is [`Feed::authors`].
    async fn source(
        self,
        ctx: &Context,
        who: &[UserId],
        before: Option<EntryKey>,
        limit: usize,
    ) -> anyhow::Result<Vec<FeedEntry>> {
        let posts = ctx.posts()?;
        match self {
            Feed::Home(reader) => posts.home_feed(reader, who, who, before, limit).await,
            Feed::User(author) => posts.user_feed(author, before, limit).await,
        }
    }
}

/// Whether anyone has at least the fan-out threshold of followers, asked of the graph at most
/// once a second per process. In most deployments no one has, and then a home-feed read skips
/// the query for the reader's popular followees. A user who crosses the threshold through a
/// follow made in another process is merged into feeds within a second, within the second of
/// consistency feeds allow; a follow made in this process forgets the answer at once.
#[derive(Debug, Default)]
pub struct PopularGate {
    /// When the graph was last asked, for which threshold, and its answer.
    last: Mutex<Option<(Instant, u64, bool)>>,
}

/// How long an answer of the graph is trusted.
const POPULAR_TTL: Duration = Duration::from_secs(1);

impl PopularGate {
    /// Forgets the remembered answer: a follow or unfollow in this process may have changed
    /// it, and this process's next read asks again.
    pub fn forget(&self) {
        if let Ok(mut last) = self.last.lock() {
            *last = None;
        }
    }

    async fn any(&self, ctx: &Context, threshold: u64) -> anyhow::Result<bool> {
        let now = Instant::now();
        let remembered = *self
            .last
            .lock()
            .map_err(|_| anyhow::anyhow!("lock poisoned"))?;
        if let Some((at, asked, answer)) = remembered
            && asked == threshold
            && now.duration_since(at) < POPULAR_TTL
        {
            return Ok(answer);
        }
        let answer = ctx.graph()?.has_users_with_min_followers(threshold).await?;
        *self
            .last
            .lock()
            .map_err(|_| anyhow::anyhow!("lock poisoned"))? = Some((now, threshold, answer));
        Ok(answer)
    }
}

/// A feed item: a post as the reader sees it, and who reposted it into this feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedItem {
    pub view: PostView,
    pub reposted_by: Option<UserSummary>,
    /// Its place in the feed (the cursor of a page ending with it).
    pub key: EntryKey,
}

/// The caller's home feed: own posts, followees' posts and their reposts, newest first.
#[tracing::instrument(skip(ctx, cursor))]
pub async fn home_feed(
    ctx: &Context,
    user: UserId,
    cursor: Option<&str>,
    limit: Limit,
) -> ServiceResult<Page<FeedItem>> {
    let started = Instant::now();
    let before = cursor.map(EntryKey::decode).transpose()?;
    let threshold = ctx.feed.celebrity_threshold;
    let celebrities = if ctx.popular.any(ctx, threshold).await? {
        ctx.graph()?
            .followees_with_min_followers(user, threshold)
            .await?
    } else {
        Vec::new()
    };
    let hidden = super::blocks::hidden_from(ctx, Some(user)).await?;
    let home = Shown {
        merged_authors: &celebrities,
        hidden: &hidden,
    };
    let page = page(ctx, Feed::Home(user), home, before, limit, Some(user)).await;
    metrics::feed_read(started.elapsed());
    page
}

/// One author's posts (replies included) and reposts, newest first, as `reader` sees them.
pub async fn user_feed(
    ctx: &Context,
    username: &Username,
    cursor: Option<&str>,
    limit: Limit,
    reader: Option<UserId>,
) -> ServiceResult<Page<FeedItem>> {
    let started = Instant::now();
    let before = cursor.map(EntryKey::decode).transpose()?;
    let author = super::follow::find_user(ctx, username).await?;
    let shown = Shown {
        merged_authors: &[],
        hidden: &Hidden::default(),
    };
    let page = page(ctx, Feed::User(author.id), shown, before, limit, reader).await;
    metrics::feed_read(started.elapsed());
    page
}

/// What a page shows besides its feed's entries, and what it leaves out.
#[derive(Debug, Clone, Copy)]
struct Shown<'a> {
    /// Authors above the fan-out threshold, merged in at read time.
    merged_authors: &'a [UserId],
    /// Whose posts and reposts the reader does not see (DESIGN 4.4).
    hidden: &'a Hidden,
}

/// Posts deleted after their entry was read are skipped, a post met twice (pushed both as
/// itself and through a repost) is shown once, and posts or reposts of users hidden from the
/// reader are left out; the loop fetches on until the page is full or the feed is exhausted,
/// so that `next_cursor` is null exactly at the end.
async fn page(
    ctx: &Context,
    feed: Feed,
    shown: Shown<'_>,
    mut before: Option<EntryKey>,
    limit: Limit,
    reader: Option<UserId>,
) -> ServiceResult<Page<FeedItem>> {
    let want = limit.probe();
    let mut items: Vec<FeedItem> = Vec::with_capacity(want);
    let mut seen = HashSet::new();
    // Each round moves `before` strictly older, so the loop ends; the bound is a backstop.
    for _ in 0..16 {
        let missing = want - items.len();
        let entries = merged_entries(ctx, feed, shown.merged_authors, before, missing).await?;
        let exhausted = entries.len() < missing;
        before = entries.last().map(|entry| entry.key).or(before);
        let hidden = shown.hidden;
        let fresh: Vec<FeedEntry> = entries
            .into_iter()
            .filter(|entry| !entry.via.is_some_and(|via| hidden.from_feed(via)))
            .filter(|entry| seen.insert(entry.post))
            .collect();
        let hydrated = hydrate(ctx, &fresh, reader).await?;
        items.extend(
            hydrated
                .into_iter()
                .filter(|item| !hidden.from_feed(item.view.post.author.id)),
        );
        if items.len() >= want || exhausted {
            break;
        }
    }
    Ok(Page::from_probe(items, limit, |item| item.key.encode()))
}

async fn merged_entries(
    ctx: &Context,
    feed: Feed,
    merged_authors: &[UserId],
    before: Option<EntryKey>,
    limit: usize,
) -> anyhow::Result<Vec<FeedEntry>> {
    let mut entries = feed_entries(ctx, feed, before, limit).await?;
    if let (false, Feed::Home(reader)) = (merged_authors.is_empty(), feed) {
        let audience = feed.authors(ctx).await?;
        let extra = ctx
            .posts()?
            .home_feed(reader, merged_authors, &audience, before, limit)
            .await?;
        entries.extend(extra);
        entries.sort_unstable_by_key(|entry| std::cmp::Reverse(entry.key));
        entries.dedup_by_key(|entry| entry.key);
        entries.truncate(limit);
    }
    Ok(entries)
}

/// Entries from the cache, falling back to the source of truth when the cache fails.
async fn feed_entries(
    ctx: &Context,
    feed: Feed,
    before: Option<EntryKey>,
    limit: usize,
) -> anyhow::Result<Vec<FeedEntry>> {
    match cached_entries(ctx, feed, before, limit).await {
        Ok(entries) => Ok(entries),
        Err(err) => {
            tracing::warn!(error = %err, cache = ctx.feeds()?.name(), "feed cache failed; reading the source of truth");
            let authors = feed.authors(ctx).await?;
            feed.source(ctx, &authors, before, limit).await
        }
    }
}

async fn cached_entries(
    ctx: &Context,
    feed: Feed,
    before: Option<EntryKey>,
    limit: usize,
) -> anyhow::Result<Vec<FeedEntry>> {
    let key = feed.key();
    let mut authors = None;
    let mut entries = match ctx.feeds()?.ready_page(key, before, limit).await? {
        Some(entries) => entries,
        None => {
            let who = feed.authors(ctx).await?;
            let recent = feed.source(ctx, &who, None, ctx.feed.cap).await?;
            ctx.feeds()?.fill(key, &recent).await?;
            authors = Some(who);
            ctx.feeds()?.page(key, before, limit).await?
        }
    };
    if entries.len() < limit {
        // The cache is capped: what it does not hold may still exist further back.
        let who = match authors {
            Some(who) => who,
            None => feed.authors(ctx).await?,
        };
        let after = entries.last().map(|entry| entry.key).or(before);
        let older = feed.source(ctx, &who, after, limit - entries.len()).await?;
        entries.extend(older);
    }
    Ok(entries)
}

/// The items of `entries`, in order: one look-up for the posts, one for their counts, one for
/// the reposters.
async fn hydrate(
    ctx: &Context,
    entries: &[FeedEntry],
    reader: Option<UserId>,
) -> anyhow::Result<Vec<FeedItem>> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<_> = entries.iter().map(|entry| entry.post).collect();
    let mut views: HashMap<_, PostView> = super::posts::views_of(ctx, &ids, reader)
        .await?
        .into_iter()
        .map(|view| (view.post.id, view))
        .collect();
    let reposters: Vec<UserId> = entries.iter().filter_map(|entry| entry.via).collect();
    let summaries: HashMap<UserId, UserSummary> = if reposters.is_empty() {
        HashMap::new()
    } else {
        ctx.users()?
            .summaries(&reposters)
            .await?
            .into_iter()
            .map(|summary| (summary.id, summary))
            .collect()
    };
    Ok(entries
        .iter()
        .filter_map(|entry| {
            let view = views.remove(&entry.post)?;
            let reposted_by = match entry.via {
                // A reposter gone since (an erased account) no longer brings the post.
                Some(via) => Some(summaries.get(&via)?.clone()),
                None => None,
            };
            Some(FeedItem {
                view,
                reposted_by,
                key: entry.key,
            })
        })
        .collect())
}
