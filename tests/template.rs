//! Least privilege in template.yaml: each function is told where exactly the secret settings it
//! reads are (`rookery::lambda::wire::SECRETS`, which the lambda tests hold to each function's
//! wiring) and may read those secrets only; no secret value is in any environment, nor in the
//! Globals every function inherits; and only the authorizer, which needs nothing but its token
//! secret, runs outside the VPC.
//!
//! Operability (README, "Operating Rookery"): every function logs to a log group of its own with
//! a retention; every function has an Errors and a Throttles alarm on its own name; every
//! queue's dead-letter queue has a depth alarm, and every consumed queue an alarm on what its
//! consumer gives up on; the relay has the outbox-age alarm; every alarm notifies the alarm
//! topic, going off and coming back.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context as _, bail, ensure};
use rookery::adapters::rabbitmq::Topology;
use rookery::domain::Queue;
use rookery::lambda::secrets::SECRET_SETTINGS;
use rookery::lambda::wire::{SECRETS, secrets_of};
use rookery_test_support::template::{
    Environment, FunctionProperties, MonitoringProperties, Node, Template, plain, ref_to,
    reference, tagged,
};
use serde::de::IgnoredAny;
use serde_json::json;

/// The settings a function is pointed to: `<NAME>_SECRET_ID`, and the Neo4j address and user
/// that go with a Neo4j password.
fn secrets(properties: &FunctionProperties) -> BTreeSet<String> {
    let variables = properties
        .environment
        .iter()
        .flat_map(|env| env.variables.keys());
    let mut names = BTreeSet::new();
    for name in variables {
        if let Some(setting) = name.strip_suffix("_SECRET_ID") {
            names.insert(setting.to_owned());
        } else if SECRET_SETTINGS.contains(&name.as_str()) || name.starts_with("NEO4J_") {
            names.insert(name.clone());
        }
    }
    names
}

/// The secret values a function's environment holds in plain text (there should be none).
fn plain_secrets(properties: &FunctionProperties) -> Vec<String> {
    properties
        .environment
        .iter()
        .flat_map(|env| env.variables.keys())
        .filter(|name| SECRET_SETTINGS.contains(&name.as_str()))
        .cloned()
        .collect()
}

/// The settings whose secrets a function's policies let it read: the `<prefix><NAME>-??????`
/// ARNs of its `secretsmanager:GetSecretValue` statements.
fn readable(properties: &FunctionProperties) -> anyhow::Result<BTreeSet<String>> {
    let mut names = BTreeSet::new();
    for policy in &properties.policies {
        for statement in policy["Statement"].as_array().into_iter().flatten() {
            let action = &statement["Action"];
            let reads = action == "secretsmanager:GetSecretValue"
                || action
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x == "secretsmanager:GetSecretValue"));
            if !reads {
                continue;
            }
            let resources = statement["Resource"]
                .as_array()
                .context("Resource is not a list")?;
            for resource in resources {
                let arn = resource.as_str().context("Resource is not a string")?;
                let setting = arn
                    .strip_prefix("arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${SecretsPrefix}")
                    .and_then(|rest| rest.strip_suffix("-??????"))
                    .with_context(|| format!("{arn}: not one setting's secret"))?;
                names.insert(setting.to_owned());
            }
        }
    }
    Ok(names)
}

/// The settings a function should be pointed to: its secrets, and the Neo4j address and user
/// with its password.
fn expected(function: &str) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = secrets_of(function)
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    if names.contains("NEO4J_PASSWORD") {
        names.extend(["NEO4J_URI".to_owned(), "NEO4J_USER".to_owned()]);
    }
    names
}

