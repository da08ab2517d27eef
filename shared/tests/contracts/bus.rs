//! The `EventPublisher` contract: an event reaches the consumers of exactly the queues bound to
//! its type (DESIGN section 5), and one consumer's failure neither hides nor stops the others.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt as _;

use anyhow::{anyhow, ensure};
use rookery::domain::{Event, EventId, EventPayload, PostId, Queue, UserId};
use rookery::ports::{ConsumeError, Consumer, EventPublisher};

use super::{check_eq, eventually};

/// When the consumers behind a publisher run.
#[derive(Debug, Clone, Copy)]
pub enum Delivery {
    /// `publish` returns once every bound consumer has run, and fails when one of them failed
    /// (the in-process bus).
    Synchronous,
    /// `publish` returns once the broker holds the event; consumers run later, within `within`
    /// (a broker such as RabbitMQ). Delivery is at least once.
    #[allow(dead_code)] // for the broker adapters' entry points
    Eventual { within: Duration },
}

/// How a test consumer fails.
#[derive(Debug, Clone, Copy)]
enum Failure {
    Transient,
    Poison,
}

/// A consumer that records every event it is handed, and may fail on each.
struct Recorder {
    queue: Queue,
    failure: Option<Failure>,
    seen: Mutex<Vec<Event>>,
}

impl Recorder {
    fn new(queue: Queue, failure: Option<Failure>) -> Arc<Self> {
        Arc::new(Self {
            queue,
            failure,
            seen: Mutex::new(Vec::new()),
        })
    }

    fn seen(&self) -> anyhow::Result<Vec<Event>> {
        self.seen
            .lock()
            .map(|seen| seen.clone())
            .map_err(|_| anyhow!("recorder lock poisoned"))
    }

    /// Distinct event ids seen, in first-seen order (delivery may repeat).
    fn seen_ids(&self) -> anyhow::Result<Vec<EventId>> {
        let mut ids: Vec<EventId> = Vec::new();
        for event in self.seen()? {
            if !ids.contains(&event.id) {
                ids.push(event.id);
            }
        }
        Ok(ids)
    }
}

#[async_trait::async_trait]
impl Consumer for Recorder {
    fn queue(&self) -> Queue {
        self.queue
    }

    async fn handle(&self, event: &Event) -> Result<(), ConsumeError> {
        self.seen
            .lock()
            .map_err(|_| anyhow!("recorder lock poisoned"))?
            .push(event.clone());
        match self.failure {
            None => Ok(()),
            Some(Failure::Transient) => Err(ConsumeError::Transient(anyhow!("test outage"))),
            Some(Failure::Poison) => Err(ConsumeError::Poison("test poison".to_owned())),
        }
    }
}

fn consumers(recorders: &[&Arc<Recorder>]) -> Vec<Arc<dyn Consumer>> {
    recorders
        .iter()
        .map(|r| Arc::clone(*r) as Arc<dyn Consumer>)
        .collect()
}

fn registered() -> Event {
    Event::new(EventPayload::UserRegistered {
        user_id: UserId::new(),
        username: "ann".to_owned(),
        email: "ann@example.com".to_owned(),
        display_name: "Ann".to_owned(),
    })
}

fn post_event(deleted: bool) -> Event {
    let (post_id, author_id) = (PostId::new(), UserId::new());
    Event::new(if deleted {
        EventPayload::PostDeleted {
            post_id,
            author_id,
            reposted_by: Vec::new(),
        }
    } else {
        EventPayload::post_created(post_id, author_id)
    })
}

fn follow_event(unfollow: bool) -> Event {
    let (follower_id, followee_id) = (UserId::new(), UserId::new());
    Event::new(if unfollow {
        EventPayload::UserUnfollowed {
            follower_id,
            followee_id,
        }
    } else {
        EventPayload::UserFollowed {
            follower_id,
            followee_id,
        }
    })
}

/// Waits (eventual delivery) until `recorder` has seen every id in `want`.
async fn arrived(recorder: &Recorder, want: &[EventId], delivery: Delivery) -> anyhow::Result<()> {
    let within = match delivery {
        Delivery::Synchronous => Duration::ZERO,
        Delivery::Eventual { within } => within,
    };
    let done = eventually(within, || async {
        let seen = recorder.seen_ids()?;
        Ok(want.iter().all(|id| seen.contains(id)))
    })
    .await?;
    ensure!(
        done,
        "{} should have received {want:?}, got {:?}",
        recorder.queue.name(),
        recorder.seen_ids()?
    );
    Ok(())
}

/// Runs every check. `make` builds a publisher over these consumers, bound to their queues
/// (for a broker: declares the queues and starts the consumers); each check builds its own.
pub async fn event_publisher<F, Fut>(make: F, delivery: Delivery) -> anyhow::Result<()>
where
    F: Fn(Vec<Arc<dyn Consumer>>) -> Fut,
    Fut: Future<Output = anyhow::Result<Arc<dyn EventPublisher>>>,
{
    super::every_check(
        "event publisher",
        vec![
            (
                "routes_each_type_to_its_queues",
                routes_each_type_to_its_queues(&make, delivery).boxed_local(),
            ),
            (
                "a_failing_consumer_does_not_stop_the_others",
                a_failing_consumer_does_not_stop_the_others(&make, delivery).boxed_local(),
            ),
            (
                "publishing_with_no_consumers_succeeds",
                publishing_with_no_consumers_succeeds(&make).boxed_local(),
            ),
        ],
    )
    .await
}

