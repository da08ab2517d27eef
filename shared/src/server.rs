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

use crate::adapters::cypher::{CypherExecutor, CypherGraph, Neo4jGraph};
use crate::adapters::folder_mailer::FolderMailer;
use crate::adapters::in_process_bus::InProcessBus;
use crate::adapters::memory_feed::MemoryFeeds;
use crate::adapters::mssql::Mssql;
use crate::adapters::rabbitmq::{ConsumerOptions, RabbitPublisher, Topology, run_consumer};
use crate::adapters::redis_feed::{RedisFeeds, connect_manager};
use crate::adapters::redis_graph::CachedGraph;
use crate::adapters::redis_posts::CachedPosts;
use crate::adapters::smtp_mailer::SmtpMailer;
use crate::adapters::sqlite::Sqlite;
use crate::config::{Config, GraphBackend};
use crate::domain::Queue;
use crate::http::{self, AppState, Probe};
use crate::ports::{
    Consumer, EventPublisher, FeedCache, Mailer, Outbox, PostStore, ProcessedEvents, SocialGraph,
    UserStore,
};
use crate::services::{
    Context, EmailConsumer, FanoutConsumer, Idempotent, NetworkConsumer, PasswordHasher, Relay,
    TokenService,
};

/// How often the relay looks for events it was not woken for (retries, other processes).
const RELAY_POLL: Duration = Duration::from_secs(1);
/// Attempts before the in-process bus gives an event up (its consumers failed it each time).
const RELAY_MAX_ATTEMPTS: u32 = 8;
/// Posts are cached for hydration for a day: long enough for the hot set, short enough to
/// keep Redis' memory for feeds.
const POST_CACHE_TTL: Duration = Duration::from_secs(86_400);

/// The wiring: the context for handlers, this process's consumers, and where events go.
#[derive(Clone)]
pub struct Embedded {
    pub ctx: Context,
    /// This process's consumers behind an in-process bus: the bus itself in embedded mode, and a
    /// way to hand a consumer an event directly in every mode.
    pub dispatcher: Arc<InProcessBus>,
    /// Where the outbox relay publishes: the dispatcher, or RabbitMQ.
    pub publisher: Arc<dyn EventPublisher>,
    consumers: Vec<Arc<dyn Consumer>>,
    rabbit: Option<(SecretString, Topology)>,
    probes: Vec<Probe>,
}

/// Wraps a health check's future in the shape `/health` wants.
fn probe<F, Fut>(name: &'static str, check: F) -> Probe
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    Probe {
        name,
        check: Arc::new(move || check().boxed()),
    }
}

impl Embedded {
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        install_crypto_provider();
        let data_dir = &config.data_dir;
        tokio::fs::create_dir_all(data_dir)
            .await
            .with_context(|| format!("ROOKERY_DATA_DIR: cannot create {}", data_dir.display()))?;
        let secret = match &config.jwt_secret {
            Some(secret) => secret.clone(),
            None => local_secret(data_dir).await?,
        };
        let mut probes = Vec::new();
        let truth = Sources::open(config, &mut probes).await?;
        let (feeds, posts, graph) = caches(config, &truth, &mut probes).await?;
        let mailer = mailer(config, &mut probes).await?;
        let ctx = Context {
            users: truth.users.clone(),
            posts: posts.clone(),
            graph: graph.clone(),
            feeds: feeds.clone(),
            outbox: truth.outbox.clone(),
            passwords: Arc::new(PasswordHasher::new(config.bcrypt_cost)),
            tokens: Arc::new(TokenService::new(
                secret.expose_secret().as_bytes(),
                config.jwt_ttl,
            )),
            feed: config.feed,
            outbox_written: Arc::new(Notify::new()),
        };
        let processed = truth.processed.clone();
        let fanout = |queue| FanoutConsumer {
            queue,
            posts: posts.clone(),
            graph: graph.clone(),
            feeds: feeds.clone(),
            settings: config.feed,
        };
        let consumers: Vec<Arc<dyn Consumer>> = vec![
            idempotent(EmailConsumer { mailer }, &processed),
            idempotent(
                NetworkConsumer {
                    graph: truth.graph.clone(),
                },
                &processed,
            ),
            idempotent(fanout(Queue::FeedPosts), &processed),
            idempotent(fanout(Queue::FeedFollows), &processed),
        ];
        let dispatcher = Arc::new(InProcessBus::new(consumers.clone()));
        let (publisher, rabbit): (Arc<dyn EventPublisher>, _) = match &config.rabbitmq_url {
            Some(url) => {
                let topology = Topology::new(config.rabbitmq_namespace.as_deref())
                    .expiring(config.rabbitmq_queue_expiry);
                let publisher =
                    Arc::new(RabbitPublisher::new(url.expose_secret(), topology.clone()));
                (publisher, Some((url.clone(), topology)))
            }
            None => (dispatcher.clone(), None),
        };
        let bus = publisher.clone();
        probes.push(probe("event_bus", move || {
            let bus = bus.clone();
            async move { bus.ping().await }
        }));
        Ok(Self {
            ctx,
            dispatcher,
            publisher,
            consumers,
            rabbit,
            probes,
        })
    }

    pub fn relay(&self) -> Relay {
        Relay {
            outbox: self.ctx.outbox.clone(),
            publisher: self.publisher.clone(),
            // A broker's refusals are outages, and an outage delays events, never loses them.
            max_attempts: self.rabbit.is_none().then_some(RELAY_MAX_ATTEMPTS),
            batch: 100,
        }
    }

    /// This process's consumers, each behind its idempotency check.
    pub fn consumers(&self) -> &[Arc<dyn Consumer>] {
        &self.consumers
    }

    /// The health checks of the configured dependencies.
    pub fn probes(&self) -> &[Probe] {
        &self.probes
    }

    /// Runs this process's consumers on their RabbitMQ queues, for as long as the process runs.
    /// Without RabbitMQ the relay hands events to them directly, and this only waits.
    pub async fn run_queue_consumers(&self) {
        let Some((url, topology)) = &self.rabbit else {
            return std::future::pending().await;
        };
        let runs = self.consumers.iter().map(|consumer| {
            run_consumer(
                url.expose_secret().to_owned(),
                topology.clone(),
                consumer.clone(),
                ConsumerOptions::default(),
            )
        });
        futures::future::join_all(runs).await;
    }
}

