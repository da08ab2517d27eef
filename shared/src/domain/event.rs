//! Events: the envelope every bus carries, the event types, and which queues each one reaches
//! (DESIGN section 5).

use serde::{Deserialize, Serialize};

use super::{EntryKey, EventId, FeedEntry, PostId, Timestamp, UserId};

/// `{"id", "type", "occurred_at", "data"}` on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub id: EventId,
    pub occurred_at: Timestamp,
    #[serde(flatten)]
    pub payload: EventPayload,
    /// The trace of the request that caused the event, carried beside the envelope (in the
    /// outbox's `trace_context` column and the message's `traceparent` header), never in it:
    /// the envelope stays the contract's, and an event without one (an old outbox row) is an
    /// event all the same.
    #[serde(skip)]
    pub trace: Option<TraceContext>,
}

/// A W3C `traceparent` (version 00): `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`,
/// neither id all zeros. Kept as text: it only travels from one process to the next.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TraceContext(String);

impl TraceContext {
    /// The `traceparent` header name, in HTTP and in message headers alike.
    pub const HEADER: &'static str = "traceparent";

    /// `None` for anything that is not a valid version-00 `traceparent` (a client's bad header
    /// starts a new trace rather than failing its request).
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        let parts: Vec<&str> = raw.split('-').collect();
        let [version, trace_id, parent_id, flags] = parts.as_slice() else {
            return None;
        };
        let hex = |s: &str, len: usize| {
            s.len() == len
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        let zeros = |s: &str| s.bytes().all(|b| b == b'0');
        let valid = *version == "00"
            && hex(trace_id, 32)
            && hex(parent_id, 16)
            && hex(flags, 2)
            && !zeros(trace_id)
            && !zeros(parent_id);
        valid.then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum EventPayload {
    #[serde(rename = "user.registered")]
    UserRegistered {
        user_id: UserId,
        username: String,
        email: String,
        display_name: String,
    },
    #[serde(rename = "post.created")]
    PostCreated {
        post_id: PostId,
        author_id: UserId,
        /// For a reply: the post it answers and that post's author, whose followers may see it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        in_reply_to: Option<PostId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to_author: Option<UserId>,
        /// The users the content mentions.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        mentions: Vec<UserId>,
    },
    #[serde(rename = "post.deleted")]
    PostDeleted {
        post_id: PostId,
        author_id: UserId,
        /// Who had reposted it: their followers' feeds held it too.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        reposted_by: Vec<UserId>,
    },
    #[serde(rename = "user.followed")]
    UserFollowed {
        follower_id: UserId,
        followee_id: UserId,
    },
    #[serde(rename = "user.unfollowed")]
    UserUnfollowed {
        follower_id: UserId,
        followee_id: UserId,
    },
    /// The account is erased (DESIGN 4.3): the SQL part is done; the graph and the caches
    /// follow. `posts` and `reposts` are what the user's feed held just before (newest first,
    /// up to the feed cap): what may sit in followers' feeds, known here even where a post's
    /// own fan-out had not reached the cache when the account went.
    #[serde(rename = "user.deleted")]
    UserDeleted {
        user_id: UserId,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        posts: Vec<PostId>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        reposts: Vec<ErasedRepost>,
    },
    /// `blocker_id` blocks `blocked_id` (DESIGN 4.4): follows both ways end, and so do the
    /// feed entries they brought.
    #[serde(rename = "user.blocked")]
    UserBlocked {
        blocker_id: UserId,
        blocked_id: UserId,
    },
    #[serde(rename = "post.liked")]
    PostLiked {
        post_id: PostId,
        author_id: UserId,
        user_id: UserId,
    },
    #[serde(rename = "post.reposted")]
    PostReposted {
        post_id: PostId,
        author_id: UserId,
        user_id: UserId,
        /// The repost's place in feeds.
        entry: EntryKey,
    },
    #[serde(rename = "post.unreposted")]
    PostUnreposted {
        post_id: PostId,
        author_id: UserId,
        user_id: UserId,
        entry: EntryKey,
    },
}

/// One repost an erased user's feed held: the post and the repost's place in feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasedRepost {
    pub post_id: PostId,
    pub entry: EntryKey,
}

impl EventPayload {
    /// `user.deleted` for `user_id`, whose feed held `entries`.
    pub fn user_deleted(user_id: UserId, entries: &[FeedEntry]) -> Self {
        let posts = entries
            .iter()
            .filter(|entry| entry.via.is_none())
            .map(|entry| entry.post)
            .collect();
        let reposts = entries
            .iter()
            .filter(|entry| entry.via == Some(user_id))
            .map(|entry| ErasedRepost {
                post_id: entry.post,
                entry: entry.key,
            })
            .collect();
        Self::UserDeleted {
            user_id,
            posts,
            reposts,
        }
    }

    /// `post.created` for a post that replies to nothing and mentions no one.
    pub fn post_created(post_id: PostId, author_id: UserId) -> Self {
        Self::PostCreated {
            post_id,
            author_id,
            in_reply_to: None,
            reply_to_author: None,
            mentions: Vec::new(),
        }
    }
}

impl Event {
    pub fn new(payload: EventPayload) -> Self {
        Self {
            id: EventId::new(),
            occurred_at: Timestamp::now(),
            payload,
            trace: None,
        }
    }

