//! The product as separate functions: `cargo lambda watch` (its Lambda runtime API, invoke
//! endpoint and HTTP router from Cargo.toml's metadata), every function binary as its own
//! process, `rookery-bridge` feeding RabbitMQ's queues and the relay's schedule to them, and the
//! real RabbitMQ, Redis and SMTP sink (maildev). Each function reads its secret settings from
//! Secrets Manager (moto's server) at start-up, as in AWS: its environment names the secrets,
//! and only its own. The story goes through the HTTP router as a client would: register,
//! welcome mail, follow, post, home feed.
//!
//! `cargo lambda watch --only-lambda-apis` serves the APIs while this test starts the function
//! binaries cargo has just built for it; a plain `cargo lambda watch` would `cargo run` each one
//! again, from inside `cargo test`. cargo-lambda comes from `scripts/tools` (or CARGO_LAMBDA).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, ensure};
use rookery::adapters::redis::RedisFeeds;
use rookery::ports::FeedKey;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

/// Every function binary, with the `cargo test`-built executable of each.
const FUNCTIONS: [(&str, &str); 15] = [
    ("register", env!("CARGO_BIN_EXE_register")),
    ("login", env!("CARGO_BIN_EXE_login")),
    ("authorizer", env!("CARGO_BIN_EXE_authorizer")),
    ("profile", env!("CARGO_BIN_EXE_profile")),
    ("follow", env!("CARGO_BIN_EXE_follow")),
    ("post", env!("CARGO_BIN_EXE_post")),
    ("feed-read", env!("CARGO_BIN_EXE_feed-read")),
    ("interact", env!("CARGO_BIN_EXE_interact")),
    ("notifications", env!("CARGO_BIN_EXE_notifications")),
    ("account", env!("CARGO_BIN_EXE_account")),
    ("notify", env!("CARGO_BIN_EXE_notify")),
    ("network", env!("CARGO_BIN_EXE_network")),
    ("email", env!("CARGO_BIN_EXE_email")),
    ("fanout", env!("CARGO_BIN_EXE_fanout")),
    ("relay", env!("CARGO_BIN_EXE_relay")),
];

