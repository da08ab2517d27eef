use std::collections::HashMap;

use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tiberius::Row;
use uuid::Uuid;

use super::{ABOVE_EVERY_ID, Connection, Mssql, OutboxRow, column, count, id_param, json_ids};
use super::{limit, sql, text_column, time_column, time_param, uuid_column};
use crate::domain::{
    EntryKey, Event, FeedEntry, IDEMPOTENCY_WINDOW, Mention, NewPost, Post, PostId, PostStats,
    Relation, RelationCursor, Timestamp, UserId, UserSummary, ViewerState,
};
use crate::ports::{CreatePostError, PostStore, Reaction, StatsRow};

/// Strictly below every UUIDv7 (the nil UUID is never one): "from the oldest" for keyset pages
/// that go forward in time.
const BELOW_EVERY_ID: [u8; 16] = [0; 16];

/// The latest `DATETIME2` (9999-12-31T23:59:59.999Z) and the earliest (0001-01-01), in Unix
/// milliseconds: the range a time parameter must stay in.
const LATEST_TIME_MILLIS: i64 = 253_402_300_799_999;
const EARLIEST_TIME_MILLIS: i64 = -62_135_596_800_000;

/// A post row without its mentions and tags (see [`with_markup`]).
fn post(row: &Row) -> anyhow::Result<Post> {
    let in_reply_to: Option<&[u8]> = row
        .try_get("in_reply_to")
        .context("read column in_reply_to")?;
    Ok(Post {
        id: PostId::from_uuid(uuid_column(row, "id")?),
        author: UserSummary {
            id: UserId::from_uuid(uuid_column(row, "author_id")?),
            username: text_column(row, "username")?,
            display_name: text_column(row, "display_name")?,
        },
        content: text_column(row, "content")?,
        created_at: time_column(row, "created_at")?,
        in_reply_to: in_reply_to
            .map(|bytes| {
                Uuid::from_slice(bytes)
                    .map(PostId::from_uuid)
                    .context("corrupt id in database: column in_reply_to")
            })
            .transpose()?,
        mentions: Vec::new(),
        tags: Vec::new(),
    })
}

fn post_ids(rows: &[Row], name: &str) -> anyhow::Result<Vec<PostId>> {
    rows.iter()
        .map(|row| Ok(PostId::from_uuid(uuid_column(row, name)?)))
        .collect()
}

/// The bound of a page that goes back in time: strictly below `before`, or from the newest.
fn older_than(before: Option<PostId>) -> Vec<u8> {
    before.map_or_else(|| ABOVE_EVERY_ID.to_vec(), |id| id_param(id.as_uuid()))
}

/// The bound of a feed page: strictly below the entry `before`, or from the newest.
fn entries_older_than(before: Option<EntryKey>) -> Vec<u8> {
    before.map_or_else(|| ABOVE_EVERY_ID.to_vec(), |key| id_param(key.as_uuid()))
}

/// The rows `(entry_id, post_id, via)` of [`sql::HOME_FEED`] and [`sql::USER_FEED`].
fn entries(rows: &[Row]) -> anyhow::Result<Vec<FeedEntry>> {
    rows.iter()
        .map(|row| {
            let via: Option<&[u8]> = row.try_get("via").context("read column via")?;
            Ok(FeedEntry {
                key: EntryKey::from_uuid(uuid_column(row, "entry_id")?),
                post: PostId::from_uuid(uuid_column(row, "post_id")?),
                via: via
                    .map(|bytes| {
                        Uuid::from_slice(bytes)
                            .map(UserId::from_uuid)
                            .context("corrupt id in database: column via")
                    })
                    .transpose()?,
            })
        })
        .collect()
}

/// The bound of [`sql::LIKERS`] and [`sql::REPOSTERS`]: strictly after the like (repost) of
/// `after`, or from the newest. A cursor beyond the latest `DATETIME2` is above every one; one
/// before the earliest is brought up to it (below every one).
pub(super) fn newest_first_bound(after: Option<RelationCursor>) -> (DateTime<Utc>, Vec<u8>) {
    match after {
        Some(cursor) if cursor.since.millis() <= LATEST_TIME_MILLIS => (
            time_param(Timestamp::from_millis(
                cursor.since.millis().max(EARLIEST_TIME_MILLIS),
            )),
            id_param(cursor.user.as_uuid()),
        ),
        _ => (
            time_param(Timestamp::from_millis(LATEST_TIME_MILLIS)),
            ABOVE_EVERY_ID.to_vec(),
        ),
    }
}

