//! The conversation part of the `PostStore` contract (DESIGN 4.1, 4.2): replies and their
//! counts, mentions and tags, likes, the counts and viewer state of a page, and the home-feed
//! rule for replies. Run through `store::user_and_post_store`, so on every adapter.

use anyhow::{bail, ensure};
use rookery::domain::{
    EntryKey, Event, EventPayload, FeedEntry, Mention, NewPost, PostId, PostStats, RelationCursor,
    ReplyTo, Timestamp, UserId, UserSummary, ViewerState,
};
use rookery::ports::{CreatePostError, Outbox, PostStore, Reaction, StatsRow, UserStore};

use super::check_eq;
use super::store::{deletion, ensure_pending, fresh_user, pending_entry, post_draft};

pub(super) fn reply_draft(
    author: UserId,
    parent: PostId,
    parent_author: UserId,
) -> anyhow::Result<(NewPost, Event)> {
    let (mut post, _) = post_draft(author, "a reply")?;
    post.in_reply_to = Some(ReplyTo {
        post: parent,
        author: parent_author,
    });
    let event = Event::new(EventPayload::PostCreated {
        post_id: post.id,
        author_id: author,
        in_reply_to: Some(parent),
        reply_to_author: Some(parent_author),
        mentions: Vec::new(),
    });
    Ok((post, event))
}

async fn stats_of(
    posts: &dyn PostStore,
    id: PostId,
    reader: Option<UserId>,
) -> anyhow::Result<StatsRow> {
    match posts.stats(&[id], reader).await?.as_slice() {
        [row] => Ok(row.clone()),
        rows => bail!("stats({id}) gave {} rows", rows.len()),
    }
}

/// The posts of feed entries that are all originals (their key is their post's id).
fn originals(entries: Vec<FeedEntry>) -> anyhow::Result<Vec<PostId>> {
    entries
        .into_iter()
        .map(|entry| {
            ensure!(
                entry == FeedEntry::original(entry.post),
                "not an original: {entry:?}"
            );
            Ok(entry.post)
        })
        .collect()
}

fn counts(replies: u64, likes: u64) -> PostStats {
    PostStats {
        replies,
        likes,
        reposts: 0,
    }
}