/// Chooses rustls' crypto provider once per process. Two are linked (ring, and aws-lc-rs through
/// tiberius), and rustls then panics in `ClientConfig::builder()` (neo4rs over `neo4j+s://`)
/// unless one was installed. Installing again is refused harmlessly.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Applies every configured store's migrations (SQLite, SQL Server) and graph schema
/// (constraints and indexes), then returns: `rookery migrate`. Start-up does the same.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    install_crypto_provider();
    tokio::fs::create_dir_all(&config.data_dir)
        .await
        .with_context(|| {
            format!(
                "ROOKERY_DATA_DIR: cannot create {}",
                config.data_dir.display()
            )
        })?;
    Sources::open(config, &mut Vec::new()).await.map(|_| ())
}

/// The sources of truth (DESIGN section 6): users, posts, outbox and processed events in SQL
/// Server (`DATABASE_URL`) or SQLite; the follow graph in Neo4j or SQLite.
struct Sources {
    users: Arc<dyn UserStore>,
    posts: Arc<dyn PostStore>,
    outbox: Arc<dyn Outbox>,
    processed: Arc<dyn ProcessedEvents>,
    graph: Arc<dyn SocialGraph>,
}

impl Sources {
    async fn open(config: &Config, probes: &mut Vec<Probe>) -> anyhow::Result<Self> {
        // SQLite holds whatever no other store was configured for; it is opened only then.
        let needs_sqlite =
            config.database_url.is_none() || matches!(config.graph, GraphBackend::Sqlite);
        let sqlite = if needs_sqlite {
            Some(Arc::new(
                Sqlite::open(&config.data_dir.join("rookery.db")).await?,
            ))
        } else {
            None
        };
        let sql = match (&config.database_url, &sqlite) {
            (Some(url), _) => {
                let db = Arc::new(Mssql::connect(url.expose_secret()).await?);
                let probed = db.clone();
                probes.push(probe("database", move || {
                    let db = probed.clone();
                    async move { db.ping().await }
                }));
                SqlStores::from(db)
            }
            (None, Some(db)) => {
                let probed = db.clone();
                probes.push(probe("database", move || {
                    let db = probed.clone();
                    async move { db.ping().await }
                }));
                SqlStores::from(db.clone())
            }
            (None, None) => anyhow::bail!("no SQL store configured"),
        };
        let graph = graph(config, sqlite, probes).await?;
        Ok(Self {
            users: sql.users,
            posts: sql.posts,
            outbox: sql.outbox,
            processed: sql.processed,
            graph,
        })
    }
}

