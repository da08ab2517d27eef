//! The port contracts, run against the Redis adapters: `RedisFeeds` (the `FeedCache` suite),
//! `RedisSlots` (the `SlotCache` suite, and the post store suite through its decorators over a
//! fresh SQLite) and `RedisLimiter` (the rate limiter suite), plus Redis-specific checks: wide fan-out, ties within one millisecond,
//! expiry, counters as expiring keys, an outage.
//!
//! Needs Redis: `TEST_REDIS_URL`, `redis://127.0.0.1:6379` by default. The tests fail (never
//! skip) when it is down. They only touch keys of freshly minted ids, so a shared Redis is fine.

mod contracts;

use contracts::feed_cache::{at, ids, originals};

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, ensure};
use redis::aio::ConnectionManager;
use rookery::adapters::cached_views::{CachedPosts, CachedUsers};
use rookery::adapters::redis::{
    CachedGraph, RedisFeeds, RedisLimiter, RedisSlots, connect_manager,
};
use rookery::adapters::sqlite::Sqlite;
use rookery::domain::limits::Rule;
use rookery::domain::{
    DisplayName, Email, Event, EventPayload, NewPost, NewUser, PostContent, PostId, Timestamp,
    UserId, Username,
};
use rookery::ports::{FeedCache, FeedKey, PostStore, SlotKey, SocialGraph, UserStore};
use rookery::ports::{RateClass, RateKey, RateLimiter};
use rookery::services::{Limits, RateRules};
use tempfile::TempDir;

use contracts::{check_eq, unique_suffix};

/// Feeds and posts written here expire soon after the run.
const TTL: Duration = Duration::from_secs(300);

fn redis_url() -> String {
    rookery_test_support::service_url("TEST_REDIS_URL")
}

async fn redis() -> anyhow::Result<ConnectionManager> {
    let url = redis_url();
    connect_manager(&url).await.with_context(|| {
        format!(
            "Redis is not reachable at {url} (TEST_REDIS_URL): start it with `scripts/services`"
        )
    })
}

async fn feeds(cap: usize) -> anyhow::Result<(RedisFeeds, ConnectionManager)> {
    let redis = redis().await?;
    Ok((RedisFeeds::from_manager(redis.clone(), cap, TTL), redis))
}

async fn sqlite() -> anyhow::Result<(TempDir, Arc<Sqlite>)> {
    let dir = tempfile::tempdir()?;
    let db = Sqlite::open(&dir.path().join("t.db")).await?;
    Ok((dir, Arc::new(db)))
}

/// A post id minted at `millis` with the given random bits.
fn post_at(millis: u64, random: [u8; 10]) -> PostId {
    PostId::from_uuid(uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid())
}

async fn ttl(redis: &mut ConnectionManager, key: &str) -> anyhow::Result<i64> {
    Ok(redis::cmd("TTL").arg(key).query_async(redis).await?)
}

async fn del(redis: &mut ConnectionManager, keys: &[String]) -> anyhow::Result<()> {
    if !keys.is_empty() {
        redis::cmd("DEL").arg(keys).exec_async(redis).await?;
    }
    Ok(())
}

#[tokio::test]
async fn feed_cache_contract() -> anyhow::Result<()> {
    let (feeds, _) = feeds(6).await?;
    check_eq(feeds.name(), "redis", "name()")?;
    contracts::feed_cache::feed_cache(Arc::new(feeds), 6).await
}

#[tokio::test]
async fn add_reaches_a_thousand_feeds_in_one_call() -> anyhow::Result<()> {
    let (feeds, mut redis) = feeds(6).await?;
    let keys: Vec<FeedKey> = (0..1_000).map(|_| FeedKey::home(UserId::new())).collect();
    let (older, post) = (PostId::new(), PostId::new());
    feeds.add(&keys, &originals(&[older])).await?;
    feeds.add(&keys, &originals(&[post, older])).await?;

    let names: Vec<String> = keys.iter().map(|key| RedisFeeds::feed_key(*key)).collect();
    let (mut ranges, mut ttls) = (redis::pipe(), redis::pipe());
    for name in &names {
        ranges.cmd("ZRANGE").arg(name).arg(0).arg(-1).arg("REV");
        ttls.cmd("TTL").arg(name);
    }
    let entries: Vec<Vec<String>> = ranges.query_async(&mut redis).await?;
    let left: Vec<i64> = ttls.query_async(&mut redis).await?;
    check_eq(entries.len(), keys.len(), "feeds read back")?;
    check_eq(left.len(), keys.len(), "TTLs read back")?;
    let want = vec![post.to_string(), older.to_string()];
    for ((name, members), ttl) in names.iter().zip(&entries).zip(&left) {
        check_eq(members, &want, &format!("entries of {name}"))?;
        ensure!(*ttl > 0, "{name} got no TTL from add(): {ttl}");
    }
    for key in keys.iter().step_by(250) {
        check_eq(
            ids(feeds.page(*key, at(None), 10).await?),
            vec![post, older],
            "page() of a pushed feed",
        )?;
        ensure!(!feeds.is_ready(*key).await?, "add() made {key:?} ready");
    }
    del(&mut redis, &names).await
}

