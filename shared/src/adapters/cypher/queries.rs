//! Every Cypher statement of the graph, and the parameters each call binds.
//!
//! The data queries are openCypher (a unit test parses each one) plus, where Neo4j's planner
//! needs one, a planner hint. The schema statements are Neo4j's own.
//!
//! Neo4j runs at read committed, so the writes lock the nodes they count before they read an
//! edge (a `SET` of a property to itself takes the node's write lock, and Cypher takes it
//! before reading when the right-hand side reads the same property). Two concurrent `follow`s
//! or `unfollow`s of one pair then see each other's result, and a counter is changed exactly
//! when an edge is.
//!
//! Listing pages and follower chunks walk all of one user's edges and sort them: a graph keeps
//! no per-node order on edge properties. Fan-out reads follower chunks only for authors under
//! the hybrid fan-out threshold (10,000 followers by default), which bounds that walk.

use super::{Access, Call, Param, Query};
use crate::domain::{RelationCursor, Timestamp, UserId};

/// Neo4j's schema, each statement idempotent by `IF NOT EXISTS` (also when an equivalent
/// constraint or index exists under another name):
/// - the uniqueness constraint on the id (and the range index behind it), where every query
///   starts;
/// - a range index on the follower counter, from which [`FOLLOWEES_WITH_MIN_FOLLOWERS`] starts.
pub const NEO4J_SCHEMA: [&str; 2] = [
    "CREATE CONSTRAINT rookery_user_id IF NOT EXISTS FOR (u:User) REQUIRE u.id IS UNIQUE",
    "CREATE RANGE INDEX rookery_user_followers IF NOT EXISTS FOR (u:User) ON (u.followers)",
];

pub const PING: Query = Query {
    name: "ping",
    text: "RETURN 1 AS one",
    access: Access::Read,
    columns: &["one"],
};

pub const ADD_USER: Query = Query {
    name: "add_user",
    text: "MERGE (u:User {id: $user}) \
           ON CREATE SET u.followers = 0, u.following = 0",
    access: Access::Write,
    columns: &[],
};

/// `created` tells a new edge from an existing one: only `ON CREATE` sets the marker, which is
/// removed again before the query ends. (Comparing `since` would not do: a retried follow may
/// carry the same time.) The counters move in the same `ON CREATE`.
pub const FOLLOW: Query = Query {
    name: "follow",
    text: "MERGE (a:User {id: $follower}) \
           ON CREATE SET a.followers = 0, a.following = 0 \
           MERGE (b:User {id: $followee}) \
           ON CREATE SET b.followers = 0, b.following = 0 \
           SET a.following = coalesce(a.following, 0), b.followers = coalesce(b.followers, 0) \
           MERGE (a)-[r:FOLLOWS]->(b) \
           ON CREATE SET r.since = $since, r.created = true, \
           a.following = a.following + 1, b.followers = b.followers + 1 \
           WITH r, r.created IS NOT NULL AS created \
           SET r.created = null \
           RETURN created",
    access: Access::Write,
    columns: &["created"],
};

/// `removed` is 0 or 1: the rows that reached the `DELETE`.
pub const UNFOLLOW: Query = Query {
    name: "unfollow",
    text: "MATCH (a:User {id: $follower}), (b:User {id: $followee}) \
           SET a.following = coalesce(a.following, 0) \
           WITH a, b \
           MATCH (a)-[r:FOLLOWS]->(b) \
           DELETE r \
           SET a.following = a.following - 1, b.followers = b.followers - 1 \
           RETURN count(*) AS removed",
    access: Access::Write,
    columns: &["removed"],
};

/// Both ends by index, then the edge between them ("expand into"), instead of walking
/// everyone the follower follows.
pub const IS_FOLLOWING: Query = Query {
    name: "is_following",
    text: "MATCH (a:User {id: $follower}), (b:User {id: $followee}) \
           WITH a, b \
           MATCH (a)-[:FOLLOWS]->(b) \
           RETURN count(*) AS edges",
    access: Access::Read,
    columns: &["edges"],
};

/// Keyset page, newest relation first, ties by id descending, strictly after the cursor.
pub const FOLLOWERS: Query = Query {
    name: "followers",
    text: "MATCH (:User {id: $user})<-[r:FOLLOWS]-(f:User) \
           WITH f.id AS id, r.since AS since \
           WHERE since < $since OR (since = $since AND id < $id) \
           RETURN id, since \
           ORDER BY since DESC, id DESC \
           LIMIT $limit",
    access: Access::Read,
    columns: &["id", "since"],
};

/// As [`FOLLOWERS`], along outgoing edges.
pub const FOLLOWING: Query = Query {
    name: "following",
    text: "MATCH (:User {id: $user})-[r:FOLLOWS]->(f:User) \
           WITH f.id AS id, r.since AS since \
           WHERE since < $since OR (since = $since AND id < $id) \
           RETURN id, since \
           ORDER BY since DESC, id DESC \
           LIMIT $limit",
    access: Access::Read,
    columns: &["id", "since"],
};

