//! Fan-out rate: feed entries written per second when one post is pushed to N followers.
//!
//! For each follower count: a fresh SQLite file (the source of truth and the follow graph) and
//! a dedicated Redis database (`redis://127.0.0.1:6379/14` by default, flushed before and after:
//! do not point it at a database you care about). Then, per count:
//!
//! - fan-out (timed): `FanoutConsumer::handle` of a `post.created` event, exactly what the
//!   `feed.posts` queue does: the post is read back, pushed to the author's own feeds, the
//!   follower count is checked against the celebrity threshold (set to `u64::MAX`, so it never
//!   skips), then the followers are walked in chunks of 1,000 (`SocialGraph::follower_ids`)
//!   and each chunk is one `FeedCache::add` pipeline. One untimed warm-up post comes first;
//! - follower reads only (timed): the same walk over `follower_ids`, without Redis;
//! - Redis add only (timed): `RedisFeeds::add` of a fresh post id over the same home keys, in
//!   chunks of 1,000: fan-out minus the graph reads.
//!
//! After every timed push (not timed): every follower's home feed is checked to hold the post
//! (`ZSCORE` over all of them), and a sample of followers, plus the first and last in id order,
//! is read back through `FeedCache::page` and must hold it exactly once. Any miss fails the run.
//!
//! Setup: followers are created through the ports (`UserStore::create_user`, then
//! `SocialGraph::follow`), by a few concurrent tasks. Above `--bulk-above` followers (default
//! 20,000) that takes too long, so the followers are written instead in one transaction through
//! a raw sqlx connection to the same file: the same rows the ports write (users, graph nodes,
//! follow edges, follower count), without the `user.registered` outbox rows, which fan-out
//! never reads.
//!
//! Usage (`scripts/bench-fanout` runs it):
//!
//! ```text
//! cargo bench -p rookery --bench fanout -- [--followers 1000,10000,100000] [--posts 5]
//!     [--sample 100] [--tasks 4] [--bulk-above 20000] [--redis redis://127.0.0.1:6379/14]
//!     [--json PATH]
//! ```
//!
//! Progress goes to stderr; the Markdown table of results to stdout. With `--json PATH`, the
//! results are also written to PATH as one JSON object: the settings and versions, and per
//! follower count a row of `followers`, `fanout_ms` (median), `entries_per_sec` (fan-out,
//! at the median), `follower_reads_ms` (median), `redis_add_ms` (median),
//! `redis_add_entries_per_sec` (at the median), the best times, and the setup. Times are
//! milliseconds.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use redis::AsyncConnectionConfig;
use redis::aio::MultiplexedConnection;
use rookery::adapters::redis::RedisFeeds;
use rookery::adapters::redis::feeds::TRIM_EVERY;
use rookery::adapters::sqlite::Sqlite;
use rookery::domain::{
    DisplayName, Email, Event, EventPayload, FeedEntry, NewPost, NewUser, PostContent, PostId,
    Queue, Timestamp, UserId, Username,
};
use rookery::ports::{Consumer, FeedCache, FeedKey, PostStore, SocialGraph, UserStore};
use rookery::services::{FanoutConsumer, FeedSettings};
use sqlx::Connection as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode};

/// What `FanoutConsumer` walks per `follower_ids` call and per `FeedCache::add`.
const CHUNK: usize = 1_000;
/// The production feed sizing: 800 entries, one day of TTL.
const CAP: usize = 800;
const TTL: Duration = Duration::from_secs(24 * 3600);
/// Redis commands per feed entry that `RedisFeeds::add` sends, on average: ZADD, and
/// ZREMRANGEBYRANK with EXPIRE NX on one push in `TRIM_EVERY`.
#[allow(clippy::cast_precision_loss)]
const COMMANDS_PER_ENTRY: f64 = 1.0 + 2.0 / TRIM_EVERY as f64;
/// Ids per statement when the followers are written in bulk.
const BULK_CHUNK: usize = 10_000;

struct Args {
    followers: Vec<usize>,
    posts: usize,
    sample: usize,
    tasks: usize,
    bulk_above: usize,
    redis: String,
    json: Option<PathBuf>,
}

