use async_trait::async_trait;
use sqlx::Row;

use super::{Sqlite, count, limit, parse};
use crate::domain::{
    NewNotification, Notification, NotificationId, NotificationKind, Timestamp, UserId, UserSummary,
};
use crate::ports::NotificationStore;

/// The condition that hides a notification `n` (DESIGN 4.4): its actor is blocked or muted by
/// its recipient, or blocks them. Checked where notifications are read, so that lifting the
/// block or mute shows them again and a page is still one query.
macro_rules! shown {
    () => {
        "NOT EXISTS (SELECT 1 FROM restrictions r
                     WHERE (r.user_id = n.recipient AND r.other_id = n.actor_id)
                        OR (r.user_id = n.actor_id AND r.other_id = n.recipient
                            AND r.kind = 'block'))"
    };
}

#[async_trait]
impl NotificationStore for Sqlite {
    async fn add(&self, n: &NewNotification) -> anyhow::Result<bool> {
        // One statement: the post's and both users' existence is checked where the row is
        // written, so a notification cannot outlive a post deleted or an account erased
        // meanwhile (a late event about it adds nothing).
        let added = sqlx::query(
            "INSERT INTO notifications (id, recipient, kind, actor_id, post_id, created_at)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6
             WHERE (?5 = '' OR EXISTS (SELECT 1 FROM posts WHERE id = ?5))
               AND EXISTS (SELECT 1 FROM users WHERE id = ?2)
               AND EXISTS (SELECT 1 FROM users WHERE id = ?4)
             ON CONFLICT (recipient, kind, actor_id, post_id) DO NOTHING",
        )
        .bind(n.id.to_string())
        .bind(n.recipient.to_string())
        .bind(n.kind.as_str())
        .bind(n.actor.to_string())
        .bind(n.post.map(|p| p.to_string()).unwrap_or_default())
        .bind(n.created_at.millis())
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(added == 1)
    }

    async fn notifications(
        &self,
        recipient: UserId,
        before: Option<NotificationId>,
        max: usize,
    ) -> anyhow::Result<Vec<Notification>> {
        let rows = sqlx::query(concat!(
            "SELECT n.id, n.kind, n.actor_id, n.post_id, n.created_at, n.read,
                    u.username, u.display_name
             FROM notifications n JOIN users u ON u.id = n.actor_id
             WHERE n.recipient = ?1 AND n.id < ?2 AND ",
            shown!(),
            " ORDER BY n.id DESC LIMIT ?3"
        ))
        .bind(recipient.to_string())
        .bind(before.map_or_else(|| "~".to_owned(), |id| id.to_string()))
        .bind(limit(max))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let kind: String = row.try_get("kind")?;
                let post: String = row.try_get("post_id")?;
                Ok(Notification {
                    id: parse(row.try_get("id")?)?,
                    kind: NotificationKind::parse(&kind)
                        .ok_or_else(|| anyhow::anyhow!("unknown notification kind {kind:?}"))?,
                    actor: UserSummary {
                        id: parse(row.try_get("actor_id")?)?,
                        username: row.try_get("username")?,
                        display_name: row.try_get("display_name")?,
                    },
                    post: (!post.is_empty()).then(|| parse(&post)).transpose()?,
                    created_at: Timestamp::from_millis(row.try_get("created_at")?),
                    read: row.try_get::<bool, _>("read")?,
                })
            })
            .collect()
    }

    async fn unread_count(&self, recipient: UserId) -> anyhow::Result<u64> {
        let n: i64 = sqlx::query_scalar(concat!(
            "SELECT COUNT(*) FROM notifications n JOIN users u ON u.id = n.actor_id
             WHERE n.recipient = ?1 AND n.read = 0 AND ",
            shown!()
        ))
        .bind(recipient.to_string())
        .fetch_one(&self.pool)
        .await?;
        Ok(count(n))
    }

    async fn mark_read(
        &self,
        recipient: UserId,
        up_to: Option<NotificationId>,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE notifications SET read = 1 WHERE recipient = ?1 AND id <= ?2 AND read = 0",
        )
        .bind(recipient.to_string())
        .bind(up_to.map_or_else(|| "~".to_owned(), |id| id.to_string()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
