//! Use cases. Each takes the [`Context`] of ports it needs and domain values that are already
//! valid, and returns domain values or a [`ServiceError`].

mod accounts;
pub mod auth;
mod bcrypt_pool;
mod consumers;
mod error;
mod feed;
mod follow;
mod posts;
mod profile;
mod relay;

use std::sync::Arc;

use tokio::sync::Notify;

pub use accounts::{Registration, login, register};
pub use auth::{IssuedToken, PasswordHasher, TokenService};
pub use consumers::{EmailConsumer, FanoutConsumer, Idempotent, NetworkConsumer, welcome_mail};
pub use error::{ServiceError, ServiceResult};
pub use feed::{home_feed, user_feed};
pub use follow::{follow, followers, following, unfollow};
pub use posts::{create_post, delete_post, get_post};
pub use profile::{profile_by_id, profile_by_username};
pub use relay::Relay;

use crate::domain::UserId;
use crate::ports::{FeedCache, Outbox, PostStore, SocialGraph, UserStore};

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

/// Everything a request handler needs, built once per process and shared.
#[derive(Clone)]
pub struct Context {
    pub users: Arc<dyn UserStore>,
    pub posts: Arc<dyn PostStore>,
    pub graph: Arc<dyn SocialGraph>,
    pub feeds: Arc<dyn FeedCache>,
    pub outbox: Arc<dyn Outbox>,
    pub passwords: Arc<PasswordHasher>,
    pub tokens: Arc<TokenService>,
    pub feed: FeedSettings,
    /// Woken after every write that left an event in the outbox, so that the relay (where one
    /// runs in this process) publishes it at once instead of at its next poll.
    pub outbox_written: Arc<Notify>,
}

impl Context {
    fn event_written(&self) {
        self.outbox_written.notify_one();
    }

    /// A write made for a token's user needs that user to exist: a valid token can outlive its
    /// user's row (a database reset under the same secret), and is then no credential at all.
    async fn acting_user(&self, me: UserId) -> ServiceResult<()> {
        match self.users.user_by_id(me).await? {
            Some(_) => Ok(()),
            None => Err(ServiceError::Unauthorized),
        }
    }
}
