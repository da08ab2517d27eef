//! Redis feeds (redis, connection manager): the production `FeedCache`.
//!
//! A feed is a sorted set whose score is the entry key's time (`EntryKey::millis()`) and whose
//! member is the entry as text: the post id for a post itself (its key is its id), and
//! `<entry key>|<post id>|<reposter id>` for a repost. A hash beside it maps each reposted post
//! to its member, so that a post is added at most once and an undone repost finds its entry;
//! "ready" is a marker key. All three carry one Redis Cluster hash tag, so they live in one slot
//! and a script or a transaction can use them together:
//!
//! - `feed:{home:<user uuid>}`, `feed:{home:<user uuid>}:reposts`, `feed:{home:<user uuid>}:ready`
//! - the same with `user:` for a user feed.
//!
//! Order: Redis orders a sorted set by score, then by member bytes. For UUIDv7 keys the score is
//! the key's leading 48 bits and the hyphenated lowercase text sorts like the key (a repost's
//! suffix comes after its key), so (score, member) order is `EntryKey` order, ties within one
//! millisecond included.
//!
//! Posts are pushed to many feeds at once with plain pipelined commands (below); reposts, rarer,
//! go through a script per feed that checks the post is not there yet. A post pushed after a
//! repost of it reached the same feed (the reader follows both) is not checked: the feed service
//! shows a post once per page. Trimming leaves the hash entries of trimmed reposts behind; they
//! expire with the feed.
//!
//! Trimming: a push of one post trims the feed to the cap only one time in [`TRIM_EVERY`] per
//! feed (chosen by a hash of feed and post), so a feed holds a few entries more between trims
//! (about `TRIM_EVERY`). Readers never see them: a first page stops at the cap, and a page
//! after a cursor trims first.
//!
//! Expiry: `fill` and `page` (activity) set the TTL of the feed and its marker. `add` sets it on
//! the feed only when it has none (`EXPIRE .. NX`, Redis 7), and only on the pushes that trim,
//! so a feed that only receives pushes gets a TTL within about [`TRIM_EVERY`] of them, and
//! pushes do not keep an unread feed alive. What this leaves: a feed that is never read and got
//! only a few pushes, none of them trimming, keeps those few entries until a later push or read
//! sets its TTL. An expired feed is rebuilt from the source of truth on its next read.

use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use redis::aio::ConnectionManager;

use super::{connect_manager, ttl_secs};

use crate::domain::{EntryKey, FeedEntry, PostId};
use crate::ports::{FeedCache, FeedKey, FeedKind};

/// Extra entries fetched by a `page` with a `before` bound, beyond `limit`: entries of
/// `before`'s own millisecond that are not strictly older are fetched, then dropped.
const TIE_SLACK: usize = 16;

/// `feed:{home:<uuid>}` or `feed:{user:<uuid>}`.
fn feed_key(key: FeedKey) -> String {
    let kind = match key.kind {
        FeedKind::Home => "home",
        FeedKind::User => "user",
    };
    format!("feed:{{{kind}:{}}}", key.user)
}

/// The feed's key with `:ready` appended: same hash tag, same slot.
fn ready_key(key: FeedKey) -> String {
    format!("{}:ready", feed_key(key))
}

/// The feed's reposted posts (post id to member): same hash tag, same slot.
fn reposts_key(key: FeedKey) -> String {
    format!("{}:reposts", feed_key(key))
}

/// An entry's member text.
fn member(entry: &FeedEntry) -> String {
    match entry.via {
        None => entry.post.to_string(),
        Some(via) => format!("{}|{}|{via}", entry.key, entry.post),
    }
}

/// The entry a member holds, if it holds one.
fn parse_member(member: &[u8]) -> Option<FeedEntry> {
    let text = std::str::from_utf8(member).ok()?;
    let mut parts = text.split('|');
    let (first, post, via) = (parts.next()?, parts.next(), parts.next());
    if parts.next().is_some() {
        return None;
    }
    match (post, via) {
        (None, None) => first.parse::<PostId>().ok().map(FeedEntry::original),
        (Some(post), Some(via)) => Some(FeedEntry::repost(
            first.parse().ok()?,
            post.parse().ok()?,
            via.parse().ok()?,
        )),
        _ => None,
    }
}

