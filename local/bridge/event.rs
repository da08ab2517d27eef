//! The events the bridge hands to functions, in the shapes Lambda's own event sources send: an
//! Amazon MQ batch (`aws_lambda_events`' `RabbitMqEvent`) and an EventBridge scheduled event.

use std::collections::HashMap;

use aws_lambda_events::rabbitmq::{RabbitMqBasicProperties, RabbitMqEvent, RabbitMqMessage};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lapin::BasicProperties;
use lapin::types::{AMQPValue, FieldTable};
use serde_json::{Value, json};

/// A local stand-in for the broker's ARN: the handlers read only the messages.
const BROKER_ARN: &str = "arn:aws:mq:local:000000000000:broker:rookery-local:b-local";

/// One message as the bridge received it.
pub struct Received<'a> {
    pub properties: &'a BasicProperties,
    pub data: &'a [u8],
    pub redelivered: bool,
}

/// A batch from one queue, keyed `<queue>::<vhost>` as Amazon MQ does. `queue` is the name in
/// template.yaml, without the local namespace: it is what the function was deployed to read.
pub fn rabbitmq(queue: &str, vhost: &str, messages: &[Received<'_>]) -> RabbitMqEvent {
    let mut event = RabbitMqEvent::default();
    event.event_source = Some("aws:rmq".into());
    event.event_source_arn = Some(BROKER_ARN.into());
    event.messages_by_queue = HashMap::from([(
        format!("{queue}::{vhost}"),
        messages.iter().map(message).collect(),
    )]);
    event
}

fn message(received: &Received<'_>) -> RabbitMqMessage {
    let mut message = RabbitMqMessage::default();
    message.basic_properties = basic_properties(received.properties, received.data.len());
    message.data = Some(STANDARD.encode(received.data));
    message.redelivered = received.redelivered;
    message
}

fn basic_properties(props: &BasicProperties, body_size: usize) -> RabbitMqBasicProperties {
    let text = |value: &Option<lapin::types::ShortString>| value.as_ref().map(|s| s.to_string());
    let mut out = RabbitMqBasicProperties::default();
    out.content_type = text(props.content_type());
    out.content_encoding = text(props.content_encoding());
    out.headers = props.headers().as_ref().map(headers).unwrap_or_default();
    out.delivery_mode = props.delivery_mode().unwrap_or(1);
    out.priority = props.priority().unwrap_or(0);
    out.correlation_id = text(props.correlation_id());
    out.reply_to = text(props.reply_to());
    out.expiration = text(props.expiration());
    out.message_id = text(props.message_id());
    out.timestamp = props.timestamp().map(|t| t.to_string());
    out.type_ = text(props.kind());
    out.user_id = text(props.user_id());
    out.app_id = text(props.app_id());
    out.cluster_id = text(props.cluster_id());
    out.body_size = u64::try_from(body_size).unwrap_or(u64::MAX);
    out
}

fn headers(table: &FieldTable) -> HashMap<String, Value> {
    table
        .inner()
        .iter()
        .map(|(key, value)| (key.to_string(), header_value(value)))
        .collect()
}

/// Header values as JSON: numbers, booleans and strings as such, anything else as its text.
fn header_value(value: &AMQPValue) -> Value {
    match value {
        AMQPValue::Boolean(b) => json!(b),
        AMQPValue::ShortShortInt(n) => json!(n),
        AMQPValue::ShortShortUInt(n) => json!(n),
        AMQPValue::ShortInt(n) => json!(n),
        AMQPValue::ShortUInt(n) => json!(n),
        AMQPValue::LongInt(n) => json!(n),
        AMQPValue::LongUInt(n) => json!(n),
        AMQPValue::LongLongInt(n) => json!(n),
        AMQPValue::ShortString(s) => json!(s.as_str()),
        AMQPValue::LongString(s) => json!(s.to_string()),
        other => json!(format!("{other:?}")),
    }
}

/// An EventBridge "Scheduled Event", as a `rate(...)` rule sends it.
pub fn scheduled(function: &str, now: chrono::DateTime<chrono::Utc>) -> Value {
    json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "region": "local",
        "resources": [format!("arn:aws:events:local:000000000000:rule/rookery-local-{function}")],
        "detail": {}
    })
}

#[cfg(test)]
mod tests {
    use lapin::types::{LongString, ShortString};

    use super::*;

    #[test]
    fn a_batch_is_what_amazon_mq_sends() -> anyhow::Result<()> {
        let mut table = FieldTable::default();
        table.insert(
            ShortString::from("x-delivery-count"),
            AMQPValue::LongLongInt(2),
        );
        table.insert(
            ShortString::from("origin"),
            AMQPValue::LongString(LongString::from("api")),
        );
        let props = BasicProperties::default()
            .with_message_id("e-1".into())
            .with_content_type("application/json".into())
            .with_delivery_mode(2)
            .with_headers(table);
        let plain = BasicProperties::default();
        let batch = rabbitmq(
            "feed.posts",
            "/",
            &[
                Received {
                    properties: &props,
                    data: b"{\"a\":1}",
                    redelivered: true,
                },
                Received {
                    properties: &plain,
                    data: b"",
                    redelivered: false,
                },
            ],
        );
        // Through JSON and back, as the function receives it.
        let json = serde_json::to_value(&batch)?;
        assert_eq!(json["eventSource"], "aws:rmq");
        let messages = &json["rmqMessagesByQueue"]["feed.posts::/"];
        assert_eq!(messages[0]["data"], STANDARD.encode(b"{\"a\":1}"));
        assert_eq!(messages[0]["redelivered"], true);
        let basic = &messages[0]["basicProperties"];
        assert_eq!(basic["messageId"], "e-1");
        assert_eq!(basic["contentType"], "application/json");
        assert_eq!(basic["deliveryMode"], 2);
        assert_eq!(basic["bodySize"], 7);
        assert_eq!(basic["headers"]["x-delivery-count"], 2);
        assert_eq!(basic["headers"]["origin"], "api");
        assert_eq!(messages[1]["basicProperties"]["deliveryMode"], 1);
        let back: RabbitMqEvent = serde_json::from_value(json)?;
        assert_eq!(back, batch);
        Ok(())
    }

    #[test]
    fn a_scheduled_event_names_its_rule() {
        let now = chrono::DateTime::from_timestamp(1_764_072_000, 0).unwrap_or_default();
        let event = scheduled("relay", now);
        assert_eq!(event["detail-type"], "Scheduled Event");
        assert_eq!(event["time"], "2025-11-25T12:00:00Z");
        assert_eq!(
            event["resources"][0],
            "arn:aws:events:local:000000000000:rule/rookery-local-relay"
        );
    }
}
