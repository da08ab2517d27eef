//! Secret settings read at start-up from AWS Secrets Manager.
//!
//! In Lambda a function is given, for each secret setting it reads, the id of the secret that
//! holds it (`DATABASE_URL_SECRET_ID=rookery/DATABASE_URL`), never the value, and its role may
//! read those secrets only. Each new instance reads the current values, so a changed secret
//! reaches every instance started after the change without a deployment. A plain `DATABASE_URL`
//! still works (the local server, `cargo lambda watch`, the tests).
//!
//! One `GetSecretValue` call per secret, signed with SigV4 (`aws-sigv4`, the SDK's own signer)
//! with the credentials Lambda puts in the environment: the full SDK would bring its
//! orchestrator, retry and endpoint-rule runtime into every function for this one call.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, bail, ensure};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use secrecy::SecretString;
use serde::Deserialize;

/// The settings that may come from Secrets Manager: every one that holds a credential.
pub const SECRET_SETTINGS: [&str; 6] = [
    "JWT_PRIVATE_KEY",
    "DATABASE_URL",
    "NEO4J_PASSWORD",
    "REDIS_URL",
    "RABBITMQ_URL",
    "SMTP_URL",
];

/// The variable that names the secret holding `setting`.
pub fn id_variable(setting: &str) -> String {
    format!("{setting}_SECRET_ID")
}

/// Reads every secret setting whose `<NAME>_SECRET_ID` is set, all at once, and returns the
/// values by setting name. No secret id set: no call and no AWS settings needed.
///
/// # Errors
/// A setting is given both as a value and as a secret id, the AWS settings are missing, or a
/// secret cannot be read; the message names the variable and the secret, never a value.
pub async fn resolve(
    env: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<HashMap<&'static str, SecretString>> {
    let mut wanted = Vec::new();
    for setting in SECRET_SETTINGS {
        let var = id_variable(setting);
        let Some(id) = env(&var).filter(|id| !id.trim().is_empty()) else {
            continue;
        };
        ensure!(
            env(setting).is_none_or(|value| value.trim().is_empty()),
            "{setting} and {var} are both set: set one"
        );
        wanted.push((setting, var, id));
    }
    if wanted.is_empty() {
        return Ok(HashMap::new());
    }
    let client = SecretsManager::from_env(&env)?;
    let reads = wanted.iter().map(|(setting, var, id)| {
        let client = &client;
        async move {
            let value = client
                .secret_string(id)
                .await
                .with_context(|| format!("{var}: read secret {id:?}"))?;
            Ok::<_, anyhow::Error>((*setting, value))
        }
    });
    futures::future::try_join_all(reads)
        .await
        .map(|values| values.into_iter().collect())
}

type Https = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A client for the one Secrets Manager call this needs.
pub struct SecretsManager {
    http: Https,
    endpoint: http::Uri,
    region: String,
    credentials: Credentials,
}

/// How long one call may take, connection included: start-up must fit well inside Lambda's
/// 10-second init phase.
const CALL_TIMEOUT: Duration = Duration::from_secs(3);
/// Attempts per secret: throttling and server errors are retried, briefly.
const ATTEMPTS: u32 = 3;

