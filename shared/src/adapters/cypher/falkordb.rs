//! FalkorDB through the `redis` crate: `GRAPH.QUERY` / `GRAPH.RO_QUERY` with the `--compact`
//! reply.
//!
//! Why not the `falkordb` crate: its current release (0.11) needs Rust 1.95 where this
//! workspace promises 1.89, and its graph handle runs queries through `&mut self`, so a shared
//! adapter would serialise every query behind a mutex. The `redis` crate is already here for
//! the caches; its `ConnectionManager` multiplexes concurrent queries on one connection and
//! reconnects by itself, and the compact reply of the few value types the graph stores takes a
//! page to decode.
//!
//! Parameters: FalkorDB binds them from a `CYPHER name=value ...` header before the query
//! text, which its parser reads as literals, apart from the query (its plan cache keys on the
//! text after the header). [`header`] writes each value as a literal with every quote and
//! backslash escaped, so no value can end its literal; the contract tests round-trip hostile
//! strings through the real server.

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::queries::{FALKORDB_CONSTRAINT_ARGS, FALKORDB_CONSTRAINT_STATUS, FALKORDB_INDEX};
use super::{Access, CypherExecutor, CypherGraph, Param, Query, Row, Value};

/// The social graph on FalkorDB.
pub type FalkorGraph = CypherGraph<FalkorExecutor>;

/// The graph (the Redis key) that production uses.
pub const DEFAULT_GRAPH: &str = "rookery";

/// A graph query may walk a popular user's edges: far longer than a cache read may take.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long [`CypherExecutor::ensure_schema`] waits for the constraint to be built.
const CONSTRAINT_BUILD_TIMEOUT: Duration = Duration::from_secs(30);

pub struct FalkorExecutor {
    redis: ConnectionManager,
    graph: String,
}

impl CypherGraph<FalkorExecutor> {
    /// Connects to FalkorDB at `url` (`redis://[:password@]host:port[/db]`, `rediss://` for TLS)
    /// and makes sure graph `graph` has its schema. Every graph name is a separate graph:
    /// production uses [`DEFAULT_GRAPH`], the tests one per run.
    ///
    /// # Errors
    /// A malformed URL or graph name, an unreachable server, or one without the FalkorDB
    /// module. The URL, which may hold a password, is not repeated.
    pub async fn connect(url: &str, graph: &str) -> anyhow::Result<Self> {
        let exec = FalkorExecutor::connect(url, graph).await?;
        exec.ensure_schema().await?;
        Ok(Self::new(exec))
    }

    /// Deletes the whole graph, nodes, edges and schema (`GRAPH.DELETE`): for tests.
    ///
    /// # Errors
    /// FalkorDB is unreachable or the graph does not exist.
    pub async fn delete_graph(&self) -> anyhow::Result<()> {
        let exec = self.executor();
        redis::cmd("GRAPH.DELETE")
            .arg(&exec.graph)
            .exec_async(&mut exec.redis.clone())
            .await
            .with_context(|| format!("GRAPH.DELETE {}", exec.graph))
    }
}

impl FalkorExecutor {
    /// Connects to FalkorDB at `url` for graph `graph`, without touching the schema: see
    /// [`CypherExecutor::ensure_schema`], or [`FalkorGraph::connect`] for both.
    ///
    /// # Errors
    /// A malformed URL or graph name, or an unreachable server. The URL, which may hold a
    /// password, is not repeated.
    pub async fn connect(url: &str, graph: &str) -> anyhow::Result<Self> {
        ensure!(
            !graph.is_empty() && !graph.contains(char::is_whitespace),
            "FalkorDB graph name must be non-empty without spaces, got {graph:?}"
        );
        let client = redis::Client::open(url).context("invalid FalkorDB URL")?;
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(2)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500))
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(RESPONSE_TIMEOUT));
        let redis = ConnectionManager::new_with_config(client, config)
            .await
            .context("connect to FalkorDB")?;
        Ok(Self {
            redis,
            graph: graph.to_owned(),
        })
    }

    pub fn graph_name(&self) -> &str {
        &self.graph
    }

    async fn constraint_status(&self) -> anyhow::Result<Option<String>> {
        let rows = self.run(&FALKORDB_CONSTRAINT_STATUS, &[]).await?;
        match rows.as_slice() {
            [] => Ok(None),
            [row] => match row.as_slice() {
                [Value::Str(status)] => Ok(Some(status.clone())),
                _ => bail!("constraint status: unexpected row {row:?}"),
            },
            _ => bail!("constraint status: {} rows for one constraint", rows.len()),
        }
    }

    /// Runs a schema step that a concurrent starter may have done first: an error saying so
    /// is success.
    async fn idempotent(&self, what: &str, cmd: &redis::Cmd, done: &str) -> anyhow::Result<()> {
        match cmd.exec_async(&mut self.redis.clone()).await {
            Ok(()) => Ok(()),
            Err(err) if err.to_string().contains(done) => Ok(()),
            Err(err) => Err(err).with_context(|| format!("{what} on graph {}", self.graph)),
        }
    }
}