/// Adds reposts to one feed, each unless its post is there already (as itself, or through
/// another repost), then trims and sets the expiry where none is set.
/// KEYS: feed, reposts hash. ARGV: trim stop, ttl, then (score, member, post) per entry.
const ADD_REPOSTS: &str = r"
for i = 3, #ARGV, 3 do
  local post = ARGV[i + 2]
  if not redis.call('ZSCORE', KEYS[1], post) and redis.call('HEXISTS', KEYS[2], post) == 0 then
    redis.call('ZADD', KEYS[1], ARGV[i], ARGV[i + 1])
    redis.call('HSET', KEYS[2], post, ARGV[i + 1])
  end
end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2], 'NX')
redis.call('EXPIRE', KEYS[2], ARGV[2], 'NX')
return 0
";

/// Removes posts or entries from one feed. KEYS: feed, reposts hash. ARGV: (post, member)
/// pairs; an empty member removes every entry of the post, a member removes that entry only
/// where it is the post's entry.
const REMOVE: &str = r"
for i = 1, #ARGV, 2 do
  local post, member = ARGV[i], ARGV[i + 1]
  local reposted = redis.call('HGET', KEYS[2], post)
  if member == '' or member == post then
    redis.call('ZREM', KEYS[1], post)
  end
  if reposted and (member == '' or member == reposted) then
    redis.call('ZREM', KEYS[1], reposted)
    redis.call('HDEL', KEYS[2], post)
  end
end
return 0
";

/// The `stop` of `ZREMRANGEBYRANK key 0 stop` that keeps the `cap` highest-ranked (newest)
/// entries: `-(cap + 1)`.
fn trim_stop(cap: usize) -> i64 {
    i64::try_from(cap).map_or(i64::MIN, |cap| -cap - 1)
}

/// The entries of a `ZRANGE .. REV` answer strictly before `before`, at most `limit` of them,
/// in the answer's (newest first) order. Members that hold no entry are skipped with a warning.
fn older_entries(
    feed: &str,
    members: &[Vec<u8>],
    before: Option<EntryKey>,
    limit: usize,
) -> Vec<FeedEntry> {
    members
        .iter()
        .filter_map(|member| {
            let parsed = parse_member(member);
            if parsed.is_none() {
                tracing::warn!(
                    feed,
                    member = %String::from_utf8_lossy(member),
                    "skipping a feed member that is not an entry"
                );
            }
            parsed
        })
        .filter(|entry| before.is_none_or(|before| entry.key < before))
        .take(limit)
        .collect()
}

pub struct RedisFeeds {
    redis: ConnectionManager,
    cap: usize,
    ttl: Duration,
}

impl RedisFeeds {
    /// Connects to `url`; feeds hold at most `cap` ids and expire `ttl` after their last read.
    pub async fn connect(url: &str, cap: usize, ttl: Duration) -> anyhow::Result<Self> {
        Ok(Self::from_manager(connect_manager(url).await?, cap, ttl))
    }

    /// Shares a connection, e.g. with the slot cache.
    pub fn from_manager(redis: ConnectionManager, cap: usize, ttl: Duration) -> Self {
        Self { redis, cap, ttl }
    }

    /// The Redis key of a feed (for operators and tests).
    pub fn feed_key(key: FeedKey) -> String {
        feed_key(key)
    }

    /// The Redis key of a feed's ready marker (for operators and tests).
    pub fn ready_key(key: FeedKey) -> String {
        ready_key(key)
    }

    fn ttl_secs(&self) -> i64 {
        ttl_secs(self.ttl)
    }

    /// `ZRANGE feed <max> -inf BYSCORE REV LIMIT 0 <count>`: newest first, from the score of
    /// `before` (inclusive: ties are sorted out in Rust) or from the newest entry.
    fn range_cmd(feed: &str, before: Option<EntryKey>, count: usize) -> redis::Cmd {
        let max = before.map_or_else(|| "+inf".to_owned(), |id| id.millis().to_string());
        let mut cmd = redis::cmd("ZRANGE");
        cmd.arg(feed)
            .arg(max)
            .arg("-inf")
            .arg("BYSCORE")
            .arg("REV")
            .arg("LIMIT")
            .arg(0)
            .arg(i64::try_from(count).unwrap_or(i64::MAX));
        cmd
    }

