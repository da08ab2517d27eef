//! The account side of the SQL store (DESIGN 4.3): profile edits, prefix search, password
//! changes, sessions with rotating refresh tokens, and erasure. Run against SQLite and SQL
//! Server alike.

use futures::FutureExt as _;

use anyhow::ensure;
use rookery::domain::{
    Bio, DisplayName, Event, EventPayload, NewNotification, NotificationKind, ProfileChanges,
    RefreshToken, SessionId, Timestamp, UserId, UserQuery,
};
use rookery::ports::{
    NotificationStore, Outbox, PostStore, Reaction, Rotation, SessionStore, UserStore,
};

use super::store::{fresh_user, pending_entry, post_draft};
use super::{check_eq, from_now, unique_suffix};

/// Every check; the four ports must be views of one store (erasure crosses them).
pub async fn accounts(
    users: &dyn UserStore,
    posts: &dyn PostStore,
    sessions: &dyn SessionStore,
    notifications: &dyn NotificationStore,
    outbox: &dyn Outbox,
) -> anyhow::Result<()> {
    super::every_check(
        "accounts",
        vec![
            ("profile_changes", profile_changes(users).boxed_local()),
            ("search_by_prefix", search_by_prefix(users).boxed_local()),
            (
                "refresh_tokens_rotate_once",
                refresh_tokens_rotate_once(users, sessions).boxed_local(),
            ),
            (
                "reuse_and_logout_end_the_session",
                reuse_and_logout_end_the_session(users, sessions).boxed_local(),
            ),
            (
                "concurrent_rotations_rotate_once",
                concurrent_rotations_rotate_once(users, sessions).boxed_local(),
            ),
            (
                "a_password_change_revokes_every_session",
                a_password_change_revokes_every_session(users, sessions).boxed_local(),
            ),
            (
                "erasure_leaves_nothing",
                erasure_leaves_nothing(users, posts, sessions, notifications, outbox).boxed_local(),
            ),
        ],
    )
    .await
}

async fn profile_changes(users: &dyn UserStore) -> anyhow::Result<()> {
    let ann = fresh_user(users, "Pia").await?;
    check_eq(ann.bio.as_str(), "", "a new user's bio")?;
    let changes = ProfileChanges {
        display_name: Some(DisplayName::parse("Ünal Pia")?),
        bio: Some(Bio::parse("first line\nsecond")?),
    };
    let changed = users.update_profile(ann.id, &changes).await?;
    let changed = changed.ok_or_else(|| anyhow::anyhow!("no user after the change"))?;
    check_eq(changed.display_name.as_str(), "Ünal Pia", "display name")?;
    check_eq(changed.bio.as_str(), "first line\nsecond", "bio")?;
    check_eq(&changed.email, &ann.email, "e-mail untouched")?;
    let only_bio = ProfileChanges {
        bio: Some(Bio::parse("")?),
        ..ProfileChanges::default()
    };
    let again = users.update_profile(ann.id, &only_bio).await?;
    check_eq(
        again.map(|u| (u.display_name, u.bio)),
        Some(("Ünal Pia".to_owned(), String::new())),
        "a change of the bio alone",
    )?;
    let read = users.user_by_id(ann.id).await?.map(|u| u.bio);
    check_eq(read.as_deref(), Some(""), "the bio as read back")?;
    check_eq(
        users
            .update_profile(UserId::new(), &changes)
            .await?
            .is_none(),
        true,
        "an unknown user",
    )?;
    Ok(())
}

