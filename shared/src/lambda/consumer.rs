//! Queue consumers under Lambda: the Amazon MQ event source hands over batches of RabbitMQ
//! messages (base64 bodies, grouped by `queue::vhost`). The invocation fails only for what a
//! retry can fix; a poison or malformed message is logged and dropped, so that it cannot block
//! its queue (the event source has no per-message failure report).

use std::sync::Arc;

use aws_lambda_events::rabbitmq::RabbitMqEvent;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::domain::{Event, Queue};
use crate::ports::{ConsumeError, Consumer};

/// What a batch came to.
#[derive(Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct BatchReport {
    pub handled: usize,
    pub dropped: usize,
}

/// Hands every message to the consumer of its queue. Returns an error (the whole batch is
/// retried; what was done is skipped as processed) if any message failed transiently.
pub async fn handle_batch(
    consumers: &[Arc<dyn Consumer>],
    batch: &RabbitMqEvent,
) -> anyhow::Result<BatchReport> {
    let mut report = BatchReport::default();
    let mut transient = Vec::new();
    for (source, messages) in &batch.messages_by_queue {
        let queue_name = source.split("::").next().unwrap_or(source);
        let consumer = Queue::from_name(queue_name)
            .and_then(|queue| consumers.iter().find(|c| c.queue() == queue));
        for message in messages {
            let Some(consumer) = consumer else {
                tracing::error!(
                    queue = queue_name,
                    "no consumer for this queue; message dropped"
                );
                report.dropped += 1;
                continue;
            };
            let event = message
                .data
                .as_deref()
                .and_then(|data| STANDARD.decode(data).ok())
                .and_then(|body| Event::from_json(&body).ok());
            let Some(event) = event else {
                tracing::error!(queue = queue_name, "malformed message dropped");
                report.dropped += 1;
                continue;
            };
            match consumer.handle(&event).await {
                Ok(()) => report.handled += 1,
                Err(ConsumeError::Poison(reason)) => {
                    tracing::error!(queue = queue_name, event_id = %event.id, %reason, "poison message dropped");
                    report.dropped += 1;
                }
                Err(ConsumeError::Transient(err)) => {
                    tracing::warn!(queue = queue_name, event_id = %event.id, error = %format!("{err:#}"), "will retry the batch");
                    transient.push(event.id.to_string());
                }
            }
        }
    }
    if transient.is_empty() {
        Ok(report)
    } else {
        anyhow::bail!(
            "{} message(s) failed and will be retried: {}",
            transient.len(),
            transient.join(", ")
        )
    }
}

/// Serves the consumers `wire` (one of [`super::wire`]'s builders) opens, as a Lambda
/// triggered by an Amazon MQ event source.
pub async fn serve<W, Fut>(wire: W) -> Result<(), lambda_runtime::Error>
where
    W: FnOnce(crate::config::Config) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Vec<Arc<dyn Consumer>>>>,
{
    let config = super::start().await?;
    let consumers = &wire(config).await?;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<RabbitMqEvent>| async move {
            handle_batch(consumers, &event.payload)
                .await
                .map_err(lambda_runtime::Error::from)
        },
    ))
    .await
}
