//! `email`: queue email.welcome: the welcome mail.

use rookery::lambda::wire;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    rookery::lambda::consumer::serve(wire::email).await
}
