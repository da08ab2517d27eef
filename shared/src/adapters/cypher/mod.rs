//! The follow graph in Cypher ([`queries`]), run on Neo4j over Bolt by the [`neo4j`] executor.
//! The executor is a trait so the graph logic (row decoding, the calls) is independent of the
//! driver, and the contract tests can run raw Cypher through the same path.
//!
//! The model is `(:User {id, followers, following})-[:FOLLOWS {since}]->(:User)`:
//! - `id` is the user's UUID as a hyphenated lower-case string, so string order is id order
//!   (follower chunks for fan-out are walked in it); a uniqueness constraint backs it.
//! - `since` is milliseconds since the Unix epoch, an integer.
//! - `followers` and `following` are counters kept in the same query as the edge they count,
//!   so profile counts and the hybrid fan-out threshold read one node instead of walking its
//!   edges (a popular user has millions).
//!
//! Every value is a query parameter; no query text is ever built from data. [`CypherGraph`] is
//! the one [`SocialGraph`] implementation; an executor only moves a [`Query`] and its
//! [`Param`]s to its server and the rows back, and creates the schema.

pub mod neo4j;
pub mod queries;

use anyhow::{Context as _, bail};
use async_trait::async_trait;

use crate::domain::{Relation, RelationCursor, Timestamp, UserId};
use crate::ports::{FollowCounts, SocialGraph};

pub use neo4j::{Neo4jExecutor, Neo4jGraph};

/// A query parameter. The graph queries bind strings (ids) and integers (times, bounds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param {
    Str(String),
    Int(i64),
}

/// One value of a result row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
}

/// A row: the values of [`Query::columns`], in that order.
pub type Row = Vec<Value>;

/// Whether a query writes. Read queries go to a read transaction (which a Neo4j cluster may
/// route to a follower).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// One Cypher statement with the columns it returns.
#[derive(Debug)]
pub struct Query {
    /// For error messages and logs.
    pub name: &'static str,
    pub text: &'static str,
    pub access: Access,
    /// The names of the returned columns, in order; empty for a statement that returns nothing.
    pub columns: &'static [&'static str],
}

