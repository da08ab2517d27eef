//! Queue consumers under Lambda: the Amazon MQ event source hands over batches of RabbitMQ
//! messages (base64 bodies, grouped by `queue::vhost`). The invocation fails only for what a
//! retry can fix; a poison or malformed message is logged and dropped, so that it cannot block
//! its queue (the event source has no per-message failure report).

use std::collections::HashMap;
use std::sync::Arc;

use aws_lambda_events::rabbitmq::RabbitMqEvent;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use serde_json::Value;
use tracing::Instrument as _;

use crate::domain::{Event, Queue, TraceContext};
use crate::ports::{ConsumeError, Consumer};
use crate::telemetry::{metrics, trace};

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
            let Some(mut event) = event else {
                tracing::error!(queue = queue_name, "malformed message dropped");
                report.dropped += 1;
                continue;
            };
            event.trace = trace_header(&message.basic_properties.headers);
            let span = trace::consume_span(queue_name, &event);
            match consumer.handle(&event).instrument(span.clone()).await {
                Ok(()) => {
                    span.in_scope(|| tracing::info!("event handled"));
                    report.handled += 1;
                    metrics::event_consumed(queue_name);
                }
                Err(ConsumeError::Poison(reason)) => {
                    span.in_scope(
                        || tracing::error!(queue = queue_name, %reason, "poison message dropped"),
                    );
                    report.dropped += 1;
                }
                Err(ConsumeError::Transient(err)) => {
                    span.in_scope(|| tracing::warn!(queue = queue_name, error = %format!("{err:#}"), "will retry the batch"));
                    metrics::event_retried(queue_name);
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

/// The `traceparent` header of a message as the event source hands it over: a string (the
/// local bridge), or, as Amazon MQ's event source writes string headers, `{"bytes": [...]}`.
fn trace_header(headers: &HashMap<String, Value>) -> Option<TraceContext> {
    match headers.get(TraceContext::HEADER)? {
        Value::String(text) => TraceContext::parse(text),
        Value::Object(object) => {
            let bytes: Vec<u8> = object
                .get("bytes")?
                .as_array()?
                .iter()
                .map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
                .collect::<Option<_>>()?;
            TraceContext::parse(std::str::from_utf8(&bytes).ok()?)
        }
        _ => None,
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
    let span = super::function_span(&config);
    let consumers = &wire(config).await?;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<RabbitMqEvent>| async move {
            let report = handle_batch(consumers, &event.payload).await;
            crate::telemetry::flush();
            report.map_err(lambda_runtime::Error::from)
        },
    ))
    .instrument(span)
    .await
}
