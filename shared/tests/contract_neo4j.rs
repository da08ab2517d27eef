//! The `SocialGraph` contract against a real Neo4j (the Cypher graph adapter's Neo4j
//! executor), directly and behind the Redis follow-list cache, plus the Cypher graph's own
//! checks (`contracts::cypher`) and Neo4j's: the schema, and the plan of the popular-followee
//! query.
//!
//! Needs Neo4j: `TEST_NEO4J_URI`, `TEST_NEO4J_USER`, `TEST_NEO4J_PASSWORD`, by default
//! `bolt://127.0.0.1:7687` as `neo4j` with the password `scripts/neo4j` sets (`scripts/test`
//! starts it). The tests fail (never skip) when it is down. Community Neo4j has one user
//! database, so the tests share it: each mints fresh user ids, and leaves what it creates.

mod contracts;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, ensure};
use rookery::adapters::cypher::queries::FOLLOWEES_WITH_MIN_FOLLOWERS;
use rookery::adapters::cypher::{Access, CypherExecutor, Neo4jGraph, Query, Value};
use rookery::adapters::redis::{CachedGraph, connect_manager};
use rookery::domain::{Timestamp, UserId};
use rookery::ports::SocialGraph;
use serde_json::json;

use contracts::bolt::Bolt;
use contracts::check_eq;
use rookery_test_support::{host_port, service_url};

async fn neo4j() -> anyhow::Result<Neo4jGraph> {
    let uri = service_url("TEST_NEO4J_URI");
    Neo4jGraph::connect(
        &uri,
        &service_url("TEST_NEO4J_USER"),
        &service_url("TEST_NEO4J_PASSWORD"),
    )
    .await
    .with_context(|| {
        format!("Neo4j is not reachable at {uri} (TEST_NEO4J_URI): start it with `scripts/neo4j`")
    })
}

#[tokio::test]
async fn social_graph_contract() -> anyhow::Result<()> {
    let graph = neo4j().await?;
    contracts::graph::social_graph(Arc::new(graph)).await
}

#[tokio::test]
async fn cached_graph_contract() -> anyhow::Result<()> {
    let graph = Arc::new(neo4j().await?);
    let cache = connect_manager(&service_url("TEST_REDIS_URL")).await?;
    let cached = CachedGraph::new(graph, cache, Duration::from_secs(300));
    contracts::graph::social_graph(Arc::new(cached)).await
}

#[tokio::test]
async fn edges_are_stored_as_the_model_says() -> anyhow::Result<()> {
    let graph = neo4j().await?;
    contracts::cypher::stored_model(&graph).await
}

#[tokio::test]
async fn parameters_reach_the_server_as_values() -> anyhow::Result<()> {
    let graph = neo4j().await?;
    contracts::cypher::parameters_round_trip(&graph).await
}

#[tokio::test]
async fn concurrent_writes_keep_counters_exact() -> anyhow::Result<()> {
    let graph = neo4j().await?;
    contracts::cypher::concurrent_writes_keep_counters_exact(&graph).await
}

#[tokio::test]
async fn wide_follower_lists_walk_in_chunks() -> anyhow::Result<()> {
    let graph = neo4j().await?;
    contracts::cypher::wide_follower_lists_walk_in_chunks(&graph, 1_500).await
}

/// Every cold start runs the schema statement again: it must be a no-op the second time.
#[tokio::test]
async fn connecting_twice_keeps_the_schema() -> anyhow::Result<()> {
    let first = neo4j().await?;
    let second = neo4j().await?;
    first.ping().await?;
    second.ping().await
}

const INDEXES: Query = Query {
    name: "test_indexes",
    text: "SHOW INDEXES YIELD name, type, state, labelsOrTypes, properties \
           WHERE name STARTS WITH 'rookery_' \
           RETURN name, type, state, labelsOrTypes[0] + '.' + properties[0] AS target \
           ORDER BY name",
    access: Access::Read,
    columns: &["name", "type", "state", "target"],
};

fn texts(values: &[&str]) -> Vec<Value> {
    values.iter().map(|v| Value::Str((*v).to_owned())).collect()
}

/// Connecting creates the constraint's index on the id and the range index on the follower
/// counter, and they are online (usable by the planner) when it returns.
#[tokio::test]
async fn the_schema_is_in_place_and_online() -> anyhow::Result<()> {
    let graph = neo4j().await?;
    check_eq(
        graph.executor().run(&INDEXES, &[]).await?,
        vec![
            texts(&[
                "rookery_user_followers",
                "RANGE",
                "ONLINE",
                "User.followers",
            ]),
            texts(&["rookery_user_id", "RANGE", "ONLINE", "User.id"]),
        ],
        "indexes",
    )
}

/// Every operator of a plan, depth first: (type without its `@neo4j` suffix, details).
fn operators(plan: &serde_json::Value, out: &mut Vec<(String, String)>) {
    let kind = plan["operatorType"].as_str().unwrap_or_default();
    let kind = kind.split('@').next().unwrap_or(kind).to_owned();
    let details = plan["args"]["Details"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    out.push((kind, details));
    for child in plan["children"].as_array().into_iter().flatten() {
        operators(child, out);
    }
}

/// The popular-followee query runs on every home-feed read. Its plan on the real server must
/// start from the range index on the follower counter and check the reader's edge to each
/// popular user between two known nodes (`Expand(Into)`), never walk the reader's follows
/// (`Expand(All)`) or scan users. The reader here follows many users, so that walking them
/// is what a planner left alone might pick.
#[tokio::test]
async fn popular_followees_start_from_the_follower_index() -> anyhow::Result<()> {
    let graph = neo4j().await?;
    let reader = UserId::new();
    for _ in 0..200 {
        graph
            .follow(reader, UserId::new(), Timestamp::now())
            .await?;
    }
    let uri = service_url("TEST_NEO4J_URI");
    let mut bolt = Bolt::connect(
        host_port(&uri),
        &service_url("TEST_NEO4J_USER"),
        &service_url("TEST_NEO4J_PASSWORD"),
    )
    .await?;
    let plan = bolt
        .explain(
            FOLLOWEES_WITH_MIN_FOLLOWERS.text,
            json!({ "user": reader.to_string(), "min": 10_000 }),
        )
        .await?;
    let mut ops = Vec::new();
    operators(&plan, &mut ops);
    let has = |kind: &str, detail: &str| ops.iter().any(|(k, d)| k == kind && d.contains(detail));
    ensure!(
        has("NodeIndexSeekByRange", "User(followers)"),
        "no range seek on :User(followers): {ops:?}"
    );
    ensure!(
        has("Expand(Into)", "FOLLOWS"),
        "the edge is not checked between known nodes: {ops:?}"
    );
    for walk in [
        "Expand(All)",
        "VarLengthExpand(All)",
        "NodeByLabelScan",
        "AllNodesScan",
    ] {
        ensure!(
            !ops.iter().any(|(k, _)| k == walk),
            "the plan has {walk}: {ops:?}"
        );
    }
    Ok(())
}