#[tokio::test]
async fn pages_split_posts_of_one_millisecond_exactly() -> anyhow::Result<()> {
    let (feeds, mut redis) = feeds(100).await?;
    let key = FeedKey::user(UserId::new());
    let ms = u64::try_from(Timestamp::now().millis())?;
    // 40 posts in one millisecond, more than a page's slack for ties, between two neighbours.
    let mut ties: Vec<PostId> = (0..40u8)
        .map(|i| {
            let mut random: [u8; 10] = rand::random();
            random[9] = i; // distinct even if the rest collides
            post_at(ms, random)
        })
        .collect();
    let (older, newer) = (
        post_at(ms - 1, rand::random()),
        post_at(ms + 1, rand::random()),
    );
    ensure!(
        ties.iter().all(|id| id.millis() == older.millis() + 1),
        "ties must share one millisecond"
    );
    let mut all = ties.clone();
    all.extend([older, newer]);
    feeds.fill(key, &originals(&all)).await?;
    ties.sort_unstable_by(|a, b| b.cmp(a));
    let mut want = vec![newer];
    want.extend(&ties);
    want.push(older);
    check_eq(
        ids(feeds.page(key, at(None), 1_000).await?),
        want.clone(),
        "whole feed",
    )?;

    for limit in [1, 2, 3, 7, 50] {
        let mut walked = Vec::new();
        let mut before = None;
        loop {
            let page = ids(feeds.page(key, at(before), limit).await?);
            ensure!(page.len() <= limit, "page(limit {limit}) too long");
            let Some(last) = page.last().copied() else {
                break;
            };
            walked.extend(page);
            before = Some(last);
            ensure!(walked.len() <= want.len(), "paging does not terminate");
        }
        check_eq(&walked, &want, &format!("walk with limit {limit}"))?;
    }
    // Before the oldest of the ties: 39 ties (more than the slack) come first and are dropped.
    check_eq(
        ids(feeds.page(key, at(Some(ties[39])), 1).await?),
        vec![older],
        "page(before the oldest tie, limit 1)",
    )?;
    check_eq(
        ids(feeds.page(key, at(Some(ties[20])), 5).await?),
        ties[21..26].to_vec(),
        "page(before a middle tie)",
    )?;
    // An id of the same millisecond that is not in the feed.
    let absent = post_at(ms, [0; 10]);
    check_eq(
        ids(feeds.page(key, at(Some(absent)), 10).await?),
        vec![older],
        "page(before an absent id of the ties' millisecond, lowest bits)",
    )?;
    let absent = post_at(ms, [0xff; 10]);
    check_eq(
        ids(feeds.page(key, at(Some(absent)), 100).await?),
        want[1..].to_vec(),
        "page(before an absent id of the ties' millisecond, highest bits)",
    )?;

    // A member that is not a post id is skipped, not fatal.
    let name = RedisFeeds::feed_key(key);
    redis::cmd("ZADD")
        .arg(&name)
        .arg(older.millis())
        .arg("not-a-post-id")
        .exec_async(&mut redis)
        .await?;
    check_eq(
        ids(feeds.page(key, at(Some(ties[39])), 10).await?),
        vec![older],
        "page() over a garbage member",
    )?;
    del(&mut redis, &[name, RedisFeeds::ready_key(key)]).await
}

