//! The two loops of the bridge: one per queue (consume, batch, invoke, ack or requeue) and one
//! per schedule (invoke every period).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use futures::StreamExt;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions};
use lapin::types::FieldTable;
use rookery::adapters::rabbitmq::{self, ConsumerOptions, Topology};
use tokio::time::Instant;

use crate::event::{self, Received};
use crate::invoke::{Failure, Invoker};
use crate::template::{QueueSource, ScheduleSource};

/// What every loop shares.
pub struct Bridge {
    pub url: String,
    pub vhost: String,
    pub topology: Topology,
    pub invoker: Invoker,
}

const MAX_PAUSE: Duration = Duration::from_secs(10);

/// Feeds one queue to its function for as long as the bridge runs, reconnecting after any
/// broker failure.
pub async fn run_queue(bridge: Arc<Bridge>, source: QueueSource) {
    let queue = bridge.topology.queue(source.queue);
    let mut pause = Duration::from_millis(500);
    loop {
        match consume(&bridge, &source).await {
            Ok(()) => tracing::warn!(%queue, "consumer cancelled by the broker; reconnecting"),
            Err(err) => {
                tracing::warn!(%queue, error = %format!("{err:#}"), "lost the broker; reconnecting");
            }
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

async fn consume(bridge: &Bridge, source: &QueueSource) -> anyhow::Result<()> {
    let queue = bridge.topology.queue(source.queue);
    let name = format!("rookery-bridge-{queue}");
    let connection = rabbitmq::connect(&bridge.url, &name).await?;
    let channel = connection.create_channel().await.context("open channel")?;
    // The functions declare the same topology; whoever starts first makes it.
    bridge.topology.declare(&channel).await?;
    channel
        .basic_qos(source.batch_size, BasicQosOptions::default())
        .await
        .context("set prefetch")?;
    let mut deliveries = channel
        .basic_consume(
            queue.as_str().into(),
            format!("{name}-{}", uuid::Uuid::new_v4()).as_str().into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .with_context(|| format!("consume {queue}"))?;
    tracing::info!(%queue, function = %source.function, "feeding");
    loop {
        let Some(first) = deliveries.next().await else {
            return Ok(());
        };
        let mut batch = vec![first.context("receive")?];
        // Like Amazon MQ's event source: a batch closes when full or when its window ends.
        let closes = Instant::now() + source.batch_window;
        while batch.len() < usize::from(source.batch_size) {
            match tokio::time::timeout_at(closes, deliveries.next()).await {
                Ok(Some(delivery)) => batch.push(delivery.context("receive")?),
                Ok(None) | Err(_) => break,
            }
        }
        deliver(bridge, source, &batch).await?;
    }
}

/// Invokes the function with the batch until it answers; acks the batch if it succeeded,
/// requeues it (after a back-off) if it failed.
async fn deliver(bridge: &Bridge, source: &QueueSource, batch: &[Delivery]) -> anyhow::Result<()> {
    let Some(last) = batch.last() else {
        return Ok(());
    };
    let received: Vec<Received<'_>> = batch
        .iter()
        .map(|d| Received {
            properties: &d.properties,
            data: &d.data,
            redelivered: d.redelivered,
        })
        .collect();
    let payload = event::rabbitmq(source.queue.name(), &bridge.vhost, &received);
    let mut pause = Duration::from_millis(250);
    loop {
        match bridge.invoker.invoke(&source.function, &payload).await {
            Ok(()) => {
                tracing::debug!(function = %source.function, messages = batch.len(), "batch done");
                let all = BasicAckOptions { multiple: true };
                last.ack(all).await?;
                return Ok(());
            }
            Err(Failure::Function(error)) => {
                let failures = batch
                    .iter()
                    .map(rabbitmq::delivery_count)
                    .max()
                    .unwrap_or(0);
                tracing::warn!(function = %source.function, messages = batch.len(), %error, "function failed; batch requeued");
                tokio::time::sleep(rabbitmq::backoff(failures, ConsumerOptions::default())).await;
                let all = BasicNackOptions {
                    multiple: true,
                    requeue: true,
                };
                last.nack(all).await?;
                return Ok(());
            }
            Err(Failure::Unreachable(error)) => {
                tracing::warn!(function = %source.function, %error, "function not reachable; holding the batch");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(MAX_PAUSE);
            }
        }
    }
}

/// Invokes a function with a scheduled event every period, the first one period after start
/// (as a new EventBridge rule does).
pub async fn run_schedule(bridge: Arc<Bridge>, source: ScheduleSource) {
    let mut ticks = tokio::time::interval_at(Instant::now() + source.every, source.every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tracing::info!(function = %source.function, every = ?source.every, "scheduling");
    loop {
        ticks.tick().await;
        let payload = event::scheduled(&source.function, chrono::Utc::now());
        match bridge.invoker.invoke(&source.function, &payload).await {
            Ok(()) => tracing::debug!(function = %source.function, "scheduled run done"),
            // A missed run is made up by the next: the relay publishes whatever is pending.
            Err(failure) => {
                tracing::warn!(function = %source.function, ?failure, "scheduled run failed");
            }
        }
    }
}