async fn search_by_prefix(users: &dyn UserStore) -> anyhow::Result<()> {
    // A prefix no other check or run uses: the suffix's letters.
    let tag: String = unique_suffix()
        .chars()
        .map(|c| char::from(b'a' + (c.to_digit(16).unwrap_or(0) as u8)))
        .take(8)
        .collect();
    let a = fresh_user(users, &format!("{tag}Ab")).await?;
    let b = fresh_user(users, &format!("{tag}aa")).await?;
    let c = fresh_user(users, "Zed").await?;
    let by_display = ProfileChanges {
        display_name: Some(DisplayName::parse(&format!("Ärger {tag}"))?),
        bio: None,
    };
    users.update_profile(c.id, &by_display).await?;
    let ids = |found: Vec<rookery::domain::UserSummary>| -> Vec<UserId> {
        found.into_iter().map(|u| u.id).collect()
    };
    let query = UserQuery::parse(&tag.to_uppercase())?;
    check_eq(
        ids(users.search_users(&query, None, 10).await?),
        vec![b.id, a.id],
        "username prefix, any case, by username",
    )?;
    let first = users.search_users(&query, None, 1).await?;
    let after = first.first().map(|u| u.username.to_ascii_lowercase());
    check_eq(
        ids(users.search_users(&query, after.as_deref(), 10).await?),
        vec![a.id],
        "the page after a username key",
    )?;
    let by_name = UserQuery::parse(&format!("äRGER {}", &tag[..4]))?;
    check_eq(
        ids(users.search_users(&by_name, None, 10).await?),
        vec![c.id],
        "display-name prefix, Unicode case folded",
    )?;
    let nothing = UserQuery::parse(&format!("{tag}zz"))?;
    check_eq(
        ids(users.search_users(&nothing, None, 10).await?),
        vec![],
        "no match",
    )?;
    Ok(())
}

/// A session for `user` with a fresh refresh token, valid for a minute.
async fn session(
    sessions: &dyn SessionStore,
    user: UserId,
) -> anyhow::Result<(SessionId, RefreshToken)> {
    let (id, token) = (SessionId::new(), RefreshToken::generate());
    sessions
        .start_session(id, user, &token.hash(), from_now(60_000), Timestamp::now())
        .await?;
    Ok((id, token))
}

async fn rotate(
    sessions: &dyn SessionStore,
    presented: &RefreshToken,
) -> anyhow::Result<(Rotation, RefreshToken)> {
    let next = RefreshToken::generate();
    let rotation = sessions
        .rotate(
            &presented.hash(),
            &next.hash(),
            from_now(60_000),
            Timestamp::now(),
        )
        .await?;
    Ok((rotation, next))
}

async fn is_revoked(sessions: &dyn SessionStore, id: SessionId) -> anyhow::Result<bool> {
    let since = Timestamp::from_millis(Timestamp::now().millis() - 60_000);
    Ok(sessions.revoked_since(since).await?.contains(&id))
}

async fn refresh_tokens_rotate_once(
    users: &dyn UserStore,
    sessions: &dyn SessionStore,
) -> anyhow::Result<()> {
    let ann = fresh_user(users, "Ria").await?;
    let (id, first) = session(sessions, ann.id).await?;
    let (rotation, second) = rotate(sessions, &first).await?;
    check_eq(
        rotation,
        Rotation::Rotated {
            user: ann.id,
            session: id,
        },
        "the first rotation",
    )?;
    let (rotation, _) = rotate(sessions, &second).await?;
    ensure!(
        matches!(rotation, Rotation::Rotated { session, .. } if session == id),
        "the next token rotates in the same session: {rotation:?}"
    );
    check_eq(
        rotate(sessions, &RefreshToken::generate()).await?.0,
        Rotation::Unknown,
        "a token never issued",
    )?;
    let (_, expired) = (SessionId::new(), RefreshToken::generate());
    sessions
        .start_session(
            SessionId::new(),
            ann.id,
            &expired.hash(),
            from_now(-1_000),
            from_now(-2_000),
        )
        .await?;
    check_eq(
        rotate(sessions, &expired).await?.0,
        Rotation::Unknown,
        "an expired token",
    )?;
    ensure!(
        !is_revoked(sessions, id).await?,
        "a live session is listed as revoked"
    );
    Ok(())
}