/// One-post pushes trim the feed only now and then (issue 17): the set may hold more than the
/// cap for a while, but no page shows more, and a page past the first trims it.
#[tokio::test]
async fn pushes_trim_now_and_then_and_no_page_goes_past_the_cap() -> anyhow::Result<()> {
    let (feeds, mut redis) = feeds(6).await?;
    let key = FeedKey::home(UserId::new());
    let name = RedisFeeds::feed_key(key);
    let mut pushed = Vec::new();
    for n in 0..100u8 {
        let post = post_at(1_700_000_000_000 + u64::from(n), [n; 10]);
        feeds.add(&[key], &originals(&[post])).await?;
        pushed.push(post);
    }
    // About one push in eight trims: none of a hundred doing it has odds of 1 in 600,000.
    let held: usize = redis::cmd("ZCARD")
        .arg(&name)
        .query_async(&mut redis)
        .await?;
    ensure!(held < 100, "100 pushes were never trimmed");
    let newest: Vec<PostId> = pushed.iter().rev().take(6).copied().collect();
    let first = ids(feeds.page(key, at(None), 100).await?);
    check_eq(first, newest.clone(), "a first page stops at the cap")?;
    let last = newest.last().copied().context("six newest")?;
    let rest = ids(feeds.page(key, at(Some(last)), 100).await?);
    check_eq(rest, Vec::new(), "nothing past the cap")?;
    let held: usize = redis::cmd("ZCARD")
        .arg(&name)
        .query_async(&mut redis)
        .await?;
    ensure!(
        held == 6,
        "a page past the first trims the feed to the cap, left {held}"
    );
    Ok(())
}

#[tokio::test]
async fn feeds_and_markers_expire() -> anyhow::Result<()> {
    let (feeds, mut redis) = feeds(6).await?;
    let filled = FeedKey::home(UserId::new());
    let (feed, ready) = (RedisFeeds::feed_key(filled), RedisFeeds::ready_key(filled));
    feeds.fill(filled, &originals(&[PostId::new()])).await?;
    for name in [&feed, &ready] {
        let left = ttl(&mut redis, name).await?;
        ensure!(
            left > 0 && left <= 300,
            "TTL of {name} after fill(): {left}"
        );
    }
    // A read refreshes both.
    redis::cmd("EXPIRE")
        .arg(&feed)
        .arg(10)
        .exec_async(&mut redis)
        .await?;
    redis::cmd("EXPIRE")
        .arg(&ready)
        .arg(10)
        .exec_async(&mut redis)
        .await?;
    ids(feeds.page(filled, at(None), 1).await?);
    for name in [&feed, &ready] {
        let left = ttl(&mut redis, name).await?;
        ensure!(left > 10, "TTL of {name} not refreshed by page(): {left}");
    }

    // A feed that only ever received pushes expires too: the pushes that trim (about one in
    // TRIM_EVERY, chosen by a hash of feed and post) set its TTL; none of them extends it.
    let pushed = FeedKey::home(UserId::new());
    let name = RedisFeeds::feed_key(pushed);
    let mut pushes = 0;
    let mut left = -1;
    while left < 0 && pushes < 200 {
        feeds.add(&[pushed], &originals(&[PostId::new()])).await?;
        pushes += 1;
        left = ttl(&mut redis, &name).await?;
    }
    // Without a trimming push in 200, (7/8)^200: about 3e-12.
    ensure!(left > 0, "TTL of {name} after {pushes} add()s: {left}");
    redis::cmd("EXPIRE")
        .arg(&name)
        .arg(10)
        .exec_async(&mut redis)
        .await?;
    for _ in 0..3 * rookery::adapters::redis::feeds::TRIM_EVERY {
        feeds.add(&[pushed], &originals(&[PostId::new()])).await?;
    }
    let left = ttl(&mut redis, &name).await?;
    ensure!(
        (1..=10).contains(&left),
        "add() changed the TTL of {name}: {left}"
    );
    del(&mut redis, &[feed, ready, name]).await
}

#[tokio::test]
async fn slot_cache_contract() -> anyhow::Result<()> {
    let (_dir, db) = sqlite().await?;
    let slots = Arc::new(RedisSlots::new(redis().await?));
    contracts::slot_cache::slot_cache(slots, db.clone(), db).await
}

/// The decorators over `db` and Redis, as the functions wire them.
fn cached(db: &Arc<Sqlite>, redis: ConnectionManager) -> (CachedUsers, CachedPosts) {
    let slots = Arc::new(RedisSlots::new(redis));
    (
        CachedUsers::new(db.clone(), slots.clone()),
        CachedPosts::new(db.clone(), slots),
    )
}

