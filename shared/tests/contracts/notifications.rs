//! The `NotificationStore` contract: at most one per (recipient, kind, actor, post), none for a
//! post that is gone, newest first with a keyset cursor, unread counts, marking read, and a
//! deleted post taking its notifications with it. Run against every SQL store.

use std::sync::Arc;

use anyhow::ensure;
use futures::FutureExt as _;
use rookery::domain::{
    NewNotification, NotificationId, NotificationKind, PostId, Timestamp, UserId,
};
use rookery::ports::{NotificationStore, PostStore, UserStore};

use super::check_eq;
use super::store::{deletion, fresh_user, post_draft};

/// Runs every check; `notifications` must be the store that `posts` writes to.
pub async fn notification_store(
    users: Arc<dyn UserStore>,
    posts: Arc<dyn PostStore>,
    notifications: Arc<dyn NotificationStore>,
) -> anyhow::Result<()> {
    let (users, posts, notifications) = (&*users, &*posts, &*notifications);
    super::every_check(
        "notification store",
        vec![
            (
                "once_per_kind_actor_and_post",
                once_per_kind_actor_and_post(users, posts, notifications).boxed_local(),
            ),
            (
                "pages_counts_and_marking_read",
                pages_counts_and_marking_read(users, posts, notifications).boxed_local(),
            ),
            (
                "a_deleted_post_takes_its_notifications",
                a_deleted_post_takes_its_notifications(users, posts, notifications).boxed_local(),
            ),
        ],
    )
    .await
}

fn at(n: i64) -> Timestamp {
    Timestamp::from_millis(1_800_000_000_000 + n * 1_000)
}

fn notification(
    kind: NotificationKind,
    recipient: UserId,
    actor: UserId,
    post: Option<PostId>,
    when: i64,
) -> anyhow::Result<NewNotification> {
    NewNotification::of(kind, recipient, actor, post, at(when))
        .ok_or_else(|| anyhow::anyhow!("a notification of one's own action"))
}

async fn kinds_of(
    notifications: &dyn NotificationStore,
    recipient: UserId,
) -> anyhow::Result<Vec<(NotificationKind, UserId, Option<PostId>, bool)>> {
    Ok(notifications
        .notifications(recipient, None, 100)
        .await?
        .into_iter()
        .map(|n| (n.kind, n.actor.id, n.post, n.read))
        .collect())
}

async fn once_per_kind_actor_and_post(
    users: &dyn UserStore,
    posts: &dyn PostStore,
    notifications: &dyn NotificationStore,
) -> anyhow::Result<()> {
    let ann = fresh_user(users, "Nia").await?;
    let bob = fresh_user(users, "Oto").await?;
    let (post, event) = post_draft(ann.id, "notify me")?;
    posts.create_post(&post, &event).await?;
    let like = notification(NotificationKind::Like, ann.id, bob.id, Some(post.id), 1)?;
    ensure!(
        notifications.add(&like).await?,
        "a first like notification is stored"
    );
    // The same action again (a redelivery, or like, unlike, like): nothing more.
    let again = notification(NotificationKind::Like, ann.id, bob.id, Some(post.id), 2)?;
    ensure!(
        !notifications.add(&again).await?,
        "a second like notification was stored"
    );
    ensure!(
        !notifications.add(&like).await?,
        "the same notification was stored twice"
    );
    // Another kind, or a follow (no post), are their own.
    let mention = notification(NotificationKind::Mention, ann.id, bob.id, Some(post.id), 3)?;
    ensure!(notifications.add(&mention).await?);
    let follow = notification(NotificationKind::Follow, ann.id, bob.id, None, 4)?;
    ensure!(notifications.add(&follow).await?);
    let follow_again = notification(NotificationKind::Follow, ann.id, bob.id, None, 5)?;
    ensure!(
        !notifications.add(&follow_again).await?,
        "a second follow notification"
    );
    // None for a post that does not exist (deleted before the event was handled).
    let ghost = notification(
        NotificationKind::Like,
        ann.id,
        bob.id,
        Some(PostId::new()),
        6,
    )?;
    ensure!(
        !notifications.add(&ghost).await?,
        "a notification of an unknown post"
    );
    check_eq(
        kinds_of(notifications, ann.id).await?,
        vec![
            (NotificationKind::Follow, bob.id, None, false),
            (NotificationKind::Mention, bob.id, Some(post.id), false),
            (NotificationKind::Like, bob.id, Some(post.id), false),
        ],
        "ann's notifications, newest first",
    )?;
    check_eq(
        kinds_of(notifications, bob.id).await?,
        vec![],
        "bob's notifications",
    )?;
    Ok(())
}

