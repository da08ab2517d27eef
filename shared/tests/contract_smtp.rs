//! The mailer contract against a real SMTP server: maildev, which `scripts/services` starts
//! (SMTP at `TEST_SMTP_URL`, default smtp://127.0.0.1:1025; its HTTP API at
//! `TEST_MAILDEV_URL`, default http://127.0.0.1:1080). These tests never skip: without
//! maildev they fail and say how to start it.

mod contracts;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use async_trait::async_trait;
use lettre::message::Mailbox;
use rookery::adapters::smtp_mailer::SmtpMailer;
use rookery::domain::EventId;
use rookery::ports::{Mail, Mailer};
use serde_json::Value;

use contracts::unique_suffix;

const START_IT: &str = "start it with scripts/services";

fn smtp_url() -> String {
    rookery_test_support::service_url("TEST_SMTP_URL")
}

fn maildev_url() -> String {
    let url = rookery_test_support::service_url("TEST_MAILDEV_URL");
    url.trim_end_matches('/').to_owned()
}

/// maildev's HTTP API (2.x): `GET /email` lists what it received as JSON, and
/// `GET /email/{id}/source` returns one message as received.
struct Maildev {
    http: reqwest::Client,
    base: String,
}

impl Maildev {
    fn new() -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?;
        Ok(Self {
            http,
            base: maildev_url(),
        })
    }

    async fn get(&self, path: &str) -> anyhow::Result<reqwest::Response> {
        let url = format!("{}{path}", self.base);
        let response = self
            .http
            .get(&url)
            .send()
            .await
            .with_context(|| format!("maildev's API does not answer at {url}: {START_IT}"))?;
        response
            .error_for_status()
            .with_context(|| format!("GET {url}"))
    }

    /// The ids of the messages received from `from`, oldest first.
    async fn ids_from(&self, from: &str) -> anyhow::Result<Vec<String>> {
        let emails: Vec<Value> = self.get("/email").await?.json().await?;
        let mut ids = Vec::new();
        for email in &emails {
            let senders = email["from"].as_array().map(Vec::as_slice).unwrap_or(&[]);
            let ours = senders.iter().any(|sender| {
                sender["address"]
                    .as_str()
                    .is_some_and(|address| address.eq_ignore_ascii_case(from))
            });
            if ours {
                let Some(id) = email["id"].as_str() else {
                    bail!("a maildev message without an id: {email}");
                };
                ids.push(id.to_owned());
            }
        }
        Ok(ids)
    }

    /// Every raw message received from `from`, once at least `want` of them have arrived
    /// (maildev stores a message a moment after the SMTP server has accepted it).
    async fn messages_from(&self, from: &str, want: usize) -> anyhow::Result<Vec<String>> {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut ids = self.ids_from(from).await?;
        while ids.len() < want && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
            ids = self.ids_from(from).await?;
        }
        let mut messages = Vec::with_capacity(ids.len());
        for id in ids {
            let raw = self
                .get(&format!("/email/{id}/source"))
                .await?
                .text()
                .await?;
            messages.push(raw);
        }
        Ok(messages)
    }
}

/// The mailer under test, counting the sends the server accepted, so that `delivered` knows
/// how many messages to wait for.
struct Counted {
    inner: SmtpMailer,
    accepted: AtomicUsize,
}

#[async_trait]
impl Mailer for Counted {
    async fn send(&self, mail: &Mail) -> anyhow::Result<()> {
        self.inner.send(mail).await?;
        self.accepted.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn name(&self) -> &'static str {
        self.inner.name()
    }
}

#[tokio::test]
async fn smtp_mailer_contract() -> anyhow::Result<()> {
    // A sender of its own, so that mail from other tests or earlier runs is not counted.
    let sender = format!("contract-{}@rookery.test", unique_suffix());
    let from: Mailbox = format!("Rookery Contract <{sender}>").parse()?;
    let smtp = SmtpMailer::new(&smtp_url(), from)?;
    smtp.ping()
        .await
        .with_context(|| format!("no SMTP server at TEST_SMTP_URL: {START_IT}"))?;
    let maildev = Maildev::new()?;
    maildev.ids_from(&sender).await?;

    let mailer = Arc::new(Counted {
        inner: smtp,
        accepted: AtomicUsize::new(0),
    });
    let counted = mailer.clone();
    let delivered = || {
        let want = counted.accepted.load(Ordering::SeqCst);
        maildev.messages_from(&sender, want)
    };
    contracts::mailer::mailer(mailer.clone(), delivered).await?;
    // The suite sent two good messages and one refused before reaching the server.
    assert_eq!(mailer.accepted.load(Ordering::SeqCst), 2);
    Ok(())
}

#[tokio::test]
async fn sending_without_a_server_fails_fast() -> anyhow::Result<()> {
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    let mailer = SmtpMailer::new(
        "smtp://127.0.0.1:1",
        "Rookery <no-reply@rookery.test>".parse()?,
    )?;
    let mail = Mail {
        to: "ann@example.com".to_owned(),
        subject: "Welcome Ann".to_owned(),
        text: "Hello Ann.\n".to_owned(),
        html: "<p>Hello Ann.</p>".to_owned(),
        message_id: format!("<{}@rookery>", EventId::new()),
    };
    let started = Instant::now();
    let sent = tokio::time::timeout(Duration::from_secs(5), mailer.send(&mail))
        .await
        .context("send() hung with no server listening")?;
    ensure!(sent.is_err(), "send() succeeded with no server listening");
    let pinged = tokio::time::timeout(Duration::from_secs(5), mailer.ping())
        .await
        .context("ping() hung with no server listening")?;
    ensure!(pinged.is_err(), "ping() succeeded with no server listening");
    ensure!(
        started.elapsed() < Duration::from_secs(5),
        "failing took {:?}",
        started.elapsed()
    );
    Ok(())
}