pub async fn replies_mentions_and_tags(
    users: &dyn UserStore,
    posts: &dyn PostStore,
    outbox: &dyn Outbox,
) -> anyhow::Result<()> {
    let ann = fresh_user(users, "Rae").await?;
    let bob = fresh_user(users, "Sam").await?;
    let (mut root, event) = post_draft(ann.id, "hello #Rust and #été")?;
    root.mentions = vec![
        Mention {
            id: bob.id,
            username: bob.username.clone(),
        },
        Mention {
            id: ann.id,
            username: ann.username.clone(),
        },
    ];
    root.tags = vec!["rust".to_owned(), "été".to_owned()];
    let created = posts.create_post(&root, &event).await?;
    check_eq(&created.mentions, &root.mentions, "mentions, in order")?;
    check_eq(&created.tags, &root.tags, "tags, in order")?;
    check_eq(created.in_reply_to, None, "in_reply_to of a root")?;
    let read = posts.post(root.id).await?;
    check_eq(
        read.as_ref().map(|p| &p.tags),
        Some(&root.tags),
        "tags read back",
    )?;
    check_eq(
        read.as_ref().map(|p| &p.mentions),
        Some(&root.mentions),
        "mentions read back",
    )?;

    // Replies: counted in the parent, listed oldest first, each with its parent.
    let (r1, e1) = reply_draft(bob.id, root.id, ann.id)?;
    let reply = posts.create_post(&r1, &e1).await?;
    check_eq(reply.in_reply_to, Some(root.id), "in_reply_to of a reply")?;
    ensure_pending(outbox, &e1, "create_post(reply)").await?;
    let (r2, e2) = reply_draft(ann.id, root.id, ann.id)?;
    posts.create_post(&r2, &e2).await?;
    let (r3, e3) = reply_draft(ann.id, r1.id, bob.id)?;
    posts.create_post(&r3, &e3).await?;
    check_eq(
        stats_of(posts, root.id, None).await?.stats,
        counts(2, 0),
        "root counts",
    )?;
    check_eq(
        stats_of(posts, r1.id, None).await?.stats,
        counts(1, 0),
        "reply counts",
    )?;
    check_eq(
        posts.reply_ids(root.id, None, 10).await?,
        vec![r1.id, r2.id],
        "reply_ids, oldest first",
    )?;
    check_eq(
        posts.reply_ids(root.id, Some(r1.id), 10).await?,
        vec![r2.id],
        "reply_ids after the first",
    )?;
    check_eq(
        posts.reply_ids(root.id, None, 1).await?,
        vec![r1.id],
        "reply_ids limit",
    )?;
    check_eq(
        posts.replies_of(&[root.id, r1.id], 10).await?,
        vec![(root.id, r1.id), (root.id, r2.id), (r1.id, r3.id)],
        "replies_of two parents",
    )?;
    check_eq(posts.replies_of(&[], 10).await?, vec![], "replies_of none")?;

    // Tags: newest first, exact lower-case match.
    let (mut later, later_event) = post_draft(bob.id, "more #rust")?;
    later.tags = vec!["rust".to_owned()];
    posts.create_post(&later, &later_event).await?;
    check_eq(
        posts
            .post_ids_by_tag("rust", None, 10)
            .await?
            .into_iter()
            .filter(|id| [root.id, later.id].contains(id))
            .collect::<Vec<_>>(),
        vec![later.id, root.id],
        "post_ids_by_tag, newest first",
    )?;
    check_eq(
        posts
            .post_ids_by_tag("rust", Some(later.id), 10)
            .await?
            .contains(&later.id),
        false,
        "post_ids_by_tag before the newest",
    )?;
    check_eq(
        posts.post_ids_by_tag("été", None, 10).await?,
        vec![root.id],
        "post_ids_by_tag of a Unicode tag",
    )?;

    // A reply to a post deleted meanwhile is refused and leaves nothing.
    let (gone, gone_event) = post_draft(ann.id, "soon gone")?;
    posts.create_post(&gone, &gone_event).await?;
    ensure!(
        posts
            .delete_post(gone.id, &deletion(gone.id, ann.id))
            .await?
    );
    let (orphan, orphan_event) = reply_draft(bob.id, gone.id, ann.id)?;
    match posts.create_post(&orphan, &orphan_event).await {
        Err(CreatePostError::ParentGone) => {}
        other => bail!("a reply to a deleted post: {:?}", other.map(|p| p.id)),
    }
    check_eq(posts.post(orphan.id).await?, None, "the refused reply")?;
    ensure!(
        pending_entry(outbox, orphan_event.id).await?.is_none(),
        "the refused reply's event is in the outbox"
    );

    // Deleting a reply uncounts it; deleting the root keeps its replies, which still name it.
    ensure!(posts.delete_post(r2.id, &deletion(r2.id, ann.id)).await?);
    check_eq(
        stats_of(posts, root.id, None).await?.stats,
        counts(1, 0),
        "root counts after a reply is deleted",
    )?;
    ensure!(
        posts
            .delete_post(root.id, &deletion(root.id, ann.id))
            .await?
    );
    check_eq(
        posts.post(r1.id).await?.and_then(|p| p.in_reply_to),
        Some(root.id),
        "a reply of a deleted post",
    )?;
    check_eq(
        posts.post_ids_by_tag("été", None, 10).await?,
        vec![],
        "tags of a deleted post",
    )?;
    check_eq(
        posts.stats(&[root.id], None).await?,
        vec![],
        "stats of a deleted post",
    )?;
    Ok(())
}

