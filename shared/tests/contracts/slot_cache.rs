//! The `SlotCache` contract: a slot reads as a miss with a generation, a fill at that generation
//! lands, a forget drops the value and refuses every fill read before it (the late-refill race),
//! slots are independent, and values expire. Then the decorators over it
//! (`adapters::cached_views`): what they serve after each write is what the store says, an
//! erasure included (it changes counts on posts it cannot name).

use std::sync::Arc;
use std::time::Duration;

use anyhow::ensure;
use futures::FutureExt as _;
use rookery::adapters::cached_views::{CachedPosts, CachedUsers};
use rookery::domain::{
    DisplayName, EntryKey, Event, EventPayload, PostId, PostStats, ProfileChanges, Timestamp,
    UserId, ViewerState,
};
use rookery::ports::{Fill, PostStore, Reaction, SlotCache, SlotKey, UserStore};

use super::check_eq;
use super::conversations::reply_draft;
use super::store::{deletion, fresh_user, post_draft};

const TTL: Duration = Duration::from_secs(60);

fn fill(key: SlotKey, generation: u64, value: &[u8]) -> Fill {
    Fill {
        key,
        generation,
        value: value.to_vec(),
        ttl: TTL,
    }
}

async fn value(slots: &dyn SlotCache, key: SlotKey) -> anyhow::Result<Option<Vec<u8>>> {
    Ok(slots.get(&[key]).await?.remove(0).value)
}

async fn generation(slots: &dyn SlotCache, key: SlotKey) -> anyhow::Result<u64> {
    Ok(slots.get(&[key]).await?.remove(0).generation)
}

/// Every check against `slots`; the decorators' checks wrap `users` and `posts`, one store.
pub async fn slot_cache(
    slots: Arc<dyn SlotCache>,
    users: Arc<dyn UserStore>,
    posts: Arc<dyn PostStore>,
) -> anyhow::Result<()> {
    let cached_users = CachedUsers::new(users.clone(), slots.clone());
    let cached_posts = CachedPosts::new(posts.clone(), slots.clone());
    // Another process (another Lambda instance or function) over the same cache and store.
    let elsewhere = CachedPosts::new(posts.clone(), slots.clone());
    let slots = &*slots;
    super::every_check(
        "slot cache",
        vec![
            (
                "a_miss_fills_at_its_generation",
                a_miss_fills_at_its_generation(slots).boxed_local(),
            ),
            (
                "a_forget_refuses_a_fill_read_before_it",
                a_forget_refuses_a_fill_read_before_it(slots).boxed_local(),
            ),
            (
                "slots_are_independent",
                slots_are_independent(slots).boxed_local(),
            ),
            ("values_expire", values_expire(slots).boxed_local()),
            (
                "the_decorators_serve_what_the_store_says",
                the_decorators_serve_what_the_store_says(&cached_users, &cached_posts)
                    .boxed_local(),
            ),
            (
                "a_page_leaves_out_a_post_deleted_elsewhere",
                a_page_leaves_out_a_post_deleted_elsewhere(
                    &cached_users,
                    &cached_posts,
                    &elsewhere,
                )
                .boxed_local(),
            ),
            (
                "the_decorators_forget_a_name_and_an_erased_author",
                the_decorators_forget_a_name_and_an_erased_author(&cached_users, &cached_posts)
                    .boxed_local(),
            ),
        ],
    )
    .await
}

