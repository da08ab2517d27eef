//! Use cases. Each takes the [`Context`] of ports it needs and domain values that are already
//! valid, and returns domain values or a [`ServiceError`].

mod accounts;
pub mod auth;
mod bcrypt_pool;
mod blocks;
mod consumers;
mod error;
mod feed;
mod follow;
pub mod interact;
pub mod limits;
mod notifications;
mod posts;
mod profile;
mod relay;
mod revocations;
mod sessions;
pub mod tokens;

use std::sync::Arc;

use tokio::sync::Notify;

pub use accounts::{Registration, register};
pub use auth::PasswordHasher;
pub use blocks::{block, blocks, mute, mutes, unblock, unmute};
pub use consumers::{
    EmailConsumer, FanoutConsumer, Idempotent, NetworkConsumer, NotifyConsumer, welcome_mail,
};
pub use error::{ErrorCode, ServiceError, ServiceResult};
pub use feed::{FeedItem, PopularGate, home_feed, user_feed};
pub use follow::{follow, followers, following, unfollow};
pub use interact::{
    Thread, context, like, likers, replies, repost, reposters, tag_posts, unlike, unrepost,
};
pub use limits::{ClientAddr, Limits, RateRules};
pub use notifications::{NotificationView, mark_read, notifications, unread_count};
pub use posts::{Draft, create_post, delete_post, get_post, views, views_of};
pub use profile::{profile_by_id, profile_by_username, relationship, search_users, update_profile};
pub use relay::{Pruner, Relay};
pub use revocations::Revocations;
pub use sessions::{IssuedSession, change_password, delete_account, login, logout, refresh};
pub use tokens::{IssuedToken, KeySet, SigningKey, TokenService, Verified};

use crate::domain::UserId;
use crate::ports::{
    BlockStore, FeedCache, NotificationStore, Outbox, PostStore, SessionStore, SocialGraph,
    UserStore,
};

/// Feed sizing: how many entries a cached feed keeps, and from how many followers an author's
/// posts are merged in at read time instead of being pushed to every follower.
#[derive(Debug, Clone, Copy)]
pub struct FeedSettings {
    pub cap: usize,
    pub celebrity_threshold: u64,
}

impl Default for FeedSettings {
    fn default() -> Self {
        Self {
            cap: 800,
            celebrity_threshold: 10_000,
        }
    }
}

/// The ports request handlers use, built once per process and shared. A Lambda function wires
/// only the ports its routes use (`crate::wiring`); the others stay `None`, so the function
/// neither connects to their servers nor links their adapters. Use cases reach a port through
/// its accessor, which turns a port the function did not wire into an internal error.
#[derive(Clone, Default)]
pub struct Context {
    pub users: Option<Arc<dyn UserStore>>,
    pub posts: Option<Arc<dyn PostStore>>,
    pub graph: Option<Arc<dyn SocialGraph>>,
    pub feeds: Option<Arc<dyn FeedCache>>,
    pub outbox: Option<Arc<dyn Outbox>>,
    pub notifications: Option<Arc<dyn NotificationStore>>,
    pub blocks: Option<Arc<dyn BlockStore>>,
    pub passwords: Option<Arc<PasswordHasher>>,
    pub tokens: Option<Arc<TokenService>>,
    pub sessions: Option<Arc<dyn SessionStore>>,
    /// Which sessions are revoked, for the handlers that take access tokens.
    pub revocations: Option<Arc<Revocations>>,
    /// How long a refresh token lives (`REFRESH_TTL_DAYS`).
    pub refresh_ttl: std::time::Duration,
    /// How many users one user may follow (`MAX_FOLLOWING`).
    pub max_following: u64,
    pub feed: FeedSettings,
    /// Woken after every write that left an event in the outbox, so that the relay (where one
    /// runs in this process) publishes it at once instead of at its next poll.
    pub outbox_written: Arc<Notify>,
    /// Whether anyone is above the fan-out threshold, remembered for a second.
    pub popular: Arc<feed::PopularGate>,
    /// Whom recent readers hide, remembered for a second.
    pub hidden: Arc<blocks::HiddenCache>,
    /// The rate limits (DESIGN 4.4), where this function serves a limited route; `None` with
    /// `RATE_LIMITS=off`, and in functions that serve none.
    pub limits: Option<Arc<Limits>>,
}

/// The error of a port this process did not wire: a bug in a function's wiring, never the
/// client's fault.
fn unwired(port: &str) -> anyhow::Error {
    anyhow::anyhow!("the {port} port is not wired in this function")
}

impl Context {
    pub fn users(&self) -> anyhow::Result<&Arc<dyn UserStore>> {
        self.users.as_ref().ok_or_else(|| unwired("user store"))
    }

    pub fn posts(&self) -> anyhow::Result<&Arc<dyn PostStore>> {
        self.posts.as_ref().ok_or_else(|| unwired("post store"))
    }

    pub fn graph(&self) -> anyhow::Result<&Arc<dyn SocialGraph>> {
        self.graph.as_ref().ok_or_else(|| unwired("social graph"))
    }

    pub fn feeds(&self) -> anyhow::Result<&Arc<dyn FeedCache>> {
        self.feeds.as_ref().ok_or_else(|| unwired("feed cache"))
    }

    pub fn outbox(&self) -> anyhow::Result<&Arc<dyn Outbox>> {
        self.outbox.as_ref().ok_or_else(|| unwired("outbox"))
    }

    pub fn notifications(&self) -> anyhow::Result<&Arc<dyn NotificationStore>> {
        self.notifications
            .as_ref()
            .ok_or_else(|| unwired("notification store"))
    }

    pub fn blocks(&self) -> anyhow::Result<&Arc<dyn BlockStore>> {
        self.blocks.as_ref().ok_or_else(|| unwired("block store"))
    }

    pub fn passwords(&self) -> anyhow::Result<&Arc<PasswordHasher>> {
        self.passwords
            .as_ref()
            .ok_or_else(|| unwired("password hasher"))
    }

    pub fn tokens(&self) -> anyhow::Result<&Arc<TokenService>> {
        self.tokens.as_ref().ok_or_else(|| unwired("token service"))
    }

    pub fn sessions(&self) -> anyhow::Result<&Arc<dyn SessionStore>> {
        self.sessions
            .as_ref()
            .ok_or_else(|| unwired("session store"))
    }

    pub fn revocations(&self) -> anyhow::Result<&Arc<Revocations>> {
        self.revocations
            .as_ref()
            .ok_or_else(|| unwired("revoked-session list"))
    }
}

impl Context {
    fn event_written(&self) {
        self.outbox_written.notify_one();
    }

    /// This process revoked sessions: its own checks see it at once.
    fn sessions_revoked(&self) {
        if let Some(revocations) = &self.revocations {
            revocations.invalidate();
        }
    }

    /// A write made for a token's user needs that user to exist: a valid token can outlive its
    /// user's row (a database reset under the same secret), and is then no credential at all.
    async fn acting_user(&self, me: UserId) -> ServiceResult<()> {
        match self.users()?.user_by_id(me).await? {
            Some(_) => Ok(()),
            None => Err(ServiceError::Unauthorized),
        }
    }
}
