//! What the bridge reads of template.yaml: which function consumes which queue, in batches of
//! what size, and which function runs on what schedule. The template stays the one place where
//! event sources are declared, locally as in AWS.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context as _, bail};
use rookery::domain::Queue;
use serde::Deserialize;

/// Amazon MQ's default batching window when the template sets none.
const DEFAULT_BATCH_WINDOW: Duration = Duration::from_millis(500);
/// Amazon MQ's default batch size when the template sets none.
const DEFAULT_BATCH_SIZE: u16 = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSource {
    /// The function's binary, which is also its name under `cargo lambda watch`.
    pub function: String,
    pub queue: Queue,
    pub batch_size: u16,
    pub batch_window: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleSource {
    pub function: String,
    pub every: Duration,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct EventSources {
    pub queues: Vec<QueueSource>,
    pub schedules: Vec<ScheduleSource>,
}

// Only the parts the bridge reads; the rest (intrinsic functions included) is skipped.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Template {
    resources: BTreeMap<String, Resource>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Resource {
    #[serde(rename = "Type")]
    kind: String,
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    properties: Option<FunctionProperties>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Metadata {
    #[serde(default)]
    build_properties: Option<BuildProperties>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BuildProperties {
    #[serde(default)]
    binary: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct FunctionProperties {
    #[serde(default)]
    events: BTreeMap<String, EventSource>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EventSource {
    #[serde(rename = "Type")]
    kind: String,
    #[serde(default)]
    properties: Option<EventProperties>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EventProperties {
    #[serde(default)]
    queues: Vec<String>,
    #[serde(default)]
    batch_size: Option<u16>,
    #[serde(default)]
    maximum_batching_window_in_seconds: Option<u64>,
    #[serde(default)]
    schedule: Option<String>,
    #[serde(default)]
    enabled: Option<bool>,
}

/// Reads the event sources of every function in a SAM template.
pub fn parse(yaml: &str) -> anyhow::Result<EventSources> {
    let template: Template = serde_saphyr::from_str(yaml).context("not a SAM template")?;
    let mut sources = EventSources::default();
    for (name, resource) in template.resources {
        if resource.kind != "AWS::Serverless::Function" {
            continue;
        }
        let function = resource
            .metadata
            .and_then(|m| m.build_properties)
            .and_then(|b| b.binary)
            .with_context(|| format!("{name}: no Metadata.BuildProperties.Binary"))?;
        let events = resource.properties.map(|p| p.events).unwrap_or_default();
        for (event_name, event) in events {
            let props = event.properties;
            if props.as_ref().and_then(|p| p.enabled) == Some(false) {
                continue;
            }
            let context = || format!("{name}.Events.{event_name}");
            match event.kind.as_str() {
                "MQ" => {
                    let props = props.with_context(|| format!("{}: no Properties", context()))?;
                    for queue in &props.queues {
                        sources.queues.push(QueueSource {
                            function: function.clone(),
                            queue: Queue::from_name(queue).with_context(|| {
                                format!("{}: {queue} is not a queue Rookery knows", context())
                            })?,
                            batch_size: props.batch_size.unwrap_or(DEFAULT_BATCH_SIZE).max(1),
                            batch_window: props
                                .maximum_batching_window_in_seconds
                                .map_or(DEFAULT_BATCH_WINDOW, Duration::from_secs),
                        });
                    }
                }
                "Schedule" => {
                    let expression = props
                        .and_then(|p| p.schedule)
                        .with_context(|| format!("{}: no Schedule", context()))?;
                    sources.schedules.push(ScheduleSource {
                        function: function.clone(),
                        every: rate(&expression).with_context(context)?,
                    });
                }
                _ => {}
            }
        }
    }
    Ok(sources)
}

/// EventBridge's `rate(value unit)`. Cron expressions mean a calendar, which a local bridge has
/// no use for: they are refused rather than guessed at.
pub fn rate(expression: &str) -> anyhow::Result<Duration> {
    let Some(inner) = expression
        .trim()
        .strip_prefix("rate(")
        .and_then(|rest| rest.strip_suffix(')'))
    else {
        bail!("{expression:?}: only rate(...) schedules are supported");
    };
    let (value, unit) = inner
        .trim()
        .split_once(' ')
        .with_context(|| format!("{expression:?}: expected rate(<value> <unit>)"))?;
    let value: u64 = value
        .parse()
        .ok()
        .filter(|v| *v > 0)
        .with_context(|| format!("{expression:?}: the value must be a positive integer"))?;
    let seconds = match (unit.trim(), value) {
        ("minute", 1) | ("minutes", 2..) => 60,
        ("hour", 1) | ("hours", 2..) => 3_600,
        ("day", 1) | ("days", 2..) => 86_400,
        _ => bail!(
            "{expression:?}: the unit must be minute(s), hour(s) or day(s), agreeing with the value"
        ),
    };
    Ok(Duration::from_secs(value * seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_projects_template() -> anyhow::Result<()> {
        let sources = parse(include_str!("../../template.yaml"))?;
        let mut queues: Vec<_> = sources
            .queues
            .iter()
            .map(|s| (s.function.as_str(), s.queue.name(), s.batch_size))
            .collect();
        queues.sort_unstable();
        assert_eq!(
            queues,
            [
                ("email", "email.welcome", 10),
                ("fanout", "feed.follows", 10),
                ("fanout", "feed.posts", 10),
                ("network", "network.users", 10),
                ("notify", "notify.events", 10),
            ]
        );
        assert_eq!(
            sources.schedules,
            [ScheduleSource {
                function: "relay".into(),
                every: Duration::from_secs(60)
            }]
        );
        Ok(())
    }

    const FUNCTION: &str = "
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: fanout}}
    Properties:
      Events:
        Q:
          Type: MQ
          Properties: {Broker: !Ref BrokerArn, Queues: [QUEUE], MaximumBatchingWindowInSeconds: 2}
";

    #[test]
    fn defaults_and_windows_follow_amazon_mq() -> anyhow::Result<()> {
        let sources = parse(&FUNCTION.replace("QUEUE", "feed.posts"))?;
        assert_eq!(
            sources.queues,
            [QueueSource {
                function: "fanout".into(),
                queue: Queue::FeedPosts,
                batch_size: DEFAULT_BATCH_SIZE,
                batch_window: Duration::from_secs(2),
            }]
        );
        Ok(())
    }

    #[test]
    fn an_unknown_queue_is_refused_with_its_place() {
        let err = parse(&FUNCTION.replace("QUEUE", "feed.typo")).err();
        let message = err.map(|e| format!("{e:#}")).unwrap_or_default();
        assert!(message.contains("Fn.Events.Q"), "{message}");
        assert!(message.contains("feed.typo"), "{message}");
    }

    #[test]
    fn a_function_without_its_binary_is_refused() {
        let yaml = FUNCTION.replace("Metadata: {BuildProperties: {Binary: fanout}}", "");
        assert!(parse(&yaml).is_err());
    }

    #[test]
    fn rates() -> anyhow::Result<()> {
        assert_eq!(rate("rate(1 minute)")?, Duration::from_secs(60));
        assert_eq!(rate("rate(5 minutes)")?, Duration::from_secs(300));
        assert_eq!(rate(" rate(2 hours) ")?, Duration::from_secs(7_200));
        assert_eq!(rate("rate(1 day)")?, Duration::from_secs(86_400));
        for bad in [
            "rate(0 minutes)",
            "rate(1 minutes)",
            "rate(2 minute)",
            "rate(1 second)",
            "rate(x minutes)",
            "cron(0 12 * * ? *)",
            "rate(1minute)",
        ] {
            assert!(rate(bad).is_err(), "{bad} accepted");
        }
        Ok(())
    }
}
