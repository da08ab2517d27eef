use anyhow::Context as _;
use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{Sqlite, insert_outbox, json_ids, parse};
use crate::domain::{Credentials, Event, Login, NewUser, Timestamp, User, UserId, UserSummary};
use crate::ports::{CreateUserError, UserStore};

fn user(row: &SqliteRow) -> anyhow::Result<User> {
    Ok(User {
        id: parse(row.try_get("id")?)?,
        username: row.try_get("username")?,
        email: row.try_get("email")?,
        display_name: row.try_get("display_name")?,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
    })
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
            "INSERT INTO users (id, username, username_key, email, display_name, password_hash, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .bind(new.id.to_string())
        .bind(new.username.as_str())
        .bind(new.username.key())
        .bind(new.email.as_str())
        .bind(new.display_name.as_str())
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
            created_at: new.created_at,
        })
    }

    async fn user_by_id(&self, id: UserId) -> anyhow::Result<Option<User>> {
        let row = sqlx::query(
            "SELECT id, username, email, display_name, created_at FROM users WHERE id = ?1",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user).transpose()
    }

    async fn user_by_username(&self, username: &str) -> anyhow::Result<Option<User>> {
        let row = sqlx::query(
            "SELECT id, username, email, display_name, created_at FROM users
             WHERE username_key = ?1",
        )
        // Usernames are ASCII: Unicode folding would let "\u{212A}" (Kelvin) match "k".
        .bind(username.to_ascii_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user).transpose()
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
        row.map(|row| {
            Ok(Credentials {
                id: parse(row.try_get("id")?)?,
                password_hash: row.try_get("password_hash")?,
            })
        })
        .transpose()
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
        rows.iter()
            .map(|row| {
                Ok(UserSummary {
                    id: parse(row.try_get("id")?)?,
                    username: row.try_get("username")?,
                    display_name: row.try_get("display_name")?,
                })
            })
            .collect()
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
        rows.iter()
            .map(|row| {
                Ok(UserSummary {
                    id: parse(row.try_get("id")?)?,
                    username: row.try_get("username")?,
                    display_name: row.try_get("display_name")?,
                })
            })
            .collect()
    }
}
