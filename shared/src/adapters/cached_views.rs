//! Posts, their counts, viewer state and authors served from a [`SlotCache`], so that a warm
//! feed page reads no SQL: decorators over the post store ([`CachedPosts`]) and the user store
//! ([`CachedUsers`]). A miss is read from the store and filled at the generation read with it;
//! every write that changes a slot forgets it after the store committed (see
//! [`crate::ports::SlotCache`] for why a late fill cannot undo that).
//!
//! What each slot holds, and which writes forget it:
//! - `Post(post)`: the post as written (it never changes), or that it is gone. Its deletion.
//! - `Counts(post)`: replies, likes, reposts. A like, unlike, repost or unrepost that changed
//!   something; a reply to the post or the deletion of one; the post's own deletion.
//! - `Viewer { post, reader }`: whether the reader likes and reposted it. The reader's like,
//!   unlike, repost or unrepost of the post.
//! - `User(user)`: username and display name, or that the user is gone. A profile change and
//!   the account's erasure. A post whose author is gone is left out, as the store leaves it.
//! - `CountsEpoch`: every post's counts at once. An account's erasure, which takes back its
//!   likes, reposts and replies on others' posts: which posts those are is known only inside
//!   the store's transaction. Counts are cached with the epoch read before the store was, and
//!   are a miss under any other.
//!
//! Posts never change, so each process also keeps the ones it decoded (`Decoded`), for
//! [`PostStore::hydrate`] only: there the counts, read from the slot cache beside them, tell
//! whether a post is still there, and a warm page is one slot read.
//!
//! A forget that fails (the cache is down) is logged, and its slots are right again within
//! their TTL. Reads never fail because of the cache: they are answered by the store.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::domain::{
    Credentials, EntryKey, Event, FeedEntry, Login, Mention, NewPost, NewUser, Post, PostId,
    PostStats, ProfileChanges, Relation, RelationCursor, Timestamp, User, UserId, UserQuery,
    UserSummary, ViewerState,
};
use crate::ports::{
    CreatePostError, CreateUserError, Fill, PostStore, Reaction, Slot, SlotCache, SlotKey,
    StatsRow, UserStore,
};

/// How long values are served. Every change forgets them, so this only bounds a forget that
/// was lost. Counts must expire well within the hour a forgotten generation, the epoch's
/// included, is kept (`adapters::redis::slots`): an epoch that expired reads as 0 again.
pub const COUNTS_TTL: Duration = Duration::from_secs(60);
pub const VIEWER_TTL: Duration = Duration::from_secs(600);
pub const USER_TTL: Duration = Duration::from_secs(600);
/// Posts never change: a day keeps the hot set, and Redis' memory for feeds.
pub const POST_TTL: Duration = Duration::from_secs(86_400);

// --- values ---------------------------------------------------------------------------------

/// Counts as of `epoch` (the generation of [`SlotKey::CountsEpoch`]).
fn encode_counts(epoch: u64, stats: PostStats) -> Vec<u8> {
    format!(
        "{epoch} {} {} {}",
        stats.replies, stats.likes, stats.reposts
    )
    .into_bytes()
}

/// The counts, if they are of `epoch`.
fn decode_counts(raw: &[u8], epoch: u64) -> Option<PostStats> {
    let text = std::str::from_utf8(raw).ok()?;
    let mut numbers = text.split(' ').map(str::parse::<u64>);
    if numbers.next()?.ok()? != epoch {
        return None;
    }
    let stats = PostStats {
        replies: numbers.next()?.ok()?,
        likes: numbers.next()?.ok()?,
        reposts: numbers.next()?.ok()?,
    };
    numbers.next().is_none().then_some(stats)
}

fn encode_viewer(viewer: ViewerState) -> Vec<u8> {
    vec![
        b'0' + u8::from(viewer.liked),
        b'0' + u8::from(viewer.reposted),
    ]
}