#[test]
fn every_function_gets_only_the_secrets_it_reads() -> anyhow::Result<()> {
    let template = Template::of_repository()?;
    let globals = template
        .globals
        .as_ref()
        .context("template.yaml has no Globals")?;
    ensure!(
        secrets(&globals.function).is_empty(),
        "Globals give every function {:?}",
        secrets(&globals.function)
    );
    let mut seen = BTreeSet::new();
    for function in template.functions()? {
        let (name, binary, properties) = (function.name, function.binary, function.properties);
        ensure!(
            secrets(properties) == expected(binary),
            "{name} ({binary}) gets {:?}, reads {:?}",
            secrets(properties),
            expected(binary)
        );
        ensure!(
            plain_secrets(properties).is_empty(),
            "{name}: secret values in its environment: {:?}",
            plain_secrets(properties)
        );
        let own: BTreeSet<String> = secrets_of(binary).iter().map(|s| (*s).to_owned()).collect();
        ensure!(
            readable(properties)? == own,
            "{name} ({binary}) may read the secrets of {:?}, reads {own:?}",
            readable(properties)?
        );
        let in_vpc = properties.vpc_config.is_some();
        ensure!(
            in_vpc == (binary != "authorizer"),
            "{name}: in the VPC: {in_vpc}"
        );
        seen.insert(binary.to_owned());
    }
    let listed: BTreeSet<String> = SECRETS.iter().map(|(f, _)| (*f).to_owned()).collect();
    ensure!(
        seen == listed,
        "template functions {seen:?}, SECRETS lists {listed:?}"
    );
    Ok(())
}

/// LocalStack's deploy script gives each function the same secrets as template.yaml: its table
/// (`secrets_of` in the Python helper) is `SECRETS`.
#[test]
fn localstack_gives_each_function_its_secrets_only() -> anyhow::Result<()> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("localstack/init/ready.d/deploy.sh");
    let script = std::fs::read_to_string(&path).context("read deploy.sh")?;
    let table = script
        .split("secrets_of = {")
        .nth(1)
        .and_then(|rest| rest.split('}').next())
        .context("deploy.sh has no secrets_of table")?;
    let mut listed = BTreeMap::new();
    for line in table.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (name, keys) = line
            .split_once(": ")
            .with_context(|| format!("secrets_of line {line:?}"))?;
        let keys: Vec<String> = keys
            .trim_end_matches(',')
            .trim_matches(['[', ']'])
            .split(", ")
            .map(|k| k.trim_matches('"').to_owned())
            .filter(|k| !k.is_empty()) // `[]`: a function without secrets
            .collect();
        listed.insert(name.trim_matches('"').to_owned(), keys);
    }
    let want: BTreeMap<String, Vec<String>> = SECRETS
        .iter()
        .map(|(f, keys)| {
            (
                (*f).to_owned(),
                keys.iter().map(|k| (*k).to_owned()).collect(),
            )
        })
        .collect();
    ensure!(
        listed == want,
        "deploy.sh secrets_of {listed:?}\n  SECRETS {want:?}"
    );
    Ok(())
}

/// The checks fail when a function is pointed to one secret too many, is given a value in
/// plain text, or may read a secret it does not use.
#[test]
fn an_extra_secret_is_caught() {
    let variables = |names: &[&str]| {
        Some(Environment {
            variables: names
                .iter()
                .map(|n| ((*n).to_owned(), IgnoredAny))
                .collect(),
        })
    };
    let properties = FunctionProperties {
        environment: variables(&[
            "DATABASE_URL_SECRET_ID",
            "SMTP_URL_SECRET_ID",
            "RABBITMQ_URL_SECRET_ID",
        ]),
        ..FunctionProperties::default()
    };
    assert_ne!(secrets(&properties), expected("register"));
    assert_eq!(secrets(&properties), expected("email"));
    assert!(plain_secrets(&properties).is_empty());
    let plain = FunctionProperties {
        environment: variables(&[
            "DATABASE_URL",
            "SMTP_URL_SECRET_ID",
            "RABBITMQ_URL_SECRET_ID",
        ]),
        ..FunctionProperties::default()
    };
    assert_eq!(secrets(&plain), expected("email"));
    assert_eq!(plain_secrets(&plain), ["DATABASE_URL"]);
    let arn = |name: &str| {
        format!(
            "arn:${{AWS::Partition}}:secretsmanager:${{AWS::Region}}:${{AWS::AccountId}}:secret:${{SecretsPrefix}}{name}-??????"
        )
    };
    let policies = FunctionProperties {
        policies: vec![serde_json::json!({"Statement": [{
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": [arn("DATABASE_URL"), arn("SMTP_URL"), arn("JWT_PRIVATE_KEY")],
        }]})],
        ..FunctionProperties::default()
    };
    let email: BTreeSet<String> = secrets_of("email")
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    assert_ne!(readable(&policies).unwrap(), email);
}

