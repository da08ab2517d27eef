//! `profile`: GET /me, GET /users/{username}, /health and /openapi.json, behind the HTTP API.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rookery::lambda::serve_http().await
}
