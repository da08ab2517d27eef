//! Neo4j through `neo4rs` (Bolt 4.4): the production graph.
//!
//! Every statement runs as its own auto-commit transaction. One that fails with a transient
//! error (a deadlock between two follows that lock the same two users in opposite order, a
//! leader election) was rolled back whole, so it is run again, with jittered back-off, for up
//! to [`RETRY_FOR`]. `neo4rs` retries such errors only when the server reports them in answer
//! to RUN; Neo4j runs a query lazily and reports a deadlock while the rows are pulled, which
//! is why the retry is here, around the whole statement. Connection failures are not
//! retried: a server that is down fails the call at once.

use std::time::Duration;

use anyhow::{Context as _, bail};
use async_trait::async_trait;
use neo4rs::{BoltType, ConfigBuilder, Graph, Neo4jErrorKind};
use rand::RngExt as _;

use super::queries::NEO4J_SCHEMA;
use super::{Access, CypherExecutor, CypherGraph, Param, Query, Row, Value};

/// The social graph on Neo4j.
pub type Neo4jGraph = CypherGraph<Neo4jExecutor>;

const CONNECTION_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a statement is retried after transient errors, and the back-off's bounds.
const RETRY_FOR: Duration = Duration::from_secs(30);
const FIRST_BACKOFF: Duration = Duration::from_millis(5);
const MAX_BACKOFF: Duration = Duration::from_millis(500);
/// How long a start-up waits for a new index to fill (the follower counters of every user).
const SCHEMA_WAIT_SECONDS: i64 = 300;

pub struct Neo4jExecutor {
    graph: Graph,
}

impl CypherGraph<Neo4jExecutor> {
    /// Connects to Neo4j at `uri` (`bolt://host:7687`, `bolt+s://` or `neo4j+s://` for TLS) as
    /// `user`, on the user's home database, and makes sure the uniqueness constraint on
    /// `(:User {id})` exists (which needs a user allowed to create constraints).
    ///
    /// # Errors
    /// A malformed URI, an unreachable server, refused credentials, or a user that may not
    /// create the constraint. Neither the password nor the URI is repeated.
    pub async fn connect(uri: &str, user: &str, password: &str) -> anyhow::Result<Self> {
        let exec = Neo4jExecutor::connect(uri, user, password).await?;
        exec.ensure_schema().await?;
        Ok(Self::new(exec))
    }
}

impl Neo4jExecutor {
    /// Prepares a connection pool for Neo4j at `uri` as `user`, without touching the schema
    /// (see [`CypherExecutor::ensure_schema`], or [`Neo4jGraph::connect`] for both). The
    /// first connection opens with the first query.
    ///
    /// # Errors
    /// A malformed URI or settings. Neither the password nor the URI is repeated.
    pub async fn connect(uri: &str, user: &str, password: &str) -> anyhow::Result<Self> {
        let config = ConfigBuilder::default()
            .uri(uri)
            .user(user)
            .password(password)
            .connection_timeout(CONNECTION_TIMEOUT)
            .build()
            .context("invalid Neo4j settings")?;
        let graph = Graph::connect(config).context("connect to Neo4j")?;
        Ok(Self { graph })
    }
}

