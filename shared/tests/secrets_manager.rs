//! The functions' secret settings, read from a real Secrets Manager API (moto's server or
//! LocalStack, which `scripts/services` starts on loopback) as a Lambda instance reads them.

use std::collections::HashMap;

use rookery::lambda::secrets::resolve;
use rookery_test_support::secrets::{aws_env, create};
use secrecy::ExposeSecret as _;

fn env(extra: &[(&str, String)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = aws_env()
        .into_iter()
        .chain(extra.iter().cloned())
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    move |name| map.get(name).cloned()
}

fn unique(name: &str) -> String {
    format!("rookery-test/{}/{name}", uuid::Uuid::new_v4())
}

#[tokio::test]
async fn each_setting_named_by_a_secret_id_is_read_from_its_secret() {
    let (jwt, database) = (unique("JWT_PRIVATE_KEY"), unique("DATABASE_URL"));
    create(&jwt, "a-private-key").await.unwrap();
    create(&database, "mssql://sa:p%40ss@db:1433/rookery")
        .await
        .unwrap();
    let values = resolve(env(&[
        ("JWT_PRIVATE_KEY_SECRET_ID", jwt),
        ("DATABASE_URL_SECRET_ID", database),
        ("REDIS_URL", "redis://127.0.0.1:6379".to_owned()),
    ]))
    .await
    .unwrap();
    let read = |name| values.get(name).map(|v| v.expose_secret().to_owned());
    assert_eq!(read("JWT_PRIVATE_KEY").as_deref(), Some("a-private-key"));
    assert_eq!(
        read("DATABASE_URL").as_deref(),
        Some("mssql://sa:p%40ss@db:1433/rookery")
    );
    assert_eq!(
        values.len(),
        2,
        "a plain setting is left to the environment"
    );
}

#[tokio::test]
async fn a_missing_secret_stops_start_up_naming_the_variable_and_the_error() {
    let present = unique("REDIS_URL");
    create(&present, "redis://127.0.0.1:6379").await.unwrap();
    let missing = unique("SMTP_URL");
    let err = resolve(env(&[
        ("REDIS_URL_SECRET_ID", present),
        ("SMTP_URL_SECRET_ID", missing.clone()),
    ]))
    .await
    .unwrap_err();
    let message = format!("{err:#}");
    assert!(
        message.starts_with(&format!("SMTP_URL_SECRET_ID: read secret {missing:?}")),
        "{message}"
    );
    assert!(message.contains("ResourceNotFoundException"), "{message}");
}
