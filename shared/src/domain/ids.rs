//! Identifiers: UUIDv7, so that sorting by id is sorting by creation time.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// A time-ordered id for the instant `millis` (milliseconds since the Unix epoch),
            /// so that things made later from earlier facts still sort by those facts' time.
            pub fn at_millis(millis: i64) -> Self {
                let millis = u64::try_from(millis).unwrap_or(0);
                let ts = uuid::Timestamp::from_unix(
                    uuid::NoContext,
                    millis / 1000,
                    u32::try_from(millis % 1000).unwrap_or(0) * 1_000_000,
                );
                Self(Uuid::new_v7(ts))
            }

            pub fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }

            /// Milliseconds since the Unix epoch at which the id was minted (0 if not a v7 id).
            pub fn millis(&self) -> i64 {
                self.0
                    .get_timestamp()
                    .map(|ts| {
                        let (secs, nanos) = ts.to_unix();
                        i64::try_from(secs).unwrap_or(i64::MAX).saturating_mul(1000)
                            + i64::from(nanos / 1_000_000)
                    })
                    .unwrap_or(0)
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.as_hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id!(
    /// A user's id.
    UserId
);

uuid_id!(
    /// A login session: the refresh tokens it rotates through and the access tokens they
    /// issue (their `sid` claim) belong to it, and are revoked with it.
    SessionId
);
uuid_id!(
    /// A post's id; its order is the feeds' order.
    PostId
);
uuid_id!(
    /// An event's id: the idempotency key of every consumer.
    EventId
);
uuid_id!(
    /// A notification's id; its order is the notification list's order.
    NotificationId
);
uuid_id!(
    /// A feed entry's key, its place in a feed: the post's id for the post itself, a key of
    /// its own (minted when the repost was made) for a repost.
    EntryKey
);

impl From<PostId> for EntryKey {
    fn from(post: PostId) -> Self {
        Self::from_uuid(post.as_uuid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Timestamp;

    #[test]
    fn ids_sort_by_creation_time() {
        let ids: Vec<PostId> = (0..100).map(|_| PostId::new()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        let as_text: Vec<String> = ids.iter().map(ToString::to_string).collect();
        let mut text_sorted = as_text.clone();
        text_sorted.sort();
        assert_eq!(as_text, text_sorted, "text order must match id order");
    }

    #[test]
    fn millis_reads_the_v7_timestamp() {
        let before = Timestamp::now().millis();
        let id = PostId::new();
        let after = Timestamp::now().millis();
        assert!((before..=after).contains(&id.millis()));
    }

    #[test]
    fn parse_rejects_garbage() {
        assert!("not-a-uuid".parse::<UserId>().is_err());
        let id = UserId::new();
        assert_eq!(id.to_string().parse::<UserId>().ok(), Some(id));
    }
}
