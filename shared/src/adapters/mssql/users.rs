use anyhow::{Context as _, anyhow};
use async_trait::async_trait;
use tiberius::Row;

use super::{Mssql, OutboxRow, column, id_param, json_ids, limit, sql, text_column};
use super::{time_column, time_param, uuid_column};
use crate::domain::{
    Credentials, Event, Login, NewUser, ProfileChanges, Timestamp, User, UserId, UserQuery,
    UserSummary,
};
use crate::ports::{CreateUserError, UserStore};

/// The unique indexes of `users` (0001_initial.sql), by which a duplicate key is told apart.
const USERNAME_INDEX: &str = "ux_users_username_key";
const EMAIL_INDEX: &str = "ux_users_email";

fn user_row(row: &Row) -> anyhow::Result<User> {
    Ok(User {
        id: UserId::from_uuid(uuid_column(row, "id")?),
        username: text_column(row, "username")?,
        email: text_column(row, "email")?,
        display_name: text_column(row, "display_name")?,
        bio: text_column(row, "bio")?,
        created_at: time_column(row, "created_at")?,
    })
}

fn summary(row: &Row) -> anyhow::Result<UserSummary> {
    Ok(UserSummary {
        id: UserId::from_uuid(uuid_column(row, "id")?),
        username: text_column(row, "username")?,
        display_name: text_column(row, "display_name")?,
    })
}

fn credentials(row: &Row) -> anyhow::Result<Credentials> {
    Ok(Credentials {
        id: UserId::from_uuid(uuid_column(row, "id")?),
        password_hash: text_column(row, "password_hash")?,
    })
}

/// The `LIKE` pattern of the strings that start with `prefix` ([`sql::SEARCH_USERS`]): `%`,
/// `_` and `[` are wildcards in T-SQL and stand for themselves only between brackets. (The
/// index seek covers the literal text before the first bracket, and the `LIKE` the rest.)
fn like_prefix(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '[') {
            pattern.extend(['[', c, ']']);
        } else {
            pattern.push(c);
        }
    }
    pattern.push('%');
    pattern
}

/// What a failed insert into `users` says about itself.
#[derive(Debug, PartialEq, Eq)]
enum Violation<'a> {
    Username,
    Email,
    /// A duplicate key on another index or constraint (a reused id).
    OtherKey(&'a str),
    /// A duplicate key whose message names no index we can find: a server whose messages are
    /// in another language. The caller asks the database which value is taken.
    Unattributed,
    /// Not a duplicate key at all.
    NotDuplicate,
}

/// Classifies an error by its number and message: 2601 is a duplicate in a unique index
/// ("Cannot insert duplicate key row in object 'dbo.users' with unique index
/// 'ux_users_email'. The duplicate key value is (...)."), 2627 in a unique or primary key
/// constraint ("Violation of PRIMARY KEY constraint 'pk_users'. ..."). The name is the quoted
/// one after "index" or "constraint"; the key value comes after it, so a value that happens to
/// contain an index name cannot be mistaken for it.
fn violation(code: Option<u32>, message: &str) -> Violation<'_> {
    if !matches!(code, Some(2601 | 2627)) {
        return Violation::NotDuplicate;
    }
    let Some(name) = violated_name(message) else {
        return Violation::Unattributed;
    };
    match name {
        USERNAME_INDEX => Violation::Username,
        EMAIL_INDEX => Violation::Email,
        other => Violation::OtherKey(other),
    }
}

fn violated_name(message: &str) -> Option<&str> {
    let start = ["index '", "constraint '"]
        .iter()
        .filter_map(|marker| message.find(marker).map(|at| at + marker.len()))
        .min()?;
    let rest = message.get(start..)?;
    rest.get(..rest.find('\'')?)
}

fn server_message(err: &tiberius::error::Error) -> &str {
    match err {
        tiberius::error::Error::Server(token) => token.message(),
        _ => "",
    }
}

impl Mssql {
    /// Which of the registration's username and e-mail is taken, asked of the database.
    async fn which_is_taken(&self, new: &NewUser) -> anyhow::Result<Option<CreateUserError>> {
        let mut conn = self.conn().await?;
        let key = new.username.key();
        let row = conn
            .query(sql::WHICH_IS_TAKEN, &[&key, &new.email.as_str()])
            .await?
            .into_row()
            .await?
            .context("no answer to WHICH_IS_TAKEN")?;
        let username_taken: i32 = column(&row, "username_taken")?;
        let email_taken: i32 = column(&row, "email_taken")?;
        Ok(if username_taken == 1 {
            Some(CreateUserError::UsernameTaken)
        } else if email_taken == 1 {
            Some(CreateUserError::EmailTaken)
        } else {
            None
        })
    }
}

