use anyhow::Context as _;
use async_trait::async_trait;
use tiberius::Row;

use super::{ABOVE_EVERY_ID, Mssql, OutboxRow, column, count, id_param, json_ids, limit, sql};
use super::{text_column, time_column, time_param, uuid_column};
use crate::domain::{Event, NewPost, Post, PostId, UserId, UserSummary};
use crate::ports::PostStore;

fn post(row: &Row) -> anyhow::Result<Post> {
    Ok(Post {
        id: PostId::from_uuid(uuid_column(row, "id")?),
        author: UserSummary {
            id: UserId::from_uuid(uuid_column(row, "author_id")?),
            username: text_column(row, "username")?,
            display_name: text_column(row, "display_name")?,
        },
        content: text_column(row, "content")?,
        created_at: time_column(row, "created_at")?,
    })
}

#[async_trait]
impl PostStore for Mssql {
    async fn create_post(&self, new: &NewPost, event: &Event) -> anyhow::Result<Post> {
        let outbox = OutboxRow::new(event)?;
        let (id, author) = (
            id_param(new.id.as_uuid()),
            id_param(new.author_id.as_uuid()),
        );
        let created_at = time_param(new.created_at);
        let mut conn = self.conn().await?;
        let row = conn
            .query(
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
                ],
            )
            .await
            .context("insert post")?
            .into_row()
            .await
            .context("insert post")?
            .context("the new post was not read back")?;
        post(&row)
    }

    async fn post(&self, id: PostId) -> anyhow::Result<Option<Post>> {
        let mut conn = self.conn().await?;
        let row = conn
            .query(sql::POST_BY_ID, &[&id_param(id.as_uuid())])
            .await?
            .into_row()
            .await?;
        row.as_ref().map(post).transpose()
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
        rows.iter().map(post).collect()
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
        let before = before.map_or_else(|| ABOVE_EVERY_ID.to_vec(), |id| id_param(id.as_uuid()));
        let mut conn = self.conn().await?;
        let rows = conn
            .query(sql::POST_IDS_BY_AUTHORS, &[&authors, &before, &limit(max)])
            .await?
            .into_first_result()
            .await?;
        rows.iter()
            .map(|row| Ok(PostId::from_uuid(uuid_column(row, "id")?)))
            .collect()
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
}
