//! Metrics in CloudWatch's embedded metric format (EMF): one JSON document per observation on
//! standard output, which CloudWatch Logs turns into metrics of the `Rookery` namespace. Every
//! metric has the `Function` dimension (the Lambda function's name); some have one more.
//!
//! Written by hand rather than through the `metrics` facade and an EMF exporter crate: a
//! document per observation needs no aggregation and no flush at the end of each invocation,
//! and the format is a few fixed keys
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>).
//!
//! Off unless set up: in Lambda [`super::init`] sends them to standard output; the local
//! server emits none; tests capture them with [`emit_to`].

use std::io::Write as _;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde_json::{Map, Value, json};

/// The CloudWatch namespace of every metric.
pub const NAMESPACE: &str = "Rookery";

/// Where documents go, and the `Function` dimension's value.
struct Sink {
    function: String,
    write: Arc<dyn Fn(&str) + Send + Sync>,
}

static SINK: OnceLock<Sink> = OnceLock::new();

/// Sends every document to standard output, one line each, as CloudWatch expects.
pub(super) fn emit_to_stdout(function: String) {
    emit_to(function, |line| {
        let mut out = std::io::stdout().lock();
        // A metric that cannot be written is lost; the request it describes is not.
        let _ = writeln!(out, "{line}");
    });
}

/// Sends every document to `write` (the first call wins).
pub fn emit_to(function: String, write: impl Fn(&str) + Send + Sync + 'static) {
    let _ = SINK.set(Sink {
        function,
        write: Arc::new(write),
    });
}

/// A metric's unit, as EMF names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
    Seconds,
}

impl Unit {
    const fn as_str(self) -> &'static str {
        match self {
            Self::Count => "Count",
            Self::Milliseconds => "Milliseconds",
            Self::Seconds => "Seconds",
        }
    }
}

/// The EMF document of one observation of `name`, with the `Function` dimension and `extra`.
pub fn document(
    function: &str,
    name: &str,
    unit: Unit,
    value: f64,
    extra: &[(&str, &str)],
    timestamp_ms: i64,
) -> Value {
    let mut dimensions = vec!["Function"];
    dimensions.extend(extra.iter().map(|(key, _)| *key));
    let mut doc = Map::new();
    doc.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [dimensions],
                "Metrics": [{"Name": name, "Unit": unit.as_str()}],
            }],
        }),
    );
    doc.insert("Function".into(), json!(function));
    for (key, value) in extra {
        doc.insert((*key).into(), json!(value));
    }
    doc.insert(name.into(), json!(value));
    Value::Object(doc)
}

fn emit(name: &str, unit: Unit, value: f64, extra: &[(&str, &str)]) {
    let Some(sink) = SINK.get() else {
        return;
    };
    let now = crate::domain::Timestamp::now().millis();
    let doc = document(&sink.function, name, unit, value, extra, now);
    (sink.write)(&doc.to_string());
}

fn millis(elapsed: Duration) -> f64 {
    elapsed.as_secs_f64() * 1_000.0
}

/// An HTTP answer: `Requests` by route and status, `RequestLatency` by route.
pub fn request(route: &str, status: u16, elapsed: Duration) {
    if SINK.get().is_none() {
        return; // the local server: no metric, and nothing formatted for one
    }
    let status = status.to_string();
    emit(
        "Requests",
        Unit::Count,
        1.0,
        &[("Route", route), ("Status", &status)],
    );
    emit(
        "RequestLatency",
        Unit::Milliseconds,
        millis(elapsed),
        &[("Route", route)],
    );
}

/// A fan-out: how many home feeds it reached and how long it took.
pub fn fanout(recipients: u64, elapsed: Duration) {
    #[allow(clippy::cast_precision_loss)] // a count far below 2^52
    emit("FanoutRecipients", Unit::Count, recipients as f64, &[]);
    emit("FanoutTime", Unit::Milliseconds, millis(elapsed), &[]);
}

/// A home or user feed page read.
pub fn feed_read(elapsed: Duration) {
    emit("FeedReadTime", Unit::Milliseconds, millis(elapsed), &[]);
}

/// An event handed to the broker (or the in-process bus).
pub fn event_published(event_type: &str) {
    emit(
        "EventsPublished",
        Unit::Count,
        1.0,
        &[("EventType", event_type)],
    );
}

/// An event a consumer finished.
pub fn event_consumed(queue: &str) {
    emit("EventsConsumed", Unit::Count, 1.0, &[("Queue", queue)]);
}

/// An event a consumer could not take (malformed, poison): dead-lettered.
pub fn event_dead_lettered(queue: &str) {
    emit("EventsDeadLettered", Unit::Count, 1.0, &[("Queue", queue)]);
}

/// An event that failed for now and will be delivered again.
pub fn event_retried(queue: &str) {
    emit("EventsRetried", Unit::Count, 1.0, &[("Queue", queue)]);
}

/// A request refused by a rate limit.
pub fn rate_limited(limit: &str) {
    emit("RateLimited", Unit::Count, 1.0, &[("Limit", limit)]);
}

/// The age of the oldest outbox row not yet published, as a relay run found it (0 for none).
pub fn outbox_oldest_pending(age: Duration) {
    emit(
        "OutboxOldestPendingSeconds",
        Unit::Seconds,
        age.as_secs_f64(),
        &[],
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_follows_the_emf_specification() {
        let doc = document(
            "rookery-post",
            "Requests",
            Unit::Count,
            1.0,
            &[("Route", "/posts"), ("Status", "201")],
            1_700_000_000_000,
        );
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(doc["_aws"]["Timestamp"], 1_700_000_000_000_i64);
        assert_eq!(directive["Namespace"], "Rookery");
        assert_eq!(
            directive["Dimensions"],
            json!([["Function", "Route", "Status"]])
        );
        assert_eq!(
            directive["Metrics"],
            json!([{"Name": "Requests", "Unit": "Count"}])
        );
        // Every dimension and the metric itself are members of the root, as values.
        assert_eq!(doc["Function"], "rookery-post");
        assert_eq!(doc["Route"], "/posts");
        assert_eq!(doc["Status"], "201");
        assert_eq!(doc["Requests"], 1.0);
    }
}