fn decode_viewer(raw: &[u8]) -> Option<ViewerState> {
    let flag = |byte: u8| match byte {
        b'0' => Some(false),
        b'1' => Some(true),
        _ => None,
    };
    match raw {
        [liked, reposted] => Some(ViewerState {
            liked: flag(*liked)?,
            reposted: flag(*reposted)?,
        }),
        _ => None,
    }
}

/// The cached form of a user, owned here so that the API's rendering can change freely. An
/// empty value means the user is gone.
#[derive(Serialize, Deserialize)]
struct CachedUser {
    username: String,
    display_name: String,
}

fn encode_user(summary: Option<&UserSummary>) -> Vec<u8> {
    summary
        .and_then(|summary| {
            serde_json::to_vec(&CachedUser {
                username: summary.username.clone(),
                display_name: summary.display_name.clone(),
            })
            .ok()
        })
        .unwrap_or_default()
}

/// `Some(None)`: the user is gone; `None`: unreadable.
fn decode_user(id: UserId, raw: &[u8]) -> Option<Option<UserSummary>> {
    if raw.is_empty() {
        return Some(None);
    }
    let cached: CachedUser = serde_json::from_slice(raw).ok()?;
    Some(Some(UserSummary {
        id,
        username: cached.username,
        display_name: cached.display_name,
    }))
}

/// The cached form of a post, owned here so that a change to how the API renders a `Post` does
/// not silently change (and break) the cache format. An empty value means the post is gone.
#[derive(Serialize, Deserialize)]
struct CachedPost {
    id: PostId,
    author_id: UserId,
    author_username: String,
    author_display_name: String,
    content: String,
    created_at: Timestamp,
    in_reply_to: Option<PostId>,
    mentions: Vec<Mention>,
    tags: Vec<String>,
}

fn encode_post(post: Option<&Post>) -> Vec<u8> {
    let Some(post) = post else {
        return Vec::new();
    };
    // Destructured so that a new field on `Post` fails to compile here until it is cached.
    let Post {
        id,
        author:
            UserSummary {
                id: author_id,
                username,
                display_name,
            },
        content,
        created_at,
        in_reply_to,
        mentions,
        tags,
    } = post;
    serde_json::to_vec(&CachedPost {
        id: *id,
        author_id: *author_id,
        author_username: username.clone(),
        author_display_name: display_name.clone(),
        content: content.clone(),
        created_at: *created_at,
        in_reply_to: *in_reply_to,
        mentions: mentions.clone(),
        tags: tags.clone(),
    })
    .unwrap_or_default()
}

/// `Some(None)`: the post is gone; `None`: unreadable, or another post's.
fn decode_post(id: PostId, raw: &[u8]) -> Option<Option<Post>> {
    if raw.is_empty() {
        return Some(None);
    }
    let cached: CachedPost = serde_json::from_slice(raw).ok()?;
    (cached.id == id).then_some(Some(Post {
        id: cached.id,
        author: UserSummary {
            id: cached.author_id,
            username: cached.author_username,
            display_name: cached.author_display_name,
        },
        content: cached.content,
        created_at: cached.created_at,
        in_reply_to: cached.in_reply_to,
        mentions: cached.mentions,
        tags: cached.tags,
    }))
}

/// A value cached whole, or as gone: a post or a user's summary.
trait Whole: Sized {
    type Id: Copy + Eq + std::hash::Hash;
    const TTL: Duration;
    fn key(id: Self::Id) -> SlotKey;
    fn id(&self) -> Self::Id;
    fn encode(value: Option<&Self>) -> Vec<u8>;
    /// `Some(None)`: gone; `None`: unreadable.
    fn decode(id: Self::Id, raw: &[u8]) -> Option<Option<Self>>;
}

impl Whole for Post {
    type Id = PostId;
    const TTL: Duration = POST_TTL;
    fn key(id: PostId) -> SlotKey {
        SlotKey::Post(id)
    }
    fn id(&self) -> PostId {
        self.id
    }
    fn encode(value: Option<&Self>) -> Vec<u8> {
        encode_post(value)
    }
    fn decode(id: PostId, raw: &[u8]) -> Option<Option<Self>> {
        decode_post(id, raw)
    }
}