/// The store suite through the slot cache's decorators: they must behave like the store.
#[tokio::test]
async fn cached_views_store_contract() -> anyhow::Result<()> {
    let (_dir, db) = sqlite().await?;
    let (users, posts) = cached(&db, redis().await?);
    contracts::store::user_and_post_store(Arc::new(users), Arc::new(posts), db).await
}

async fn author_and_post(
    db: &Sqlite,
    posts: &dyn PostStore,
) -> anyhow::Result<(UserId, rookery::domain::Post)> {
    let suffix = unique_suffix();
    let user = NewUser {
        id: UserId::new(),
        username: Username::parse(&format!("cache_{suffix}"))?,
        email: Email::parse(&format!("cache.{suffix}@example.com"))?,
        display_name: DisplayName::parse("Cache Tester")?,
        password_hash: "hash".to_owned(),
        created_at: Timestamp::now(),
    };
    let registered = Event::new(EventPayload::UserRegistered {
        user_id: user.id,
        username: user.username.to_string(),
        email: user.email.as_str().to_owned(),
        display_name: user.display_name.as_str().to_owned(),
    });
    db.create_user(&user, &registered).await?;
    let new = NewPost {
        id: PostId::new(),
        author_id: user.id,
        content: PostContent::parse("cached")?,
        created_at: Timestamp::now(),
        in_reply_to: None,
        mentions: Vec::new(),
        tags: Vec::new(),
        idempotency: None,
    };
    let created = Event::new(EventPayload::post_created(new.id, user.id));
    Ok((user.id, posts.create_post(&new, &created).await?))
}

fn post_key(id: PostId) -> String {
    rookery::adapters::redis::slots::key(&SlotKey::Post(id))
}

#[tokio::test]
async fn deleted_posts_are_not_served_from_the_cache() -> anyhow::Result<()> {
    let mut redis = redis().await?;
    let (_dir, db) = sqlite().await?;
    let (_, cached) = cached(&db, redis.clone());
    let (author, post) = author_and_post(&db, &cached).await?;
    let key = post_key(post.id);
    check_eq(
        cached.posts(&[post.id]).await?,
        vec![post.clone()],
        "posts()",
    )?;
    let held: Option<String> = redis::cmd("GET").arg(&key).query_async(&mut redis).await?;
    ensure!(
        held.is_some_and(|held| held.contains(&post.id.to_string())),
        "{key} not cached after a read"
    );

    let deleted = Event::new(EventPayload::PostDeleted {
        post_id: post.id,
        author_id: author,
        reposted_by: Vec::new(),
    });
    ensure!(
        cached.delete_post(post.id, &deleted).await?,
        "delete_post()"
    );
    // The key now holds a generation and no post: a reader that loaded the post just before
    // the delete cannot fill it back (the slot cache contract checks that refusal).
    let held: Option<String> = redis::cmd("GET").arg(&key).query_async(&mut redis).await?;
    ensure!(
        held.as_deref()
            .is_some_and(|held| !held.is_empty() && held.bytes().all(|b| b.is_ascii_digit())),
        "cache entry after delete: {held:?}"
    );
    check_eq(cached.post(post.id).await?, None, "post() after delete")?;
    check_eq(
        cached.posts(&[post.id]).await?,
        vec![],
        "posts() after delete",
    )?;
    del(&mut redis, &[key]).await
}

