//! `cargo run --release`: the whole Rookery API on one port, with no services to install.

use rookery::config::Config;
use rookery::server::{Server, shutdown_signal};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    rookery::telemetry::init(config.log_format);
    let server = Server::build(&config).await?;
    tracing::info!(
        addr = %server.local_addr()?,
        data_dir = %config.data_dir.display(),
        "Rookery is listening"
    );
    server.run_until(shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}