impl Whole for UserSummary {
    type Id = UserId;
    const TTL: Duration = USER_TTL;
    fn key(id: UserId) -> SlotKey {
        SlotKey::User(id)
    }
    fn id(&self) -> UserId {
        self.id
    }
    fn encode(value: Option<&Self>) -> Vec<u8> {
        encode_user(value)
    }
    fn decode(id: UserId, raw: &[u8]) -> Option<Option<Self>> {
        decode_user(id, raw)
    }
}

// --- reading --------------------------------------------------------------------------------

/// The slots one read asked for, by key.
struct Read(HashMap<SlotKey, Slot>);

impl Read {
    fn value(&self, key: SlotKey) -> Option<&[u8]> {
        self.0.get(&key)?.value.as_deref()
    }

    /// A fill of `key` at the generation read, if the read missed it.
    fn fill(&self, key: SlotKey, value: Vec<u8>, ttl: Duration) -> Option<Fill> {
        let slot = self.0.get(&key)?;
        slot.value.is_none().then_some(Fill {
            key,
            generation: slot.generation,
            value,
            ttl,
        })
    }

    /// What the read says of a value cached whole: `None` when it missed.
    fn whole<T: Whole>(&self, id: T::Id) -> Option<Option<T>> {
        T::decode(id, self.value(T::key(id))?)
    }

    /// The counts epoch, if it was read.
    fn epoch(&self) -> Option<u64> {
        Some(self.0.get(&SlotKey::CountsEpoch)?.generation)
    }
}

/// What the slots say about one post.
enum Cached {
    Row(StatsRow),
    /// Its author is gone: the post is left out.
    Gone,
    Miss,
}

/// What the slots say about each author: decoded once, for all of their posts on the page.
type Authors = HashMap<UserId, Option<Option<UserSummary>>>;

fn cached_row(read: &Read, authors: &Authors, post: &Post, reader: Option<UserId>) -> Cached {
    let Some(Some(author)) = authors.get(&post.author.id) else {
        return Cached::Miss;
    };
    let Some(author) = author.clone() else {
        return Cached::Gone;
    };
    let Some(stats) = read
        .epoch()
        .and_then(|epoch| decode_counts(read.value(SlotKey::Counts(post.id))?, epoch))
    else {
        return Cached::Miss;
    };
    let viewer = match reader {
        Some(reader) => match read
            .value(SlotKey::Viewer {
                post: post.id,
                reader,
            })
            .and_then(decode_viewer)
        {
            Some(viewer) => Some(viewer),
            None => return Cached::Miss,
        },
        None => None,
    };
    Cached::Row(StatsRow {
        post: post.id,
        author,
        stats,
        viewer,
    })
}

/// The fills for rows read from the store, for the slots the read missed.
fn fills(read: &Read, rows: &[StatsRow], reader: Option<UserId>) -> Vec<Fill> {
    let mut fills = Vec::new();
    let mut authors = HashSet::new();
    for row in rows {
        if let Some(epoch) = read.epoch() {
            let value = encode_counts(epoch, row.stats);
            fills.extend(read.fill(SlotKey::Counts(row.post), value, COUNTS_TTL));
        }
        if let (Some(reader), Some(viewer)) = (reader, row.viewer) {
            let key = SlotKey::Viewer {
                post: row.post,
                reader,
            };
            fills.extend(read.fill(key, encode_viewer(viewer), VIEWER_TTL));
        }
        if authors.insert(row.author.id) {
            let key = SlotKey::User(row.author.id);
            fills.extend(read.fill(key, encode_user(Some(&row.author)), USER_TTL));
        }
    }
    fills
}

async fn read(slots: &dyn SlotCache, keys: Vec<SlotKey>) -> anyhow::Result<Read> {
    let found = slots.get(&keys).await?;
    anyhow::ensure!(
        found.len() == keys.len(),
        "the slot cache answered {} slots for {} keys",
        found.len(),
        keys.len()
    );
    Ok(Read(keys.into_iter().zip(found).collect()))
}

