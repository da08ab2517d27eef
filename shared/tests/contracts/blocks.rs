//! The `BlockStore` contract: blocks and mutes set once (the first time kept, the event written
//! only for a new block), lifted, listed newest first with a keyset cursor, seen from both
//! sides, gathered into what a reader hides, hiding notifications where they are read, and
//! gone with an erased user. Run against every SQL store.

use anyhow::ensure;
use futures::FutureExt as _;
use rookery::domain::{
    Event, EventPayload, NewNotification, NotificationKind, Relation, RelationCursor, Restriction,
    Standing, Timestamp, UserId,
};
use rookery::ports::{BlockStore, NotificationStore, Outbox, UserStore};

use super::check_eq;
use super::store::{ensure_pending, fresh_user, pending_entry};

/// Runs every check; every port must be the same SQL store.
pub async fn block_store(
    users: &dyn UserStore,
    blocks: &dyn BlockStore,
    outbox: &dyn Outbox,
    notifications: &dyn NotificationStore,
) -> anyhow::Result<()> {
    super::every_check(
        "block store",
        vec![
            (
                "set_once_keeping_the_first_time_and_event",
                set_once_keeping_the_first_time_and_event(users, blocks, outbox).boxed_local(),
            ),
            ("lifted_once", lifted_once(users, blocks).boxed_local()),
            (
                "listed_newest_first_by_kind",
                listed_newest_first_by_kind(users, blocks).boxed_local(),
            ),
            (
                "standing_from_both_sides_and_hidden_sets",
                standing_from_both_sides_and_hidden_sets(users, blocks).boxed_local(),
            ),
            (
                "no_restriction_on_an_unknown_user",
                no_restriction_on_an_unknown_user(users, blocks, outbox).boxed_local(),
            ),
            (
                "notifications_of_hidden_actors_are_not_shown",
                notifications_of_hidden_actors_are_not_shown(users, blocks, notifications)
                    .boxed_local(),
            ),
            (
                "an_erased_user_leaves_no_restriction",
                an_erased_user_leaves_no_restriction(users, blocks).boxed_local(),
            ),
        ],
    )
    .await
}

fn at(n: i64) -> Timestamp {
    Timestamp::from_millis(1_800_000_000_000 + n * 1_000)
}

fn blocked(blocker: UserId, blocked: UserId) -> Event {
    Event::new(EventPayload::UserBlocked {
        blocker_id: blocker,
        blocked_id: blocked,
    })
}

async fn list(
    blocks: &dyn BlockStore,
    kind: Restriction,
    user: UserId,
) -> anyhow::Result<Vec<Relation>> {
    blocks.restricted(kind, user, None, 100).await
}

async fn set_once_keeping_the_first_time_and_event(
    users: &dyn UserStore,
    blocks: &dyn BlockStore,
    outbox: &dyn Outbox,
) -> anyhow::Result<()> {
    let ann = fresh_user(users, "Bla").await?;
    let bob = fresh_user(users, "Blb").await?;
    let first = blocked(ann.id, bob.id);
    let new = blocks
        .restrict(Restriction::Block, ann.id, bob.id, at(1), Some(&first))
        .await?;
    ensure!(new, "a first block is new");
    ensure_pending(outbox, &first, "restrict(block)").await?;
    let second = blocked(ann.id, bob.id);
    let again = blocks
        .restrict(Restriction::Block, ann.id, bob.id, at(2), Some(&second))
        .await?;
    ensure!(!again, "a second block of the same user is not new");
    ensure!(
        pending_entry(outbox, second.id).await?.is_none(),
        "a repeated block wrote its event"
    );
    let listed = list(blocks, Restriction::Block, ann.id).await?;
    check_eq(
        listed,
        vec![Relation {
            user: bob.id,
            since: at(1),
        }],
        "blocks after a repeat",
    )?;
    // A mute is its own row: the same pair may be both blocked and muted.
    ensure!(
        blocks
            .restrict(Restriction::Mute, ann.id, bob.id, at(3), None)
            .await?,
        "a mute beside a block is new"
    );
    check_eq(
        list(blocks, Restriction::Mute, ann.id).await?.len(),
        1,
        "mutes",
    )
}

