//! The embedded event bus: the outbox relay hands each event to the consumers bound to its
//! queues, in this process, and the event counts as sent once they have all finished.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use tracing::Instrument as _;

use crate::domain::{Event, Queue};
use crate::ports::{Consumer, EventPublisher};
use crate::telemetry::{metrics, trace};

#[derive(Default)]
pub struct InProcessBus {
    queues: HashMap<Queue, Vec<Arc<dyn Consumer>>>,
}

impl InProcessBus {
    pub fn new(consumers: impl IntoIterator<Item = Arc<dyn Consumer>>) -> Self {
        let mut queues: HashMap<Queue, Vec<Arc<dyn Consumer>>> = HashMap::new();
        for consumer in consumers {
            queues.entry(consumer.queue()).or_default().push(consumer);
        }
        Self { queues }
    }
}

#[async_trait]
impl EventPublisher for InProcessBus {
    /// Runs every bound consumer even when one fails, then reports the failures: the relay
    /// retries the event, and the consumers that already succeeded skip it as processed.
    async fn publish(&self, event: &Event) -> anyhow::Result<()> {
        let mut failures = Vec::new();
        for queue in Queue::for_kind(event.kind()) {
            for consumer in self.queues.get(&queue).into_iter().flatten() {
                let span = trace::consume_span(queue.name(), event);
                match consumer.handle(event).instrument(span.clone()).await {
                    Ok(()) => {
                        span.in_scope(|| tracing::info!("event handled"));
                        metrics::event_consumed(queue.name());
                    }
                    Err(err) => {
                        metrics::event_retried(queue.name());
                        failures.push(format!("{}: {err}", queue.name()));
                    }
                }
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(anyhow::anyhow!(failures.join("; ")))
        }
    }

    fn name(&self) -> &'static str {
        "in-process"
    }

    async fn ping(&self) -> anyhow::Result<()> {
        Ok(())
    }
}
