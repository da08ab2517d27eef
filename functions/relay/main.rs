//! `relay`: every minute, publishes the outbox.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    rookery::lambda::serve_relay().await
}