    /// Reposts into feeds, one script call per feed (pipelined), each skipping posts the feed
    /// holds already.
    async fn add_reposts(&self, keys: &[FeedKey], reposts: &[FeedEntry]) -> anyhow::Result<()> {
        if keys.is_empty() || reposts.is_empty() {
            return Ok(());
        }
        let mut args: Vec<String> =
            vec![trim_stop(self.cap).to_string(), self.ttl_secs().to_string()];
        for entry in reposts {
            args.extend([
                entry.key.millis().to_string(),
                member(entry),
                entry.post.to_string(),
            ]);
        }
        let mut pipe = redis::pipe();
        for key in keys {
            pipe.cmd("EVAL")
                .arg(ADD_REPOSTS)
                .arg(2)
                .arg(feed_key(*key))
                .arg(reposts_key(*key))
                .arg(&args)
                .ignore();
        }
        let mut redis = self.redis.clone();
        pipe.exec_async(&mut redis)
            .await
            .with_context(|| format!("redis add reposts to {} feeds", keys.len()))?;
        Ok(())
    }

    /// The `REMOVE` script on every feed of `keys` (pipelined), with (post, member) pairs.
    async fn run_remove(&self, keys: &[FeedKey], pairs: &[String]) -> anyhow::Result<()> {
        if keys.is_empty() || pairs.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for key in keys {
            pipe.cmd("EVAL")
                .arg(REMOVE)
                .arg(2)
                .arg(feed_key(*key))
                .arg(reposts_key(*key))
                .arg(pairs)
                .ignore();
        }
        let mut redis = self.redis.clone();
        pipe.exec_async(&mut redis)
            .await
            .with_context(|| format!("redis remove from {} feeds", keys.len()))?;
        Ok(())
    }

    /// `page`; with `check_ready`, `None` when the feed's ready marker is absent, read in the
    /// same round trip as the first fetch.
    async fn fetch(
        &self,
        key: FeedKey,
        before: Option<EntryKey>,
        limit: usize,
        check_ready: bool,
    ) -> anyhow::Result<Option<Vec<FeedEntry>>> {
        if limit == 0 {
            let ready = !check_ready || self.is_ready(key).await?;
            return Ok(ready.then(Vec::new));
        }
        let (feed, ready, ttl) = (feed_key(key), ready_key(key), self.ttl_secs());
        // Pushes trim one time in `TRIM_EVERY`, so a feed may hold a few entries over the cap:
        // a first page stops at the cap, and a later one (rare, and the only one that can
        // reach past it) trims the feed first.
        let limit = match before {
            None => limit.min(self.cap),
            Some(_) => limit,
        };
        // Entries of `before`'s millisecond that are not strictly older come first and are
        // dropped, so fetch a few more than `limit`; fetch again, twice as many, from the start,
        // when ties ate into the page. Each fetch is one command, hence one consistent view.
        let mut count = match before {
            Some(_) => limit.saturating_add(TIE_SLACK),
            None => limit,
        };
        let mut redis = self.redis.clone();
        // The first fetch also refreshes the TTLs (a read is activity) and, when asked, reads
        // the ready marker: one round trip. A feed that turns out not to be ready is filled next.
        let mut first = redis::pipe();
        if check_ready {
            first.cmd("EXISTS").arg(&ready);
        }
        if before.is_some() {
            first
                .cmd("ZREMRANGEBYRANK")
                .arg(&feed)
                .arg(0)
                .arg(trim_stop(self.cap))
                .ignore();
        }
        first
            .add_command(Self::range_cmd(&feed, before, count))
            .cmd("EXPIRE")
            .arg(&feed)
            .arg(ttl)
            .ignore()
            .cmd("EXPIRE")
            .arg(&ready)
            .arg(ttl)
            .ignore()
            .cmd("EXPIRE")
            .arg(reposts_key(key))
            .arg(ttl)
            .ignore();
        let (is_ready, mut members): (bool, Vec<Vec<u8>>) = if check_ready {
            first.query_async(&mut redis).await
        } else {
            first
                .query_async::<(Vec<Vec<u8>>,)>(&mut redis)
                .await
                .map(|(members,)| (true, members))
        }
        .context("redis ZRANGE (feed page)")?;
        if !is_ready {
            return Ok(None);
        }
        loop {
            let entries = older_entries(&feed, &members, before, limit);
            if entries.len() >= limit || members.len() < count {
                return Ok(Some(entries));
            }
            count = count.saturating_mul(2);
            members = Self::range_cmd(&feed, before, count)
                .query_async(&mut redis)
                .await
                .context("redis ZRANGE (feed page, past ties)")?;
        }
    }
}