/// No row when the user has no node.
pub const COUNTS: Query = Query {
    name: "counts",
    text: "MATCH (u:User {id: $user}) \
           RETURN coalesce(u.followers, 0) AS followers, coalesce(u.following, 0) AS following",
    access: Access::Read,
    columns: &["followers", "following"],
};

pub const FOLLOWING_IDS: Query = Query {
    name: "following_ids",
    text: "MATCH (:User {id: $user})-[:FOLLOWS]->(f:User) \
           RETURN f.id AS id",
    access: Access::Read,
    columns: &["id"],
};

/// A chunk of followers in id order, strictly after `$after`.
pub const FOLLOWER_IDS: Query = Query {
    name: "follower_ids",
    text: "MATCH (:User {id: $user})<-[:FOLLOWS]-(f:User) \
           WITH f.id AS id \
           WHERE id > $after \
           RETURN id \
           ORDER BY id \
           LIMIT $limit",
    access: Access::Read,
    columns: &["id"],
};

/// The reader's followees at or above the fan-out threshold, read on every home-feed read.
/// It starts from the range index on the follower counter (the few popular users; none at
/// all in most deployments) and checks each one's edge from the reader by "expand into"
/// between two known nodes, instead of walking every follow of the reader (thousands for an
/// active reader). The hint keeps Neo4j's planner from starting at the reader's unique id,
/// which it would otherwise estimate as cheaper; `contract_neo4j` asserts the plan.
pub const FOLLOWEES_WITH_MIN_FOLLOWERS: Query = Query {
    name: "followees_with_min_followers",
    text: "MATCH (u:User {id: $user}), (f:User) USING INDEX f:User(followers) \
           WHERE f.followers >= $min AND EXISTS { (u)-[:FOLLOWS]->(f) } \
           RETURN f.id AS id",
    access: Access::Read,
    columns: &["id"],
};

/// Whether anyone has at least `$min` followers: one probe of the range index on the counter.
pub const ANY_WITH_MIN_FOLLOWERS: Query = Query {
    name: "any_with_min_followers",
    text: "MATCH (f:User) USING INDEX f:User(followers) WHERE f.followers >= $min \
           WITH f LIMIT 1 RETURN f.id AS id",
    access: Access::Read,
    columns: &["id"],
};

/// The user's node and its edges; each other end's counter moves first. `SET` on the null of
/// an `OPTIONAL MATCH` that found nothing does nothing.
pub const REMOVE_USER: Query = Query {
    name: "remove_user",
    text: "MATCH (u:User {id: $user}) \
           OPTIONAL MATCH (u)-[:FOLLOWS]->(b:User) \
           SET b.followers = b.followers - 1 \
           WITH DISTINCT u \
           OPTIONAL MATCH (a:User)-[:FOLLOWS]->(u) \
           SET a.following = a.following - 1 \
           WITH DISTINCT u \
           DETACH DELETE u",
    access: Access::Write,
    columns: &[],
};

/// Every query the graph runs (the schema statements above excepted).
pub const ALL: [&Query; 13] = [
    &PING,
    &ADD_USER,
    &REMOVE_USER,
    &FOLLOW,
    &UNFOLLOW,
    &IS_FOLLOWING,
    &FOLLOWERS,
    &FOLLOWING,
    &COUNTS,
    &FOLLOWING_IDS,
    &FOLLOWER_IDS,
    &FOLLOWEES_WITH_MIN_FOLLOWERS,
    &ANY_WITH_MIN_FOLLOWERS,
];

// The calls: each binds exactly the parameters its query names.

fn id(user: UserId) -> Param {
    Param::Str(user.to_string())
}

fn int(n: impl TryInto<i64>) -> Param {
    Param::Int(n.try_into().unwrap_or(i64::MAX))
}

