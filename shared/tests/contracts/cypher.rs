//! Checks of the Cypher graph (`rookery::adapters::cypher`) beyond the port contract, run
//! against the real server (`contract_neo4j`):
//! - what lands in the graph: `(:User {id, followers, following})-[:FOLLOWS {since}]->(:User)`
//!   with string ids and integer times, and no working property left behind;
//! - parameters reach the server as values, whatever they hold;
//! - the counters stay exact under concurrent follows and unfollows of one pair (the server's
//!   locking, which the queries rely on, not the adapter's);
//! - fan-out walks a wide follower list in chunks, every follower exactly once.

use std::collections::BTreeSet;

use anyhow::{bail, ensure};
use futures::StreamExt as _;
use futures::future::join_all;
use rookery::adapters::cypher::{Access, CypherExecutor, CypherGraph, Param, Query, Value};
use rookery::domain::{Relation, RelationCursor, Timestamp, UserId};
use rookery::ports::{FollowCounts, SocialGraph};

use super::check_eq;

const MODEL: Query = Query {
    name: "test_model",
    text: "MATCH (a:User {id: $follower})-[r:FOLLOWS]->(b:User {id: $followee}) \
           RETURN a.id AS a, b.id AS b, r.since AS since, r.created AS marker, \
           a.following AS following, b.followers AS followers",
    access: Access::Read,
    columns: &["a", "b", "since", "marker", "following", "followers"],
};

const ECHO: Query = Query {
    name: "test_echo",
    text: "RETURN $text AS text, $number AS number",
    access: Access::Read,
    columns: &["text", "number"],
};

fn id(user: UserId) -> Param {
    Param::Str(user.to_string())
}

/// Stored types and names, as other tools reading the graph will see them.
pub async fn stored_model<E: CypherExecutor>(graph: &CypherGraph<E>) -> anyhow::Result<()> {
    let (a, b) = (UserId::new(), UserId::new());
    let since = Timestamp::from_millis(1_700_000_000_042);
    ensure!(graph.follow(a, b, since).await?, "new edge");
    ensure!(
        !graph.follow(a, b, Timestamp::now()).await?,
        "repeat follow"
    );
    let rows = graph
        .executor()
        .run(&MODEL, &[("follower", id(a)), ("followee", id(b))])
        .await?;
    check_eq(
        rows,
        vec![vec![
            Value::Str(a.to_string()),
            Value::Str(b.to_string()),
            Value::Int(since.millis()),
            Value::Null,
            Value::Int(1),
            Value::Int(1),
        ]],
        "the stored edge (ids as strings, since in ms, no marker left, counters)",
    )
}

/// Strings that would end, escape or extend a literal if they were spliced into the text.
pub async fn parameters_round_trip<E: CypherExecutor>(
    graph: &CypherGraph<E>,
) -> anyhow::Result<()> {
    let hostile = [
        "",
        "plain",
        "it's",
        "\"double\"",
        "back\\slash",
        "trailing\\",
        "\\'",
        "\\\\'",
        "' RETURN 1 AS text, 2 AS number //",
        "$number",
        "}) MATCH (n) DETACH DELETE n //",
        "line\nbreak\r\ttab",
        "\\n is not a newline",
        "\\u0041 is not an A",
        "unicode: é ß 雪 ☃ 🦀",
        "CYPHER number=1",
    ];
    for text in hostile {
        for number in [0, -1, i64::MAX, i64::MIN] {
            let rows = graph
                .executor()
                .run(
                    &ECHO,
                    &[
                        ("text", Param::Str(text.to_owned())),
                        ("number", Param::Int(number)),
                    ],
                )
                .await?;
            check_eq(
                rows,
                vec![vec![Value::Str(text.to_owned()), Value::Int(number)]],
                &format!("echo of {text:?}, {number}"),
            )?;
        }
    }
    Ok(())
}

fn counts(followers: u64, following: u64) -> FollowCounts {
    FollowCounts {
        followers,
        following,
    }
}

fn trues(results: Vec<anyhow::Result<bool>>) -> anyhow::Result<usize> {
    let mut n = 0;
    for result in results {
        if result? {
            n += 1;
        }
    }
    Ok(n)
}