impl Args {
    fn parse() -> anyhow::Result<Self> {
        let mut args = Self {
            followers: vec![10_000],
            posts: 5,
            sample: 100,
            tasks: 4,
            bulk_above: 20_000,
            redis: "redis://127.0.0.1:6379/14".to_owned(),
            json: None,
        };
        let mut raw = std::env::args().skip(1);
        while let Some(flag) = raw.next() {
            // `cargo bench` passes `--bench` to every bench target.
            if flag == "--bench" {
                continue;
            }
            let value = raw
                .next()
                .with_context(|| format!("{flag} needs a value"))?;
            let number = |value: &str| {
                value
                    .replace('_', "")
                    .parse::<usize>()
                    .with_context(|| format!("{flag}: {value:?} is not a number"))
            };
            match flag.as_str() {
                "--followers" => {
                    args.followers = value.split(',').map(number).collect::<Result<_, _>>()?;
                }
                "--posts" => args.posts = number(&value)?,
                "--sample" => args.sample = number(&value)?,
                "--tasks" => args.tasks = number(&value)?,
                "--bulk-above" => args.bulk_above = number(&value)?,
                "--redis" => args.redis = value,
                "--json" => args.json = Some(PathBuf::from(value)),
                _ => bail!(
                    "unknown argument {flag}; expected --followers N[,N..], --posts N, \
                     --sample N, --tasks N, --bulk-above N, --redis URL, --json PATH"
                ),
            }
        }
        ensure!(args.posts > 0, "--posts must be at least 1");
        ensure!(args.tasks > 0, "--tasks must be at least 1");
        ensure!(
            args.followers.iter().all(|n| *n > 0),
            "--followers must be positive"
        );
        Ok(args)
    }
}

/// The timings of one follower count.
struct Run {
    followers: usize,
    setup: &'static str,
    setup_time: Duration,
    fanout: Vec<Duration>,
    reads: Vec<Duration>,
    redis_add: Vec<Duration>,
    /// Fan-out with the production threshold (hybrid): flat from the threshold on.
    hybrid: Vec<Duration>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the tokio runtime")?;
    runtime.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let mut admin = admin_connection(&args.redis).await?;
    let redis_version = redis_version(&mut admin).await?;
    let mut runs = Vec::new();
    let mut sqlite_version = String::new();
    for &followers in &args.followers {
        flushdb(&mut admin).await?;
        let result = bench(&args, followers, &mut admin, &mut sqlite_version).await;
        flushdb(&mut admin).await?;
        runs.push(result?);
    }
    let table = report(&args, &runs, &redis_version, &sqlite_version);
    let mut out = std::io::stdout().lock();
    out.write_all(table.as_bytes())?;
    out.flush()?;
    if let Some(path) = &args.json {
        let json = json_report(&args, &runs, &redis_version, &sqlite_version);
        let text = serde_json::to_string_pretty(&json)?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("write the JSON results to {}", path.display()))?;
        eprintln!("JSON results written to {}", path.display());
    }
    Ok(())
}

