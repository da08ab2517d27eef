//! Ports: what the use cases need from the outside world, as traits. Adapters implement them;
//! use cases never name a concrete database, cache, bus or mail server.
//!
//! Errors: a port returns `anyhow::Error` for failures the caller cannot act on (an outage, a
//! bug) and a dedicated enum where the caller must tell cases apart (a taken username).

mod blocks;
mod bus;
mod feed_cache;
mod graph;
mod limits;
mod mailer;
mod notifications;
mod sessions;
mod slot_cache;
mod store;

pub use blocks::BlockStore;
pub use bus::{
    ConsumeError, Consumer, DeadLetters, EventPublisher, Outbox, OutboxEntry, ProcessedEvents,
};
pub use feed_cache::{FeedCache, FeedKey, FeedKind};
pub use graph::{FollowCounts, SocialGraph};
pub use limits::{Per, RateClass, RateKey, RateLimiter};
pub use mailer::{Mail, Mailer};
pub use notifications::NotificationStore;
pub use sessions::{Rotation, SessionStore};
pub use slot_cache::{Fill, Slot, SlotCache, SlotKey};
pub use store::{
    CreatePostError, CreateUserError, PostStore, Reaction, StatsRow, UserStore, joined,
};
