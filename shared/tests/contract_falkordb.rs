//! The `SocialGraph` contract against FalkorDB (the Cypher graph adapter's FalkorDB executor),
//! directly and behind the Redis follow-list cache, plus the Cypher graph's own checks
//! (`contracts::cypher`) and FalkorDB's: the schema, reads of a graph that is not there, and a
//! server that is down.
//!
//! Needs FalkorDB: `TEST_FALKORDB_URL`, `redis://127.0.0.1:6390` by default (`scripts/falkordb`
//! starts it). The tests fail (never skip) when it is down. Each test works in a graph of its
//! own, `rookery_test_<random>`, and deletes it at the end.

mod contracts;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use rookery::adapters::cypher::{Access, CypherExecutor, FalkorGraph, Param, Query, Value};
use rookery::adapters::redis_feed::connect_manager;
use rookery::adapters::redis_graph::CachedGraph;
use rookery::domain::{Timestamp, UserId};
use rookery::ports::{FollowCounts, SocialGraph};

use contracts::{check_eq, unique_suffix};

fn falkordb_url() -> String {
    contracts::services::service_url("TEST_FALKORDB_URL")
}

/// A fresh graph on the test server.
async fn fresh() -> anyhow::Result<FalkorGraph> {
    named(&format!("rookery_test_{}", unique_suffix())).await
}

async fn named(name: &str) -> anyhow::Result<FalkorGraph> {
    let url = falkordb_url();
    FalkorGraph::connect(&url, name).await.with_context(|| {
        format!("FalkorDB is not reachable at {url} (TEST_FALKORDB_URL): start it with `scripts/falkordb`")
    })
}

/// Deletes the test's graph whatever the outcome, and reports the outcome first.
async fn finish(graph: &FalkorGraph, outcome: anyhow::Result<()>) -> anyhow::Result<()> {
    let deleted = graph.delete_graph().await;
    outcome?;
    deleted
}

#[tokio::test]
async fn social_graph_contract() -> anyhow::Result<()> {
    let graph = Arc::new(fresh().await?);
    let outcome = contracts::graph::social_graph(graph.clone()).await;
    finish(&graph, outcome).await
}

/// The follow-list cache over FalkorDB, with the FalkorDB server as the cache's Redis too: the
/// one-server setup FalkorDB makes possible.
#[tokio::test]
async fn cached_graph_contract() -> anyhow::Result<()> {
    let graph = Arc::new(fresh().await?);
    let cache = connect_manager(&falkordb_url()).await?;
    let cached = CachedGraph::new(graph.clone(), cache, Duration::from_secs(300));
    let outcome = contracts::graph::social_graph(Arc::new(cached)).await;
    finish(&graph, outcome).await
}

#[tokio::test]
async fn edges_are_stored_as_the_model_says() -> anyhow::Result<()> {
    let graph = fresh().await?;
    let outcome = contracts::cypher::stored_model(&graph).await;
    finish(&graph, outcome).await
}

#[tokio::test]
async fn parameters_reach_the_server_as_values() -> anyhow::Result<()> {
    let graph = fresh().await?;
    let outcome = contracts::cypher::parameters_round_trip(&graph).await;
    finish(&graph, outcome).await
}

#[tokio::test]
async fn concurrent_writes_keep_counters_exact() -> anyhow::Result<()> {
    let graph = fresh().await?;
    let outcome = contracts::cypher::concurrent_writes_keep_counters_exact(&graph).await;
    finish(&graph, outcome).await
}

#[tokio::test]
async fn wide_follower_lists_walk_in_chunks() -> anyhow::Result<()> {
    let graph = fresh().await?;
    let outcome = contracts::cypher::wide_follower_lists_walk_in_chunks(&graph, 1_500).await;
    finish(&graph, outcome).await
}

const CONSTRAINTS: Query = Query {
    name: "test_constraints",
    text: "CALL db.constraints() YIELD type, label, properties, entitytype, status \
           RETURN type, label, entitytype, status",
    access: Access::Read,
    columns: &["type", "label", "entitytype", "status"],
};

const CREATE_RAW: Query = Query {
    name: "test_create_raw",
    text: "CREATE (:User {id: $id})",
    access: Access::Write,
    columns: &[],
};

fn texts(values: &[&str]) -> Vec<Value> {
    values.iter().map(|v| Value::Str((*v).to_owned())).collect()
}

/// Connecting creates the index and the constraint once; connecting again (as every cold
/// start does) changes nothing; the constraint refuses a second node with the same id.
#[tokio::test]
async fn the_schema_is_made_once_and_enforced() -> anyhow::Result<()> {
    let graph = fresh().await?;
    let outcome = async {
        let name = graph.executor().graph_name().to_owned();
        let again = named(&name).await?;
        named(&name).await?;
        check_eq(
            again.executor().run(&CONSTRAINTS, &[]).await?,
            vec![texts(&["UNIQUE", "User", "NODE", "OPERATIONAL"])],
            "constraints",
        )?;
        let user = UserId::new();
        graph.add_user(user).await?;
        graph.add_user(user).await?;
        let duplicate = graph
            .executor()
            .run(&CREATE_RAW, &[("id", Param::Str(user.to_string()))])
            .await;
        let Err(err) = duplicate else {
            anyhow::bail!("a second node with one id was accepted");
        };
        ensure!(
            format!("{err:#}").contains("constraint violation on node of type User"),
            "unexpected error: {err:#}"
        );
        Ok(())
    }
    .await;
    finish(&graph, outcome).await
}

/// FalkorDB refuses reads of a graph key that does not exist (after `GRAPH.DELETE`, or a
/// flush): the adapter reads it as the empty graph it is, and the next write recreates it.
#[tokio::test]
async fn a_missing_graph_reads_as_empty() -> anyhow::Result<()> {
    let graph = fresh().await?;
    let (a, b) = (UserId::new(), UserId::new());
    graph.follow(a, b, Timestamp::now()).await?;
    graph.delete_graph().await?;
    let outcome = async {
        check_eq(graph.counts(b).await?, FollowCounts::default(), "counts")?;
        check_eq(graph.followers(b, None, 10).await?, vec![], "followers")?;
        check_eq(
            graph.follower_ids(b, None, 10).await?,
            vec![],
            "follower_ids",
        )?;
        ensure!(!graph.is_following(a, b).await?, "is_following");
        ensure!(
            graph.follow(a, b, Timestamp::now()).await?,
            "follow after the loss"
        );
        check_eq(graph.following_ids(a).await?, vec![b], "following_ids")?;
        graph.ping().await
    }
    .await;
    finish(&graph, outcome).await
}

#[tokio::test]
async fn a_server_that_is_down_fails_at_once() -> anyhow::Result<()> {
    let started = Instant::now();
    let down = FalkorGraph::connect("redis://127.0.0.1:1", "rookery").await;
    ensure!(down.is_err(), "connected to a port where nothing listens");
    ensure!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?} to fail",
        started.elapsed()
    );
    ensure!(
        FalkorGraph::connect(&falkordb_url(), "").await.is_err(),
        "an empty graph name was accepted"
    );
    Ok(())
}