async fn bench(
    args: &Args,
    followers: usize,
    admin: &mut MultiplexedConnection,
    sqlite_version: &mut String,
) -> anyhow::Result<Run> {
    eprintln!("== {followers} followers");
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("fanout.db");
    let db = Arc::new(Sqlite::open(&path).await?);

    // Arrange (not timed).
    let started = Instant::now();
    let author = create_user(&db, "author").await?;
    let (setup, mut ids) = if followers > args.bulk_above {
        let ids = bulk_followers(&path, author, followers).await?;
        ("bulk SQL, 1 tx", ids)
    } else {
        let ids = port_followers(&db, author, followers, args.tasks).await?;
        ("ports", ids)
    };
    let setup_time = started.elapsed();
    eprintln!("   setup ({setup}): {setup_time:.1?}");
    ids.sort_unstable(); // the order `follower_ids` walks them in
    let counted = db.counts(author).await?.followers;
    ensure!(
        counted == followers as u64,
        "the graph holds {counted} followers of the author, not {followers}"
    );
    if sqlite_version.is_empty() {
        *sqlite_version = sqlite_version_of(&path).await?;
    }

    let feeds = Arc::new(RedisFeeds::connect(&args.redis, CAP, TTL).await?);
    let consumer = FanoutConsumer {
        queue: Queue::FeedPosts,
        posts: db.clone(),
        graph: db.clone(),
        feeds: feeds.clone(),
        settings: FeedSettings {
            cap: CAP,
            celebrity_threshold: u64::MAX,
        },
    };

    // Act: fan-out, one untimed warm-up post first.
    let mut fanout = Vec::new();
    for round in 0..=args.posts {
        let (post, event) = create_post(&db, author, round).await?;
        let started = Instant::now();
        consumer
            .handle(&event)
            .await
            .with_context(|| format!("fan-out of post {post}"))?;
        let took = started.elapsed();
        verify(&feeds, admin, &ids, post, args.sample).await?;
        for own in [FeedKey::home(author), FeedKey::user(author)] {
            ensure!(
                feeds
                    .page(own, None, CAP)
                    .await?
                    .iter()
                    .any(|e| e.post == post),
                "the author's own feed lacks post {post}"
            );
        }
        if round == 0 {
            eprintln!("   fan-out warm-up: {took:.1?}");
        } else {
            eprintln!("   fan-out {round}: {took:.1?}");
            fanout.push(took);
        }
    }

    // Production: the default threshold, above which followers are not pushed to (their home
    // feeds merge the author's posts at read time), so the time stops growing there.
    let production = FanoutConsumer {
        settings: FeedSettings {
            cap: CAP,
            ..FeedSettings::default()
        },
        ..consumer
    };
    let mut hybrid = Vec::new();
    for round in 1..=args.posts {
        let (post, event) = create_post(&db, author, 100 + round).await?;
        let started = Instant::now();
        production
            .handle(&event)
            .await
            .with_context(|| format!("hybrid fan-out of post {post}"))?;
        let took = started.elapsed();
        ensure!(
            feeds.page(FeedKey::user(author), None, 1).await? == vec![FeedEntry::original(post)],
            "the author's own feed lacks post {post} after the hybrid fan-out"
        );
        eprintln!("   hybrid fan-out {round}: {took:.1?}");
        hybrid.push(took);
    }

    // The graph part alone: the same walk as `FanoutConsumer`, without Redis.
    let mut reads = Vec::new();
    for round in 1..=args.posts {
        let started = Instant::now();
        let reached = walk_followers(db.as_ref(), author).await?;
        let took = started.elapsed();
        ensure!(
            reached == followers,
            "follower_ids walked {reached} followers"
        );
        eprintln!("   follower reads {round}: {took:.1?}");
        reads.push(took);
    }

    // The Redis part alone: fan-out minus the graph reads.
    let keys: Vec<FeedKey> = ids.iter().copied().map(FeedKey::home).collect();
    let mut redis_add = Vec::new();
    for round in 1..=args.posts {
        let post = PostId::new();
        let started = Instant::now();
        for chunk in keys.chunks(CHUNK) {
            feeds.add(chunk, &[FeedEntry::original(post)]).await?;
        }
        let took = started.elapsed();
        verify(&feeds, admin, &ids, post, args.sample).await?;
        eprintln!("   Redis add {round}: {took:.1?}");
        redis_add.push(took);
    }

    Ok(Run {
        followers,
        setup,
        setup_time,
        fanout,
        reads,
        redis_add,
        hybrid,
    })
}

/// A user through `UserStore::create_user`, as registration stores it.
async fn create_user(db: &Sqlite, name: &str) -> anyhow::Result<UserId> {
    let username = Username::parse(name).with_context(|| format!("username {name:?}"))?;
    let new = NewUser {
        id: UserId::new(),
        email: Email::parse(&format!("{name}@bench.example")).context("e-mail")?,
        display_name: DisplayName::from_username(&username),
        username,
        password_hash: "not-a-hash".to_owned(),
        created_at: Timestamp::now(),
    };
    let event = Event::new(EventPayload::UserRegistered {
        user_id: new.id,
        username: new.username.to_string(),
        email: new.email.as_str().to_owned(),
        display_name: new.display_name.as_str().to_owned(),
    });
    db.create_user(&new, &event)
        .await
        .with_context(|| format!("create user {name}"))?;
    Ok(new.id)
}

