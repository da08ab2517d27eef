use anyhow::Context as _;
use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{Sqlite, count, insert_outbox, json_ids, limit, parse};
use crate::domain::{Event, NewPost, Post, PostId, Timestamp, UserId, UserSummary};
use crate::ports::PostStore;

fn post(row: &SqliteRow) -> anyhow::Result<Post> {
    Ok(Post {
        id: parse(row.try_get("id")?)?,
        author: UserSummary {
            id: parse(row.try_get("author_id")?)?,
            username: row.try_get("username")?,
            display_name: row.try_get("display_name")?,
        },
        content: row.try_get("content")?,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
    })
}

#[async_trait]
impl PostStore for Sqlite {
    async fn create_post(&self, new: &NewPost, event: &Event) -> anyhow::Result<Post> {
        let mut tx = self.pool.begin().await.context("begin")?;
        sqlx::query(
            "INSERT INTO posts (id, author_id, content, created_at) VALUES (?1, ?2, ?3, ?4)",
        )
        .bind(new.id.to_string())
        .bind(new.author_id.to_string())
        .bind(new.content.as_str())
        .bind(new.created_at.millis())
        .execute(&mut *tx)
        .await
        .context("insert post")?;
        insert_outbox(&mut tx, event).await?;
        let row = sqlx::query(
            "SELECT p.id, p.author_id, p.content, p.created_at, u.username, u.display_name
             FROM posts p JOIN users u ON u.id = p.author_id WHERE p.id = ?1",
        )
        .bind(new.id.to_string())
        .fetch_one(&mut *tx)
        .await
        .context("read back post")?;
        let created = post(&row)?;
        tx.commit().await.context("commit post")?;
        Ok(created)
    }

    async fn post(&self, id: PostId) -> anyhow::Result<Option<Post>> {
        let row = sqlx::query(
            "SELECT p.id, p.author_id, p.content, p.created_at, u.username, u.display_name
             FROM posts p JOIN users u ON u.id = p.author_id WHERE p.id = ?1",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(post).transpose()
    }

    async fn delete_post(&self, id: PostId, event: &Event) -> anyhow::Result<bool> {
        let mut tx = self.pool.begin().await.context("begin")?;
        let deleted = sqlx::query("DELETE FROM posts WHERE id = ?1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .context("delete post")?
            .rows_affected();
        if deleted == 0 {
            return Ok(false);
        }
        insert_outbox(&mut tx, event).await?;
        tx.commit().await.context("commit delete")?;
        Ok(true)
    }

    async fn posts(&self, ids: &[PostId]) -> anyhow::Result<Vec<Post>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT p.id, p.author_id, p.content, p.created_at, u.username, u.display_name
             FROM posts p JOIN users u ON u.id = p.author_id
             WHERE p.id IN (SELECT value FROM json_each(?1))",
        )
        .bind(json_ids(ids))
        .fetch_all(&self.pool)
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
        let rows = sqlx::query(
            "SELECT id FROM posts
             WHERE author_id IN (SELECT value FROM json_each(?1)) AND id < ?2
             ORDER BY id DESC LIMIT ?3",
        )
        .bind(json_ids(authors))
        // '~' sorts after every id (hex digits and '-'): "from the newest".
        .bind(before.map_or_else(|| "~".to_owned(), |id| id.to_string()))
        .bind(limit(max))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| parse(row.try_get("id")?)).collect()
    }

    async fn count_by_author(&self, author: UserId) -> anyhow::Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM posts WHERE author_id = ?1")
            .bind(author.to_string())
            .fetch_one(&self.pool)
            .await?;
        Ok(count(n))
    }
}
