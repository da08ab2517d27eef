//! The `SocialGraph` contract: follow edges with the time they began, listings newest relation
//! first with keyset cursors, follower chunks in id order, and follower-count thresholds.

use std::sync::Arc;

use futures::FutureExt as _;

use anyhow::{bail, ensure};
use rookery::domain::{Relation, RelationCursor, Timestamp, UserId};
use rookery::ports::{FollowCounts, SocialGraph};

use super::check_eq;

/// Runs every check against `graph`. Every check works on freshly minted users, so the graph
/// may hold other nodes and edges.
pub async fn social_graph(graph: Arc<dyn SocialGraph>) -> anyhow::Result<()> {
    let graph = &*graph;
    super::every_check(
        "social graph",
        vec![
            (
                "add_user_is_idempotent",
                add_user_is_idempotent(graph).boxed_local(),
            ),
            (
                "follow_and_unfollow",
                follow_and_unfollow(graph).boxed_local(),
            ),
            (
                "listings_are_newest_first_and_page_exactly_once",
                listings_are_newest_first_and_page_exactly_once(graph).boxed_local(),
            ),
            (
                "follower_ids_come_in_id_order_chunks",
                follower_ids_come_in_id_order_chunks(graph).boxed_local(),
            ),
            (
                "followees_with_min_followers",
                followees_with_min_followers(graph).boxed_local(),
            ),
            (
                "has_users_with_min_followers",
                has_users_with_min_followers(graph).boxed_local(),
            ),
            ("remove_user", remove_user(graph).boxed_local()),
        ],
    )
    .await
}

fn users(n: usize) -> Vec<UserId> {
    (0..n).map(|_| UserId::new()).collect()
}

fn counts(followers: u64, following: u64) -> FollowCounts {
    FollowCounts {
        followers,
        following,
    }
}

fn sorted<T: Ord + Clone>(items: &[T]) -> Vec<T> {
    let mut items = items.to_vec();
    items.sort();
    items
}

async fn add_user_is_idempotent(graph: &dyn SocialGraph) -> anyhow::Result<()> {
    let user = UserId::new();
    graph.add_user(user).await?;
    graph.add_user(user).await?;
    check_eq(
        graph.counts(user).await?,
        counts(0, 0),
        "counts of a new node",
    )?;
    check_eq(graph.followers(user, None, 10).await?, vec![], "followers")?;
    check_eq(graph.following(user, None, 10).await?, vec![], "following")?;
    check_eq(graph.following_ids(user).await?, vec![], "following_ids")?;
    check_eq(
        graph.follower_ids(user, None, 10).await?,
        vec![],
        "follower_ids",
    )?;
    // A node that already has edges keeps them when added again.
    let other = UserId::new();
    let since = Timestamp::from_millis(1_700_000_000_000);
    ensure!(graph.follow(other, user, since).await?, "first follow");
    graph.add_user(user).await?;
    graph.add_user(other).await?;
    ensure!(
        graph.is_following(other, user).await?,
        "add_user() of an existing node dropped its edge"
    );
    check_eq(
        graph.counts(user).await?,
        counts(1, 0),
        "counts after add_user() of an existing node",
    )?;
    Ok(())
}

