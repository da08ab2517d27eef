//! Secrets in the test Secrets Manager (moto's server, or LocalStack, at
//! `TEST_SECRETS_MANAGER_URL`), for the functions to read as they do in AWS.

use anyhow::{Context as _, ensure};

use crate::service_url;

/// The region the tests' secrets live in.
pub const REGION: &str = "us-east-1";

/// The variables a function needs to reach the test Secrets Manager: an endpoint, a region and
/// credentials (neither server checks them).
pub fn aws_env() -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", service_url("TEST_SECRETS_MANAGER_URL")),
        ("AWS_REGION", REGION.to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
    ]
}

/// Creates the secret `name` holding `value` (names are unique per test run).
///
/// # Errors
/// The server is down or refuses the call.
pub async fn create(name: &str, value: &str) -> anyhow::Result<()> {
    let url = service_url("TEST_SECRETS_MANAGER_URL");
    let response = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", "secretsmanager.CreateSecret")
        // The servers take the region from the credential scope; they check no signature.
        .header(
            "authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential=test/20260101/{REGION}/secretsmanager/aws4_request, \
                 SignedHeaders=host, Signature=0"
            ),
        )
        .body(serde_json::json!({ "Name": name, "SecretString": value }).to_string())
        .send()
        .await
        .with_context(|| format!("Secrets Manager at {url} (scripts/services starts it)"))?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    ensure!(status.is_success(), "CreateSecret {name}: {status} {body}");
    Ok(())
}
