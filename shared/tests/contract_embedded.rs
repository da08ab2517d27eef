//! The port contracts, run against the embedded adapters: SQLite (users, posts, graph, outbox,
//! processed events), in-memory feeds and rate limits, the in-process bus and the folder mailer.

mod contracts;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, ensure};
use futures::FutureExt as _;
use rookery::adapters::folder_mailer::FolderMailer;
use rookery::adapters::in_process_bus::InProcessBus;
use rookery::adapters::memory_feed::MemoryFeeds;
use rookery::adapters::memory_limiter::MemoryLimiter;
use rookery::adapters::memory_slots::MemorySlots;
use rookery::adapters::sqlite::Sqlite;
use rookery::domain::EventId;
use rookery::ports::{Consumer, EventPublisher};
use tempfile::TempDir;

use contracts::bus::Delivery;
use contracts::outbox::RetryNow;

async fn sqlite() -> anyhow::Result<(TempDir, PathBuf, Arc<Sqlite>)> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("t.db");
    let db = Sqlite::open(&path).await?;
    Ok((dir, path, Arc::new(db)))
}

#[tokio::test]
async fn feed_cache_contract() -> anyhow::Result<()> {
    contracts::feed_cache::feed_cache(Arc::new(MemoryFeeds::new(6)), 6).await
}

#[tokio::test]
async fn rate_limiter_contract() -> anyhow::Result<()> {
    contracts::limits::rate_limiter(Arc::new(MemoryLimiter::new())).await
}

#[tokio::test]
async fn slot_cache_contract() -> anyhow::Result<()> {
    let (_dir, _path, db) = sqlite().await?;
    contracts::slot_cache::slot_cache(Arc::new(MemorySlots::new(1_000)), db.clone(), db).await
}

/// A full memory cache sweeps: what it held is gone, and no fill read before the sweep lands.
#[tokio::test]
async fn memory_slots_sweep_when_full() -> anyhow::Result<()> {
    use rookery::domain::PostId;
    use rookery::ports::{Fill, SlotCache, SlotKey};
    let slots = MemorySlots::new(4);
    let keys: Vec<SlotKey> = (0..4).map(|_| SlotKey::Counts(PostId::new())).collect();
    let read = slots.get(&keys).await?;
    let fill = |key: SlotKey, generation: u64| Fill {
        key,
        generation,
        value: b"1 2 3".to_vec(),
        ttl: Duration::from_secs(60),
    };
    for (key, slot) in keys.iter().zip(&read) {
        slots.fill(&[fill(*key, slot.generation)]).await?;
    }
    // The fifth slot's fill finds four held (none expired), so everything goes first.
    let late = SlotKey::Counts(PostId::new());
    let before = slots.get(&[late]).await?.remove(0).generation;
    slots.fill(&[fill(late, before)]).await?;
    let after = slots.get(&[keys[0], late]).await?;
    ensure!(
        after.iter().all(|slot| slot.value.is_none()),
        "a full cache kept or took values read before its sweep: {after:?}"
    );
    ensure!(
        after[1].generation > before,
        "the sweep did not move the floor: {} then {}",
        before,
        after[1].generation
    );
    Ok(())
}

/// The store suite through the slot cache's decorators: they must behave like the store.
#[tokio::test]
async fn cached_views_store_contract() -> anyhow::Result<()> {
    use rookery::adapters::cached_views::{CachedPosts, CachedUsers};
    let (_dir, _path, db) = sqlite().await?;
    let slots = Arc::new(MemorySlots::new(10_000));
    let users = Arc::new(CachedUsers::new(db.clone(), slots.clone()));
    let posts = Arc::new(CachedPosts::new(db.clone(), slots));
    contracts::store::user_and_post_store(users, posts, db).await
}

#[tokio::test]
async fn social_graph_contract() -> anyhow::Result<()> {
    let (_dir, _path, db) = sqlite().await?;
    contracts::graph::social_graph(db).await
}

#[tokio::test]
async fn user_and_post_store_contract() -> anyhow::Result<()> {
    let (_dir, _path, db) = sqlite().await?;
    contracts::store::user_and_post_store(db.clone(), db.clone(), db).await
}

