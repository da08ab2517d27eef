//! The `UserStore` and `PostStore` contract: the source of truth for users and posts, each write
//! committed together with its outbox event (checked through `Outbox::pending`).

use std::collections::HashMap;
use std::sync::Arc;

use futures::FutureExt as _;

use anyhow::{Context as _, bail, ensure};
use rookery::domain::{
    DisplayName, Email, Event, EventId, EventPayload, Login, NewPost, NewUser, Post, PostContent,
    PostId, Timestamp, User, UserId, UserSummary, Username,
};
use rookery::ports::{CreateUserError, Outbox, OutboxEntry, PostStore, UserStore};

use super::{check_eq, unique_suffix};

/// Runs every check. `outbox` must read the outbox that `users` and `posts` write to. Every
/// check creates fresh users, so the store may hold other data.
pub async fn user_and_post_store(
    users: Arc<dyn UserStore>,
    posts: Arc<dyn PostStore>,
    outbox: Arc<dyn Outbox>,
) -> anyhow::Result<()> {
    let (users, posts, outbox) = (&*users, &*posts, &*outbox);
    super::every_check(
        "user and post store",
        vec![
            (
                "create_user_and_look_it_up",
                create_user_and_look_it_up(users, outbox).boxed_local(),
            ),
            (
                "taken_username_or_email_is_refused_and_leaves_nothing",
                taken_username_or_email_is_refused_and_leaves_nothing(users, outbox).boxed_local(),
            ),
            (
                "summaries_skip_unknown_ids",
                summaries_skip_unknown_ids(users).boxed_local(),
            ),
            (
                "create_and_read_posts",
                create_and_read_posts(users, posts, outbox).boxed_local(),
            ),
            (
                "delete_post",
                delete_post(users, posts, outbox).boxed_local(),
            ),
            (
                "replies_mentions_and_tags",
                super::conversations::replies_mentions_and_tags(users, posts, outbox).boxed_local(),
            ),
            (
                "likes_and_counts",
                super::conversations::likes_and_counts(users, posts, outbox).boxed_local(),
            ),
            (
                "reposts_and_counts",
                super::conversations::reposts_and_counts(users, posts, outbox).boxed_local(),
            ),
            (
                "feeds_with_reposts",
                super::conversations::feeds_with_reposts(users, posts).boxed_local(),
            ),
            (
                "home_feed_rule_for_replies",
                super::conversations::home_feed_rule_for_replies(users, posts).boxed_local(),
            ),
            (
                "summaries_by_username",
                super::conversations::summaries_by_username(users).boxed_local(),
            ),
        ],
    )
    .await
}

/// A registration and its event, as the accounts use case builds them.
fn registration(username: &str, email: &str) -> anyhow::Result<(NewUser, Event)> {
    let username = Username::parse(username)?;
    let email = Email::parse(email)?;
    let display_name = DisplayName::parse(&format!("Display {username}"))?;
    let user = NewUser {
        id: UserId::new(),
        password_hash: format!("hash-of-{}", unique_suffix()),
        created_at: Timestamp::now(),
        username,
        email,
        display_name,
    };
    let event = Event::new(EventPayload::UserRegistered {
        user_id: user.id,
        username: user.username.to_string(),
        email: user.email.as_str().to_owned(),
        display_name: user.display_name.as_str().to_owned(),
    });
    Ok((user, event))
}

/// Registers a fresh user whose name starts with `prefix`.
pub(super) async fn fresh_user(users: &dyn UserStore, prefix: &str) -> anyhow::Result<User> {
    let suffix = unique_suffix();
    let (new, event) = registration(
        &format!("{prefix}_{suffix}"),
        &format!("{prefix}.{suffix}@example.com"),
    )?;
    Ok(users.create_user(&new, &event).await?)
}

pub(super) fn post_draft(author: UserId, content: &str) -> anyhow::Result<(NewPost, Event)> {
    let post = NewPost {
        id: PostId::new(),
        author_id: author,
        content: PostContent::parse(content)?,
        created_at: Timestamp::now(),
        in_reply_to: None,
        mentions: Vec::new(),
        tags: Vec::new(),
        idempotency: None,
    };
    let event = Event::new(EventPayload::post_created(post.id, author));
    Ok((post, event))
}

pub(super) fn deletion(post: PostId, author: UserId) -> Event {
    Event::new(EventPayload::PostDeleted {
        post_id: post,
        author_id: author,
        reposted_by: Vec::new(),
    })
}

/// The pending outbox entry of this event, if any.
pub(super) async fn pending_entry(
    outbox: &dyn Outbox,
    id: EventId,
) -> anyhow::Result<Option<OutboxEntry>> {
    Ok(outbox
        .pending(100_000)
        .await?
        .into_iter()
        .find(|entry| entry.event.id == id))
}

