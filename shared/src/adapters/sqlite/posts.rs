use std::collections::HashMap;

use anyhow::Context as _;
use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{Db, Sqlite, count, insert_outbox, json_ids, limit, parse};
use crate::domain::{
    EntryKey, Event, FeedEntry, IDEMPOTENCY_WINDOW, IdempotencyClaim, Mention, NewPost, Post,
    PostId, PostStats, Relation, RelationCursor, Timestamp, UserId, UserSummary, ViewerState,
};
use crate::ports::{CreatePostError, PostStore, Reaction, StatsRow};

/// Posts with their authors, `WHERE` the given condition.
macro_rules! select_posts {
    ($condition:literal) => {
        concat!(
            "SELECT p.id, p.author_id, p.content, p.created_at, p.in_reply_to,
                    u.username, u.display_name
             FROM posts p JOIN users u ON u.id = p.author_id WHERE ",
            $condition
        )
    };
}

/// A post row without its mentions and tags (see [`with_markup`]).
fn post(row: &SqliteRow) -> anyhow::Result<Post> {
    let in_reply_to: Option<String> = row.try_get("in_reply_to")?;
    Ok(Post {
        id: parse(row.try_get("id")?)?,
        author: UserSummary {
            id: parse(row.try_get("author_id")?)?,
            username: row.try_get("username")?,
            display_name: row.try_get("display_name")?,
        },
        content: row.try_get("content")?,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
        in_reply_to: in_reply_to.as_deref().map(parse).transpose()?,
        mentions: Vec::new(),
        tags: Vec::new(),
    })
}

fn ids(rows: &[SqliteRow]) -> anyhow::Result<Vec<PostId>> {
    rows.iter().map(|row| parse(row.try_get(0)?)).collect()
}

/// Feed entries of rows `(entry, post, via)`.
fn entries(rows: &[SqliteRow]) -> anyhow::Result<Vec<FeedEntry>> {
    rows.iter()
        .map(|row| {
            let via: Option<String> = row.try_get(2)?;
            Ok(FeedEntry {
                key: parse(row.try_get(0)?)?,
                post: parse(row.try_get(1)?)?,
                via: via.as_deref().map(parse).transpose()?,
            })
        })
        .collect()
}

/// '~' sorts after every id (hex digits and '-'): "from the newest".
fn older_than(before: Option<PostId>) -> String {
    before.map_or_else(|| "~".to_owned(), |id| id.to_string())
}

impl Sqlite {
    /// Fills in the mentions and tags of `posts`, in their order of appearance: two queries
    /// for any number of posts.
    async fn with_markup<'e, E>(&self, executor: E, posts: &mut [Post]) -> anyhow::Result<()>
    where
        E: sqlx::Executor<'e, Database = Db> + Copy,
    {
        if posts.is_empty() {
            return Ok(());
        }
        let ids: Vec<PostId> = posts.iter().map(|p| p.id).collect();
        let mentions = sqlx::query(
            "SELECT m.post_id, m.user_id, u.username FROM post_mentions m
             JOIN users u ON u.id = m.user_id
             WHERE m.post_id IN (SELECT value FROM json_each(?1))
             ORDER BY m.post_id, m.position",
        )
        .bind(json_ids(&ids))
        .fetch_all(executor)
        .await
        .context("read mentions")?;
        let tags = sqlx::query(
            "SELECT post_id, tag FROM post_tags
             WHERE post_id IN (SELECT value FROM json_each(?1))
             ORDER BY post_id, position",
        )
        .bind(json_ids(&ids))
        .fetch_all(executor)
        .await
        .context("read tags")?;
        let mut by_id: HashMap<PostId, &mut Post> = posts.iter_mut().map(|p| (p.id, p)).collect();
        for row in &mentions {
            if let Some(post) = by_id.get_mut(&parse(row.try_get("post_id")?)?) {
                post.mentions.push(Mention {
                    id: parse(row.try_get("user_id")?)?,
                    username: row.try_get("username")?,
                });
            }
        }
        for row in &tags {
            if let Some(post) = by_id.get_mut(&parse(row.try_get("post_id")?)?) {
                post.tags.push(row.try_get("tag")?);
            }
        }
        Ok(())
    }
}

