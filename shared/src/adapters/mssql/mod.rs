//! The production source of truth on SQL Server (through tiberius): users, posts, likes,
//! notifications, sessions, the outbox and the processed-event record. [`Mssql`] implements
//! [`UserStore`](crate::ports::UserStore), [`PostStore`](crate::ports::PostStore),
//! [`NotificationStore`](crate::ports::NotificationStore), [`Outbox`](crate::ports::Outbox),
//! [`ProcessedEvents`](crate::ports::ProcessedEvents) and
//! [`SessionStore`](crate::ports::SessionStore), with the SQLite adapter's semantics; follows
//! live in the graph (Neo4j), not here.
//!
//! # `DATABASE_URL`
//!
//! Two forms, told apart by the `mssql://` prefix:
//!
//! - an ADO.NET connection string, parsed by tiberius (`Config::from_ado_string`):
//!   `server=tcp:HOST,1433;database=rookery;user=USER;password=PASSWORD;TrustServerCertificate=true`.
//!   Keys are case-insensitive; `encrypt` (`true` (the default), `false`, `strict`),
//!   `TrustServerCertificate`, `TrustServerCertificateCA=<path>`, `ApplicationName` and
//!   `server=tcp:HOST\INSTANCE` (a named instance, found through the SQL Browser) work too. A
//!   value holding `;`, or starting with a quote or a brace, is quoted (`password='p;w'` or
//!   `password={p;w}`); values are never percent-decoded and must be ASCII (use the URL form
//!   for other passwords).
//! - a URL: `mssql://USER:PASSWORD@HOST:1433/DATABASE?trust_server_certificate=true`. User and
//!   password are percent-decoded (write `@ : / ? # % [ ]` and spaces as `%40 %3A %2F %3F %23
//!   %25 %5B %5D %20`; any UTF-8 is fine). The port defaults to 1433; without a database the
//!   login's default database is used. Parameters: `encrypt=true|false|strict` (default true),
//!   `trust_server_certificate=true|false` (default false), `trust_server_certificate_ca=<path
//!   to a PEM or DER file>`, `application_name=<name>`.
//!
//! Encryption is on by default in both forms, with the server's certificate checked against the
//! system's roots: `TrustServerCertificate` / `trust_server_certificate` (accept any
//! certificate) is for a local or CI server with a self-signed one. A bad value is reported
//! without repeating the string, and the password is never logged.
//!
//! # Schema and migrations
//!
//! The database must exist; [`Mssql::connect`] applies the versioned migrations of
//! `shared/migrations/mssql/` (see `migrate.rs` and `0001_initial.sql` for the decisions: ids as
//! `BINARY(16)`, time-ordered; lower-case keys under a binary collation for case-insensitive
//! uniqueness). It needs compatibility level 130 (SQL Server 2016) or more, for `OPENJSON`.
//! Recommended: `ALTER DATABASE ... SET READ_COMMITTED_SNAPSHOT ON` (Azure SQL's default), so
//! that readers never wait for writers.
//!
//! # The pool
//!
//! bb8, with a small connection manager below. The ready-made managers (bb8-tiberius 0.16,
//! deadpool-tiberius 0.1) still depend on tiberius 0.12, which predates the rustls 0.23 stack,
//! the connection and command timeouts and the secret-redacting credentials of 0.13; bb8 itself
//! is maintained and small. Each connection is checked before use (`SELECT @@TRANCOUNT`), and
//! one left inside a transaction is dropped, which makes the server roll it back.

mod blocks;
mod database_url;
mod migrate;
mod notifications;
mod outbox;
mod posts;
mod sessions;
mod sql;
mod users;

use std::time::Duration;

use anyhow::{Context as _, anyhow};
use chrono::{DateTime, Utc};
use tiberius::{Client, Config, FromSql, Row, SqlBrowser as _};
use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt as _};
use uuid::Uuid;

use crate::domain::{Event, Timestamp};

pub use database_url::parse as parse_database_url;

/// One client connection to SQL Server.
type Connection = Client<Compat<TcpStream>>;

/// Connections per process. A Lambda instance serves one request at a time; the local server
/// more, but each query is short.
const POOL_SIZE: u32 = 8;