async fn lifted_once(users: &dyn UserStore, blocks: &dyn BlockStore) -> anyhow::Result<()> {
    let ann = fresh_user(users, "Lia").await?;
    let bob = fresh_user(users, "Lib").await?;
    for kind in [Restriction::Block, Restriction::Mute] {
        blocks.restrict(kind, ann.id, bob.id, at(1), None).await?;
        ensure!(blocks.lift(kind, ann.id, bob.id).await?, "{kind:?}: lifted");
        ensure!(
            !blocks.lift(kind, ann.id, bob.id).await?,
            "{kind:?}: lifted twice"
        );
        check_eq(
            list(blocks, kind, ann.id).await?,
            Vec::new(),
            &format!("{kind:?}s after lifting"),
        )?;
    }
    // Lifting the other side's block lifts nothing.
    blocks
        .restrict(Restriction::Block, bob.id, ann.id, at(2), None)
        .await?;
    ensure!(
        !blocks.lift(Restriction::Block, ann.id, bob.id).await?,
        "ann lifted bob's block of her"
    );
    check_eq(
        blocks.standing(ann.id, bob.id).await?,
        Standing {
            blocked_by: true,
            ..Standing::default()
        },
        "ann's standing after her failed lift",
    )
}

async fn listed_newest_first_by_kind(
    users: &dyn UserStore,
    blocks: &dyn BlockStore,
) -> anyhow::Result<()> {
    let ann = fresh_user(users, "Pga").await?;
    let mut others = Vec::new();
    for (i, prefix) in ["Pgb", "Pgc", "Pgd"].into_iter().enumerate() {
        let other = fresh_user(users, prefix).await?;
        let n = i64::try_from(i)?;
        blocks
            .restrict(Restriction::Block, ann.id, other.id, at(n), None)
            .await?;
        others.push(other.id);
    }
    let muted = fresh_user(users, "Pge").await?;
    blocks
        .restrict(Restriction::Mute, ann.id, muted.id, at(9), None)
        .await?;
    let first = blocks
        .restricted(Restriction::Block, ann.id, None, 2)
        .await?;
    let users_of = |page: &[Relation]| page.iter().map(|r| r.user).collect::<Vec<_>>();
    check_eq(users_of(&first), vec![others[2], others[1]], "first page")?;
    let last = first.last().copied().map(|r| RelationCursor {
        since: r.since,
        user: r.user,
    });
    let second = blocks
        .restricted(Restriction::Block, ann.id, last, 2)
        .await?;
    check_eq(users_of(&second), vec![others[0]], "second page")?;
    check_eq(
        users_of(&list(blocks, Restriction::Mute, ann.id).await?),
        vec![muted.id],
        "mutes are listed apart",
    )
}

async fn standing_from_both_sides_and_hidden_sets(
    users: &dyn UserStore,
    blocks: &dyn BlockStore,
) -> anyhow::Result<()> {
    let ann = fresh_user(users, "Sta").await?;
    let bob = fresh_user(users, "Stb").await?;
    let cat = fresh_user(users, "Stc").await?;
    let dan = fresh_user(users, "Std").await?;
    blocks
        .restrict(Restriction::Block, ann.id, bob.id, at(1), None)
        .await?;
    blocks
        .restrict(Restriction::Mute, ann.id, cat.id, at(2), None)
        .await?;
    blocks
        .restrict(Restriction::Block, dan.id, ann.id, at(3), None)
        .await?;
    check_eq(
        blocks.standing(ann.id, bob.id).await?,
        Standing {
            blocking: true,
            ..Standing::default()
        },
        "ann towards bob",
    )?;
    check_eq(
        blocks.standing(bob.id, ann.id).await?,
        Standing {
            blocked_by: true,
            ..Standing::default()
        },
        "bob towards ann",
    )?;
    check_eq(
        blocks.standing(cat.id, ann.id).await?,
        Standing::default(),
        "cat towards ann (a mute is the muter's alone)",
    )?;
    let hidden = blocks.hidden_from(ann.id).await?;
    check_eq(
        hidden.blocked,
        [bob.id, dan.id].into_iter().collect(),
        "whom ann is in a block with",
    )?;
    check_eq(
        hidden.muted,
        [cat.id].into_iter().collect(),
        "whom ann mutes",
    )?;
    check_eq(
        blocks.hidden_from(bob.id).await?.blocked,
        [ann.id].into_iter().collect(),
        "whom bob is in a block with",
    )?;
    ensure!(
        blocks.hidden_from(cat.id).await?.is_empty(),
        "cat hides no one"
    );
    Ok(())
}