/// One push in this many to a feed also trims it to the cap; reads never go past the cap.
pub const TRIM_EVERY: u64 = 8;

/// Whether pushing `post` to `key` is the one in [`TRIM_EVERY`] that trims: a hash of both,
/// so that every feed is trimmed about that often whoever posts, and a redelivered event
/// chooses the same. (UUIDv7's last 62 bits are random.)
fn trims_on(key: FeedKey, post: PostId) -> bool {
    let (_, user) = key.user.as_uuid().as_u64_pair();
    let (_, post) = post.as_uuid().as_u64_pair();
    (user ^ post.rotate_left(32)).wrapping_mul(0x9E37_79B9_7F4A_7C15) % TRIM_EVERY == 0
}

/// `ZADD` arguments, computed once per call: (score, member).
fn scored(entries: &[FeedEntry]) -> Vec<(i64, String)> {
    entries
        .iter()
        .map(|entry| (entry.key.millis(), member(entry)))
        .collect()
}

#[async_trait]
impl FeedCache for RedisFeeds {
    async fn is_ready(&self, key: FeedKey) -> anyhow::Result<bool> {
        let mut redis = self.redis.clone();
        let exists: bool = redis::cmd("EXISTS")
            .arg(ready_key(key))
            .query_async(&mut redis)
            .await
            .context("redis EXISTS (feed ready marker)")?;
        Ok(exists)
    }

    async fn fill(&self, key: FeedKey, entries: &[FeedEntry]) -> anyhow::Result<()> {
        let (feed, ready, ttl) = (feed_key(key), ready_key(key), self.ttl_secs());
        let reposts = reposts_key(key);
        let mut pipe = redis::pipe();
        // MULTI/EXEC: nobody sees the marker without the entries.
        pipe.atomic();
        if !entries.is_empty() {
            pipe.cmd("ZADD").arg(&feed).arg(scored(entries)).ignore();
        }
        let reposted: Vec<(String, String)> = entries
            .iter()
            .filter(|entry| entry.via.is_some())
            .map(|entry| (entry.post.to_string(), member(entry)))
            .collect();
        if !reposted.is_empty() {
            pipe.cmd("HSET").arg(&reposts).arg(reposted).ignore();
        }
        pipe.cmd("EXPIRE").arg(&reposts).arg(ttl).ignore();
        pipe.cmd("ZREMRANGEBYRANK")
            .arg(&feed)
            .arg(0)
            .arg(trim_stop(self.cap))
            .ignore()
            .cmd("EXPIRE")
            .arg(&feed)
            .arg(ttl)
            .ignore()
            .cmd("SET")
            .arg(&ready)
            .arg(1)
            .arg("EX")
            .arg(ttl)
            .ignore();
        let mut redis = self.redis.clone();
        pipe.exec_async(&mut redis)
            .await
            .context("redis fill (ZADD, trim, marker)")?;
        Ok(())
    }

    async fn add(&self, keys: &[FeedKey], entries: &[FeedEntry]) -> anyhow::Result<()> {
        let (posts, reposts): (Vec<FeedEntry>, Vec<FeedEntry>) =
            entries.iter().partition(|entry| entry.via.is_none());
        self.add_reposts(keys, &reposts).await?;
        if keys.is_empty() || posts.is_empty() {
            return Ok(());
        }
        let (entries, stop, ttl) = (scored(&posts), trim_stop(self.cap), self.ttl_secs());
        // One round trip for the whole chunk of keys; not a transaction (keys span slots).
        // Plain commands per feed rather than one Lua call per feed (issue 7): on Redis 7.0 an
        // EVALSHA or FCALL costs the server about 3 µs on top of the commands it runs, while a
        // pipelined command costs about 0.6 µs on top of its work, so the script was 10-30%
        // slower. One script call over all the keys of a chunk is faster (about 1.5x) but names
        // keys of many slots, which Redis Cluster refuses. Trimming and the expiry ride on one
        // push in `TRIM_EVERY` (issue 17): most pushes are one ZADD, as in redis-benchmark.
        let batch = posts.len() > 1;
        let mut pipe = redis::pipe();
        for key in keys {
            let feed = feed_key(*key);
            pipe.cmd("ZADD").arg(&feed).arg(&entries).ignore();
            if batch || trims_on(*key, posts[0].post) {
                pipe.cmd("ZREMRANGEBYRANK")
                    .arg(&feed)
                    .arg(0)
                    .arg(stop)
                    .ignore()
                    .cmd("EXPIRE")
                    .arg(&feed)
                    .arg(ttl)
                    .arg("NX")
                    .ignore();
            }
        }
        let mut redis = self.redis.clone();
        pipe.exec_async(&mut redis)
            .await
            .with_context(|| format!("redis add to {} feeds", keys.len()))?;
        Ok(())
    }

