//! The `Outbox` and `ProcessedEvents` contracts: unsent events oldest first, sent ones gone,
//! failed ones delayed and counted, given-up ones parked; and per-consumer processed marks.

use std::sync::Arc;

use futures::FutureExt as _;

use anyhow::{bail, ensure};
use futures::future::BoxFuture;
use rookery::domain::{Event, EventId, EventPayload, PostId, UserId};
use rookery::ports::{Outbox, OutboxEntry, ProcessedEvents};

use super::{check_eq, from_now};

/// Makes the retry of a failed event due now, as if its back-off had passed, so that the suite
/// can see its attempt count without sleeping. Adapter-specific test glue (the trait has no
/// clock to turn); without it the suite checks everything except what needs the back-off over.
pub type RetryNow = Arc<dyn Fn(EventId) -> BoxFuture<'static, anyhow::Result<()>> + Send + Sync>;

/// Runs every check against `outbox`. Every check enqueues fresh events and looks only at them,
/// so the outbox may hold other rows.
pub async fn outbox(outbox: Arc<dyn Outbox>, retry_now: Option<RetryNow>) -> anyhow::Result<()> {
    let outbox = &*outbox;
    super::every_check(
        "outbox",
        vec![
            (
                "pending_is_oldest_first_and_bounded",
                pending_is_oldest_first_and_bounded(outbox).boxed_local(),
            ),
            (
                "sent_events_leave_pending",
                sent_events_leave_pending(outbox).boxed_local(),
            ),
            (
                "failed_events_wait_and_count_attempts",
                failed_events_wait_and_count_attempts(outbox, retry_now.as_ref()).boxed_local(),
            ),
            (
                "given_up_events_leave_for_good",
                given_up_events_leave_for_good(outbox, retry_now.as_ref()).boxed_local(),
            ),
            (
                "pruning_takes_only_old_sent_rows",
                pruning_takes_only_old_sent_rows(outbox).boxed_local(),
            ),
        ],
    )
    .await
}

/// A sent row is pruned once it was sent before the bound; an unsent one never is.
async fn pruning_takes_only_old_sent_rows(outbox: &dyn Outbox) -> anyhow::Result<()> {
    let events = enqueue_fresh(outbox, 2).await?;
    outbox.mark_sent(events[0].id).await?;
    // Nothing here was sent a day ago: nothing is old enough.
    check_eq(
        outbox.prune_sent(from_now(-86_400_000), 1_000).await?,
        0,
        "rows sent before yesterday",
    )?;
    // A bound in the future makes every sent row old; the unsent one stays pending. The limit
    // bounds one call.
    let pruned = outbox.prune_sent(from_now(60_000), 1).await?;
    check_eq(pruned, 1, "rows pruned under a limit of one")?;
    while outbox.prune_sent(from_now(60_000), 1_000).await? > 0 {}
    check_eq(
        pending_ids_of(outbox, &events).await?,
        vec![events[1].id],
        "what is pending after pruning",
    )?;
    Ok(())
}

/// Runs every check against `processed`, with fresh event ids.
pub async fn processed_events(processed: Arc<dyn ProcessedEvents>) -> anyhow::Result<()> {
    let (first, second) = ("email.welcome", "feed.posts");
    let (event, other) = (EventId::new(), EventId::new());
    ensure!(
        !processed.is_processed(first, event).await?,
        "a fresh event is processed"
    );
    processed.mark_processed(first, event).await?;
    ensure!(
        processed.is_processed(first, event).await?,
        "not processed after mark_processed()"
    );
    ensure!(
        !processed.is_processed(second, event).await?,
        "a mark for one consumer must not count for another"
    );
    ensure!(
        !processed.is_processed(first, other).await?,
        "a mark for one event must not count for another"
    );
    processed.mark_processed(first, event).await?;
    ensure!(
        processed.is_processed(first, event).await?,
        "a repeated mark_processed() must keep the mark"
    );
    processed.mark_processed(second, event).await?;
    ensure!(
        processed.is_processed(second, event).await?
            && processed.is_processed(first, event).await?,
        "marks for two consumers of one event"
    );
    ensure!(
        !processed.is_processed("some.other.consumer", event).await?,
        "a third consumer"
    );
    let past = rookery::domain::Timestamp::from_millis(0);
    check_eq(
        processed.prune(past, 1_000).await?,
        0,
        "ids processed before 1970",
    )?;
    ensure!(
        processed.is_processed(first, event).await?,
        "a prune of nothing forgot a mark"
    );
    let later = from_now(60_000);
    while processed.prune(later, 1_000).await? > 0 {}
    ensure!(
        !processed.is_processed(first, event).await?
            && !processed.is_processed(second, event).await?,
        "a mark outlived its retention"
    );
    Ok(())
}