pub async fn likes_and_counts(
    users: &dyn UserStore,
    posts: &dyn PostStore,
    outbox: &dyn Outbox,
) -> anyhow::Result<()> {
    let ann = fresh_user(users, "Tia").await?;
    let bob = fresh_user(users, "Uma").await?;
    let cat = fresh_user(users, "Val").await?;
    let (post, event) = post_draft(ann.id, "like me")?;
    posts.create_post(&post, &event).await?;
    let liked = |user: UserId| {
        Event::new(EventPayload::PostLiked {
            post_id: post.id,
            author_id: ann.id,
            user_id: user,
        })
    };
    let t0 = Timestamp::from_millis(1_800_000_000_000);
    let t1 = Timestamp::from_millis(1_800_000_001_000);
    let first = liked(bob.id);
    check_eq(
        posts.like(post.id, bob.id, t0, &first).await?,
        Reaction::Changed,
        "a first like",
    )?;
    ensure_pending(outbox, &first, "like()").await?;
    let again = liked(bob.id);
    check_eq(
        posts.like(post.id, bob.id, t1, &again).await?,
        Reaction::Unchanged,
        "a second like",
    )?;
    ensure!(
        pending_entry(outbox, again.id).await?.is_none(),
        "a repeated like stored an event"
    );
    check_eq(
        posts.like(post.id, cat.id, t1, &liked(cat.id)).await?,
        Reaction::Changed,
        "cat's like",
    )?;
    let unknown = PostId::new();
    check_eq(
        posts.like(unknown, cat.id, t1, &liked(cat.id)).await?,
        Reaction::NoSuchPost,
        "a like of an unknown post",
    )?;

    // Counts and viewer state, in one batch.
    check_eq(
        stats_of(posts, post.id, Some(bob.id)).await?,
        StatsRow {
            post: post.id,
            author: UserSummary::from(&ann),
            stats: counts(0, 2),
            viewer: Some(ViewerState {
                liked: true,
                reposted: false,
            }),
        },
        "stats for a liker",
    )?;
    check_eq(
        stats_of(posts, post.id, Some(ann.id)).await?.viewer,
        Some(ViewerState::default()),
        "stats for the author",
    )?;
    check_eq(
        stats_of(posts, post.id, None).await?.viewer,
        None,
        "stats without a reader",
    )?;
    check_eq(
        posts.stats(&[], Some(ann.id)).await?,
        vec![],
        "stats of none",
    )?;

    // Likers: newest first, with a keyset cursor.
    let likers = posts.likers(post.id, None, 10).await?;
    check_eq(
        likers.iter().map(|r| (r.user, r.since)).collect::<Vec<_>>(),
        vec![(cat.id, t1), (bob.id, t0)],
        "likers, newest first (the repeated like kept its time)",
    )?;
    let after = RelationCursor {
        since: t1,
        user: cat.id,
    };
    check_eq(
        posts
            .likers(post.id, Some(after), 10)
            .await?
            .iter()
            .map(|r| r.user)
            .collect::<Vec<_>>(),
        vec![bob.id],
        "likers after the first",
    )?;

    // Unlikes.
    check_eq(
        posts.unlike(post.id, bob.id).await?,
        Reaction::Changed,
        "an unlike",
    )?;
    check_eq(
        posts.unlike(post.id, bob.id).await?,
        Reaction::Unchanged,
        "a second unlike",
    )?;
    check_eq(
        posts.unlike(unknown, bob.id).await?,
        Reaction::NoSuchPost,
        "an unlike of an unknown post",
    )?;
    check_eq(
        stats_of(posts, post.id, Some(bob.id)).await?.stats,
        counts(0, 1),
        "counts after an unlike",
    )?;

    // A deleted post takes its likes with it.
    ensure!(
        posts
            .delete_post(post.id, &deletion(post.id, ann.id))
            .await?
    );
    check_eq(
        posts.likers(post.id, None, 10).await?,
        vec![],
        "likers of a deleted post",
    )?;
    Ok(())
}

pub async fn home_feed_rule_for_replies(
    users: &dyn UserStore,
    posts: &dyn PostStore,
) -> anyhow::Result<()> {
    let reader = fresh_user(users, "Wes").await?;
    let friend = fresh_user(users, "Xia").await?;
    let stranger = fresh_user(users, "Yul").await?;
    let create = |author: UserId, parent: Option<(PostId, UserId)>| async move {
        let (new, event) = match parent {
            Some((post, author_of)) => reply_draft(author, post, author_of)?,
            None => post_draft(author, "a post")?,
        };
        posts.create_post(&new, &event).await?;
        Ok::<_, anyhow::Error>(new.id)
    };
    let friend_post = create(friend.id, None).await?;
    let stranger_post = create(stranger.id, None).await?;
    let reader_post = create(reader.id, None).await?;
    // The friend answers someone the reader follows (themself), a stranger, and the reader.
    let to_friend = create(friend.id, Some((friend_post, friend.id))).await?;
    let to_stranger = create(friend.id, Some((stranger_post, stranger.id))).await?;
    let to_reader = create(friend.id, Some((reader_post, reader.id))).await?;
    // The reader answers a stranger: their own posts always show.
    let own_reply = create(reader.id, Some((stranger_post, stranger.id))).await?;
    let audience = [reader.id, friend.id];
    check_eq(
        originals(
            posts
                .home_feed(reader.id, &audience, &audience, None, 100)
                .await?,
        )?,
        vec![own_reply, to_reader, to_friend, reader_post, friend_post],
        "home_feed: replies to strangers left out",
    )?;
    check_eq(
        originals(
            posts
                .home_feed(reader.id, &audience, &audience, Some(to_reader.into()), 2)
                .await?,
        )?,
        vec![to_friend, reader_post],
        "home_feed: before and limit",
    )?;
    // Hybrid fan-out merges one author at a time, with the reader's whole audience.
    check_eq(
        originals(
            posts
                .home_feed(reader.id, &[friend.id], &audience, None, 100)
                .await?,
        )?,
        vec![to_reader, to_friend, friend_post],
        "home_feed of one author",
    )?;
    check_eq(
        posts.post_ids_by_authors(&[friend.id], None, 100).await?,
        vec![to_reader, to_stranger, to_friend, friend_post],
        "post_ids_by_authors keeps every reply (user feeds)",
    )?;
    Ok(())
}

