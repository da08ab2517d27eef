//! `TestApp`: a running server and request helpers.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use reqwest::{Method, StatusCode};
use rookery::config::Config;
use rookery::server::{Embedded, Server};

use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::services::service_url;

/// Which adapters a test server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite, in-process bus, in-memory feeds, mail to a folder.
    Embedded,
    /// Redis feeds, RabbitMQ events and SMTP mail (into maildev), from `scripts/services`.
    RealServices,
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub backend: Backend,
    /// A suffix unique to this app: e-mail domains and broker names carry it, so apps that
    /// share maildev and RabbitMQ never see each other's mail or events.
    pub tag: String,
    extra: Vec<(String, String)>,
    pub data: tempfile::TempDir,
    pub client: reqwest::Client,
    /// The running server's wiring, for tests that dispatch events directly.
    pub embedded: Embedded,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

/// A response, read whole.
pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// Asserts that this is a problem+json response with `status`.
    pub fn problem(&self, status: u16) -> anyhow::Result<&Self> {
        anyhow::ensure!(
            self.status.as_u16() == status,
            "expected {status}, got {} {}",
            self.status,
            self.body
        );
        anyhow::ensure!(
            self.content_type == "application/problem+json",
            "content type {:?} for {}",
            self.content_type,
            self.body
        );
        for member in ["type", "title", "detail"] {
            anyhow::ensure!(
                self.body[member].is_string(),
                "no {member} in {}",
                self.body
            );
        }
        anyhow::ensure!(
            self.body["status"] == status,
            "status member in {}",
            self.body
        );
        let codes: &[&str] = match status {
            400 => &["malformed_json", "malformed_query", "invalid_cursor"],
            401 => &["unauthorized"],
            403 => &["forbidden"],
            404 => &["not_found"],
            405 => &["method_not_allowed"],
            409 => &["username_taken", "email_taken"],
            413 => &["body_too_large"],
            422 => &["invalid_field"],
            429 => &["rate_limited"],
            _ => &["internal"],
        };
        anyhow::ensure!(
            self.body["code"]
                .as_str()
                .is_some_and(|code| codes.contains(&code)),
            "code member {} is not one of {codes:?} for {status}",
            self.body["code"]
        );
        Ok(self)
    }

    /// Asserts a problem+json response with `status` and the stable `code`.
    pub fn problem_code(&self, status: u16, code: &str) -> anyhow::Result<&Self> {
        self.problem(status)?;
        anyhow::ensure!(
            self.body["code"] == code,
            "code {} is not {code}",
            self.body["code"]
        );
        Ok(self)
    }

    pub fn ok(&self, status: u16) -> anyhow::Result<&Value> {
        anyhow::ensure!(
            self.status.as_u16() == status,
            "expected {status}, got {} {}",
            self.status,
            self.body
        );
        Ok(&self.body)
    }

    pub fn str(&self, field: &str) -> anyhow::Result<String> {
        self.body[field]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("no string {field} in {}", self.body))
    }
}

/// A test server's settings: `extra` over these. Rate limits are off unless a test turns them
/// on (`("RATE_LIMITS", "on")`, with short `RATE_LIMIT_*` rules): every test's requests come
/// from 127.0.0.1, and the suites register and log in far more than a client would.
fn config_for(data: &std::path::Path, extra: &[(String, String)]) -> anyhow::Result<Config> {
    let mut vars: HashMap<String, String> = HashMap::from([
        ("ROOKERY_ADDR".to_owned(), "127.0.0.1:0".to_owned()),
        ("ROOKERY_DATA_DIR".to_owned(), data.display().to_string()),
        ("BCRYPT_COST".to_owned(), "4".to_owned()),
        ("RATE_LIMITS".to_owned(), "off".to_owned()),
    ]);
    vars.extend(extra.iter().cloned());
    Ok(Config::from_lookup(|name| vars.get(name).cloned())?)
}

async fn start(
    data: &std::path::Path,
    extra: &[(String, String)],
) -> anyhow::Result<(Server, SocketAddr)> {
    let server = Server::build(&config_for(data, extra)?).await?;
    let addr = server.local_addr()?;
    Ok((server, addr))
}