async fn no_restriction_on_an_unknown_user(
    users: &dyn UserStore,
    blocks: &dyn BlockStore,
    outbox: &dyn Outbox,
) -> anyhow::Result<()> {
    let ann = fresh_user(users, "Una").await?;
    let ghost = UserId::new();
    let event = blocked(ann.id, ghost);
    let new = blocks
        .restrict(Restriction::Block, ann.id, ghost, at(1), Some(&event))
        .await?;
    ensure!(!new, "a block of an unknown user was stored");
    ensure!(
        pending_entry(outbox, event.id).await?.is_none(),
        "a block of an unknown user wrote its event"
    );
    check_eq(
        list(blocks, Restriction::Block, ann.id).await?,
        Vec::new(),
        "blocks",
    )
}

async fn notifications_of_hidden_actors_are_not_shown(
    users: &dyn UserStore,
    blocks: &dyn BlockStore,
    notifications: &dyn NotificationStore,
) -> anyhow::Result<()> {
    let ann = fresh_user(users, "Nha").await?;
    let others = [
        fresh_user(users, "Nhb").await?, // ann blocks
        fresh_user(users, "Nhc").await?, // ann mutes
        fresh_user(users, "Nhd").await?, // blocks ann
        fresh_user(users, "Nhe").await?, // muted ann: shown
        fresh_user(users, "Nhf").await?, // nothing: shown
    ];
    for (i, other) in others.iter().enumerate() {
        let follow = NewNotification::of(
            NotificationKind::Follow,
            ann.id,
            other.id,
            None,
            at(i64::try_from(i)?),
        )
        .ok_or_else(|| anyhow::anyhow!("a notification of one's own action"))?;
        notifications.add(&follow).await?;
    }
    let [b, c, d, e, f] = &others;
    blocks
        .restrict(Restriction::Block, ann.id, b.id, at(10), None)
        .await?;
    blocks
        .restrict(Restriction::Mute, ann.id, c.id, at(11), None)
        .await?;
    blocks
        .restrict(Restriction::Block, d.id, ann.id, at(12), None)
        .await?;
    blocks
        .restrict(Restriction::Mute, e.id, ann.id, at(13), None)
        .await?;
    let shown = |list: Vec<rookery::domain::Notification>| {
        list.into_iter().map(|n| n.actor.id).collect::<Vec<_>>()
    };
    check_eq(
        shown(notifications.notifications(ann.id, None, 100).await?),
        vec![f.id, e.id],
        "notifications shown",
    )?;
    check_eq(notifications.unread_count(ann.id).await?, 2, "unread count")?;
    blocks.lift(Restriction::Mute, ann.id, c.id).await?;
    check_eq(
        notifications.unread_count(ann.id).await?,
        3,
        "unread count after the unmute",
    )
}

async fn an_erased_user_leaves_no_restriction(
    users: &dyn UserStore,
    blocks: &dyn BlockStore,
) -> anyhow::Result<()> {
    let ann = fresh_user(users, "Era").await?;
    let bob = fresh_user(users, "Erb").await?;
    let cat = fresh_user(users, "Erc").await?;
    blocks
        .restrict(Restriction::Block, ann.id, bob.id, at(1), None)
        .await?;
    blocks
        .restrict(Restriction::Mute, bob.id, cat.id, at(2), None)
        .await?;
    let deleted = Event::new(EventPayload::user_deleted(bob.id, &[]));
    ensure!(
        users
            .delete_user(bob.id, &deleted, Timestamp::now())
            .await?,
        "delete_user"
    );
    ensure!(
        blocks.hidden_from(ann.id).await?.is_empty(),
        "ann still hides the erased bob"
    );
    check_eq(
        list(blocks, Restriction::Block, ann.id).await?,
        Vec::new(),
        "ann's blocks",
    )?;
    check_eq(
        blocks.standing(cat.id, bob.id).await?,
        Standing::default(),
        "cat towards the erased bob",
    )
}