pub async fn summaries_by_username(users: &dyn UserStore) -> anyhow::Result<()> {
    let ann = fresh_user(users, "Zed").await?;
    let bob = fresh_user(users, "Abe").await?;
    let mut found = users
        .summaries_by_username(&[
            ann.username.to_uppercase(),
            bob.username.to_lowercase(),
            "nobody_here_at_all".to_owned(),
        ])
        .await?;
    found.sort_by_key(|u| u.id);
    let mut want = vec![
        rookery::domain::UserSummary::from(&ann),
        rookery::domain::UserSummary::from(&bob),
    ];
    want.sort_by_key(|u| u.id);
    check_eq(
        found,
        want,
        "summaries_by_username, any case, unknown left out",
    )?;
    check_eq(
        users.summaries_by_username(&[]).await?,
        vec![],
        "summaries_by_username of none",
    )?;
    Ok(())
}

pub async fn reposts_and_counts(
    users: &dyn UserStore,
    posts: &dyn PostStore,
    outbox: &dyn Outbox,
) -> anyhow::Result<()> {
    let ann = fresh_user(users, "Bea").await?;
    let bob = fresh_user(users, "Cyd").await?;
    let (post, event) = post_draft(ann.id, "repost me")?;
    posts.create_post(&post, &event).await?;
    let reposted = |user: UserId| {
        Event::new(EventPayload::PostReposted {
            post_id: post.id,
            author_id: ann.id,
            user_id: user,
            entry: EntryKey::new(),
        })
    };
    let undone = |user: UserId| {
        Event::new(EventPayload::PostUnreposted {
            post_id: post.id,
            author_id: ann.id,
            user_id: user,
            entry: EntryKey::new(),
        })
    };
    let (t0, t1) = (
        Timestamp::from_millis(1_800_000_000_000),
        Timestamp::from_millis(1_800_000_002_000),
    );
    let first = reposted(bob.id);
    let bob_entry = EntryKey::new();
    check_eq(
        posts.repost(post.id, bob.id, bob_entry, t0, &first).await?,
        Reaction::Changed,
        "a repost",
    )?;
    ensure_pending(outbox, &first, "repost()").await?;
    check_eq(
        posts.repost_entry(post.id, bob.id).await?,
        Some(bob_entry),
        "repost_entry after a repost",
    )?;
    let again = reposted(bob.id);
    check_eq(
        posts
            .repost(post.id, bob.id, EntryKey::new(), t1, &again)
            .await?,
        Reaction::Unchanged,
        "a second repost",
    )?;
    ensure!(
        pending_entry(outbox, again.id).await?.is_none(),
        "a repeated repost stored an event"
    );
    // One's own post may be reposted.
    check_eq(
        posts
            .repost(post.id, ann.id, EntryKey::new(), t1, &reposted(ann.id))
            .await?,
        Reaction::Changed,
        "a repost of one's own post",
    )?;
    check_eq(
        posts
            .repost(
                PostId::new(),
                bob.id,
                EntryKey::new(),
                t1,
                &reposted(bob.id),
            )
            .await?,
        Reaction::NoSuchPost,
        "a repost of an unknown post",
    )?;
    let row = stats_of(posts, post.id, Some(bob.id)).await?;
    check_eq(
        (row.stats.reposts, row.viewer),
        (
            2,
            Some(ViewerState {
                liked: false,
                reposted: true,
            }),
        ),
        "counts and state after two reposts",
    )?;
    check_eq(
        posts
            .reposters(post.id, None, 10)
            .await?
            .iter()
            .map(|r| (r.user, r.since))
            .collect::<Vec<_>>(),
        vec![(ann.id, t1), (bob.id, t0)],
        "reposters, newest first",
    )?;
    let after = RelationCursor {
        since: t1,
        user: ann.id,
    };
    check_eq(
        posts
            .reposters(post.id, Some(after), 10)
            .await?
            .iter()
            .map(|r| r.user)
            .collect::<Vec<_>>(),
        vec![bob.id],
        "reposters after the first",
    )?;
    // Undo: its event is stored only when a repost was removed.
    let undo = undone(bob.id);
    check_eq(
        posts.unrepost(post.id, bob.id, &undo).await?,
        Reaction::Changed,
        "an undo",
    )?;
    ensure_pending(outbox, &undo, "unrepost()").await?;
    let undo_again = undone(bob.id);
    check_eq(
        posts.unrepost(post.id, bob.id, &undo_again).await?,
        Reaction::Unchanged,
        "a second undo",
    )?;
    ensure!(
        pending_entry(outbox, undo_again.id).await?.is_none(),
        "a repeated undo stored an event"
    );
    check_eq(
        posts
            .unrepost(PostId::new(), bob.id, &undone(bob.id))
            .await?,
        Reaction::NoSuchPost,
        "an undo on an unknown post",
    )?;
    let row = stats_of(posts, post.id, Some(bob.id)).await?;
    check_eq(
        (row.stats.reposts, row.viewer.map(|v| v.reposted)),
        (1, Some(false)),
        "after the undo",
    )?;
    ensure!(
        posts
            .delete_post(post.id, &deletion(post.id, ann.id))
            .await?
    );
    check_eq(
        posts.reposters(post.id, None, 10).await?,
        vec![],
        "reposters of a deleted post",
    )?;
    Ok(())
}

