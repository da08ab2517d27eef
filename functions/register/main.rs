//! `register`: POST /auth/register, behind the HTTP API.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rookery::lambda::serve_http().await
}