impl SecretsManager {
    /// From the variables Lambda sets (`AWS_REGION`, `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`) and the SDKs' endpoint overrides
    /// (`AWS_ENDPOINT_URL_SECRETS_MANAGER`, then `AWS_ENDPOINT_URL`), for LocalStack and tests.
    ///
    /// # Errors
    /// A required variable is missing, or an endpoint is not a URL.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let required = |name: &str| {
            var(name)
                .with_context(|| format!("{name}: needed to read secrets from Secrets Manager"))
        };
        let region = var("AWS_REGION")
            .or_else(|| var("AWS_DEFAULT_REGION"))
            .context("AWS_REGION: needed to read secrets from Secrets Manager")?;
        let endpoint =
            match var("AWS_ENDPOINT_URL_SECRETS_MANAGER").or_else(|| var("AWS_ENDPOINT_URL")) {
                Some(url) => url,
                None => default_endpoint(&region),
            };
        let endpoint: http::Uri = endpoint
            .parse()
            .ok()
            .filter(|uri: &http::Uri| uri.host().is_some())
            .with_context(|| format!("Secrets Manager endpoint {endpoint:?} is not a URL"))?;
        let credentials = Credentials::new(
            required("AWS_ACCESS_KEY_ID")?,
            required("AWS_SECRET_ACCESS_KEY")?,
            var("AWS_SESSION_TOKEN"),
            None,
            "environment",
        );
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(Arc::new(rustls::crypto::ring::default_provider()))
            .context("TLS for Secrets Manager")?
            .https_or_http()
            .enable_http1()
            .build();
        let http = Client::builder(TokioExecutor::new()).build(https);
        Ok(Self {
            http,
            endpoint,
            region,
            credentials,
        })
    }

    /// The `SecretString` of the secret `id` (a name or an ARN), current version.
    ///
    /// # Errors
    /// The call fails (the error names Secrets Manager's error type), or the secret holds
    /// binary data.
    pub async fn secret_string(&self, id: &str) -> anyhow::Result<SecretString> {
        let body = serde_json::to_vec(&serde_json::json!({ "SecretId": id }))?;
        let mut attempt = 1;
        loop {
            let result = self.call(&body).await;
            match result {
                Err(Call::Retryable(err)) if attempt < ATTEMPTS => {
                    tracing::warn!(error = %format!("{err:#}"), attempt, "Secrets Manager call failed; retrying");
                    tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
                    attempt += 1;
                }
                Err(Call::Retryable(err) | Call::Failed(err)) => return Err(err),
                Ok(value) => {
                    return value
                        .secret_string
                        .map(SecretString::from)
                        .context("the secret holds binary data, not a string");
                }
            }
        }
    }

    async fn call(&self, body: &[u8]) -> Result<SecretValue, Call> {
        let request = self.signed(body).map_err(Call::Failed)?;
        let exchange = async {
            let response = self.http.request(request).await?;
            let status = response.status();
            let bytes = response.into_body().collect().await?.to_bytes();
            Ok::<_, anyhow::Error>((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(CALL_TIMEOUT, exchange)
            .await
            .map_err(|_| {
                Call::Retryable(anyhow::anyhow!(
                    "Secrets Manager did not answer in {CALL_TIMEOUT:?}"
                ))
            })?
            .map_err(|err| Call::Retryable(err.context("Secrets Manager unreachable")))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map_err(|err| Call::Failed(anyhow::Error::new(err).context("unexpected answer")));
        }
        let error = serde_json::from_slice::<AwsError>(&bytes).unwrap_or_default();
        let err = anyhow::anyhow!("{status}: {}", error.describe());
        if status.is_server_error()
            || status == http::StatusCode::TOO_MANY_REQUESTS
            || error.throttled()
        {
            Err(Call::Retryable(err))
        } else {
            Err(Call::Failed(err))
        }
    }

    /// The `GetSecretValue` request, signed for this instant.
    fn signed(&self, body: &[u8]) -> anyhow::Result<http::Request<Full<Bytes>>> {
        let Some(host) = self
            .endpoint
            .authority()
            .map(|authority| authority.as_str())
        else {
            bail!("Secrets Manager endpoint {} has no host", self.endpoint);
        };
        let headers = [
            ("host", host),
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", "secretsmanager.GetSecretValue"),
        ];
        let identity = self.credentials.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("secretsmanager")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .context("SigV4 parameters")?
            .into();
        let uri = self.endpoint.to_string();
        let signable = SignableRequest::new(
            "POST",
            &uri,
            headers.iter().copied(),
            SignableBody::Bytes(body),
        )
        .context("SigV4 request")?;
        let (instructions, _signature) = sign(signable, &params)
            .context("SigV4 signing")?
            .into_parts();
        let mut request = http::Request::builder()
            .method("POST")
            .uri(self.endpoint.clone());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let mut request = request
            .body(Full::new(Bytes::copy_from_slice(body)))
            .context("build the request")?;
        instructions.apply_to_request_http1x(&mut request);
        Ok(request)
    }
}

/// `https://secretsmanager.<region>.amazonaws.com`, `.amazonaws.com.cn` in the China regions.
fn default_endpoint(region: &str) -> String {
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("https://secretsmanager.{region}.{suffix}")
}

enum Call {
    Retryable(anyhow::Error),
    Failed(anyhow::Error),
}

#[derive(Deserialize)]
struct SecretValue {
    #[serde(rename = "SecretString")]
    secret_string: Option<String>,
}

/// An AWS JSON-protocol error: `__type` is `ResourceNotFoundException`, `AccessDeniedException`
/// and so on (sometimes prefixed with a namespace and `#`).
#[derive(Deserialize, Default)]
struct AwsError {
    #[serde(rename = "__type", default)]
    kind: String,
    #[serde(alias = "Message", default)]
    message: String,
}

impl AwsError {
    fn describe(&self) -> String {
        let kind = self.kind.rsplit('#').next().unwrap_or_default();
        match (kind.is_empty(), self.message.is_empty()) {
            (true, _) => "no error detail".to_owned(),
            (false, true) => kind.to_owned(),
            (false, false) => format!("{kind}: {}", self.message),
        }
    }

    fn throttled(&self) -> bool {
        self.kind.ends_with("ThrottlingException")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    const AWS: [(&str, &str); 4] = [
        ("AWS_REGION", "eu-west-1"),
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        (
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        ),
        ("AWS_SESSION_TOKEN", "session-token"),
    ];

    #[tokio::test]
    async fn no_secret_id_needs_no_aws_settings() {
        let values = resolve(env(&[("DATABASE_URL", "mssql://x")]))
            .await
            .unwrap();
        assert!(values.is_empty());
    }

    #[tokio::test]
    async fn a_value_and_a_secret_id_together_are_refused() {
        let err = resolve(env(&[
            ("REDIS_URL", "redis://127.0.0.1"),
            ("REDIS_URL_SECRET_ID", "rookery/REDIS_URL"),
        ]))
        .await
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "REDIS_URL and REDIS_URL_SECRET_ID are both set: set one"
        );
    }

    #[tokio::test]
    async fn a_secret_id_without_credentials_names_what_is_missing() {
        let err = resolve(env(&[
            ("AWS_REGION", "eu-west-1"),
            ("JWT_PRIVATE_KEY_SECRET_ID", "rookery/JWT_PRIVATE_KEY"),
        ]))
        .await
        .unwrap_err();
        assert!(err.to_string().starts_with("AWS_ACCESS_KEY_ID"), "{err}");
    }

    #[test]
    fn endpoints_follow_the_region_and_the_overrides() {
        let client = SecretsManager::from_env(env(&AWS)).unwrap();
        assert_eq!(
            client.endpoint.to_string(),
            "https://secretsmanager.eu-west-1.amazonaws.com/"
        );
        let cn = [("AWS_REGION", "cn-north-1"), AWS[1], AWS[2]];
        let client = SecretsManager::from_env(env(&cn)).unwrap();
        assert_eq!(
            client.endpoint.to_string(),
            "https://secretsmanager.cn-north-1.amazonaws.com.cn/"
        );
        let local = [
            AWS[0],
            AWS[1],
            AWS[2],
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
        ];
        let client = SecretsManager::from_env(env(&local)).unwrap();
        assert_eq!(client.endpoint.to_string(), "http://127.0.0.1:4566/");
    }

    #[test]
    fn the_request_is_signed_for_secrets_manager_and_carries_the_session_token() {
        let client = SecretsManager::from_env(env(&AWS)).unwrap();
        let request = client
            .signed(br#"{"SecretId":"rookery/JWT_PRIVATE_KEY"}"#)
            .unwrap();
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let authorization = header("authorization");
        assert!(
            authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"),
            "{authorization}"
        );
        assert!(
            authorization.contains("/eu-west-1/secretsmanager/aws4_request"),
            "{authorization}"
        );
        assert!(
            authorization.contains("SignedHeaders=content-type;host;"),
            "{authorization}"
        );
        assert!(authorization.contains("x-amz-target"), "{authorization}");
        assert!(
            !authorization.contains(AWS[2].1),
            "the secret key is never sent"
        );
        assert_eq!(header("x-amz-security-token"), "session-token");
        assert_eq!(header("x-amz-target"), "secretsmanager.GetSecretValue");
        assert!(!header("x-amz-date").is_empty());
    }

    #[test]
    fn aws_errors_are_described_by_type_and_message() {
        let error: AwsError = serde_json::from_str(
            r#"{"__type":"com.amazonaws#ResourceNotFoundException","Message":"no such secret"}"#,
        )
        .unwrap();
        assert_eq!(
            error.describe(),
            "ResourceNotFoundException: no such secret"
        );
        assert!(!error.throttled());
        let throttled: AwsError =
            serde_json::from_str(r#"{"__type":"ThrottlingException"}"#).unwrap();
        assert!(throttled.throttled());
        assert_eq!(AwsError::default().describe(), "no error detail");
    }
}
