//! The `FeedCache` contract: capped sets of post ids, newest first, that know whether they were
//! loaded from the source of truth.

use std::sync::Arc;

use futures::FutureExt as _;

use anyhow::ensure;
use rookery::domain::{EntryKey, FeedEntry, PostId, UserId};
use rookery::ports::{FeedCache, FeedKey};

use super::check_eq;

/// Posts in their authors' places.
pub fn originals(posts: &[PostId]) -> Vec<FeedEntry> {
    posts.iter().copied().map(FeedEntry::original).collect()
}

/// The posts of a page.
pub fn ids(entries: Vec<FeedEntry>) -> Vec<PostId> {
    entries.into_iter().map(|entry| entry.post).collect()
}

/// A post's own place, as a page bound.
pub fn at(before: Option<PostId>) -> Option<EntryKey> {
    before.map(EntryKey::from)
}

/// Runs every check against `cache`, whose feeds hold at most `cap` entries (`cap >= 6`).
/// Every check uses keys of freshly minted users, so the cache may hold other feeds.
pub async fn feed_cache(cache: Arc<dyn FeedCache>, cap: usize) -> anyhow::Result<()> {
    ensure!(
        cap >= 6,
        "the feed cache suite needs a cap of at least 6, got {cap}"
    );
    ensure!(!cache.name().is_empty(), "name() must be a non-empty label");
    cache.ping().await?;
    let cache = &*cache;
    super::every_check(
        "feed cache",
        vec![
            (
                "unknown_feed_is_not_ready_and_empty",
                unknown_feed_is_not_ready_and_empty(cache).boxed_local(),
            ),
            (
                "pushes_alone_do_not_make_a_feed_ready",
                pushes_alone_do_not_make_a_feed_ready(cache).boxed_local(),
            ),
            (
                "fill_marks_ready_and_keeps_earlier_pushes",
                fill_marks_ready_and_keeps_earlier_pushes(cache).boxed_local(),
            ),
            (
                "fill_with_nothing_marks_ready",
                fill_with_nothing_marks_ready(cache).boxed_local(),
            ),
            (
                "clear_drops_whole_feeds",
                clear_drops_whole_feeds(cache).boxed_local(),
            ),
            (
                "adding_twice_leaves_one_entry",
                adding_twice_leaves_one_entry(cache).boxed_local(),
            ),
            (
                "pages_are_newest_first_strictly_older_and_bounded",
                pages_are_newest_first_strictly_older_and_bounded(cache, cap).boxed_local(),
            ),
            (
                "trimming_to_the_cap_keeps_the_newest",
                trimming_to_the_cap_keeps_the_newest(cache, cap).boxed_local(),
            ),
            (
                "add_and_remove_reach_every_key",
                add_and_remove_reach_every_key(cache).boxed_local(),
            ),
            (
                "home_and_user_feeds_are_distinct",
                home_and_user_feeds_are_distinct(cache).boxed_local(),
            ),
            (
                "ready_page_is_page_of_a_ready_feed_only",
                ready_page_is_page_of_a_ready_feed_only(cache).boxed_local(),
            ),
            (
                "a_post_is_in_a_feed_once_and_an_undone_repost_takes_only_its_entry",
                a_post_is_in_a_feed_once_and_an_undone_repost_takes_only_its_entry(cache)
                    .boxed_local(),
            ),
        ],
    )
    .await
}

/// `n` fresh post ids, oldest first.
fn fresh_posts(n: usize) -> anyhow::Result<Vec<PostId>> {
    let posts: Vec<PostId> = (0..n).map(|_| PostId::new()).collect();
    ensure!(
        posts.windows(2).all(|w| w[0] < w[1]),
        "PostId::new() must be strictly increasing"
    );
    Ok(posts)
}

/// The ids, newest first.
fn newest_first(posts: &[PostId]) -> Vec<PostId> {
    let mut sorted = posts.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    sorted.dedup();
    sorted
}

/// The whole feed (a page far larger than any cap used here).
async fn everything(cache: &dyn FeedCache, key: FeedKey) -> anyhow::Result<Vec<PostId>> {
    cache.page(key, None, 10_000).await.map(ids)
}

async fn unknown_feed_is_not_ready_and_empty(cache: &dyn FeedCache) -> anyhow::Result<()> {
    let user = UserId::new();
    for key in [FeedKey::home(user), FeedKey::user(user)] {
        ensure!(!cache.is_ready(key).await?, "unknown feed {key:?} is ready");
        check_eq(
            everything(cache, key).await?,
            vec![],
            "page of an unknown feed",
        )?;
        ensure!(
            !cache.is_ready(key).await?,
            "reading an unknown feed made it ready"
        );
    }
    Ok(())
}

