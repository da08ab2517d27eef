//! The `Mailer` contract: one delivered message per send, addressed to the recipient, with the
//! subject, the caller's Message-ID, and plain-text and HTML alternatives.

use std::future::Future;
use std::sync::Arc;

use anyhow::{bail, ensure};
use rookery::domain::EventId;
use rookery::ports::{Mail, Mailer};

use super::{check_eq, unique_suffix};

/// Runs every check. `delivered` returns every raw RFC 5322 message delivered so far (the
/// folder's .eml files; for SMTP, the test server's mailbox).
pub async fn mailer<F, Fut>(mailer: Arc<dyn Mailer>, delivered: F) -> anyhow::Result<()>
where
    F: Fn() -> Fut,
    Fut: Future<Output = anyhow::Result<Vec<String>>>,
{
    ensure!(
        !mailer.name().is_empty(),
        "name() must be a non-empty label"
    );

    let first = mail("Ann");
    let second = mail("Bob");
    let before = delivered().await?.len();
    mailer.send(&first).await?;
    check_eq(
        delivered().await?.len(),
        before + 1,
        "messages after one send",
    )?;
    mailer.send(&second).await?;
    let all = delivered().await?;
    check_eq(all.len(), before + 2, "messages after two sends")?;
    for sent in [&first, &second] {
        let matching: Vec<&String> = all
            .iter()
            .filter(|raw| header(raw, "message-id").as_deref() == Some(sent.message_id.as_str()))
            .collect();
        let [raw] = matching.as_slice() else {
            bail!(
                "want one message with Message-ID {}, found {}",
                sent.message_id,
                matching.len()
            );
        };
        check_message(raw, sent)?;
    }

    let mut bad = mail("Cy");
    bad.to = "not an address".to_owned();
    ensure!(
        mailer.send(&bad).await.is_err(),
        "sending to an invalid address must fail"
    );
    check_eq(
        delivered().await?.len(),
        before + 2,
        "messages after a refused send",
    )?;
    Ok(())
}

fn mail(name: &str) -> Mail {
    let token = unique_suffix();
    Mail {
        to: format!("{}.{token}@example.com", name.to_lowercase()),
        subject: format!("Welcome {name} {token}"),
        text: format!("Hello {name}, plain {token}.\n"),
        html: format!("<p>Hello <strong>{name}</strong>, html {token}.</p>"),
        message_id: format!("<{}@rookery>", EventId::new()),
    }
}

/// The message's header section, folded lines joined.
fn headers(raw: &str) -> String {
    let raw = raw.replace("\r\n", "\n");
    let head = raw.split("\n\n").next().unwrap_or_default();
    head.replace("\n ", " ").replace("\n\t", " ")
}

/// The value of the first header `name` (case-insensitive), trimmed.
fn header(raw: &str, name: &str) -> Option<String> {
    headers(raw).lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().to_owned())
    })
}

fn check_message(raw: &str, sent: &Mail) -> anyhow::Result<()> {
    let id = &sent.message_id;
    let Some(to) = header(raw, "to") else {
        bail!("{id}: no To header");
    };
    ensure!(
        to.to_lowercase().contains(&sent.to),
        "{id}: To is {to:?}, want {:?}",
        sent.to
    );
    check_eq(
        header(raw, "subject").as_deref(),
        Some(sent.subject.as_str()),
        &format!("{id}: Subject"),
    )?;
    ensure!(header(raw, "from").is_some(), "{id}: no From header");
    let lower = raw.to_lowercase();
    for (what, needle) in [
        ("a multipart/alternative body", "multipart/alternative"),
        ("a text/plain part", "content-type: text/plain"),
        ("a text/html part", "content-type: text/html"),
    ] {
        ensure!(lower.contains(needle), "{id}: want {what}, got:\n{raw}");
    }
    let body = raw.replace("\r\n", "\n");
    for (what, want) in [
        ("plain text", sent.text.trim_end()),
        ("HTML", sent.html.as_str()),
    ] {
        ensure!(
            body.contains(want),
            "{id}: the {what} body {want:?} is missing:\n{raw}"
        );
    }
    // The text part comes before the HTML part: readers show the last alternative they can.
    let plain = lower.find("content-type: text/plain");
    let html = lower.find("content-type: text/html");
    ensure!(plain < html, "{id}: the text/plain part must come first");
    Ok(())
}
