//! Rate limits (DESIGN 4.4): the rules, the keys they count by, and the one policy for a
//! limiter that fails (let the request through, and say so in the log).
//!
//! Where each limit is checked: the route table names the class of a limited route
//! (`http::routes`), and a middleware takes one from the counter before the handler runs, by
//! client address (login attempts, registrations) or by the token's account (posts, other
//! writes). Failed logins are counted by the login use case (`sessions::login`), the only
//! place that knows the outcome: it looks before bcrypt, and counts after a refusal.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::domain::UserId;
use crate::domain::limits::{Decision, Rule};
use crate::ports::{RateClass, RateKey, RateLimiter};

use super::{ServiceError, ServiceResult};

/// One rule per class. The defaults are DESIGN 4.4's; each is configurable (`config.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateRules {
    pub login_failures: Rule,
    pub login_attempts: Rule,
    pub register: Rule,
    pub posts: Rule,
    pub writes: Rule,
}

fn rule(max: u32, secs: u64) -> Rule {
    // Every default leaves seconds per request: `Rule::new` cannot refuse them.
    Rule::new(max, Duration::from_secs(secs)).unwrap_or_else(|_| unreachable!())
}

impl Default for RateRules {
    fn default() -> Self {
        Self {
            login_failures: rule(10, 15 * 60),
            login_attempts: rule(100, 15 * 60),
            register: rule(10, 3_600),
            posts: rule(300, 3 * 3_600),
            writes: rule(1_000, 3_600),
        }
    }
}

impl RateRules {
    pub fn of(&self, class: RateClass) -> Rule {
        match class {
            RateClass::LoginFailures => self.login_failures,
            RateClass::LoginAttempts => self.login_attempts,
            RateClass::Register => self.register,
            RateClass::Posts => self.posts,
            RateClass::Writes => self.writes,
        }
    }
}

/// The client's address: the TCP peer locally, API Gateway's `sourceIp` in Lambda, never a
/// header the client sets. `None` when the entry point knows none (a test calling the router
/// directly): such requests share one bucket, `unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl fmt::Display for ClientAddr {
    /// The address as counters key it: IPv4 whole, IPv6 by its /64 (one host usually holds a
    /// whole /64, and could otherwise take a fresh address per request).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.map(|ip| ip.to_canonical()) {
            Some(IpAddr::V4(v4)) => write!(f, "{v4}"),
            Some(IpAddr::V6(v6)) => {
                let [a, b, c, d, ..] = v6.segments();
                write!(f, "{a:x}:{b:x}:{c:x}:{d:x}::/64")
            }
            None => f.write_str("unknown"),
        }
    }
}

/// Whom a failed login counts against: the user the login names, or, for a login that names
/// nobody, a hash of its lower-cased text (never the text: it may be an e-mail address).
#[derive(Debug, Clone, Copy)]
pub enum Account<'a> {
    User(UserId),
    Unknown(&'a str),
}

/// The keys of each class.
pub mod keys {
    use super::*;

    pub fn by_address(class: RateClass, from: ClientAddr) -> RateKey {
        RateKey::new(class, from.to_string())
    }

    pub fn by_account(class: RateClass, user: UserId) -> RateKey {
        RateKey::new(class, user.to_string())
    }

    pub fn login_failures(account: Account<'_>, from: ClientAddr) -> RateKey {
        let account = match account {
            Account::User(user) => user.to_string(),
            Account::Unknown(login) => {
                let digest = Sha256::digest(login.trim().to_lowercase().as_bytes());
                let hex: String = digest
                    .iter()
                    .take(16)
                    .map(|byte| format!("{byte:02x}"))
                    .collect();
                format!("h{hex}")
            }
        };
        RateKey::new(RateClass::LoginFailures, format!("{account}|{from}"))
    }
}

/// The limiter and its rules: in the context of every function that serves a limited route
/// while `RATE_LIMITS` is on.
pub struct Limits {
    limiter: Arc<dyn RateLimiter>,
    rules: RateRules,
}

impl Limits {
    pub fn new(limiter: Arc<dyn RateLimiter>, rules: RateRules) -> Self {
        Self { limiter, rules }
    }

    pub fn rules(&self) -> &RateRules {
        &self.rules
    }

    pub fn limiter(&self) -> &Arc<dyn RateLimiter> {
        &self.limiter
    }

    /// Counts one request against `key`: 429 past its rule (and then counts nothing).
    ///
    /// # Errors
    /// [`ServiceError::RateLimited`] past the rule.
    pub async fn acquire(&self, key: &RateKey) -> ServiceResult<()> {
        let rule = self.rules.of(key.class);
        let decision = self.limiter.acquire(key, rule).await;
        self.decide(key, decision)
    }

    /// 429 when [`Limits::acquire`] would be, counting nothing.
    ///
    /// # Errors
    /// [`ServiceError::RateLimited`] past the rule.
    pub async fn check(&self, key: &RateKey) -> ServiceResult<()> {
        let rule = self.rules.of(key.class);
        let decision = self.limiter.check(key, rule).await;
        self.decide(key, decision)
    }

