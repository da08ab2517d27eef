//! What the workspace's tests read of template.yaml: each function's binary, `HttpApi` events,
//! environment, VPC setting and policies, and the Globals' environment. Intrinsic functions (`!Ref`,
//! `!If`, ...) and everything else are skipped.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use serde::Deserialize;
use serde::de::IgnoredAny;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Template {
    #[serde(default)]
    pub globals: Option<Globals>,
    pub resources: BTreeMap<String, Resource>,
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
        serde_saphyr::from_str(yaml).context("not a SAM template")
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
}