/// One SQL store seen through each of its ports.
struct SqlStores {
    users: Arc<dyn UserStore>,
    posts: Arc<dyn PostStore>,
    outbox: Arc<dyn Outbox>,
    processed: Arc<dyn ProcessedEvents>,
}

impl<S: UserStore + PostStore + Outbox + ProcessedEvents> From<Arc<S>> for SqlStores {
    fn from(store: Arc<S>) -> Self {
        Self {
            users: store.clone(),
            posts: store.clone(),
            outbox: store.clone(),
            processed: store,
        }
    }
}

async fn graph(
    config: &Config,
    sqlite: Option<Arc<Sqlite>>,
    probes: &mut Vec<Probe>,
) -> anyhow::Result<Arc<dyn SocialGraph>> {
    match &config.graph {
        GraphBackend::Sqlite => sqlite
            .map(|db| db as Arc<dyn SocialGraph>)
            .context("the SQLite graph needs the SQLite store"),
        GraphBackend::Neo4j {
            uri,
            user,
            password,
        } => {
            let graph = Neo4jGraph::connect(uri, user, password.expose_secret())
                .await
                .context("NEO4J_URI")?;
            Ok(probed_graph(graph, "neo4j", probes))
        }
    }
}

fn probed_graph<E: CypherExecutor>(
    graph: CypherGraph<E>,
    name: &'static str,
    probes: &mut Vec<Probe>,
) -> Arc<dyn SocialGraph> {
    let graph = Arc::new(graph);
    let probed = graph.clone();
    probes.push(probe(name, move || {
        let graph = probed.clone();
        async move { graph.ping().await }
    }));
    graph
}

/// What readers use: with `REDIS_URL`, Redis feeds and Redis caches of posts and follow lists
/// in front of the sources of truth; otherwise in-memory feeds straight over them.
async fn caches(
    config: &Config,
    truth: &Sources,
    probes: &mut Vec<Probe>,
) -> anyhow::Result<(Arc<dyn FeedCache>, Arc<dyn PostStore>, Arc<dyn SocialGraph>)> {
    let Some(url) = &config.redis_url else {
        let feeds: Arc<dyn FeedCache> = Arc::new(MemoryFeeds::new(config.feed.cap));
        let probed = feeds.clone();
        probes.push(probe("feed_cache", move || {
            let feeds = probed.clone();
            async move { feeds.ping().await }
        }));
        return Ok((feeds, truth.posts.clone(), truth.graph.clone()));
    };
    // One connection manager (it multiplexes and reconnects) for feeds and the post cache.
    let manager = connect_manager(url.expose_secret())
        .await
        .context("REDIS_URL")?;
    let posts = CachedPosts::new(truth.posts.clone(), manager.clone(), POST_CACHE_TTL);
    let graph = CachedGraph::new(truth.graph.clone(), manager.clone(), config.feed_ttl);
    let feeds: Arc<dyn FeedCache> = Arc::new(RedisFeeds::from_manager(
        manager,
        config.feed.cap,
        config.feed_ttl,
    ));
    let probed = feeds.clone();
    probes.push(probe("redis", move || {
        let feeds = probed.clone();
        async move { feeds.ping().await }
    }));
    Ok((feeds, Arc::new(posts), Arc::new(graph)))
}

async fn mailer(config: &Config, probes: &mut Vec<Probe>) -> anyhow::Result<Arc<dyn Mailer>> {
    let Some(url) = &config.smtp_url else {
        let folder = config.data_dir.join("mail");
        return Ok(Arc::new(
            FolderMailer::new(folder, config.mail_from.clone()).await?,
        ));
    };
    let smtp = Arc::new(
        SmtpMailer::new(url.expose_secret(), config.mail_from.clone()).context("SMTP_URL")?,
    );
    let probed = smtp.clone();
    probes.push(probe("smtp", move || {
        let smtp = probed.clone();
        async move { smtp.ping().await }
    }));
    Ok(smtp)
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
        install_crypto_provider();
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
            probes: Arc::new(self.embedded.probes.clone()),
            ctx: self.embedded.ctx.clone(),
        };
        let consumers = self.embedded.run_queue_consumers();
        let relay = self
            .embedded
            .relay()
            .run(self.embedded.ctx.outbox_written.clone(), RELAY_POLL);
        let server =
            axum::serve(self.listener, http::router(state)).with_graceful_shutdown(shutdown);
        // Consumers and relay run until the server stops; their loops never end on their own.
        tokio::select! {
            served = server => served.context("HTTP server")?,
            () = relay => {}
            () = consumers => {}
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
