//! Lambda glue: what every function binary calls. Each builds its wiring once, outside the
//! handler, then hands every event to the shared handlers.

pub mod authorizer;
pub mod consumer;

use anyhow::Context as _;
use std::sync::Arc;

use crate::config::Config;
use crate::http::{self, AppState};
use crate::server::Embedded;

/// The wiring of a function. Unlike the local server, a function never invents a token
/// secret: every instance must sign and verify with the same one.
pub async fn wiring(config: &Config) -> anyhow::Result<Embedded> {
    if config.jwt_secret.is_none() {
        anyhow::bail!("JWT_SECRET: required outside the local server");
    }
    Embedded::build(config).await
}

/// Reads the configuration and sets up JSON logs, as every function starts.
pub fn start() -> anyhow::Result<Config> {
    let mut config = Config::from_env()?;
    config.log_format = crate::config::LogFormat::Json;
    crate::telemetry::init(config.log_format);
    Ok(config)
}

/// Serves the HTTP API through lambda_http. Every HTTP function serves the same router; the
/// gateway sends each only its own routes.
pub async fn serve_http() -> Result<(), lambda_http::Error> {
    let config = start()?;
    let wiring = wiring(&config).await?;
    let state = AppState {
        probes: Arc::new(wiring.probes().to_vec()),
        ctx: wiring.ctx.clone(),
    };
    lambda_http::run(http::router(state)).await
}

/// Serves the relay as a Lambda on a schedule: each invocation publishes what the outbox holds.
pub async fn serve_relay() -> Result<(), lambda_runtime::Error> {
    let config = start()?;
    let wiring = wiring(&config).await?;
    let wiring = &wiring;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |_: lambda_runtime::LambdaEvent<serde_json::Value>| async move {
            let sent = wiring.relay().drain().await.context("relay the outbox")?;
            tracing::info!(sent, "outbox relayed");
            Ok::<_, lambda_runtime::Error>(serde_json::json!({ "sent": sent }))
        },
    ))
    .await
}