/// Feeds from the source of truth with reposts: a repost brings a post in at the repost's
/// place, once, unless the feed holds it as itself; the reader's own reposts stay out of their
/// home feed; a user feed holds its author's reposts of others' posts.
pub async fn feeds_with_reposts(
    users: &dyn UserStore,
    posts: &dyn PostStore,
) -> anyhow::Result<()> {
    let reader = fresh_user(users, "Dee").await?;
    let (a, b, stranger) = (
        fresh_user(users, "Eli").await?,
        fresh_user(users, "Fay").await?,
        fresh_user(users, "Gus").await?,
    );
    let post = |author: UserId| async move {
        let (new, event) = post_draft(author, "a post")?;
        posts.create_post(&new, &event).await?;
        Ok::<_, anyhow::Error>(new.id)
    };
    let repost = |user: UserId, post_id: PostId, author: UserId| async move {
        let entry = EntryKey::new();
        let event = Event::new(EventPayload::PostReposted {
            post_id,
            author_id: author,
            user_id: user,
            entry,
        });
        let done = posts
            .repost(post_id, user, entry, Timestamp::now(), &event)
            .await?;
        ensure!(done == Reaction::Changed, "repost: {done:?}");
        Ok::<_, anyhow::Error>(FeedEntry::repost(entry, post_id, user))
    };
    let by_stranger = post(stranger.id).await?;
    let by_a = post(a.id).await?;
    let a_reposts_stranger = repost(a.id, by_stranger, stranger.id).await?;
    repost(b.id, by_stranger, stranger.id).await?; // later than a's: adds nothing
    repost(b.id, by_a, a.id).await?; // a's post is there as itself: adds nothing
    repost(reader.id, by_stranger, stranger.id).await?; // the reader's own: not in their feed
    let a_reposts_own = repost(a.id, by_a, a.id).await?;
    let audience = [reader.id, a.id, b.id];
    let home = posts
        .home_feed(reader.id, &audience, &audience, None, 100)
        .await?;
    check_eq(
        home.clone(),
        vec![a_reposts_stranger, FeedEntry::original(by_a)],
        "home_feed with reposts",
    )?;
    check_eq(
        posts
            .home_feed(
                reader.id,
                &audience,
                &audience,
                Some(a_reposts_stranger.key),
                100,
            )
            .await?,
        vec![FeedEntry::original(by_a)],
        "home_feed before the repost",
    )?;
    // Merging b's entries alone still knows that a reposted it first and that a's post is there.
    check_eq(
        posts
            .home_feed(reader.id, &[b.id], &audience, None, 100)
            .await?,
        vec![],
        "home_feed of one reposter",
    )?;
    check_eq(
        posts.user_feed(a.id, None, 100).await?,
        vec![a_reposts_stranger, FeedEntry::original(by_a)],
        "user_feed: a's post and a's repost of another's (not of a's own)",
    )?;
    ensure!(a_reposts_own.key > a_reposts_stranger.key);
    // Without a's repost (undone), b's brings the post in.
    let undo = Event::new(EventPayload::PostUnreposted {
        post_id: by_stranger,
        author_id: stranger.id,
        user_id: a.id,
        entry: a_reposts_stranger.key,
    });
    posts.unrepost(by_stranger, a.id, &undo).await?;
    let home = posts
        .home_feed(reader.id, &audience, &audience, None, 100)
        .await?;
    check_eq(
        home.iter().map(|e| (e.post, e.via)).collect::<Vec<_>>(),
        vec![(by_stranger, Some(b.id)), (by_a, None)],
        "home_feed after the first repost was undone",
    )?;
    Ok(())
}