async fn fill(slots: &dyn SlotCache, fills: &[Fill]) {
    if let Err(err) = slots.fill(fills).await {
        tracing::warn!(error = %err, cache = slots.name(), slots = fills.len(), "slot cache fill failed; the next read asks the store again");
    }
}

async fn forget(slots: &dyn SlotCache, keys: &[SlotKey]) {
    if let Err(err) = slots.forget(keys).await {
        tracing::warn!(error = %err, cache = slots.name(), slots = keys.len(), "slot cache forget failed; cached counts or names may be stale until they expire");
    }
}

/// Values cached whole, from the slots; the misses from `load` (which leaves out the gone),
/// then filled, the gone as gone.
async fn read_through<T, F, Fut>(
    slots: &dyn SlotCache,
    ids: &[T::Id],
    load: F,
) -> anyhow::Result<Vec<T>>
where
    T: Whole,
    F: FnOnce(Vec<T::Id>) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Vec<T>>>,
{
    let mut seen = HashSet::new();
    let ids: Vec<T::Id> = ids.iter().copied().filter(|id| seen.insert(*id)).collect();
    let read = read(slots, ids.iter().map(|id| T::key(*id)).collect()).await?;
    let mut found = Vec::with_capacity(ids.len());
    let mut missing = Vec::new();
    for id in ids {
        match read.whole::<T>(id) {
            Some(Some(value)) => found.push(value),
            Some(None) => {}
            None => missing.push(id),
        }
    }
    if !missing.is_empty() {
        let loaded = load(missing.clone()).await?;
        let by_id: HashMap<T::Id, &T> = loaded.iter().map(|value| (value.id(), value)).collect();
        let fills: Vec<Fill> = missing
            .iter()
            .filter_map(|id| {
                let value = T::encode(by_id.get(id).copied());
                read.fill(T::key(*id), value, T::TTL)
            })
            .collect();
        fill(slots, &fills).await;
        found.extend(loaded);
    }
    Ok(found)
}

// --- posts ----------------------------------------------------------------------------------

/// Posts decoded in this process, at most about twice `capacity`: the young map fills, then
/// becomes the old one, and a post found in the old map moves back to the young one. So the
/// posts read within the last `capacity` insertions stay.
struct Decoded {
    maps: Mutex<[HashMap<PostId, Post>; 2]>,
    capacity: usize,
}

/// Posts kept decoded per generation; a post is a few hundred bytes to a few kilobytes.
const DECODED: usize = 4_096;

impl Decoded {
    fn new(capacity: usize) -> Self {
        Self {
            maps: Mutex::new([HashMap::new(), HashMap::new()]),
            capacity: capacity.max(1),
        }
    }

    /// Copies of the posts of `ids` held here, and the ids that are not.
    fn get(&self, ids: &[PostId]) -> (Vec<Post>, Vec<PostId>) {
        let Ok(mut maps) = self.maps.lock() else {
            return (Vec::new(), ids.to_vec());
        };
        let mut found = Vec::with_capacity(ids.len());
        let mut missing = Vec::new();
        for id in ids {
            if let Some(post) = maps[0].get(id) {
                found.push(post.clone());
            } else if let Some(post) = maps[1].remove(id) {
                found.push(post.clone());
                Self::insert(&mut maps, post, self.capacity);
            } else {
                missing.push(*id);
            }
        }
        (found, missing)
    }

    fn put(&self, posts: &[Post]) {
        if let Ok(mut maps) = self.maps.lock() {
            for post in posts {
                Self::insert(&mut maps, post.clone(), self.capacity);
            }
        }
    }

    fn remove(&self, id: PostId) {
        if let Ok(mut maps) = self.maps.lock() {
            maps[0].remove(&id);
            maps[1].remove(&id);
        }
    }

    fn insert(maps: &mut [HashMap<PostId, Post>; 2], post: Post, capacity: usize) {
        maps[0].insert(post.id, post);
        if maps[0].len() >= capacity {
            maps[1] = std::mem::take(&mut maps[0]);
        }
    }
}