/// The answer of [`sql::LIKE`], [`sql::UNLIKE`], [`sql::REPOST`] and [`sql::UNREPOST`]: `found`
/// (the post exists) and `changed`, the name of the column that says whether a row was added or
/// removed.
fn reaction(row: &Row, changed: &str) -> anyhow::Result<Reaction> {
    let found: i32 = column(row, "found")?;
    let changed: i32 = column(row, changed)?;
    Ok(if found == 0 {
        Reaction::NoSuchPost
    } else if changed > 0 {
        Reaction::Changed
    } else {
        Reaction::Unchanged
    })
}

/// The rows of [`sql::LIKERS`] and [`sql::REPOSTERS`], `at` naming the time column.
pub(super) fn relations(rows: &[Row], at: &str) -> anyhow::Result<Vec<Relation>> {
    rows.iter()
        .map(|row| {
            Ok(Relation {
                user: UserId::from_uuid(uuid_column(row, "user_id")?),
                since: time_column(row, at)?,
            })
        })
        .collect()
}

/// Fills in the mentions and tags of `posts`, in their order of appearance: two queries for
/// any number of posts.
async fn with_markup(conn: &mut Connection, posts: &mut [Post]) -> anyhow::Result<()> {
    if posts.is_empty() {
        return Ok(());
    }
    let ids = json_ids(posts.iter().map(|p| p.id.as_uuid()));
    let mentions = conn
        .query(sql::MENTIONS_OF_POSTS, &[&ids])
        .await
        .context("read mentions")?
        .into_first_result()
        .await
        .context("read mentions")?;
    let tags = conn
        .query(sql::TAGS_OF_POSTS, &[&ids])
        .await
        .context("read tags")?
        .into_first_result()
        .await
        .context("read tags")?;
    let mut by_id: HashMap<PostId, &mut Post> = posts.iter_mut().map(|p| (p.id, p)).collect();
    for row in &mentions {
        if let Some(post) = by_id.get_mut(&PostId::from_uuid(uuid_column(row, "post_id")?)) {
            post.mentions.push(Mention {
                id: UserId::from_uuid(uuid_column(row, "user_id")?),
                username: text_column(row, "username")?,
            });
        }
    }
    for row in &tags {
        if let Some(post) = by_id.get_mut(&PostId::from_uuid(uuid_column(row, "post_id")?)) {
            post.tags.push(text_column(row, "tag")?);
        }
    }
    Ok(())
}

#[async_trait]
impl PostStore for Mssql {
    async fn create_post(&self, new: &NewPost, event: &Event) -> Result<Post, CreatePostError> {
        let outbox = OutboxRow::new(event)?;
        let (id, author) = (
            id_param(new.id.as_uuid()),
            id_param(new.author_id.as_uuid()),
        );
        let created_at = time_param(new.created_at);
        let parent = new.in_reply_to.map(|r| id_param(r.post.as_uuid()));
        let parent_author = new.in_reply_to.map(|r| id_param(r.author.as_uuid()));
        let mentions = json_ids(new.mentions.iter().map(|m| m.id.as_uuid()));
        let tags = serde_json::Value::from(new.tags.clone()).to_string();
        let claim = new.idempotency.as_ref();
        let key = claim.map(|c| c.key.as_str());
        let fingerprint = claim.map(|c| c.fingerprint.as_slice());
        let window = i64::try_from(IDEMPOTENCY_WINDOW.as_millis()).unwrap_or(i64::MAX);
        let live_since = time_param(Timestamp::from_millis(
            new.created_at.millis().saturating_sub(window),
        ));
        let mut conn = self.conn().await?;
        let stored = async {
            conn.query(
                sql::CREATE_POST,
                &[
                    &outbox.id,
                    &outbox.kind,
                    &outbox.payload,
                    &outbox.occurred_at,
                    &id,
                    &author,
                    &new.content.as_str(),
                    &created_at,
                    &parent,
                    &parent_author,
                    &mentions,
                    &tags,
                    &key,
                    &fingerprint,
                    &live_since,
                    &outbox.trace,
                ],
            )
            .await?
            .into_row()
            .await
        }
        .await;
        let row = match stored {
            Ok(row) => row.context("the new post was not read back")?,
            Err(err) if err.code() == Some(sql::PARENT_GONE_ERROR) => {
                return Err(CreatePostError::ParentGone);
            }
            Err(err) => return Err(anyhow::Error::new(err).context("insert post").into()),
        };
        if let Some(claimed) = row
            .try_get::<&[u8], _>("claimed_post")
            .context("claimed_post")?
        {
            let claimed = Uuid::from_slice(claimed).context("corrupt id: claimed_post")?;
            return Err(match column::<i32>(&row, "same_request")? {
                1 => CreatePostError::AlreadyCreated(PostId::from_uuid(claimed)),
                _ => CreatePostError::KeyReused,
            });
        }
        let mut created = [post(&row)?];
        with_markup(&mut conn, &mut created).await?;
        let [created] = created;
        Ok(created)
    }