async fn pushes_alone_do_not_make_a_feed_ready(cache: &dyn FeedCache) -> anyhow::Result<()> {
    let key = FeedKey::home(UserId::new());
    let posts = fresh_posts(2)?;
    cache.add(&[key], &originals(&posts[..1])).await?;
    ensure!(
        !cache.is_ready(key).await?,
        "add() made a never-filled feed ready"
    );
    cache.add(&[key], &originals(&posts[1..])).await?;
    ensure!(!cache.is_ready(key).await?, "a second add() made it ready");
    cache.remove(&[key], &posts[..1]).await?;
    ensure!(!cache.is_ready(key).await?, "remove() made it ready");
    Ok(())
}

async fn fill_marks_ready_and_keeps_earlier_pushes(cache: &dyn FeedCache) -> anyhow::Result<()> {
    let key = FeedKey::home(UserId::new());
    let p = fresh_posts(5)?;
    // Pushed while the reader was loading the feed from the source of truth: one older and one
    // newer than what the load returns, and one the load also returns.
    cache.add(&[key], &originals(&[p[1], p[4], p[2]])).await?;
    ensure!(!cache.is_ready(key).await?, "ready before fill()");
    cache.fill(key, &originals(&[p[0], p[2], p[3]])).await?;
    ensure!(cache.is_ready(key).await?, "not ready after fill()");
    check_eq(
        everything(cache, key).await?,
        newest_first(&p),
        "fill() must merge with entries pushed before it",
    )?;
    // A second fill merges too; it neither drops nor duplicates.
    let q = fresh_posts(1)?;
    cache.fill(key, &originals(&[q[0], p[0]])).await?;
    ensure!(
        cache.is_ready(key).await?,
        "not ready after a second fill()"
    );
    let mut all = p.clone();
    all.extend(&q);
    check_eq(
        everything(cache, key).await?,
        newest_first(&all),
        "a second fill() must merge with the feed",
    )?;
    Ok(())
}

async fn fill_with_nothing_marks_ready(cache: &dyn FeedCache) -> anyhow::Result<()> {
    let key = FeedKey::user(UserId::new());
    cache.fill(key, &originals(&[])).await?;
    ensure!(
        cache.is_ready(key).await?,
        "fill() with no posts (a user who never posted) must still mark the feed ready"
    );
    check_eq(
        everything(cache, key).await?,
        vec![],
        "page of an empty feed",
    )?;
    Ok(())
}

async fn clear_drops_whole_feeds(cache: &dyn FeedCache) -> anyhow::Result<()> {
    let user = UserId::new();
    let (home, own, other) = (
        FeedKey::home(user),
        FeedKey::user(user),
        FeedKey::home(UserId::new()),
    );
    let p = fresh_posts(3)?;
    let repost = FeedEntry::repost(EntryKey::new(), p[2], UserId::new());
    for key in [home, own, other] {
        cache.fill(key, &originals(&p[..2])).await?;
        cache.add(&[key], std::slice::from_ref(&repost)).await?;
    }
    cache.clear(&[home, own]).await?;
    for key in [home, own] {
        ensure!(!cache.is_ready(key).await?, "a cleared feed is still ready");
        check_eq(
            everything(cache, key).await?,
            vec![],
            "a cleared feed's entries",
        )?;
    }
    ensure!(cache.is_ready(other).await?, "clear() touched another feed");
    check_eq(
        everything(cache, other).await?,
        vec![p[2], p[1], p[0]],
        "another feed",
    )?;
    // A repost of the same post after the clear is not mistaken for one already there.
    cache.add(&[home], std::slice::from_ref(&repost)).await?;
    check_eq(
        everything(cache, home).await?,
        vec![p[2]],
        "a repost after the clear",
    )?;
    Ok(())
}

async fn adding_twice_leaves_one_entry(cache: &dyn FeedCache) -> anyhow::Result<()> {
    let key = FeedKey::home(UserId::new());
    let p = fresh_posts(3)?;
    cache.fill(key, &originals(&[p[0]])).await?;
    cache.add(&[key], &originals(&[p[1]])).await?;
    cache.add(&[key], &originals(&[p[1]])).await?;
    cache.add(&[key], &originals(&[p[2], p[2], p[1]])).await?;
    cache.fill(key, &originals(&[p[0], p[1]])).await?;
    check_eq(
        everything(cache, key).await?,
        vec![p[2], p[1], p[0]],
        "entries added or filled twice must appear once",
    )?;
    Ok(())
}