/// `PostStore` with posts, counts, viewer state and authors from the slot cache.
pub struct CachedPosts {
    inner: Arc<dyn PostStore>,
    slots: Arc<dyn SlotCache>,
    decoded: Decoded,
}

impl CachedPosts {
    pub fn new(inner: Arc<dyn PostStore>, slots: Arc<dyn SlotCache>) -> Self {
        Self {
            inner,
            slots,
            decoded: Decoded::new(DECODED),
        }
    }

    /// One slot read for every post; the misses from the store in one query, then filled.
    async fn cached_stats(
        &self,
        posts: &[Post],
        reader: Option<UserId>,
    ) -> anyhow::Result<Vec<StatsRow>> {
        let mut seen = HashSet::new();
        let posts: Vec<&Post> = posts.iter().filter(|post| seen.insert(post.id)).collect();
        let mut keys = Vec::with_capacity(posts.len() * 3 + 1);
        keys.push(SlotKey::CountsEpoch);
        let mut authors = HashSet::new();
        for post in &posts {
            keys.push(SlotKey::Counts(post.id));
            if let Some(reader) = reader {
                keys.push(SlotKey::Viewer {
                    post: post.id,
                    reader,
                });
            }
            if authors.insert(post.author.id) {
                keys.push(SlotKey::User(post.author.id));
            }
        }
        let read = read(&*self.slots, keys).await?;
        let authors: Authors = authors.into_iter().map(|id| (id, read.whole(id))).collect();
        let mut rows = Vec::with_capacity(posts.len());
        let mut missing = Vec::new();
        for post in posts {
            match cached_row(&read, &authors, post, reader) {
                Cached::Row(row) => rows.push(row),
                Cached::Gone => {}
                Cached::Miss => missing.push(post.id),
            }
        }
        if !missing.is_empty() {
            let loaded = self.inner.stats(&missing, reader).await?;
            fill(&*self.slots, &fills(&read, &loaded, reader)).await;
            rows.extend(loaded);
        }
        Ok(rows)
    }

    /// After a reaction: the post's counts and the reacting user's state of it.
    async fn reacted(&self, post: PostId, user: UserId, reaction: Reaction) -> Reaction {
        if reaction == Reaction::Changed {
            let keys = [
                SlotKey::Counts(post),
                SlotKey::Viewer { post, reader: user },
            ];
            forget(&*self.slots, &keys).await;
        }
        reaction
    }
}

#[async_trait]
impl PostStore for CachedPosts {
    async fn stats_of(
        &self,
        posts: &[Post],
        reader: Option<UserId>,
    ) -> anyhow::Result<Vec<StatsRow>> {
        if posts.is_empty() {
            return Ok(Vec::new());
        }
        match self.cached_stats(posts, reader).await {
            Ok(rows) => Ok(rows),
            Err(err) => {
                tracing::warn!(error = %err, cache = self.slots.name(), "slot cache failed; reading counts from the store");
                self.inner.stats_of(posts, reader).await
            }
        }
    }

    async fn hydrate(
        &self,
        ids: &[PostId],
        reader: Option<UserId>,
    ) -> anyhow::Result<Vec<(Post, StatsRow)>> {
        let mut seen = HashSet::new();
        let ids: Vec<PostId> = ids.iter().copied().filter(|id| seen.insert(*id)).collect();
        let (mut posts, missing) = self.decoded.get(&ids);
        if !missing.is_empty() {
            let loaded = self.posts(&missing).await?;
            self.decoded.put(&loaded);
            posts.extend(loaded);
        }
        // A post deleted since it was decoded has no counts: `stats_of` leaves it out.
        let rows = self.stats_of(&posts, reader).await?;
        Ok(crate::ports::joined(posts, rows))
    }

    async fn stats(&self, ids: &[PostId], reader: Option<UserId>) -> anyhow::Result<Vec<StatsRow>> {
        // The authors come with the posts; a post that is gone has no counts either.
        let posts = self.posts(ids).await?;
        self.stats_of(&posts, reader).await
    }

