//! [`NotificationStore`] on SQL Server, with the SQLite adapter's semantics (see
//! `0003_notifications.sql` for the table and `sql.rs` for the statements).

use anyhow::Context as _;
use async_trait::async_trait;
use uuid::Uuid;

use super::{ABOVE_EVERY_ID, Mssql, column, count, id_param, limit, sql};
use super::{text_column, time_column, time_param, uuid_column};
use crate::domain::{
    NewNotification, Notification, NotificationId, NotificationKind, PostId, UserId, UserSummary,
};
use crate::ports::NotificationStore;

/// The stored `post_id` of a notification without a post (a follow): the nil id's 16 zero
/// bytes, never a UUIDv7 and so never a post's id. A sentinel rather than NULL so that the
/// plain unique index covers follows too (0003_notifications.sql), as `''` does in SQLite.
/// [`sql::ADD_NOTIFICATION`] spells it out as a literal (a test checks they agree).
const NO_POST: [u8; 16] = [0; 16];

/// A notification's stored post: the post's id, or [`NO_POST`].
fn post_param(post: Option<PostId>) -> Vec<u8> {
    post.map_or_else(|| NO_POST.to_vec(), |id| id_param(id.as_uuid()))
}

/// The bound of a page or a mark: `id` itself, or above every id.
fn id_bound(id: Option<NotificationId>) -> Vec<u8> {
    id.map_or_else(|| ABOVE_EVERY_ID.to_vec(), |id| id_param(id.as_uuid()))
}

fn notification(row: &tiberius::Row) -> anyhow::Result<Notification> {
    let kind = text_column(row, "kind")?;
    let post: &[u8] = column(row, "post_id")?;
    Ok(Notification {
        id: NotificationId::from_uuid(uuid_column(row, "id")?),
        kind: NotificationKind::parse(&kind)
            .with_context(|| format!("unknown notification kind {kind:?}"))?,
        actor: UserSummary {
            id: UserId::from_uuid(uuid_column(row, "actor_id")?),
            username: text_column(row, "username")?,
            display_name: text_column(row, "display_name")?,
        },
        post: if post == NO_POST.as_slice() {
            None
        } else {
            Some(PostId::from_uuid(
                Uuid::from_slice(post).context("corrupt id in database: column post_id")?,
            ))
        },
        created_at: time_column(row, "created_at")?,
        read: column::<bool>(row, "is_read")?,
    })
}

#[async_trait]
impl NotificationStore for Mssql {
    async fn add(&self, n: &NewNotification) -> anyhow::Result<bool> {
        let mut conn = self.conn().await?;
        let added = async {
            conn.query(
                sql::ADD_NOTIFICATION,
                &[
                    &id_param(n.id.as_uuid()),
                    &id_param(n.recipient.as_uuid()),
                    &n.kind.as_str(),
                    &id_param(n.actor.as_uuid()),
                    &post_param(n.post),
                    &time_param(n.created_at),
                ],
            )
            .await?
            .into_row()
            .await
        }
        .await;
        match added {
            Ok(row) => {
                let row = row.context("no answer to ADD_NOTIFICATION")?;
                Ok(column::<i32>(&row, "added")? > 0)
            }
            // A concurrent add of the same notification won the race to the unique index.
            Err(err) if err.code() == Some(sql::DUPLICATE_IN_UNIQUE_INDEX_ERROR) => Ok(false),
            Err(err) => Err(anyhow::Error::new(err).context("insert notification")),
        }
    }

    async fn notifications(
        &self,
        recipient: UserId,
        before: Option<NotificationId>,
        max: usize,
    ) -> anyhow::Result<Vec<Notification>> {
        let mut conn = self.conn().await?;
        let rows = conn
            .query(
                sql::NOTIFICATIONS,
                &[
                    &id_param(recipient.as_uuid()),
                    &id_bound(before),
                    &limit(max),
                ],
            )
            .await?
            .into_first_result()
            .await?;
        rows.iter().map(notification).collect()
    }

    async fn unread_count(&self, recipient: UserId) -> anyhow::Result<u64> {
        let mut conn = self.conn().await?;
        let row = conn
            .query(sql::UNREAD_NOTIFICATIONS, &[&id_param(recipient.as_uuid())])
            .await?
            .into_row()
            .await?
            .context("no answer to UNREAD_NOTIFICATIONS")?;
        Ok(count(column(&row, "unread")?))
    }

    async fn mark_read(
        &self,
        recipient: UserId,
        up_to: Option<NotificationId>,
    ) -> anyhow::Result<()> {
        let mut conn = self.conn().await?;
        conn.execute(
            sql::MARK_NOTIFICATIONS_READ,
            &[&id_param(recipient.as_uuid()), &id_bound(up_to)],
        )
        .await
        .context("mark notifications read")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_statement_spells_no_post_as_the_adapter_binds_it() {
        let hex: String = NO_POST.iter().map(|b| format!("{b:02X}")).collect();
        assert!(
            sql::ADD_NOTIFICATION.contains(&format!("@P5 = 0x{hex}\n")),
            "ADD_NOTIFICATION must compare @P5 with NO_POST"
        );
    }

    #[test]
    fn no_post_is_never_an_id() {
        assert_eq!(post_param(None), NO_POST.to_vec());
        let post = PostId::new();
        assert_eq!(post_param(Some(post)), id_param(post.as_uuid()));
        assert!(NO_POST.as_slice() < id_param(PostId::new().as_uuid()).as_slice());
        let newest = NotificationId::new();
        assert_eq!(id_bound(Some(newest)), id_param(newest.as_uuid()));
        assert!(id_param(newest.as_uuid()).as_slice() < id_bound(None).as_slice());
    }
}
