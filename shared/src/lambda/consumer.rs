//! Queue consumers under Lambda: the Amazon MQ event source hands over batches of RabbitMQ
//! messages (base64 bodies, grouped by `queue::vhost`). The event source cannot reject one
//! message of a batch, so a message no consumer can take (malformed, poison, or on a queue this
//! function does not serve) is put on its queue's dead-letter queue by the function itself,
//! with the reason, as the lapin consumer has the broker do. The invocation fails only for
//! what a retry can fix, and when a dead letter cannot be written: then the batch comes back,
//! and the queue's delivery limit dead-letters what keeps failing. Nothing is lost to the logs.

use std::collections::HashMap;
use std::sync::Arc;

use aws_lambda_events::rabbitmq::{RabbitMqEvent, RabbitMqMessage};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use tracing::Instrument as _;

use crate::domain::{Event, Queue, TraceContext};
use crate::ports::{ConsumeError, Consumer, DeadLetters};
use crate::telemetry::{metrics, trace};

/// What a batch came to.
#[derive(Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct BatchReport {
    pub handled: usize,
    pub dead_lettered: usize,
}

/// What became of one message.
enum Outcome {
    Handled,
    /// To the dead-letter queue, for this reason.
    Reject(String),
    /// Failed for now: the batch is retried.
    Retry(String),
}

/// Hands every message to the consumer of its queue, and what none can take to `dead_letters`.
/// Returns an error (the whole batch is retried; what was done is skipped as processed) if a
/// message failed transiently or could not be dead-lettered.
pub async fn handle_batch(
    consumers: &[Arc<dyn Consumer>],
    dead_letters: Option<&dyn DeadLetters>,
    batch: &RabbitMqEvent,
) -> anyhow::Result<BatchReport> {
    let mut report = BatchReport::default();
    let mut failed = Vec::new();
    for (source, messages) in &batch.messages_by_queue {
        let queue_name = source.split("::").next().unwrap_or(source);
        let consumer = Queue::from_name(queue_name)
            .and_then(|queue| consumers.iter().find(|c| c.queue() == queue));
        for message in messages {
            let body = body_of(message);
            match handle(consumer.map(Arc::as_ref), queue_name, message, &body).await {
                Outcome::Handled => report.handled += 1,
                Outcome::Retry(why) => failed.push(why),
                Outcome::Reject(reason) => {
                    match dead_letter(dead_letters, queue_name, &body, &reason).await {
                        Ok(()) => report.dead_lettered += 1,
                        Err(why) => failed.push(why),
                    }
                }
            }
        }
    }
    if failed.is_empty() {
        Ok(report)
    } else {
        anyhow::bail!(
            "{} message(s) will be delivered again: {}",
            failed.len(),
            failed.join("; ")
        )
    }
}

/// The message's body as the broker holds it: decoded from base64, or the text itself when
/// it is not base64 (a dead letter keeps whatever arrived).
fn body_of(message: &RabbitMqMessage) -> Vec<u8> {
    let data = message.data.as_deref().unwrap_or_default();
    STANDARD
        .decode(data)
        .unwrap_or_else(|_| data.as_bytes().to_vec())
}

async fn handle(
    consumer: Option<&dyn Consumer>,
    queue_name: &str,
    message: &RabbitMqMessage,
    body: &[u8],
) -> Outcome {
    let Some(consumer) = consumer else {
        return Outcome::Reject(format!("no consumer for {queue_name} in this function"));
    };
    let mut event = match Event::from_json(body) {
        Ok(event) => event,
        Err(err) => return Outcome::Reject(format!("not an event: {err}")),
    };
    event.trace = trace_header(&message.basic_properties.headers);
    let span = trace::consume_span(queue_name, &event);
    let result = consumer.handle(&event).instrument(span.clone()).await;
    let _entered = span.enter();
    match result {
        Ok(()) => {
            tracing::info!("event handled");
            metrics::event_consumed(queue_name);
            Outcome::Handled
        }
        Err(ConsumeError::Poison(reason)) => Outcome::Reject(reason),
        Err(ConsumeError::Transient(err)) => {
            tracing::warn!(error = %format!("{err:#}"), "failed; the batch will be retried");
            metrics::event_retried(queue_name);
            Outcome::Retry(format!("{} on {queue_name}", event.id))
        }
    }
}