#[tokio::test]
async fn posts_read_through_after_the_cache_is_flushed() -> anyhow::Result<()> {
    let mut redis = redis().await?;
    let (_dir, db) = sqlite().await?;
    let (_, cached) = cached(&db, redis.clone());
    let (_, first) = author_and_post(&db, &cached).await?;
    let (_, second) = author_and_post(&db, &cached).await?;
    let keys = vec![post_key(first.id), post_key(second.id)];
    let ids = [second.id, PostId::new(), first.id, second.id];
    let sorted = |mut posts: Vec<rookery::domain::Post>| {
        posts.sort_by_key(|p| p.id);
        posts
    };
    let want = vec![first.clone(), second.clone()];
    check_eq(sorted(cached.posts(&ids).await?), want.clone(), "cold")?;
    check_eq(sorted(cached.posts(&ids).await?), want.clone(), "warm")?;
    let present: i64 = redis::cmd("EXISTS")
        .arg(&keys)
        .query_async(&mut redis)
        .await?;
    check_eq(present, 2, "keys filled by a cold read")?;

    del(&mut redis, &keys).await?;
    check_eq(sorted(cached.posts(&ids).await?), want.clone(), "flushed")?;

    // One key lost: a partial hit reads the store for the miss only.
    del(&mut redis, &keys[..1]).await?;
    check_eq(sorted(cached.posts(&ids).await?), want.clone(), "partial")?;
    check_eq(
        cached.post(first.id).await?,
        Some(first.clone()),
        "post() after a partial read",
    )?;

    // An unreadable entry (or one an older version wrote) is a miss, not an error, and the
    // next fill replaces it.
    redis::cmd("SET")
        .arg(&keys[1])
        .arg("{garbage")
        .arg("EX")
        .arg(60)
        .exec_async(&mut redis)
        .await?;
    check_eq(sorted(cached.posts(&ids).await?), want, "garbage entry")?;
    check_eq(
        cached.post(second.id).await?,
        Some(second),
        "post() over a garbage entry",
    )?;
    let held: Option<String> = redis::cmd("GET")
        .arg(&keys[1])
        .query_async(&mut redis)
        .await?;
    ensure!(
        held.is_some_and(|held| held.starts_with("0:")),
        "the garbage entry was not replaced"
    );
    del(&mut redis, &keys).await
}

/// Redis down (nothing listens on the port): every read and write is answered by the store.
#[tokio::test]
async fn a_redis_outage_degrades_the_slot_cache_to_the_store() -> anyhow::Result<()> {
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_number_of_retries(0)
        .set_connection_timeout(Some(Duration::from_millis(200)));
    let down = redis::Client::open("redis://127.0.0.1:1")?.get_connection_manager_lazy(config)?;
    let (_dir, db) = sqlite().await?;
    let (users, cached) = cached(&db, down);
    let (author, post) = author_and_post(&db, &cached).await?;
    check_eq(
        cached.post(post.id).await?,
        Some(post.clone()),
        "post() without Redis",
    )?;
    check_eq(
        cached.posts(&[post.id, PostId::new()]).await?,
        vec![post.clone()],
        "posts() without Redis",
    )?;
    check_eq(
        cached.stats(&[post.id], Some(author)).await?.len(),
        1,
        "stats() without Redis",
    )?;
    check_eq(
        users.summaries(&[author]).await?.len(),
        1,
        "summaries() without Redis",
    )?;
    let deleted = Event::new(EventPayload::PostDeleted {
        post_id: post.id,
        author_id: author,
        reposted_by: Vec::new(),
    });
    ensure!(
        cached.delete_post(post.id, &deleted).await?,
        "delete_post() without Redis"
    );
    check_eq(cached.post(post.id).await?, None, "post() after delete")?;
    Ok(())
}

/// The connection is dropped under the adapter (as in a Redis restart): it reconnects by itself.
#[tokio::test]
async fn feeds_reconnect_after_the_connection_drops() -> anyhow::Result<()> {
    let (feeds, mut shared) = feeds(6).await?;
    let key = FeedKey::home(UserId::new());
    let post = PostId::new();
    feeds.fill(key, &originals(&[post])).await?;
    let id: i64 = redis::cmd("CLIENT")
        .arg("ID")
        .query_async(&mut shared)
        .await?;
    let mut other = redis().await?;
    redis::cmd("CLIENT")
        .arg("KILL")
        .arg("ID")
        .arg(id)
        .exec_async(&mut other)
        .await?;
    // The command that meets the dead connection may fail; the ones after it succeed.
    let recovered = contracts::eventually(Duration::from_secs(3), || async {
        Ok(feeds
            .page(key, None, 10)
            .await
            .is_ok_and(|entries| ids(entries) == [post]))
    })
    .await?;
    ensure!(
        recovered,
        "RedisFeeds did not recover from a dropped connection"
    );
    del(
        &mut other,
        &[RedisFeeds::feed_key(key), RedisFeeds::ready_key(key)],
    )
    .await
}

#[tokio::test]
async fn cached_graph_contract() -> anyhow::Result<()> {
    let (_dir, db) = sqlite().await?;
    let graph = CachedGraph::new(db, redis().await?, Duration::from_secs(300));
    contracts::graph::social_graph(Arc::new(graph)).await
}