async fn insert_markup(tx: &mut sqlx::Transaction<'_, Db>, new: &NewPost) -> anyhow::Result<()> {
    for (position, mention) in new.mentions.iter().enumerate() {
        sqlx::query("INSERT INTO post_mentions (post_id, position, user_id) VALUES (?1, ?2, ?3)")
            .bind(new.id.to_string())
            .bind(limit(position))
            .bind(mention.id.to_string())
            .execute(&mut **tx)
            .await
            .context("insert mention")?;
    }
    for (position, tag) in new.tags.iter().enumerate() {
        sqlx::query("INSERT INTO post_tags (tag, post_id, position) VALUES (?1, ?2, ?3)")
            .bind(tag)
            .bind(new.id.to_string())
            .bind(limit(position))
            .execute(&mut **tx)
            .await
            .context("insert tag")?;
    }
    Ok(())
}

/// The statements of one kind of reaction (a like, a repost): one row per (post, user), counted
/// on the post in the same transaction.
struct ReactionSql {
    insert: &'static str,
    count_up: &'static str,
    delete: &'static str,
    count_down: &'static str,
    newest_first: &'static str,
}

const LIKES: ReactionSql = ReactionSql {
    insert: "INSERT INTO likes (post_id, user_id, liked_at)
             SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM posts WHERE id = ?1)
             ON CONFLICT (post_id, user_id) DO NOTHING",
    count_up: "UPDATE posts SET like_count = like_count + 1 WHERE id = ?1",
    delete: "DELETE FROM likes WHERE post_id = ?1 AND user_id = ?2",
    count_down: "UPDATE posts SET like_count = like_count - 1 WHERE id = ?1",
    newest_first: "SELECT user_id, liked_at AS at FROM likes
             WHERE post_id = ?1 AND (liked_at, user_id) < (?2, ?3)
             ORDER BY liked_at DESC, user_id DESC LIMIT ?4",
};

const REPOSTS: ReactionSql = ReactionSql {
    insert: "INSERT INTO reposts (post_id, user_id, reposted_at, entry_id)
             SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM posts WHERE id = ?1)
             ON CONFLICT (post_id, user_id) DO NOTHING",
    count_up: "UPDATE posts SET repost_count = repost_count + 1 WHERE id = ?1",
    delete: "DELETE FROM reposts WHERE post_id = ?1 AND user_id = ?2",
    count_down: "UPDATE posts SET repost_count = repost_count - 1 WHERE id = ?1",
    newest_first: "SELECT user_id, reposted_at AS at FROM reposts
             WHERE post_id = ?1 AND (reposted_at, user_id) < (?2, ?3)
             ORDER BY reposted_at DESC, user_id DESC LIMIT ?4",
};

