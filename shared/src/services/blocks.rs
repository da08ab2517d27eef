//! Blocks and mutes (DESIGN 4.4): setting and lifting them, listing them, and what the other
//! use cases ask of them (may these two touch each other, whom does this reader not see).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::domain::{
    Cursor as _, Event, EventPayload, Hidden, Limit, Page, Relation, RelationCursor, Restriction,
    Timestamp, User, UserId, UserSummary, Username, ValidationError,
};

use super::follow::{find_user, summaries_in_order};
use super::{Context, ServiceError, ServiceResult};

async fn other_user(
    ctx: &Context,
    me: UserId,
    username: &Username,
    kind: Restriction,
) -> ServiceResult<User> {
    let user = find_user(ctx, username).await?;
    if user.id == me {
        let reason = format!("you cannot {} yourself", kind.as_str());
        return Err(ValidationError::new("username", reason).into());
    }
    Ok(user)
}

/// `me` blocks the user; blocking again changes nothing. The follows between the two end
/// here, so that the answer is already true when it arrives; the `user.blocked` event, stored
/// with the block, has its consumer end them again (for a request that stopped before the
/// graph, or a follow that raced the block) and clear the feed entries they brought.
#[tracing::instrument(skip(ctx))]
pub async fn block(ctx: &Context, me: UserId, username: &Username) -> ServiceResult<()> {
    let other = other_user(ctx, me, username, Restriction::Block).await?;
    ctx.acting_user(me).await?;
    let event = Event::new(EventPayload::UserBlocked {
        blocker_id: me,
        blocked_id: other.id,
    });
    let new = ctx
        .blocks()?
        .restrict(
            Restriction::Block,
            me,
            other.id,
            Timestamp::now(),
            Some(&event),
        )
        .await?;
    ctx.hidden.forget(&[me, other.id]);
    if new {
        ctx.event_written();
    }
    let graph = ctx.graph()?;
    let (mine, theirs) =
        tokio::try_join!(graph.unfollow(me, other.id), graph.unfollow(other.id, me))?;
    if mine || theirs {
        ctx.popular.forget();
    }
    Ok(())
}

/// `me` mutes the user: their posts and notifications stay away from `me`, nothing else
/// changes, and nobody is told (no event).
#[tracing::instrument(skip(ctx))]
pub async fn mute(ctx: &Context, me: UserId, username: &Username) -> ServiceResult<()> {
    let other = other_user(ctx, me, username, Restriction::Mute).await?;
    ctx.acting_user(me).await?;
    ctx.blocks()?
        .restrict(Restriction::Mute, me, other.id, Timestamp::now(), None)
        .await?;
    ctx.hidden.forget(&[me, other.id]);
    Ok(())
}

/// Lifting a block ends it and nothing more: the follows it ended stay ended.
#[tracing::instrument(skip(ctx))]
pub async fn unblock(ctx: &Context, me: UserId, username: &Username) -> ServiceResult<()> {
    lift(ctx, me, username, Restriction::Block).await
}

#[tracing::instrument(skip(ctx))]
pub async fn unmute(ctx: &Context, me: UserId, username: &Username) -> ServiceResult<()> {
    lift(ctx, me, username, Restriction::Mute).await
}

async fn lift(
    ctx: &Context,
    me: UserId,
    username: &Username,
    kind: Restriction,
) -> ServiceResult<()> {
    let other = other_user(ctx, me, username, kind).await?;
    ctx.blocks()?.lift(kind, me, other.id).await?;
    ctx.hidden.forget(&[me, other.id]);
    Ok(())
}

/// Whom `me` blocks, newest block first.
pub async fn blocks(
    ctx: &Context,
    me: UserId,
    cursor: Option<&str>,
    limit: Limit,
) -> ServiceResult<Page<UserSummary>> {
    restricted(ctx, me, Restriction::Block, cursor, limit).await
}

/// Whom `me` mutes, newest mute first.
pub async fn mutes(
    ctx: &Context,
    me: UserId,
    cursor: Option<&str>,
    limit: Limit,
) -> ServiceResult<Page<UserSummary>> {
    restricted(ctx, me, Restriction::Mute, cursor, limit).await
}

async fn restricted(
    ctx: &Context,
    me: UserId,
    kind: Restriction,
    cursor: Option<&str>,
    limit: Limit,
) -> ServiceResult<Page<UserSummary>> {
    let after = cursor.map(RelationCursor::decode).transpose()?;
    let found = ctx
        .blocks()?
        .restricted(kind, me, after, limit.probe())
        .await?;
    let page = Page::from_probe(found, limit, |relation: &Relation| {
        RelationCursor {
            since: relation.since,
            user: relation.user,
        }
        .encode()
    });
    let ids: Vec<UserId> = page.items.iter().map(|relation| relation.user).collect();
    Ok(Page {
        items: summaries_in_order(ctx, &ids).await?,
        next_cursor: page.next_cursor,
    })
}

