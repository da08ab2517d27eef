//! The embedded source of truth: one SQLite file holds users, posts, follow edges, the outbox
//! and the processed-event ids. WAL mode, so that readers never wait for the writer.

mod blocks;
mod graph;
mod notifications;
mod outbox;
mod posts;
mod sessions;
mod users;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite as Db, SqlitePool, Transaction};

use crate::domain::{Event, TraceContext};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// One pool over the SQLite file; implements the users/posts store, the social graph, the
/// outbox and the processed-event record.
#[derive(Clone)]
pub struct Sqlite {
    pool: SqlitePool,
}

impl Sqlite {
    /// Opens (creating if needed) the database file and applies pending migrations.
    pub async fn open(path: &Path) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let lock = lock_for_setup(path).await?;
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .with_context(|| format!("open SQLite database {}", path.display()));
        let ready = match pool {
            Ok(pool) => MIGRATOR
                .run(&pool)
                .await
                .context("apply SQLite migrations")
                .map(|()| pool),
            Err(e) => Err(e),
        };
        drop(lock); // closing the file releases the lock
        Ok(Self { pool: ready? })
    }

    pub async fn ping(&self) -> anyhow::Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

/// Holds a lock file beside the database while a process sets it up. Processes that share a
/// database file (the functions under `cargo lambda watch`) start together. Turning a new file
/// into WAL mode needs an exclusive lock that SQLite refuses at once, without its busy handler,
/// when it could deadlock; and sqlx's migrator takes no lock on SQLite, so two processes would
/// both apply the first migration. One process at a time opens and migrates; the later ones
/// find the file in WAL mode with its migrations applied.
async fn lock_for_setup(path: &Path) -> anyhow::Result<std::fs::File> {
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".migrate-lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("open {}", Path::new(&lock_path).display()))?;
    tokio::task::spawn_blocking(move || file.lock().map(|()| file))
        .await?
        .context("lock the database for its set-up")
}

/// Writes an event into the outbox inside the caller's transaction.
async fn insert_outbox(tx: &mut Transaction<'_, Db>, event: &Event) -> anyhow::Result<()> {
    // The event carries the trace of the request writing it (DESIGN 9, issue 16).
    let trace = event
        .trace
        .clone()
        .or_else(crate::telemetry::trace::current);
    sqlx::query(
        "INSERT INTO outbox (id, kind, payload, occurred_at, trace_context)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .bind(event.id.to_string())
    .bind(event.kind())
    .bind(event.to_json()?)
    .bind(event.occurred_at.millis())
    .bind(trace.as_ref().map(TraceContext::as_str))
    .execute(&mut **tx)
    .await
    .context("insert outbox row")?;
    Ok(())
}

fn parse<T: FromStr>(raw: &str) -> anyhow::Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    raw.parse::<T>()
        .with_context(|| format!("corrupt id in database: {raw:?}"))
}

/// Ids as one JSON array bound to one parameter (`json_each`), so that a list of any length
/// never hits SQLite's limit on parameters.
fn json_ids<T: ToString>(ids: &[T]) -> String {
    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
    serde_json::Value::from(ids).to_string()
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn processes_opening_a_new_database_together_all_start() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        // Eleven functions start at once on one fresh file under `cargo lambda watch`; a few
        // rounds, because a race shows itself only now and then.
        for round in 0..5 {
            let path = dir.path().join(format!("rookery-{round}.db"));
            let opens = (0..11).map(|_| Sqlite::open(&path));
            for opened in futures::future::join_all(opens).await {
                opened?.ping().await?;
            }
        }
        Ok(())
    }
}