    async fn posts(&self, ids: &[PostId]) -> anyhow::Result<Vec<Post>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let inner = &self.inner;
        let cached = read_through(&*self.slots, ids, |missing| async move {
            inner.posts(&missing).await
        });
        match cached.await {
            Ok(posts) => Ok(posts),
            Err(err) => {
                tracing::warn!(error = %err, cache = self.slots.name(), "slot cache failed; reading posts from the store");
                self.inner.posts(ids).await
            }
        }
    }

    async fn post(&self, id: PostId) -> anyhow::Result<Option<Post>> {
        Ok(self.posts(&[id]).await?.pop())
    }

    async fn create_post(&self, post: &NewPost, event: &Event) -> Result<Post, CreatePostError> {
        let created = self.inner.create_post(post, event).await?;
        if let Some(parent) = post.in_reply_to {
            forget(&*self.slots, &[SlotKey::Counts(parent.post)]).await;
        }
        Ok(created)
    }

    async fn delete_post(&self, id: PostId, event: &Event) -> anyhow::Result<bool> {
        // Whom it replied to never changes: the cached post says as well as the store.
        let parent = self.post(id).await?.and_then(|post| post.in_reply_to);
        let deleted = self.inner.delete_post(id, event).await?;
        self.decoded.remove(id);
        let mut keys = vec![SlotKey::Post(id), SlotKey::Counts(id)];
        keys.extend(parent.map(SlotKey::Counts));
        forget(&*self.slots, &keys).await;
        Ok(deleted)
    }

    async fn like(
        &self,
        post: PostId,
        user: UserId,
        at: Timestamp,
        event: &Event,
    ) -> anyhow::Result<Reaction> {
        let reaction = self.inner.like(post, user, at, event).await?;
        Ok(self.reacted(post, user, reaction).await)
    }

    async fn unlike(&self, post: PostId, user: UserId) -> anyhow::Result<Reaction> {
        let reaction = self.inner.unlike(post, user).await?;
        Ok(self.reacted(post, user, reaction).await)
    }

    async fn repost(
        &self,
        post: PostId,
        user: UserId,
        entry: EntryKey,
        at: Timestamp,
        event: &Event,
    ) -> anyhow::Result<Reaction> {
        let reaction = self.inner.repost(post, user, entry, at, event).await?;
        Ok(self.reacted(post, user, reaction).await)
    }

    async fn unrepost(
        &self,
        post: PostId,
        user: UserId,
        event: &Event,
    ) -> anyhow::Result<Reaction> {
        let reaction = self.inner.unrepost(post, user, event).await?;
        Ok(self.reacted(post, user, reaction).await)
    }

    // Nothing below changes or reads a slot.

    async fn prune_idempotency_keys(&self, before: Timestamp, max: usize) -> anyhow::Result<u64> {
        self.inner.prune_idempotency_keys(before, max).await
    }

    async fn post_ids_by_authors(
        &self,
        authors: &[UserId],
        before: Option<PostId>,
        limit: usize,
    ) -> anyhow::Result<Vec<PostId>> {
        self.inner.post_ids_by_authors(authors, before, limit).await
    }

    async fn count_by_author(&self, author: UserId) -> anyhow::Result<u64> {
        self.inner.count_by_author(author).await
    }

    async fn home_feed(
        &self,
        reader: UserId,
        authors: &[UserId],
        audience: &[UserId],
        before: Option<EntryKey>,
        limit: usize,
    ) -> anyhow::Result<Vec<FeedEntry>> {
        self.inner
            .home_feed(reader, authors, audience, before, limit)
            .await
    }

    async fn user_feed(
        &self,
        author: UserId,
        before: Option<EntryKey>,
        limit: usize,
    ) -> anyhow::Result<Vec<FeedEntry>> {
        self.inner.user_feed(author, before, limit).await
    }

    async fn post_ids_by_tag(
        &self,
        tag: &str,
        before: Option<PostId>,
        limit: usize,
    ) -> anyhow::Result<Vec<PostId>> {
        self.inner.post_ids_by_tag(tag, before, limit).await
    }

    async fn reply_ids(
        &self,
        post: PostId,
        after: Option<PostId>,
        limit: usize,
    ) -> anyhow::Result<Vec<PostId>> {
        self.inner.reply_ids(post, after, limit).await
    }

    async fn replies_of(
        &self,
        parents: &[PostId],
        limit: usize,
    ) -> anyhow::Result<Vec<(PostId, PostId)>> {
        self.inner.replies_of(parents, limit).await
    }

    async fn likers(
        &self,
        post: PostId,
        after: Option<RelationCursor>,
        limit: usize,
    ) -> anyhow::Result<Vec<Relation>> {
        self.inner.likers(post, after, limit).await
    }

    async fn repost_entry(&self, post: PostId, user: UserId) -> anyhow::Result<Option<EntryKey>> {
        self.inner.repost_entry(post, user).await
    }

    async fn reposters(
        &self,
        post: PostId,
        after: Option<RelationCursor>,
        limit: usize,
    ) -> anyhow::Result<Vec<Relation>> {
        self.inner.reposters(post, after, limit).await
    }
}

