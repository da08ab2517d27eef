//! `follow`: PUT and DELETE /users/{username}/follow, GET .../followers and .../following, behind the HTTP API.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rookery::lambda::serve_http().await
}
