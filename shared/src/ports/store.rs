//! The source of truth for users and posts (SQLite embedded, SQL Server in production).

use async_trait::async_trait;

use crate::domain::{
    Credentials, EntryKey, Event, FeedEntry, Login, NewPost, NewUser, Post, PostId, PostStats,
    ProfileChanges, Relation, RelationCursor, Timestamp, User, UserId, UserQuery, UserSummary,
    ViewerState,
};

#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    #[error("the username is taken")]
    UsernameTaken,
    #[error("the e-mail address is taken")]
    EmailTaken,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

#[async_trait]
pub trait UserStore: Send + Sync + 'static {
    /// Stores the user and its `user.registered` event in one transaction.
    ///
    /// # Errors
    /// `UsernameTaken` / `EmailTaken` when either is already used, compared case-insensitively.
    async fn create_user(&self, user: &NewUser, event: &Event) -> Result<User, CreateUserError>;

    async fn user_by_id(&self, id: UserId) -> anyhow::Result<Option<User>>;

    /// Looks a user up by name, case-insensitively.
    async fn user_by_username(&self, username: &str) -> anyhow::Result<Option<User>>;

    /// Finds the credentials of the user whose username or e-mail is `login`,
    /// case-insensitively.
    async fn credentials(&self, login: &Login) -> anyhow::Result<Option<Credentials>>;

    /// The credentials of the user with this id (to check a password the user re-enters).
    async fn credentials_by_id(&self, id: UserId) -> anyhow::Result<Option<Credentials>>;

    /// The summaries of these users, in no particular order; unknown ids are left out.
    async fn summaries(&self, ids: &[UserId]) -> anyhow::Result<Vec<UserSummary>>;

    /// The users with these names (case-insensitively), in no particular order; unknown names
    /// are left out.
    async fn summaries_by_username(&self, usernames: &[String])
    -> anyhow::Result<Vec<UserSummary>>;

    /// Changes the fields `changes` names and returns the user as it is then; `None` for an
    /// unknown user.
    async fn update_profile(
        &self,
        user: UserId,
        changes: &ProfileChanges,
    ) -> anyhow::Result<Option<User>>;

    /// Users whose username or display name starts with `query` (compared in lower case),
    /// ordered by username key, after the key `after`, at most `limit`. Both prefixes are
    /// answered by an index range, never a scan.
    async fn search_users(
        &self,
        query: &UserQuery,
        after: Option<&str>,
        limit: usize,
    ) -> anyhow::Result<Vec<UserSummary>>;

    /// Replaces `user`'s password hash and revokes every session of the user at `now`, in one
    /// transaction. False for an unknown user.
    async fn set_password(
        &self,
        user: UserId,
        password_hash: &str,
        now: Timestamp,
    ) -> anyhow::Result<bool>;

    /// Erases `user` in one transaction with its `user.deleted` event: the user row (so the
    /// username and e-mail are free at once), its posts and what hangs on them, its likes,
    /// reposts and replies' counts on others' posts, the notifications it received or caused,
    /// its sessions' refresh tokens (the sessions stay, revoked at `now`, so their access
    /// tokens are refused), and the payloads of sent outbox events that name it. The follow
    /// graph and the caches are the event's consumers' part. False for an unknown user.
    async fn delete_user(
        &self,
        user: UserId,
        event: &Event,
        now: Timestamp,
    ) -> anyhow::Result<bool>;
}

#[derive(Debug, thiserror::Error)]
pub enum CreatePostError {
    /// The post replied to was deleted before the reply could be stored.
    #[error("the post replied to is gone")]
    ParentGone,
    /// The author used the post's idempotency key within its window for the same request:
    /// this is the post it created, and nothing was written.
    #[error("a post was created under this idempotency key already")]
    AlreadyCreated(PostId),
    /// The author used the key within its window for another request; nothing was written.
    #[error("the idempotency key was used for another request")]
    KeyReused,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// What a like or an unlike found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaction {
    /// The state changed (a new like, a like removed).
    Changed,
    /// It already was so: a second like, an unlike of a post not liked.
    Unchanged,
    NoSuchPost,
}

/// A post's counts and author, and the reader's state when a reader was named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsRow {
    pub post: PostId,
    /// The post's author as they are now (a cached post may hold an older display name).
    pub author: UserSummary,
    pub stats: PostStats,
    pub viewer: Option<ViewerState>,
}

