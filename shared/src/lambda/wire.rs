//! What each function wires: one builder per function, each asking [`Wiring`] for the parts its
//! routes (see the route table) or its queues use and nothing else. The binaries pass their
//! builder to [`super::serve_http`] or [`super::consumer::serve`]; as a binary calls no other
//! builder, the adapters it does not use are not linked into it.
//!
//! Every function that verifies tokens also reads the revoked sessions from the SQL store.
//! Every function that serves a rate-limited route (`http::routes`) counts in Redis with
//! `REDIS_URL` (else in its own memory, per instance), so it gets `REDIS_URL` too.
//!
//! | function  | SQL store | graph | Redis (caches, feeds, rate limits) | broker | mail | tokens |
//! |-----------|-----------|-------|------------------------------------|--------|------|--------|
//! | register  | users, outbox | | limits                       | publishes | | |
//! | login     | users, sessions |  | limits                      |        |      | issues |
//! | profile   | users, posts | counts |                           |        |      | verifies |
//! | follow    | users, outbox | edges, lists | follow-list cache, limits | publishes | | verifies |
//! | post      | users, posts | | slot cache, limits             | publishes |      | verifies |
//! | feed-read | users, posts | follows | feeds, caches            |        |      | verifies |
//! | interact  | users, posts, outbox | | slot cache, limits       | publishes |      | verifies |
//! | notifications | users, posts, notifications | | slot cache |     |      | verifies |
//! | account   | users, posts, sessions, outbox | edges, counts | slot cache, limits | publishes | | issues |
//! | notify    | notifications, processed |  |                  |        |      |        |
//! | network   | processed | nodes |                       |        |      |        |
//! | email     | processed |       |                       |        | sends |       |
//! | fanout    | posts, processed | followers | feeds, caches |   |      |        |

use std::sync::Arc;

use super::HttpWiring;

/// The secret settings each function reads, by variable: what template.yaml gives it, and
/// nothing more (`tests/template.rs` checks the template against this; the lambda tests check
/// each builder's wiring against it). `NEO4J_PASSWORD` brings `NEO4J_URI` and `NEO4J_USER`.
pub const SECRETS: [(&str, &[&str]); 15] = [
    // Public keys only (`JWT_PUBLIC_KEYS`, a plain setting: nothing in it is secret).
    ("authorizer", &[]),
    ("register", &["DATABASE_URL", "REDIS_URL", "RABBITMQ_URL"]),
    ("login", &["DATABASE_URL", "REDIS_URL", "JWT_PRIVATE_KEY"]),
    ("profile", &["DATABASE_URL", "NEO4J_PASSWORD"]),
    (
        "follow",
        &[
            "DATABASE_URL",
            "NEO4J_PASSWORD",
            "REDIS_URL",
            "RABBITMQ_URL",
        ],
    ),
    ("post", &["DATABASE_URL", "REDIS_URL", "RABBITMQ_URL"]),
    (
        "feed-read",
        &["DATABASE_URL", "NEO4J_PASSWORD", "REDIS_URL"],
    ),
    ("interact", &["DATABASE_URL", "REDIS_URL", "RABBITMQ_URL"]),
    ("notifications", &["DATABASE_URL", "REDIS_URL"]),
    (
        "account",
        &[
            "DATABASE_URL",
            "NEO4J_PASSWORD",
            "REDIS_URL",
            "RABBITMQ_URL",
            "JWT_PRIVATE_KEY",
        ],
    ),
    ("notify", &["DATABASE_URL", "RABBITMQ_URL"]),
    (
        "network",
        &["DATABASE_URL", "NEO4J_PASSWORD", "RABBITMQ_URL"],
    ),
    ("email", &["DATABASE_URL", "SMTP_URL", "RABBITMQ_URL"]),
    (
        "fanout",
        &[
            "DATABASE_URL",
            "NEO4J_PASSWORD",
            "REDIS_URL",
            "RABBITMQ_URL",
        ],
    ),
    ("relay", &["DATABASE_URL", "RABBITMQ_URL"]),
];

/// The secret settings `function` reads (see [`SECRETS`]); none for an unknown name.
pub fn secrets_of(function: &str) -> &'static [&'static str] {
    SECRETS
        .iter()
        .find(|(name, _)| *name == function)
        .map_or(&[], |(_, secrets)| *secrets)
}
use crate::config::Config;
use crate::domain::Queue;
use crate::ports::{Consumer, Outbox};
use crate::services::{Context, EmailConsumer, FanoutConsumer, NetworkConsumer, NotifyConsumer};
use crate::wiring::Wiring;