#[async_trait]
impl CypherExecutor for FalkorExecutor {
    async fn run(
        &self,
        query: &Query,
        params: &[(&'static str, Param)],
    ) -> anyhow::Result<Vec<Row>> {
        let mut text = header(params)?;
        text.push_str(query.text);
        let command = match query.access {
            Access::Read => "GRAPH.RO_QUERY",
            Access::Write => "GRAPH.QUERY",
        };
        let reply: redis::RedisResult<redis::Value> = redis::cmd(command)
            .arg(&self.graph)
            .arg(text)
            .arg("--compact")
            .query_async(&mut self.redis.clone())
            .await;
        match reply {
            Ok(reply) => decode_reply(query, reply),
            // A read of a graph that was never written (or was deleted) is a read of an empty
            // graph; FalkorDB refuses it instead.
            Err(err) if query.access == Access::Read && is_empty_key(&err) => Ok(Vec::new()),
            Err(err) => Err(err.into()),
        }
    }

    async fn ensure_schema(&self) -> anyhow::Result<()> {
        if self.constraint_status().await?.as_deref() != Some("OPERATIONAL") {
            let mut index = redis::cmd("GRAPH.QUERY");
            index.arg(&self.graph).arg(FALKORDB_INDEX);
            self.idempotent("create the index on User.id", &index, "already indexed")
                .await?;
            let mut constraint = redis::cmd("GRAPH.CONSTRAINT");
            constraint
                .arg("CREATE")
                .arg(&self.graph)
                .arg(&FALKORDB_CONSTRAINT_ARGS);
            self.idempotent(
                "create the unique constraint on User.id",
                &constraint,
                "already exists",
            )
            .await?;
        }
        let deadline = tokio::time::Instant::now() + CONSTRAINT_BUILD_TIMEOUT;
        loop {
            match self.constraint_status().await?.as_deref() {
                Some("OPERATIONAL") => return Ok(()),
                Some("FAILED") => bail!(
                    "FalkorDB could not build the unique constraint on User.id in graph {}: \
                     it holds duplicate ids",
                    self.graph
                ),
                status => ensure!(
                    tokio::time::Instant::now() < deadline,
                    "the unique constraint on User.id in graph {} is still {status:?} after {:?}",
                    self.graph,
                    CONSTRAINT_BUILD_TIMEOUT
                ),
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn is_empty_key(err: &redis::RedisError) -> bool {
    err.to_string().contains("empty key")
}

/// `CYPHER name=literal ... ` (with a trailing space), or nothing without parameters.
fn header(params: &[(&'static str, Param)]) -> anyhow::Result<String> {
    let mut out = String::new();
    if params.is_empty() {
        return Ok(out);
    }
    out.push_str("CYPHER ");
    for (name, value) in params {
        let mut chars = name.chars();
        ensure!(
            chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "parameter name {name:?} is not an identifier"
        );
        out.push_str(name);
        out.push('=');
        match value {
            Param::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Param::Str(s) => string_literal(s, &mut out)?,
        }
        out.push(' ');
    }
    Ok(out)
}

/// A single-quoted Cypher string literal that reads back as exactly `s`.
fn string_literal(s: &str, out: &mut String) -> anyhow::Result<()> {
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            // FalkorDB reads the header as a C string: a NUL would end it.
            '\0' => bail!("a query parameter cannot hold a NUL character"),
            c => out.push(c),
        }
    }
    out.push('\'');
    Ok(())
}

// The compact reply: `[header, rows, statistics]`, or `[statistics]` for a statement that
// returns nothing. The header is `[[column type, name], ...]`, each row `[[value type, value],
// ...]`. Value types: 1 null, 2 string, 3 integer, 4 boolean (as the string "true" or
// "false"), 5 double; the graph stores no others (arrays, nodes, maps, ...).

const NULL: i64 = 1;
const STRING: i64 = 2;
const INTEGER: i64 = 3;
const BOOLEAN: i64 = 4;

fn decode_reply(query: &Query, reply: redis::Value) -> anyhow::Result<Vec<Row>> {
    let redis::Value::Array(mut parts) = reply else {
        bail!("FalkorDB: expected an array reply, got {reply:?}");
    };
    if let Some(err) = parts.iter().find_map(server_error) {
        bail!("FalkorDB: {err}");
    }
    match parts.len() {
        1 if query.columns.is_empty() => Ok(Vec::new()),
        3 => {
            parts.truncate(2);
            let rows = parts.pop().unwrap_or(redis::Value::Nil);
            let header = parts.pop().unwrap_or(redis::Value::Nil);
            check_header(query, header)?;
            let redis::Value::Array(rows) = rows else {
                bail!("FalkorDB: expected the rows as an array, got {rows:?}");
            };
            rows.into_iter()
                .map(|row| decode_row(query.columns.len(), row))
                .collect()
        }
        n => bail!(
            "FalkorDB: a reply of {n} parts for a query returning {:?}",
            query.columns
        ),
    }
}

fn server_error(value: &redis::Value) -> Option<String> {
    match value {
        redis::Value::ServerError(err) => Some(err.to_string()),
        _ => None,
    }
}

/// The columns must be the ones the query declares: a mismatch means the text and its
/// declaration drifted apart.
fn check_header(query: &Query, header: redis::Value) -> anyhow::Result<()> {
    let redis::Value::Array(columns) = header else {
        bail!("FalkorDB: expected a header array, got {header:?}");
    };
    let names = columns
        .into_iter()
        .map(|column| match column {
            redis::Value::Array(pair) => match pair.as_slice() {
                [_, name] => text(name),
                _ => bail!("FalkorDB: header entry {pair:?}"),
            },
            other => text(&other),
        })
        .collect::<anyhow::Result<Vec<String>>>()?;
    ensure!(
        names == query.columns,
        "FalkorDB: {} returned columns {names:?}, declared {:?}",
        query.name,
        query.columns
    );
    Ok(())
}

fn decode_row(width: usize, row: redis::Value) -> anyhow::Result<Row> {
    let redis::Value::Array(cells) = row else {
        bail!("FalkorDB: expected a row array, got {row:?}");
    };
    ensure!(
        cells.len() == width,
        "FalkorDB: a row of {} values, want {width}",
        cells.len()
    );
    cells.iter().map(decode_value).collect()
}

fn decode_value(cell: &redis::Value) -> anyhow::Result<Value> {
    let redis::Value::Array(pair) = cell else {
        bail!("FalkorDB: expected [type, value], got {cell:?}");
    };
    let [redis::Value::Int(kind), value] = pair.as_slice() else {
        bail!("FalkorDB: expected [type, value], got {pair:?}");
    };
    match (*kind, value) {
        (NULL, _) => Ok(Value::Null),
        (STRING, value) => Ok(Value::Str(text(value)?)),
        (INTEGER, redis::Value::Int(n)) => Ok(Value::Int(*n)),
        (BOOLEAN, redis::Value::Boolean(b)) => Ok(Value::Bool(*b)),
        (BOOLEAN, value) => match text(value)?.as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            other => bail!("FalkorDB: boolean {other:?}"),
        },
        (kind, value) => bail!("FalkorDB: unexpected value of type {kind}: {value:?}"),
    }
}

fn text(value: &redis::Value) -> anyhow::Result<String> {
    match value {
        redis::Value::BulkString(bytes) => {
            String::from_utf8(bytes.clone()).context("FalkorDB: a string that is not UTF-8")
        }
        redis::Value::SimpleString(s) => Ok(s.clone()),
        redis::Value::VerbatimString { text, .. } => Ok(text.clone()),
        other => bail!("FalkorDB: expected a string, got {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use redis::Value as R;

    use super::*;

    fn bulk(s: &str) -> R {
        R::BulkString(s.as_bytes().to_vec())
    }

    fn cell(kind: i64, value: R) -> R {
        R::Array(vec![R::Int(kind), value])
    }

    fn header_of(names: &[&str]) -> R {
        R::Array(
            names
                .iter()
                .map(|name| R::Array(vec![R::Int(1), bulk(name)]))
                .collect(),
        )
    }

    fn stats() -> R {
        R::Array(vec![bulk("Cached execution: 0")])
    }

    const TWO: Query = Query {
        name: "two",
        text: "",
        access: Access::Read,
        columns: &["id", "since"],
    };

    const NOTHING: Query = Query {
        name: "nothing",
        text: "",
        access: Access::Write,
        columns: &[],
    };

    #[test]
    fn the_header_quotes_strings_and_writes_integers() -> anyhow::Result<()> {
        let params = [
            (
                "user",
                Param::Str("0190a8e2-7b1c-7000-8000-000000000001".to_owned()),
            ),
            ("since", Param::Int(-5)),
            ("max", Param::Int(i64::MAX)),
        ];
        assert_eq!(
            header(&params)?,
            "CYPHER user='0190a8e2-7b1c-7000-8000-000000000001' since=-5 \
             max=9223372036854775807 "
        );
        assert_eq!(header(&[])?, "");
        Ok(())
    }

    #[test]
    fn no_string_can_end_its_literal() -> anyhow::Result<()> {
        let mut out = String::new();
        string_literal("it's \\' }) MATCH (n) DETACH DELETE n //\n\t", &mut out)?;
        assert_eq!(out, r"'it\'s \\\' }) MATCH (n) DETACH DELETE n //\n\t'");
        // Every quote inside is escaped: an odd run of backslashes precedes it.
        let inner = out.get(1..out.len() - 1).unwrap_or_default();
        for (at, _) in inner.match_indices('\'') {
            let before = inner.get(..at).unwrap_or_default();
            let run = before.len() - before.trim_end_matches('\\').len();
            assert_eq!(run % 2, 1, "unescaped quote at {at} in {out}");
        }
        assert!(string_literal("a\0b", &mut String::new()).is_err());
        Ok(())
    }

    #[test]
    fn parameter_names_must_be_identifiers() {
        assert!(header(&[("ok_1", Param::Int(1))]).is_ok());
        assert!(header(&[("x=1 y", Param::Int(1))]).is_err());
        assert!(header(&[("1x", Param::Int(1))]).is_err());
        assert!(header(&[("", Param::Int(1))]).is_err());
    }

    #[test]
    fn rows_decode_by_value_type() -> anyhow::Result<()> {
        let reply = R::Array(vec![
            header_of(&["id", "since"]),
            R::Array(vec![
                R::Array(vec![cell(2, bulk("a")), cell(3, R::Int(7))]),
                R::Array(vec![cell(1, R::Nil), cell(4, bulk("true"))]),
                R::Array(vec![cell(4, bulk("false")), cell(4, R::Boolean(true))]),
            ]),
            stats(),
        ]);
        assert_eq!(
            decode_reply(&TWO, reply)?,
            vec![
                vec![Value::Str("a".to_owned()), Value::Int(7)],
                vec![Value::Null, Value::Bool(true)],
                vec![Value::Bool(false), Value::Bool(true)],
            ]
        );
        Ok(())
    }

    #[test]
    fn a_statement_without_results_has_no_rows() -> anyhow::Result<()> {
        assert_eq!(
            decode_reply(&NOTHING, R::Array(vec![stats()]))?,
            Vec::<Row>::new()
        );
        // A query that declares columns must get a result set.
        assert!(decode_reply(&TWO, R::Array(vec![stats()])).is_err());
        Ok(())
    }

    #[test]
    fn unexpected_shapes_are_errors() {
        let rows = |row: Vec<R>| {
            R::Array(vec![
                header_of(&["id", "since"]),
                R::Array(vec![R::Array(row)]),
                stats(),
            ])
        };
        // Wrong header.
        let reply = R::Array(vec![header_of(&["id"]), R::Array(vec![]), stats()]);
        assert!(decode_reply(&TWO, reply).is_err());
        // A row of the wrong width.
        assert!(decode_reply(&TWO, rows(vec![cell(2, bulk("a"))])).is_err());
        // A double, a node (8), an integer sent as a string, a boolean that is neither.
        for bad in [
            cell(5, bulk("1.5")),
            cell(8, R::Array(vec![])),
            cell(3, bulk("7")),
            cell(4, bulk("yes")),
        ] {
            assert!(decode_reply(&TWO, rows(vec![cell(2, bulk("a")), bad])).is_err());
        }
        assert!(decode_reply(&TWO, R::Okay).is_err());
    }
}
