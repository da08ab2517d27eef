//! Least privilege in template.yaml: each function receives exactly the secret settings it
//! reads (`rookery::lambda::wire::SECRETS`, which the lambda tests hold to each function's
//! wiring), no secret sits in the Globals every function inherits, and only the authorizer,
//! which needs nothing but its token secret, runs outside the VPC.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context as _, ensure};
use rookery::lambda::wire::{SECRETS, secrets_of};
use serde::Deserialize;
use serde::de::IgnoredAny;

/// Every variable that holds a secret or says where one is used.
const SECRET_VARIABLES: [&str; 8] = [
    "JWT_SECRET",
    "RABBITMQ_URL",
    "REDIS_URL",
    "SMTP_URL",
    "DATABASE_URL",
    "NEO4J_URI",
    "NEO4J_USER",
    "NEO4J_PASSWORD",
];

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Template {
    globals: Globals,
    resources: BTreeMap<String, Resource>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Globals {
    function: Properties,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Resource {
    #[serde(rename = "Type")]
    kind: String,
    metadata: Option<Metadata>,
    properties: Option<Properties>,
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
struct Properties {
    environment: Option<Environment>,
    vpc_config: Option<IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Environment {
    #[serde(default)]
    variables: BTreeMap<String, IgnoredAny>,
}

fn secrets(properties: &Properties) -> BTreeSet<String> {
    properties
        .environment
        .iter()
        .flat_map(|env| env.variables.keys())
        .filter(|name| SECRET_VARIABLES.contains(&name.as_str()))
        .cloned()
        .collect()
}

/// The variables a function should see: its secrets, the Neo4j password with its address.
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

fn template() -> anyhow::Result<Template> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("template.yaml");
    let yaml = std::fs::read_to_string(&path).context("read template.yaml")?;
    serde_saphyr::from_str(&yaml).context("template.yaml is not a SAM template")
}

#[test]
fn every_function_gets_only_the_secrets_it_reads() -> anyhow::Result<()> {
    let template = template()?;
    ensure!(
        secrets(&template.globals.function).is_empty(),
        "Globals give every function {:?}",
        secrets(&template.globals.function)
    );
    let mut seen = BTreeSet::new();
    for (name, resource) in &template.resources {
        if resource.kind != "AWS::Serverless::Function" {
            continue;
        }
        let function = resource
            .metadata
            .as_ref()
            .and_then(|m| m.build_properties.as_ref())
            .and_then(|b| b.binary.clone())
            .with_context(|| format!("{name}: no Metadata.BuildProperties.Binary"))?;
        let properties = resource.properties.as_ref().context("no Properties")?;
        ensure!(
            secrets(properties) == expected(&function),
            "{name} ({function}) gets {:?}, reads {:?}",
            secrets(properties),
            expected(&function)
        );
        let in_vpc = properties.vpc_config.is_some();
        ensure!(
            in_vpc == (function != "authorizer"),
            "{name}: in the VPC: {in_vpc}"
        );
        seen.insert(function);
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

/// The check fails when a function is given one secret too many.
#[test]
fn an_extra_secret_is_caught() {
    let properties = Properties {
        environment: Some(Environment {
            variables: BTreeMap::from([
                ("DATABASE_URL".to_owned(), IgnoredAny),
                ("SMTP_URL".to_owned(), IgnoredAny),
            ]),
        }),
        ..Properties::default()
    };
    assert_ne!(secrets(&properties), expected("register"));
    assert_eq!(secrets(&properties), expected("email"));
}
