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
    let mut relayed = relay_all(&app).await?;
    let follows: Vec<(UserId, &str)> = counts
        .iter()
        .zip(&reader_ids)
        .flat_map(|(&count, &reader)| names.iter().take(count).map(move |n| (reader, n.as_str())))
        .collect();
    follow_all(ctx, &follows).await?;
    relayed += relay_all(&app).await?;
    let posts = post_all(ctx, &author_ids, POSTS_PER_AUTHOR).await?;
    relayed += relay_all(&app).await?;
    let lines = counts
        .iter()
        .zip(&reader_ids)
        .map(|(count, reader)| Ok(format!("{count} {}", token(ctx, *reader)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    write_lines(out, &lines)?;
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
    let mut relayed = relay_all(&app).await?;
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
    follow_all(ctx, &follows).await?;
    relayed += relay_all(&app).await?;
    let posts = post_all(ctx, &ids, POSTS_PER_AUTHOR).await?;
    relayed += relay_all(&app).await?;
    let lines = names
        .iter()
        .zip(&ids)
        .map(|(name, id)| Ok(format!("{name} {}", token(ctx, *id)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    write_lines(out, &lines)?;
    Ok(Report {
        users,
        follows: follows.len(),
        posts,
        max_followers,
        events_relayed: relayed,
        seconds: started.elapsed().as_secs_f64(),
    })
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
            services::follow(ctx, follower, followee)
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
            services::create_post(ctx, author, content)
                .await
                .context("create post")?;
            anyhow::Ok(())
        })
        .buffer_unordered(PARALLEL)
        .try_collect::<()>()
        .await?;
    Ok(posts.len())
}

/// Publishes everything the outbox holds to this process's consumers (fan-out, graph nodes,
/// welcome mails), as the server's relay would.
async fn relay_all(app: &Embedded) -> anyhow::Result<usize> {
    let relay = app.relay();
    let mut total = 0;
    loop {
        let sent = relay.drain().await?;
        if sent == 0 {
            return Ok(total);
        }
        total += sent;
    }
}

fn token(ctx: &Context, user: UserId) -> anyhow::Result<String> {
    Ok(ctx.tokens.issue(user)?.access_token)
}

fn write_lines(out: &Path, lines: &[String]) -> anyhow::Result<()> {
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(out, text).with_context(|| format!("write {}", out.display()))
}
