//! `notify`: queue notify.events: follows, likes, replies and mentions become notifications.

use rookery::lambda::wire;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    rookery::lambda::consumer::serve(wire::notify).await
}