/// `count` followers of `author`, each created and made to follow through the ports, by
/// `tasks` concurrent tasks.
async fn port_followers(
    db: &Arc<Sqlite>,
    author: UserId,
    count: usize,
    tasks: usize,
) -> anyhow::Result<Vec<UserId>> {
    let mut set = tokio::task::JoinSet::new();
    for task in 0..tasks {
        let db = db.clone();
        set.spawn(async move {
            let mut ids = Vec::new();
            for n in (task..count).step_by(tasks) {
                let id = create_user(&db, &format!("f{n:06}")).await?;
                ensure!(
                    db.follow(id, author, Timestamp::now()).await?,
                    "follow edge f{n:06} existed already"
                );
                ids.push(id);
            }
            anyhow::Ok(ids)
        });
    }
    let mut all = Vec::with_capacity(count);
    while let Some(ids) = set.join_next().await {
        all.extend(ids.context("setup task")??);
    }
    Ok(all)
}

/// `count` followers of `author` written in one transaction, a statement per 10,000 ids: the
/// rows `create_user` and `follow` write, minus the outbox. Coupled to the SQLite schema
/// (`migrations/sqlite`); only for counts where the ports take too long.
async fn bulk_followers(path: &Path, author: UserId, count: usize) -> anyhow::Result<Vec<UserId>> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5));
    let mut conn = SqliteConnection::connect_with(&options).await?;
    let ids: Vec<UserId> = (0..count).map(|_| UserId::new()).collect();
    let now = Timestamp::now().millis();
    let mut tx = conn.begin().await?;
    for (chunk_no, chunk) in ids.chunks(BULK_CHUNK).enumerate() {
        let json = serde_json::to_string(&chunk)?;
        let offset = i64::try_from(chunk_no * BULK_CHUNK)?;
        // `key` is the index in the JSON array: usernames f000000, f000001, ... as the ports
        // path names them.
        sqlx::query(
            "INSERT INTO users
                 (id, username, username_key, email, display_name, password_hash, created_at)
             SELECT value, name, name, name || '@bench.example', name, 'not-a-hash', ?3
             FROM (SELECT value, printf('f%06d', ?2 + key) AS name FROM json_each(?1))",
        )
        .bind(&json)
        .bind(offset)
        .bind(now)
        .execute(&mut *tx)
        .await
        .context("bulk insert users")?;
        sqlx::query("INSERT INTO graph_nodes (user_id) SELECT value FROM json_each(?1)")
            .bind(&json)
            .execute(&mut *tx)
            .await
            .context("bulk insert graph nodes")?;
        sqlx::query(
            "INSERT INTO follows (follower_id, followee_id, since)
             SELECT value, ?2, ?3 FROM json_each(?1)",
        )
        .bind(&json)
        .bind(author.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await
        .context("bulk insert follows")?;
    }
    sqlx::query("INSERT OR IGNORE INTO graph_nodes (user_id) VALUES (?1)")
        .bind(author.to_string())
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO follower_counts (user_id, followers) VALUES (?1, ?2)
         ON CONFLICT (user_id) DO UPDATE SET followers = followers + ?2",
    )
    .bind(author.to_string())
    .bind(i64::try_from(count)?)
    .execute(&mut *tx)
    .await?;
    tx.commit().await.context("commit bulk followers")?;
    conn.close().await?;
    Ok(ids)
}

async fn sqlite_version_of(path: &Path) -> anyhow::Result<String> {
    let mut conn =
        SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(path)).await?;
    let version: String = sqlx::query_scalar("SELECT sqlite_version()")
        .fetch_one(&mut conn)
        .await?;
    conn.close().await?;
    Ok(version)
}

