//! Invokes a function through a Lambda invoke endpoint: cargo-lambda's (`cargo lambda watch`),
//! LocalStack's, or anything that speaks `POST /2015-03-31/functions/<name>/invocations`.

use std::time::Duration;

use serde::Serialize;

/// Longer than any function's Timeout in template.yaml: a slow function fails on its own
/// clock, not on the bridge's.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(120);

/// Why an invocation did not succeed; the two call for opposite handling of the batch.
#[derive(Debug)]
pub enum Failure {
    /// The function ran and failed: the batch goes back to its queue, as Lambda's event
    /// source does, and counts toward the queue's delivery limit.
    Function(String),
    /// The function was not reached (not started yet, endpoint down, unknown name): the batch
    /// is held and the call retried, so that no delivery is spent on it.
    Unreachable(String),
}

pub struct Invoker {
    client: reqwest::Client,
    base: String,
}

impl Invoker {
    pub fn new(base: &str) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder().timeout(INVOKE_TIMEOUT).build()?;
        Ok(Self {
            client,
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    pub async fn invoke(&self, function: &str, payload: &impl Serialize) -> Result<(), Failure> {
        let url = format!("{}/2015-03-31/functions/{function}/invocations", self.base);
        let response = self
            .client
            .post(&url)
            .json(payload)
            .send()
            .await
            .map_err(|err| Failure::Unreachable(format!("{url}: {err}")))?;
        let status = response.status().as_u16();
        let function_error = response.headers().contains_key("x-amz-function-error");
        let body = response.text().await.unwrap_or_default();
        classify(status, function_error, &body)
    }
}

/// AWS and LocalStack answer a failed function with 200 and `X-Amz-Function-Error`;
/// cargo-lambda answers with 500 and the function's `{"errorType", "errorMessage"}`.
fn classify(status: u16, function_error: bool, body: &str) -> Result<(), Failure> {
    let reported_by_function = || {
        serde_json::from_str::<serde_json::Value>(body)
            .is_ok_and(|json| json.get("errorType").is_some())
    };
    match status {
        200..=299 if !function_error => Ok(()),
        200..=299 => Err(Failure::Function(shorten(body))),
        500 if reported_by_function() => Err(Failure::Function(shorten(body))),
        _ => Err(Failure::Unreachable(format!(
            "HTTP {status}: {}",
            shorten(body)
        ))),
    }
}

fn shorten(body: &str) -> String {
    body.chars().take(500).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ERROR: &str = r#"{"errorType":"&anyhow::Error","errorMessage":"1 message(s) failed"}"#;

    #[test]
    fn answers_are_classified() {
        assert!(classify(200, false, r#"{"handled":1}"#).is_ok());
        assert!(classify(202, false, "").is_ok());
        assert!(matches!(
            classify(200, true, ERROR),
            Err(Failure::Function(_))
        ));
        assert!(matches!(
            classify(500, false, ERROR),
            Err(Failure::Function(_))
        ));
        // A gateway or emulator failure is not the function's: hold the batch.
        assert!(matches!(
            classify(500, false, "upstream gone"),
            Err(Failure::Unreachable(_))
        ));
        assert!(matches!(
            classify(404, false, r#"{"title":"Missing function"}"#),
            Err(Failure::Unreachable(_))
        ));
        assert!(matches!(
            classify(502, false, ""),
            Err(Failure::Unreachable(_))
        ));
    }

    #[tokio::test]
    async fn a_closed_port_is_unreachable() -> anyhow::Result<()> {
        // Bind then drop: the port is very likely closed for the moment of the test.
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let invoker = Invoker::new(&format!("http://127.0.0.1:{port}/"))?;
        let result = invoker.invoke("relay", &serde_json::json!({})).await;
        assert!(matches!(result, Err(Failure::Unreachable(_))), "{result:?}");
        Ok(())
    }
}