/// An HTTP function's wiring from its context, for a function that writes no events.
fn http(wiring: Wiring<'_>, ctx: Context) -> HttpWiring {
    HttpWiring {
        ctx,
        relay: None,
        probes: wiring.into_probes(),
    }
}

/// An HTTP function's wiring from its context, for a function that writes events to `outbox`:
/// it also gets the relay that publishes them after each write, to the broker when one is
/// configured. Only these functions call [`Wiring::broker`], so only they link the broker's
/// client.
fn publishing(mut wiring: Wiring<'_>, ctx: Context, outbox: Arc<dyn Outbox>) -> HttpWiring {
    let relay = wiring.broker().map(|broker| broker.relay(outbox));
    HttpWiring {
        relay,
        ..http(wiring, ctx)
    }
}

/// `POST /auth/register`: the user and its event in one transaction, then published.
///
/// # Errors
/// A configured server cannot be reached.
pub async fn register(config: Config) -> anyhow::Result<HttpWiring> {
    let mut wiring = Wiring::new(&config).await?;
    let sql = wiring.sql().await?;
    let ctx = Context {
        users: Some(sql.users),
        outbox: Some(sql.outbox.clone()),
        passwords: Some(wiring.passwords()),
        limits: wiring.limits().await?,
        ..wiring.context()
    };
    Ok(publishing(wiring, ctx, sql.outbox))
}

/// `POST /auth/login`: credentials, a new session and its tokens.
///
/// # Errors
/// `JWT_PRIVATE_KEY` is unset, or the store cannot be reached.
pub async fn login(config: Config) -> anyhow::Result<HttpWiring> {
    let mut wiring = Wiring::new(&config).await?;
    let sql = wiring.sql().await?;
    let ctx = Context {
        users: Some(sql.users),
        sessions: Some(sql.sessions),
        passwords: Some(wiring.passwords()),
        tokens: Some(wiring.issuing_tokens()?),
        limits: wiring.limits().await?,
        ..wiring.context()
    };
    Ok(http(wiring, ctx))
}

/// Profiles with counts and the reader's relationship, `/health` and `/openapi.json`. Counts are read from the sources of
/// truth, so this function needs no Redis.
///
/// # Errors
/// `JWT_PUBLIC_KEYS` is unset, or a store cannot be reached.
pub async fn profile(config: Config) -> anyhow::Result<HttpWiring> {
    let mut wiring = Wiring::new(&config).await?;
    let sql = wiring.sql().await?;
    let ctx = Context {
        users: Some(sql.users),
        blocks: Some(sql.blocks),
        posts: Some(sql.posts),
        graph: Some(wiring.graph().await?),
        ..wiring.verifying_context().await?
    };
    Ok(http(wiring, ctx))
}

/// Follow, unfollow and the follow lists, through the follow-list cache that the writes keep
/// fresh; blocks (which end follows) and mutes.
///
/// # Errors
/// `JWT_PUBLIC_KEYS` is unset, or a configured server cannot be reached.
pub async fn follow(config: Config) -> anyhow::Result<HttpWiring> {
    let mut wiring = Wiring::new(&config).await?;
    let sql = wiring.sql().await?;
    let ctx = Context {
        users: Some(sql.users),
        blocks: Some(sql.blocks),
        graph: Some(wiring.cached_graph().await?),
        outbox: Some(sql.outbox.clone()),
        limits: wiring.limits().await?,
        ..wiring.verifying_context().await?
    };
    Ok(publishing(wiring, ctx, sql.outbox))
}

/// Create, read and delete posts, through the slot cache (a write forgets what it changed).
///
/// # Errors
/// `JWT_PUBLIC_KEYS` is unset, or a configured server cannot be reached.
pub async fn post(config: Config) -> anyhow::Result<HttpWiring> {
    let mut wiring = Wiring::new(&config).await?;
    let sql = wiring.sql().await?;
    let ctx = Context {
        users: Some(wiring.cached_users().await?),
        blocks: Some(sql.blocks),
        posts: Some(wiring.cached_posts().await?),
        outbox: Some(sql.outbox.clone()),
        limits: wiring.limits().await?,
        ..wiring.verifying_context().await?
    };
    Ok(publishing(wiring, ctx, sql.outbox))
}

/// Home and user feeds.
///
/// # Errors
/// `JWT_PUBLIC_KEYS` is unset, or a configured server cannot be reached.
pub async fn feed_read(config: Config) -> anyhow::Result<HttpWiring> {
    let mut wiring = Wiring::new(&config).await?;
    let sql = wiring.sql().await?;
    let ctx = Context {
        users: Some(wiring.cached_users().await?),
        blocks: Some(sql.blocks),
        posts: Some(wiring.cached_posts().await?),
        graph: Some(wiring.cached_graph().await?),
        feeds: Some(wiring.feeds().await?),
        ..wiring.verifying_context().await?
    };
    Ok(http(wiring, ctx))
}

