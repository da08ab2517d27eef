//! `post`: an HTTP function, serving its routes of the route table (`shared/src/http/routes.rs`).

use rookery::lambda::wire;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rookery::lambda::serve_http(rookery::served!(Post), wire::post).await
}