async fn routes_each_type_to_its_queues<F, Fut>(make: &F, delivery: Delivery) -> anyhow::Result<()>
where
    F: Fn(Vec<Arc<dyn Consumer>>) -> Fut,
    Fut: Future<Output = anyhow::Result<Arc<dyn EventPublisher>>>,
{
    let email = Recorder::new(Queue::EmailWelcome, None);
    let network = Recorder::new(Queue::NetworkUsers, None);
    let posts = Recorder::new(Queue::FeedPosts, None);
    let follows = Recorder::new(Queue::FeedFollows, None);
    let bus = make(consumers(&[&email, &network, &posts, &follows])).await?;
    ensure!(!bus.name().is_empty(), "name() must be a non-empty label");
    bus.ping().await?;

    let registration = registered();
    bus.publish(&registration).await?;
    if let Delivery::Synchronous = delivery {
        // Done when publish returns: the consumers ran, once each, on the very event.
        check_eq(email.seen()?, vec![registration.clone()], "email.welcome")?;
        check_eq(network.seen()?, vec![registration.clone()], "network.users")?;
        check_eq(posts.seen()?, vec![], "feed.posts after user.registered")?;
        check_eq(
            follows.seen()?,
            vec![],
            "feed.follows after user.registered",
        )?;
    }
    arrived(&email, &[registration.id], delivery).await?;
    arrived(&network, &[registration.id], delivery).await?;

    let (created, deleted) = (post_event(false), post_event(true));
    let (followed, unfollowed) = (follow_event(false), follow_event(true));
    for event in [&created, &followed, &deleted, &unfollowed] {
        bus.publish(event).await?;
    }
    arrived(&posts, &[created.id, deleted.id], delivery).await?;
    arrived(&follows, &[followed.id, unfollowed.id], delivery).await?;

    // Nothing else reached anyone (for a broker: the feed events published after the
    // registration have arrived, so a misrouted registration would have too).
    check_eq(
        email.seen_ids()?,
        vec![registration.id],
        "email.welcome got",
    )?;
    check_eq(
        network.seen_ids()?,
        vec![registration.id],
        "network.users got",
    )?;
    check_eq(
        posts.seen_ids()?,
        vec![created.id, deleted.id],
        "feed.posts got (post.created, post.deleted)",
    )?;
    check_eq(
        follows.seen_ids()?,
        vec![followed.id, unfollowed.id],
        "feed.follows got (user.followed, user.unfollowed)",
    )?;
    // Every consumer saw the events as published.
    for (recorder, want) in [
        (&email, vec![&registration]),
        (&network, vec![&registration]),
        (&posts, vec![&created, &deleted]),
        (&follows, vec![&followed, &unfollowed]),
    ] {
        for event in recorder.seen()? {
            ensure!(
                want.contains(&&event),
                "{} got an altered event: {event:?}",
                recorder.queue.name()
            );
        }
        if let Delivery::Synchronous = delivery {
            check_eq(
                recorder.seen()?.len(),
                want.len(),
                &format!("{}: deliveries", recorder.queue.name()),
            )?;
        }
    }
    Ok(())
}

async fn a_failing_consumer_does_not_stop_the_others<F, Fut>(
    make: &F,
    delivery: Delivery,
) -> anyhow::Result<()>
where
    F: Fn(Vec<Arc<dyn Consumer>>) -> Fut,
    Fut: Future<Output = anyhow::Result<Arc<dyn EventPublisher>>>,
{
    // Each of the two consumers of user.registered fails in turn, each way.
    for (email_fails, failure) in [
        (true, Failure::Transient),
        (false, Failure::Transient),
        (true, Failure::Poison),
        (false, Failure::Poison),
    ] {
        let (email_failure, network_failure) = if email_fails {
            (Some(failure), None)
        } else {
            (None, Some(failure))
        };
        let email = Recorder::new(Queue::EmailWelcome, email_failure);
        let network = Recorder::new(Queue::NetworkUsers, network_failure);
        let posts = Recorder::new(Queue::FeedPosts, None);
        let bus = make(consumers(&[&email, &network, &posts])).await?;
        let (failing, healthy) = if email_fails {
            (&email, &network)
        } else {
            (&network, &email)
        };
        let case = format!("{} failing ({failure:?})", failing.queue.name());

        let registration = registered();
        let published = bus.publish(&registration).await;
        match delivery {
            Delivery::Synchronous => {
                ensure!(
                    published.is_err(),
                    "{case}: publish() must fail when a consumer failed"
                );
                check_eq(
                    healthy.seen()?,
                    vec![registration.clone()],
                    &format!("{case}: the other consumer must still run"),
                )?;
                check_eq(
                    failing.seen()?,
                    vec![registration.clone()],
                    &format!("{case}: the failing consumer was tried"),
                )?;
            }
            Delivery::Eventual { .. } => {
                published?;
                arrived(healthy, &[registration.id], delivery).await?;
                arrived(failing, &[registration.id], delivery).await?;
            }
        }

        // Events that the failing consumer does not take are unaffected.
        let created = post_event(false);
        bus.publish(&created)
            .await
            .map_err(|err| anyhow!("{case}: publishing post.created failed: {err:#}"))?;
        arrived(&posts, &[created.id], delivery).await?;
        ensure!(
            !failing.seen_ids()?.contains(&created.id),
            "{case}: the failing consumer got post.created"
        );
    }
    Ok(())
}

async fn publishing_with_no_consumers_succeeds<F, Fut>(make: &F) -> anyhow::Result<()>
where
    F: Fn(Vec<Arc<dyn Consumer>>) -> Fut,
    Fut: Future<Output = anyhow::Result<Arc<dyn EventPublisher>>>,
{
    let bus = make(Vec::new()).await?;
    for event in [registered(), post_event(false), follow_event(true)] {
        bus.publish(&event).await.map_err(|err| {
            anyhow!(
                "publishing {} with no consumer bound failed: {err:#}",
                event.kind()
            )
        })?;
    }
    Ok(())
}