impl TestApp {
    pub async fn spawn() -> anyhow::Result<Self> {
        Self::spawn_on(Backend::Embedded, &[]).await
    }

    /// A server on `backend` with extra configuration variables.
    pub async fn spawn_on(backend: Backend, extra: &[(&str, &str)]) -> anyhow::Result<Self> {
        crate::telemetry::capture();
        let data = tempfile::tempdir()?;
        let tag = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        let mut vars: Vec<(String, String)> = Vec::new();
        if backend == Backend::RealServices {
            vars.push(("REDIS_URL".into(), service_url("TEST_REDIS_URL")));
            vars.push(("RABBITMQ_URL".into(), service_url("TEST_RABBITMQ_URL")));
            vars.push(("SMTP_URL".into(), service_url("TEST_SMTP_URL")));
            vars.push(("RABBITMQ_NAMESPACE".into(), tag.clone()));
            // Test queues go a minute after the app stops: quorum queues are heavy, and a
            // broker collecting hundreds of them was seen to stop answering.
            vars.push(("RABBITMQ_QUEUE_EXPIRY_SECONDS".into(), "60".into()));
        }
        // A test's own settings come last, so they win.
        vars.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let (server, addr) = start(data.path(), &vars).await?;
        let mut app = Self {
            addr,
            backend,
            tag,
            extra: vars,
            data,
            client: reqwest::Client::new(),
            embedded: server.embedded().clone(),
            stop: None,
            task: None,
        };
        app.run(server);
        Ok(app)
    }

    fn run(&mut self, server: Server) {
        let (stop, stopped) = oneshot::channel();
        self.task = Some(tokio::spawn(server.run_until(async {
            let _ = stopped.await;
        })));
        self.stop = Some(stop);
    }

