//! `network`: queue network.users: the new user's graph node.

use rookery::domain::Queue;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    rookery::lambda::consumer::serve(&[Queue::NetworkUsers]).await
}