fn fresh_event(i: usize) -> Event {
    let (follower_id, followee_id) = (UserId::new(), UserId::new());
    match i % 3 {
        0 => Event::new(EventPayload::UserFollowed {
            follower_id,
            followee_id,
        }),
        1 => Event::new(EventPayload::post_created(PostId::new(), follower_id)),
        _ => Event::new(EventPayload::UserUnfollowed {
            follower_id,
            followee_id,
        }),
    }
}

async fn enqueue_fresh(outbox: &dyn Outbox, n: usize) -> anyhow::Result<Vec<Event>> {
    let events: Vec<Event> = (0..n).map(fresh_event).collect();
    for event in &events {
        outbox.enqueue(event).await?;
    }
    Ok(events)
}

async fn all_pending(outbox: &dyn Outbox) -> anyhow::Result<Vec<OutboxEntry>> {
    outbox.pending(100_000).await
}

/// The pending entries among `events`, in the order `pending` returned them.
async fn pending_of(outbox: &dyn Outbox, events: &[Event]) -> anyhow::Result<Vec<OutboxEntry>> {
    Ok(all_pending(outbox)
        .await?
        .into_iter()
        .filter(|entry| events.iter().any(|e| e.id == entry.event.id))
        .collect())
}

async fn pending_ids_of(outbox: &dyn Outbox, events: &[Event]) -> anyhow::Result<Vec<EventId>> {
    Ok(pending_of(outbox, events)
        .await?
        .into_iter()
        .map(|entry| entry.event.id)
        .collect())
}

fn ids(events: &[&Event]) -> Vec<EventId> {
    events.iter().map(|e| e.id).collect()
}

async fn pending_is_oldest_first_and_bounded(outbox: &dyn Outbox) -> anyhow::Result<()> {
    let events = enqueue_fresh(outbox, 4).await?;
    let entries = pending_of(outbox, &events).await?;
    check_eq(
        entries.iter().map(|e| e.event.clone()).collect::<Vec<_>>(),
        events.clone(),
        "pending(): the enqueued events, unchanged, oldest first",
    )?;
    ensure!(
        entries.iter().all(|e| e.attempts == 0),
        "fresh entries must have 0 attempts: {entries:?}"
    );
    // A limit takes a prefix of the same order.
    let everything: Vec<EventId> = all_pending(outbox)
        .await?
        .into_iter()
        .map(|e| e.event.id)
        .collect();
    for limit in [0, 1, 2, 3] {
        let got: Vec<EventId> = outbox
            .pending(limit)
            .await?
            .into_iter()
            .map(|e| e.event.id)
            .collect();
        let want: Vec<EventId> = everything.iter().take(limit).copied().collect();
        check_eq(got, want, &format!("pending({limit})"))?;
    }
    // Leave nothing of ours behind for the other checks' prefixes.
    for event in &events {
        outbox.mark_sent(event.id).await?;
    }
    Ok(())
}

async fn sent_events_leave_pending(outbox: &dyn Outbox) -> anyhow::Result<()> {
    let events = enqueue_fresh(outbox, 3).await?;
    outbox.mark_sent(events[1].id).await?;
    check_eq(
        pending_ids_of(outbox, &events).await?,
        ids(&[&events[0], &events[2]]),
        "pending() after mark_sent() of the middle event",
    )?;
    outbox.mark_sent(events[1].id).await?;
    outbox.mark_sent(events[0].id).await?;
    check_eq(
        pending_ids_of(outbox, &events).await?,
        ids(&[&events[2]]),
        "pending() after a repeated mark_sent() and another",
    )?;
    outbox.mark_sent(events[2].id).await?;
    check_eq(
        pending_ids_of(outbox, &events).await?,
        vec![],
        "pending() after every event was sent",
    )?;
    Ok(())
}

