//! `fanout`: queues feed.posts and feed.follows: feed fan-out.

use rookery::domain::Queue;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    rookery::lambda::consumer::serve(&[Queue::FeedPosts, Queue::FeedFollows]).await
}
