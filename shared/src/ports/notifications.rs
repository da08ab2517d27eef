//! Notifications, kept beside users and posts in the SQL store (SQLite embedded, SQL Server in
//! production): a deleted post takes its notifications with it in the same transaction.

use async_trait::async_trait;

use crate::domain::{NewNotification, Notification, NotificationId, UserId};

#[async_trait]
pub trait NotificationStore: Send + Sync + 'static {
    /// Stores the notification unless one of the same recipient, kind, actor and post exists,
    /// or its post, its recipient or its actor is gone. Returns true when it was stored.
    async fn add(&self, notification: &NewNotification) -> anyhow::Result<bool>;

    /// `recipient`'s notifications, newest first, strictly older than `before`, with their
    /// actors; those whose actor is gone are left out, and so are those whose actor the
    /// recipient blocks or mutes or who blocks the recipient (DESIGN 4.4).
    async fn notifications(
        &self,
        recipient: UserId,
        before: Option<NotificationId>,
        limit: usize,
    ) -> anyhow::Result<Vec<Notification>>;

    /// How many of the notifications [`Self::notifications`] shows are unread.
    async fn unread_count(&self, recipient: UserId) -> anyhow::Result<u64>;

    /// Marks `recipient`'s notifications read: `up_to` and every older one, or all of them.
    async fn mark_read(
        &self,
        recipient: UserId,
        up_to: Option<NotificationId>,
    ) -> anyhow::Result<()>;
}