async fn reuse_and_logout_end_the_session(
    users: &dyn UserStore,
    sessions: &dyn SessionStore,
) -> anyhow::Result<()> {
    let ann = fresh_user(users, "Sia").await?;
    let (id, first) = session(sessions, ann.id).await?;
    let (_, second) = rotate(sessions, &first).await?;
    check_eq(
        rotate(sessions, &first).await?.0,
        Rotation::Reused,
        "a spent token presented again",
    )?;
    ensure!(
        is_revoked(sessions, id).await?,
        "a reuse left the session live"
    );
    check_eq(
        rotate(sessions, &second).await?.0,
        Rotation::Unknown,
        "the session's current token after a reuse",
    )?;
    let (other, token) = session(sessions, ann.id).await?;
    sessions
        .end_session(&token.hash(), Timestamp::now())
        .await?;
    ensure!(
        is_revoked(sessions, other).await?,
        "logout left the session live"
    );
    check_eq(
        rotate(sessions, &token).await?.0,
        Rotation::Unknown,
        "a token of an ended session",
    )?;
    sessions
        .end_session(&RefreshToken::generate().hash(), Timestamp::now())
        .await?;
    Ok(())
}

async fn concurrent_rotations_rotate_once(
    users: &dyn UserStore,
    sessions: &dyn SessionStore,
) -> anyhow::Result<()> {
    let ann = fresh_user(users, "Tea").await?;
    let (_, token) = session(sessions, ann.id).await?;
    let (a, b) = tokio::join!(rotate(sessions, &token), rotate(sessions, &token));
    let mut outcomes = [a?.0, b?.0];
    outcomes.sort_by_key(|r| !matches!(r, Rotation::Rotated { .. }));
    ensure!(
        matches!(outcomes, [Rotation::Rotated { .. }, Rotation::Reused]),
        "two requests with one token: {outcomes:?}"
    );
    Ok(())
}

async fn a_password_change_revokes_every_session(
    users: &dyn UserStore,
    sessions: &dyn SessionStore,
) -> anyhow::Result<()> {
    let ann = fresh_user(users, "Uta").await?;
    let bob = fresh_user(users, "Vic").await?;
    let (one, token_one) = session(sessions, ann.id).await?;
    let (two, _) = session(sessions, ann.id).await?;
    let (bobs, bob_token) = session(sessions, bob.id).await?;
    ensure!(
        users
            .set_password(ann.id, "new-hash", Timestamp::now())
            .await?,
        "set_password on a known user"
    );
    let hash = users
        .credentials_by_id(ann.id)
        .await?
        .map(|c| c.password_hash);
    check_eq(hash.as_deref(), Some("new-hash"), "the stored hash")?;
    ensure!(
        is_revoked(sessions, one).await? && is_revoked(sessions, two).await?,
        "a session outlived the password change"
    );
    check_eq(
        rotate(sessions, &token_one).await?.0,
        Rotation::Unknown,
        "a refresh token from before the change",
    )?;
    ensure!(
        !is_revoked(sessions, bobs).await?,
        "another user's session ended"
    );
    ensure!(
        matches!(
            rotate(sessions, &bob_token).await?.0,
            Rotation::Rotated { .. }
        ),
        "another user's token stopped working"
    );
    ensure!(
        !users
            .set_password(UserId::new(), "x", Timestamp::now())
            .await?,
        "set_password on an unknown user"
    );
    Ok(())
}