/// Checks that `event` is pending, unchanged and never attempted.
pub(super) async fn ensure_pending(
    outbox: &dyn Outbox,
    event: &Event,
    what: &str,
) -> anyhow::Result<()> {
    let Some(entry) = pending_entry(outbox, event.id).await? else {
        bail!(
            "{what}: event {} ({}) is not pending",
            event.id,
            event.kind()
        );
    };
    check_eq(&entry.event, event, &format!("{what}: pending event"))?;
    check_eq(entry.attempts, 0, &format!("{what}: attempts"))?;
    Ok(())
}

async fn ensure_not_in_outbox(
    outbox: &dyn Outbox,
    event: &Event,
    what: &str,
) -> anyhow::Result<()> {
    ensure!(
        pending_entry(outbox, event.id).await?.is_none(),
        "{what}: event {} ({}) was written to the outbox",
        event.id,
        event.kind()
    );
    Ok(())
}

async fn create_user_and_look_it_up(
    users: &dyn UserStore,
    outbox: &dyn Outbox,
) -> anyhow::Result<()> {
    let suffix = unique_suffix();
    let username = format!("AnnLee_{suffix}");
    let (new, event) = registration(&username, &format!("Ann.Lee.{suffix}@Example.COM"))?;
    let email = format!("ann.lee.{suffix}@example.com");
    let created = users.create_user(&new, &event).await?;
    let want = User {
        id: new.id,
        username: username.clone(),
        email: email.clone(),
        display_name: format!("Display {username}"),
        bio: String::new(),
        created_at: new.created_at,
    };
    check_eq(
        &created,
        &want,
        "create_user() result (name keeps its case)",
    )?;
    ensure_pending(outbox, &event, "create_user()").await?;

    check_eq(
        users.user_by_id(new.id).await?.as_ref(),
        Some(&want),
        "user_by_id()",
    )?;
    check_eq(
        users.user_by_id(UserId::new()).await?,
        None,
        "user_by_id(unknown)",
    )?;
    for spelling in [
        username.clone(),
        username.to_lowercase(),
        username.to_uppercase(),
    ] {
        check_eq(
            users.user_by_username(&spelling).await?.as_ref(),
            Some(&want),
            &format!("user_by_username({spelling:?})"),
        )?;
    }
    check_eq(
        users.user_by_username(&format!("Bob_{suffix}")).await?,
        None,
        "user_by_username(unknown)",
    )?;
    check_eq(
        users.user_by_username(&email).await?,
        None,
        "user_by_username(the e-mail address)",
    )?;

    for login in [
        username.clone(),
        username.to_lowercase(),
        username.to_uppercase(),
        email.clone(),
        email.to_uppercase(),
        format!("Ann.Lee.{suffix}@Example.COM"),
    ] {
        let parsed = Login::parse(&login).context("a valid login")?;
        let Some(credentials) = users.credentials(&parsed).await? else {
            bail!("credentials({login:?}) found nobody");
        };
        check_eq(
            credentials.id,
            new.id,
            &format!("credentials({login:?}).id"),
        )?;
        check_eq(
            credentials.password_hash.as_str(),
            new.password_hash.as_str(),
            &format!("credentials({login:?}).password_hash"),
        )?;
    }
    for login in [format!("Bob_{suffix}"), format!("bob.{suffix}@example.com")] {
        ensure!(
            users
                .credentials(&Login::parse(&login).context("a valid login")?)
                .await?
                .is_none(),
            "credentials({login:?}) found someone"
        );
    }
    Ok(())
}

