use anyhow::Context as _;
use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{Sqlite, insert_outbox, json_ids, parse};
use crate::domain::{
    Credentials, Event, Login, NewUser, ProfileChanges, Timestamp, User, UserId, UserQuery,
    UserSummary,
};
use crate::ports::{CreateUserError, UserStore};

fn user_row(row: &SqliteRow) -> anyhow::Result<User> {
    Ok(User {
        id: parse(row.try_get("id")?)?,
        username: row.try_get("username")?,
        email: row.try_get("email")?,
        display_name: row.try_get("display_name")?,
        bio: row.try_get("bio")?,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
    })
}

fn summary(row: &SqliteRow) -> anyhow::Result<UserSummary> {
    Ok(UserSummary {
        id: parse(row.try_get("id")?)?,
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
    })
}

fn credentials(row: &SqliteRow) -> anyhow::Result<Credentials> {
    Ok(Credentials {
        id: parse(row.try_get("id")?)?,
        password_hash: row.try_get("password_hash")?,
    })
}

macro_rules! user_columns {
    () => {
        "id, username, email, display_name, bio, created_at"
    };
}

/// The smallest string above every string that starts with `prefix`: a prefix search is the
/// index range `[prefix, upper)`.
pub(super) fn prefix_upper(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

fn taken(err: &sqlx::Error) -> Option<CreateUserError> {
    let db = err.as_database_error()?;
    if !db.is_unique_violation() {
        return None;
    }
    let message = db.message();
    if message.contains("users.username_key") {
        Some(CreateUserError::UsernameTaken)
    } else if message.contains("users.email") {
        Some(CreateUserError::EmailTaken)
    } else {
        None
    }
}

#[async_trait]
impl UserStore for Sqlite {
    async fn create_user(&self, new: &NewUser, event: &Event) -> Result<User, CreateUserError> {
        let mut tx = self.pool.begin().await.context("begin")?;
        let inserted = sqlx::query(
            "INSERT INTO users (id, username, username_key, email, display_name, display_name_key,
                                password_hash, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .bind(new.id.to_string())
        .bind(new.username.as_str())
        .bind(new.username.key())
        .bind(new.email.as_str())
        .bind(new.display_name.as_str())
        .bind(new.display_name.as_str().to_lowercase())
        .bind(&new.password_hash)
        .bind(new.created_at.millis())
        .execute(&mut *tx)
        .await;
        if let Err(err) = inserted {
            return Err(taken(&err).unwrap_or_else(|| CreateUserError::Other(err.into())));
        }
        insert_outbox(&mut tx, event).await?;
        tx.commit().await.context("commit registration")?;
        Ok(User {
            id: new.id,
            username: new.username.to_string(),
            email: new.email.as_str().to_owned(),
            display_name: new.display_name.as_str().to_owned(),
            bio: String::new(),
            created_at: new.created_at,
        })
    }

    async fn user_by_id(&self, id: UserId) -> anyhow::Result<Option<User>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE id = ?1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_row).transpose()
    }

    async fn user_by_username(&self, username: &str) -> anyhow::Result<Option<User>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE username_key = ?1"
        ))
        // Usernames are ASCII: Unicode folding would let "\u{212A}" (Kelvin) match "k".
        .bind(username.to_ascii_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_row).transpose()
    }

    async fn credentials(&self, login: &Login) -> anyhow::Result<Option<Credentials>> {
        // One of the two is NULL, which equals nothing.
        let row = sqlx::query(
            "SELECT id, password_hash FROM users WHERE username_key = ?1 OR email = ?2 LIMIT 1",
        )
        .bind(login.username_key())
        .bind(login.email())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(credentials).transpose()
    }

    async fn credentials_by_id(&self, id: UserId) -> anyhow::Result<Option<Credentials>> {
        let row = sqlx::query("SELECT id, password_hash FROM users WHERE id = ?1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(credentials).transpose()
    }

    async fn summaries(&self, ids: &[UserId]) -> anyhow::Result<Vec<UserSummary>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT id, username, display_name FROM users
             WHERE id IN (SELECT value FROM json_each(?1))",
        )
        .bind(json_ids(ids))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(summary).collect()
    }

    async fn summaries_by_username(
        &self,
        usernames: &[String],
    ) -> anyhow::Result<Vec<UserSummary>> {
        if usernames.is_empty() {
            return Ok(Vec::new());
        }
        // Usernames fold like `Username::key` (ASCII).
        let keys: Vec<String> = usernames.iter().map(|u| u.to_ascii_lowercase()).collect();
        let rows = sqlx::query(
            "SELECT id, username, display_name FROM users
             WHERE username_key IN (SELECT value FROM json_each(?1))",
        )
        .bind(json_ids(&keys))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(summary).collect()
    }

    async fn update_profile(
        &self,
        user: UserId,
        changes: &ProfileChanges,
    ) -> anyhow::Result<Option<User>> {
        let display_name = changes.display_name.as_ref().map(|d| d.as_str());
        let row = sqlx::query(concat!(
            "UPDATE users SET display_name = coalesce(?2, display_name),
                              display_name_key = coalesce(?3, display_name_key),
                              bio = coalesce(?4, bio)
             WHERE id = ?1 RETURNING ",
            user_columns!()
        ))
        .bind(user.to_string())
        .bind(display_name)
        .bind(display_name.map(str::to_lowercase))
        .bind(changes.bio.as_ref().map(|b| b.as_str()))
        .fetch_optional(&self.pool)
        .await
        .context("update profile")?;
        row.as_ref().map(user_row).transpose()
    }

    async fn search_users(
        &self,
        query: &UserQuery,
        after: Option<&str>,
        limit: usize,
    ) -> anyhow::Result<Vec<UserSummary>> {
        // Two index ranges (username key; display-name key), merged and ordered by username.
        let rows = sqlx::query(
            "SELECT id, username, display_name FROM users
             WHERE id IN (SELECT id FROM users WHERE username_key >= ?1 AND username_key < ?2
                          UNION
                          SELECT id FROM users WHERE display_name_key >= ?1 AND display_name_key < ?2)
               AND username_key > ?3
             ORDER BY username_key LIMIT ?4",
        )
        .bind(query.as_str())
        .bind(prefix_upper(query.as_str()))
        .bind(after.unwrap_or(""))
        .bind(super::limit(limit))
        .fetch_all(&self.pool)
        .await
        .context("search users")?;
        rows.iter().map(summary).collect()
    }

    async fn set_password(
        &self,
        user: UserId,
        password_hash: &str,
        now: Timestamp,
    ) -> anyhow::Result<bool> {
        let mut tx = self.pool.begin().await.context("begin")?;
        let changed = sqlx::query("UPDATE users SET password_hash = ?2 WHERE id = ?1")
            .bind(user.to_string())
            .bind(password_hash)
            .execute(&mut *tx)
            .await
            .context("set password")?
            .rows_affected();
        if changed == 0 {
            return Ok(false);
        }
        super::sessions::revoke_all(&mut tx, user, now).await?;
        tx.commit().await.context("commit password change")?;
        Ok(true)
    }

    async fn delete_user(
        &self,
        user: UserId,
        event: &Event,
        now: Timestamp,
    ) -> anyhow::Result<bool> {
        let mut tx = self.pool.begin().await.context("begin")?;
        // The rows that point at the user go first (posts reference it); for an unknown user
        // they are none, and the transaction is dropped, undoing nothing.
        for (what, statement) in ERASURE {
            sqlx::query(statement)
                .bind(user.to_string())
                .execute(&mut *tx)
                .await
                .with_context(|| format!("erase {what}"))?;
        }
        let deleted = sqlx::query("DELETE FROM users WHERE id = ?1")
            .bind(user.to_string())
            .execute(&mut *tx)
            .await
            .context("delete user")?
            .rows_affected();
        if deleted == 0 {
            return Ok(false);
        }
        super::sessions::revoke_all(&mut tx, user, now).await?;
        insert_outbox(&mut tx, event).await?;
        tx.commit().await.context("commit erasure")?;
        Ok(true)
    }
}

