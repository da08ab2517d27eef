//! The store contracts against SQL Server: the same suites `contract_embedded` runs against
//! SQLite for its users/posts store, outbox and processed-event roles, plus the migrations'
//! own checks (concurrent start-ups, a changed migration refused).
//!
//! Needs `TEST_DATABASE_URL` (either form of `rookery::adapters::mssql`'s docs, for a login
//! that may create databases; a database in it is ignored). When it is set, every test must
//! pass and a server that cannot be reached fails them. When it is unset, no SQL Server is
//! expected (none can run on this project's development machines): the run says so on stderr
//! once and the tests pass without running; `.github/workflows/ci.yml` sets it, with an
//! `mssql/server:2022` service container.
//!
//! Each test works in a database of its own, created for it (`rookery_test_<what>_<random>`)
//! and dropped when it passes, so reruns and parallel tests never see each other's rows; a
//! failing test leaves its database behind to look at.

mod contracts;

use std::io::Write as _;
use std::sync::{Arc, Once};

use anyhow::{Context as _, ensure};
use futures::FutureExt as _;
use rookery::adapters::mssql::{Mssql, parse_database_url};
use rookery::domain::EventId;
use tiberius::{Client, Config};
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt as _};

use contracts::outbox::RetryNow;

const NOT_RUN: &str = "contract_mssql: not run: TEST_DATABASE_URL is unset (no SQL Server \
                       here); .github/workflows/ci.yml runs it against an mssql/server:2022 \
                       service container";

type Connection = Client<Compat<TcpStream>>;

/// Test-only statements (the adapter's own are constants in `adapters/mssql/sql.rs`). Database
/// names are identifiers, which T-SQL cannot bind: they go in as parameters and are quoted by
/// the server (`QUOTENAME`) inside dynamic SQL, never spliced here.
const CREATE_DATABASE: &str = "\
DECLARE @sql NVARCHAR(MAX) = N'CREATE DATABASE ' + QUOTENAME(@P1);
EXEC (@sql);";
const DROP_DATABASE: &str = "\
DECLARE @sql NVARCHAR(MAX) = N'ALTER DATABASE ' + QUOTENAME(@P1)
    + N' SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE ' + QUOTENAME(@P1);
EXEC (@sql);";
const RETRY_NOW: &str = "UPDATE outbox SET next_attempt_at = '1970-01-01' WHERE id = @P1";
const MIGRATIONS_APPLIED: &str = "SELECT COUNT_BIG(*) AS n FROM schema_migrations";
const SPOIL_CHECKSUM: &str = "UPDATE schema_migrations SET checksum = 0x00 WHERE version = 1";

fn database_url() -> Option<String> {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|value| !value.trim().is_empty())
}

async fn open(config: &Config) -> anyhow::Result<Connection> {
    let tcp = TcpStream::connect(config.get_addr())
        .await
        .context("SQL Server is not reachable (TEST_DATABASE_URL)")?;
    tcp.set_nodelay(true)?;
    Client::connect(config.clone(), tcp.compat_write())
        .await
        .context("log in to SQL Server (TEST_DATABASE_URL)")
}

/// A database of its own for one test.
struct TestDatabase {
    name: String,
    /// `TEST_DATABASE_URL`'s settings, pointed at the test database.
    config: Config,
    /// Connected to the server's default database, for creating and dropping.
    admin: Connection,
}

