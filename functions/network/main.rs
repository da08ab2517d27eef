//! `network`: queue network.users: the new user's graph node.

use rookery::lambda::wire;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    rookery::lambda::consumer::serve(wire::network).await
}
