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

use anyhow::Context as _;
use rookery::adapters::cypher::Neo4jGraph;
use rookery::adapters::redis_feed::connect_manager;
use rookery::adapters::redis_graph::CachedGraph;

use contracts::services::service_url;

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