async fn taken_username_or_email_is_refused_and_leaves_nothing(
    users: &dyn UserStore,
    outbox: &dyn Outbox,
) -> anyhow::Result<()> {
    let first = fresh_user(users, "Carol").await?;
    let suffix = unique_suffix();

    // The same name in other letter case, with a free address.
    let (dup_name, dup_name_event) = registration(
        &first.username.to_uppercase(),
        &format!("other.{suffix}@example.com"),
    )?;
    match users.create_user(&dup_name, &dup_name_event).await {
        Err(CreateUserError::UsernameTaken) => {}
        other => bail!("username taken in other case: want UsernameTaken, got {other:?}"),
    }
    ensure_not_in_outbox(outbox, &dup_name_event, "refused registration (username)").await?;
    check_eq(
        users.user_by_id(dup_name.id).await?,
        None,
        "user of a refused registration (username)",
    )?;
    // The free address stayed free: a registration with it succeeds.
    let (reuse, reuse_event) = registration(
        &format!("Dave_{suffix}"),
        &format!("other.{suffix}@example.com"),
    )?;
    users.create_user(&reuse, &reuse_event).await?;

    // The same address in other letter case, with a free name.
    let (dup_mail, dup_mail_event) =
        registration(&format!("Erin_{suffix}"), &first.email.to_uppercase())?;
    match users.create_user(&dup_mail, &dup_mail_event).await {
        Err(CreateUserError::EmailTaken) => {}
        other => bail!("e-mail taken in other case: want EmailTaken, got {other:?}"),
    }
    ensure_not_in_outbox(outbox, &dup_mail_event, "refused registration (e-mail)").await?;
    check_eq(
        users.user_by_id(dup_mail.id).await?,
        None,
        "user of a refused registration (e-mail)",
    )?;
    check_eq(
        users.user_by_username(&format!("erin_{suffix}")).await?,
        None,
        "name of a refused registration (e-mail)",
    )?;

    // Both taken: either answer, never another error.
    let (both, both_event) = registration(&first.username.to_lowercase(), &first.email)?;
    match users.create_user(&both, &both_event).await {
        Err(CreateUserError::UsernameTaken | CreateUserError::EmailTaken) => {}
        other => bail!("name and e-mail taken: want UsernameTaken or EmailTaken, got {other:?}"),
    }
    ensure_not_in_outbox(outbox, &both_event, "refused registration (both)").await?;

    // The first user is untouched.
    check_eq(
        users.user_by_username(&first.username).await?.as_ref(),
        Some(&first),
        "the first user after refused duplicates",
    )?;
    let login = Login::parse(&first.email).context("a valid login")?;
    let credentials = users.credentials(&login).await?;
    check_eq(
        credentials.map(|c| c.id),
        Some(first.id),
        "credentials of the first user after refused duplicates",
    )?;
    Ok(())
}

async fn summaries_skip_unknown_ids(users: &dyn UserStore) -> anyhow::Result<()> {
    let a = fresh_user(users, "Fay").await?;
    let b = fresh_user(users, "Gus").await?;
    let mut got = users
        .summaries(&[b.id, UserId::new(), a.id, UserId::new()])
        .await?;
    got.sort_by_key(|s| s.id);
    let mut want = vec![UserSummary::from(&a), UserSummary::from(&b)];
    want.sort_by_key(|s| s.id);
    check_eq(got, want, "summaries() of two users and two unknown ids")?;
    check_eq(users.summaries(&[]).await?, vec![], "summaries(none)")?;
    check_eq(
        users.summaries(&[UserId::new()]).await?,
        vec![],
        "summaries(unknown)",
    )?;
    Ok(())
}