#[async_trait]
impl UserStore for Mssql {
    async fn create_user(&self, new: &NewUser, event: &Event) -> Result<User, CreateUserError> {
        let outbox = OutboxRow::new(event)?;
        let id = id_param(new.id.as_uuid());
        let key = new.username.key();
        let display_name_key = new.display_name.as_str().to_lowercase();
        let created_at = time_param(new.created_at);
        let inserted = {
            let mut conn = self.conn().await?;
            conn.execute(
                sql::CREATE_USER,
                &[
                    &outbox.id,
                    &outbox.kind,
                    &outbox.payload,
                    &outbox.occurred_at,
                    &id,
                    &new.username.as_str(),
                    &key,
                    &new.email.as_str(),
                    &new.display_name.as_str(),
                    &new.password_hash.as_str(),
                    &created_at,
                    &display_name_key,
                    &outbox.trace,
                ],
            )
            .await
        };
        if let Err(err) = inserted {
            return Err(match violation(err.code(), server_message(&err)) {
                Violation::Username => CreateUserError::UsernameTaken,
                Violation::Email => CreateUserError::EmailTaken,
                // The message holds the duplicate value (an e-mail address, maybe): keep it out.
                Violation::OtherKey(name) => anyhow!("duplicate key in {name}").into(),
                Violation::Unattributed => match self.which_is_taken(new).await? {
                    Some(taken) => taken,
                    None => anyhow!("duplicate key in users (error {:?})", err.code()).into(),
                },
                Violation::NotDuplicate => anyhow::Error::new(err).context("insert user").into(),
            });
        }
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
        let mut conn = self.conn().await?;
        let row = conn
            .query(sql::USER_BY_ID, &[&id_param(id.as_uuid())])
            .await?
            .into_row()
            .await?;
        row.as_ref().map(user_row).transpose()
    }

    async fn user_by_username(&self, username: &str) -> anyhow::Result<Option<User>> {
        // Usernames are ASCII: Unicode folding would let "\u{212A}" (Kelvin) match "k".
        let key = username.to_ascii_lowercase();
        let mut conn = self.conn().await?;
        let row = conn
            .query(sql::USER_BY_USERNAME_KEY, &[&key])
            .await?
            .into_row()
            .await?;
        row.as_ref().map(user_row).transpose()
    }

    async fn credentials(&self, login: &Login) -> anyhow::Result<Option<Credentials>> {
        // One of the two is NULL, which equals nothing.
        let (key, email) = (login.username_key(), login.email());
        let mut conn = self.conn().await?;
        let row = conn
            .query(sql::CREDENTIALS, &[&key, &email])
            .await?
            .into_row()
            .await?;
        row.as_ref().map(credentials).transpose()
    }

    async fn credentials_by_id(&self, id: UserId) -> anyhow::Result<Option<Credentials>> {
        let mut conn = self.conn().await?;
        let row = conn
            .query(sql::CREDENTIALS_BY_ID, &[&id_param(id.as_uuid())])
            .await?
            .into_row()
            .await?;
        row.as_ref().map(credentials).transpose()
    }