/// For the TCP connection, and for waiting on a pooled connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// For the migration connection's statements, which may wait on another instance's migrations
/// (up to `migrate::LOCK_TIMEOUT_MS`) or build indexes: tiberius' 30 s default is too short.
const MIGRATION_COMMAND_TIMEOUT: Duration = Duration::from_secs(600);

/// A pool of connections to one SQL Server database; implements the users/posts store, the
/// outbox and the processed-event record. Cheap to clone.
#[derive(Clone)]
pub struct Mssql {
    pool: bb8::Pool<Manager>,
    config: Config,
}

impl Mssql {
    /// Connects to the database of `database_url` (either form of the module docs) and applies
    /// the pending migrations.
    ///
    /// # Errors
    /// A malformed URL (without its text), an unreachable server, a failed login, a migration
    /// that fails or was changed after it was applied.
    pub async fn connect(database_url: &str) -> anyhow::Result<Self> {
        let config = parse_database_url(database_url).context("DATABASE_URL")?;
        Self::connect_config(config).await
    }

    /// [`Mssql::connect`] from an already built configuration (tests point it at a fresh
    /// database with `Config::database`).
    pub async fn connect_config(config: Config) -> anyhow::Result<Self> {
        let pool = bb8::Pool::builder()
            .max_size(POOL_SIZE)
            .connection_timeout(CONNECT_TIMEOUT)
            .error_sink(Box::new(LogConnectErrors))
            .build_unchecked(Manager {
                config: config.clone(),
            });
        let db = Self { pool, config };
        db.migrate().await?;
        Ok(db)
    }

    /// Applies the migrations this database lacks, one instance at a time (an application
    /// lock); a no-op when it is up to date. [`Mssql::connect`] already calls it.
    ///
    /// # Errors
    /// When the server cannot be reached, another instance holds the lock for two minutes, a
    /// migration fails (it is rolled back), or an applied migration's file changed since.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        // A connection of its own, outside the pool: the lock belongs to its session, and
        // closing it releases the lock and rolls back whatever a failure left open.
        let mut config = self.config.clone();
        config.command_timeout(Some(MIGRATION_COMMAND_TIMEOUT));
        let mut client = open(&config)
            .await
            .context("connect to SQL Server (DATABASE_URL)")?;
        let applied = migrate::run(&mut client).await;
        // Best effort: the server ends the session either way.
        let _ = client.close().await;
        applied.context("SQL Server migrations")
    }

    pub async fn ping(&self) -> anyhow::Result<()> {
        let mut conn = self.conn().await?;
        conn.simple_query(sql::PING).await?.into_results().await?;
        Ok(())
    }

    /// A pooled connection, checked.
    async fn conn(&self) -> anyhow::Result<bb8::PooledConnection<'_, Manager>> {
        self.pool.get().await.map_err(|err| match err {
            bb8::RunError::User(err) => anyhow::Error::new(err).context("connect to SQL Server"),
            bb8::RunError::TimedOut => anyhow!(
                "no SQL Server connection within {} s (the causes are logged)",
                CONNECT_TIMEOUT.as_secs()
            ),
        })
    }
}

/// Opens one connection: TCP (through the SQL Browser for a named instance), TLS, login;
/// follows the one redirect Azure SQL's gateway may answer with.
async fn open(config: &Config) -> tiberius::Result<Connection> {
    let connect = async {
        let tcp = TcpStream::connect_named(config).await?;
        tcp.set_nodelay(true)?;
        match Client::connect(config.clone(), tcp.compat_write()).await {
            Err(tiberius::error::Error::Routing { host, port }) => {
                let mut routed = config.clone();
                routed.host(host);
                routed.port(port);
                let tcp = TcpStream::connect_named(&routed).await?;
                tcp.set_nodelay(true)?;
                Client::connect(routed, tcp.compat_write()).await
            }
            other => other,
        }
    };
    // tiberius bounds the handshake (15 s); this bounds the TCP connection too.
    tokio::time::timeout(CONNECT_TIMEOUT + Duration::from_secs(15), connect)
        .await
        .map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "SQL Server did not answer in time",
            )
        })?
}