    /// The event's type, which is also its routing key on the exchange.
    pub fn kind(&self) -> &'static str {
        match self.payload {
            EventPayload::UserRegistered { .. } => "user.registered",
            EventPayload::PostCreated { .. } => "post.created",
            EventPayload::PostDeleted { .. } => "post.deleted",
            EventPayload::UserFollowed { .. } => "user.followed",
            EventPayload::UserUnfollowed { .. } => "user.unfollowed",
            EventPayload::PostLiked { .. } => "post.liked",
            EventPayload::PostReposted { .. } => "post.reposted",
            EventPayload::PostUnreposted { .. } => "post.unreposted",
            EventPayload::UserDeleted { .. } => "user.deleted",
            EventPayload::UserBlocked { .. } => "user.blocked",
        }
    }

    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    pub fn from_json(body: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(body)
    }
}

/// The queues of DESIGN section 5, one per need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Queue {
    EmailWelcome,
    NetworkUsers,
    FeedPosts,
    FeedFollows,
    NotifyEvents,
}

impl Queue {
    pub const ALL: [Queue; 5] = [
        Queue::EmailWelcome,
        Queue::NetworkUsers,
        Queue::FeedPosts,
        Queue::FeedFollows,
        Queue::NotifyEvents,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Queue::EmailWelcome => "email.welcome",
            Queue::NetworkUsers => "network.users",
            Queue::FeedPosts => "feed.posts",
            Queue::FeedFollows => "feed.follows",
            Queue::NotifyEvents => "notify.events",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|q| q.name() == name)
    }

    /// The routing keys bound to this queue.
    pub fn routing_keys(self) -> &'static [&'static str] {
        match self {
            Queue::EmailWelcome | Queue::NetworkUsers => &["user.registered"],
            Queue::FeedPosts => &[
                "post.created",
                "post.deleted",
                "post.reposted",
                "post.unreposted",
            ],
            // An erased user leaves the graph and the caches, followers' feeds included; a
            // block ends the follows both ways and what they brought into the feeds.
            Queue::FeedFollows => &[
                "user.followed",
                "user.unfollowed",
                "user.deleted",
                "user.blocked",
            ],
            // Replies and mentions come with post.created.
            Queue::NotifyEvents => &[
                "post.created",
                "post.liked",
                "post.reposted",
                "user.followed",
            ],
        }
    }

    /// Every queue an event of this kind is delivered to.
    pub fn for_kind(kind: &str) -> impl Iterator<Item = Queue> + '_ {
        Self::ALL
            .into_iter()
            .filter(move |q| q.routing_keys().contains(&kind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_has_the_designed_shape() {
        let event = Event::new(EventPayload::post_created(PostId::new(), UserId::new()));
        let json: serde_json::Value =
            serde_json::from_str(&event.to_json().unwrap_or_default()).unwrap_or_default();
        assert_eq!(json["type"], "post.created");
        assert!(json["id"].is_string());
        assert!(json["occurred_at"].is_string());
        assert!(json["data"]["post_id"].is_string());
        let back = Event::from_json(json.to_string().as_bytes()).ok();
        assert_eq!(back, Some(event));
    }

    #[test]
    fn routing_matches_design() {
        let queues: Vec<_> = Queue::for_kind("user.registered").collect();
        assert_eq!(queues, vec![Queue::EmailWelcome, Queue::NetworkUsers]);
        assert_eq!(
            Queue::for_kind("post.deleted").collect::<Vec<_>>(),
            vec![Queue::FeedPosts]
        );
        assert_eq!(
            Queue::for_kind("user.unfollowed").collect::<Vec<_>>(),
            vec![Queue::FeedFollows]
        );
        assert_eq!(
            Queue::for_kind("user.followed").collect::<Vec<_>>(),
            vec![Queue::FeedFollows, Queue::NotifyEvents]
        );
        assert_eq!(
            Queue::for_kind("post.liked").collect::<Vec<_>>(),
            vec![Queue::NotifyEvents]
        );
        assert_eq!(
            Queue::for_kind("user.blocked").collect::<Vec<_>>(),
            vec![Queue::FeedFollows]
        );
        assert_eq!(Queue::for_kind("nope").count(), 0);
    }

    #[test]
    fn trace_contexts_are_version_00_traceparents() {
        let good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let parsed = TraceContext::parse(good);
        assert_eq!(parsed.as_ref().map(TraceContext::as_str), Some(good));
        for bad in [
            "",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
        ] {
            assert!(TraceContext::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn user_deleted_names_the_feed_it_leaves_and_old_events_still_parse() -> anyhow::Result<()> {
        let (ann, bob) = (UserId::new(), UserId::new());
        let (own, shared) = (PostId::new(), PostId::new());
        let key = EntryKey::from(PostId::new());
        let payload = EventPayload::user_deleted(
            ann,
            &[
                FeedEntry::original(own),
                FeedEntry::repost(key, shared, ann),
            ],
        );
        let expected = EventPayload::UserDeleted {
            user_id: ann,
            posts: vec![own],
            reposts: vec![ErasedRepost {
                post_id: shared,
                entry: key,
            }],
        };
        assert_eq!(payload, expected);
        let event = Event::new(payload);
        assert_eq!(Event::from_json(event.to_json()?.as_bytes())?, event);
        // An event written before the lists existed names the user alone.
        let old = format!(
            r#"{{"id":"0190c5e0-0000-7000-8000-000000000000","type":"user.deleted","occurred_at":"2026-01-01T00:00:00Z","data":{{"user_id":"{bob}"}}}}"#
        );
        let parsed = Event::from_json(old.as_bytes())?;
        assert_eq!(parsed.payload, EventPayload::user_deleted(bob, &[]));
        Ok(())
    }

    #[test]
    fn unknown_type_is_rejected() {
        let body = br#"{"id":"0190c5e0-0000-7000-8000-000000000000","type":"user.exploded","occurred_at":"2026-01-01T00:00:00Z","data":{}}"#;
        assert!(Event::from_json(body).is_err());
    }
}
