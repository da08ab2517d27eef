//! `rookery-bridge`: the local stand-in for Lambda's Amazon MQ and EventBridge event sources.
//! It reads the event sources from template.yaml, consumes the RabbitMQ queues, hands each
//! batch to its function as the `RabbitMqEvent` Lambda would send, through a Lambda invoke
//! endpoint (`cargo lambda watch`), and acks or requeues the batch by the result; it also runs
//! the scheduled functions. With it the product runs locally as separate functions.

mod event;
mod invoke;
mod pump;
mod settings;
mod template;

use std::sync::Arc;

use anyhow::Context as _;
use rookery::adapters::rabbitmq::Topology;
use rookery::config::Config;
use rookery::server::shutdown_signal;
use secrecy::ExposeSecret;

use crate::pump::Bridge;
use crate::settings::Settings;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    rookery::telemetry::init(&config.telemetry);
    let settings = Settings::from_lookup(|name| std::env::var(name).ok())?;
    let url = config
        .rabbitmq_url
        .as_ref()
        .context("RABBITMQ_URL: required; the bridge consumes the queues there")?
        .expose_secret()
        .to_owned();
    let yaml = std::fs::read_to_string(&settings.template).with_context(|| {
        format!(
            "BRIDGE_TEMPLATE: cannot read {}",
            settings.template.display()
        )
    })?;
    let sources = template::parse(&yaml)
        .with_context(|| format!("BRIDGE_TEMPLATE: {}", settings.template.display()))?;
    let vhost = url
        .parse::<lapin::uri::AMQPUri>()
        .map_err(|err| anyhow::anyhow!("RABBITMQ_URL: {err}"))?
        .vhost;
    let bridge = Arc::new(Bridge {
        url,
        vhost,
        topology: Topology::new(config.rabbitmq_namespace.as_deref())
            .expiring(config.rabbitmq_queue_expiry),
        invoker: invoke::Invoker::new(&settings.invoke_url)?,
    });
    let mut loops = tokio::task::JoinSet::new();
    for source in sources.queues {
        loops.spawn(pump::run_queue(bridge.clone(), source));
    }
    for mut source in sources.schedules {
        source.every = settings.schedule_every.unwrap_or(source.every);
        loops.spawn(pump::run_schedule(bridge.clone(), source));
    }
    tracing::info!(invoke_url = %settings.invoke_url, "bridge running");
    shutdown_signal().await;
    loops.shutdown().await;
    tracing::info!("stopped");
    Ok(())
}