// --- Operability: log groups and alarms ------------------------------------------------------

/// The SNS topic every alarm notifies.
const ALARM_TOPIC: &str = "AlarmTopic";

/// A node as the template writes it: `!Ref RelayFunction`, `email.welcome.dlq`.
fn show(node: &Node) -> String {
    let value = match &node.0 {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match &node.1 {
        Some(tag) => format!("{tag} {value}"),
        None => value,
    }
}

/// What an alarm must watch: its metric, the exact dimensions, the statistic; it goes off above
/// its threshold.
struct Watch<'a> {
    namespace: &'a str,
    metric: &'a str,
    dimensions: Vec<(&'a str, Node)>,
    statistic: &'a str,
}

impl Watch<'_> {
    fn describe(&self) -> String {
        let dimensions: Vec<String> = self
            .dimensions
            .iter()
            .map(|(name, value)| format!("{name}={}", show(value)))
            .collect();
        format!(
            "{} {} [{}] {}",
            self.namespace,
            self.metric,
            dimensions.join(", "),
            self.statistic
        )
    }

    fn matches(&self, alarm: &MonitoringProperties) -> bool {
        let mut have: Vec<(&str, &Node)> = alarm
            .dimensions
            .iter()
            .map(|d| (d.name.as_str(), &d.value))
            .collect();
        have.sort_by_key(|(name, _)| *name);
        let mut want: Vec<(&str, &Node)> = self.dimensions.iter().map(|(n, v)| (*n, v)).collect();
        want.sort_by_key(|(name, _)| *name);
        alarm.namespace.as_deref() == Some(self.namespace)
            && alarm.metric_name.as_deref() == Some(self.metric)
            && have == want
            && alarm.statistic.as_deref() == Some(self.statistic)
            && alarm.comparison_operator.as_deref() == Some("GreaterThanThreshold")
    }
}

/// The one alarm of the template that watches `watch`.
fn alarm_on<'a>(
    template: &'a Template,
    watch: &Watch<'_>,
) -> anyhow::Result<(&'a str, &'a MonitoringProperties)> {
    let found: Vec<_> = template
        .alarms()
        .filter(|(_, alarm)| watch.matches(alarm))
        .collect();
    match found.as_slice() {
        [one] => Ok(*one),
        [] => bail!(
            "no alarm goes off above its threshold of {}",
            watch.describe()
        ),
        many => bail!(
            "{} alarms on {}: {:?}",
            many.len(),
            watch.describe(),
            many.iter().map(|(name, _)| *name).collect::<Vec<_>>()
        ),
    }
}

