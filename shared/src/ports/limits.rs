//! Rate-limit counters (DESIGN 4.4): in the process, or in Redis where every instance and
//! function shares them. A counter is one key under one [`Rule`], with the arithmetic of
//! `domain::limits`.

use std::fmt;

use async_trait::async_trait;

use crate::domain::limits::{Decision, Rule};

/// Which limit a counter belongs to: each has its own rule and its own keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateClass {
    /// Failed logins, per account per client address.
    LoginFailures,
    /// Every login, per client address.
    LoginAttempts,
    /// Registrations, per client address.
    Register,
    /// New posts (replies included), per account.
    Posts,
    /// Other writes (follows, likes, reposts, blocks, mutes, profile edits), per account.
    Writes,
}

/// What a class counts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Per {
    Address,
    Account,
    AccountAndAddress,
}

impl RateClass {
    pub const ALL: [Self; 5] = [
        Self::LoginFailures,
        Self::LoginAttempts,
        Self::Register,
        Self::Posts,
        Self::Writes,
    ];

    /// The class's name in keys and logs.
    pub const fn name(self) -> &'static str {
        match self {
            Self::LoginFailures => "login_failures",
            Self::LoginAttempts => "login_attempts",
            Self::Register => "register",
            Self::Posts => "posts",
            Self::Writes => "writes",
        }
    }

    pub const fn per(self) -> Per {
        match self {
            Self::LoginFailures => Per::AccountAndAddress,
            Self::LoginAttempts | Self::Register => Per::Address,
            Self::Posts | Self::Writes => Per::Account,
        }
    }
}

/// One counter: a class and what it counts (an address, a user id, or both). The subject holds
/// no e-mail address or other personal text beyond an IP address: a login that names no user is
/// hashed first (`services::limits`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RateKey {
    pub class: RateClass,
    pub subject: String,
}

impl RateKey {
    pub fn new(class: RateClass, subject: impl Into<String>) -> Self {
        Self {
            class,
            subject: subject.into(),
        }
    }
}

impl fmt::Display for RateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.class.name(), self.subject)
    }
}

/// Counters that refuse past their rule. Both calls are atomic per key: of many concurrent
/// requests at the edge of a limit, exactly as many as the rule leaves are allowed.
///
/// # Errors
/// Only for an outage (Redis down); the caller then lets the request through (availability
/// over limiting) and logs it.
#[async_trait]
pub trait RateLimiter: Send + Sync + 'static {
    /// A label for logs and health checks.
    fn name(&self) -> &'static str;

    /// Counts one request under `rule` if the rule allows it; a refused request counts nothing.
    async fn acquire(&self, key: &RateKey, rule: Rule) -> anyhow::Result<Decision>;

    /// What [`RateLimiter::acquire`] would answer now, counting nothing.
    async fn check(&self, key: &RateKey, rule: Rule) -> anyhow::Result<Decision>;
}
