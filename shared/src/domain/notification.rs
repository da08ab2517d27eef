//! Notifications (DESIGN 4.2): someone followed you, liked, reposted or replied to your post,
//! or mentioned you.

use serde::Serialize;

use super::{NotificationId, PostId, Timestamp, UserId, UserSummary};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    Follow,
    Like,
    Repost,
    Reply,
    Mention,
}

impl NotificationKind {
    pub const ALL: [Self; 5] = [
        Self::Follow,
        Self::Like,
        Self::Repost,
        Self::Reply,
        Self::Mention,
    ];

    /// The stored and served name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Follow => "follow",
            Self::Like => "like",
            Self::Repost => "repost",
            Self::Reply => "reply",
            Self::Mention => "mention",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == raw)
    }
}

/// A notification to store. There is at most one per (recipient, kind, actor, post).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotification {
    pub id: NotificationId,
    pub recipient: UserId,
    pub kind: NotificationKind,
    pub actor: UserId,
    /// The post liked, reposted, replied with or mentioning; none for a follow.
    pub post: Option<PostId>,
    pub created_at: Timestamp,
}

impl NewNotification {
    /// A notification of `kind` for `recipient` of an action done `at`, or none when the actor
    /// is the recipient: no one is notified of their own actions. Its id sorts by `at`, so the
    /// list is in the order of the actions, whatever order their events were handled in.
    pub fn of(
        kind: NotificationKind,
        recipient: UserId,
        actor: UserId,
        post: Option<PostId>,
        at: Timestamp,
    ) -> Option<Self> {
        (recipient != actor).then(|| Self {
            id: NotificationId::at_millis(at.millis()),
            recipient,
            kind,
            actor,
            post,
            created_at: at,
        })
    }
}

/// A stored notification, with its actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub id: NotificationId,
    pub kind: NotificationKind,
    pub actor: UserSummary,
    pub post: Option<PostId>,
    pub created_at: Timestamp,
    pub read: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nobody_is_notified_of_their_own_actions() {
        let (ann, bob) = (UserId::new(), UserId::new());
        let at = Timestamp::from_millis(1_800_000_000_000);
        assert!(
            NewNotification::of(NotificationKind::Like, ann, ann, Some(PostId::new()), at)
                .is_none()
        );
        let like = NewNotification::of(NotificationKind::Like, ann, bob, None, at);
        assert_eq!(
            like.as_ref().map(|n| (n.recipient, n.actor)),
            Some((ann, bob))
        );
        assert_eq!(
            like.map(|n| n.id.millis()),
            Some(at.millis()),
            "the id sorts by the action's time"
        );
    }

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in NotificationKind::ALL {
            assert_eq!(NotificationKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(NotificationKind::parse("poke"), None);
    }
}