/// A post through `PostStore::create_post`, and its `post.created` event.
async fn create_post(db: &Sqlite, author: UserId, round: usize) -> anyhow::Result<(PostId, Event)> {
    let new = NewPost {
        id: PostId::new(),
        author_id: author,
        content: PostContent::parse(&format!("fan-out benchmark post {round}"))?,
        created_at: Timestamp::now(),
        in_reply_to: None,
        mentions: Vec::new(),
        tags: Vec::new(),
        idempotency: None,
    };
    let event = Event::new(EventPayload::post_created(new.id, author));
    db.create_post(&new, &event).await?;
    Ok((new.id, event))
}

/// The follower walk of `FanoutConsumer`, graph reads only: how many followers it reached.
async fn walk_followers(graph: &dyn SocialGraph, author: UserId) -> anyhow::Result<usize> {
    let mut after = None;
    let mut reached = 0;
    loop {
        let chunk = graph.follower_ids(author, after, CHUNK).await?;
        reached += chunk.len();
        match chunk.last() {
            Some(last) if chunk.len() == CHUNK => after = Some(*last),
            _ => return Ok(reached),
        }
    }
}

/// Fails unless every follower's home feed holds `post` (`ZSCORE` on all of them) and a sample
/// of them, plus the first and last, hold it exactly once through `FeedCache::page`.
async fn verify(
    feeds: &RedisFeeds,
    admin: &mut MultiplexedConnection,
    followers: &[UserId],
    post: PostId,
    sample: usize,
) -> anyhow::Result<()> {
    let member = post.to_string();
    for chunk in followers.chunks(CHUNK) {
        let mut pipe = redis::pipe();
        for user in chunk {
            pipe.cmd("ZSCORE")
                .arg(RedisFeeds::feed_key(FeedKey::home(*user)))
                .arg(&member);
        }
        let scores: Vec<Option<f64>> = pipe.query_async(admin).await?;
        if let Some(missing) = scores.iter().position(Option::is_none) {
            let user = chunk.get(missing).copied().unwrap_or_default();
            bail!("post {post} is missing from the home feed of follower {user}");
        }
    }
    let mut picked: Vec<usize> = rand::seq::index::sample(
        &mut rand::rng(),
        followers.len(),
        sample.min(followers.len()),
    )
    .into_vec();
    picked.extend([0, followers.len().saturating_sub(1)]);
    for index in picked {
        let Some(user) = followers.get(index).copied() else {
            continue;
        };
        let page = feeds.page(FeedKey::home(user), None, CAP).await?;
        let times = page.iter().filter(|entry| entry.post == post).count();
        ensure!(
            times == 1,
            "the home feed of follower {user} holds post {post} {times} times, not once"
        );
    }
    Ok(())
}

async fn admin_connection(url: &str) -> anyhow::Result<MultiplexedConnection> {
    let client = redis::Client::open(url).context("invalid Redis URL")?;
    let config = AsyncConnectionConfig::new().set_response_timeout(Some(Duration::from_secs(60)));
    client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .context("Redis is not reachable: start it with scripts/services")
}

async fn flushdb(admin: &mut MultiplexedConnection) -> anyhow::Result<()> {
    redis::cmd("FLUSHDB")
        .exec_async(admin)
        .await
        .context("redis FLUSHDB")
}

async fn redis_version(admin: &mut MultiplexedConnection) -> anyhow::Result<String> {
    let info: String = redis::cmd("INFO").arg("server").query_async(admin).await?;
    Ok(info
        .lines()
        .find_map(|line| line.strip_prefix("redis_version:"))
        .unwrap_or("?")
        .trim()
        .to_owned())
}

fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}

fn best(times: &[Duration]) -> Duration {
    times.iter().min().copied().unwrap_or_default()
}

/// Milliseconds as a JSON number, to the microsecond.
fn ms_number(time: Duration) -> f64 {
    (time.as_secs_f64() * 1e6).round() / 1e3
}

/// Entries per second as a JSON number, to the entry.
fn rate_number(entries: usize, time: Duration) -> f64 {
    (entries as f64 / time.as_secs_f64().max(1e-9)).round()
}

fn ms(time: Duration) -> String {
    format!("{:.1} ms", time.as_secs_f64() * 1e3)
}

/// Entries per second, rounded, with thousands separators.
fn rate(entries: usize, time: Duration) -> String {
    rate_f(entries as f64, time)
}