/// bb8's side of tiberius.
struct Manager {
    config: Config,
}

impl bb8::ManageConnection for Manager {
    type Connection = Connection;
    type Error = tiberius::error::Error;

    async fn connect(&self) -> Result<Connection, Self::Error> {
        open(&self.config).await
    }

    async fn is_valid(&self, conn: &mut Connection) -> Result<(), Self::Error> {
        let open = conn
            .simple_query(sql::OPEN_TRANSACTIONS)
            .await?
            .into_row()
            .await?
            .and_then(|row| row.get::<i32, _>("open_transactions"));
        match open {
            Some(0) => Ok(()),
            _ => Err(tiberius::error::Error::Conversion(
                "a pooled connection was left inside a transaction".into(),
            )),
        }
    }

    fn has_broken(&self, _conn: &mut Connection) -> bool {
        false
    }
}

/// Failed connection attempts of the pool, which bb8 otherwise drops (a caller only sees the
/// timeout). tiberius' errors carry the server's message, never the password.
#[derive(Debug, Clone, Copy)]
struct LogConnectErrors;

impl bb8::ErrorSink<tiberius::error::Error> for LogConnectErrors {
    fn sink(&self, error: tiberius::error::Error) {
        tracing::warn!(error = %error, "SQL Server connection failed");
    }

    fn boxed_clone(&self) -> Box<dyn bb8::ErrorSink<tiberius::error::Error>> {
        Box::new(*self)
    }
}

// ---- values in and out -----------------------------------------------------------------------

/// An id as stored: the UUID's 16 bytes in RFC order (`BINARY(16)`).
fn id_param(id: Uuid) -> Vec<u8> {
    id.as_bytes().to_vec()
}

/// Strictly above every UUIDv7: "from the newest" for keyset pages.
const ABOVE_EVERY_ID: [u8; 16] = [0xFF; 16];

/// Ids as one JSON array of 32-hex-digit strings, for `OPENJSON` and `CONVERT(BINARY(16), .., 2)`.
fn json_ids(ids: impl Iterator<Item = Uuid>) -> String {
    let ids: Vec<String> = ids.map(|id| id.simple().to_string()).collect();
    serde_json::Value::from(ids).to_string()
}

fn time_param(at: Timestamp) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(at.millis()).unwrap_or(DateTime::UNIX_EPOCH)
}

fn column<'a, T: FromSql<'a>>(row: &'a Row, name: &str) -> anyhow::Result<T> {
    row.try_get::<T, _>(name)
        .with_context(|| format!("read column {name}"))?
        .with_context(|| format!("column {name} is NULL"))
}

fn uuid_column(row: &Row, name: &str) -> anyhow::Result<Uuid> {
    let bytes: &[u8] = column(row, name)?;
    Uuid::from_slice(bytes).with_context(|| format!("corrupt id in database: column {name}"))
}

fn time_column(row: &Row, name: &str) -> anyhow::Result<Timestamp> {
    let at: DateTime<Utc> = column(row, name)?;
    Ok(Timestamp::from_millis(at.timestamp_millis()))
}

fn text_column(row: &Row, name: &str) -> anyhow::Result<String> {
    column::<&str>(row, name).map(str::to_owned)
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// An outbox row's parameters: `@P1`..`@P4` of every batch that writes one, and its trace
/// context (the trace of the request writing it, NULL outside one) as the batch's last one.
struct OutboxRow {
    id: Vec<u8>,
    kind: &'static str,
    payload: String,
    occurred_at: DateTime<Utc>,
    trace: Option<String>,
}

impl OutboxRow {
    fn new(event: &Event) -> anyhow::Result<Self> {
        let trace = event
            .trace
            .clone()
            .or_else(crate::telemetry::trace::current);
        Ok(Self {
            id: id_param(event.id.as_uuid()),
            kind: event.kind(),
            payload: event.to_json()?,
            occurred_at: time_param(event.occurred_at),
            trace: trace.map(|t| t.as_str().to_owned()),
        })
    }
}

#[cfg(test)]
mod tests;
