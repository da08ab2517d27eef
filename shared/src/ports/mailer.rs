//! Outgoing mail (a folder of .eml files embedded, SMTP in production).

use async_trait::async_trait;

/// A composed message. `message_id` is derived from the event that caused it, so a resend of
/// the same event carries the same Message-ID.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub message_id: String,
}

#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    async fn send(&self, mail: &Mail) -> anyhow::Result<()>;

    fn name(&self) -> &'static str;
}