async fn create_and_read_posts(
    users: &dyn UserStore,
    posts: &dyn PostStore,
    outbox: &dyn Outbox,
) -> anyhow::Result<()> {
    let ann = fresh_user(users, "Hal").await?;
    let bob = fresh_user(users, "Ivy").await?;

    // Interleaved authors: a0, b0, a1, b1, a2 (ids minted in that order).
    let mut created: Vec<Post> = Vec::new();
    for (i, author) in [&ann, &bob, &ann, &bob, &ann].into_iter().enumerate() {
        let (new, event) = post_draft(author.id, &format!("  post {i} by {}  ", author.username))?;
        let post = posts.create_post(&new, &event).await?;
        let want = Post {
            id: new.id,
            author: UserSummary::from(author),
            content: format!("post {i} by {}", author.username),
            created_at: new.created_at,
            in_reply_to: None,
            mentions: Vec::new(),
            tags: Vec::new(),
        };
        check_eq(&post, &want, "create_post() result")?;
        ensure_pending(outbox, &event, "create_post()").await?;
        check_eq(
            posts.post(new.id).await?.as_ref(),
            Some(&want),
            "post() after create_post()",
        )?;
        created.push(post);
    }
    let ids: Vec<PostId> = created.iter().map(|p| p.id).collect();
    let (a0, b0, a1, b1, a2) = (ids[0], ids[1], ids[2], ids[3], ids[4]);
    check_eq(posts.post(PostId::new()).await?, None, "post(unknown)")?;

    // posts(): a batch, unknown ids left out.
    let by_id: HashMap<PostId, &Post> = created.iter().map(|p| (p.id, p)).collect();
    let mut got = posts.posts(&[b1, PostId::new(), a0]).await?;
    got.sort_by_key(|p| p.id);
    let want: Vec<Post> = [a0, b1]
        .iter()
        .filter_map(|id| by_id.get(id).map(|p| (*p).clone()))
        .collect();
    check_eq(got, want, "posts() of two posts and an unknown id")?;
    check_eq(posts.posts(&[]).await?, vec![], "posts(none)")?;

    // post_ids_by_authors(): newest first, strictly older than `before`, at most `limit`.
    let both = [ann.id, bob.id];
    type Case<'a> = (&'a [UserId], Option<PostId>, usize, Vec<PostId>);
    let cases: Vec<Case<'_>> = vec![
        (&both, None, 100, vec![a2, b1, a1, b0, a0]),
        (&both, None, 2, vec![a2, b1]),
        (&both, Some(b1), 100, vec![a1, b0, a0]),
        (&both, Some(b1), 2, vec![a1, b0]),
        (&both, Some(a0), 100, vec![]),
        (&both, Some(PostId::new()), 100, vec![a2, b1, a1, b0, a0]),
        (&both[..1], None, 100, vec![a2, a1, a0]),
        (&both[..1], Some(a2), 100, vec![a1, a0]),
        (&both[..1], Some(b1), 1, vec![a1]),
        (&both[1..], None, 100, vec![b1, b0]),
        (&[], None, 100, vec![]),
    ];
    for (authors, before, limit, want) in cases {
        check_eq(
            posts.post_ids_by_authors(authors, before, limit).await?,
            want,
            &format!(
                "post_ids_by_authors({} authors, {before:?}, {limit})",
                authors.len()
            ),
        )?;
    }
    check_eq(
        posts
            .post_ids_by_authors(&[UserId::new()], None, 100)
            .await?,
        vec![],
        "post_ids_by_authors(unknown author)",
    )?;
    check_eq(
        posts.count_by_author(ann.id).await?,
        3,
        "count_by_author(ann)",
    )?;
    check_eq(
        posts.count_by_author(bob.id).await?,
        2,
        "count_by_author(bob)",
    )?;
    check_eq(
        posts.count_by_author(UserId::new()).await?,
        0,
        "count_by_author(unknown)",
    )?;

    // A write that fails stores neither the post nor its event: a post id that is taken...
    let (mut clash, clash_event) = post_draft(bob.id, "a clashing post")?;
    clash.id = a0;
    ensure!(
        posts.create_post(&clash, &clash_event).await.is_err(),
        "create_post() with a taken id must fail"
    );
    ensure_not_in_outbox(outbox, &clash_event, "create_post() with a taken id").await?;
    check_eq(
        posts.post(a0).await?.as_ref(),
        by_id.get(&a0).copied(),
        "the post whose id was reused",
    )?;
    // ...or an author who does not exist.
    let (orphan, orphan_event) = post_draft(UserId::new(), "a post by nobody")?;
    ensure!(
        posts.create_post(&orphan, &orphan_event).await.is_err(),
        "create_post() by an unknown author must fail"
    );
    ensure_not_in_outbox(outbox, &orphan_event, "create_post() by an unknown author").await?;
    check_eq(
        posts.post(orphan.id).await?,
        None,
        "post by an unknown author",
    )?;
    check_eq(
        posts.count_by_author(bob.id).await?,
        2,
        "count after failed writes",
    )?;
    Ok(())
}

async fn delete_post(
    users: &dyn UserStore,
    posts: &dyn PostStore,
    outbox: &dyn Outbox,
) -> anyhow::Result<()> {
    let author = fresh_user(users, "Jan").await?;
    let (kept, kept_event) = post_draft(author.id, "kept")?;
    let (doomed, doomed_event) = post_draft(author.id, "doomed")?;
    posts.create_post(&kept, &kept_event).await?;
    posts.create_post(&doomed, &doomed_event).await?;
    check_eq(
        posts.count_by_author(author.id).await?,
        2,
        "count before delete",
    )?;

    let event = deletion(doomed.id, author.id);
    ensure!(
        posts.delete_post(doomed.id, &event).await?,
        "delete_post() of an existing post must return true"
    );
    ensure_pending(outbox, &event, "delete_post()").await?;
    check_eq(posts.post(doomed.id).await?, None, "post() after delete")?;
    check_eq(
        posts.posts(&[doomed.id]).await?,
        vec![],
        "posts() after delete",
    )?;
    check_eq(
        posts.count_by_author(author.id).await?,
        1,
        "count after delete",
    )?;
    check_eq(
        posts.post_ids_by_authors(&[author.id], None, 100).await?,
        vec![kept.id],
        "post_ids_by_authors() after delete",
    )?;

    let again = deletion(doomed.id, author.id);
    ensure!(
        !posts.delete_post(doomed.id, &again).await?,
        "a second delete_post() must return false"
    );
    ensure_not_in_outbox(outbox, &again, "delete_post() of a missing post").await?;
    let missing = PostId::new();
    let unknown = deletion(missing, author.id);
    ensure!(
        !posts.delete_post(missing, &unknown).await?,
        "delete_post() of an unknown id must return false"
    );
    ensure_not_in_outbox(outbox, &unknown, "delete_post() of an unknown id").await?;
    check_eq(
        posts.count_by_author(author.id).await?,
        1,
        "count after no-op deletes",
    )?;
    ensure!(
        posts.post(kept.id).await?.is_some(),
        "the other post vanished"
    );
    Ok(())
}