async fn pages_counts_and_marking_read(
    users: &dyn UserStore,
    posts: &dyn PostStore,
    notifications: &dyn NotificationStore,
) -> anyhow::Result<()> {
    let ann = fresh_user(users, "Pia").await?;
    let (post, event) = post_draft(ann.id, "popular")?;
    posts.create_post(&post, &event).await?;
    let mut ids: Vec<NotificationId> = Vec::new();
    for n in 0..5 {
        let fan = fresh_user(users, "Fan").await?;
        let like = notification(NotificationKind::Like, ann.id, fan.id, Some(post.id), n)?;
        ensure!(notifications.add(&like).await?);
        ids.push(like.id);
    }
    ids.reverse(); // newest first
    let listed = |page: Vec<rookery::domain::Notification>| -> Vec<NotificationId> {
        page.into_iter().map(|n| n.id).collect()
    };
    check_eq(
        listed(notifications.notifications(ann.id, None, 2).await?),
        ids[..2].to_vec(),
        "first page",
    )?;
    check_eq(
        listed(notifications.notifications(ann.id, Some(ids[1]), 2).await?),
        ids[2..4].to_vec(),
        "second page",
    )?;
    check_eq(
        listed(notifications.notifications(ann.id, Some(ids[4]), 2).await?),
        vec![],
        "after the oldest",
    )?;
    check_eq(notifications.unread_count(ann.id).await?, 5, "unread")?;
    // Up to the third newest: it and the two older ones.
    notifications.mark_read(ann.id, Some(ids[2])).await?;
    check_eq(
        notifications.unread_count(ann.id).await?,
        2,
        "unread after marking up to one",
    )?;
    let read: Vec<bool> = notifications
        .notifications(ann.id, None, 10)
        .await?
        .into_iter()
        .map(|n| n.read)
        .collect();
    check_eq(
        read,
        vec![false, false, true, true, true],
        "read flags, newest first",
    )?;
    notifications.mark_read(ann.id, None).await?;
    check_eq(
        notifications.unread_count(ann.id).await?,
        0,
        "unread after marking all",
    )?;
    let other = fresh_user(users, "Qed").await?;
    check_eq(
        notifications.unread_count(other.id).await?,
        0,
        "someone without any",
    )?;
    Ok(())
}

async fn a_deleted_post_takes_its_notifications(
    users: &dyn UserStore,
    posts: &dyn PostStore,
    notifications: &dyn NotificationStore,
) -> anyhow::Result<()> {
    let ann = fresh_user(users, "Ray").await?;
    let bob = fresh_user(users, "Sol").await?;
    let (post, event) = post_draft(ann.id, "short-lived")?;
    posts.create_post(&post, &event).await?;
    let like = notification(NotificationKind::Like, ann.id, bob.id, Some(post.id), 1)?;
    ensure!(notifications.add(&like).await?);
    let follow = notification(NotificationKind::Follow, ann.id, bob.id, None, 2)?;
    ensure!(notifications.add(&follow).await?);
    ensure!(
        posts
            .delete_post(post.id, &deletion(post.id, ann.id))
            .await?
    );
    check_eq(
        kinds_of(notifications, ann.id).await?,
        vec![(NotificationKind::Follow, bob.id, None, false)],
        "after the post was deleted",
    )?;
    check_eq(
        notifications.unread_count(ann.id).await?,
        1,
        "unread after the delete",
    )?;
    Ok(())
}