/// A query with the parameters of one call.
#[derive(Debug)]
pub struct Call {
    pub query: &'static Query,
    pub params: Vec<(&'static str, Param)>,
}

/// Runs Cypher on one server. Implementations translate parameters and values and nothing else.
#[async_trait]
pub trait CypherExecutor: Send + Sync + 'static {
    /// Runs `query` with `params` and returns every row, with the query's columns in order.
    ///
    /// # Errors
    /// The server refused the query, could not be reached, or returned a value of a type the
    /// graph never stores.
    async fn run(
        &self,
        query: &Query,
        params: &[(&'static str, Param)],
    ) -> anyhow::Result<Vec<Row>>;

    /// Creates the schema (the uniqueness constraint on `(:User {id})`, the index on the
    /// follower counter) unless it exists, and waits for it to be usable. Safe to call from
    /// many processes at once.
    ///
    /// # Errors
    /// The server refused (for instance, existing duplicate ids fail the constraint).
    async fn ensure_schema(&self) -> anyhow::Result<()>;
}

/// The social graph over any Cypher executor.
pub struct CypherGraph<E> {
    exec: E,
}

impl<E: CypherExecutor> CypherGraph<E> {
    /// Wraps an executor whose schema is in place (see [`CypherExecutor::ensure_schema`]).
    pub fn new(exec: E) -> Self {
        Self { exec }
    }

    pub fn executor(&self) -> &E {
        &self.exec
    }

    /// Checks that the server answers a query.
    ///
    /// # Errors
    /// The server is unreachable or refused the query.
    pub async fn ping(&self) -> anyhow::Result<()> {
        let rows = self.call(queries::ping()).await?;
        match rows.as_slice() {
            [row] if row.as_slice() == [Value::Int(1)] => Ok(()),
            _ => bail!("graph ping: unexpected answer {rows:?}"),
        }
    }

    async fn call(&self, call: Call) -> anyhow::Result<Vec<Row>> {
        self.exec
            .run(call.query, &call.params)
            .await
            .with_context(|| format!("graph query {}", call.query.name))
    }
}

#[async_trait]
impl<E: CypherExecutor> SocialGraph for CypherGraph<E> {
    async fn add_user(&self, user: UserId) -> anyhow::Result<()> {
        self.call(queries::add_user(user)).await?;
        Ok(())
    }

    async fn remove_user(&self, user: UserId) -> anyhow::Result<()> {
        self.call(queries::remove_user(user)).await?;
        Ok(())
    }

    async fn follow(
        &self,
        follower: UserId,
        followee: UserId,
        since: Timestamp,
    ) -> anyhow::Result<bool> {
        let rows = self
            .call(queries::follow(follower, followee, since))
            .await?;
        single_bool(&rows).context("graph query follow")
    }

    async fn unfollow(&self, follower: UserId, followee: UserId) -> anyhow::Result<bool> {
        let rows = self.call(queries::unfollow(follower, followee)).await?;
        Ok(single_count(&rows).context("graph query unfollow")? > 0)
    }

    async fn is_following(&self, follower: UserId, followee: UserId) -> anyhow::Result<bool> {
        let rows = self.call(queries::is_following(follower, followee)).await?;
        Ok(single_count(&rows).context("graph query is_following")? > 0)
    }

    async fn followers(
        &self,
        user: UserId,
        after: Option<RelationCursor>,
        limit: usize,
    ) -> anyhow::Result<Vec<Relation>> {
        let rows = self.call(queries::followers(user, after, limit)).await?;
        relations(&rows).context("graph query followers")
    }

    async fn following(
        &self,
        user: UserId,
        after: Option<RelationCursor>,
        limit: usize,
    ) -> anyhow::Result<Vec<Relation>> {
        let rows = self.call(queries::following(user, after, limit)).await?;
        relations(&rows).context("graph query following")
    }

    async fn counts(&self, user: UserId) -> anyhow::Result<FollowCounts> {
        let rows = self.call(queries::counts(user)).await?;
        counts(&rows).context("graph query counts")
    }

    async fn following_ids(&self, user: UserId) -> anyhow::Result<Vec<UserId>> {
        let rows = self.call(queries::following_ids(user)).await?;
        ids(&rows).context("graph query following_ids")
    }

    async fn follower_ids(
        &self,
        user: UserId,
        after: Option<UserId>,
        limit: usize,
    ) -> anyhow::Result<Vec<UserId>> {
        let rows = self.call(queries::follower_ids(user, after, limit)).await?;
        ids(&rows).context("graph query follower_ids")
    }

    async fn followees_with_min_followers(
        &self,
        user: UserId,
        min_followers: u64,
    ) -> anyhow::Result<Vec<UserId>> {
        let rows = self
            .call(queries::followees_with_min_followers(user, min_followers))
            .await?;
        ids(&rows).context("graph query followees_with_min_followers")
    }

    async fn has_users_with_min_followers(&self, min_followers: u64) -> anyhow::Result<bool> {
        let rows = self
            .call(queries::any_with_min_followers(min_followers))
            .await?;
        Ok(!rows.is_empty())
    }
}

// Row decoding: the shapes are fixed by `queries`; anything else is a broken server or query.

fn single(rows: &[Row]) -> anyhow::Result<&Value> {
    match rows {
        [row] => match row.as_slice() {
            [value] => Ok(value),
            _ => bail!("expected one column, got {row:?}"),
        },
        _ => bail!("expected one row, got {}", rows.len()),
    }
}

fn single_bool(rows: &[Row]) -> anyhow::Result<bool> {
    match single(rows)? {
        Value::Bool(b) => Ok(*b),
        other => bail!("expected a boolean, got {other:?}"),
    }
}

/// A count; no row at all counts nothing.
fn single_count(rows: &[Row]) -> anyhow::Result<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    match single(rows)? {
        Value::Int(n) => Ok(count(*n)),
        other => bail!("expected a count, got {other:?}"),
    }
}

/// Counters never go below zero; a negative one would be a bug elsewhere, read as zero.
fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn user_id(value: &Value) -> anyhow::Result<UserId> {
    match value {
        Value::Str(raw) => raw
            .parse()
            .with_context(|| format!("corrupt user id in the graph: {raw:?}")),
        other => bail!("expected a user id, got {other:?}"),
    }
}

fn ids(rows: &[Row]) -> anyhow::Result<Vec<UserId>> {
    rows.iter()
        .map(|row| match row.as_slice() {
            [id] => user_id(id),
            _ => bail!("expected one column, got {row:?}"),
        })
        .collect()
}

fn relations(rows: &[Row]) -> anyhow::Result<Vec<Relation>> {
    rows.iter()
        .map(|row| match row.as_slice() {
            [id, Value::Int(since)] => Ok(Relation {
                user: user_id(id)?,
                since: Timestamp::from_millis(*since),
            }),
            _ => bail!("expected (id, since), got {row:?}"),
        })
        .collect()
}

/// No row: the user has no node yet, so nobody follows them and they follow nobody.
fn counts(rows: &[Row]) -> anyhow::Result<FollowCounts> {
    match rows {
        [] => Ok(FollowCounts::default()),
        [row] => match row.as_slice() {
            [Value::Int(followers), Value::Int(following)] => Ok(FollowCounts {
                followers: count(*followers),
                following: count(*following),
            }),
            _ => bail!("expected (followers, following), got {row:?}"),
        },
        _ => bail!("expected at most one row, got {}", rows.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(raw: &str) -> Value {
        Value::Str(raw.to_owned())
    }

    #[test]
    fn relations_decode_id_and_since() -> anyhow::Result<()> {
        let user = UserId::new();
        let rows = vec![vec![s(&user.to_string()), Value::Int(1_700_000_000_123)]];
        assert_eq!(
            relations(&rows)?,
            vec![Relation {
                user,
                since: Timestamp::from_millis(1_700_000_000_123),
            }]
        );
        assert!(relations(&[vec![s("not-a-uuid"), Value::Int(1)]]).is_err());
        assert!(relations(&[vec![s(&user.to_string()), s("1")]]).is_err());
        assert!(relations(&[vec![s(&user.to_string())]]).is_err());
        Ok(())
    }

    #[test]
    fn ids_decode_in_order_and_refuse_other_types() -> anyhow::Result<()> {
        let (a, b) = (UserId::new(), UserId::new());
        let rows = vec![vec![s(&b.to_string())], vec![s(&a.to_string())]];
        assert_eq!(ids(&rows)?, vec![b, a]);
        assert_eq!(ids(&[])?, vec![]);
        assert!(ids(&[vec![Value::Int(7)]]).is_err());
        assert!(ids(&[vec![Value::Null]]).is_err());
        Ok(())
    }

    #[test]
    fn counts_of_a_missing_node_are_zero() -> anyhow::Result<()> {
        assert_eq!(counts(&[])?, FollowCounts::default());
        assert_eq!(
            counts(&[vec![Value::Int(3), Value::Int(-1)]])?,
            FollowCounts {
                followers: 3,
                following: 0
            }
        );
        let row = vec![Value::Int(1), Value::Int(1)];
        assert!(counts(&[row.clone(), row]).is_err());
        assert!(counts(&[vec![Value::Null, Value::Int(1)]]).is_err());
        Ok(())
    }

    #[test]
    fn single_values_need_exactly_one_row_and_column() -> anyhow::Result<()> {
        assert!(single_bool(&[vec![Value::Bool(true)]])?);
        assert!(!single_bool(&[vec![Value::Bool(false)]])?);
        assert!(single_bool(&[]).is_err());
        assert!(single_bool(&[vec![Value::Int(1)]]).is_err());
        assert_eq!(single_count(&[vec![Value::Int(2)]])?, 2);
        assert_eq!(single_count(&[])?, 0);
        assert!(single_count(&[vec![Value::Int(1), Value::Int(1)]]).is_err());
        assert!(single_count(&[vec![Value::Int(1)], vec![Value::Int(1)]]).is_err());
        Ok(())
    }
}
