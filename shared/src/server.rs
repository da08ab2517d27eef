//! The all-in-one local server: every function's handlers in one process, on the embedded
//! default (SQLite, in-process bus, in-memory feeds, mail to a folder).

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use futures::FutureExt;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::adapters::folder_mailer::FolderMailer;
use crate::adapters::in_process_bus::InProcessBus;
use crate::adapters::memory_feed::MemoryFeeds;
use crate::adapters::sqlite::Sqlite;
use crate::config::Config;
use crate::domain::Queue;
use crate::http::{self, AppState, Probe};
use crate::ports::{Consumer, EventPublisher, FeedCache, ProcessedEvents};
use crate::services::{
    Context, EmailConsumer, FanoutConsumer, Idempotent, NetworkConsumer, PasswordHasher, Relay,
    TokenService,
};

/// How often the relay looks for events it was not woken for (retries, other processes).
const RELAY_POLL: Duration = Duration::from_secs(1);
const RELAY_MAX_ATTEMPTS: u32 = 8;

/// The embedded wiring: the context for handlers, and the bus its events go to.
#[derive(Clone)]
pub struct Embedded {
    pub ctx: Context,
    pub bus: Arc<InProcessBus>,
    pub store: Sqlite,
}

impl Embedded {
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        let data_dir = &config.data_dir;
        tokio::fs::create_dir_all(data_dir)
            .await
            .with_context(|| format!("ROOKERY_DATA_DIR: cannot create {}", data_dir.display()))?;
        let store = Sqlite::open(&data_dir.join("rookery.db")).await?;
        let secret = match &config.jwt_secret {
            Some(secret) => secret.clone(),
            None => local_secret(data_dir).await?,
        };
        let feeds: Arc<dyn FeedCache> = Arc::new(MemoryFeeds::new(config.feed.cap));
        let mailer =
            Arc::new(FolderMailer::new(data_dir.join("mail"), config.mail_from.clone()).await?);
        let shared = Arc::new(store.clone());
        let ctx = Context {
            users: shared.clone(),
            posts: shared.clone(),
            graph: shared.clone(),
            feeds: feeds.clone(),
            outbox: shared.clone(),
            passwords: Arc::new(PasswordHasher::new(config.bcrypt_cost)),
            tokens: Arc::new(TokenService::new(
                secret.expose_secret().as_bytes(),
                config.jwt_ttl,
            )),
            feed: config.feed,
            outbox_written: Arc::new(Notify::new()),
        };
        let processed: Arc<dyn ProcessedEvents> = shared.clone();
        let fanout = |queue| FanoutConsumer {
            queue,
            posts: shared.clone(),
            graph: shared.clone(),
            feeds: feeds.clone(),
            settings: config.feed,
        };
        let consumers: Vec<Arc<dyn Consumer>> = vec![
            idempotent(EmailConsumer { mailer }, &processed),
            idempotent(
                NetworkConsumer {
                    graph: shared.clone(),
                },
                &processed,
            ),
            idempotent(fanout(Queue::FeedPosts), &processed),
            idempotent(fanout(Queue::FeedFollows), &processed),
        ];
        Ok(Self {
            ctx,
            bus: Arc::new(InProcessBus::new(consumers)),
            store,
        })
    }

    pub fn relay(&self) -> Relay {
        Relay {
            outbox: self.ctx.outbox.clone(),
            publisher: self.bus.clone(),
            max_attempts: RELAY_MAX_ATTEMPTS,
            batch: 100,
        }
    }

    fn probes(&self) -> Vec<Probe> {
        let store = self.store.clone();
        let feeds = self.ctx.feeds.clone();
        let bus = self.bus.clone();
        vec![
            Probe {
                name: "database",
                check: Arc::new(move || {
                    let store = store.clone();
                    async move { store.ping().await }.boxed()
                }),
            },
            Probe {
                name: "feed_cache",
                check: Arc::new(move || {
                    let feeds = feeds.clone();
                    async move { feeds.ping().await }.boxed()
                }),
            },
            Probe {
                name: "event_bus",
                check: Arc::new(move || {
                    let bus = bus.clone();
                    async move { bus.ping().await }.boxed()
                }),
            },
        ]
    }
}

fn idempotent<C: Consumer>(inner: C, processed: &Arc<dyn ProcessedEvents>) -> Arc<dyn Consumer> {
    Arc::new(Idempotent {
        inner,
        processed: processed.clone(),
    })
}

/// In local mode the token secret is generated once per data folder and kept there, so tokens
/// survive restarts without anyone having to invent a secret.
async fn local_secret(data_dir: &Path) -> anyhow::Result<SecretString> {
    let path = data_dir.join("jwt_secret");
    match tokio::fs::read_to_string(&path).await {
        Ok(secret) if secret.trim().len() >= crate::config::MIN_SECRET_BYTES => {
            return Ok(SecretString::from(secret.trim().to_owned()));
        }
        Ok(_) => anyhow::bail!(
            "{} is too short; delete it to generate a new one",
            path.display()
        ),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(err).with_context(|| format!("read {}", path.display())),
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    write_private(&path, &secret).await?;
    tracing::info!(path = %path.display(), "generated a local JWT secret");
    Ok(SecretString::from(secret))
}

async fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options
        .open(path)
        .await
        .with_context(|| format!("create {}", path.display()))?;
    tokio::io::AsyncWriteExt::write_all(&mut file, contents.as_bytes()).await?;
    Ok(())
}

/// The local server, bound and ready to run.
pub struct Server {
    listener: TcpListener,
    embedded: Embedded,
}

impl Server {
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        let embedded = Embedded::build(config).await?;
        let listener = TcpListener::bind(config.addr)
            .await
            .with_context(|| format!("ROOKERY_ADDR: cannot listen on {}", config.addr))?;
        Ok(Self { listener, embedded })
    }

    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    pub fn embedded(&self) -> &Embedded {
        &self.embedded
    }

    /// Serves until `shutdown` completes, relaying events meanwhile.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let state = AppState {
            probes: Arc::new(self.embedded.probes()),
            ctx: self.embedded.ctx.clone(),
        };
        let relay = self
            .embedded
            .relay()
            .run(self.embedded.ctx.outbox_written.clone(), RELAY_POLL);
        let server =
            axum::serve(self.listener, http::router(state)).with_graceful_shutdown(shutdown);
        tokio::select! {
            served = server => served.context("HTTP server")?,
            () = relay => {}
        }
        Ok(())
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