/// Every function logs to a log group of its own (`LoggingConfig.LogGroup: !Ref <group>`), an
/// `AWS::Logs::LogGroup` named `/aws/lambda/<stack>/<binary>` and kept `LogRetentionDays`.
fn check_log_groups(template: &Template) -> anyhow::Result<()> {
    let groups: BTreeMap<&str, &MonitoringProperties> =
        template.monitoring_of("AWS::Logs::LogGroup").collect();
    let mut used = BTreeSet::new();
    for function in template.functions()? {
        let name = function.name;
        let group = function
            .properties
            .logging_config
            .as_ref()
            .and_then(|config| config.log_group.as_ref())
            .and_then(reference)
            .with_context(|| format!("{name}: no LoggingConfig.LogGroup: !Ref <log group>"))?;
        let properties = groups
            .get(group)
            .with_context(|| format!("{name} logs to {group}, which is no AWS::Logs::LogGroup"))?;
        ensure!(
            used.insert(group),
            "{group} is the log group of more than one function"
        );
        let retention = properties.retention_in_days.as_ref().and_then(reference);
        ensure!(
            retention == Some("LogRetentionDays"),
            "{group} ({name}): RetentionInDays is not !Ref LogRetentionDays"
        );
        let want = tagged(
            "!Sub",
            json!(format!(
                "/aws/lambda/${{AWS::StackName}}/{}",
                function.binary
            )),
        );
        ensure!(
            properties.log_group_name.as_ref() == Some(&want),
            "{group} ({name}): LogGroupName is {:?}, not !Sub {}",
            properties.log_group_name.as_ref().map(|n| &n.0),
            want.0
        );
    }
    Ok(())
}

/// Every function has an alarm on its `AWS/Lambda` `Errors` and one on its `Throttles` (Sum
/// above the threshold), each on its own name only.
fn check_function_alarms(template: &Template) -> anyhow::Result<()> {
    for function in template.functions()? {
        for metric in ["Errors", "Throttles"] {
            let watch = Watch {
                namespace: "AWS/Lambda",
                metric,
                dimensions: vec![("FunctionName", ref_to(function.name))],
                statistic: "Sum",
            };
            let (alarm, properties) = alarm_on(template, &watch)?;
            ensure!(
                properties.treat_missing_data.as_deref() == Some("notBreaching"),
                "{alarm}: an idle function has no data, which is not breaching"
            );
        }
    }
    Ok(())
}

/// Every queue's dead-letter queue has a depth alarm: Amazon MQ's `MessageCount` of
/// `<queue>.dlq` on the broker of `BrokerArn`, virtual host `/`, above 0. And every queue a
/// function consumes has an alarm on the messages its consumer gives up on.
fn check_queue_alarms(template: &Template) -> anyhow::Result<()> {
    let topology = Topology::new(None);
    // The broker's name: the 7th field of its ARN.
    let broker = tagged("!Select", json!([6, [":", "BrokerArn"]]));
    for queue in Queue::ALL {
        let watch = Watch {
            namespace: "AWS/AmazonMQ",
            metric: "MessageCount",
            dimensions: vec![
                ("Broker", broker.clone()),
                ("VirtualHost", plain("/")),
                ("Queue", plain(&topology.dead_letter_queue(queue))),
            ],
            statistic: "Maximum",
        };
        let (alarm, properties) = alarm_on(template, &watch)?;
        ensure!(
            properties.threshold.as_ref().map(|t| &t.0) == Some(&json!(0)),
            "{alarm}: a single message in {} should set it off",
            topology.dead_letter_queue(queue)
        );
    }
    let mut consumed = BTreeSet::new();
    for function in template.functions()? {
        for event in function
            .properties
            .events
            .values()
            .filter(|e| e.kind == "MQ")
        {
            for queue in event.properties.iter().flat_map(|p| &p.queues) {
                let watch = Watch {
                    namespace: "Rookery",
                    metric: "EventsDeadLettered",
                    dimensions: vec![("Function", ref_to(function.name)), ("Queue", plain(queue))],
                    statistic: "Sum",
                };
                alarm_on(template, &watch)?;
                consumed.insert(queue.clone());
            }
        }
    }
    let all: BTreeSet<String> = Queue::ALL.iter().map(|q| q.name().to_owned()).collect();
    ensure!(
        consumed == all,
        "the functions consume {consumed:?}, the queues are {all:?}"
    );
    Ok(())
}