async fn a_miss_fills_at_its_generation(slots: &dyn SlotCache) -> anyhow::Result<()> {
    let keys = [SlotKey::Counts(PostId::new()), SlotKey::User(UserId::new())];
    let read = slots.get(&keys).await?;
    check_eq(read.len(), 2, "slots read for two keys")?;
    ensure!(
        read.iter().all(|slot| slot.value.is_none()),
        "fresh slots hold values: {read:?}"
    );
    let fills = [
        fill(keys[0], read[0].generation, b"1 2 3"),
        fill(keys[1], read[1].generation, b"ann"),
    ];
    slots.fill(&fills).await?;
    let again = slots.get(&keys).await?;
    check_eq(
        again.iter().map(|s| s.value.clone()).collect::<Vec<_>>(),
        vec![Some(b"1 2 3".to_vec()), Some(b"ann".to_vec())],
        "values after the fill, in the order asked",
    )?;
    check_eq(
        again.iter().map(|s| s.generation).collect::<Vec<_>>(),
        read.iter().map(|s| s.generation).collect::<Vec<_>>(),
        "a fill keeps the generation",
    )?;
    // Two readers of one generation: the second fill replaces the first.
    slots
        .fill(&[fill(keys[0], read[0].generation, b"1 2 4")])
        .await?;
    check_eq(
        value(slots, keys[0]).await?,
        Some(b"1 2 4".to_vec()),
        "a second fill at the same generation",
    )
}

async fn a_forget_refuses_a_fill_read_before_it(slots: &dyn SlotCache) -> anyhow::Result<()> {
    let key = SlotKey::Counts(PostId::new());
    // A cached value is dropped by a forget.
    let first = generation(slots, key).await?;
    slots.fill(&[fill(key, first, b"0 0 0")]).await?;
    slots.forget(&[key]).await?;
    check_eq(value(slots, key).await?, None, "the value after a forget")?;
    // A reader missed before the forget (at `first`) and fills after it: refused.
    slots.fill(&[fill(key, first, b"0 0 0")]).await?;
    check_eq(value(slots, key).await?, None, "a late fill after a forget")?;
    // The same on a slot that was never filled: a forget of nothing still moves it on.
    let other = SlotKey::User(UserId::new());
    let before = generation(slots, other).await?;
    slots.forget(&[other]).await?;
    slots.fill(&[fill(other, before, b"stale")]).await?;
    check_eq(
        value(slots, other).await?,
        None,
        "a late fill of a never-filled slot",
    )?;
    // A reader after the forget fills at the new generation.
    let after = generation(slots, key).await?;
    ensure!(after != first, "the generation did not move: {after}");
    slots.fill(&[fill(key, after, b"0 1 0")]).await?;
    check_eq(
        value(slots, key).await?,
        Some(b"0 1 0".to_vec()),
        "a fill read after the forget",
    )?;
    // Forgetting twice moves it twice: a fill read between the two is refused too.
    slots.forget(&[key]).await?;
    let between = generation(slots, key).await?;
    slots.forget(&[key]).await?;
    slots.fill(&[fill(key, between, b"9 9 9")]).await?;
    check_eq(
        value(slots, key).await?,
        None,
        "a fill read between two forgets",
    )
}

async fn slots_are_independent(slots: &dyn SlotCache) -> anyhow::Result<()> {
    let (post, ann, bob) = (PostId::new(), UserId::new(), UserId::new());
    let keys = [
        SlotKey::Counts(post),
        SlotKey::Viewer { post, reader: ann },
        SlotKey::Viewer { post, reader: bob },
        SlotKey::User(ann),
    ];
    let read = slots.get(&keys).await?;
    let fills: Vec<Fill> = keys
        .iter()
        .zip(&read)
        .enumerate()
        .map(|(i, (key, slot))| fill(*key, slot.generation, format!("v{i}").as_bytes()))
        .collect();
    slots.fill(&fills).await?;
    slots.forget(&[keys[1]]).await?;
    let values: Vec<_> = slots
        .get(&keys)
        .await?
        .into_iter()
        .map(|slot| slot.value)
        .collect();
    check_eq(
        values,
        vec![
            Some(b"v0".to_vec()),
            None,
            Some(b"v2".to_vec()),
            Some(b"v3".to_vec()),
        ],
        "after forgetting ann's view only",
    )
}

async fn values_expire(slots: &dyn SlotCache) -> anyhow::Result<()> {
    let key = SlotKey::Counts(PostId::new());
    let at = generation(slots, key).await?;
    let mut short = fill(key, at, b"1 1 1");
    short.ttl = Duration::from_secs(1);
    slots.fill(&[short]).await?;
    ensure!(
        value(slots, key).await?.is_some(),
        "the value is gone at once"
    );
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    check_eq(value(slots, key).await?, None, "the value after its TTL")
}

