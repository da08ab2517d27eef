//! Exchanges, queues and bindings, declared idempotently by every process that uses them.

use std::time::Duration;

use anyhow::Context as _;
use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{Channel, ExchangeKind};

use crate::domain::Queue;

/// Names of the exchanges and queues. A namespace prefixes every name, so that several
/// independent Rookery instances (tests, say) can share one broker; production uses none.
/// Queues can be made throw-away with an expiry (the broker deletes a queue once it has been
/// unused that long), so that short-lived instances leave nothing behind; never in production,
/// where an expired dead-letter queue would lose what it held.
#[derive(Debug, Clone)]
pub struct Topology {
    prefix: String,
    delivery_limit: i64,
    expires_ms: Option<i64>,
}

impl Topology {
    /// Redeliveries before a failing message is dead-lettered.
    pub const DELIVERY_LIMIT: i64 = 8;

    pub fn new(namespace: Option<&str>) -> Self {
        Self {
            prefix: namespace.map(|ns| format!("{ns}.")).unwrap_or_default(),
            delivery_limit: Self::DELIVERY_LIMIT,
            expires_ms: None,
        }
    }

    /// Queues the broker deletes once unused for `expiry` (`x-expires`).
    pub fn expiring(mut self, expiry: Option<Duration>) -> Self {
        self.expires_ms = expiry.map(|e| i64::try_from(e.as_millis()).unwrap_or(i64::MAX).max(1));
        self
    }

    pub fn exchange(&self) -> String {
        format!("{}rookery.events", self.prefix)
    }

    pub fn dead_letter_exchange(&self) -> String {
        format!("{}rookery.dlx", self.prefix)
    }

    pub fn queue(&self, queue: Queue) -> String {
        format!("{}{}", self.prefix, queue.name())
    }

    pub fn dead_letter_queue(&self, queue: Queue) -> String {
        format!("{}.dlq", self.queue(queue))
    }

    /// Declares everything; declaring what exists with the same settings changes nothing.
    pub async fn declare(&self, channel: &Channel) -> anyhow::Result<()> {
        let durable = ExchangeDeclareOptions {
            durable: true,
            ..ExchangeDeclareOptions::default()
        };
        for exchange in [self.exchange(), self.dead_letter_exchange()] {
            channel
                .exchange_declare(
                    exchange.as_str().into(),
                    ExchangeKind::Direct,
                    durable,
                    FieldTable::default(),
                )
                .await
                .with_context(|| format!("declare exchange {exchange}"))?;
        }
        for queue in Queue::ALL {
            self.declare_queue(channel, queue).await?;
        }
        Ok(())
    }

    async fn declare_queue(&self, channel: &Channel, queue: Queue) -> anyhow::Result<()> {
        let name = self.queue(queue);
        let dlq = self.dead_letter_queue(queue);
        let durable = QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        };
        channel
            .queue_declare(dlq.as_str().into(), durable, self.arguments(None))
            .await
            .with_context(|| format!("declare queue {dlq}"))?;
        bind(channel, &dlq, &self.dead_letter_exchange(), &name).await?;
        let arguments = self.arguments(Some((&self.dead_letter_exchange(), &name)));
        channel
            .queue_declare(name.as_str().into(), durable, arguments)
            .await
            .with_context(|| format!("declare queue {name}"))?;
        for key in queue.routing_keys() {
            bind(channel, &name, &self.exchange(), key).await?;
        }
        Ok(())
    }
}

impl Topology {
    /// Quorum-queue arguments, with dead-lettering to (`exchange`, `routing key`) if given.
    fn arguments(&self, dead_letter: Option<(&str, &str)>) -> FieldTable {
        let mut arguments = FieldTable::default();
        arguments.insert("x-queue-type".into(), text("quorum"));
        if let Some((exchange, key)) = dead_letter {
            arguments.insert("x-dead-letter-exchange".into(), text(exchange));
            arguments.insert("x-dead-letter-routing-key".into(), text(key));
            arguments.insert(
                "x-delivery-limit".into(),
                AMQPValue::LongLongInt(self.delivery_limit),
            );
        }
        if let Some(expires) = self.expires_ms {
            arguments.insert("x-expires".into(), AMQPValue::LongLongInt(expires));
        }
        arguments
    }
}

async fn bind(channel: &Channel, queue: &str, exchange: &str, key: &str) -> anyhow::Result<()> {
    channel
        .queue_bind(
            queue.into(),
            exchange.into(),
            key.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .with_context(|| format!("bind {queue} to {exchange} with {key}"))
}

fn text(value: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(value.as_bytes().to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_design_and_take_a_namespace() {
        let plain = Topology::new(None);
        assert_eq!(plain.exchange(), "rookery.events");
        assert_eq!(plain.dead_letter_exchange(), "rookery.dlx");
        assert_eq!(plain.queue(Queue::FeedPosts), "feed.posts");
        assert_eq!(
            plain.dead_letter_queue(Queue::EmailWelcome),
            "email.welcome.dlq"
        );
        let spaced = Topology::new(Some("t1"));
        assert_eq!(spaced.exchange(), "t1.rookery.events");
        assert_eq!(
            spaced.dead_letter_queue(Queue::FeedFollows),
            "t1.feed.follows.dlq"
        );
    }
}