/// The relay's `Rookery/OutboxOldestPendingSeconds` (Maximum above the threshold) has an alarm,
/// which a relay that stopped reporting sets off too.
fn check_outbox_alarm(template: &Template) -> anyhow::Result<()> {
    let functions = template.functions()?;
    let relay = functions
        .iter()
        .find(|f| f.binary == "relay")
        .context("no relay function")?;
    let watch = Watch {
        namespace: "Rookery",
        metric: "OutboxOldestPendingSeconds",
        dimensions: vec![("Function", ref_to(relay.name))],
        statistic: "Maximum",
    };
    let (alarm, properties) = alarm_on(template, &watch)?;
    ensure!(
        properties.treat_missing_data.as_deref() == Some("breaching"),
        "{alarm}: missing data (the relay not running) must be breaching"
    );
    Ok(())
}

/// Every alarm notifies the alarm topic, an SNS topic, when it goes off and when it is back.
fn check_alarm_actions(template: &Template) -> anyhow::Result<()> {
    let topic = template
        .monitoring
        .get(ALARM_TOPIC)
        .with_context(|| format!("no {ALARM_TOPIC}"))?;
    ensure!(
        topic.kind == "AWS::SNS::Topic",
        "{ALARM_TOPIC} is a {}",
        topic.kind
    );
    let want = [ref_to(ALARM_TOPIC)];
    let mut count = 0;
    for (name, alarm) in template.alarms() {
        ensure!(
            alarm.alarm_actions == want,
            "{name}: AlarmActions are not [!Ref {ALARM_TOPIC}]"
        );
        ensure!(
            alarm.ok_actions == want,
            "{name}: OKActions are not [!Ref {ALARM_TOPIC}]"
        );
        count += 1;
    }
    ensure!(count > 0, "template.yaml has no alarm");
    Ok(())
}

#[test]
fn every_function_logs_to_its_own_group_with_a_retention() -> anyhow::Result<()> {
    check_log_groups(&Template::of_repository()?)
}

#[test]
fn every_function_has_error_and_throttle_alarms() -> anyhow::Result<()> {
    check_function_alarms(&Template::of_repository()?)
}

#[test]
fn every_dead_letter_queue_and_consumed_queue_has_an_alarm() -> anyhow::Result<()> {
    check_queue_alarms(&Template::of_repository()?)
}

#[test]
fn the_relay_has_the_outbox_age_alarm() -> anyhow::Result<()> {
    check_outbox_alarm(&Template::of_repository()?)
}

#[test]
fn every_alarm_notifies_the_alarm_topic() -> anyhow::Result<()> {
    check_alarm_actions(&Template::of_repository()?)
}