fn stats(replies: u64, likes: u64, reposts: u64) -> PostStats {
    PostStats {
        replies,
        likes,
        reposts,
    }
}

/// `(counts, viewer)` of one post through `posts`, read the way a feed page reads it.
async fn seen(
    posts: &dyn PostStore,
    id: PostId,
    reader: UserId,
) -> anyhow::Result<Option<(PostStats, Option<ViewerState>)>> {
    let found = posts.posts(&[id]).await?;
    Ok(posts
        .stats_of(&found, Some(reader))
        .await?
        .first()
        .map(|row| (row.stats, row.viewer)))
}

async fn the_decorators_serve_what_the_store_says(
    users: &dyn UserStore,
    posts: &dyn PostStore,
) -> anyhow::Result<()> {
    let ann = fresh_user(users, "slots_ann").await?;
    let bob = fresh_user(users, "slots_bob").await?;
    let (draft, event) = post_draft(ann.id, "counted")?;
    let post = posts.create_post(&draft, &event).await?;
    let viewer = |liked, reposted| Some(ViewerState { liked, reposted });
    // Read once, so that every later read is served by the cache unless a write forgot it.
    check_eq(
        seen(posts, post.id, bob.id).await?,
        Some((stats(0, 0, 0), viewer(false, false))),
        "a new post",
    )?;
    let like = Event::new(EventPayload::PostLiked {
        post_id: post.id,
        author_id: ann.id,
        user_id: bob.id,
    });
    check_eq(
        posts.like(post.id, bob.id, Timestamp::now(), &like).await?,
        Reaction::Changed,
        "bob's like",
    )?;
    check_eq(
        seen(posts, post.id, bob.id).await?,
        Some((stats(0, 1, 0), viewer(true, false))),
        "after bob's like, as bob",
    )?;
    check_eq(
        seen(posts, post.id, ann.id).await?,
        Some((stats(0, 1, 0), viewer(false, false))),
        "after bob's like, as ann",
    )?;
    let entry = EntryKey::new();
    let repost = Event::new(EventPayload::PostReposted {
        post_id: post.id,
        author_id: ann.id,
        user_id: bob.id,
        entry,
    });
    posts
        .repost(post.id, bob.id, entry, Timestamp::now(), &repost)
        .await?;
    check_eq(
        seen(posts, post.id, bob.id).await?,
        Some((stats(0, 1, 1), viewer(true, true))),
        "after bob's repost",
    )?;
    let (reply, replied) = reply_draft(bob.id, post.id, ann.id)?;
    let reply = posts.create_post(&reply, &replied).await?;
    check_eq(
        seen(posts, post.id, bob.id).await?,
        Some((stats(1, 1, 1), viewer(true, true))),
        "after bob's reply",
    )?;
    posts.unlike(post.id, bob.id).await?;
    let unrepost = Event::new(EventPayload::PostUnreposted {
        post_id: post.id,
        author_id: ann.id,
        user_id: bob.id,
        entry,
    });
    posts.unrepost(post.id, bob.id, &unrepost).await?;
    posts
        .delete_post(reply.id, &deletion(reply.id, bob.id))
        .await?;
    check_eq(
        seen(posts, post.id, bob.id).await?,
        Some((stats(0, 0, 0), viewer(false, false))),
        "after the unlike, the unrepost and the reply's deletion",
    )?;
    posts
        .delete_post(post.id, &deletion(post.id, ann.id))
        .await?;
    check_eq(
        posts.stats(&[post.id], Some(bob.id)).await?.len(),
        0,
        "counts of a deleted post",
    )
}

