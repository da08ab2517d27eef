//! `email`: queue email.welcome: the welcome mail.

use rookery::domain::Queue;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    rookery::lambda::consumer::serve(&[Queue::EmailWelcome]).await
}