async fn pages_are_newest_first_strictly_older_and_bounded(
    cache: &dyn FeedCache,
    cap: usize,
) -> anyhow::Result<()> {
    let key = FeedKey::home(UserId::new());
    // Interleave the ids in the feed with ids minted between them that are not in it.
    let minted = fresh_posts(2 * cap)?;
    let held: Vec<PostId> = minted.iter().copied().step_by(2).collect();
    let absent: Vec<PostId> = minted.iter().copied().skip(1).step_by(2).collect();
    // Filled in a scrambled order: the feed orders by id, not by arrival.
    let mut scrambled = held.clone();
    scrambled.reverse();
    scrambled.rotate_left(1);
    cache.fill(key, &originals(&scrambled)).await?;
    let want = newest_first(&held);
    check_eq(
        everything(cache, key).await?,
        want.clone(),
        "the whole feed",
    )?;

    check_eq(
        ids(cache.page(key, at(None), 1).await?),
        want[..1].to_vec(),
        "page(limit 1)",
    )?;
    check_eq(
        ids(cache.page(key, at(None), 2).await?),
        want[..2].to_vec(),
        "page(limit 2)",
    )?;

    // `before` an id in the feed excludes that id.
    let before = want[1];
    check_eq(
        ids(cache.page(key, at(Some(before)), 10_000).await?),
        want[2..].to_vec(),
        "page(before an entry) must hold only strictly older entries",
    )?;
    // `before` an id that is not in the feed.
    let gap = absent[0]; // newer than held[0] only
    check_eq(
        ids(cache.page(key, at(Some(gap)), 10_000).await?),
        vec![held[0]],
        "page(before an id between entries)",
    )?;
    check_eq(
        ids(cache.page(key, at(Some(held[0])), 10_000).await?),
        vec![],
        "page(before the oldest entry)",
    )?;
    let newer = fresh_posts(1)?[0];
    check_eq(
        ids(cache.page(key, at(Some(newer)), 10_000).await?),
        want.clone(),
        "page(before an id newer than every entry)",
    )?;

    // Walking the feed page by page, each page's last id as the next `before`, yields every
    // entry exactly once, newest first.
    for limit in [1, 2, 3] {
        let mut walked = Vec::new();
        let mut before = None;
        loop {
            let page = ids(cache.page(key, at(before), limit).await?);
            ensure!(
                page.len() <= limit,
                "page(limit {limit}) returned {} ids",
                page.len()
            );
            let Some(last) = page.last().copied() else {
                break;
            };
            walked.extend(page);
            before = Some(last);
            ensure!(walked.len() <= want.len(), "paging does not terminate");
        }
        check_eq(walked, want.clone(), &format!("walk with limit {limit}"))?;
    }
    Ok(())
}

async fn trimming_to_the_cap_keeps_the_newest(
    cache: &dyn FeedCache,
    cap: usize,
) -> anyhow::Result<()> {
    // fill() with more than the cap.
    let key = FeedKey::home(UserId::new());
    let loaded = fresh_posts(cap + 3)?;
    cache.fill(key, &originals(&loaded)).await?;
    ensure!(
        cache.is_ready(key).await?,
        "not ready after an over-full fill()"
    );
    let want: Vec<PostId> = newest_first(&loaded).into_iter().take(cap).collect();
    check_eq(
        everything(cache, key).await?,
        want,
        "fill() beyond the cap must keep the newest `cap` ids",
    )?;

    // add() to a full feed.
    let pushed = fresh_posts(2)?;
    cache.add(&[key], &originals(&pushed)).await?;
    let mut all = loaded.clone();
    all.extend(&pushed);
    let want: Vec<PostId> = newest_first(&all).into_iter().take(cap).collect();
    check_eq(
        everything(cache, key).await?,
        want.clone(),
        "add() to a full feed must keep the newest `cap` ids",
    )?;

    // An id older than every entry of a full feed does not stay.
    cache.add(&[key], &originals(&[loaded[0]])).await?;
    check_eq(
        everything(cache, key).await?,
        want,
        "add() of an id older than a full feed's entries must be trimmed away",
    )?;

    // add() of more than the cap at once, to a never-filled feed, then fill(): still capped.
    let key = FeedKey::user(UserId::new());
    let burst = fresh_posts(cap + 2)?;
    cache.add(&[key], &originals(&burst)).await?;
    cache.fill(key, &originals(&[])).await?;
    let want: Vec<PostId> = newest_first(&burst).into_iter().take(cap).collect();
    check_eq(
        everything(cache, key).await?,
        want,
        "add() beyond the cap must keep the newest `cap` ids",
    )?;
    Ok(())
}