#[async_trait]
impl CypherExecutor for Neo4jExecutor {
    async fn run(
        &self,
        query: &Query,
        params: &[(&'static str, Param)],
    ) -> anyhow::Result<Vec<Row>> {
        let started = tokio::time::Instant::now();
        let mut backoff = FIRST_BACKOFF;
        loop {
            match self.run_once(query, params).await {
                Err(Attempt::Transient(err)) if started.elapsed() < RETRY_FOR => {
                    tracing::debug!(query = query.name, error = %err, "transient Neo4j error, retrying");
                    // Full jitter: two deadlocked statements must not retry in lockstep.
                    let pause = rand::rng().random_range(Duration::ZERO..=backoff);
                    tokio::time::sleep(pause).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
                Err(Attempt::Transient(err) | Attempt::Failed(err)) => return Err(err),
                Ok(rows) => return Ok(rows),
            }
        }
    }

    async fn ensure_schema(&self) -> anyhow::Result<()> {
        for statement in NEO4J_SCHEMA {
            self.graph
                .run(neo4rs::query(statement))
                .await
                .with_context(|| format!("Neo4j schema: {statement}"))?;
        }
        // A new index fills in the background; until it is online the planner cannot start
        // from it. Waiting here costs nothing once it is (every later cold start).
        self.graph
            .run(
                neo4rs::query("CALL db.awaitIndexes($seconds)")
                    .param("seconds", SCHEMA_WAIT_SECONDS),
            )
            .await
            .context("Neo4j schema: wait for the indexes to come online")?;
        Ok(())
    }
}

/// How one run of a statement failed: worth running again, or not.
enum Attempt {
    Transient(anyhow::Error),
    Failed(anyhow::Error),
}

impl From<neo4rs::Error> for Attempt {
    fn from(err: neo4rs::Error) -> Self {
        match &err {
            neo4rs::Error::Neo4j(e) if e.kind() == Neo4jErrorKind::Transient => {
                Self::Transient(err.into())
            }
            _ => Self::Failed(err.into()),
        }
    }
}

impl Neo4jExecutor {
    async fn run_once(
        &self,
        query: &Query,
        params: &[(&'static str, Param)],
    ) -> Result<Vec<Row>, Attempt> {
        let statement = statement(query, params);
        let mut stream = match query.access {
            Access::Read => self.graph.execute_read(statement).await?,
            Access::Write => self.graph.execute(statement).await?,
        };
        let mut rows = Vec::new();
        // Reading the stream to its end is what commits the auto-commit transaction, and
        // where Neo4j reports most failures.
        while let Some(row) = stream.next().await? {
            rows.push(decode_row(query.columns, &row).map_err(Attempt::Failed)?);
        }
        Ok(rows)
    }
}

fn statement(query: &Query, params: &[(&'static str, Param)]) -> neo4rs::Query {
    params
        .iter()
        .fold(neo4rs::query(query.text), |statement, (name, value)| {
            statement.param(name, bolt(value))
        })
}

fn bolt(param: &Param) -> BoltType {
    match param {
        Param::Str(s) => BoltType::from(s.as_str()),
        Param::Int(n) => BoltType::from(*n),
    }
}

fn decode_row(columns: &[&str], row: &neo4rs::Row) -> anyhow::Result<Row> {
    columns
        .iter()
        .map(|column| {
            let value: BoltType = row
                .get(column)
                .with_context(|| format!("Neo4j: column {column} missing"))?;
            decode_value(value).with_context(|| format!("Neo4j: column {column}"))
        })
        .collect()
}

fn decode_value(value: BoltType) -> anyhow::Result<Value> {
    match value {
        BoltType::Null(_) => Ok(Value::Null),
        BoltType::Boolean(b) => Ok(Value::Bool(b.value)),
        BoltType::Integer(n) => Ok(Value::Int(n.value)),
        BoltType::String(s) => Ok(Value::Str(s.value)),
        other => bail!("a value of a type the graph never stores: {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use neo4rs::{BoltFloat, BoltInteger, BoltList, BoltNull, BoltString};

    use super::*;
    use crate::adapters::cypher::queries;
    use crate::domain::{RelationCursor, Timestamp, UserId};

    #[test]
    fn parameters_become_bolt_strings_and_integers() {
        assert_eq!(
            bolt(&Param::Str("it's".to_owned())),
            BoltType::String(BoltString::new("it's"))
        );
        assert_eq!(
            bolt(&Param::Int(i64::MIN)),
            BoltType::Integer(BoltInteger::new(i64::MIN))
        );
    }

    #[test]
    fn a_statement_carries_every_parameter_and_the_text_unchanged() {
        let user = UserId::new();
        let cursor = RelationCursor {
            since: Timestamp::from_millis(42),
            user,
        };
        let call = queries::followers(user, Some(cursor), 7);
        let statement = statement(call.query, &call.params);
        assert_eq!(statement.query(), queries::FOLLOWERS.text);
        for (name, _) in &call.params {
            assert!(statement.has_param_key(name), "{name} not bound");
        }
        assert_eq!(
            statement.get_params().get::<i64>("since").ok(),
            Some(42),
            "since"
        );
        assert_eq!(
            statement.get_params().get::<String>("id").ok(),
            Some(user.to_string()),
            "id"
        );
    }

    fn row(pairs: Vec<(&str, BoltType)>) -> neo4rs::Row {
        let (names, values): (Vec<_>, Vec<_>) = pairs.into_iter().unzip();
        let fields = BoltList::from(
            names
                .into_iter()
                .map(|name| BoltType::String(BoltString::new(name)))
                .collect::<Vec<_>>(),
        );
        neo4rs::Row::new(fields, BoltList::from(values))
    }

    #[test]
    fn rows_decode_by_column_name() -> anyhow::Result<()> {
        let got = row(vec![
            ("since", BoltType::Integer(BoltInteger::new(5))),
            ("id", BoltType::String(BoltString::new("x"))),
        ]);
        assert_eq!(
            decode_row(&["id", "since"], &got)?,
            vec![Value::Str("x".to_owned()), Value::Int(5)]
        );
        let got = row(vec![
            ("created", BoltType::from(true)),
            ("n", BoltType::Null(BoltNull)),
        ]);
        assert_eq!(
            decode_row(&["created", "n"], &got)?,
            vec![Value::Bool(true), Value::Null]
        );
        Ok(())
    }

    #[test]
    fn missing_columns_and_foreign_types_are_errors() {
        let got = row(vec![("id", BoltType::String(BoltString::new("x")))]);
        assert!(decode_row(&["id", "since"], &got).is_err());
        let got = row(vec![("since", BoltType::Float(BoltFloat::new(1.5)))]);
        assert!(decode_row(&["since"], &got).is_err());
    }
}