impl Sqlite {
    async fn post_exists(
        &self,
        tx: &mut sqlx::Transaction<'_, Db>,
        post: PostId,
    ) -> anyhow::Result<bool> {
        Ok(
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM posts WHERE id = ?1)")
                .bind(post.to_string())
                .fetch_one(&mut **tx)
                .await?,
        )
    }

    /// A new reaction row, its count and its event; nothing when it exists or the post does not.
    async fn react(
        &self,
        sql: &ReactionSql,
        post: PostId,
        user: UserId,
        at: Timestamp,
        entry: Option<EntryKey>,
        event: &Event,
    ) -> anyhow::Result<Reaction> {
        let mut tx = self.pool.begin().await.context("begin")?;
        let mut insert = sqlx::query(sql.insert)
            .bind(post.to_string())
            .bind(user.to_string())
            .bind(at.millis());
        if let Some(entry) = entry {
            // A repost's place in feeds (?4).
            insert = insert.bind(entry.to_string());
        }
        let inserted = insert
            .execute(&mut *tx)
            .await
            .context("insert reaction")?
            .rows_affected();
        if inserted == 0 {
            return Ok(if self.post_exists(&mut tx, post).await? {
                Reaction::Unchanged
            } else {
                Reaction::NoSuchPost
            });
        }
        sqlx::query(sql.count_up)
            .bind(post.to_string())
            .execute(&mut *tx)
            .await
            .context("count the reaction")?;
        insert_outbox(&mut tx, event).await?;
        tx.commit().await.context("commit reaction")?;
        Ok(Reaction::Changed)
    }

    /// Removes a reaction and its count, storing `event` (if any) only when one was removed.
    async fn unreact(
        &self,
        sql: &ReactionSql,
        post: PostId,
        user: UserId,
        event: Option<&Event>,
    ) -> anyhow::Result<Reaction> {
        // The write comes first: a transaction that read before writing cannot wait for another
        // writer in SQLite (it would fail with SQLITE_BUSY at once).
        let mut tx = self.pool.begin().await.context("begin")?;
        let removed = sqlx::query(sql.delete)
            .bind(post.to_string())
            .bind(user.to_string())
            .execute(&mut *tx)
            .await
            .context("delete reaction")?
            .rows_affected();
        if removed == 0 {
            return Ok(if self.post_exists(&mut tx, post).await? {
                Reaction::Unchanged
            } else {
                Reaction::NoSuchPost
            });
        }
        sqlx::query(sql.count_down)
            .bind(post.to_string())
            .execute(&mut *tx)
            .await
            .context("uncount the reaction")?;
        if let Some(event) = event {
            insert_outbox(&mut tx, event).await?;
        }
        tx.commit().await.context("commit removal")?;
        Ok(Reaction::Changed)
    }

    async fn reactors(
        &self,
        sql: &ReactionSql,
        post: PostId,
        after: Option<RelationCursor>,
        max: usize,
    ) -> anyhow::Result<Vec<Relation>> {
        let rows = sqlx::query(sql.newest_first)
            .bind(post.to_string())
            .bind(after.map_or(i64::MAX, |c| c.since.millis()))
            .bind(after.map_or_else(String::new, |c| c.user.to_string()))
            .bind(limit(max))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(Relation {
                    user: parse(row.try_get("user_id")?)?,
                    since: Timestamp::from_millis(row.try_get("at")?),
                })
            })
            .collect()
    }
}

/// Claims the post's idempotency key inside its transaction, first (a write, so that the
/// transaction holds SQLite's write lock before it reads: two posts with one key take turns,
/// and the second finds the first's claim). A claim older than the window is replaced.
async fn claim_key(
    tx: &mut sqlx::Transaction<'_, Db>,
    new: &NewPost,
    claim: &IdempotencyClaim,
) -> Result<(), CreatePostError> {
    let window = i64::try_from(IDEMPOTENCY_WINDOW.as_millis()).unwrap_or(i64::MAX);
    let (user, key) = (new.author_id.to_string(), claim.key.as_str());
    sqlx::query(
        "DELETE FROM idempotency_keys WHERE user_id = ?1 AND key = ?2 AND created_at <= ?3",
    )
    .bind(&user)
    .bind(key)
    .bind(new.created_at.millis().saturating_sub(window))
    .execute(&mut **tx)
    .await
    .context("drop an expired idempotency claim")?;
    let claimed = sqlx::query(
        "INSERT INTO idempotency_keys (user_id, key, fingerprint, post_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (user_id, key) DO NOTHING",
    )
    .bind(&user)
    .bind(key)
    .bind(claim.fingerprint.as_slice())
    .bind(new.id.to_string())
    .bind(new.created_at.millis())
    .execute(&mut **tx)
    .await
    .context("claim the idempotency key")?
    .rows_affected();
    if claimed == 1 {
        return Ok(());
    }
    let row = sqlx::query(
        "SELECT fingerprint, post_id FROM idempotency_keys WHERE user_id = ?1 AND key = ?2",
    )
    .bind(&user)
    .bind(key)
    .fetch_one(&mut **tx)
    .await
    .context("read the idempotency claim")?;
    let fingerprint: Vec<u8> = row.try_get("fingerprint").context("fingerprint")?;
    if fingerprint != claim.fingerprint {
        return Err(CreatePostError::KeyReused);
    }
    let post: String = row.try_get("post_id").context("post_id")?;
    Err(CreatePostError::AlreadyCreated(parse(&post)?))
}

