//! The caller's notifications (DESIGN 4.2), written by the `notify.events` consumer.

use std::collections::HashMap;

use crate::domain::{
    Cursor as _, Limit, Notification, NotificationId, Page, PostId, PostView, UserId,
};

use super::posts::views_of;
use super::{Context, ServiceResult};

/// A notification with the view of its post (none for a follow).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationView {
    pub notification: Notification,
    pub post: Option<PostView>,
}

/// `me`'s notifications, newest first, with their posts as `me` sees them: one look-up for the
/// notifications, one for the posts and their counts.
pub async fn notifications(
    ctx: &Context,
    me: UserId,
    cursor: Option<&str>,
    limit: Limit,
) -> ServiceResult<Page<NotificationView>> {
    let before = cursor.map(NotificationId::decode).transpose()?;
    let found = ctx
        .notifications()?
        .notifications(me, before, limit.probe())
        .await?;
    let page = Page::from_probe(found, limit, |n: &Notification| n.id.encode());
    let post_ids: Vec<PostId> = page.items.iter().filter_map(|n| n.post).collect();
    let posts: HashMap<PostId, PostView> = views_of(ctx, &post_ids, Some(me))
        .await?
        .into_iter()
        .map(|view| (view.post.id, view))
        .collect();
    let items = page
        .items
        .into_iter()
        .filter_map(|notification| match notification.post {
            None => Some(NotificationView {
                notification,
                post: None,
            }),
            // A post deleted since takes its notification with it. Several notifications may
            // share a post (a reply that mentions): each gets its view.
            Some(id) => posts.get(&id).cloned().map(|view| NotificationView {
                notification,
                post: Some(view),
            }),
        })
        .collect();
    Ok(Page {
        items,
        next_cursor: page.next_cursor,
    })
}

pub async fn unread_count(ctx: &Context, me: UserId) -> ServiceResult<u64> {
    Ok(ctx.notifications()?.unread_count(me).await?)
}

/// Marks `up_to` and every older notification read, or all of them.
#[tracing::instrument(skip(ctx))]
pub async fn mark_read(
    ctx: &Context,
    me: UserId,
    up_to: Option<NotificationId>,
) -> ServiceResult<()> {
    Ok(ctx.notifications()?.mark_read(me, up_to).await?)
}