async fn follow_and_unfollow(graph: &dyn SocialGraph) -> anyhow::Result<()> {
    let (a, b) = (UserId::new(), UserId::new());
    let first = Timestamp::from_millis(1_700_000_000_000);
    let later = Timestamp::from_millis(1_700_000_500_000);

    ensure!(
        !graph.is_following(a, b).await?,
        "following before follow()"
    );
    // Neither node exists yet: follow() creates them.
    ensure!(
        graph.follow(a, b, first).await?,
        "a new edge must return true"
    );
    ensure!(
        !graph.follow(a, b, later).await?,
        "an existing edge must return false"
    );
    ensure!(graph.is_following(a, b).await?, "a does not follow b");
    ensure!(!graph.is_following(b, a).await?, "edges are directed");
    let kept = vec![Relation {
        user: a,
        since: first,
    }];
    check_eq(
        graph.followers(b, None, 10).await?,
        kept,
        "followers of b (a repeated follow keeps the original since)",
    )?;
    check_eq(
        graph.following(a, None, 10).await?,
        vec![Relation {
            user: b,
            since: first,
        }],
        "following of a",
    )?;
    check_eq(graph.counts(a).await?, counts(0, 1), "counts of a")?;
    check_eq(graph.counts(b).await?, counts(1, 0), "counts of b")?;
    check_eq(graph.following_ids(a).await?, vec![b], "following_ids of a")?;
    check_eq(
        graph.follower_ids(b, None, 10).await?,
        vec![a],
        "follower_ids of b",
    )?;

    // The reverse edge is a separate edge.
    ensure!(graph.follow(b, a, later).await?, "the reverse edge is new");
    check_eq(graph.counts(a).await?, counts(1, 1), "counts of a, mutual")?;
    ensure!(
        graph.unfollow(b, a).await?,
        "removing the reverse edge must return true"
    );
    check_eq(graph.counts(a).await?, counts(0, 1), "counts of a, one-way")?;

    ensure!(
        graph.unfollow(a, b).await?,
        "removing an edge must return true"
    );
    ensure!(
        !graph.unfollow(a, b).await?,
        "removing a missing edge must return false"
    );
    ensure!(
        !graph.unfollow(b, a).await?,
        "removing an edge already removed must return false"
    );
    let (x, y) = (UserId::new(), UserId::new());
    ensure!(
        !graph.unfollow(x, y).await?,
        "removing an edge between unknown users must return false"
    );
    ensure!(
        !graph.is_following(a, b).await?,
        "still following after unfollow()"
    );
    check_eq(
        graph.counts(a).await?,
        counts(0, 0),
        "counts of a after unfollow",
    )?;
    check_eq(
        graph.counts(b).await?,
        counts(0, 0),
        "counts of b after unfollow",
    )?;
    check_eq(
        graph.followers(b, None, 10).await?,
        vec![],
        "followers of b",
    )?;
    check_eq(
        graph.following(a, None, 10).await?,
        vec![],
        "following of a",
    )?;
    check_eq(graph.following_ids(a).await?, vec![], "following_ids of a")?;

    // Following again starts a new relation, with the new since.
    let again = Timestamp::from_millis(1_700_000_900_000);
    ensure!(
        graph.follow(a, b, again).await?,
        "re-follow must return true"
    );
    check_eq(
        graph.followers(b, None, 10).await?,
        vec![Relation {
            user: a,
            since: again,
        }],
        "followers of b after re-follow",
    )?;
    check_eq(
        graph.counts(b).await?,
        counts(1, 0),
        "counts of b after re-follow",
    )?;
    Ok(())
}

/// Which way equal `since` values are broken by user id.
#[derive(Debug, Clone, Copy)]
enum TieBreak {
    Descending,
    Ascending,
}

fn order(relations: &[Relation], tie: TieBreak) -> Vec<Relation> {
    let mut relations = relations.to_vec();
    relations.sort_by(|l, r| {
        let by_user = match tie {
            TieBreak::Descending => r.user.cmp(&l.user),
            TieBreak::Ascending => l.user.cmp(&r.user),
        };
        r.since.cmp(&l.since).then(by_user)
    });
    relations
}

type Listing<'a> = dyn Fn(
        Option<RelationCursor>,
        usize,
    ) -> futures::future::BoxFuture<'a, anyhow::Result<Vec<Relation>>>
    + 'a;