#[tokio::test]
async fn accounts_contract() -> anyhow::Result<()> {
    let (_dir, _path, db) = sqlite().await?;
    contracts::accounts::accounts(&*db, &*db, &*db, &*db, &*db).await
}

#[tokio::test]
async fn idempotent_posts_contract() -> anyhow::Result<()> {
    let (_dir, _path, db) = sqlite().await?;
    contracts::idempotency::idempotent_posts(&*db, &*db).await
}

#[tokio::test]
async fn block_store_contract() -> anyhow::Result<()> {
    let (_dir, _path, db) = sqlite().await?;
    contracts::blocks::block_store(&*db, &*db, &*db, &*db).await
}

#[tokio::test]
async fn notification_store_contract() -> anyhow::Result<()> {
    let (_dir, _path, db) = sqlite().await?;
    contracts::notifications::notification_store(db.clone(), db.clone(), db).await
}

/// Test glue for SQLite: a second connection to the same file that ends a row's back-off.
async fn sqlite_retry_now(path: &Path) -> anyhow::Result<RetryNow> {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .busy_timeout(Duration::from_secs(5));
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .context("open a second connection to the test database")?;
    Ok(Arc::new(move |id: EventId| {
        let pool = pool.clone();
        async move {
            let done = sqlx::query("UPDATE outbox SET next_attempt_at = 0 WHERE id = ?1")
                .bind(id.to_string())
                .execute(&pool)
                .await?
                .rows_affected();
            ensure!(done == 1, "no outbox row {id}");
            Ok(())
        }
        .boxed()
    }))
}

#[tokio::test]
async fn outbox_contract() -> anyhow::Result<()> {
    let (_dir, path, db) = sqlite().await?;
    let retry_now = sqlite_retry_now(&path).await?;
    contracts::outbox::outbox(db.clone(), Some(retry_now)).await?;
    // Two events were given up on; the operator's view agrees.
    ensure!(
        db.given_up_count().await? == 2,
        "given_up_count() = {}, want 2",
        db.given_up_count().await?
    );
    Ok(())
}

#[tokio::test]
async fn outbox_contract_without_time_travel() -> anyhow::Result<()> {
    let (_dir, _path, db) = sqlite().await?;
    contracts::outbox::outbox(db, None).await
}

#[tokio::test]
async fn processed_events_contract() -> anyhow::Result<()> {
    let (_dir, _path, db) = sqlite().await?;
    contracts::outbox::processed_events(db).await
}

#[tokio::test]
async fn in_process_bus_contract() -> anyhow::Result<()> {
    let make = |consumers: Vec<Arc<dyn Consumer>>| async move {
        Ok(Arc::new(InProcessBus::new(consumers)) as Arc<dyn EventPublisher>)
    };
    contracts::bus::event_publisher(make, Delivery::Synchronous).await
}

/// Every .eml file in `folder`, as text.
async fn eml_files(folder: &Path) -> anyhow::Result<Vec<String>> {
    let mut messages = Vec::new();
    let mut entries = tokio::fs::read_dir(folder).await?;
    while let Some(entry) = entries.next_entry().await? {
        let path = entry.path();
        if path.extension().is_some_and(|ext| ext == "eml") {
            messages.push(tokio::fs::read_to_string(&path).await?);
        }
    }
    Ok(messages)
}

#[tokio::test]
async fn folder_mailer_contract() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let folder = dir.path().join("mail");
    let from = "Rookery <noreply@rookery.test>".parse()?;
    let mailer = Arc::new(FolderMailer::new(folder.clone(), from).await?);
    contracts::mailer::mailer(mailer, || eml_files(&folder)).await?;
    // Nothing but one .eml file per message lands in the folder.
    let mut entries = tokio::fs::read_dir(&folder).await?;
    let mut files = 0;
    while let Some(entry) = entries.next_entry().await? {
        let path = entry.path();
        ensure!(
            path.extension().is_some_and(|ext| ext == "eml"),
            "unexpected file in the mail folder: {}",
            path.display()
        );
        files += 1;
    }
    ensure!(files == 2, "{files} files in the mail folder, want 2");
    Ok(())
}
