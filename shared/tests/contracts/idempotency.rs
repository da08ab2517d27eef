//! The idempotency part of the `PostStore` contract (DESIGN 4.4): a post's claim on its key is
//! stored with it; the same key with the same request answers the first post and stores
//! nothing, with another request it is refused; a claim past its window is replaced; of two
//! concurrent posts with one key exactly one is stored; pruning takes expired claims only.
//! Run against every SQL store.

use anyhow::{bail, ensure};
use futures::FutureExt as _;
use rookery::domain::{
    IDEMPOTENCY_WINDOW, IdempotencyClaim, IdempotencyKey, NewPost, PostContent, PostId, Timestamp,
    UserId,
};
use rookery::ports::{CreatePostError, PostStore, UserStore};

use super::store::{fresh_user, post_draft};
use super::{check_eq, unique_suffix};

pub async fn idempotent_posts(users: &dyn UserStore, posts: &dyn PostStore) -> anyhow::Result<()> {
    super::every_check(
        "idempotent posts",
        vec![
            (
                "a_repeat_answers_the_first_post",
                a_repeat_answers_the_first_post(users, posts).boxed_local(),
            ),
            (
                "keys_are_per_author",
                keys_are_per_author(users, posts).boxed_local(),
            ),
            (
                "an_expired_claim_is_replaced",
                an_expired_claim_is_replaced(users, posts).boxed_local(),
            ),
            (
                "concurrent_posts_with_one_key_store_one",
                concurrent_posts_with_one_key_store_one(users, posts).boxed_local(),
            ),
            (
                "pruning_takes_expired_claims_only",
                pruning_takes_expired_claims_only(users, posts).boxed_local(),
            ),
        ],
    )
    .await
}

/// A draft of `content` by `author` at `created_at`, claiming `key`.
fn claiming(
    author: UserId,
    content: &str,
    key: &str,
    created_at: Timestamp,
) -> anyhow::Result<(NewPost, rookery::domain::Event)> {
    let (mut post, event) = post_draft(author, content)?;
    post.created_at = created_at;
    post.idempotency = Some(IdempotencyClaim::new(
        IdempotencyKey::parse(key)?,
        &PostContent::parse(content)?,
        None,
    ));
    Ok((post, event))
}

fn window_millis() -> i64 {
    i64::try_from(IDEMPOTENCY_WINDOW.as_millis()).unwrap_or(i64::MAX)
}

async fn count(posts: &dyn PostStore, author: UserId) -> anyhow::Result<u64> {
    posts.count_by_author(author).await
}

async fn a_repeat_answers_the_first_post(
    users: &dyn UserStore,
    posts: &dyn PostStore,
) -> anyhow::Result<()> {
    let ann = fresh_user(users, "Ida").await?;
    let key = unique_suffix();
    let now = Timestamp::now();
    let (first, event) = claiming(ann.id, "once", &key, now)?;
    let created = posts.create_post(&first, &event).await?;
    let (again, event) = claiming(ann.id, "once", &key, now)?;
    match posts.create_post(&again, &event).await {
        Err(CreatePostError::AlreadyCreated(id)) => check_eq(id, created.id, "replayed post")?,
        other => bail!("a repeat: {other:?}"),
    }
    let (other, event) = claiming(ann.id, "twice?", &key, now)?;
    match posts.create_post(&other, &event).await {
        Err(CreatePostError::KeyReused) => {}
        other => bail!("another body under the key: {other:?}"),
    }
    ensure!(
        posts.post(again.id).await?.is_none(),
        "the repeat stored its post"
    );
    check_eq(count(posts, ann.id).await?, 1, "ann's posts")
}

async fn keys_are_per_author(users: &dyn UserStore, posts: &dyn PostStore) -> anyhow::Result<()> {
    let ann = fresh_user(users, "Ika").await?;
    let bob = fresh_user(users, "Ikb").await?;
    let key = unique_suffix();
    for author in [ann.id, bob.id] {
        let (post, event) = claiming(author, "same words", &key, Timestamp::now())?;
        posts.create_post(&post, &event).await?;
        check_eq(count(posts, author).await?, 1, "posts")?;
    }
    Ok(())
}