    async fn remove(&self, keys: &[FeedKey], posts: &[PostId]) -> anyhow::Result<()> {
        let pairs: Vec<String> = posts
            .iter()
            .flat_map(|post| [post.to_string(), String::new()])
            .collect();
        self.run_remove(keys, &pairs).await
    }

    async fn clear(&self, keys: &[FeedKey]) -> anyhow::Result<()> {
        // One DEL per feed: a feed's three keys share a hash tag, so each DEL stays in one
        // Cluster slot.
        let mut pipe = redis::pipe();
        for key in keys {
            pipe.del(&[feed_key(*key), ready_key(*key), reposts_key(*key)])
                .ignore();
        }
        let mut redis = self.redis.clone();
        pipe.query_async::<()>(&mut redis)
            .await
            .context("clear feeds")?;
        Ok(())
    }

    async fn remove_entries(&self, keys: &[FeedKey], entries: &[FeedEntry]) -> anyhow::Result<()> {
        let pairs: Vec<String> = entries
            .iter()
            .flat_map(|entry| [entry.post.to_string(), member(entry)])
            .collect();
        self.run_remove(keys, &pairs).await
    }

    async fn page(
        &self,
        key: FeedKey,
        before: Option<EntryKey>,
        limit: usize,
    ) -> anyhow::Result<Vec<FeedEntry>> {
        Ok(self
            .fetch(key, before, limit, false)
            .await?
            .unwrap_or_default())
    }

    /// The ready marker and the first page in one round trip: every home-feed read asks this.
    async fn ready_page(
        &self,
        key: FeedKey,
        before: Option<EntryKey>,
        limit: usize,
    ) -> anyhow::Result<Option<Vec<FeedEntry>>> {
        self.fetch(key, before, limit, true).await
    }