    async fn prune_idempotency_keys(&self, before: Timestamp, max: usize) -> anyhow::Result<u64> {
        let mut conn = self.conn().await?;
        let row = conn
            .query(
                sql::PRUNE_IDEMPOTENCY_KEYS,
                &[&time_param(before), &limit(max)],
            )
            .await?
            .into_row()
            .await?
            .context("no answer to PRUNE_IDEMPOTENCY_KEYS")?;
        Ok(u64::try_from(column::<i32>(&row, "pruned")?).unwrap_or(0))
    }

    async fn post(&self, id: PostId) -> anyhow::Result<Option<Post>> {
        let mut conn = self.conn().await?;
        let row = conn
            .query(sql::POST_BY_ID, &[&id_param(id.as_uuid())])
            .await?
            .into_row()
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let mut found = [post(&row)?];
        with_markup(&mut conn, &mut found).await?;
        let [found] = found;
        Ok(Some(found))
    }

    async fn delete_post(&self, id: PostId, event: &Event) -> anyhow::Result<bool> {
        let outbox = OutboxRow::new(event)?;
        let mut conn = self.conn().await?;
        let row = conn
            .query(
                sql::DELETE_POST,
                &[
                    &outbox.id,
                    &outbox.kind,
                    &outbox.payload,
                    &outbox.occurred_at,
                    &id_param(id.as_uuid()),
                    &outbox.trace,
                ],
            )
            .await
            .context("delete post")?
            .into_row()
            .await
            .context("delete post")?
            .context("no answer to DELETE_POST")?;
        let deleted: i32 = column(&row, "deleted")?;
        Ok(deleted > 0)
    }