#[async_trait]
impl PostStore for Sqlite {
    async fn create_post(&self, new: &NewPost, event: &Event) -> Result<Post, CreatePostError> {
        let mut tx = self.pool.begin().await.context("begin")?;
        if let Some(claim) = &new.idempotency {
            claim_key(&mut tx, new, claim).await?;
        }
        if let Some(parent) = new.in_reply_to {
            let counted =
                sqlx::query("UPDATE posts SET reply_count = reply_count + 1 WHERE id = ?1")
                    .bind(parent.post.to_string())
                    .execute(&mut *tx)
                    .await
                    .context("count the reply")?
                    .rows_affected();
            if counted == 0 {
                return Err(CreatePostError::ParentGone);
            }
        }
        sqlx::query(
            "INSERT INTO posts (id, author_id, content, created_at, in_reply_to, reply_to_author)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .bind(new.id.to_string())
        .bind(new.author_id.to_string())
        .bind(new.content.as_str())
        .bind(new.created_at.millis())
        .bind(new.in_reply_to.map(|r| r.post.to_string()))
        .bind(new.in_reply_to.map(|r| r.author.to_string()))
        .execute(&mut *tx)
        .await
        .context("insert post")?;
        insert_markup(&mut tx, new).await?;
        insert_outbox(&mut tx, event).await?;
        let row = sqlx::query(select_posts!("p.id = ?1"))
            .bind(new.id.to_string())
            .fetch_one(&mut *tx)
            .await
            .context("read back post")?;
        let mut created = [post(&row)?];
        tx.commit().await.context("commit post")?;
        self.with_markup(&self.pool, &mut created).await?;
        let [created] = created;
        Ok(created)
    }

    async fn prune_idempotency_keys(&self, before: Timestamp, max: usize) -> anyhow::Result<u64> {
        let pruned = sqlx::query(
            "DELETE FROM idempotency_keys WHERE (user_id, key) IN (
                 SELECT user_id, key FROM idempotency_keys WHERE created_at < ?1 LIMIT ?2)",
        )
        .bind(before.millis())
        .bind(limit(max))
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(pruned)
    }

    async fn post(&self, id: PostId) -> anyhow::Result<Option<Post>> {
        Ok(self.posts(&[id]).await?.pop())
    }

    async fn delete_post(&self, id: PostId, event: &Event) -> anyhow::Result<bool> {
        let mut tx = self.pool.begin().await.context("begin")?;
        // The parent loses a reply; it may be gone itself, then nothing is updated.
        sqlx::query(
            "UPDATE posts SET reply_count = reply_count - 1
             WHERE id = (SELECT in_reply_to FROM posts WHERE id = ?1)",
        )
        .bind(id.to_string())
        .execute(&mut *tx)
        .await
        .context("uncount the reply")?;
        let deleted = sqlx::query("DELETE FROM posts WHERE id = ?1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .context("delete post")?
            .rows_affected();
        if deleted == 0 {
            return Ok(false); // dropping the transaction undoes the update
        }
        for statement in [
            "DELETE FROM likes WHERE post_id = ?1",
            "DELETE FROM reposts WHERE post_id = ?1",
            "DELETE FROM post_mentions WHERE post_id = ?1",
            "DELETE FROM post_tags WHERE post_id = ?1",
            "DELETE FROM notifications WHERE post_id = ?1",
        ] {
            sqlx::query(statement)
                .bind(id.to_string())
                .execute(&mut *tx)
                .await
                .context("delete what belongs to the post")?;
        }
        insert_outbox(&mut tx, event).await?;
        tx.commit().await.context("commit delete")?;
        Ok(true)
    }

    async fn posts(&self, ids: &[PostId]) -> anyhow::Result<Vec<Post>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(select_posts!("p.id IN (SELECT value FROM json_each(?1))"))
            .bind(json_ids(ids))
            .fetch_all(&self.pool)
            .await?;
        let mut posts = rows.iter().map(post).collect::<anyhow::Result<Vec<_>>>()?;
        self.with_markup(&self.pool, &mut posts).await?;
        Ok(posts)
    }

    async fn post_ids_by_authors(
        &self,
        authors: &[UserId],
        before: Option<PostId>,
        max: usize,
    ) -> anyhow::Result<Vec<PostId>> {
        if authors.is_empty() || max == 0 {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT id FROM posts
             WHERE author_id IN (SELECT value FROM json_each(?1)) AND id < ?2
             ORDER BY id DESC LIMIT ?3",
        )
        .bind(json_ids(authors))
        .bind(older_than(before))
        .bind(limit(max))
        .fetch_all(&self.pool)
        .await?;
        ids(&rows)
    }