/// Ann posts, is liked, replied to and mentioned; likes, reposts and replies to Bob's post; is
/// notified and notifies. After her erasure, only Bob's post remains, with its counts as before
/// she came; her username and e-mail are free; her sessions are revoked; the sent events that
/// named her are blank.
async fn erasure_leaves_nothing(
    users: &dyn UserStore,
    posts: &dyn PostStore,
    sessions: &dyn SessionStore,
    notifications: &dyn NotificationStore,
    outbox: &dyn Outbox,
) -> anyhow::Result<()> {
    let ann = fresh_user(users, "Wes").await?;
    let bob = fresh_user(users, "Xia").await?;
    let (bobs, event) = post_draft(bob.id, "bob's post")?;
    posts.create_post(&bobs, &event).await?;
    let (anns, event) = post_draft(ann.id, "ann's post")?;
    posts.create_post(&anns, &event).await?;
    let (mut reply, event) = post_draft(ann.id, "ann replies")?;
    reply.in_reply_to = Some(rookery::domain::ReplyTo {
        post: bobs.id,
        author: bob.id,
    });
    posts.create_post(&reply, &event).await?;
    let now = Timestamp::now();
    let liked = |post: rookery::domain::PostId, author, user| {
        Event::new(EventPayload::PostLiked {
            post_id: post,
            author_id: author,
            user_id: user,
        })
    };
    check_eq(
        posts
            .like(bobs.id, ann.id, now, &liked(bobs.id, bob.id, ann.id))
            .await?,
        Reaction::Changed,
        "ann likes bob's post",
    )?;
    posts
        .like(anns.id, bob.id, now, &liked(anns.id, ann.id, bob.id))
        .await?;
    let entry = rookery::domain::EntryKey::new();
    let reposted = Event::new(EventPayload::PostReposted {
        post_id: bobs.id,
        author_id: bob.id,
        user_id: ann.id,
        entry,
    });
    posts.repost(bobs.id, ann.id, entry, now, &reposted).await?;
    for (kind, recipient, actor, post) in [
        (NotificationKind::Like, bob.id, ann.id, bobs.id),
        (NotificationKind::Like, ann.id, bob.id, anns.id),
        (NotificationKind::Reply, bob.id, ann.id, reply.id),
    ] {
        if let Some(n) = NewNotification::of(kind, recipient, actor, Some(post), now) {
            notifications.add(&n).await?;
        }
    }
    let (id, token) = session(sessions, ann.id).await?;
    // The registration event as sent: its payload names Ann.
    let sent: Vec<_> = outbox.pending(100_000).await?;
    for entry in &sent {
        outbox.mark_sent(entry.event.id).await?;
    }

    let deleted = Event::new(EventPayload::user_deleted(ann.id, &[]));
    ensure!(
        users
            .delete_user(ann.id, &deleted, Timestamp::now())
            .await?,
        "delete_user on a known user"
    );
    ensure!(
        users.user_by_id(ann.id).await?.is_none(),
        "the user row stays"
    );
    ensure!(
        pending_entry(outbox, deleted.id).await?.is_some(),
        "no user.deleted event"
    );
    check_eq(
        posts.posts(&[anns.id, reply.id, bobs.id]).await?.len(),
        1,
        "posts left of ann's two and bob's one",
    )?;
    let stats = posts.stats(&[bobs.id], Some(ann.id)).await?;
    let row = stats
        .first()
        .ok_or_else(|| anyhow::anyhow!("no stats for bob's post"))?;
    check_eq(
        (row.stats.replies, row.stats.likes, row.stats.reposts),
        (0, 0, 0),
        "bob's counts after ann's erasure",
    )?;
    check_eq(
        row.viewer.map(|v| (v.liked, v.reposted)),
        Some((false, false)),
        "ann's viewer state",
    )?;
    check_eq(
        notifications.notifications(bob.id, None, 10).await?.len(),
        0,
        "bob's notifications caused by ann",
    )?;
    check_eq(
        notifications.unread_count(ann.id).await?,
        0,
        "ann's notifications",
    )?;
    ensure!(is_revoked(sessions, id).await?, "ann's session is live");
    check_eq(
        rotate(sessions, &token).await?.0,
        Rotation::Unknown,
        "ann's refresh token",
    )?;
    let again = users.user_by_username(&ann.username).await?;
    ensure!(again.is_none(), "the username still finds someone");
    ensure!(
        !users
            .delete_user(
                ann.id,
                &Event::new(EventPayload::user_deleted(ann.id, &[])),
                Timestamp::now()
            )
            .await?,
        "a second erasure finds a user"
    );
    Ok(())
}