/// Many callers at once on one pair: one edge, one `true`, counters that match the edges.
pub async fn concurrent_writes_keep_counters_exact(graph: &dyn SocialGraph) -> anyhow::Result<()> {
    let (a, b) = (UserId::new(), UserId::new());
    let t = |ms: i64| Timestamp::from_millis(1_700_000_000_000 + ms);

    let follows = join_all((0..16).map(|i| graph.follow(a, b, t(i)))).await;
    check_eq(
        trues(follows)?,
        1,
        "concurrent follows that created the edge",
    )?;
    check_eq(
        graph.counts(a).await?,
        counts(0, 1),
        "counts of the follower",
    )?;
    check_eq(
        graph.counts(b).await?,
        counts(1, 0),
        "counts of the followee",
    )?;
    check_eq(
        graph.followers(b, None, 100).await?.len(),
        1,
        "edges after concurrent follows",
    )?;

    let unfollows = join_all((0..16).map(|_| graph.unfollow(a, b))).await;
    check_eq(
        trues(unfollows)?,
        1,
        "concurrent unfollows that removed the edge",
    )?;
    check_eq(
        graph.counts(a).await?,
        counts(0, 0),
        "counts of the follower",
    )?;
    check_eq(
        graph.counts(b).await?,
        counts(0, 0),
        "counts of the followee",
    )?;

    // Churn: fans follow and unfollow a star, and follow each other, all at once.
    let star = UserId::new();
    let fans: Vec<UserId> = (0..8).map(|_| UserId::new()).collect();
    let fans = &fans;
    let churn = fans.iter().enumerate().map(|(i, fan)| async move {
        for round in 0..4_i64 {
            graph.follow(*fan, star, t(round)).await?;
            graph.follow(star, *fan, t(round)).await?;
            if (i as i64 + round) % 2 == 0 {
                graph.unfollow(*fan, star).await?;
            }
            let next = fans[(i + 1) % fans.len()];
            graph.follow(*fan, next, t(round)).await?;
            graph.unfollow(next, *fan).await?;
        }
        anyhow::Ok(())
    });
    for result in join_all(churn).await {
        result?;
    }
    for user in fans.iter().chain([&star]) {
        let followers = graph.follower_ids(*user, None, 10_000).await?.len() as u64;
        let following = graph.following_ids(*user).await?.len() as u64;
        check_eq(
            graph.counts(*user).await?,
            counts(followers, following),
            "counters against the edges after churn",
        )?;
    }
    Ok(())
}

/// A follower list wider than a chunk, walked the way fan-out and the listings walk it.
pub async fn wide_follower_lists_walk_in_chunks(
    graph: &dyn SocialGraph,
    width: usize,
) -> anyhow::Result<()> {
    let star = UserId::new();
    let fans: Vec<UserId> = (0..width).map(|_| UserId::new()).collect();
    let base = 1_700_000_000_000;
    // Eight at a time; since repeats every 100 fans, so ties are many.
    let created: Vec<anyhow::Result<bool>> = futures::stream::iter(fans.iter().enumerate())
        .map(|(i, fan)| graph.follow(*fan, star, Timestamp::from_millis(base + (i % 100) as i64)))
        .buffer_unordered(8)
        .collect()
        .await;
    check_eq(trues(created)?, width, "new edges")?;
    check_eq(
        graph.counts(star).await?,
        counts(width as u64, 0),
        "counts of the star",
    )?;

    let want: Vec<UserId> = fans
        .iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let chunk = width / 3 + 1;
    let mut walked = Vec::new();
    let mut after = None;
    loop {
        let ids = graph.follower_ids(star, after, chunk).await?;
        ensure!(ids.len() <= chunk, "a chunk of {} over {chunk}", ids.len());
        let Some(last) = ids.last().copied() else {
            break;
        };
        walked.extend(ids);
        after = Some(last);
        if walked.len() > width {
            bail!("follower_ids repeats ids");
        }
    }
    check_eq(walked, want, "followers walked in chunks")?;

    let mut listed: Vec<Relation> = Vec::new();
    let mut cursor = None;
    loop {
        let page = graph.followers(star, cursor, 100).await?;
        let Some(last) = page.last().copied() else {
            break;
        };
        listed.extend(page);
        cursor = Some(RelationCursor {
            since: last.since,
            user: last.user,
        });
        if listed.len() > width {
            bail!("followers pages repeat relations");
        }
    }
    check_eq(listed.len(), width, "followers listed page by page")?;
    ensure!(
        listed.windows(2).all(|pair| match pair {
            [l, r] => (l.since, l.user) > (r.since, r.user),
            _ => true,
        }),
        "followers pages out of order"
    );

    let reader = UserId::new();
    graph.follow(reader, star, Timestamp::now()).await?;
    check_eq(
        graph
            .followees_with_min_followers(reader, width as u64 + 1)
            .await?,
        vec![star],
        "a star at the threshold",
    )?;
    check_eq(
        graph
            .followees_with_min_followers(reader, width as u64 + 2)
            .await?,
        vec![],
        "a star under the threshold",
    )?;
    Ok(())
}