    fn name(&self) -> &'static str {
        "redis"
    }

    async fn ping(&self) -> anyhow::Result<()> {
        let mut redis = self.redis.clone();
        let _: String = redis::cmd("PING")
            .query_async(&mut redis)
            .await
            .context("redis PING")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::UserId;

    fn v7(millis: u64, random: u8) -> PostId {
        PostId::from_uuid(
            uuid::Builder::from_unix_timestamp_millis(millis, &[random; 10]).into_uuid(),
        )
    }

    #[test]
    fn redis_keys_share_a_hash_tag_per_feed() {
        let user = UserId::new();
        let home = FeedKey::home(user);
        assert_eq!(feed_key(home), format!("feed:{{home:{user}}}"));
        assert_eq!(ready_key(home), format!("feed:{{home:{user}}}:ready"));
        let own = FeedKey::user(user);
        assert_eq!(feed_key(own), format!("feed:{{user:{user}}}"));
        assert_eq!(ready_key(own), format!("feed:{{user:{user}}}:ready"));
        assert_eq!(reposts_key(own), format!("feed:{{user:{user}}}:reposts"));
        assert_eq!(RedisFeeds::feed_key(home), feed_key(home));
        assert_eq!(RedisFeeds::ready_key(own), ready_key(own));
    }

    #[test]
    fn redis_trim_keeps_cap_entries() {
        assert_eq!(trim_stop(6), -7);
        assert_eq!(trim_stop(800), -801);
        assert_eq!(trim_stop(usize::MAX), i64::MIN);
    }

    #[test]
    fn redis_ttl_is_whole_seconds_and_positive() {
        assert_eq!(ttl_secs(Duration::from_secs(30 * 24 * 3600)), 2_592_000);
        assert_eq!(ttl_secs(Duration::from_millis(1500)), 1);
        assert_eq!(ttl_secs(Duration::ZERO), 1);
        assert_eq!(ttl_secs(Duration::MAX), i64::MAX);
    }

    #[test]
    fn redis_member_text_order_matches_id_order_within_a_millisecond() {
        let ids: Vec<PostId> = (0..=255u8)
            .step_by(15)
            .map(|r| v7(1_700_000_000_000, r))
            .collect();
        let mut by_id = ids.clone();
        by_id.sort();
        let mut by_text = ids.clone();
        by_text.sort_by_key(ToString::to_string);
        assert_eq!(by_id, by_text);
        assert!(ids.iter().all(|id| id.millis() == 1_700_000_000_000));
    }

    #[test]
    fn redis_older_entries_drops_ties_not_strictly_older_and_garbage() {
        let ms = 1_700_000_000_000;
        // Newest first, as ZRANGE .. REV answers: three ties at `ms`, then an older one.
        let (t3, t2, t1, old) = (v7(ms, 3), v7(ms, 2), v7(ms, 1), v7(ms - 1, 9));
        let members: Vec<Vec<u8>> = vec![
            t3.to_string().into_bytes(),
            t2.to_string().into_bytes(),
            b"not-a-post-id".to_vec(),
            vec![0xff, 0xfe],
            t1.to_string().into_bytes(),
            old.to_string().into_bytes(),
        ];
        let feed = "feed:{home:x}";
        let keys = |entries: Vec<FeedEntry>| -> Vec<PostId> {
            entries.into_iter().map(|e| e.post).collect()
        };
        let at = |id: PostId| Some(EntryKey::from(id));
        assert_eq!(
            keys(older_entries(feed, &members, None, 10)),
            vec![t3, t2, t1, old]
        );
        assert_eq!(keys(older_entries(feed, &members, None, 2)), vec![t3, t2]);
        assert_eq!(
            keys(older_entries(feed, &members, at(t2), 10)),
            vec![t1, old]
        );
        assert_eq!(keys(older_entries(feed, &members, at(t3), 1)), vec![t2]);
        assert_eq!(keys(older_entries(feed, &members, at(t1), 10)), vec![old]);
        assert_eq!(keys(older_entries(feed, &members, at(old), 10)), vec![]);
        assert_eq!(
            keys(older_entries(feed, &members, at(v7(ms, 4)), 10)),
            vec![t3, t2, t1, old]
        );
    }

    #[test]
    fn redis_members_round_trip_and_sort_by_entry_key() {
        let post = v7(1_700_000_000_000, 1);
        let reposter = UserId::new();
        let key = EntryKey::from(v7(1_700_000_000_500, 2));
        let original = FeedEntry::original(post);
        let repost = FeedEntry::repost(key, post, reposter);
        assert_eq!(member(&original), post.to_string());
        assert_eq!(parse_member(member(&original).as_bytes()), Some(original));
        assert_eq!(parse_member(member(&repost).as_bytes()), Some(repost));
        assert!(
            member(&repost).starts_with(&key.to_string()),
            "the key leads, for the order"
        );
        for garbage in ["", "x", "a|b", "a|b|c|d", &format!("{key}|{post}|nobody")] {
            assert_eq!(parse_member(garbage.as_bytes()), None, "{garbage:?}");
        }
    }

    #[test]
    fn redis_zadd_entries_score_by_entry_key_millis() {
        let id = v7(1_700_000_000_123, 7);
        let entry = FeedEntry::original(id);
        assert_eq!(scored(&[entry]), vec![(1_700_000_000_123, id.to_string())]);
        let key = EntryKey::from(v7(1_700_000_009_000, 1));
        let repost = FeedEntry::repost(key, id, UserId::new());
        assert_eq!(scored(&[repost])[0].0, 1_700_000_009_000);
    }

    #[test]
    fn redis_one_push_in_trim_every_trims_each_feed_and_chooses_again_alike() {
        let feed = FeedKey::home(UserId::new());
        let posts: Vec<PostId> = (0..8_000).map(|_| PostId::new()).collect();
        let trimming = posts.iter().filter(|post| trims_on(feed, **post)).count();
        // 1,000 expected; the bounds are many standard deviations (about 30) away.
        assert!((700..1_300).contains(&trimming), "{trimming} of 8000");
        assert!(
            posts
                .iter()
                .all(|post| trims_on(feed, *post) == trims_on(feed, *post))
        );
        let feeds: Vec<FeedKey> = (0..8_000).map(|_| FeedKey::home(UserId::new())).collect();
        let post = PostId::new();
        let trimmed = feeds.iter().filter(|feed| trims_on(**feed, post)).count();
        assert!((700..1_300).contains(&trimmed), "{trimmed} of 8000 feeds");
    }
}