/// Checks one listing (followers or following): newest relation first, ties broken by user id
/// in one fixed direction, and cursor paging that yields every relation exactly once.
async fn check_listing(
    what: &str,
    list: &Listing<'_>,
    relations: &[Relation],
) -> anyhow::Result<()> {
    let all = list(None, 10_000).await?;
    let want = if all == order(relations, TieBreak::Descending) {
        order(relations, TieBreak::Descending)
    } else if all == order(relations, TieBreak::Ascending) {
        order(relations, TieBreak::Ascending)
    } else {
        bail!(
            "{what}: want newest relation first, ties by user id; got {all:?}, want {:?}",
            order(relations, TieBreak::Descending)
        );
    };
    for limit in [1, 2, 3, 4, 100] {
        let mut walked: Vec<Relation> = Vec::new();
        let mut after = None;
        loop {
            let page = list(after, limit).await?;
            ensure!(
                page.len() <= limit,
                "{what}: limit {limit} returned {} relations",
                page.len()
            );
            let Some(last) = page.last().copied() else {
                break;
            };
            walked.extend(page);
            after = Some(RelationCursor {
                since: last.since,
                user: last.user,
            });
            ensure!(
                walked.len() <= want.len(),
                "{what}: paging with limit {limit} repeats relations: {walked:?}"
            );
        }
        check_eq(
            walked,
            want.clone(),
            &format!("{what}: paging with limit {limit}"),
        )?;
    }
    // A cursor in the middle: exactly what follows it.
    for (i, cut) in want.iter().enumerate() {
        let cursor = RelationCursor {
            since: cut.since,
            user: cut.user,
        };
        check_eq(
            list(Some(cursor), 10_000).await?,
            want[i + 1..].to_vec(),
            &format!("{what}: after item {i}"),
        )?;
    }
    Ok(())
}

async fn listings_are_newest_first_and_page_exactly_once(
    graph: &dyn SocialGraph,
) -> anyhow::Result<()> {
    // Offsets in ms from a base: distinct values and runs of equal ones.
    let offsets: [i64; 8] = [5, 3, 9, 3, 1, 3, 1, 7];
    let base = 1_700_000_000_000;

    let star = UserId::new();
    let fans = users(offsets.len());
    // Follow in an order unrelated to both ids and since.
    for (i, fan) in fans.iter().enumerate().rev() {
        let since = Timestamp::from_millis(base + offsets[i]);
        ensure!(graph.follow(*fan, star, since).await?, "new edge");
    }
    let fan_relations: Vec<Relation> = fans
        .iter()
        .zip(offsets)
        .map(|(fan, off)| Relation {
            user: *fan,
            since: Timestamp::from_millis(base + off),
        })
        .collect();

    let reader = UserId::new();
    let idols = users(offsets.len());
    for (i, idol) in idols.iter().enumerate() {
        let since = Timestamp::from_millis(base + offsets[(i + 3) % offsets.len()]);
        ensure!(graph.follow(reader, *idol, since).await?, "new edge");
    }
    let idol_relations: Vec<Relation> = idols
        .iter()
        .enumerate()
        .map(|(i, idol)| Relation {
            user: *idol,
            since: Timestamp::from_millis(base + offsets[(i + 3) % offsets.len()]),
        })
        .collect();

    // Noise that the listings must leave out.
    let stranger = UserId::new();
    graph
        .follow(star, stranger, Timestamp::from_millis(base + 4))
        .await?;
    graph
        .follow(stranger, reader, Timestamp::from_millis(base + 4))
        .await?;
    graph
        .follow(fans[0], idols[0], Timestamp::from_millis(base + 2))
        .await?;

    let followers =
        |after: Option<RelationCursor>, limit: usize| graph.followers(star, after, limit);
    check_listing("followers", &followers, &fan_relations).await?;
    let following =
        |after: Option<RelationCursor>, limit: usize| graph.following(reader, after, limit);
    check_listing("following", &following, &idol_relations).await?;

    check_eq(
        graph.counts(star).await?,
        counts(fans.len() as u64, 1),
        "counts of the followed user",
    )?;
    check_eq(
        graph.counts(reader).await?,
        counts(1, idols.len() as u64),
        "counts of the following user",
    )?;
    check_eq(
        sorted(&graph.following_ids(reader).await?),
        sorted(&idols),
        "following_ids",
    )?;
    check_eq(
        graph.following_ids(stranger).await?,
        vec![reader],
        "following_ids of the stranger",
    )?;
    Ok(())
}