/// What one user may not do to another when a block stands between them.
#[derive(Debug, Clone, Copy)]
pub(super) enum Contact {
    Follow,
    /// Like, repost or reply to their posts.
    Interact,
}

/// 403 when a block stands between `me` and `other`, either way: neither may follow the other
/// nor like, repost or answer the other's posts.
pub(super) async fn ensure_not_blocked(
    ctx: &Context,
    me: UserId,
    other: UserId,
    contact: Contact,
) -> ServiceResult<()> {
    if me == other {
        return Ok(());
    }
    let standing = ctx.blocks()?.standing(me, other).await?;
    let refusal = match (contact, standing.blocking, standing.blocked_by) {
        (_, false, false) => return Ok(()),
        (Contact::Follow, true, _) => "you block this user: unblock them to follow them",
        (Contact::Interact, true, _) => {
            "you block this post's author: unblock them to interact with their posts"
        }
        (Contact::Follow, false, true) => "this user does not allow you to follow them",
        (Contact::Interact, false, true) => {
            "this post's author does not allow you to interact with their posts"
        }
    };
    Err(ServiceError::Forbidden(refusal))
}

/// Whom `reader` does not see; nobody for an anonymous reader (no query then).
pub(super) async fn hidden_from(
    ctx: &Context,
    reader: Option<UserId>,
) -> ServiceResult<Arc<Hidden>> {
    let Some(reader) = reader else {
        return Ok(Arc::default());
    };
    if let Some(hidden) = ctx.hidden.get(reader) {
        return Ok(hidden);
    }
    let hidden = Arc::new(ctx.blocks()?.hidden_from(reader).await?);
    ctx.hidden.put(reader, hidden.clone());
    Ok(hidden)
}

/// How long a reader's hidden set is trusted.
const HIDDEN_TTL: Duration = Duration::from_secs(1);
/// Readers remembered at once; past it, the stale ones go, and all of them if none is stale.
const HIDDEN_READERS: usize = 10_000;

/// Whom each recent reader hides, remembered for a second. Every feed page, reply page and
/// context asks; without this, each asks the store. A block or mute made in this process forgets
/// both users' sets at once; one made in another process (another Lambda function) shows
/// within the second, inside the eventual consistency feeds already have.
#[derive(Default)]
pub struct HiddenCache {
    readers: Mutex<HashMap<UserId, (Instant, Arc<Hidden>)>>,
}

impl HiddenCache {
    fn get(&self, reader: UserId) -> Option<Arc<Hidden>> {
        let readers = self.readers.lock().ok()?;
        let (at, hidden) = readers.get(&reader)?;
        (at.elapsed() < HIDDEN_TTL).then(|| hidden.clone())
    }

    fn put(&self, reader: UserId, hidden: Arc<Hidden>) {
        let Ok(mut readers) = self.readers.lock() else {
            return;
        };
        if readers.len() >= HIDDEN_READERS {
            readers.retain(|_, (at, _)| at.elapsed() < HIDDEN_TTL);
            if readers.len() >= HIDDEN_READERS {
                readers.clear();
            }
        }
        readers.insert(reader, (Instant::now(), hidden));
    }

    /// Forgets what these users hide: a block or mute between them changed it.
    fn forget(&self, users: &[UserId]) {
        if let Ok(mut readers) = self.readers.lock() {
            for user in users {
                readers.remove(user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hidden_cache_forgets_on_demand_and_stays_bounded() {
        let cache = HiddenCache::default();
        let (ann, bob) = (UserId::new(), UserId::new());
        let hides_bob = Arc::new(Hidden {
            blocked: [bob].into_iter().collect(),
            ..Hidden::default()
        });
        cache.put(ann, hides_bob.clone());
        assert_eq!(cache.get(ann), Some(hides_bob));
        assert_eq!(cache.get(bob), None);
        cache.forget(&[bob, ann]);
        assert_eq!(cache.get(ann), None, "a block between them changed it");
        for _ in 0..=HIDDEN_READERS {
            cache.put(UserId::new(), Arc::default());
        }
        let held = cache.readers.lock().map(|r| r.len()).unwrap_or(usize::MAX);
        assert!(held <= HIDDEN_READERS, "{held} readers held");
    }
}
