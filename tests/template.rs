//! Least privilege in template.yaml: each function receives exactly the secret settings it
//! reads (`rookery::lambda::wire::SECRETS`, which the lambda tests hold to each function's
//! wiring), no secret sits in the Globals every function inherits, and only the authorizer,
//! which needs nothing but its token secret, runs outside the VPC.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context as _, ensure};
use rookery::lambda::wire::{SECRETS, secrets_of};
use rookery_test_support::template::{Environment, FunctionProperties, Template};
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

fn secrets(properties: &FunctionProperties) -> BTreeSet<String> {
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
    let properties = FunctionProperties {
        environment: Some(Environment {
            variables: BTreeMap::from([
                ("DATABASE_URL".to_owned(), IgnoredAny),
                ("SMTP_URL".to_owned(), IgnoredAny),
            ]),
        }),
        ..FunctionProperties::default()
    };
    assert_ne!(secrets(&properties), expected("register"));
    assert_eq!(secrets(&properties), expected("email"));
}