/// What an erased user leaves in other rows, in the order it must go: counts on others' posts
/// before the rows they count, a post's dependants before the posts, all before the user row.
/// `?1` is the user's id.
const ERASURE: [(&str, &str); 16] = [
    (
        "like counts",
        "UPDATE posts SET like_count = like_count - 1
         WHERE id IN (SELECT post_id FROM likes WHERE user_id = ?1)",
    ),
    (
        "repost counts",
        "UPDATE posts SET repost_count = repost_count - 1
         WHERE id IN (SELECT post_id FROM reposts WHERE user_id = ?1)",
    ),
    (
        "reply counts",
        "UPDATE posts SET reply_count = reply_count
             - (SELECT count(*) FROM posts r WHERE r.in_reply_to = posts.id AND r.author_id = ?1)
         WHERE id IN (SELECT in_reply_to FROM posts WHERE author_id = ?1)
           AND author_id <> ?1",
    ),
    ("likes given", "DELETE FROM likes WHERE user_id = ?1"),
    ("reposts made", "DELETE FROM reposts WHERE user_id = ?1"),
    (
        "likes of the posts",
        "DELETE FROM likes WHERE post_id IN (SELECT id FROM posts WHERE author_id = ?1)",
    ),
    (
        "reposts of the posts",
        "DELETE FROM reposts WHERE post_id IN (SELECT id FROM posts WHERE author_id = ?1)",
    ),
    (
        "mentions in the posts",
        "DELETE FROM post_mentions WHERE post_id IN (SELECT id FROM posts WHERE author_id = ?1)",
    ),
    (
        "mentions of the user",
        "DELETE FROM post_mentions WHERE user_id = ?1",
    ),
    (
        "tags of the posts",
        "DELETE FROM post_tags WHERE post_id IN (SELECT id FROM posts WHERE author_id = ?1)",
    ),
    (
        "notifications",
        "DELETE FROM notifications
         WHERE recipient = ?1 OR actor_id = ?1
            OR post_id IN (SELECT id FROM posts WHERE author_id = ?1)",
    ),
    ("posts", "DELETE FROM posts WHERE author_id = ?1"),
    (
        "idempotency keys",
        "DELETE FROM idempotency_keys WHERE user_id = ?1",
    ),
    (
        "blocks and mutes",
        "DELETE FROM restrictions WHERE user_id = ?1 OR other_id = ?1",
    ),
    (
        "refresh tokens",
        "DELETE FROM refresh_tokens
         WHERE session_id IN (SELECT id FROM sessions WHERE user_id = ?1)",
    ),
    (
        "sent events that name the user",
        "UPDATE outbox SET payload = '{\"redacted\":true}'
         WHERE (sent_at IS NOT NULL OR given_up_at IS NOT NULL) AND instr(payload, ?1) > 0",
    ),
];