// --- users ----------------------------------------------------------------------------------

/// `UserStore` with summaries from the slot cache; forgets a user's slot when the profile
/// changes or the account is erased.
pub struct CachedUsers {
    inner: Arc<dyn UserStore>,
    slots: Arc<dyn SlotCache>,
}

impl CachedUsers {
    pub fn new(inner: Arc<dyn UserStore>, slots: Arc<dyn SlotCache>) -> Self {
        Self { inner, slots }
    }
}

#[async_trait]
impl UserStore for CachedUsers {
    async fn summaries(&self, ids: &[UserId]) -> anyhow::Result<Vec<UserSummary>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let inner = &self.inner;
        let cached = read_through(&*self.slots, ids, |missing| async move {
            inner.summaries(&missing).await
        });
        match cached.await {
            Ok(found) => Ok(found),
            Err(err) => {
                tracing::warn!(error = %err, cache = self.slots.name(), "slot cache failed; reading users from the store");
                self.inner.summaries(ids).await
            }
        }
    }

    async fn update_profile(
        &self,
        user: UserId,
        changes: &ProfileChanges,
    ) -> anyhow::Result<Option<User>> {
        let updated = self.inner.update_profile(user, changes).await?;
        forget(&*self.slots, &[SlotKey::User(user)]).await;
        Ok(updated)
    }

    async fn delete_user(
        &self,
        user: UserId,
        event: &Event,
        now: Timestamp,
    ) -> anyhow::Result<bool> {
        let deleted = self.inner.delete_user(user, event, now).await?;
        forget(&*self.slots, &[SlotKey::User(user), SlotKey::CountsEpoch]).await;
        Ok(deleted)
    }

    // Nothing below changes or reads a slot.

    async fn create_user(&self, user: &NewUser, event: &Event) -> Result<User, CreateUserError> {
        self.inner.create_user(user, event).await
    }

    async fn user_by_id(&self, id: UserId) -> anyhow::Result<Option<User>> {
        self.inner.user_by_id(id).await
    }

    async fn user_by_username(&self, username: &str) -> anyhow::Result<Option<User>> {
        self.inner.user_by_username(username).await
    }

    async fn credentials(&self, login: &Login) -> anyhow::Result<Option<Credentials>> {
        self.inner.credentials(login).await
    }

    async fn credentials_by_id(&self, id: UserId) -> anyhow::Result<Option<Credentials>> {
        self.inner.credentials_by_id(id).await
    }

    async fn summaries_by_username(
        &self,
        usernames: &[String],
    ) -> anyhow::Result<Vec<UserSummary>> {
        self.inner.summaries_by_username(usernames).await
    }

    async fn search_users(
        &self,
        query: &UserQuery,
        after: Option<&str>,
        limit: usize,
    ) -> anyhow::Result<Vec<UserSummary>> {
        self.inner.search_users(query, after, limit).await
    }

    async fn set_password(
        &self,
        user: UserId,
        password_hash: &str,
        now: Timestamp,
    ) -> anyhow::Result<bool> {
        self.inner.set_password(user, password_hash, now).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(id: PostId) -> Post {
        Post {
            id,
            author: UserSummary {
                id: UserId::new(),
                username: "ann".into(),
                display_name: "Ann".into(),
            },
            content: "hello".into(),
            created_at: Timestamp::from_millis(1),
            in_reply_to: None,
            mentions: Vec::new(),
            tags: Vec::new(),
        }
    }

    #[test]
    fn decoded_posts_stay_within_twice_the_capacity_and_keep_the_latest() {
        let decoded = Decoded::new(2);
        let ids: Vec<PostId> = (0..10).map(|_| PostId::new()).collect();
        for id in &ids {
            decoded.put(&[post(*id)]);
            let (found, _) = decoded.get(&[*id]);
            assert_eq!(found.len(), 1, "a post just put is held");
        }
        let (found, missing) = decoded.get(&ids);
        assert!((1..=4).contains(&found.len()), "{} held", found.len());
        assert_eq!(found.len() + missing.len(), ids.len());
        // A post read from the old map moves back: it outlives the next turn.
        decoded.put(&[post(ids[0]), post(ids[1])]); // young [0 1] turns old
        let (found, _) = decoded.get(&[ids[0]]); // young [0]
        assert_eq!(found.len(), 1);
        decoded.put(&[post(ids[2])]); // young [0 2] turns old: 1 is gone
        let (found, missing) = decoded.get(&[ids[0], ids[1]]);
        assert_eq!(found.iter().map(|p| p.id).collect::<Vec<_>>(), [ids[0]]);
        assert_eq!(missing, [ids[1]]);
        decoded.remove(ids[0]);
        assert_eq!(decoded.get(&[ids[0]]).1, [ids[0]]);
    }

    #[test]
    fn cached_values_round_trip_and_garbage_reads_as_a_miss() {
        let stats = PostStats {
            replies: 3,
            likes: 1_000_000,
            reposts: 0,
        };
        assert_eq!(decode_counts(&encode_counts(7, stats), 7), Some(stats));
        // Counts of another epoch are a miss.
        assert_eq!(decode_counts(&encode_counts(6, stats), 7), None);
        for garbage in [
            &b""[..],
            b"7 1 2",
            b"7 1 2 3 4",
            b"7 1 x 3",
            b"7 -1 2 3",
            b"1 2 3",
        ] {
            assert_eq!(decode_counts(garbage, 7), None, "{garbage:?}");
        }
        for (liked, reposted) in [(false, false), (true, false), (false, true), (true, true)] {
            let viewer = ViewerState { liked, reposted };
            assert_eq!(decode_viewer(&encode_viewer(viewer)), Some(viewer));
        }
        assert_eq!(decode_viewer(b"1"), None);
        assert_eq!(decode_viewer(b"12"), None);
        let user = UserSummary {
            id: UserId::new(),
            username: "ann".into(),
            display_name: "Ann \"quoted\" ✓".into(),
        };
        assert_eq!(
            decode_user(user.id, &encode_user(Some(&user))),
            Some(Some(user.clone()))
        );
        assert_eq!(decode_user(user.id, &encode_user(None)), Some(None));
        assert_eq!(decode_user(user.id, b"{not json"), None);
        let post = Post {
            id: PostId::new(),
            author: user,
            content: "hello, world ✓ @bob #Tag".into(),
            created_at: Timestamp::from_millis(1_764_028_800_123),
            in_reply_to: Some(PostId::new()),
            mentions: vec![Mention {
                id: UserId::new(),
                username: "bob".into(),
            }],
            tags: vec!["tag".into()],
        };
        let raw = encode_post(Some(&post));
        assert_eq!(decode_post(post.id, &raw), Some(Some(post.clone())));
        assert_eq!(decode_post(post.id, &encode_post(None)), Some(None));
        // An entry that holds another post is not trusted.
        assert_eq!(decode_post(PostId::new(), &raw), None);
        assert_eq!(decode_post(post.id, b"{not json"), None);
    }
}