async fn dead_letter(
    dead_letters: Option<&dyn DeadLetters>,
    queue_name: &str,
    body: &[u8],
    reason: &str,
) -> Result<(), String> {
    let Some(dead_letters) = dead_letters else {
        tracing::error!(queue = queue_name, %reason, "no broker to dead-letter to; the batch will be retried");
        return Err(format!(
            "a message on {queue_name} could not be dead-lettered"
        ));
    };
    match dead_letters.dead_letter(queue_name, body, reason).await {
        Ok(()) => {
            tracing::error!(queue = queue_name, %reason, "message dead-lettered");
            metrics::event_dead_lettered(queue_name);
            Ok(())
        }
        Err(err) => {
            tracing::error!(queue = queue_name, %reason, error = %format!("{err:#}"), "could not dead-letter; the batch will be retried");
            Err(format!(
                "a message on {queue_name} could not be dead-lettered"
            ))
        }
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
/// triggered by an Amazon MQ event source; what they cannot take goes to the dead-letter
/// queues through the broker of `RABBITMQ_URL`.
pub async fn serve<W, Fut>(wire: W) -> Result<(), lambda_runtime::Error>
where
    W: FnOnce(crate::config::Config) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Vec<Arc<dyn Consumer>>>>,
{
    let config = super::start().await?;
    let span = super::function_span(&config);
    let dead_letters = crate::wiring::Wiring::new(&config)
        .await?
        .broker()
        .map(|broker| broker.publisher);
    if dead_letters.is_none() {
        tracing::warn!(
            "RABBITMQ_URL is unset: messages no consumer can take are retried, then dead-lettered by the broker"
        );
    }
    let consumers = &wire(config).await?;
    let dead_letters = dead_letters.as_deref().map(|d| d as &dyn DeadLetters);
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<RabbitMqEvent>| async move {
            let report = handle_batch(consumers, dead_letters, &event.payload).await;
            crate::telemetry::flush();
            report.map_err(lambda_runtime::Error::from)
        },
    ))
    .instrument(span)
    .await
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;
    use serde_json::json;

    use super::*;
    use crate::domain::{EventPayload, UserId};

    /// Takes `user.registered`, fails transiently for the user named "flaky".
    struct Welcome;

    #[async_trait]
    impl Consumer for Welcome {
        fn queue(&self) -> Queue {
            Queue::EmailWelcome
        }

        async fn handle(&self, event: &Event) -> Result<(), ConsumeError> {
            match &event.payload {
                EventPayload::UserRegistered { username, .. } if username == "flaky" => {
                    Err(ConsumeError::Transient(anyhow::anyhow!("smtp down")))
                }
                EventPayload::UserRegistered { .. } => Ok(()),
                _ => Err(ConsumeError::Poison("not a registration".into())),
            }
        }
    }

    #[derive(Default)]
    struct Letters {
        got: Mutex<Vec<(String, Vec<u8>, String)>>,
        down: bool,
    }

    #[async_trait]
    impl DeadLetters for Letters {
        async fn dead_letter(&self, queue: &str, body: &[u8], reason: &str) -> anyhow::Result<()> {
            anyhow::ensure!(!self.down, "broker down");
            self.got
                .lock()
                .map_err(|_| anyhow::anyhow!("poisoned"))?
                .push((queue.to_owned(), body.to_vec(), reason.to_owned()));
            Ok(())
        }
    }

    fn registered(username: &str) -> String {
        Event::new(EventPayload::UserRegistered {
            user_id: UserId::new(),
            username: username.into(),
            email: format!("{username}@example.com"),
            display_name: username.into(),
        })
        .to_json()
        .unwrap_or_default()
    }

    fn batch(queue: &str, bodies: &[&str]) -> anyhow::Result<RabbitMqEvent> {
        let messages: Vec<Value> = bodies
            .iter()
            .map(|body| {
                json!({
                    "basicProperties": {"headers": {}, "deliveryMode": 2, "priority": 0,
                                        "bodySize": body.len()},
                    "data": STANDARD.encode(body),
                    "redelivered": false,
                })
            })
            .collect();
        Ok(serde_json::from_value(json!({
            "eventSource": "aws:rmq",
            "eventSourceArn": "arn:aws:mq:local:000000000000:broker:rookery:b-1",
            "rmqMessagesByQueue": {format!("{queue}::/"): messages},
        }))?)
    }

    #[tokio::test]
    async fn what_no_consumer_can_take_goes_to_the_dead_letter_queue_with_its_reason()
    -> anyhow::Result<()> {
        let consumers: Vec<Arc<dyn Consumer>> = vec![Arc::new(Welcome)];
        let letters = Letters::default();
        let good = registered("ann");
        let poison = Event::new(EventPayload::user_deleted(UserId::new(), &[])).to_json()?;
        let event = batch("email.welcome", &[&good, "not json", &poison])?;
        let report = handle_batch(&consumers, Some(&letters), &event).await?;
        assert_eq!(
            report,
            BatchReport {
                handled: 1,
                dead_lettered: 2
            }
        );
        let got = letters
            .got
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?
            .clone();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, "email.welcome");
        assert_eq!(got[0].1, b"not json", "the body as it arrived");
        assert!(got[0].2.starts_with("not an event"), "{}", got[0].2);
        assert_eq!(got[1].2, "not a registration");
        // A queue this function does not serve: dead-lettered too.
        let elsewhere = batch("feed.posts", &[&good])?;
        let report = handle_batch(&consumers, Some(&letters), &elsewhere).await?;
        assert_eq!(report.dead_lettered, 1);
        Ok(())
    }

    #[tokio::test]
    async fn a_batch_is_retried_when_a_message_fails_or_cannot_be_dead_lettered()
    -> anyhow::Result<()> {
        let consumers: Vec<Arc<dyn Consumer>> = vec![Arc::new(Welcome)];
        let flaky = batch("email.welcome", &[&registered("flaky")])?;
        let letters = Letters::default();
        assert!(
            handle_batch(&consumers, Some(&letters), &flaky)
                .await
                .is_err()
        );
        let junk = batch("email.welcome", &["junk"])?;
        let down = Letters {
            down: true,
            ..Letters::default()
        };
        assert!(handle_batch(&consumers, Some(&down), &junk).await.is_err());
        assert!(handle_batch(&consumers, None, &junk).await.is_err());
        Ok(())
    }

    #[test]
    fn the_trace_header_is_read_as_a_string_or_as_amazon_mq_bytes() {
        let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let text = HashMap::from([("traceparent".to_owned(), json!(parent))]);
        let bytes = HashMap::from([(
            "traceparent".to_owned(),
            json!({"bytes": parent.as_bytes()}),
        )]);
        for headers in [text, bytes] {
            assert_eq!(
                trace_header(&headers).as_ref().map(TraceContext::as_str),
                Some(parent)
            );
        }
        assert!(trace_header(&HashMap::new()).is_none());
    }
}
