//! SMTP mail (lettre, async transport with a connection pool).
//!
//! The server is given as one URL (lettre's connection URL):
//!
//! | URL | connection | default port |
//! |---|---|---|
//! | `smtps://user:pass@host:port` | implicit TLS (SMTP over TLS), recommended | 465 |
//! | `smtp://user:pass@host:port?tls=required` | STARTTLS, required | 587 |
//! | `smtp://user:pass@host:port?tls=opportunistic` | STARTTLS when offered, else plain (not for production) | 587 |
//! | `smtp://user:pass@host:port` | plain, unencrypted (a local test server such as maildev) | 25 |
//!
//! `user:pass@` is optional; percent-encode special characters in them (`@` as `%40`). A path,
//! as in `smtps://host/client.example.com`, sets the name sent with EHLO.

use std::time::Duration;

use anyhow::{Context as _, ensure};
use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::adapters::folder_mailer::message;
use crate::ports::{Mail, Mailer};

/// How long connecting and each SMTP command may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The URL forms, for error messages (never the URL itself: it may hold a password).
const URL_FORMS: &str = "smtp://[user:pass@]host[:port][?tls=required|opportunistic] or \
                         smtps://[user:pass@]host[:port]";

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    /// Parses `url` (see the module's documentation) without connecting. The error never
    /// contains the URL, which may carry a password.
    ///
    /// Must run inside a Tokio runtime, and the mailer be dropped inside one: lettre's
    /// connection pool spawns its clean-up task on both (and would panic outside).
    pub fn new(url: &str, from: Mailbox) -> anyhow::Result<Self> {
        tokio::runtime::Handle::try_current()
            .context("SmtpMailer::new must be called inside a Tokio runtime")?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .with_context(|| format!("invalid SMTP URL, want {URL_FORMS}"))?
            .timeout(Some(TIMEOUT))
            .build();
        Ok(Self { transport, from })
    }

    /// Opens (or reuses) a connection and checks the server answers NOOP: for `/health`.
    pub async fn ping(&self) -> anyhow::Result<()> {
        let connected = self
            .transport
            .test_connection()
            .await
            .context("connect to the SMTP server")?;
        ensure!(connected, "the SMTP server did not answer NOOP");
        Ok(())
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &Mail) -> anyhow::Result<()> {
        let message = message(mail, &self.from)?;
        self.transport
            .send(message)
            .await
            .with_context(|| format!("send mail {} over SMTP", mail.message_id))?;
        Ok(())
    }

    fn name(&self) -> &'static str {
        "smtp"
    }
}

#[cfg(test)]
mod tests {
    use anyhow::bail;

    use super::*;

    fn from() -> anyhow::Result<Mailbox> {
        Ok("Rookery <no-reply@rookery.test>".parse()?)
    }

    #[tokio::test]
    async fn accepts_every_documented_url_form() -> anyhow::Result<()> {
        for url in [
            "smtp://127.0.0.1:1025",
            "smtp://localhost",
            "smtp://user:pass@mail.example.com:587?tls=required",
            "smtp://user:pass@mail.example.com?tls=opportunistic",
            "smtps://user:pass@mail.example.com",
            "smtps://user:p%40ss@mail.example.com:465/client.example.com",
        ] {
            if let Err(error) = SmtpMailer::new(url, from()?) {
                bail!("{url} was refused: {error:#}");
            }
        }
        Ok(())
    }

    #[tokio::test]
    async fn refuses_bad_urls_without_showing_them() -> anyhow::Result<()> {
        for url in [
            "",
            "mail.example.com:25",
            "http://user:s3cret@mail.example.com",
            "smtp://user:s3cret@mail.example.com?tls=always",
            "smtp://user:%ff%fe@mail.example.com",
            "smtp://user:s3cret@:25",
        ] {
            let Err(error) = SmtpMailer::new(url, from()?) else {
                bail!("{url:?} was accepted");
            };
            let shown = format!("{error:#}");
            ensure!(shown.contains("invalid SMTP URL"), "{url:?}: {shown}");
            ensure!(
                !shown.contains("s3cret") && !shown.contains("%ff"),
                "{url:?}: the password leaks: {shown}"
            );
        }
        Ok(())
    }

    #[test]
    fn needs_a_tokio_runtime() -> anyhow::Result<()> {
        let Err(error) = SmtpMailer::new("smtp://127.0.0.1:1025", from()?) else {
            bail!("built outside a Tokio runtime");
        };
        ensure!(format!("{error}").contains("Tokio runtime"), "{error:#}");
        Ok(())
    }

    #[tokio::test]
    async fn is_named_smtp() -> anyhow::Result<()> {
        let mailer = SmtpMailer::new("smtp://127.0.0.1:1025", from()?)?;
        assert_eq!(mailer.name(), "smtp");
        Ok(())
    }
}
