//! `fanout`: queues feed.posts and feed.follows: feed fan-out.

use rookery::lambda::wire;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    rookery::lambda::consumer::serve(wire::fanout).await
}