/// Each check fails on a copy of template.yaml with one thing missing or wrong.
#[test]
fn a_missing_alarm_or_log_group_is_caught() -> anyhow::Result<()> {
    type Check = fn(&Template) -> anyhow::Result<()>;
    type Break = fn(&mut Template);
    fn properties_of<'a>(template: &'a mut Template, name: &str) -> &'a mut MonitoringProperties {
        template
            .monitoring
            .get_mut(name)
            .and_then(|r| r.properties.as_mut())
            .unwrap_or_else(|| panic!("template.yaml has no {name} with properties"))
    }
    fn remove(template: &mut Template, name: &str) {
        assert!(
            template.monitoring.remove(name).is_some(),
            "template.yaml has no {name}"
        );
    }
    let cases: [(&str, Check, Break, &str); 14] = [
        (
            "a function without LoggingConfig",
            check_log_groups,
            |t| {
                let function = t.resources.get_mut("EmailFunction").expect("EmailFunction");
                function
                    .properties
                    .as_mut()
                    .expect("properties")
                    .logging_config = None;
            },
            "EmailFunction: no LoggingConfig",
        ),
        (
            "a log group without retention",
            check_log_groups,
            |t| {
                properties_of(t, "RelayLogGroup").retention_in_days = None;
            },
            "RelayLogGroup (RelayFunction): RetentionInDays",
        ),
        (
            "two functions in one log group",
            check_log_groups,
            |t| {
                remove(t, "RelayLogGroup");
                let function = t.resources.get_mut("RelayFunction").expect("RelayFunction");
                let config = function
                    .properties
                    .as_mut()
                    .expect("properties")
                    .logging_config
                    .as_mut();
                config.expect("LoggingConfig").log_group = Some(ref_to("RegisterLogGroup"));
            },
            "RegisterLogGroup is the log group of more than one function",
        ),
        (
            "no Throttles alarm for the relay",
            check_function_alarms,
            |t| {
                remove(t, "RelayThrottlesAlarm");
            },
            "AWS/Lambda Throttles [FunctionName=!Ref RelayFunction]",
        ),
        (
            "no Errors alarm for the authorizer",
            check_function_alarms,
            |t| {
                remove(t, "AuthorizerErrorsAlarm");
            },
            "AWS/Lambda Errors [FunctionName=!Ref AuthorizerFunction]",
        ),
        (
            "register's Errors alarm on login",
            check_function_alarms,
            |t| {
                properties_of(t, "RegisterErrorsAlarm").dimensions[0].value =
                    ref_to("LoginFunction");
            },
            "2 alarms on AWS/Lambda Errors [FunctionName=!Ref LoginFunction]",
        ),
        (
            "an Errors alarm on a literal name, not !Ref",
            check_function_alarms,
            |t| {
                properties_of(t, "PostErrorsAlarm").dimensions[0].value = plain("PostFunction");
            },
            "AWS/Lambda Errors [FunctionName=!Ref PostFunction]",
        ),
        (
            "no depth alarm for feed.follows.dlq",
            check_queue_alarms,
            |t| {
                remove(t, "FeedFollowsDeadLetterQueueAlarm");
            },
            "Queue=feed.follows.dlq",
        ),
        (
            "a depth alarm on the queue, not its DLQ",
            check_queue_alarms,
            |t| {
                let properties = properties_of(t, "EmailWelcomeDeadLetterQueueAlarm");
                for dimension in &mut properties.dimensions {
                    if dimension.name == "Queue" {
                        dimension.value = plain("email.welcome");
                    }
                }
            },
            "Queue=email.welcome.dlq",
        ),
        (
            "no dead-lettered alarm for notify.events",
            check_queue_alarms,
            |t| {
                remove(t, "NotifyEventsDeadLetteredAlarm");
            },
            "Rookery EventsDeadLettered [Function=!Ref NotifyFunction, Queue=notify.events]",
        ),
        (
            "no outbox alarm",
            check_outbox_alarm,
            |t| remove(t, "OutboxAgeAlarm"),
            "Rookery OutboxOldestPendingSeconds [Function=!Ref RelayFunction]",
        ),
        (
            "an outbox alarm that ignores a silent relay",
            check_outbox_alarm,
            |t| {
                properties_of(t, "OutboxAgeAlarm").treat_missing_data =
                    Some("notBreaching".to_owned());
            },
            "must be breaching",
        ),
        (
            "an alarm without OKActions",
            check_alarm_actions,
            |t| {
                properties_of(t, "NetworkThrottlesAlarm").ok_actions.clear();
            },
            "NetworkThrottlesAlarm: OKActions",
        ),
        (
            "an alarm notifying another topic",
            check_alarm_actions,
            |t| {
                properties_of(t, "FeedPostsDeadLetterQueueAlarm").alarm_actions =
                    vec![ref_to("OtherTopic")];
            },
            "FeedPostsDeadLetterQueueAlarm: AlarmActions",
        ),
    ];
    for (what, check, breaks, reported) in cases {
        let mut template = Template::of_repository()?;
        check(&template).with_context(|| format!("before breaking it ({what})"))?;
        breaks(&mut template);
        let Err(error) = check(&template) else {
            bail!("the check passed with {what}");
        };
        let error = format!("{error:#}");
        ensure!(
            error.contains(reported),
            "{what}: reported as {error:?}, without {reported:?}"
        );
    }
    Ok(())
}
