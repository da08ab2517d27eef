//! The event-bus contract against a real RabbitMQ (`TEST_RABBITMQ_URL`, default the loopback
//! broker that `scripts/services` starts), and the broker-only promises: dead-lettering of
//! malformed and poison messages, and the bound on redeliveries.

mod contracts;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context as _, ensure};
use async_trait::async_trait;
use lapin::options::{BasicPublishOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel};
use rookery::adapters::rabbitmq::{
    ConsumerOptions, RabbitPublisher, Topology, connect, run_consumer,
};
use rookery::domain::{Event, EventPayload, PostId, Queue, UserId};
use rookery::ports::{ConsumeError, Consumer, DeadLetters, EventPublisher};

use contracts::bus::Delivery;

fn broker_url() -> String {
    rookery_test_support::service_url("TEST_RABBITMQ_URL")
}

/// A topology of its own for every test, so tests and runs never share a queue.
fn fresh_topology() -> Topology {
    let tag = uuid::Uuid::new_v4().simple().to_string();
    Topology::new(Some(&format!("c{}", &tag[..10]))).expiring(Some(Duration::from_secs(60)))
}

/// Retries fast, so the delivery bound is reached in well under a second.
const FAST: ConsumerOptions = ConsumerOptions {
    prefetch: 4,
    retry_base: Duration::from_millis(5),
    retry_max: Duration::from_millis(20),
};

fn start(topology: &Topology, consumers: Vec<Arc<dyn Consumer>>) {
    for consumer in consumers {
        tokio::spawn(run_consumer(broker_url(), topology.clone(), consumer, FAST));
    }
}

#[tokio::test]
async fn event_publisher_contract_on_rabbitmq() -> anyhow::Result<()> {
    let make = |consumers: Vec<Arc<dyn Consumer>>| async move {
        let topology = fresh_topology();
        start(&topology, consumers);
        let publisher: Arc<dyn EventPublisher> =
            Arc::new(RabbitPublisher::new(&broker_url(), topology));
        publisher
            .ping()
            .await
            .context("RabbitMQ is not reachable: run scripts/services")?;
        Ok(publisher)
    };
    let delivery = Delivery::Eventual {
        within: Duration::from_secs(10),
    };
    contracts::bus::event_publisher(make, delivery).await
}

/// Counts what it is handed; fails as told.
struct Counting {
    queue: Queue,
    outcome: fn() -> Result<(), ConsumeError>,
    calls: AtomicUsize,
}

#[async_trait]
impl Consumer for Counting {
    fn queue(&self) -> Queue {
        self.queue
    }

    async fn handle(&self, _: &Event) -> Result<(), ConsumeError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        (self.outcome)()
    }
}

fn counting(outcome: fn() -> Result<(), ConsumeError>) -> Arc<Counting> {
    Arc::new(Counting {
        queue: Queue::FeedPosts,
        outcome,
        calls: AtomicUsize::new(0),
    })
}

async fn channel() -> anyhow::Result<(lapin::Connection, Channel)> {
    let connection = connect(&broker_url(), "rookery-test")
        .await
        .context("RabbitMQ is not reachable: run scripts/services")?;
    let channel = connection.create_channel().await?;
    Ok((connection, channel))
}

async fn depth(channel: &Channel, queue: &str) -> anyhow::Result<u32> {
    let passive = QueueDeclareOptions {
        passive: true,
        ..QueueDeclareOptions::default()
    };
    let declared = channel
        .queue_declare(queue.into(), passive, FieldTable::default())
        .await?;
    Ok(declared.message_count())
}