async fn the_decorators_forget_a_name_and_an_erased_author(
    users: &dyn UserStore,
    posts: &dyn PostStore,
) -> anyhow::Result<()> {
    let ann = fresh_user(users, "slots_named").await?;
    let (draft, event) = post_draft(ann.id, "named")?;
    let post = posts.create_post(&draft, &event).await?;
    let author = |rows: Vec<rookery::ports::StatsRow>| rows.first().map(|r| r.author.clone());
    let before = author(posts.stats(&[post.id], None).await?);
    check_eq(
        users.summaries(&[ann.id]).await?.first().cloned(),
        before.clone(),
        "the summary and the post's author",
    )?;
    let changes = ProfileChanges {
        display_name: Some(DisplayName::parse("Ann Renamed")?),
        bio: None,
    };
    users.update_profile(ann.id, &changes).await?;
    let renamed = author(posts.stats(&[post.id], None).await?);
    check_eq(
        renamed.map(|a| a.display_name),
        Some("Ann Renamed".to_owned()),
        "the post's author after the rename",
    )?;
    check_eq(
        users
            .summaries(&[ann.id])
            .await?
            .first()
            .map(|a| a.display_name.clone()),
        Some("Ann Renamed".to_owned()),
        "the summary after the rename",
    )?;
    // Ann likes Bob's post, and the count is cached.
    let bob = fresh_user(users, "slots_liked").await?;
    let (draft, event) = post_draft(bob.id, "liked by ann")?;
    let bobs = posts.create_post(&draft, &event).await?;
    let like = Event::new(EventPayload::PostLiked {
        post_id: bobs.id,
        author_id: bob.id,
        user_id: ann.id,
    });
    posts.like(bobs.id, ann.id, Timestamp::now(), &like).await?;
    check_eq(
        seen(posts, bobs.id, bob.id).await?.map(|(stats, _)| stats),
        Some(stats(0, 1, 0)),
        "bob's post liked by ann",
    )?;
    let found = posts.posts(&[post.id]).await?;
    let erased = Event::new(EventPayload::user_deleted(ann.id, &[]));
    users.delete_user(ann.id, &erased, Timestamp::now()).await?;
    // Her like is taken back in the store's transaction; the cached count goes with it.
    check_eq(
        seen(posts, bobs.id, bob.id).await?.map(|(stats, _)| stats),
        Some(stats(0, 0, 0)),
        "bob's post after ann's erasure",
    )?;
    // The post read before the erasure (as a post cache may still hold it) is left out.
    check_eq(
        posts.stats_of(&found, None).await?.len(),
        0,
        "counts of an erased author's post",
    )?;
    check_eq(
        users.summaries(&[ann.id]).await?.len(),
        0,
        "the summary of an erased user",
    )
}

/// A process keeps the posts it decoded; a page it hydrates still leaves out one deleted by
/// another process, and one whose author another process erased.
async fn a_page_leaves_out_a_post_deleted_elsewhere(
    users: &dyn UserStore,
    here: &dyn PostStore,
    elsewhere: &dyn PostStore,
) -> anyhow::Result<()> {
    let ann = fresh_user(users, "slots_elsewhere").await?;
    let bob = fresh_user(users, "slots_erased").await?;
    let mut ids = Vec::new();
    for (author, text) in [(ann.id, "kept"), (ann.id, "deleted"), (bob.id, "erased")] {
        let (draft, event) = post_draft(author, text)?;
        ids.push(here.create_post(&draft, &event).await?.id);
    }
    let page = |posts: Vec<(rookery::domain::Post, rookery::ports::StatsRow)>| {
        let mut ids: Vec<PostId> = posts.into_iter().map(|(post, _)| post.id).collect();
        ids.sort();
        ids
    };
    let mut all = ids.clone();
    all.sort();
    check_eq(
        page(here.hydrate(&ids, Some(ann.id)).await?),
        all,
        "the page",
    )?;
    elsewhere
        .delete_post(ids[1], &deletion(ids[1], ann.id))
        .await?;
    let mut kept = vec![ids[0], ids[2]];
    kept.sort();
    check_eq(
        page(here.hydrate(&ids, Some(ann.id)).await?),
        kept,
        "the page after a deletion elsewhere",
    )?;
    let erased = Event::new(EventPayload::user_deleted(bob.id, &[]));
    users.delete_user(bob.id, &erased, Timestamp::now()).await?;
    check_eq(
        page(here.hydrate(&ids, Some(ann.id)).await?),
        vec![ids[0]],
        "the page after an erasure elsewhere",
    )
}
