//! Data for the load tests, written through Rookery's use cases on the configured stores.

use std::path::Path;

use anyhow::Context as _;
use futures::{StreamExt as _, TryStreamExt as _};
use rand::SeedableRng as _;
use rand::rngs::StdRng;
use rookery::config::Config;
use rookery::domain::{Email, Password, PostContent, UserId, Username};
use rookery::server::Embedded;
use rookery::services::{self, Context, Registration};
use serde::Serialize;

/// Requests in flight while seeding: enough to keep both cores busy with bcrypt and SQLite.
const PARALLEL: usize = 16;
/// Posts each author writes before the load starts.
const POSTS_PER_AUTHOR: usize = 3;

#[derive(Serialize)]
pub struct Report {
    users: usize,
    follows: usize,
    posts: usize,
    max_followers: usize,
    events_relayed: usize,
    seconds: f64,
}

/// Authors `author00000..`, and one reader per count following the first `count` of them; every
/// author posts. OUT gets `count token` per reader.
pub async fn followees(out: &Path, counts: &[usize]) -> anyhow::Result<Report> {
    let started = std::time::Instant::now();
    let app = wiring().await?;
    let ctx = &app.ctx;
    let authors = counts.iter().copied().max().unwrap_or(0);
    let names: Vec<String> = (0..authors).map(|i| format!("author{i:05}")).collect();
    let author_ids = register_all(ctx, &names).await?;
    let readers: Vec<String> = counts
        .iter()
        .map(|count| format!("reader{count}"))
        .collect();
    let reader_ids = register_all(ctx, &readers).await?;
    let follows: Vec<(UserId, &str)> = counts
        .iter()
        .zip(&reader_ids)
        .flat_map(|(&count, &reader)| names.iter().take(count).map(move |n| (reader, n.as_str())))
        .collect();
    let (posts, relayed) = follow_then_post(&app, &follows, &author_ids).await?;
    let tokens = counts.iter().map(ToString::to_string).zip(reader_ids);
    write_tokens(out, ctx, tokens)?;
    Ok(Report {
        users: names.len() + readers.len(),
        follows: follows.len(),
        posts,
        max_followers: counts.len(),
        events_relayed: relayed,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// `users` users `user0000..`: the user of rank r (from 1) has about `users / r` followers
/// (Zipf, exponent 1, as measured follower counts are), drawn at random with a fixed seed, so
/// every run seeds the same graph. Every user posts. OUT gets `username token` per user.
pub async fn mixed(out: &Path, users: usize) -> anyhow::Result<Report> {
    let started = std::time::Instant::now();
    let app = wiring().await?;
    let ctx = &app.ctx;
    let names: Vec<String> = (0..users).map(|i| format!("user{i:04}")).collect();
    let ids = register_all(ctx, &names).await?;
    let mut rng = StdRng::seed_from_u64(42);
    let mut follows = Vec::new();
    let mut max_followers = 0;
    for (rank, name) in names.iter().enumerate() {
        let wanted = (users / (rank + 1)).min(users - 1);
        max_followers = max_followers.max(wanted);
        // Sampled among the others: index `rank` itself is skipped by shifting past it.
        for other in rand::seq::index::sample(&mut rng, users - 1, wanted) {
            let follower = if other >= rank { other + 1 } else { other };
            if let Some(&id) = ids.get(follower) {
                follows.push((id, name.as_str()));
            }
        }
    }
    let (posts, relayed) = follow_then_post(&app, &follows, &ids).await?;
    write_tokens(out, ctx, names.iter().cloned().zip(ids.iter().copied()))?;
    Ok(Report {
        users,
        follows: follows.len(),
        posts,
        max_followers,
        events_relayed: relayed,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// What both scenarios do once their users exist: graph nodes, the follows, then the authors'
/// posts, each step relayed to the consumers before the next, so every post is fanned out to
/// followers that already follow. Returns the posts written and the events relayed.
async fn follow_then_post(
    app: &Embedded,
    follows: &[(UserId, &str)],
    authors: &[UserId],
) -> anyhow::Result<(usize, usize)> {
    let relay = app.relay();
    let mut relayed = relay.drain().await?;
    follow_all(&app.ctx, follows).await?;
    relayed += relay.drain().await?;
    let posts = post_all(&app.ctx, authors, POSTS_PER_AUTHOR).await?;
    relayed += relay.drain().await?;
    Ok((posts, relayed))
}

async fn wiring() -> anyhow::Result<Embedded> {
    let config = Config::from_env()?;
    Embedded::build(&config).await
}

async fn register_all(ctx: &Context, names: &[String]) -> anyhow::Result<Vec<UserId>> {
    futures::stream::iter(names)
        .map(|name| async move {
            let input = Registration {
                username: Username::parse(name)?,
                email: Email::parse(&format!("{name}@bench.example"))?,
                password: Password::parse("correct horse")?,
                display_name: None,
            };
            let user = services::register(ctx, input)
                .await
                .with_context(|| format!("register {name}"))?;
            anyhow::Ok(user.id)
        })
        .buffered(PARALLEL)
        .try_collect()
        .await
}

async fn follow_all(ctx: &Context, follows: &[(UserId, &str)]) -> anyhow::Result<()> {
    futures::stream::iter(follows)
        .map(|&(follower, followee)| async move {
            let username = Username::parse(followee).with_context(|| format!("{followee:?}"))?;
            services::follow(ctx, follower, &username)
                .await
                .with_context(|| format!("follow {followee}"))
        })
        .buffer_unordered(PARALLEL)
        .try_collect::<()>()
        .await
}

async fn post_all(ctx: &Context, authors: &[UserId], each: usize) -> anyhow::Result<usize> {
    let posts: Vec<(UserId, usize)> = (0..each)
        .flat_map(|n| authors.iter().map(move |&author| (author, n)))
        .collect();
    futures::stream::iter(&posts)
        .map(|&(author, n)| async move {
            let content = PostContent::parse(&format!("bench post {n} of {author}"))?;
            let draft = services::Draft {
                content,
                in_reply_to: None,
            };
            services::create_post(ctx, author, draft, None)
                .await
                .context("create post")?;
            anyhow::Ok(())
        })
        .buffer_unordered(PARALLEL)
        .try_collect::<()>()
        .await?;
    Ok(posts.len())
}

/// OUT gets `label token` per user.
fn write_tokens(
    out: &Path,
    ctx: &Context,
    users: impl Iterator<Item = (String, UserId)>,
) -> anyhow::Result<()> {
    let mut text = String::new();
    for (label, user) in users {
        // A session of its own per token, as a login would start (the bench never refreshes).
        let token = ctx
            .tokens()?
            .issue(user, rookery::domain::SessionId::new())?
            .access_token;
        text.push_str(&format!("{label} {token}\n"));
    }
    std::fs::write(out, text).with_context(|| format!("write {}", out.display()))
}