async fn follower_ids_come_in_id_order_chunks(graph: &dyn SocialGraph) -> anyhow::Result<()> {
    let star = UserId::new();
    let fans = users(10);
    // Mint ids in one order, follow in another, with since unrelated to id order.
    for (i, fan) in fans.iter().enumerate().rev() {
        let since = Timestamp::from_millis(1_700_000_000_000 + ((i as i64 * 7) % 10));
        graph.follow(*fan, star, since).await?;
    }
    // A user the star follows is not a follower.
    graph
        .follow(
            star,
            UserId::new(),
            Timestamp::from_millis(1_700_000_000_000),
        )
        .await?;
    let want = sorted(&fans);
    check_eq(
        graph.follower_ids(star, None, 10_000).await?,
        want.clone(),
        "follower_ids in id order",
    )?;
    for limit in [1, 3, 4, 10, 11] {
        let mut walked: Vec<UserId> = Vec::new();
        let mut after = None;
        loop {
            let chunk = graph.follower_ids(star, after, limit).await?;
            ensure!(
                chunk.len() <= limit,
                "follower_ids: limit {limit} returned {}",
                chunk.len()
            );
            let Some(last) = chunk.last().copied() else {
                break;
            };
            walked.extend(chunk);
            after = Some(last);
            ensure!(
                walked.len() <= want.len(),
                "follower_ids: chunks of {limit} repeat ids"
            );
        }
        check_eq(
            walked,
            want.clone(),
            &format!("follower_ids in chunks of {limit}"),
        )?;
    }
    check_eq(
        graph.follower_ids(star, Some(want[3]), 10_000).await?,
        want[4..].to_vec(),
        "follower_ids strictly after a follower",
    )?;
    let lowest = UserId::from_uuid(uuid::Uuid::from_u128(0));
    let highest = UserId::from_uuid(uuid::Uuid::from_u128(u128::MAX));
    check_eq(
        graph.follower_ids(star, Some(lowest), 10_000).await?,
        want.clone(),
        "follower_ids after the lowest id",
    )?;
    check_eq(
        graph.follower_ids(star, Some(highest), 10_000).await?,
        vec![],
        "follower_ids after the highest id",
    )?;
    // After an id that is not a follower but lies between two of them.
    let between = UserId::from_uuid(uuid::Uuid::from_u128(want[5].as_uuid().as_u128() + 1));
    ensure!(between < want[6], "fresh ids are too close together");
    check_eq(
        graph.follower_ids(star, Some(between), 10_000).await?,
        want[6..].to_vec(),
        "follower_ids after an id between followers",
    )?;
    Ok(())
}