    async fn summaries(&self, ids: &[UserId]) -> anyhow::Result<Vec<UserSummary>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = json_ids(ids.iter().map(UserId::as_uuid));
        let mut conn = self.conn().await?;
        let rows = conn
            .query(sql::SUMMARIES, &[&ids])
            .await?
            .into_first_result()
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
        let keys = serde_json::Value::from(keys).to_string();
        let mut conn = self.conn().await?;
        let rows = conn
            .query(sql::SUMMARIES_BY_USERNAME_KEY, &[&keys])
            .await?
            .into_first_result()
            .await?;
        rows.iter().map(summary).collect()
    }

    async fn update_profile(
        &self,
        user: UserId,
        changes: &ProfileChanges,
    ) -> anyhow::Result<Option<User>> {
        let display_name = changes.display_name.as_ref().map(|d| d.as_str());
        let display_name_key = display_name.map(str::to_lowercase);
        let bio = changes.bio.as_ref().map(|b| b.as_str());
        let mut conn = self.conn().await?;
        let row = conn
            .query(
                sql::UPDATE_PROFILE,
                &[
                    &id_param(user.as_uuid()),
                    &display_name,
                    &display_name_key,
                    &bio,
                ],
            )
            .await
            .context("update profile")?
            .into_row()
            .await
            .context("update profile")?;
        row.as_ref().map(user_row).transpose()
    }

    async fn search_users(
        &self,
        query: &UserQuery,
        after: Option<&str>,
        max: usize,
    ) -> anyhow::Result<Vec<UserSummary>> {
        let pattern = like_prefix(query.as_str());
        let mut conn = self.conn().await?;
        let rows = conn
            .query(
                sql::SEARCH_USERS,
                &[&pattern, &after.unwrap_or(""), &limit(max)],
            )
            .await
            .context("search users")?
            .into_first_result()
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
        let mut conn = self.conn().await?;
        let row = conn
            .query(
                sql::SET_PASSWORD,
                &[&id_param(user.as_uuid()), &password_hash, &time_param(now)],
            )
            .await
            .context("set password")?
            .into_row()
            .await
            .context("set password")?
            .context("no answer to SET_PASSWORD")?;
        Ok(column::<i32>(&row, "changed")? > 0)
    }

    async fn delete_user(
        &self,
        user: UserId,
        event: &Event,
        now: Timestamp,
    ) -> anyhow::Result<bool> {
        let outbox = OutboxRow::new(event)?;
        let mut conn = self.conn().await?;
        let row = conn
            .query(
                sql::DELETE_USER,
                &[
                    &outbox.id,
                    &outbox.kind,
                    &outbox.payload,
                    &outbox.occurred_at,
                    &id_param(user.as_uuid()),
                    // As event payloads write it (a hyphenated, lower-case UUID).
                    &user.to_string(),
                    &time_param(now),
                    &outbox.trace,
                ],
            )
            .await
            .context("erase user")?
            .into_row()
            .await
            .context("erase user")?
            .context("no answer to DELETE_USER")?;
        Ok(column::<i32>(&row, "found")? > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_username_and_email_are_told_apart_by_index_name() {
        // The messages SQL Server sends (English), with values that try to confuse.
        let cases = [
            (
                2601,
                "Cannot insert duplicate key row in object 'dbo.users' with unique index \
                 'ux_users_username_key'. The duplicate key value is (ann_ux_users_email).",
                Violation::Username,
            ),
            (
                2601,
                "Cannot insert duplicate key row in object 'dbo.users' with unique index \
                 'ux_users_email'. The duplicate key value is ('ux_users_username_key'@x.org).",
                Violation::Email,
            ),
            (
                2627,
                "Violation of UNIQUE KEY constraint 'ux_users_email'. Cannot insert duplicate \
                 key in object 'dbo.users'. The duplicate key value is (a@b.co).",
                Violation::Email,
            ),
            (
                2627,
                "Violation of PRIMARY KEY constraint 'pk_users'. Cannot insert duplicate key \
                 in object 'dbo.users'. The duplicate key value is (0x0192).",
                Violation::OtherKey("pk_users"),
            ),
            (
                2627,
                "Violation of PRIMARY KEY constraint 'pk_outbox'. Cannot insert duplicate key \
                 in object 'dbo.outbox'. The duplicate key value is (0x0192).",
                Violation::OtherKey("pk_outbox"),
            ),
            // German: no quoted index name to find.
            (
                2601,
                "Eine Zeile mit doppeltem Schlüssel kann in das dbo.users-Objekt mit dem \
                 eindeutigen ux_users_email-Index nicht eingefügt werden.",
                Violation::Unattributed,
            ),
            (
                547,
                "The INSERT statement conflicted with the FOREIGN KEY constraint \
                 'fk_posts_author'.",
                Violation::NotDuplicate,
            ),
            (
                2628,
                "String or binary data would be truncated in table 'rookery.dbo.users', \
                 column 'email'.",
                Violation::NotDuplicate,
            ),
        ];
        for (code, message, want) in cases {
            assert_eq!(violation(Some(code), message), want, "{code}: {message}");
        }
        assert_eq!(
            violation(None, "index 'ux_users_email'"),
            Violation::NotDuplicate
        );
    }

    #[test]
    fn a_search_pattern_matches_its_query_literally_then_anything() {
        assert_eq!(like_prefix("ann"), "ann%");
        assert_eq!(like_prefix("a_b%c[d]"), "a[_]b[%]c[[]d]%");
        assert_eq!(like_prefix("ünï 😀"), "ünï 😀%");
    }

    #[test]
    fn the_index_names_are_those_of_the_migration() {
        let schema = super::super::migrate::MIGRATIONS
            .iter()
            .map(|m| m.sql)
            .collect::<String>();
        for name in [USERNAME_INDEX, EMAIL_INDEX] {
            assert!(
                schema.contains(&format!("CREATE UNIQUE INDEX {name} ON users")),
                "no unique index {name} in the migrations"
            );
        }
    }
}
