//! `authorizer`: the HTTP API's Lambda authorizer.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    rookery::lambda::authorizer::serve().await
}
