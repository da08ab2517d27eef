//! Runs one `Consumer` on its queue: acks after the work is done (never auto-ack), sends poison
//! to the dead-letter queue at once, and requeues transient failures after a back-off until the
//! broker's delivery limit dead-letters them.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use futures::StreamExt;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions};
use lapin::types::{AMQPValue, FieldTable};

use tracing::Instrument as _;

use super::Topology;
use super::publisher::trace_of;
use crate::domain::Event;
use crate::ports::{ConsumeError, Consumer};
use crate::telemetry::{metrics, trace};

#[derive(Debug, Clone, Copy)]
pub struct ConsumerOptions {
    /// Messages the broker may hand over before they are acked.
    pub prefetch: u16,
    /// First back-off before a failed message is requeued; doubles per delivery.
    pub retry_base: Duration,
    pub retry_max: Duration,
}

impl Default for ConsumerOptions {
    fn default() -> Self {
        Self {
            prefetch: 16,
            retry_base: Duration::from_millis(250),
            retry_max: Duration::from_secs(15),
        }
    }
}

/// Consumes forever, reconnecting after any broker failure.
pub async fn run_consumer(
    url: String,
    topology: Topology,
    consumer: Arc<dyn Consumer>,
    options: ConsumerOptions,
) {
    let queue = topology.queue(consumer.queue());
    let mut pause = Duration::from_millis(500);
    loop {
        match consume(&url, &topology, consumer.as_ref(), options).await {
            Ok(()) => tracing::warn!(%queue, "consumer cancelled by the broker; reconnecting"),
            Err(err) => {
                tracing::warn!(%queue, error = %format!("{err:#}"), "consumer lost its connection; reconnecting");
            }
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(10));
    }
}

async fn consume(
    url: &str,
    topology: &Topology,
    consumer: &dyn Consumer,
    options: ConsumerOptions,
) -> anyhow::Result<()> {
    let queue = topology.queue(consumer.queue());
    let connection = super::connect(url, &format!("rookery-{queue}")).await?;
    let channel = connection.create_channel().await.context("open channel")?;
    topology.declare(&channel).await?;
    channel
        .basic_qos(options.prefetch, BasicQosOptions::default())
        .await
        .context("set prefetch")?;
    let mut deliveries = channel
        .basic_consume(
            queue.as_str().into(),
            format!("rookery-{queue}-{}", uuid::Uuid::new_v4())
                .as_str()
                .into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .with_context(|| format!("consume {queue}"))?;
    tracing::info!(%queue, "consuming");
    while let Some(delivery) = deliveries.next().await {
        let delivery = delivery.context("receive")?;
        handle(consumer, delivery, options).await?;
    }
    Ok(())
}

/// Outcome of one delivery, decided before talking to the broker.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Ack,
    DeadLetter,
    Retry,
}

async fn handled(consumer: &dyn Consumer, event: &Event) -> Verdict {
    let queue = consumer.queue().name();
    match consumer.handle(event).await {
        Ok(()) => {
            tracing::info!("event handled");
            Verdict::Ack
        }
        Err(ConsumeError::Poison(reason)) => {
            tracing::error!(queue, %reason, "poison message; dead-lettered");
            Verdict::DeadLetter
        }
        Err(ConsumeError::Transient(err)) => {
            tracing::warn!(queue, error = %format!("{err:#}"), "handling failed; will retry");
            Verdict::Retry
        }
    }
}

async fn handle(
    consumer: &dyn Consumer,
    delivery: Delivery,
    options: ConsumerOptions,
) -> anyhow::Result<()> {
    let queue = consumer.queue().name();
    let verdict = match Event::from_json(&delivery.data) {
        Err(err) => {
            tracing::error!(queue, error = %err, "malformed message; dead-lettered");
            Verdict::DeadLetter
        }
        Ok(mut event) => {
            event.trace = trace_of(delivery.properties.headers().as_ref());
            let span = trace::consume_span(queue, &event);
            handled(consumer, &event).instrument(span).await
        }
    };
    match verdict {
        Verdict::Ack => metrics::event_consumed(queue),
        Verdict::DeadLetter => metrics::event_dead_lettered(queue),
        Verdict::Retry => metrics::event_retried(queue),
    }
    match verdict {
        Verdict::Ack => delivery.ack(BasicAckOptions::default()).await?,
        Verdict::DeadLetter => {
            delivery
                .nack(BasicNackOptions {
                    requeue: false,
                    ..BasicNackOptions::default()
                })
                .await?
        }
        Verdict::Retry => {
            tokio::time::sleep(backoff(delivery_count(&delivery), options)).await;
            delivery
                .nack(BasicNackOptions {
                    requeue: true,
                    ..BasicNackOptions::default()
                })
                .await?
        }
    };
    Ok(())
}

/// How often the broker delivered this message before (quorum queues count it).
pub fn delivery_count(delivery: &Delivery) -> u32 {
    let value = delivery
        .properties
        .headers()
        .as_ref()
        .and_then(|headers| headers.inner().get("x-delivery-count").cloned());
    let count = match value {
        Some(AMQPValue::LongLongInt(n)) => n,
        Some(AMQPValue::LongInt(n)) => i64::from(n),
        Some(AMQPValue::ShortInt(n)) => i64::from(n),
        Some(AMQPValue::LongUInt(n)) => i64::from(n),
        _ => 0,
    };
    u32::try_from(count).unwrap_or(u32::MAX)
}

/// The pause before a message that failed `count` times before is requeued.
pub fn backoff(count: u32, options: ConsumerOptions) -> Duration {
    options
        .retry_base
        .saturating_mul(2u32.saturating_pow(count.min(16)))
        .min(options.retry_max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_then_caps() {
        let options = ConsumerOptions::default();
        assert_eq!(backoff(0, options), Duration::from_millis(250));
        assert_eq!(backoff(1, options), Duration::from_millis(500));
        assert_eq!(backoff(3, options), Duration::from_secs(2));
        assert_eq!(backoff(10, options), Duration::from_secs(15));
        assert_eq!(backoff(u32::MAX, options), Duration::from_secs(15));
    }
}