fn rate_f(entries: f64, time: Duration) -> String {
    let per_sec = entries / time.as_secs_f64().max(1e-9);
    let digits = format!("{per_sec:.0}");
    let mut grouped = String::new();
    for (n, digit) in digits.chars().enumerate() {
        if n > 0 && (digits.len() - n) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned())
}

fn report(args: &Args, runs: &[Run], redis_version: &str, sqlite_version: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let _ = writeln!(
        out,
        "\nFan-out of one post (FanoutConsumer, feed.posts), {} timed posts per row after one \
         warm-up; median (best).\n",
        args.posts
    );
    let _ = writeln!(
        out,
        "| followers | fan-out wall time | feed entries/s | follower reads only | \
         Redis add only | Redis-only entries/s | Redis-only commands/s | setup |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|---|");
    for run in runs {
        let n = run.followers;
        let _ = writeln!(
            out,
            "| {n} | {} ({}) | {} ({}) | {} ({}) | {} ({}) | {} ({}) | {} | {}, {:.1} s |",
            ms(median(&run.fanout)),
            ms(best(&run.fanout)),
            rate(n, median(&run.fanout)),
            rate(n, best(&run.fanout)),
            ms(median(&run.reads)),
            ms(best(&run.reads)),
            ms(median(&run.redis_add)),
            ms(best(&run.redis_add)),
            rate(n, median(&run.redis_add)),
            rate(n, best(&run.redis_add)),
            rate_f(n as f64 * COMMANDS_PER_ENTRY, median(&run.redis_add)),
            run.setup,
            run.setup_time.as_secs_f64(),
        );
    }
    let _ = writeln!(
        out,
        "\nMachine: {cores} CPUs (available parallelism), {}; Redis {redis_version} \
         ({}); SQLite {sqlite_version} (WAL, tempdir). Feed cap {CAP}, chunks of {CHUNK}; \
         one feed entry = {COMMANDS_PER_ENTRY} Redis commands on average (ZADD, and \
         ZREMRANGEBYRANK with EXPIRE NX on one push in {TRIM_EVERY}); \
         commands/s is at the median.",
        cpu_model(),
        args.redis,
    );
    out
}

/// The results as one JSON object (`--json`): the same figures as the Markdown table.
fn json_report(
    args: &Args,
    runs: &[Run],
    redis_version: &str,
    sqlite_version: &str,
) -> serde_json::Value {
    let rows: Vec<serde_json::Value> = runs
        .iter()
        .map(|run| {
            let n = run.followers;
            serde_json::json!({
                "followers": n,
                "fanout_ms": ms_number(median(&run.fanout)),
                "fanout_best_ms": ms_number(best(&run.fanout)),
                "entries_per_sec": rate_number(n, median(&run.fanout)),
                "entries_per_sec_best": rate_number(n, best(&run.fanout)),
                "follower_reads_ms": ms_number(median(&run.reads)),
                "follower_reads_best_ms": ms_number(best(&run.reads)),
                "redis_add_ms": ms_number(median(&run.redis_add)),
                "redis_add_best_ms": ms_number(best(&run.redis_add)),
                "redis_add_entries_per_sec": rate_number(n, median(&run.redis_add)),
                "redis_add_entries_per_sec_best": rate_number(n, best(&run.redis_add)),
                "hybrid_ms": ms_number(median(&run.hybrid)),
                "hybrid_threshold": FeedSettings::default().celebrity_threshold,
                "setup": run.setup,
                "setup_s": (run.setup_time.as_secs_f64() * 10.0).round() / 10.0,
            })
        })
        .collect();
    serde_json::json!({
        "bench": "fanout",
        "posts": args.posts,
        "sample": args.sample,
        "cap": CAP,
        "chunk": CHUNK,
        "commands_per_entry": COMMANDS_PER_ENTRY,
        "redis_url": args.redis,
        "redis_version": redis_version,
        "sqlite_version": sqlite_version,
        "cpus": std::thread::available_parallelism().map_or(0, usize::from),
        "cpu_model": cpu_model(),
        "rows": rows,
    })
}