#[tokio::test]
async fn refresh_drops_a_following_list_the_write_could_not_drop() -> anyhow::Result<()> {
    let (_dir, db) = sqlite().await?;
    let graph = CachedGraph::new(db.clone(), redis().await?, Duration::from_secs(300));
    let (me, them) = (UserId::new(), UserId::new());
    check_eq(
        graph.following_ids(me).await?,
        vec![],
        "nobody followed yet",
    )?;
    // A follow written behind the cache's back (as if its drop failed in a Redis outage)...
    db.follow(me, them, Timestamp::now()).await?;
    check_eq(
        graph.following_ids(me).await?,
        vec![],
        "served from the cache",
    )?;
    // ...is seen once the follow event's consumer refreshes the user.
    graph.refresh(me).await?;
    check_eq(graph.following_ids(me).await?, vec![them], "after refresh")?;
    Ok(())
}

#[tokio::test]
async fn rate_limiter_contract() -> anyhow::Result<()> {
    contracts::limits::rate_limiter(Arc::new(RedisLimiter::new(redis().await?))).await
}

/// A counter is one key under `rl:`, holding the time it frees up and expiring then; a refusal
/// writes nothing. The script is sent by its SHA and loaded again when Redis lost it.
#[tokio::test]
async fn rate_counters_are_expiring_keys_and_survive_a_script_flush() -> anyhow::Result<()> {
    let mut redis = redis().await?;
    let limiter = RedisLimiter::new(redis.clone());
    let rule: Rule = "2/10s".parse().map_err(anyhow::Error::msg)?;
    let key = RateKey::new(RateClass::Posts, format!("contract-{}", unique_suffix()));
    let stored = rookery::adapters::redis::limits::key(&key);
    check_eq(stored.starts_with("rl:posts:"), true, "key prefix")?;
    ensure!(limiter.check(&key, rule).await?.is_allowed());
    let exists: bool = redis::cmd("EXISTS")
        .arg(&stored)
        .query_async(&mut redis)
        .await?;
    check_eq(exists, false, "a key after check() alone")?;
    ensure!(limiter.acquire(&key, rule).await?.is_allowed());
    let pttl: i64 = redis::cmd("PTTL")
        .arg(&stored)
        .query_async(&mut redis)
        .await?;
    ensure!(
        pttl > 4_000 && pttl <= 5_000,
        "PTTL {pttl} ms after one of 2 per 10 s, want about 5 s"
    );
    redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async::<()>(&mut redis)
        .await?;
    ensure!(limiter.acquire(&key, rule).await?.is_allowed());
    let before: String = redis::cmd("GET")
        .arg(&stored)
        .query_async(&mut redis)
        .await?;
    ensure!(!limiter.acquire(&key, rule).await?.is_allowed());
    let after: String = redis::cmd("GET")
        .arg(&stored)
        .query_async(&mut redis)
        .await?;
    check_eq(after, before, "the stored time after a refusal")?;
    let pttl: i64 = redis::cmd("PTTL")
        .arg(&stored)
        .query_async(&mut redis)
        .await?;
    ensure!(
        pttl > 9_000 && pttl <= 10_000,
        "PTTL {pttl} ms, want about 10 s"
    );
    del(&mut redis, &[stored]).await
}

/// With Redis down the limiter reports the outage, and the limits let the request through.
#[tokio::test]
async fn a_redis_outage_lets_limited_requests_through() -> anyhow::Result<()> {
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_number_of_retries(0)
        .set_connection_timeout(Some(Duration::from_millis(200)));
    let down = redis::Client::open("redis://127.0.0.1:1")?.get_connection_manager_lazy(config)?;
    let limiter = Arc::new(RedisLimiter::new(down));
    let rule: Rule = "1/1h".parse().map_err(anyhow::Error::msg)?;
    let key = RateKey::new(RateClass::Posts, "contract-down");
    ensure!(
        limiter.acquire(&key, rule).await.is_err(),
        "no error without Redis"
    );
    let limits = Limits::new(
        limiter,
        RateRules {
            posts: rule,
            ..RateRules::default()
        },
    );
    for _ in 0..3 {
        ensure!(limits.acquire(&key).await.is_ok(), "refused without Redis");
    }
    Ok(())
}