async fn followees_with_min_followers(graph: &dyn SocialGraph) -> anyhow::Result<()> {
    let t = |ms: i64| Timestamp::from_millis(1_700_000_000_000 + ms);
    let reader = UserId::new();
    let followees = users(4);
    // followees[1] has the reader as its only follower.
    let (big, mid, shrinking) = (followees[0], followees[2], followees[3]);
    let others = users(4);
    for followee in &followees {
        graph.follow(reader, *followee, t(0)).await?;
    }
    // big: reader + 2 others (+ a repeated follow that must not count twice).
    graph.follow(others[0], big, t(1)).await?;
    graph.follow(others[1], big, t(2)).await?;
    ensure!(!graph.follow(others[1], big, t(3)).await?, "repeat follow");
    // mid: reader + 1.
    graph.follow(others[0], mid, t(1)).await?;
    // shrinking: reader + 2, then one leaves (and a missing edge is removed, changing nothing).
    graph.follow(others[2], shrinking, t(1)).await?;
    graph.follow(others[3], shrinking, t(1)).await?;
    ensure!(graph.unfollow(others[3], shrinking).await?, "unfollow");
    ensure!(
        !graph.unfollow(others[3], shrinking).await?,
        "repeat unfollow"
    );
    // A popular user whom the reader does not follow.
    let unfollowed_star = UserId::new();
    for other in &others {
        graph.follow(*other, unfollowed_star, t(5)).await?;
    }
    // A popular user whom the reader stopped following.
    let former = UserId::new();
    graph.follow(reader, former, t(0)).await?;
    for other in &others {
        graph.follow(*other, former, t(5)).await?;
    }
    graph.unfollow(reader, former).await?;

    check_eq(graph.counts(big).await?.followers, 3, "followers of big")?;
    check_eq(
        graph.counts(shrinking).await?.followers,
        2,
        "followers of shrinking",
    )?;

    let cases: [(u64, Vec<UserId>); 5] = [
        (0, followees.clone()),
        (1, followees.clone()),
        (2, vec![big, mid, shrinking]),
        (3, vec![big]),
        (4, vec![]),
    ];
    for (min, want) in cases {
        check_eq(
            sorted(&graph.followees_with_min_followers(reader, min).await?),
            sorted(&want),
            &format!("followees_with_min_followers(min {min})"),
        )?;
    }
    check_eq(
        graph.followees_with_min_followers(UserId::new(), 0).await?,
        vec![],
        "followees_with_min_followers of an unknown user",
    )?;
    Ok(())
}

/// Whether anyone has that many followers. The graph may be shared with other checks, so the
/// threshold is one no other check reaches, then one this check reaches.
async fn has_users_with_min_followers(graph: &dyn SocialGraph) -> anyhow::Result<()> {
    let star = UserId::new();
    let fans = users(3);
    for fan in &fans {
        graph.follow(*fan, star, Timestamp::from_millis(1)).await?;
    }
    ensure!(
        !graph.has_users_with_min_followers(1_000_000_000).await?,
        "someone has a billion followers"
    );
    ensure!(
        graph.has_users_with_min_followers(3).await?,
        "nobody has 3 followers, though star has"
    );
    ensure!(
        graph.has_users_with_min_followers(0).await?,
        "a threshold of 0"
    );
    Ok(())
}

async fn remove_user(graph: &dyn SocialGraph) -> anyhow::Result<()> {
    let [gone, followee, follower, bystander] = [UserId::new(); 4].map(|_| UserId::new());
    let at = Timestamp::from_millis(1);
    graph.follow(gone, followee, at).await?;
    graph.follow(follower, gone, at).await?;
    graph.follow(follower, followee, at).await?;
    graph.follow(bystander, followee, at).await?;
    graph.remove_user(gone).await?;
    check_eq(
        graph.counts(gone).await?,
        counts(0, 0),
        "the removed user's counts",
    )?;
    check_eq(
        graph.counts(followee).await?,
        counts(2, 0),
        "its followee's counts",
    )?;
    check_eq(
        graph.counts(follower).await?,
        counts(0, 1),
        "its follower's counts",
    )?;
    ensure!(
        !graph.is_following(follower, gone).await? && !graph.is_following(gone, followee).await?,
        "an edge of the removed user stays"
    );
    check_eq(
        graph.following_ids(follower).await?,
        vec![followee],
        "the follower's followees",
    )?;
    check_eq(
        graph.follower_ids(gone, None, 10).await?,
        vec![],
        "the removed user's followers",
    )?;
    check_eq(
        graph.followers(followee, None, 10).await?.len(),
        2,
        "the followee's follower listing",
    )?;
    graph.remove_user(gone).await?;
    graph.remove_user(UserId::new()).await?;
    check_eq(
        graph.counts(followee).await?,
        counts(2, 0),
        "after a second removal",
    )?;
    Ok(())
}