impl TestDatabase {
    /// A fresh, empty database, or `None` (said once on stderr) without `TEST_DATABASE_URL`.
    async fn create(what: &str) -> anyhow::Result<Option<Self>> {
        let Some(url) = database_url() else {
            // GitHub Actions runs these suites against service containers: there, a missing
            // setting is a broken workflow, never a reason not to run.
            ensure!(
                std::env::var_os("GITHUB_ACTIONS").is_none(),
                "TEST_DATABASE_URL is unset under GitHub Actions, where this suite must run"
            );
            static SAID: Once = Once::new();
            // Straight to the process's stderr: the test harness captures `eprintln!` of
            // passing tests, and this line must show in every run.
            SAID.call_once(|| {
                let _ = writeln!(std::io::stderr(), "{NOT_RUN}");
            });
            return Ok(None);
        };
        let mut config = parse_database_url(&url).context("TEST_DATABASE_URL")?;
        let mut admin_config = config.clone();
        admin_config.database("master");
        let mut admin = open(&admin_config).await?;
        let name = format!("rookery_test_{what}_{}", contracts::unique_suffix());
        admin
            .execute(CREATE_DATABASE, &[&name.as_str()])
            .await
            .with_context(|| format!("create database {name}"))?;
        config.database(&name);
        Ok(Some(Self {
            name,
            config,
            admin,
        }))
    }

    async fn connect(&self) -> anyhow::Result<Mssql> {
        Mssql::connect_config(self.config.clone())
            .await
            .with_context(|| format!("Mssql::connect_config to {}", self.name))
    }

    /// A plain connection to the test database, for test glue.
    async fn client(&self) -> anyhow::Result<Connection> {
        open(&self.config).await
    }

    /// Drops the database; call it once the test passed and its pool is dropped.
    async fn drop_database(mut self) -> anyhow::Result<()> {
        self.admin
            .execute(DROP_DATABASE, &[&self.name.as_str()])
            .await
            .with_context(|| format!("drop database {}", self.name))?;
        Ok(())
    }
}

#[tokio::test]
async fn user_and_post_store_contract() -> anyhow::Result<()> {
    let Some(test) = TestDatabase::create("store").await? else {
        return Ok(());
    };
    let db = Arc::new(test.connect().await?);
    contracts::store::user_and_post_store(db.clone(), db.clone(), db.clone()).await?;
    drop(db);
    test.drop_database().await
}

#[tokio::test]
async fn notification_store_contract() -> anyhow::Result<()> {
    let Some(test) = TestDatabase::create("notifications").await? else {
        return Ok(());
    };
    let db = Arc::new(test.connect().await?);
    contracts::notifications::notification_store(db.clone(), db.clone(), db.clone()).await?;
    drop(db);
    test.drop_database().await
}

#[tokio::test]
async fn idempotent_posts_contract() -> anyhow::Result<()> {
    let Some(test) = TestDatabase::create("idempotency").await? else {
        return Ok(());
    };
    let db = Arc::new(test.connect().await?);
    contracts::idempotency::idempotent_posts(&*db, &*db).await?;
    drop(db);
    test.drop_database().await
}

#[tokio::test]
async fn block_store_contract() -> anyhow::Result<()> {
    let Some(test) = TestDatabase::create("blocks").await? else {
        return Ok(());
    };
    let db = Arc::new(test.connect().await?);
    contracts::blocks::block_store(&*db, &*db, &*db, &*db).await?;
    drop(db);
    test.drop_database().await
}

#[tokio::test]
async fn accounts_contract() -> anyhow::Result<()> {
    let Some(test) = TestDatabase::create("accounts").await? else {
        return Ok(());
    };
    let db = Arc::new(test.connect().await?);
    contracts::accounts::accounts(&*db, &*db, &*db, &*db, &*db).await?;
    drop(db);
    test.drop_database().await
}

/// Test glue for SQL Server: a second connection that ends a row's back-off.
async fn retry_now(test: &TestDatabase) -> anyhow::Result<RetryNow> {
    let client = Arc::new(Mutex::new(test.client().await?));
    Ok(Arc::new(move |id: EventId| {
        let client = client.clone();
        async move {
            let id = id.as_uuid().as_bytes().to_vec();
            let done = client
                .lock()
                .await
                .execute(RETRY_NOW, &[&id])
                .await?
                .total();
            ensure!(done == 1, "no outbox row {}", uuid::Uuid::from_slice(&id)?);
            Ok(())
        }
        .boxed()
    }))
}

