//! Publishes events with publisher confirms: `publish` returns only once the broker has taken
//! the message, so the outbox relay marks a row sent only when it is safe to.

use anyhow::{Context as _, bail};
use async_trait::async_trait;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Connection};
use tokio::sync::Mutex;

use super::Topology;
use crate::domain::{Event, TraceContext};
use crate::ports::{DeadLetters, EventPublisher};

const PERSISTENT: u8 = 2;

pub struct RabbitPublisher {
    url: String,
    topology: Topology,
    /// Opened on first use and again after a failure, so a broker restart heals by itself.
    link: Mutex<Option<(Connection, Channel)>>,
}

impl RabbitPublisher {
    pub fn new(url: &str, topology: Topology) -> Self {
        Self {
            url: url.to_owned(),
            topology,
            link: Mutex::new(None),
        }
    }

    async fn channel(&self) -> anyhow::Result<Channel> {
        let mut link = self.link.lock().await;
        if let Some((connection, channel)) = link.as_ref()
            && connection.status().connected()
            && channel.status().connected()
        {
            return Ok(channel.clone());
        }
        let connection = super::connect(&self.url, "rookery-publisher").await?;
        let channel = connection.create_channel().await.context("open channel")?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .context("enable publisher confirms")?;
        self.topology.declare(&channel).await?;
        *link = Some((connection, channel.clone()));
        Ok(channel)
    }

    /// Declares the exchanges and queues (what the first publish would do). Deployments run it
    /// before the MQ event sources are created, as those need their queues to exist.
    ///
    /// # Errors
    /// The broker cannot be reached, or refuses a declaration (quorum queues need RabbitMQ
    /// 3.13 or newer on Amazon MQ).
    pub async fn declare_topology(&self) -> anyhow::Result<()> {
        self.channel().await.map(|_| ())
    }

    async fn forget_channel(&self) {
        *self.link.lock().await = None;
    }

    async fn try_publish(&self, event: &Event) -> anyhow::Result<()> {
        let payload = event.to_json()?;
        let properties = BasicProperties::default()
            .with_message_id(ShortString::from(event.id.to_string()))
            .with_type(ShortString::from(event.kind()))
            .with_content_type(ShortString::from("application/json"))
            .with_delivery_mode(PERSISTENT)
            .with_timestamp(u64::try_from(event.occurred_at.secs()).unwrap_or(0))
            .with_headers(trace_headers(event));
        let exchange = self.topology.exchange();
        self.confirmed(&exchange, event.kind(), payload.as_bytes(), properties)
            .await
    }

    /// Publishes with `mandatory` and waits for the broker's confirm: an unroutable message
    /// is an error, not a silent drop.
    async fn confirmed(
        &self,
        exchange: &str,
        routing_key: &str,
        body: &[u8],
        properties: BasicProperties,
    ) -> anyhow::Result<()> {
        let channel = self.channel().await?;
        let options = BasicPublishOptions {
            mandatory: true,
            ..BasicPublishOptions::default()
        };
        let confirm = channel
            .basic_publish(
                exchange.into(),
                routing_key.into(),
                options,
                body,
                properties,
            )
            .await
            .context("publish")?;
        let confirmation = tokio::time::timeout(super::BROKER_TIMEOUT, confirm)
            .await
            .context("the broker did not confirm in time")?
            .context("wait for the broker's confirm")?;
        if !confirmation.is_ack() {
            bail!("the broker refused the message");
        }
        if confirmation.take_message().is_some() {
            bail!("no queue is bound for {routing_key} on {exchange}");
        }
        Ok(())
    }
}

#[async_trait]
impl DeadLetters for RabbitPublisher {
    async fn dead_letter(&self, queue: &str, body: &[u8], reason: &str) -> anyhow::Result<()> {
        let mut headers = FieldTable::default();
        headers.insert(
            "x-rookery-reason".into(),
            AMQPValue::LongString(reason.into()),
        );
        let properties = BasicProperties::default()
            .with_delivery_mode(PERSISTENT)
            .with_headers(headers);
        // The dead-letter exchange routes by the queue's name to `<queue>.dlq` (topology.rs).
        let exchange = self.topology.dead_letter_exchange();
        let result = self.confirmed(&exchange, queue, body, properties).await;
        if result.is_err() {
            self.forget_channel().await;
        }
        result
    }
}

/// The event's trace as the W3C `traceparent` message header (none for an event without one).
fn trace_headers(event: &Event) -> FieldTable {
    let mut headers = FieldTable::default();
    if let Some(trace) = &event.trace {
        headers.insert(
            TraceContext::HEADER.into(),
            AMQPValue::LongString(trace.as_str().into()),
        );
    }
    headers
}

/// The trace an incoming message carries in its `traceparent` header, if any.
pub fn trace_of(headers: Option<&FieldTable>) -> Option<TraceContext> {
    let value = headers?.inner().get(TraceContext::HEADER)?;
    match value {
        AMQPValue::LongString(text) => TraceContext::parse(&text.to_string()),
        AMQPValue::ShortString(text) => TraceContext::parse(text.as_str()),
        _ => None,
    }
}

#[async_trait]
impl EventPublisher for RabbitPublisher {
    async fn publish(&self, event: &Event) -> anyhow::Result<()> {
        let result = self.try_publish(event).await;
        if result.is_err() {
            self.forget_channel().await;
        }
        result
    }

    fn name(&self) -> &'static str {
        "rabbitmq"
    }

    async fn ping(&self) -> anyhow::Result<()> {
        let result = self.channel().await.map(|_| ());
        if result.is_err() {
            self.forget_channel().await;
        }
        result
    }
}
