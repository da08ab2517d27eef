//! Least privilege in template.yaml: each function is told where exactly the secret settings it
//! reads are (`rookery::lambda::wire::SECRETS`, which the lambda tests hold to each function's
//! wiring) and may read those secrets only; no secret value is in any environment, nor in the
//! Globals every function inherits; and only the authorizer, which needs nothing but its token
//! secret, runs outside the VPC.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context as _, ensure};
use rookery::lambda::secrets::SECRET_SETTINGS;
use rookery::lambda::wire::{SECRETS, secrets_of};
use rookery_test_support::template::{Environment, FunctionProperties, Template};
use serde::de::IgnoredAny;

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
        environment: variables(&["DATABASE_URL_SECRET_ID", "SMTP_URL_SECRET_ID"]),
        ..FunctionProperties::default()
    };
    assert_ne!(secrets(&properties), expected("register"));
    assert_eq!(secrets(&properties), expected("email"));
    assert!(plain_secrets(&properties).is_empty());
    let plain = FunctionProperties {
        environment: variables(&["DATABASE_URL", "SMTP_URL_SECRET_ID"]),
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