    async fn posts(&self, ids: &[PostId]) -> anyhow::Result<Vec<Post>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = json_ids(ids.iter().map(PostId::as_uuid));
        let mut conn = self.conn().await?;
        let rows = conn
            .query(sql::POSTS_BY_IDS, &[&ids])
            .await?
            .into_first_result()
            .await?;
        let mut posts = rows.iter().map(post).collect::<anyhow::Result<Vec<_>>>()?;
        with_markup(&mut conn, &mut posts).await?;
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
        let authors = json_ids(authors.iter().map(UserId::as_uuid));
        let mut conn = self.conn().await?;
        let rows = conn
            .query(
                sql::POST_IDS_BY_AUTHORS,
                &[&authors, &older_than(before), &limit(max)],
            )
            .await?
            .into_first_result()
            .await?;
        post_ids(&rows, "id")
    }

    async fn count_by_author(&self, author: UserId) -> anyhow::Result<u64> {
        let mut conn = self.conn().await?;
        let row = conn
            .query(sql::COUNT_BY_AUTHOR, &[&id_param(author.as_uuid())])
            .await?
            .into_row()
            .await?
            .context("no answer to COUNT_BY_AUTHOR")?;
        Ok(count(column(&row, "n")?))
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
        let authors = json_ids(authors.iter().map(UserId::as_uuid));
        let audience = json_ids(audience.iter().map(UserId::as_uuid));
        let mut conn = self.conn().await?;
        let rows = conn
            .query(
                sql::HOME_FEED,
                &[
                    &authors,
                    &entries_older_than(before),
                    &id_param(reader.as_uuid()),
                    &audience,
                    &limit(max),
                ],
            )
            .await?
            .into_first_result()
            .await?;
        entries(&rows)
    }

    async fn user_feed(
        &self,
        author: UserId,
        before: Option<EntryKey>,
        max: usize,
    ) -> anyhow::Result<Vec<FeedEntry>> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let mut conn = self.conn().await?;
        let rows = conn
            .query(
                sql::USER_FEED,
                &[
                    &id_param(author.as_uuid()),
                    &entries_older_than(before),
                    &limit(max),
                ],
            )
            .await?
            .into_first_result()
            .await?;
        entries(&rows)
    }

    async fn post_ids_by_tag(
        &self,
        tag: &str,
        before: Option<PostId>,
        max: usize,
    ) -> anyhow::Result<Vec<PostId>> {
        let mut conn = self.conn().await?;
        let rows = conn
            .query(
                sql::POST_IDS_BY_TAG,
                &[&tag, &older_than(before), &limit(max)],
            )
            .await?
            .into_first_result()
            .await?;
        post_ids(&rows, "post_id")
    }

    async fn reply_ids(
        &self,
        post: PostId,
        after: Option<PostId>,
        max: usize,
    ) -> anyhow::Result<Vec<PostId>> {
        let after = after.map_or_else(|| BELOW_EVERY_ID.to_vec(), |id| id_param(id.as_uuid()));
        let mut conn = self.conn().await?;
        let rows = conn
            .query(
                sql::REPLY_IDS,
                &[&id_param(post.as_uuid()), &after, &limit(max)],
            )
            .await?
            .into_first_result()
            .await?;
        post_ids(&rows, "id")
    }

    async fn replies_of(
        &self,
        parents: &[PostId],
        max: usize,
    ) -> anyhow::Result<Vec<(PostId, PostId)>> {
        if parents.is_empty() || max == 0 {
            return Ok(Vec::new());
        }
        let parents = json_ids(parents.iter().map(PostId::as_uuid));
        let mut conn = self.conn().await?;
        let rows = conn
            .query(sql::REPLIES_OF, &[&parents, &limit(max)])
            .await?
            .into_first_result()
            .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    PostId::from_uuid(uuid_column(row, "in_reply_to")?),
                    PostId::from_uuid(uuid_column(row, "id")?),
                ))
            })
            .collect()
    }

    async fn stats(&self, ids: &[PostId], reader: Option<UserId>) -> anyhow::Result<Vec<StatsRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = json_ids(ids.iter().map(PostId::as_uuid));
        let reader_id = reader.map(|r| id_param(r.as_uuid()));
        let mut conn = self.conn().await?;
        let rows = conn
            .query(sql::POST_STATS, &[&ids, &reader_id])
            .await?
            .into_first_result()
            .await?;
        rows.iter()
            .map(|row| {
                Ok(StatsRow {
                    post: PostId::from_uuid(uuid_column(row, "id")?),
                    author: UserSummary {
                        id: UserId::from_uuid(uuid_column(row, "author_id")?),
                        username: text_column(row, "username")?,
                        display_name: text_column(row, "display_name")?,
                    },
                    stats: PostStats {
                        replies: count(column(row, "reply_count")?),
                        likes: count(column(row, "like_count")?),
                        reposts: count(column(row, "repost_count")?),
                    },
                    viewer: reader
                        .map(|_| -> anyhow::Result<ViewerState> {
                            Ok(ViewerState {
                                liked: column::<i32>(row, "liked")? == 1,
                                reposted: column::<i32>(row, "reposted")? == 1,
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
        let outbox = OutboxRow::new(event)?;
        let mut conn = self.conn().await?;
        let row = conn
            .query(
                sql::LIKE,
                &[
                    &outbox.id,
                    &outbox.kind,
                    &outbox.payload,
                    &outbox.occurred_at,
                    &id_param(post.as_uuid()),
                    &id_param(user.as_uuid()),
                    &time_param(at),
                    &outbox.trace,
                ],
            )
            .await
            .context("insert like")?
            .into_row()
            .await
            .context("insert like")?
            .context("no answer to LIKE")?;
        reaction(&row, "liked")
    }

    async fn unlike(&self, post: PostId, user: UserId) -> anyhow::Result<Reaction> {
        let mut conn = self.conn().await?;
        let row = conn
            .query(
                sql::UNLIKE,
                &[&id_param(post.as_uuid()), &id_param(user.as_uuid())],
            )
            .await
            .context("delete like")?
            .into_row()
            .await
            .context("delete like")?
            .context("no answer to UNLIKE")?;
        reaction(&row, "removed")
    }

    async fn likers(
        &self,
        post: PostId,
        after: Option<RelationCursor>,
        max: usize,
    ) -> anyhow::Result<Vec<Relation>> {
        let (since, user) = newest_first_bound(after);
        let mut conn = self.conn().await?;
        let rows = conn
            .query(
                sql::LIKERS,
                &[&id_param(post.as_uuid()), &since, &user, &limit(max)],
            )
            .await?
            .into_first_result()
            .await?;
        relations(&rows, "liked_at")
    }

    async fn repost(
        &self,
        post: PostId,
        user: UserId,
        entry: EntryKey,
        at: Timestamp,
        event: &Event,
    ) -> anyhow::Result<Reaction> {
        let outbox = OutboxRow::new(event)?;
        let mut conn = self.conn().await?;
        let row = conn
            .query(
                sql::REPOST,
                &[
                    &outbox.id,
                    &outbox.kind,
                    &outbox.payload,
                    &outbox.occurred_at,
                    &id_param(post.as_uuid()),
                    &id_param(user.as_uuid()),
                    &time_param(at),
                    &id_param(entry.as_uuid()),
                    &outbox.trace,
                ],
            )
            .await
            .context("insert repost")?
            .into_row()
            .await
            .context("insert repost")?
            .context("no answer to REPOST")?;
        reaction(&row, "reposted")
    }

    async fn repost_entry(&self, post: PostId, user: UserId) -> anyhow::Result<Option<EntryKey>> {
        let mut conn = self.conn().await?;
        let row = conn
            .query(
                sql::REPOST_ENTRY,
                &[&id_param(post.as_uuid()), &id_param(user.as_uuid())],
            )
            .await?
            .into_row()
            .await?;
        row.map(|row| Ok(EntryKey::from_uuid(uuid_column(&row, "entry_id")?)))
            .transpose()
    }

    async fn unrepost(
        &self,
        post: PostId,
        user: UserId,
        event: &Event,
    ) -> anyhow::Result<Reaction> {
        let outbox = OutboxRow::new(event)?;
        let mut conn = self.conn().await?;
        let row = conn
            .query(
                sql::UNREPOST,
                &[
                    &outbox.id,
                    &outbox.kind,
                    &outbox.payload,
                    &outbox.occurred_at,
                    &id_param(post.as_uuid()),
                    &id_param(user.as_uuid()),
                    &outbox.trace,
                ],
            )
            .await
            .context("delete repost")?
            .into_row()
            .await
            .context("delete repost")?
            .context("no answer to UNREPOST")?;
        reaction(&row, "removed")
    }

    async fn reposters(
        &self,
        post: PostId,
        after: Option<RelationCursor>,
        max: usize,
    ) -> anyhow::Result<Vec<Relation>> {
        let (since, user) = newest_first_bound(after);
        let mut conn = self.conn().await?;
        let rows = conn
            .query(
                sql::REPOSTERS,
                &[&id_param(post.as_uuid()), &since, &user, &limit(max)],
            )
            .await?
            .into_first_result()
            .await?;
        relations(&rows, "reposted_at")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_post_throws_the_number_the_adapter_reads() {
        assert!(
            sql::CREATE_POST.contains(&format!("THROW {}, ", sql::PARENT_GONE_ERROR)),
            "CREATE_POST must throw PARENT_GONE_ERROR"
        );
    }

    #[test]
    fn the_time_bounds_are_those_of_datetime2() {
        let latest = time_param(Timestamp::from_millis(LATEST_TIME_MILLIS));
        assert_eq!(latest.to_rfc3339(), "9999-12-31T23:59:59.999+00:00");
        let earliest = time_param(Timestamp::from_millis(EARLIEST_TIME_MILLIS));
        assert_eq!(earliest.to_rfc3339(), "0001-01-01T00:00:00+00:00");
    }

    #[test]
    fn the_first_page_of_likers_and_reposters_starts_above_every_one() {
        let (since, user) = newest_first_bound(None);
        assert_eq!(since.timestamp_millis(), LATEST_TIME_MILLIS);
        assert_eq!(user, ABOVE_EVERY_ID.to_vec());
        // Year 20983, beyond DATETIME2 but a valid Timestamp.
        let far = RelationCursor {
            since: Timestamp::from_millis(600_000_000_000_000),
            user: UserId::new(),
        };
        assert_eq!(far.since.millis(), 600_000_000_000_000);
        assert_eq!(newest_first_bound(Some(far)), newest_first_bound(None));
        // Year -1199.
        let early = RelationCursor {
            since: Timestamp::from_millis(-100_000_000_000_000),
            user: UserId::new(),
        };
        assert_eq!(early.since.millis(), -100_000_000_000_000);
        assert_eq!(
            newest_first_bound(Some(early)).0.timestamp_millis(),
            EARLIEST_TIME_MILLIS
        );
        let cursor = RelationCursor {
            since: Timestamp::from_millis(1_764_028_800_123),
            user: UserId::new(),
        };
        let (since, user) = newest_first_bound(Some(cursor));
        assert_eq!(since.timestamp_millis(), 1_764_028_800_123);
        assert_eq!(user, id_param(cursor.user.as_uuid()));
        assert!(BELOW_EVERY_ID.as_slice() < id_param(PostId::new().as_uuid()).as_slice());
    }
}
