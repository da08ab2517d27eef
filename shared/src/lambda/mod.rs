//! Lambda glue: what every function binary calls. Each builds its wiring once, outside the
//! handler, then hands every event to the shared handlers.

pub mod authorizer;
pub mod consumer;
pub mod secrets;
pub mod wire;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use futures::FutureExt as _;
use secrecy::ExposeSecret as _;
use tokio::sync::Notify;
use tracing::Instrument as _;

use crate::config::{Config, LogFormat, TelemetryConfig};
use crate::http::{self, AppState, Probe, Served};
use crate::services::{Context, Relay};
use crate::wiring::Wiring;

/// What an HTTP function serves with: the ports its routes use, their health checks, and the
/// relay that publishes what a request wrote (none without a broker: the events then wait in
/// the outbox for the scheduled relay).
pub struct HttpWiring {
    pub ctx: Context,
    pub probes: Vec<Probe>,
    pub relay: Option<Relay>,
}

/// Sets up JSON logs and reads the configuration, with the secret settings read from Secrets
/// Manager where the environment names their secrets, as every function starts.
///
/// # Errors
/// A secret cannot be read, or a setting is invalid.
pub async fn start() -> anyhow::Result<Config> {
    let env = |name: &str| std::env::var(name).ok();
    let telemetry = TelemetryConfig {
        log_format: LogFormat::Json,
        ..TelemetryConfig::from_lookup(env)?
    };
    crate::telemetry::init(&telemetry);
    let secrets = secrets::resolve(env).await?;
    let mut config = Config::from_lookup(|name| {
        secrets
            .get(name)
            .map(|value| value.expose_secret().to_owned())
            .or_else(|| env(name))
    })?;
    config.telemetry = telemetry;
    Ok(config)
}

/// Serves a function's routes of the route table (`rookery::served!(Name)`) through
/// lambda_http, with the ports `wire` (one of [`wire`]'s builders) opens; any other route
/// answers 404 (405 for a method no route of that path has).
pub async fn serve_http<W, Fut>(served: Served, wire: W) -> Result<(), lambda_http::Error>
where
    W: FnOnce(Config) -> Fut,
    Fut: Future<Output = anyhow::Result<HttpWiring>>,
{
    let config = start().await?;
    let span = function_span(&config);
    let wiring = wire(config).await?;
    // A frozen instance exports nothing: each answer first sends the spans ended so far.
    let router = router(&wiring, &served).layer(axum::middleware::map_response(
        |response: axum::response::Response| async move {
            crate::telemetry::flush();
            response
        },
    ));
    lambda_http::run(router).instrument(span).await
}

/// The span every invocation of this function runs in: its log lines name the function (the
/// runtime's own span inside it adds the invocation's `requestId`).
pub(crate) fn function_span(config: &Config) -> tracing::Span {
    tracing::info_span!("function", function = %config.telemetry.function)
}

/// The router of an HTTP function: its routes, then the events the request committed
/// published before the answer leaves. A Lambda instance is frozen once it has answered, so a
/// relay running beside the handler would not run until the next request; the scheduled relay
/// publishes whatever this step could not.
pub fn router(wiring: &HttpWiring, served: &Served) -> axum::Router {
    let state = AppState {
        probes: Arc::new(wiring.probes.clone()),
        ctx: wiring.ctx.clone(),
    };
    // The client's address is the one API Gateway saw (DESIGN 4.4: never a header it sets).
    let router = http::router_for(state, served)
        .layer(axum::middleware::map_request(http::limit::from_api_gateway));
    let Some(relay) = wiring.relay.clone() else {
        return router;
    };
    let relay = Arc::new(relay);
    let written = wiring.ctx.outbox_written.clone();
    router.layer(axum::middleware::map_response(
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

/// Serves the relay as a Lambda on a schedule: each invocation publishes what the outbox holds
/// to RabbitMQ (`RABBITMQ_URL` is required).
pub async fn serve_relay() -> Result<(), lambda_runtime::Error> {
    let config = start().await?;
    let mut wiring = Wiring::new(&config).await?;
    let outbox = wiring.sql().await?.outbox;
    let broker = wiring
        .broker()
        .context("RABBITMQ_URL: the relay function needs the broker")?;
    let relay = &broker.relay(outbox);
    let pruner = &wiring.pruner().await?;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |_: lambda_runtime::LambdaEvent<serde_json::Value>| async move {
            let sent = relay.drain().await.context("relay the outbox")?;
            // The alarm on old unsent events reads this (template.yaml, README "Alarms").
            relay.report_oldest_unsent().await;
            // Each scheduled run also prunes a bounded amount of what is past retention.
            let pruned = pruner.prune().await.context("prune the outbox")?;
            tracing::info!(sent, pruned, "outbox relayed");
            crate::telemetry::flush();
            Ok::<_, lambda_runtime::Error>(serde_json::json!({ "sent": sent, "pruned": pruned }))
        },
    ))
    .instrument(function_span(&config))
    .await
}
