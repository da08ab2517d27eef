//! Lambda glue: what every function binary calls. Each builds its wiring once, outside the
//! handler, then hands every event to the shared handlers.

pub mod authorizer;
pub mod consumer;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use futures::FutureExt as _;
use tokio::sync::Notify;

use crate::config::Config;
use crate::http::routes::Function;
use crate::http::{self, AppState, Serve};
use crate::server::Embedded;
use crate::services::Relay;

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

/// Serves `function`'s routes of the route table through lambda_http; any other route answers
/// 404 (405 for a method no route of that path has).
pub async fn serve_http(function: Function) -> Result<(), lambda_http::Error> {
    let config = start()?;
    let wiring = wiring(&config).await?;
    lambda_http::run(router(&wiring, function)).await
}

/// The router of an HTTP function: its routes, then the events the request committed
/// published before the answer leaves. A Lambda instance is frozen once it has answered, so a relay
/// running beside the handler would not run until the next request; the scheduled relay
/// publishes whatever this step could not.
pub fn router(wiring: &Embedded, function: Function) -> axum::Router {
    let state = AppState {
        probes: Arc::new(wiring.probes().to_vec()),
        ctx: wiring.ctx.clone(),
    };
    let relay = Arc::new(wiring.relay());
    let written = wiring.ctx.outbox_written.clone();
    http::router_for(state, Serve::Function(function)).layer(axum::middleware::map_response(
        move |response: axum::response::Response| {
            let (relay, written) = (relay.clone(), written.clone());
            async move {
                publish_written(&relay, &written).await;
                response
            }
        },
    ))
}

/// How long an answer may wait for the broker; past it, the scheduled relay publishes.
const PUBLISH_WAIT: Duration = Duration::from_secs(2);

async fn publish_written(relay: &Relay, written: &Notify) {
    // The handler signals a committed event by storing a permit; none means nothing to send.
    if written.notified().now_or_never().is_none() {
        return;
    }
    match tokio::time::timeout(PUBLISH_WAIT, relay.drain()).await {
        Ok(Ok(_)) => {}
        Ok(Err(err)) => {
            tracing::warn!(error = %format!("{err:#}"), "events left for the scheduled relay");
        }
        Err(_) => tracing::warn!("broker slow; events left for the scheduled relay"),
    }
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
