//! What the workspace's tests read of template.yaml: each function's binary, events (`HttpApi`
//! routes, MQ queues), environment, VPC setting, policies and log group, and the Globals'
//! environment; and, in a second reading of the same text, the alarms and the log groups.
//! Everything else is skipped. Intrinsic functions (`!Ref`, `!If`, ...) are read as their
//! arguments, except where a [`Node`] keeps the tag: `!Ref AlarmTopic` there is `AlarmTopic`
//! tagged `!Ref`, so a check can tell it from the plain string `AlarmTopic`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_saphyr::Tagged;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Template {
    #[serde(default)]
    pub globals: Option<Globals>,
    /// Every resource, its properties read as a function's.
    pub resources: BTreeMap<String, Resource>,
    /// Every resource again, its properties read as an alarm's or a log group's.
    #[serde(skip)]
    pub monitoring: BTreeMap<String, MonitoringResource>,
}

/// A value as written, with the tag of its intrinsic function if it is one (`!Ref`, `!Sub`,
/// ...; tags of intrinsics nested inside it are dropped).
pub type Node = Tagged<serde_json::Value>;

/// The resource `node` refers to: `!Ref Name` or `{Ref: Name}`.
#[must_use]
pub fn reference(node: &Node) -> Option<&str> {
    match (&node.0, node.1.as_deref()) {
        (serde_json::Value::String(name), Some("!Ref")) => Some(name),
        (serde_json::Value::Object(map), None) if map.len() == 1 => map.get("Ref")?.as_str(),
        _ => None,
    }
}

/// A node for `!Ref name`, as the template would have it.
#[must_use]
pub fn ref_to(name: &str) -> Node {
    tagged("!Ref", serde_json::Value::String(name.to_owned()))
}

/// A node for an intrinsic function: `tag` (`!Sub`, `!Select`, ...) over `value`.
#[must_use]
pub fn tagged(tag: &str, value: serde_json::Value) -> Node {
    Tagged(value, Some(tag.to_owned()))
}

/// A node for a plain string.
#[must_use]
pub fn plain(value: &str) -> Node {
    Tagged(serde_json::Value::String(value.to_owned()), None)
}

/// A resource of the second reading: its type and the properties an alarm or a log group has.
#[derive(Deserialize, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct MonitoringResource {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(default)]
    pub properties: Option<MonitoringProperties>,
}

/// An `AWS::CloudWatch::Alarm`'s metric, condition and actions, and an `AWS::Logs::LogGroup`'s
/// name and retention (other resources have none of these).
#[derive(Deserialize, Default, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct MonitoringProperties {
    pub namespace: Option<String>,
    pub metric_name: Option<String>,
    #[serde(default)]
    pub dimensions: Vec<Dimension>,
    pub statistic: Option<String>,
    pub threshold: Option<Node>,
    pub comparison_operator: Option<String>,
    pub treat_missing_data: Option<String>,
    #[serde(default)]
    pub alarm_actions: Vec<Node>,
    #[serde(default, rename = "OKActions")]
    pub ok_actions: Vec<Node>,
    pub log_group_name: Option<Node>,
    pub retention_in_days: Option<Node>,
}

/// One dimension of an alarm's metric.
#[derive(Deserialize, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct Dimension {
    pub name: String,
    pub value: Node,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Globals {
    pub function: FunctionProperties,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Resource {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    pub properties: Option<FunctionProperties>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Metadata {
    build_properties: Option<BuildProperties>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BuildProperties {
    binary: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct FunctionProperties {
    #[serde(default)]
    pub events: BTreeMap<String, Event>,
    pub environment: Option<Environment>,
    pub vpc_config: Option<IgnoredAny>,
    /// The statements and policy templates, as YAML values (`!Sub` and other tags dropped).
    #[serde(default)]
    pub policies: Vec<serde_json::Value>,
    pub logging_config: Option<LoggingConfig>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LoggingConfig {
    pub log_group: Option<Node>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Event {
    #[serde(rename = "Type")]
    pub kind: String,
    pub properties: Option<EventProperties>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventProperties {
    pub method: Option<String>,
    pub path: Option<String>,
    pub auth: Option<Auth>,
    /// An MQ event's queues.
    #[serde(default)]
    pub queues: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Auth {
    pub authorizer: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Environment {
    #[serde(default)]
    pub variables: BTreeMap<String, IgnoredAny>,
}

/// One `AWS::Serverless::Function` of the template.
pub struct Function<'a> {
    /// The logical id, such as `LoginFunction`.
    pub name: &'a str,
    /// `Metadata.BuildProperties.Binary`: the binary, which is also the function's name.
    pub binary: &'a str,
    pub properties: &'a FunctionProperties,
}

impl Template {
    /// Parses a SAM template.
    ///
    /// # Errors
    /// The text is not YAML of a SAM template's shape.
    pub fn parse(yaml: &str) -> anyhow::Result<Self> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Monitoring {
            resources: BTreeMap<String, MonitoringResource>,
        }
        let mut template: Self = serde_saphyr::from_str(yaml).context("not a SAM template")?;
        let monitoring: Monitoring =
            serde_saphyr::from_str(yaml).context("not a SAM template (alarms, log groups)")?;
        template.monitoring = monitoring.resources;
        Ok(template)
    }

    /// The repository's template.yaml.
    ///
    /// # Errors
    /// It cannot be read or parsed.
    pub fn of_repository() -> anyhow::Result<Self> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
        let yaml =
            std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
        Self::parse(&yaml)
    }

    /// Every function, with its binary.
    ///
    /// # Errors
    /// A function names no binary.
    pub fn functions(&self) -> anyhow::Result<Vec<Function<'_>>> {
        static NONE: FunctionProperties = FunctionProperties {
            events: BTreeMap::new(),
            environment: None,
            vpc_config: None,
            policies: Vec::new(),
            logging_config: None,
        };
        self.resources
            .iter()
            .filter(|(_, resource)| resource.kind == "AWS::Serverless::Function")
            .map(|(name, resource)| {
                let binary = resource
                    .metadata
                    .as_ref()
                    .and_then(|m| m.build_properties.as_ref())
                    .and_then(|b| b.binary.as_deref())
                    .with_context(|| format!("{name}: no Metadata.BuildProperties.Binary"))?;
                Ok(Function {
                    name,
                    binary,
                    properties: resource.properties.as_ref().unwrap_or(&NONE),
                })
            })
            .collect()
    }

    /// The resources of one type in the second reading, with their properties.
    pub fn monitoring_of<'a>(
        &'a self,
        kind: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a MonitoringProperties)> + 'a {
        static NONE: MonitoringProperties = MonitoringProperties {
            namespace: None,
            metric_name: None,
            dimensions: Vec::new(),
            statistic: None,
            threshold: None,
            comparison_operator: None,
            treat_missing_data: None,
            alarm_actions: Vec::new(),
            ok_actions: Vec::new(),
            log_group_name: None,
            retention_in_days: None,
        };
        self.monitoring
            .iter()
            .filter(move |(_, resource)| resource.kind == kind)
            .map(|(name, resource)| (name.as_str(), resource.properties.as_ref().unwrap_or(&NONE)))
    }

    /// Every `AWS::CloudWatch::Alarm`.
    pub fn alarms(&self) -> impl Iterator<Item = (&str, &MonitoringProperties)> {
        self.monitoring_of("AWS::CloudWatch::Alarm")
    }
}