/// Likes, replies, a post's context and tag pages: reactions are written with their events;
/// posts, their counts and the reader's state are read through the slot cache.
///
/// # Errors
/// `JWT_PUBLIC_KEYS` is unset, or a configured server cannot be reached.
pub async fn interact(config: Config) -> anyhow::Result<HttpWiring> {
    let mut wiring = Wiring::new(&config).await?;
    let sql = wiring.sql().await?;
    let ctx = Context {
        users: Some(wiring.cached_users().await?),
        blocks: Some(sql.blocks),
        posts: Some(wiring.cached_posts().await?),
        outbox: Some(sql.outbox.clone()),
        limits: wiring.limits().await?,
        ..wiring.verifying_context().await?
    };
    Ok(publishing(wiring, ctx, sql.outbox))
}

/// The caller's notifications, with their posts through the slot cache.
///
/// # Errors
/// `JWT_PUBLIC_KEYS` is unset, or a configured server cannot be reached.
pub async fn notifications(config: Config) -> anyhow::Result<HttpWiring> {
    let mut wiring = Wiring::new(&config).await?;
    let sql = wiring.sql().await?;
    let ctx = Context {
        users: Some(wiring.cached_users().await?),
        posts: Some(wiring.cached_posts().await?),
        notifications: Some(sql.notifications),
        ..wiring.verifying_context().await?
    };
    Ok(http(wiring, ctx))
}

/// The account life cycle: profile edits (answered with counts), password change, erasure
/// (its event published), refresh and logout (they issue tokens), the public keys, and user
/// search.
///
/// # Errors
/// `JWT_PRIVATE_KEY` is unset, or a configured server cannot be reached.
pub async fn account(config: Config) -> anyhow::Result<HttpWiring> {
    let mut wiring = Wiring::new(&config).await?;
    let sql = wiring.sql().await?;
    let ctx = Context {
        users: Some(wiring.cached_users().await?),
        posts: Some(sql.posts),
        graph: Some(wiring.graph().await?),
        outbox: Some(sql.outbox.clone()),
        sessions: Some(sql.sessions),
        passwords: Some(wiring.passwords()),
        tokens: Some(wiring.issuing_tokens()?),
        revocations: Some(wiring.revocations().await?),
        limits: wiring.limits().await?,
        ..wiring.context()
    };
    Ok(publishing(wiring, ctx, sql.outbox))
}

/// Queue `notify.events`: notifications of follows, likes, replies and mentions.
///
/// # Errors
/// The store cannot be reached.
pub async fn notify(config: Config) -> anyhow::Result<Vec<Arc<dyn Consumer>>> {
    let mut wiring = Wiring::new(&config).await?;
    let notifications = wiring.sql().await?.notifications;
    Ok(vec![
        wiring.idempotent(NotifyConsumer { notifications }).await?,
    ])
}

/// Queue `network.users`: the user's node in the graph.
///
/// # Errors
/// A configured server cannot be reached.
pub async fn network(config: Config) -> anyhow::Result<Vec<Arc<dyn Consumer>>> {
    let mut wiring = Wiring::new(&config).await?;
    let graph = wiring.graph().await?;
    Ok(vec![wiring.idempotent(NetworkConsumer { graph }).await?])
}

/// Queue `email.welcome`: the welcome mail.
///
/// # Errors
/// A configured server cannot be reached, or `SMTP_URL` is malformed.
pub async fn email(config: Config) -> anyhow::Result<Vec<Arc<dyn Consumer>>> {
    let mut wiring = Wiring::new(&config).await?;
    let mailer = wiring.mailer().await?;
    Ok(vec![wiring.idempotent(EmailConsumer { mailer }).await?])
}

/// Queues `feed.posts` and `feed.follows`: fan-out, backfill and removal.
///
/// # Errors
/// A configured server cannot be reached.
pub async fn fanout(config: Config) -> anyhow::Result<Vec<Arc<dyn Consumer>>> {
    let mut wiring = Wiring::new(&config).await?;
    let posts = wiring.sql().await?.posts;
    let graph = wiring.cached_graph().await?;
    let feeds = wiring.feeds().await?;
    let mut consumers = Vec::new();
    for queue in [Queue::FeedPosts, Queue::FeedFollows] {
        let consumer = FanoutConsumer {
            queue,
            posts: posts.clone(),
            graph: graph.clone(),
            feeds: feeds.clone(),
            settings: config.feed,
        };
        consumers.push(wiring.idempotent(consumer).await?);
    }
    Ok(consumers)
}