    async fn count_by_author(&self, author: UserId) -> anyhow::Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM posts WHERE author_id = ?1")
            .bind(author.to_string())
            .fetch_one(&self.pool)
            .await?;
        Ok(count(n))
    }

    async fn home_feed(
        &self,
        reader: UserId,
        authors: &[UserId],
        audience: &[UserId],
        before: Option<EntryKey>,
        max: usize,
    ) -> anyhow::Result<Vec<FeedEntry>> {
        if authors.is_empty() || max == 0 {
            return Ok(Vec::new());
        }
        // ?1 authors, ?2 before, ?3 reader, ?4 audience, ?5 limit. A post is visible in the
        // feed as itself when its author is in the audience and the reply rule lets it in; a
        // repost adds it only when it is not, and no one in the audience reposted it earlier.
        let rows = sqlx::query(
            "SELECT id AS entry, id AS post, NULL AS via FROM posts
             WHERE author_id IN (SELECT value FROM json_each(?1)) AND id < ?2
               AND (in_reply_to IS NULL OR author_id = ?3
                    OR reply_to_author IN (SELECT value FROM json_each(?4)))
             UNION ALL
             SELECT r.entry_id, r.post_id, r.user_id FROM reposts r
             JOIN posts p ON p.id = r.post_id
             WHERE r.user_id IN (SELECT value FROM json_each(?1)) AND r.user_id <> ?3
               AND r.entry_id <> '' AND r.entry_id < ?2
               AND NOT (p.author_id IN (SELECT value FROM json_each(?4))
                        AND (p.in_reply_to IS NULL OR p.author_id = ?3
                             OR p.reply_to_author IN (SELECT value FROM json_each(?4))))
               AND NOT EXISTS (
                   SELECT 1 FROM reposts e
                   WHERE e.post_id = r.post_id AND e.entry_id <> '' AND e.entry_id < r.entry_id
                     AND e.user_id <> ?3
                     AND e.user_id IN (SELECT value FROM json_each(?4)))
             ORDER BY entry DESC LIMIT ?5",
        )
        .bind(json_ids(authors))
        .bind(before.map_or_else(|| "~".to_owned(), |key| key.to_string()))
        .bind(reader.to_string())
        .bind(json_ids(audience))
        .bind(limit(max))
        .fetch_all(&self.pool)
        .await?;
        entries(&rows)
    }

    async fn user_feed(
        &self,
        author: UserId,
        before: Option<EntryKey>,
        max: usize,
    ) -> anyhow::Result<Vec<FeedEntry>> {
        let rows = sqlx::query(
            "SELECT id AS entry, id AS post, NULL AS via FROM posts
             WHERE author_id = ?1 AND id < ?2
             UNION ALL
             SELECT r.entry_id, r.post_id, r.user_id FROM reposts r
             JOIN posts p ON p.id = r.post_id
             WHERE r.user_id = ?1 AND r.entry_id <> '' AND r.entry_id < ?2
               AND p.author_id <> ?1
             ORDER BY entry DESC LIMIT ?3",
        )
        .bind(author.to_string())
        .bind(before.map_or_else(|| "~".to_owned(), |key| key.to_string()))
        .bind(limit(max))
        .fetch_all(&self.pool)
        .await?;
        entries(&rows)
    }

    async fn post_ids_by_tag(
        &self,
        tag: &str,
        before: Option<PostId>,
        max: usize,
    ) -> anyhow::Result<Vec<PostId>> {
        let rows = sqlx::query(
            "SELECT post_id FROM post_tags WHERE tag = ?1 AND post_id < ?2
             ORDER BY post_id DESC LIMIT ?3",
        )
        .bind(tag)
        .bind(older_than(before))
        .bind(limit(max))
        .fetch_all(&self.pool)
        .await?;
        ids(&rows)
    }

    async fn reply_ids(
        &self,
        post: PostId,
        after: Option<PostId>,
        max: usize,
    ) -> anyhow::Result<Vec<PostId>> {
        let rows = sqlx::query(
            "SELECT id FROM posts WHERE in_reply_to = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
        )
        .bind(post.to_string())
        .bind(after.map_or_else(String::new, |id| id.to_string()))
        .bind(limit(max))
        .fetch_all(&self.pool)
        .await?;
        ids(&rows)
    }

    async fn replies_of(
        &self,
        parents: &[PostId],
        max: usize,
    ) -> anyhow::Result<Vec<(PostId, PostId)>> {
        if parents.is_empty() || max == 0 {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT in_reply_to, id FROM posts
             WHERE in_reply_to IN (SELECT value FROM json_each(?1))
             ORDER BY id LIMIT ?2",
        )
        .bind(json_ids(parents))
        .bind(limit(max))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((parse(row.try_get(0)?)?, parse(row.try_get(1)?)?)))
            .collect()
    }

    async fn stats(&self, ids: &[PostId], reader: Option<UserId>) -> anyhow::Result<Vec<StatsRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT p.id, p.reply_count, p.like_count, p.repost_count,
                    p.author_id, u.username, u.display_name,
                    EXISTS (SELECT 1 FROM likes l WHERE l.post_id = p.id AND l.user_id = ?2)
                        AS liked,
                    EXISTS (SELECT 1 FROM reposts r WHERE r.post_id = p.id AND r.user_id = ?2)
                        AS reposted
             FROM posts p JOIN users u ON u.id = p.author_id
             WHERE p.id IN (SELECT value FROM json_each(?1))",
        )
        .bind(json_ids(ids))
        .bind(reader.map(|r| r.to_string()))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StatsRow {
                    post: parse(row.try_get("id")?)?,
                    author: UserSummary {
                        id: parse(row.try_get("author_id")?)?,
                        username: row.try_get("username")?,
                        display_name: row.try_get("display_name")?,
                    },
                    stats: PostStats {
                        replies: count(row.try_get("reply_count")?),
                        likes: count(row.try_get("like_count")?),
                        reposts: count(row.try_get("repost_count")?),
                    },
                    viewer: reader
                        .map(|_| -> anyhow::Result<ViewerState> {
                            Ok(ViewerState {
                                liked: row.try_get::<bool, _>("liked")?,
                                reposted: row.try_get::<bool, _>("reposted")?,
                            })
                        })
                        .transpose()?,
                })
            })
            .collect()
    }

    async fn like(
        &self,
        post: PostId,
        user: UserId,
        at: Timestamp,
        event: &Event,
    ) -> anyhow::Result<Reaction> {
        self.react(&LIKES, post, user, at, None, event).await
    }

    async fn unlike(&self, post: PostId, user: UserId) -> anyhow::Result<Reaction> {
        self.unreact(&LIKES, post, user, None).await
    }

    async fn likers(
        &self,
        post: PostId,
        after: Option<RelationCursor>,
        max: usize,
    ) -> anyhow::Result<Vec<Relation>> {
        self.reactors(&LIKES, post, after, max).await
    }

    async fn repost(
        &self,
        post: PostId,
        user: UserId,
        entry: EntryKey,
        at: Timestamp,
        event: &Event,
    ) -> anyhow::Result<Reaction> {
        self.react(&REPOSTS, post, user, at, Some(entry), event)
            .await
    }

    async fn repost_entry(&self, post: PostId, user: UserId) -> anyhow::Result<Option<EntryKey>> {
        let entry: Option<String> = sqlx::query_scalar(
            "SELECT entry_id FROM reposts WHERE post_id = ?1 AND user_id = ?2 AND entry_id <> ''",
        )
        .bind(post.to_string())
        .bind(user.to_string())
        .fetch_optional(&self.pool)
        .await?;
        entry.as_deref().map(parse).transpose()
    }

    async fn unrepost(
        &self,
        post: PostId,
        user: UserId,
        event: &Event,
    ) -> anyhow::Result<Reaction> {
        self.unreact(&REPOSTS, post, user, Some(event)).await
    }

    async fn reposters(
        &self,
        post: PostId,
        after: Option<RelationCursor>,
        max: usize,
    ) -> anyhow::Result<Vec<Relation>> {
        self.reactors(&REPOSTS, post, after, max).await
    }
}