    /// Counts one against `key` after the fact (a failed login): the answer is decided already,
    /// so a refusal here changes nothing but the log.
    pub async fn count(&self, key: &RateKey) {
        let rule = self.rules.of(key.class);
        if let Err(err) = self.limiter.acquire(key, rule).await {
            warn_unavailable(self.limiter.name(), key.class, &err);
        }
    }

    fn decide(&self, key: &RateKey, decision: anyhow::Result<Decision>) -> ServiceResult<()> {
        match decision {
            Ok(Decision::Allowed) => Ok(()),
            Ok(Decision::Limited { retry_after }) => {
                tracing::info!(class = key.class.name(), ?retry_after, "rate limited");
                crate::telemetry::metrics::rate_limited(key.class.name());
                Err(ServiceError::RateLimited { retry_after })
            }
            // Availability over limiting: a limiter outage must not take the API down with it.
            Err(err) => {
                warn_unavailable(self.limiter.name(), key.class, &err);
                Ok(())
            }
        }
    }
}

fn warn_unavailable(limiter: &str, class: RateClass, err: &anyhow::Error) {
    tracing::warn!(
        limiter,
        class = class.name(),
        error = %format!("{err:#}"),
        "rate limiter unavailable: request let through unlimited"
    );
}

/// Logs once per process that requests arrive without a client address (they share the
/// `unknown` bucket): expected in tests that call the router directly, a wiring bug anywhere
/// else.
pub fn note_unknown_address() {
    static NOTED: AtomicBool = AtomicBool::new(false);
    if !NOTED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            "a request came without a client address: address limits count it in one shared \
             `unknown` bucket"
        );
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv6Addr;

    use async_trait::async_trait;

    use super::*;

    struct Down;

    #[async_trait]
    impl RateLimiter for Down {
        fn name(&self) -> &'static str {
            "down"
        }
        async fn acquire(&self, _: &RateKey, _: Rule) -> anyhow::Result<Decision> {
            anyhow::bail!("connection refused")
        }
        async fn check(&self, _: &RateKey, _: Rule) -> anyhow::Result<Decision> {
            anyhow::bail!("connection refused")
        }
    }

    #[tokio::test]
    async fn a_limiter_that_fails_lets_requests_through() {
        let limits = Limits::new(Arc::new(Down), RateRules::default());
        let key = keys::by_account(RateClass::Posts, UserId::new());
        assert!(limits.acquire(&key).await.is_ok());
        assert!(limits.check(&key).await.is_ok());
        limits.count(&key).await;
    }

    #[tokio::test]
    async fn a_limited_request_is_429_with_its_wait() {
        let limiter = Arc::new(crate::adapters::memory_limiter::MemoryLimiter::new());
        let rules = RateRules {
            posts: "1/1h".parse().unwrap_or_else(|e: String| panic!("{e}")),
            ..RateRules::default()
        };
        let limits = Limits::new(limiter, rules);
        let key = keys::by_account(RateClass::Posts, UserId::new());
        assert!(limits.acquire(&key).await.is_ok());
        match limits.acquire(&key).await {
            Err(ServiceError::RateLimited { retry_after }) => {
                assert!(retry_after > Duration::from_secs(3_500), "{retry_after:?}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_defaults_are_the_design() {
        let r = RateRules::default();
        assert_eq!(r.login_failures.to_string(), "10/15m");
        assert_eq!(r.login_attempts.to_string(), "100/15m");
        assert_eq!(r.register.to_string(), "10/1h");
        assert_eq!(r.posts.to_string(), "300/3h");
        assert_eq!(r.writes.to_string(), "1000/1h");
    }

    #[test]
    fn keys_hold_no_login_text_and_bucket_ipv6_by_64() {
        let from = ClientAddr(Some("203.0.113.7".parse().unwrap_or(IpAddr::from([0; 4]))));
        let key = keys::login_failures(Account::Unknown(" Ann@Example.COM "), from);
        assert!(!key.to_string().to_lowercase().contains("ann"), "{key}");
        assert!(key.subject.ends_with("|203.0.113.7"), "{key}");
        assert_eq!(
            key,
            keys::login_failures(Account::Unknown("ann@example.com"), from)
        );
        let a = ClientAddr(Some(IpAddr::V6(Ipv6Addr::new(
            0x2001, 0xdb8, 1, 2, 3, 4, 5, 6,
        ))));
        let b = ClientAddr(Some(IpAddr::V6(Ipv6Addr::new(
            0x2001, 0xdb8, 1, 2, 9, 9, 9, 9,
        ))));
        assert_eq!(a.to_string(), "2001:db8:1:2::/64");
        assert_eq!(a.to_string(), b.to_string());
        let mapped = ClientAddr(Some(
            "::ffff:198.51.100.1"
                .parse()
                .unwrap_or(IpAddr::from([0; 4])),
        ));
        assert_eq!(mapped.to_string(), "198.51.100.1");
        assert_eq!(ClientAddr(None).to_string(), "unknown");
    }
}
