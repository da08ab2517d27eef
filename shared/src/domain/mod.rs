//! Validated domain types. Every value here was parsed once at the edge; code that holds one
//! never checks it again.

mod event;
mod idempotency;
mod ids;
pub mod limits;
pub mod markup;
mod notification;
mod page;
mod post;
mod session;
mod text;
mod time;
mod user;

pub use event::{ErasedRepost, Event, EventPayload, Queue, TraceContext};
pub use idempotency::{IDEMPOTENCY_HEADER, IDEMPOTENCY_WINDOW, IdempotencyClaim, IdempotencyKey};
pub use ids::{EntryKey, EventId, NotificationId, PostId, SessionId, UserId};
pub use notification::{NewNotification, Notification, NotificationKind};
pub use page::{Cursor, CursorError, Limit, NameCursor, Page, RelationCursor};
pub use post::{
    FeedEntry, Mention, NewPost, Post, PostContent, PostStats, PostView, ReplyTo, ViewerState,
};
pub use session::{RefreshToken, TokenHash};
pub use text::{Bio, DisplayName, Email, Login, Password, UserQuery, Username};
pub use time::Timestamp;
pub use user::{
    Credentials, Hidden, NewUser, Profile, ProfileChanges, Relation, Relationship, Restriction,
    Standing, User, UserSummary,
};

/// A value that failed validation: which field, and why, in words a client can show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ValidationError {
    pub field: &'static str,
    pub reason: String,
}

impl ValidationError {
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}