#[async_trait]
pub trait PostStore: Send + Sync + 'static {
    /// Stores the post, its mentions and tags and its `post.created` event in one transaction;
    /// a reply also counts in its parent's replies. A post with an idempotency claim also
    /// stores the claim in that transaction, unless the author holds the key already (a claim
    /// younger than [`IDEMPOTENCY_WINDOW`](crate::domain::IDEMPOTENCY_WINDOW), counted back
    /// from the post's `created_at`; an older one is replaced). Of two concurrent posts with
    /// one key, exactly one is stored.
    ///
    /// # Errors
    /// `ParentGone` when the post replied to no longer exists; `AlreadyCreated` with the post
    /// of a live claim of the same fingerprint, `KeyReused` for one of another.
    async fn create_post(&self, post: &NewPost, event: &Event) -> Result<Post, CreatePostError>;

    /// Deletes idempotency claims made before `before`, at most `limit`; returns how many.
    async fn prune_idempotency_keys(&self, before: Timestamp, limit: usize) -> anyhow::Result<u64>;

    async fn post(&self, id: PostId) -> anyhow::Result<Option<Post>>;

    /// Deletes the post (with its likes, reposts, mentions, tags and notifications, and its
    /// count in its parent's replies; its own replies stay) and stores its `post.deleted` event in one transaction.
    /// Returns false when there was no such post.
    async fn delete_post(&self, id: PostId, event: &Event) -> anyhow::Result<bool>;

    /// These posts with their authors, in no particular order; unknown ids are left out.
    async fn posts(&self, ids: &[PostId]) -> anyhow::Result<Vec<Post>>;

    /// Ids of posts by any of `authors`, newest first, strictly older than `before`.
    async fn post_ids_by_authors(
        &self,
        authors: &[UserId],
        before: Option<PostId>,
        limit: usize,
    ) -> anyhow::Result<Vec<PostId>>;

    async fn count_by_author(&self, author: UserId) -> anyhow::Result<u64>;

    /// `reader`'s home feed from the source of truth, newest entry first, strictly before
    /// `before`, from `authors` (all of the feed's, or some of them for a merge): their posts
    /// that the feed shows (every post that replies to nothing, every post of `reader`, and the
    /// replies to a post whose author is in `audience`, the reader and whom they follow), and
    /// their reposts (not `reader`'s own) of posts the feed holds neither as themselves nor
    /// through an earlier repost by someone in `audience`.
    async fn home_feed(
        &self,
        reader: UserId,
        authors: &[UserId],
        audience: &[UserId],
        before: Option<EntryKey>,
        limit: usize,
    ) -> anyhow::Result<Vec<FeedEntry>>;

    /// `author`'s user feed from the source of truth, newest entry first, strictly before
    /// `before`: their posts (replies included) and their reposts of others' posts.
    async fn user_feed(
        &self,
        author: UserId,
        before: Option<EntryKey>,
        limit: usize,
    ) -> anyhow::Result<Vec<FeedEntry>>;

    /// Ids of posts tagged `tag` (lower case), newest first, strictly older than `before`.
    async fn post_ids_by_tag(
        &self,
        tag: &str,
        before: Option<PostId>,
        limit: usize,
    ) -> anyhow::Result<Vec<PostId>>;

    /// Ids of the direct replies to `post`, oldest first, strictly newer than `after`.
    async fn reply_ids(
        &self,
        post: PostId,
        after: Option<PostId>,
        limit: usize,
    ) -> anyhow::Result<Vec<PostId>>;

    /// `(parent, reply)` for the direct replies to any of `parents`, oldest reply first, at most
    /// `limit` of them.
    async fn replies_of(
        &self,
        parents: &[PostId],
        limit: usize,
    ) -> anyhow::Result<Vec<(PostId, PostId)>>;

    /// The counts of these posts, with `reader`'s likes and reposts when a reader is named;
    /// unknown ids are left out.
    async fn stats(&self, ids: &[PostId], reader: Option<UserId>) -> anyhow::Result<Vec<StatsRow>>;

    /// [`PostStore::stats`] of posts already read: a cache can use their authors to answer in
    /// one look-up. Stores need not override it.
    async fn stats_of(
        &self,
        posts: &[Post],
        reader: Option<UserId>,
    ) -> anyhow::Result<Vec<StatsRow>> {
        let ids: Vec<PostId> = posts.iter().map(|post| post.id).collect();
        self.stats(&ids, reader).await
    }

    /// These posts with their [`StatsRow`]s, in no particular order; posts that are gone are
    /// left out. What a page shows: a cache may answer it from copies it could not serve as
    /// [`PostStore::posts`], since the counts tell whether the post still exists. Stores need
    /// not override it.
    async fn hydrate(
        &self,
        ids: &[PostId],
        reader: Option<UserId>,
    ) -> anyhow::Result<Vec<(Post, StatsRow)>> {
        let posts = self.posts(ids).await?;
        let rows = self.stats_of(&posts, reader).await?;
        Ok(joined(posts, rows))
    }

    /// `user` likes `post` from `at` on, storing `event` only when the like is new.
    async fn like(
        &self,
        post: PostId,
        user: UserId,
        at: Timestamp,
        event: &Event,
    ) -> anyhow::Result<Reaction>;

    /// `user` no longer likes `post`.
    async fn unlike(&self, post: PostId, user: UserId) -> anyhow::Result<Reaction>;

    /// Who likes `post`, newest like first, strictly after `after`.
    async fn likers(
        &self,
        post: PostId,
        after: Option<RelationCursor>,
        limit: usize,
    ) -> anyhow::Result<Vec<Relation>>;

    /// `user` reposts `post` from `at` on, at the feed place `entry`, storing `event` only when
    /// the repost is new.
    async fn repost(
        &self,
        post: PostId,
        user: UserId,
        entry: EntryKey,
        at: Timestamp,
        event: &Event,
    ) -> anyhow::Result<Reaction>;

    /// The feed place of `user`'s repost of `post`, if they repost it.
    async fn repost_entry(&self, post: PostId, user: UserId) -> anyhow::Result<Option<EntryKey>>;

    /// `user` no longer reposts `post`, storing `event` only when a repost was removed.
    async fn unrepost(&self, post: PostId, user: UserId, event: &Event)
    -> anyhow::Result<Reaction>;

    /// Who reposted `post`, newest repost first, strictly after `after`.
    async fn reposters(
        &self,
        post: PostId,
        after: Option<RelationCursor>,
        limit: usize,
    ) -> anyhow::Result<Vec<Relation>>;
}

/// Each post with its row; posts without one (gone) are left out.
pub fn joined(posts: Vec<Post>, rows: Vec<StatsRow>) -> Vec<(Post, StatsRow)> {
    let mut rows: std::collections::HashMap<PostId, StatsRow> =
        rows.into_iter().map(|row| (row.post, row)).collect();
    posts
        .into_iter()
        .filter_map(|post| {
            let row = rows.remove(&post.id)?;
            Some((post, row))
        })
        .collect()
}
