//! `cargo run --release`: the whole Rookery API on one port, with no services to install.
//! `cargo run --release -- migrate`: apply the configured stores' migrations and graph schema,
//! declare the broker's queues (with `RABBITMQ_URL`), and exit.

use rookery::config::Config;
use rookery::server::{Server, shutdown_signal};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    rookery::telemetry::init(&config.telemetry);
    match std::env::args().nth(1).as_deref() {
        None | Some("serve") => serve(&config).await,
        Some("migrate") => {
            rookery::server::migrate(&config).await?;
            tracing::info!("migrations applied, graph schema and broker topology in place");
            Ok(())
        }
        Some(other) => anyhow::bail!("unknown command {other:?}: expected serve or migrate"),
    }
}

async fn serve(config: &Config) -> anyhow::Result<()> {
    let server = Server::build(config).await?;
    tracing::info!(
        addr = %server.local_addr()?,
        data_dir = %config.data_dir.display(),
        "Rookery is listening"
    );
    server.run_until(shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}