    /// Stops the server and starts a new one over the same data folder: everything in memory
    /// (the feed cache) is lost, everything on disk is kept.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await??;
        }
        let (server, addr) = start(self.data.path(), &self.extra).await?;
        self.embedded = server.embedded().clone();
        self.addr = addr;
        self.run(server);
        Ok(())
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The app's SQLite file, opened read-only: for tests that look into the store itself.
    pub async fn sqlite(&self) -> anyhow::Result<sqlx::SqlitePool> {
        let path = self.data.path().join("rookery.db");
        Ok(sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", path.display())).await?)
    }

    pub fn mail_dir(&self) -> PathBuf {
        self.data.path().join("mail")
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> anyhow::Result<Reply> {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        read(request.send().await?).await
    }

    pub async fn raw(&self, request: reqwest::RequestBuilder) -> anyhow::Result<Reply> {
        read(request.send().await?).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> anyhow::Result<Reply> {
        self.send(Method::GET, path, token, None).await
    }

    /// The address `register` gives `username`: unique to this app.
    pub fn email(&self, username: &str) -> String {
        format!("{}@{}.example.com", username.to_lowercase(), self.tag)
    }

    pub async fn register(&self, username: &str) -> anyhow::Result<Reply> {
        let body = json!({
            "username": username,
            "email": self.email(username),
            "password": "correct horse",
        });
        self.send(Method::POST, "/auth/register", None, Some(body))
            .await
    }

    /// Registers and logs in; returns the token.
    pub async fn user(&self, username: &str) -> anyhow::Result<String> {
        self.register(username).await?.ok(201)?;
        self.login(username, "correct horse").await
    }

    pub async fn login(&self, login: &str, password: &str) -> anyhow::Result<String> {
        let body = json!({"login": login, "password": password});
        let reply = self
            .send(Method::POST, "/auth/login", None, Some(body))
            .await?;
        reply.ok(200)?;
        reply.str("access_token")
    }

    pub async fn follow(&self, token: &str, username: &str) -> anyhow::Result<Reply> {
        let path = format!("/users/{username}/follow");
        self.send(Method::PUT, &path, Some(token), None).await
    }

    pub async fn unfollow(&self, token: &str, username: &str) -> anyhow::Result<Reply> {
        let path = format!("/users/{username}/follow");
        self.send(Method::DELETE, &path, Some(token), None).await
    }

    /// Posts and returns the new post's id.
    pub async fn post(&self, token: &str, content: &str) -> anyhow::Result<String> {
        let body = json!({"content": content});
        let reply = self
            .send(Method::POST, "/posts", Some(token), Some(body))
            .await?;
        reply.ok(201)?;
        reply.str("id")
    }

    /// Every item of a paged listing, following `next_cursor` with pages of `limit`.
    pub async fn all_pages(
        &self,
        path: &str,
        token: Option<&str>,
        limit: usize,
    ) -> anyhow::Result<Vec<Value>> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..1000 {
            let separator = if path.contains('?') { '&' } else { '?' };
            let mut url = format!("{path}{separator}limit={limit}");
            if let Some(cursor) = &cursor {
                url.push_str(&format!("&cursor={cursor}"));
            }
            let reply = self.get(&url, token).await?;
            let body = reply.ok(200)?;
            let page = body["items"].as_array().context("items")?;
            anyhow::ensure!(page.len() <= limit, "page longer than limit");
            items.extend(page.iter().cloned());
            match body["next_cursor"].as_str() {
                Some(next) => {
                    anyhow::ensure!(!page.is_empty(), "empty page with a next cursor");
                    cursor = Some(next.to_owned());
                }
                None => return Ok(items),
            }
        }
        bail!("pagination did not end")
    }

    /// The ids of the posts in a feed, newest first, read page by page.
    pub async fn feed_ids(&self, path: &str, token: Option<&str>) -> anyhow::Result<Vec<String>> {
        let items = self.all_pages(path, token, 100).await?;
        items
            .iter()
            .map(|item| item["id"].as_str().map(str::to_owned).context("post id"))
            .collect()
    }

    /// Whether `post` is in the home feed of `token`'s user.
    pub async fn home_has(&self, token: &str, post: &str) -> anyhow::Result<bool> {
        Ok(self
            .feed_ids("/feed", Some(token))
            .await?
            .iter()
            .any(|id| id == post))
    }

    /// How many welcome mails reached `email`: files in the mail folder, or messages in
    /// maildev when mail goes over SMTP.
    pub async fn mails_to(&self, email: &str) -> anyhow::Result<usize> {
        match self.backend {
            Backend::Embedded => mail_files_to(&self.mail_dir(), email),
            Backend::RealServices => maildev_mails_to(&self.client, email).await,
        }
    }
}

fn mail_files_to(dir: &std::path::Path, email: &str) -> anyhow::Result<usize> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(0);
    };
    let mut count = 0;
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "eml") {
            let text = std::fs::read_to_string(&path)?;
            if text.contains(&format!("To: {email}")) {
                count += 1;
            }
        }
    }
    Ok(count)
}

pub async fn maildev_mails_to(client: &reqwest::Client, email: &str) -> anyhow::Result<usize> {
    let url = format!("{}/email", service_url("TEST_MAILDEV_URL"));
    let mails: Vec<Value> = client
        .get(&url)
        .send()
        .await
        .with_context(|| format!("maildev at {url} (run scripts/services)"))?
        .json()
        .await?;
    Ok(mails
        .iter()
        .filter(|mail| {
            mail["to"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|to| to["address"].as_str() == Some(email))
        })
        .count())
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn read(response: reqwest::Response) -> anyhow::Result<Reply> {
    let status = response.status();
    let headers = response.headers().clone();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let bytes = response.bytes().await?;
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    Ok(Reply {
        status,
        content_type,
        headers,
        body,
    })
}

/// Polls `check` until it returns true: feeds are eventually consistent (the relay runs right
/// after each write, so this is quick). The 20 s bound is for a loaded machine, not a target.
pub async fn eventually<F, Fut>(what: &str, check: F) -> anyhow::Result<()>
where
    F: Fn() -> Fut,
    Fut: Future<Output = anyhow::Result<bool>>,
{
    for _ in 0..400 {
        if check().await? {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("timed out waiting until {what}")
}