/// The keyset bound of a listing. No cursor is the sentinel `(i64::MAX, "")`, which sorts
/// after every relation, as in the SQLite adapter, so the query has no `IS NULL` branch.
fn relation_bound(after: Option<RelationCursor>) -> [(&'static str, Param); 2] {
    let (since, user) = after.map_or((i64::MAX, String::new()), |cursor| {
        (cursor.since.millis(), cursor.user.to_string())
    });
    [("since", Param::Int(since)), ("id", Param::Str(user))]
}

pub(super) fn ping() -> Call {
    Call {
        query: &PING,
        params: vec![],
    }
}

pub(super) fn add_user(user: UserId) -> Call {
    Call {
        query: &ADD_USER,
        params: vec![("user", id(user))],
    }
}

pub(super) fn remove_user(user: UserId) -> Call {
    Call {
        query: &REMOVE_USER,
        params: vec![("user", id(user))],
    }
}

pub(super) fn follow(follower: UserId, followee: UserId, since: Timestamp) -> Call {
    Call {
        query: &FOLLOW,
        params: vec![
            ("follower", id(follower)),
            ("followee", id(followee)),
            ("since", Param::Int(since.millis())),
        ],
    }
}

pub(super) fn unfollow(follower: UserId, followee: UserId) -> Call {
    Call {
        query: &UNFOLLOW,
        params: vec![("follower", id(follower)), ("followee", id(followee))],
    }
}

pub(super) fn is_following(follower: UserId, followee: UserId) -> Call {
    Call {
        query: &IS_FOLLOWING,
        params: vec![("follower", id(follower)), ("followee", id(followee))],
    }
}

fn listing(
    query: &'static Query,
    user: UserId,
    after: Option<RelationCursor>,
    limit: usize,
) -> Call {
    let mut params = vec![("user", id(user)), ("limit", int(limit))];
    params.extend(relation_bound(after));
    Call { query, params }
}

pub(super) fn followers(user: UserId, after: Option<RelationCursor>, limit: usize) -> Call {
    listing(&FOLLOWERS, user, after, limit)
}

pub(super) fn following(user: UserId, after: Option<RelationCursor>, limit: usize) -> Call {
    listing(&FOLLOWING, user, after, limit)
}

pub(super) fn counts(user: UserId) -> Call {
    Call {
        query: &COUNTS,
        params: vec![("user", id(user))],
    }
}

pub(super) fn following_ids(user: UserId) -> Call {
    Call {
        query: &FOLLOWING_IDS,
        params: vec![("user", id(user))],
    }
}

/// No `after` is the empty string, which every id sorts after.
pub(super) fn follower_ids(user: UserId, after: Option<UserId>, limit: usize) -> Call {
    Call {
        query: &FOLLOWER_IDS,
        params: vec![
            ("user", id(user)),
            (
                "after",
                Param::Str(after.map_or_else(String::new, |a| a.to_string())),
            ),
            ("limit", int(limit)),
        ],
    }
}

pub(super) fn any_with_min_followers(min_followers: u64) -> Call {
    Call {
        query: &ANY_WITH_MIN_FOLLOWERS,
        params: vec![("min", int(min_followers))],
    }
}

pub(super) fn followees_with_min_followers(user: UserId, min_followers: u64) -> Call {
    Call {
        query: &FOLLOWEES_WITH_MIN_FOLLOWERS,
        params: vec![("user", id(user)), ("min", int(min_followers))],
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The `$names` a query text uses.
    fn named_params(text: &str) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        let mut rest = text;
        while let Some(at) = rest.find('$') {
            rest = rest.get(at + 1..).unwrap_or_default();
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            names.insert(name);
        }
        names
    }

    /// `a, f(b, c) AS d` → `["a", "f(b, c) AS d"]`: commas outside parentheses split.
    fn top_level_items(list: &str) -> Vec<&str> {
        let (mut items, mut depth, mut start) = (Vec::new(), 0_i32, 0);
        for (at, c) in list.char_indices() {
            match c {
                '(' | '[' => depth += 1,
                ')' | ']' => depth -= 1,
                ',' if depth == 0 => {
                    items.push(list.get(start..at).unwrap_or_default());
                    start = at + 1;
                }
                _ => {}
            }
        }
        items.push(list.get(start..).unwrap_or_default());
        items
            .into_iter()
            .map(str::trim)
            .filter(|i| !i.is_empty())
            .collect()
    }

    fn every_call() -> Vec<Call> {
        let (a, b) = (UserId::new(), UserId::new());
        let cursor = RelationCursor {
            since: Timestamp::from_millis(5),
            user: b,
        };
        vec![
            ping(),
            add_user(a),
            remove_user(a),
            follow(a, b, Timestamp::from_millis(1)),
            unfollow(a, b),
            is_following(a, b),
            followers(a, None, 10),
            followers(a, Some(cursor), 10),
            following(a, None, 10),
            following(a, Some(cursor), 10),
            counts(a),
            following_ids(a),
            follower_ids(a, None, 10),
            follower_ids(a, Some(b), 10),
            followees_with_min_followers(a, 3),
            any_with_min_followers(3),
        ]
    }

    /// `text` without Neo4j's planner hints (`USING INDEX v:Label(property)`), which are not
    /// openCypher.
    fn without_hints(text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(at) = rest.find("USING INDEX ") {
            out.push_str(rest.get(..at).unwrap_or_default());
            let tail = rest.get(at..).unwrap_or_default();
            rest = tail
                .find(") ")
                .map_or("", |end| tail.get(end + 2..).unwrap_or_default());
        }
        out.push_str(rest);
        out
    }

    /// A grammar check without a server: every query is openCypher (the `open-cypher` crate's
    /// parser of the openCypher 2024.3 grammar) apart from Neo4j's planner hints. The schema
    /// statements are Neo4j's own and outside that grammar. `contract_neo4j` runs every one
    /// on a real Neo4j.
    #[test]
    fn every_query_parses_as_open_cypher() {
        for query in ALL {
            if let Err(err) = open_cypher::parse(&without_hints(query.text)) {
                panic!("{}: {err}\n{}", query.name, query.text);
            }
        }
        assert!(open_cypher::parse("MATCH (u:User RETURN u").is_err());
        assert_eq!(
            without_hints("MATCH (f:User) USING INDEX f:User(followers) WHERE f.x RETURN f"),
            "MATCH (f:User) WHERE f.x RETURN f"
        );
        assert!(open_cypher::parse(FOLLOWEES_WITH_MIN_FOLLOWERS.text).is_err());
    }

    #[test]
    fn every_call_binds_exactly_the_parameters_its_query_names() {
        let calls = every_call();
        let used: BTreeSet<&str> = calls.iter().map(|call| call.query.name).collect();
        let shared: BTreeSet<&str> = ALL.iter().map(|query| query.name).collect();
        assert_eq!(used, shared, "a query without a call, or the reverse");
        for call in calls {
            let bound: BTreeSet<String> = call
                .params
                .iter()
                .map(|(name, _)| (*name).to_owned())
                .collect();
            assert_eq!(
                bound,
                named_params(call.query.text),
                "{}: bound parameters differ from the text's",
                call.query.name
            );
            assert_eq!(
                bound.len(),
                call.params.len(),
                "{}: bound twice",
                call.query.name
            );
        }
    }

    #[test]
    fn every_query_returns_its_declared_columns() {
        for query in ALL {
            let returned = query
                .text
                .rsplit_once("RETURN ")
                .map(|(_, tail)| tail)
                .unwrap_or_default();
            let returned = returned.split(" ORDER BY").next().unwrap_or_default();
            let names: Vec<&str> = top_level_items(returned)
                .into_iter()
                .map(|item| item.rsplit(" AS ").next().unwrap_or(item).trim())
                .collect();
            assert_eq!(names, query.columns, "{}", query.name);
        }
    }

    #[test]
    fn queries_splice_no_values() {
        // Literals in the texts are constants of the model, never data.
        for query in ALL {
            assert!(!query.text.contains('\''), "{}: quoted literal", query.name);
            assert!(!query.text.contains('"'), "{}: quoted literal", query.name);
        }
    }

    #[test]
    fn no_cursor_binds_a_bound_past_every_relation() {
        let Call { params, .. } = followers(UserId::new(), None, 20);
        assert!(params.contains(&("since", Param::Int(i64::MAX))));
        assert!(params.contains(&("id", Param::Str(String::new()))));
        assert!(params.contains(&("limit", Param::Int(20))));
    }

    #[test]
    fn a_cursor_binds_its_since_and_id() {
        let user = UserId::new();
        let cursor = RelationCursor {
            since: Timestamp::from_millis(1_700_000_000_123),
            user,
        };
        let Call { params, .. } = following(UserId::new(), Some(cursor), 5);
        assert!(params.contains(&("since", Param::Int(1_700_000_000_123))));
        assert!(params.contains(&("id", Param::Str(user.to_string()))));
    }

    #[test]
    fn follower_chunks_start_before_every_id() {
        let Call { params, .. } = follower_ids(UserId::new(), None, 1_000);
        assert!(params.contains(&("after", Param::Str(String::new()))));
        let after = UserId::new();
        let Call { params, .. } = follower_ids(UserId::new(), Some(after), 1_000);
        assert!(params.contains(&("after", Param::Str(after.to_string()))));
    }

    #[test]
    fn ids_are_bound_as_hyphenated_lower_case_strings_in_id_order() {
        let low = UserId::from_uuid(uuid::Uuid::from_u128(0x0a));
        let high = UserId::from_uuid(uuid::Uuid::from_u128(0xa0 << 64));
        let (Param::Str(l), Param::Str(h)) = (id(low), id(high)) else {
            panic!("ids must be strings");
        };
        assert_eq!(l, "00000000-0000-0000-0000-00000000000a");
        assert!(l < h, "string order must be id order");
    }

    #[test]
    fn huge_bounds_saturate() {
        let Call { params, .. } = followees_with_min_followers(UserId::new(), u64::MAX);
        assert!(params.contains(&("min", Param::Int(i64::MAX))));
        let Call { params, .. } = follower_ids(UserId::new(), None, usize::MAX);
        assert!(params.contains(&("limit", Param::Int(i64::MAX))));
    }
}