async fn add_and_remove_reach_every_key(cache: &dyn FeedCache) -> anyhow::Result<()> {
    let (a, b) = (FeedKey::home(UserId::new()), FeedKey::home(UserId::new()));
    let missing = FeedKey::home(UserId::new());
    let p = fresh_posts(4)?;
    cache.fill(a, &originals(&[p[0], p[1]])).await?;
    cache.fill(b, &originals(&[p[0]])).await?;
    cache.add(&[a, b], &originals(&[p[2], p[3]])).await?;
    check_eq(
        everything(cache, a).await?,
        vec![p[3], p[2], p[1], p[0]],
        "feed a after add() to [a, b]",
    )?;
    check_eq(
        everything(cache, b).await?,
        vec![p[3], p[2], p[0]],
        "feed b after add() to [a, b]",
    )?;

    let stranger = fresh_posts(1)?[0];
    cache
        .remove(&[a, missing, b], &[p[2], stranger, p[1]])
        .await?;
    check_eq(
        everything(cache, a).await?,
        vec![p[3], p[0]],
        "feed a after remove() from [a, missing, b]",
    )?;
    check_eq(
        everything(cache, b).await?,
        vec![p[3], p[0]],
        "feed b after remove() from [a, missing, b]",
    )?;
    ensure!(
        cache.is_ready(a).await? && cache.is_ready(b).await?,
        "remove() must not unmark filled feeds"
    );
    ensure!(
        !cache.is_ready(missing).await?,
        "remove() from a missing feed made it ready"
    );
    check_eq(
        everything(cache, missing).await?,
        vec![],
        "remove() from a missing feed must leave it empty",
    )?;
    // Removing what is not there is not an error either.
    cache.remove(&[a], &[stranger]).await?;
    cache.remove(&[], &[p[0]]).await?;
    cache.add(&[], &originals(&[p[1]])).await?;
    check_eq(
        everything(cache, a).await?,
        vec![p[3], p[0]],
        "feed a after no-op add()/remove()",
    )?;
    Ok(())
}

async fn home_and_user_feeds_are_distinct(cache: &dyn FeedCache) -> anyhow::Result<()> {
    let user = UserId::new();
    let other = UserId::new();
    let (home, own) = (FeedKey::home(user), FeedKey::user(user));
    let p = fresh_posts(4)?;
    cache.fill(home, &originals(&[p[0]])).await?;
    ensure!(
        !cache.is_ready(own).await?,
        "filling the home feed made the user feed ready"
    );
    ensure!(
        !cache.is_ready(FeedKey::home(other)).await?,
        "filling one user's home feed made another's ready"
    );
    cache.add(&[own], &originals(&[p[1]])).await?;
    cache.fill(own, &originals(&[p[2]])).await?;
    cache.add(&[home], &originals(&[p[3]])).await?;
    check_eq(
        everything(cache, home).await?,
        vec![p[3], p[0]],
        "home feed",
    )?;
    check_eq(everything(cache, own).await?, vec![p[2], p[1]], "user feed")?;
    cache.remove(&[own], &[p[2]]).await?;
    check_eq(
        everything(cache, home).await?,
        vec![p[3], p[0]],
        "home feed after a removal from the user feed",
    )?;
    check_eq(
        everything(cache, FeedKey::user(other)).await?,
        vec![],
        "another user's feed",
    )?;
    Ok(())
}

async fn ready_page_is_page_of_a_ready_feed_only(cache: &dyn FeedCache) -> anyhow::Result<()> {
    let key = FeedKey::home(UserId::new());
    check_eq(
        cache.ready_page(key, at(None), 10).await?.map(ids),
        None,
        "ready_page of an unknown feed",
    )?;
    let posts = fresh_posts(4)?;
    cache.add(&[key], &originals(&posts)).await?;
    check_eq(
        cache.ready_page(key, at(None), 10).await?.map(ids),
        None,
        "ready_page of a feed that only received pushes",
    )?;
    cache.fill(key, &originals(&posts)).await?;
    let want = newest_first(&posts);
    check_eq(
        cache.ready_page(key, at(None), 2).await?.map(ids),
        Some(want[..2].to_vec()),
        "ready_page(limit 2) of a ready feed",
    )?;
    check_eq(
        cache.ready_page(key, at(Some(want[1])), 10).await?.map(ids),
        Some(want[2..].to_vec()),
        "ready_page(before an entry) of a ready feed",
    )?;
    check_eq(
        cache.ready_page(key, at(None), 0).await?.map(ids),
        Some(vec![]),
        "ready_page(limit 0) of a ready feed",
    )?;
    Ok(())
}