async fn failed_events_wait_and_count_attempts(
    outbox: &dyn Outbox,
    retry_now: Option<&RetryNow>,
) -> anyhow::Result<()> {
    let events = enqueue_fresh(outbox, 3).await?;
    let (failing, waiting, later) = (&events[0], &events[1], &events[2]);

    outbox.mark_failed(failing.id, "broker down", false).await?;
    // The back-off is at least a second: the event cannot be due again yet.
    check_eq(
        pending_ids_of(outbox, &events).await?,
        ids(&[waiting, later]),
        "pending() right after mark_failed(give_up: false)",
    )?;

    let Some(retry_now) = retry_now else {
        for event in &events {
            outbox.mark_sent(event.id).await?;
        }
        return Ok(());
    };
    retry_now(failing.id).await?;
    let entries = pending_of(outbox, &events).await?;
    check_eq(
        entries.iter().map(|e| e.event.id).collect::<Vec<_>>(),
        ids(&[failing, waiting, later]),
        "pending() once the back-off is over: the retried event keeps its place, oldest first",
    )?;
    check_eq(
        entries.iter().map(|e| e.attempts).collect::<Vec<_>>(),
        vec![1, 0, 0],
        "attempts after one failure",
    )?;
    check_eq(&entries[0].event, failing, "the retried event, unchanged")?;

    outbox
        .mark_failed(failing.id, "broker down again", false)
        .await?;
    outbox.mark_failed(waiting.id, "broker down", false).await?;
    check_eq(
        pending_ids_of(outbox, &events).await?,
        ids(&[later]),
        "pending() right after a second failure",
    )?;
    retry_now(failing.id).await?;
    retry_now(waiting.id).await?;
    let attempts: Vec<(EventId, u32)> = pending_of(outbox, &events)
        .await?
        .into_iter()
        .map(|e| (e.event.id, e.attempts))
        .collect();
    check_eq(
        attempts,
        vec![(failing.id, 2), (waiting.id, 1), (later.id, 0)],
        "attempts count every failure",
    )?;

    // Sent after failures: gone, and a due retry does not bring it back.
    outbox.mark_sent(failing.id).await?;
    // Glue may refuse rows it no longer considers retryable; what counts is `pending`.
    let _ = retry_now(failing.id).await;
    check_eq(
        pending_ids_of(outbox, &events).await?,
        ids(&[waiting, later]),
        "pending() after a retried event was sent",
    )?;
    outbox.mark_sent(waiting.id).await?;
    outbox.mark_sent(later.id).await?;
    Ok(())
}

async fn given_up_events_leave_for_good(
    outbox: &dyn Outbox,
    retry_now: Option<&RetryNow>,
) -> anyhow::Result<()> {
    let events = enqueue_fresh(outbox, 3).await?;
    let (doomed, retried, fine) = (&events[0], &events[1], &events[2]);

    outbox.mark_failed(doomed.id, "poison", true).await?;
    check_eq(
        pending_ids_of(outbox, &events).await?,
        ids(&[retried, fine]),
        "pending() after mark_failed(give_up: true)",
    )?;

    // An event that failed before being given up on.
    outbox.mark_failed(retried.id, "broker down", false).await?;
    if let Some(retry_now) = retry_now {
        retry_now(retried.id).await?;
        let entries = pending_of(outbox, &events).await?;
        let Some(entry) = entries.iter().find(|e| e.event.id == retried.id) else {
            bail!("a failed event is not pending once its back-off is over: {entries:?}");
        };
        check_eq(entry.attempts, 1, "attempts before giving up")?;
    }
    outbox.mark_failed(retried.id, "still down", true).await?;
    if let Some(retry_now) = retry_now {
        // Even once any back-off is over, given-up events stay parked.
        // Glue may refuse parked rows; what counts is that they are not pending.
        let _ = retry_now(doomed.id).await;
        let _ = retry_now(retried.id).await;
    }
    check_eq(
        pending_ids_of(outbox, &events).await?,
        ids(&[fine]),
        "pending() after giving up on two events",
    )?;
    // A new event behind parked ones is still delivered.
    let behind = enqueue_fresh(outbox, 1).await?;
    let mut all = events.clone();
    all.extend(behind.iter().cloned());
    check_eq(
        pending_ids_of(outbox, &all).await?,
        ids(&[fine, &behind[0]]),
        "pending() with parked events ahead",
    )?;
    outbox.mark_sent(fine.id).await?;
    outbox.mark_sent(behind[0].id).await?;
    Ok(())
}