#[tokio::test]
async fn outbox_contract() -> anyhow::Result<()> {
    let Some(test) = TestDatabase::create("outbox").await? else {
        return Ok(());
    };
    let db = Arc::new(test.connect().await?);
    let retry = retry_now(&test).await?;
    contracts::outbox::outbox(db.clone(), Some(retry.clone())).await?;
    // Two events were given up on; the operator's view agrees.
    let given_up = db.given_up_count().await?;
    ensure!(given_up == 2, "given_up_count() = {given_up}, want 2");
    drop((db, retry));
    test.drop_database().await
}

#[tokio::test]
async fn outbox_contract_without_time_travel() -> anyhow::Result<()> {
    let Some(test) = TestDatabase::create("outbox_plain").await? else {
        return Ok(());
    };
    let db = Arc::new(test.connect().await?);
    contracts::outbox::outbox(db.clone(), None).await?;
    drop(db);
    test.drop_database().await
}

#[tokio::test]
async fn processed_events_contract() -> anyhow::Result<()> {
    let Some(test) = TestDatabase::create("processed").await? else {
        return Ok(());
    };
    let db = Arc::new(test.connect().await?);
    contracts::outbox::processed_events(db.clone()).await?;
    drop(db);
    test.drop_database().await
}

/// Functions start together after a deploy: every one of them comes up on a fresh database
/// (the application lock lets one migrate while the others wait), each migration is recorded
/// once, and migrating again changes nothing.
#[tokio::test]
async fn instances_starting_together_all_start() -> anyhow::Result<()> {
    let Some(test) = TestDatabase::create("migrate").await? else {
        return Ok(());
    };
    let starts = (0..6).map(|_| test.connect());
    let mut instances = Vec::new();
    for started in futures::future::join_all(starts).await {
        let db = started?;
        db.ping().await?;
        instances.push(db);
    }
    let Some(first) = instances.first() else {
        anyhow::bail!("no instance started");
    };
    first.migrate().await?;
    let mut client = test.client().await?;
    let applied: i64 = client
        .simple_query(MIGRATIONS_APPLIED)
        .await?
        .into_row()
        .await?
        .and_then(|row| row.get("n"))
        .context("no count of schema_migrations")?;
    ensure!(
        applied == 1,
        "schema_migrations has {applied} rows, want 1 (one per migration)"
    );
    drop((instances, client));
    test.drop_database().await
}

/// A migration file changed after it was applied stops start-up with a message saying which.
#[tokio::test]
async fn a_changed_migration_is_refused() -> anyhow::Result<()> {
    let Some(test) = TestDatabase::create("checksum").await? else {
        return Ok(());
    };
    drop(test.connect().await?);
    let mut client = test.client().await?;
    client.execute(SPOIL_CHECKSUM, &[]).await?;
    let Err(err) = test.connect().await else {
        anyhow::bail!("started on a database whose migration 0001 has another checksum");
    };
    let message = format!("{err:#}");
    ensure!(
        message.contains("0001_initial was changed after it was applied"),
        "unexpected error: {message}"
    );
    drop(client);
    test.drop_database().await
}

/// A server that cannot be reached is an error, not a skip (when `TEST_DATABASE_URL` is set),
/// and the error does not repeat the password.
#[tokio::test]
async fn an_unreachable_server_fails_without_leaking_the_password() -> anyhow::Result<()> {
    // Runs without a server too: nothing listens on port 1 of loopback.
    let secret = "Never-Logged-9";
    let url = format!("mssql://sa:{secret}@127.0.0.1:1/rookery?trust_server_certificate=true");
    let Err(err) = Mssql::connect(&url).await else {
        anyhow::bail!("connected to 127.0.0.1:1");
    };
    let message = format!("{err:#}");
    ensure!(!message.contains(secret), "the password leaked: {message}");
    ensure!(
        message.contains("connect to SQL Server"),
        "unexpected error: {message}"
    );
    Ok(())
}