/// The shared crate's tests find the services the same way: one list of defaults.
use rookery::lambda::secrets::{SECRET_SETTINGS, id_variable};
use rookery::lambda::wire::secrets_of;
use rookery_test_support::app::maildev_mails_to;
use rookery_test_support::{keys, secrets, service_url};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn cargo_lambda() -> anyhow::Result<PathBuf> {
    let path = std::env::var_os("CARGO_LAMBDA").map_or_else(
        || repo().join(".tools/venv/bin/cargo-lambda"),
        PathBuf::from,
    );
    ensure!(
        path.is_file(),
        "cargo-lambda not found at {} (install it with scripts/tools, or set CARGO_LAMBDA)",
        path.display()
    );
    Ok(path)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The processes of one run, killed when the test ends; their logs stay in `logs`.
struct Processes {
    children: Vec<Child>,
    names: Vec<String>,
    logs: PathBuf,
}

impl Processes {
    fn spawn(&mut self, name: &str, mut command: Command) -> anyhow::Result<()> {
        let log = std::fs::File::create(self.logs.join(format!("{name}.log")))?;
        command
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true);
        let child = command.spawn().with_context(|| format!("start {name}"))?;
        self.children.push(child);
        self.names.push(name.to_owned());
        Ok(())
    }

    /// Resolves when any process exits: each serves until killed, so an exit is a failure.
    async fn first_exit(&mut self) -> String {
        loop {
            for (i, child) in self.children.iter_mut().enumerate() {
                if let Ok(Some(status)) = child.try_wait() {
                    return format!("{} exited early ({status})", self.names[i]);
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The last lines of every log, for a failure's message.
    fn tails(&self) -> String {
        let mut out = String::new();
        let Ok(entries) = std::fs::read_dir(&self.logs) else {
            return out;
        };
        for entry in entries.flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(8)..].join("\n  ");
            out.push_str(&format!(
                "\n--- {}\n  {tail}",
                entry.file_name().to_string_lossy()
            ));
        }
        out
    }
}

/// Settings every process of the product shares: one data folder (the SQLite file, which WAL
/// lets the processes share), one Redis, one broker namespace of throw-away queues, one SMTP.
fn product_env(data: &Path, namespace: &str) -> Vec<(&'static str, String)> {
    vec![
        ("ROOKERY_DATA_DIR", data.display().to_string()),
        ("JWT_PRIVATE_KEY", keys::PRIVATE_KEY.to_owned()),
        ("JWT_PUBLIC_KEYS", keys::public_keys().unwrap_or_default()),
        ("BCRYPT_COST", "4".to_owned()),
        ("REDIS_URL", service_url("TEST_REDIS_URL")),
        ("RABBITMQ_URL", service_url("TEST_RABBITMQ_URL")),
        ("RABBITMQ_NAMESPACE", namespace.to_owned()),
        ("RABBITMQ_QUEUE_EXPIRY_SECONDS", "60".to_owned()),
        ("SMTP_URL", service_url("TEST_SMTP_URL")),
        ("RUST_LOG", "info".to_owned()),
        // Rate limits stay on, counted in the shared Redis; the limits by address are widened,
        // as every run (and every other test) comes from 127.0.0.1.
        ("RATE_LIMIT_REGISTER", "1000/1s".to_owned()),
        ("RATE_LIMIT_LOGIN_ATTEMPTS", "1000/1s".to_owned()),
    ]
}

/// A function's environment as template.yaml gives it: the product's settings without any
/// secret value, the id of each secret the function reads (and no other), and the way to
/// Secrets Manager.
fn function_env(
    env: &[(&'static str, String)],
    function: &str,
    secrets_prefix: &str,
) -> Vec<(String, String)> {
    let own = secrets_of(function);
    let settings = env
        .iter()
        .filter(|(name, _)| !SECRET_SETTINGS.contains(name))
        .map(|(name, value)| ((*name).to_owned(), value.clone()));
    let ids = env
        .iter()
        .filter(|(name, _)| own.contains(name))
        .map(|(name, _)| (id_variable(name), format!("{secrets_prefix}{name}")));
    let aws = secrets::aws_env()
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value));
    settings.chain(ids).chain(aws).collect()
}

async fn start(processes: &mut Processes, port: u16, data: &Path, tag: &str) -> anyhow::Result<()> {
    let mut watch = Command::new(cargo_lambda()?);
    watch
        .args([
            "lambda",
            "watch",
            "--only-lambda-apis",
            "--invoke-address",
            "127.0.0.1",
        ])
        .args(["--invoke-port", &port.to_string()])
        .current_dir(repo());
    processes.spawn("cargo-lambda-watch", watch)?;
    // As in Lambda, the runtime API is up before any function starts.
    eventually("cargo lambda watch listens", || async {
        Ok(tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok())
    })
    .await?;
    let env = product_env(data, &format!("e2e-{tag}"));
    let secrets_prefix = format!("rookery-e2e-{tag}/");
    for (setting, value) in &env {
        if SECRET_SETTINGS.contains(setting) {
            secrets::create(&format!("{secrets_prefix}{setting}"), value).await?;
        }
    }
    for (name, binary) in FUNCTIONS {
        let mut function = Command::new(binary);
        function
            .envs(function_env(&env, name, &secrets_prefix))
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://127.0.0.1:{port}/.rt/{name}"),
            )
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256");
        processes.spawn(name, function)?;
    }
    let mut bridge = Command::new(env!("CARGO_BIN_EXE_rookery-bridge"));
    bridge
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("BRIDGE_INVOKE_URL", format!("http://127.0.0.1:{port}"))
        .env("BRIDGE_TEMPLATE", repo().join("template.yaml"))
        .env("BRIDGE_SCHEDULE_SECONDS", "1");
    processes.spawn("rookery-bridge", bridge)
}

/// Polls `check` until it holds, for at most 30 s in all.
async fn eventually<F, Fut>(what: &str, check: F) -> anyhow::Result<()>
where
    F: Fn() -> Fut,
    Fut: Future<Output = anyhow::Result<bool>>,
{
    let polls = async {
        loop {
            match check().await {
                Ok(true) => return,
                Ok(false) | Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), polls)
        .await
        .map_err(|_| anyhow::anyhow!("timed out waiting until {what}"))
}

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("{method} {path}"))?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await?;
        Ok((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }

    async fn login(&self, login: &str) -> anyhow::Result<String> {
        let body = json!({"login": login, "password": "correct horse"});
        let (status, reply) = self
            .send(reqwest::Method::POST, "/auth/login", None, Some(body))
            .await?;
        ensure!(status == 200, "login {login}: {status} {reply}");
        reply["access_token"]
            .as_str()
            .map(str::to_owned)
            .context("no access_token")
    }

    async fn feed_ids(&self, path: &str, token: Option<&str>) -> anyhow::Result<Vec<String>> {
        let (status, page) = self.send(reqwest::Method::GET, path, token, None).await?;
        ensure!(status == 200, "GET {path}: {status} {page}");
        Ok(page["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|post| post["id"].as_str().map(str::to_owned))
            .collect())
    }
}

async fn story(client: &Client, tag: &str, logs: &Path) -> anyhow::Result<()> {
    use reqwest::Method;
    eventually("the profile function answers /health", || async {
        Ok(client.send(Method::GET, "/health", None, None).await?.0 == 200)
    })
    .await?;
    let ann_mail = format!("ann-{tag}@example.com");
    for (name, mail) in [
        ("ann", ann_mail.as_str()),
        ("bob", &format!("bob-{tag}@example.com")),
    ] {
        let body = json!({"username": name, "email": mail, "password": "correct horse"});
        let (status, reply) = client
            .send(Method::POST, "/auth/register", None, Some(body))
            .await?;
        ensure!(status == 201, "register {name}: {status} {reply}");
    }
    // register → outbox → RabbitMQ → bridge → email function → SMTP → maildev.
    eventually("ann's welcome mail reaches the SMTP sink", || async {
        Ok(maildev_mails_to(&client.http, &ann_mail).await? == 1)
    })
    .await?;
    let (ann, bob) = (client.login("ann").await?, client.login("bob").await?);
    let (status, _) = client
        .send(Method::PUT, "/users/ann/follow", Some(&bob), None)
        .await?;
    ensure!(status == 204, "follow: {status}");
    // The post carries a trace of the caller's; the fan-out function's log must name it.
    let trace_id = uuid::Uuid::new_v4().simple().to_string();
    let body = json!({"content": format!("Hello from the functions, {tag}")});
    let answer = client
        .http
        .post(format!("{}/posts", client.base))
        .bearer_auth(&ann)
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .json(&body)
        .send()
        .await?;
    let status = answer.status();
    let post: Value = answer.json().await?;
    ensure!(status == 201, "post: {status} {post}");
    let id = post["id"]
        .as_str()
        .context("the post has no id")?
        .to_owned();
    // post → RabbitMQ → bridge → fanout function → Bob's home feed in Redis. Looked up in
    // Redis itself: a feed read falls back to the source of truth, so it would show the post
    // even if no fan-out ran.
    let (_, me) = client.send(Method::GET, "/me", Some(&bob), None).await?;
    let bob_id = me["id"].as_str().context("/me has no id")?.parse()?;
    let home = RedisFeeds::feed_key(FeedKey::home(bob_id));
    let redis = redis::Client::open(service_url("TEST_REDIS_URL"))?
        .get_multiplexed_async_connection()
        .await?;
    eventually(
        "the fanout function puts ann's post into bob's home feed",
        || {
            let (mut redis, home, id) = (redis.clone(), home.clone(), id.clone());
            async move {
                let score: Option<f64> = redis::cmd("ZSCORE")
                    .arg(&home)
                    .arg(&id)
                    .query_async(&mut redis)
                    .await?;
                Ok(score.is_some())
            }
        },
    )
    .await?;
    // post function → outbox → traceparent header → RabbitMQ → bridge → fanout function.
    eventually("the fanout function logs the post's trace", || async {
        let log = std::fs::read_to_string(logs.join("fanout.log")).unwrap_or_default();
        Ok(log
            .lines()
            .any(|line| line.contains(&trace_id) && line.contains("feed.posts")))
    })
    .await?;
    ensure!(client.feed_ids("/feed", Some(&bob)).await?.contains(&id));
    ensure!(
        client
            .feed_ids("/users/ann/posts", None)
            .await?
            .contains(&id)
    );
    let (status, me) = client.send(Method::GET, "/me", Some(&bob), None).await?;
    ensure!(
        status == 200 && me["following_count"] == 1,
        "bob's profile: {status} {me}"
    );
    Ok(())
}

#[tokio::test]
async fn the_story_runs_as_separate_functions_under_cargo_lambda_watch() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (data, logs) = (dir.path().join("data"), dir.path().join("logs"));
    std::fs::create_dir_all(&logs)?;
    let tag = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
    let port = free_port()?;
    let mut processes = Processes {
        children: Vec::new(),
        names: Vec::new(),
        logs: logs.clone(),
    };
    start(&mut processes, port, &data, &tag).await?;
    let client = Client {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?,
        base: format!("http://127.0.0.1:{port}"),
    };
    let result = tokio::select! {
        told = story(&client, &tag, &logs) => told,
        exited = processes.first_exit() => Err(anyhow::anyhow!(exited)),
    };
    result.map_err(|err| anyhow::anyhow!("{err:#}{}", processes.tails()))
}