async fn wait_for_depth(channel: &Channel, queue: &str, want: u32) -> anyhow::Result<()> {
    for _ in 0..200 {
        if depth(channel, queue).await? == want {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("{queue} never held {want} message(s)")
}

fn post_created() -> Event {
    Event::new(EventPayload::post_created(PostId::new(), UserId::new()))
}

#[tokio::test]
async fn malformed_body_is_dead_lettered_and_the_consumer_lives_on() -> anyhow::Result<()> {
    let topology = fresh_topology();
    let (_connection, channel) = channel().await?;
    topology.declare(&channel).await?;
    let consumer = counting(|| Ok(()));
    start(&topology, vec![consumer.clone()]);

    channel
        .basic_publish(
            topology.exchange().as_str().into(),
            "post.created".into(),
            BasicPublishOptions::default(),
            b"{ this is not an event",
            BasicProperties::default(),
        )
        .await?
        .await?;
    wait_for_depth(&channel, &topology.dead_letter_queue(Queue::FeedPosts), 1).await?;
    ensure!(
        consumer.calls.load(Ordering::SeqCst) == 0,
        "a malformed body reached the consumer"
    );

    // The consumer is still there for the next, well-formed message.
    let publisher = RabbitPublisher::new(&broker_url(), topology.clone());
    publisher.publish(&post_created()).await?;
    for _ in 0..200 {
        if consumer.calls.load(Ordering::SeqCst) == 1 {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    anyhow::bail!("the consumer stopped after a malformed message")
}

#[tokio::test]
async fn poison_goes_to_the_dead_letter_queue_at_once() -> anyhow::Result<()> {
    let topology = fresh_topology();
    let consumer = counting(|| Err(ConsumeError::Poison("never valid".into())));
    start(&topology, vec![consumer.clone()]);
    let publisher = RabbitPublisher::new(&broker_url(), topology.clone());
    publisher.publish(&post_created()).await?;
    let (_connection, channel) = channel().await?;
    wait_for_depth(&channel, &topology.dead_letter_queue(Queue::FeedPosts), 1).await?;
    ensure!(
        consumer.calls.load(Ordering::SeqCst) == 1,
        "poison was retried"
    );
    Ok(())
}

#[tokio::test]
async fn a_message_that_keeps_failing_stops_at_the_delivery_bound() -> anyhow::Result<()> {
    let topology = fresh_topology();
    let consumer = counting(|| Err(ConsumeError::Transient(anyhow::anyhow!("still down"))));
    start(&topology, vec![consumer.clone()]);
    let publisher = RabbitPublisher::new(&broker_url(), topology.clone());
    publisher.publish(&post_created()).await?;
    let (_connection, channel) = channel().await?;
    wait_for_depth(&channel, &topology.dead_letter_queue(Queue::FeedPosts), 1).await?;
    let calls = consumer.calls.load(Ordering::SeqCst);
    let bound = usize::try_from(Topology::DELIVERY_LIMIT)? + 1;
    ensure!(
        calls == bound,
        "handled {calls} times, want the first try plus {} redeliveries",
        bound - 1
    );
    wait_for_depth(&channel, &topology.queue(Queue::FeedPosts), 0).await?;
    Ok(())
}

/// Takes the next message off `queue`, which must hold one.
async fn take_one(
    channel: &Channel,
    queue: &str,
) -> anyhow::Result<lapin::message::BasicGetMessage> {
    channel
        .basic_get(
            queue.into(),
            lapin::options::BasicGetOptions { no_ack: true },
        )
        .await?
        .with_context(|| format!("no message in {queue}"))
}

#[tokio::test]
async fn published_messages_carry_the_event_id_and_persist() -> anyhow::Result<()> {
    let topology = fresh_topology();
    let publisher = RabbitPublisher::new(&broker_url(), topology.clone());
    let event = post_created();
    publisher.publish(&event).await?;
    let (_connection, channel) = channel().await?;
    let got = take_one(&channel, &topology.queue(Queue::FeedPosts)).await?;
    let properties = &got.delivery.properties;
    assert_eq!(
        properties.message_id().as_ref().map(|id| id.to_string()),
        Some(event.id.to_string())
    );
    assert_eq!(*properties.delivery_mode(), Some(2));
    assert_eq!(Event::from_json(&got.delivery.data)?, event);
    Ok(())
}

/// A published event carries its trace in the `traceparent` header, and the consumer side
/// reads it back; a dead letter from a Lambda consumer lands in its queue's DLQ with its
/// reason (what the Lambda event source path does instead of the broker's reject).
#[tokio::test]
async fn traces_travel_in_headers_and_dead_letters_reach_their_queue() -> anyhow::Result<()> {
    let topology = fresh_topology();
    let publisher = RabbitPublisher::new(&broker_url(), topology.clone());
    let mut event = post_created();
    event.trace = rookery::domain::TraceContext::parse(
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    );
    publisher.publish(&event).await?;
    let (_connection, channel) = channel().await?;
    let got = take_one(&channel, &topology.queue(Queue::FeedPosts)).await?;
    let trace = rookery::adapters::rabbitmq::trace_of(got.delivery.properties.headers().as_ref());
    assert_eq!(trace, event.trace);

    let queue = topology.queue(Queue::FeedPosts);
    publisher
        .dead_letter(&queue, b"not an event", "not an event: expected value")
        .await?;
    let dlq = topology.dead_letter_queue(Queue::FeedPosts);
    let letter = take_one(&channel, &dlq).await?;
    assert_eq!(letter.delivery.data, b"not an event");
    let reason = letter
        .delivery
        .properties
        .headers()
        .as_ref()
        .and_then(|headers| headers.inner().get("x-rookery-reason").cloned());
    assert_eq!(
        reason,
        Some(lapin::types::AMQPValue::LongString(
            "not an event: expected value".into()
        ))
    );
    Ok(())
}

/// `rookery migrate` with `RABBITMQ_URL` declares every queue and its dead-letter queue before
/// anything is published: a deployment runs it before the MQ event sources, which need them.
#[tokio::test]
async fn migrate_declares_every_queue() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let namespace = format!("m{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let vars = std::collections::HashMap::from([
        ("ROOKERY_DATA_DIR", data.path().display().to_string()),
        ("RABBITMQ_URL", broker_url()),
        ("RABBITMQ_NAMESPACE", namespace.clone()),
        ("RABBITMQ_QUEUE_EXPIRY_SECONDS", "60".to_owned()),
    ]);
    let config = rookery::config::Config::from_lookup(|name| vars.get(name).cloned())?;
    let topology = Topology::new(Some(&namespace));
    // A passive declaration of a missing queue closes its channel: one channel for each look.
    let (_before, before) = channel().await?;
    ensure!(
        depth(&before, &topology.queue(Queue::EmailWelcome))
            .await
            .is_err(),
        "the queue existed before migrate"
    );
    rookery::server::migrate(&config).await?;
    let (_after, after) = channel().await?;
    for queue in Queue::ALL {
        ensure!(
            depth(&after, &topology.queue(queue)).await? == 0,
            "{queue:?}"
        );
        ensure!(
            depth(&after, &topology.dead_letter_queue(queue)).await? == 0,
            "{queue:?} dead letters"
        );
    }
    Ok(())
}