async fn an_expired_claim_is_replaced(
    users: &dyn UserStore,
    posts: &dyn PostStore,
) -> anyhow::Result<()> {
    let ann = fresh_user(users, "Iea").await?;
    let key = unique_suffix();
    let now = Timestamp::now().millis();
    let long_ago = Timestamp::from_millis(now - window_millis() - 60_000);
    let (old, event) = claiming(ann.id, "yesterday", &key, long_ago)?;
    posts.create_post(&old, &event).await?;
    // Another body under the key, once the window is over: a new post, and the key is its.
    let (new, event) = claiming(ann.id, "today", &key, Timestamp::from_millis(now))?;
    let created = posts.create_post(&new, &event).await?;
    let (again, event) = claiming(ann.id, "today", &key, Timestamp::from_millis(now))?;
    match posts.create_post(&again, &event).await {
        Err(CreatePostError::AlreadyCreated(id)) => check_eq(id, created.id, "replayed post"),
        other => bail!("a repeat of the new claim: {other:?}"),
    }
}

async fn concurrent_posts_with_one_key_store_one(
    users: &dyn UserStore,
    posts: &dyn PostStore,
) -> anyhow::Result<()> {
    let ann = fresh_user(users, "Ica").await?;
    let key = unique_suffix();
    let drafts = (0..4)
        .map(|_| claiming(ann.id, "one of four", &key, Timestamp::now()))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let outcomes = futures::future::join_all(
        drafts
            .iter()
            .map(|(post, event)| posts.create_post(post, event)),
    )
    .await;
    let mut stored: Vec<PostId> = Vec::new();
    let mut replayed: Vec<PostId> = Vec::new();
    for outcome in outcomes {
        match outcome {
            Ok(post) => stored.push(post.id),
            Err(CreatePostError::AlreadyCreated(id)) => replayed.push(id),
            Err(other) => bail!("a concurrent post: {other:?}"),
        }
    }
    check_eq(stored.len(), 1, "posts stored")?;
    ensure!(
        replayed.iter().all(|id| Some(id) == stored.first()),
        "replays name another post: {replayed:?} vs {stored:?}"
    );
    check_eq(count(posts, ann.id).await?, 1, "ann's posts")
}

async fn pruning_takes_expired_claims_only(
    users: &dyn UserStore,
    posts: &dyn PostStore,
) -> anyhow::Result<()> {
    let ann = fresh_user(users, "Ipa").await?;
    let (old_key, live_key) = (unique_suffix(), unique_suffix());
    let now = Timestamp::now().millis();
    // Claims far in the past: older than anything another check of the suite leaves behind.
    let ancient = Timestamp::from_millis(now - 400 * window_millis());
    let (old, event) = claiming(ann.id, "old", &old_key, ancient)?;
    posts.create_post(&old, &event).await?;
    let (live, event) = claiming(ann.id, "live", &live_key, Timestamp::from_millis(now))?;
    let live_post = posts.create_post(&live, &event).await?;
    let bound = Timestamp::from_millis(now - 200 * window_millis());
    let pruned = posts.prune_idempotency_keys(bound, 1_000).await?;
    ensure!(pruned >= 1, "nothing pruned");
    // The old claim is gone (its key takes another body); the live one holds.
    let (reuse, event) = claiming(ann.id, "another", &old_key, Timestamp::from_millis(now))?;
    posts.create_post(&reuse, &event).await?;
    let (again, event) = claiming(ann.id, "live", &live_key, Timestamp::from_millis(now))?;
    match posts.create_post(&again, &event).await {
        Err(CreatePostError::AlreadyCreated(id)) => check_eq(id, live_post.id, "live claim"),
        other => bail!("a repeat of the live claim after pruning: {other:?}"),
    }
}