async fn a_post_is_in_a_feed_once_and_an_undone_repost_takes_only_its_entry(
    cache: &dyn FeedCache,
) -> anyhow::Result<()> {
    let key = FeedKey::home(UserId::new());
    let other = FeedKey::user(UserId::new());
    let (ann, bob) = (UserId::new(), UserId::new());
    let p = fresh_posts(3)?;
    // Reposts are made after the posts: their keys are newer.
    let ann_reposts_p0 = FeedEntry::repost(EntryKey::new(), p[0], ann);
    let bob_reposts_p0 = FeedEntry::repost(EntryKey::new(), p[0], bob);
    let bob_reposts_p1 = FeedEntry::repost(EntryKey::new(), p[1], bob);
    cache.fill(key, &[FeedEntry::original(p[1])]).await?;
    cache.add(&[key, other], &[ann_reposts_p0]).await?;
    // A second repost of p0, a repost of p1 (there as itself): nothing more.
    cache.add(&[key], &[bob_reposts_p0, bob_reposts_p1]).await?;
    cache.add(&[key], &[ann_reposts_p0]).await?;
    let whole = cache.page(key, None, 100).await?;
    check_eq(
        whole.clone(),
        vec![ann_reposts_p0, FeedEntry::original(p[1])],
        "one entry per post, the repost with its reposter",
    )?;
    check_eq(
        cache.page(key, Some(ann_reposts_p0.key), 100).await?,
        vec![FeedEntry::original(p[1])],
        "a page before the repost",
    )?;
    // Undoing bob's repost (which added nothing) takes nothing; undoing ann's takes her entry.
    cache
        .remove_entries(&[key], &[bob_reposts_p0, bob_reposts_p1])
        .await?;
    check_eq(
        cache.page(key, None, 100).await?,
        whole,
        "after undoing reposts that added nothing",
    )?;
    cache.remove_entries(&[key], &[ann_reposts_p0]).await?;
    check_eq(
        cache.page(key, None, 100).await?,
        vec![FeedEntry::original(p[1])],
        "after undoing the repost that brought p0",
    )?;
    // Now bob's repost of p0 can come in; removing the post takes every entry of it.
    cache.add(&[key], &[bob_reposts_p0]).await?;
    check_eq(
        cache.page(key, None, 1).await?,
        vec![bob_reposts_p0],
        "bob's repost once ann's is gone",
    )?;
    cache.remove(&[key, other], &[p[0]]).await?;
    check_eq(
        cache.page(key, None, 100).await?,
        vec![FeedEntry::original(p[1])],
        "after the post was removed",
    )?;
    check_eq(
        cache.page(other, None, 100).await?,
        vec![],
        "the other feed",
    )?;
    // Undoing a repost never takes the post where it is as itself.
    cache.remove_entries(&[key], &[bob_reposts_p1]).await?;
    check_eq(
        ids(cache.page(key, None, 100).await?),
        vec![p[1]],
        "a post stays where it is as itself",
    )?;
    // A repost the cache filled from the source is undone like a pushed one.
    let filled = FeedKey::home(UserId::new());
    let cat_reposts_p2 = FeedEntry::repost(EntryKey::new(), p[2], UserId::new());
    cache
        .fill(filled, &[cat_reposts_p2, FeedEntry::original(p[1])])
        .await?;
    cache
        .add(&[filled], &[FeedEntry::repost(EntryKey::new(), p[2], ann)])
        .await?;
    check_eq(
        cache.page(filled, None, 100).await?,
        vec![cat_reposts_p2, FeedEntry::original(p[1])],
        "a filled repost keeps its post once",
    )?;
    cache.remove_entries(&[filled], &[cat_reposts_p2]).await?;
    check_eq(
        ids(cache.page(filled, None, 100).await?),
        vec![p[1]],
        "a filled repost undone",
    )?;
    Ok(())
}
