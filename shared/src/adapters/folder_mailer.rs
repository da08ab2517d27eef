//! Mail written as .eml files into a folder (lettre's file transport): the embedded default,
//! so that welcome mails can be read without a mail server.

use std::path::PathBuf;

use anyhow::Context as _;
use async_trait::async_trait;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncFileTransport, AsyncTransport, Message, Tokio1Executor};

use crate::ports::{Mail, Mailer};

/// Builds the MIME message for a mail: plain text and HTML alternatives.
pub fn message(mail: &Mail, from: &Mailbox) -> anyhow::Result<Message> {
    let to: Mailbox = mail.to.parse().context("recipient address")?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(&mail.subject)
        .message_id(Some(mail.message_id.clone()))
        .multipart(MultiPart::alternative_plain_html(
            mail.text.clone(),
            mail.html.clone(),
        ))
        .context("build message")
}

pub struct FolderMailer {
    transport: AsyncFileTransport<Tokio1Executor>,
    from: Mailbox,
}

impl FolderMailer {
    pub async fn new(folder: PathBuf, from: Mailbox) -> anyhow::Result<Self> {
        tokio::fs::create_dir_all(&folder)
            .await
            .with_context(|| format!("create mail folder {}", folder.display()))?;
        Ok(Self {
            transport: AsyncFileTransport::new(folder),
            from,
        })
    }
}

#[async_trait]
impl Mailer for FolderMailer {
    async fn send(&self, mail: &Mail) -> anyhow::Result<()> {
        let message = message(mail, &self.from)?;
        self.transport
            .send(message)
            .await
            .context("write mail file")?;
        Ok(())
    }

    fn name(&self) -> &'static str {
        "folder"
    }
}
