//! Wiring: the one place that turns the configuration into adapters behind ports, one part at
//! a time. The local server asks for every part ([`crate::server::Embedded`]); each Lambda
//! function asks only for the parts its routes or queues use ([`crate::lambda::wire`]), so it
//! neither connects to the other servers nor reports them in `/health`, and because it never
//! calls the other parts' constructors, the linker leaves their adapters (and the crates behind
//! them) out of its binary.
//!
//! Each part registers its health check when it is opened; a part asked for twice is opened
//! once (the SQL store and the Redis connection are shared by the parts over them).

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use futures::FutureExt as _;
use redis::aio::ConnectionManager;
use secrecy::{ExposeSecret as _, SecretString};
use tokio::sync::Notify;

use crate::adapters::cached_views::{CachedPosts, CachedUsers};
use crate::adapters::cypher::Neo4jGraph;
use crate::adapters::folder_mailer::FolderMailer;
use crate::adapters::memory_feed::MemoryFeeds;
use crate::adapters::memory_limiter::MemoryLimiter;
use crate::adapters::memory_slots::MemorySlots;
#[cfg(feature = "mssql")]
use crate::adapters::mssql::Mssql;
use crate::adapters::rabbitmq::{RabbitPublisher, Topology};
use crate::adapters::redis::{CachedGraph, RedisFeeds, RedisLimiter, RedisSlots, connect_manager};
use crate::adapters::smtp_mailer::SmtpMailer;
#[cfg(feature = "sqlite")]
use crate::adapters::sqlite::Sqlite;
use crate::config::{Config, GraphBackend};
use crate::http::Probe;
use crate::ports::{
    BlockStore, Consumer, FeedCache, Mailer, NotificationStore, Outbox, PostStore, ProcessedEvents,
    SessionStore, SlotCache, SocialGraph, UserStore,
};
use crate::services::{
    Context, Idempotent, KeySet, Limits, PasswordHasher, Pruner, Relay, Revocations, SigningKey,
    TokenService,
};

/// Events the relay reads from the outbox at a time.
pub const RELAY_BATCH: usize = 100;
/// Slots the local server keeps in memory without Redis: posts of a few hundred bytes, counts,
/// viewer states and names of a few dozen, so some tens of megabytes at most.
const MEMORY_SLOTS: usize = 200_000;

/// A health check for `/health`: `ping` run on `target`. The one way every part makes one.
pub fn probe<T, F, Fut>(name: &'static str, target: Arc<T>, ping: F) -> Probe
where
    T: ?Sized + Send + Sync + 'static,
    F: Fn(Arc<T>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    Probe {
        name,
        check: Arc::new(move || ping(target.clone()).boxed()),
    }
}

/// One SQL store seen through each of its ports.
#[derive(Clone)]
pub struct SqlStores {
    pub users: Arc<dyn UserStore>,
    pub posts: Arc<dyn PostStore>,
    pub outbox: Arc<dyn Outbox>,
    pub processed: Arc<dyn ProcessedEvents>,
    pub notifications: Arc<dyn NotificationStore>,
    pub sessions: Arc<dyn SessionStore>,
    pub blocks: Arc<dyn BlockStore>,
}

impl<S> From<Arc<S>> for SqlStores
where
    S: UserStore
        + PostStore
        + Outbox
        + ProcessedEvents
        + NotificationStore
        + SessionStore
        + BlockStore,
{
    fn from(store: Arc<S>) -> Self {
        Self {
            users: store.clone(),
            sessions: store.clone(),
            blocks: store.clone(),
            posts: store.clone(),
            outbox: store.clone(),
            processed: store.clone(),
            notifications: store,
        }
    }
}

/// Where the relay publishes when a broker is configured.
#[derive(Clone)]
pub struct Broker {
    pub publisher: Arc<RabbitPublisher>,
    pub url: SecretString,
    pub topology: Topology,
}

impl Broker {
    /// The relay that publishes `outbox` here. A broker's refusals are outages, and an outage
    /// delays events, never loses them: nothing is given up.
    pub fn relay(&self, outbox: Arc<dyn Outbox>) -> Relay {
        Relay {
            outbox,
            publisher: self.publisher.clone(),
            max_attempts: None,
            batch: RELAY_BATCH,
        }
    }
}

/// The parts opened so far, and their health checks.
pub struct Wiring<'a> {
    config: &'a Config,
    probes: Vec<Probe>,
    #[cfg(feature = "sqlite")]
    sqlite: Option<Arc<Sqlite>>,
    sql: Option<SqlStores>,
    graph: Option<Arc<dyn SocialGraph>>,
    redis: Option<Option<ConnectionManager>>,
    /// Whether this process makes every write (the local server): then, without Redis,
    /// counts and names may be cached in its memory.
    one_process: bool,
    slots: Option<Option<Arc<dyn SlotCache>>>,
}

impl<'a> Wiring<'a> {
    /// Prepares the data folder (SQLite and the mail folder live there); opens nothing yet.
    ///
    /// # Errors
    /// The data folder cannot be created.
    pub async fn new(config: &'a Config) -> anyhow::Result<Self> {
        install_crypto_provider();
        let data_dir = &config.data_dir;
        tokio::fs::create_dir_all(data_dir)
            .await
            .with_context(|| format!("ROOKERY_DATA_DIR: cannot create {}", data_dir.display()))?;
        Ok(Self {
            config,
            probes: Vec::new(),
            #[cfg(feature = "sqlite")]
            sqlite: None,
            sql: None,
            graph: None,
            redis: None,
            one_process: false,
            slots: None,
        })
    }

    pub fn config(&self) -> &'a Config {
        self.config
    }

    /// The health checks of the parts opened.
    pub fn into_probes(self) -> Vec<Probe> {
        self.probes
    }

    /// A context with no port wired yet, with this configuration's feed settings.
    pub fn context(&self) -> Context {
        Context {
            feed: self.config.feed,
            refresh_ttl: self.config.refresh_ttl,
            max_following: self.config.max_following,
            outbox_written: Arc::new(Notify::new()),
            ..Context::default()
        }
    }

    /// The SQLite file of the data folder, opened once for the stores and the graph.
    #[cfg(feature = "sqlite")]
    async fn sqlite(&mut self) -> anyhow::Result<Arc<Sqlite>> {
        if let Some(db) = &self.sqlite {
            return Ok(db.clone());
        }
        let db = Arc::new(Sqlite::open(&self.config.data_dir.join("rookery.db")).await?);
        self.sqlite = Some(db.clone());
        Ok(db)
    }

    #[cfg(feature = "sqlite")]
    async fn embedded_sql(&mut self) -> anyhow::Result<SqlStores> {
        let db = self.sqlite().await?;
        self.probes
            .push(probe("database", db.clone(), |db| async move {
                db.ping().await
            }));
        Ok(SqlStores::from(db))
    }

    #[cfg(not(feature = "sqlite"))]
    async fn embedded_sql(&mut self) -> anyhow::Result<SqlStores> {
        Err(without("DATABASE_URL"))
    }

    #[cfg(feature = "sqlite")]
    async fn embedded_graph(&mut self) -> anyhow::Result<Arc<dyn SocialGraph>> {
        Ok(self.sqlite().await?)
    }

    #[cfg(not(feature = "sqlite"))]
    async fn embedded_graph(&mut self) -> anyhow::Result<Arc<dyn SocialGraph>> {
        Err(without("NEO4J_URI"))
    }

    #[cfg(feature = "mssql")]
    async fn mssql(&mut self, url: &SecretString) -> anyhow::Result<SqlStores> {
        let db = Arc::new(Mssql::connect(url.expose_secret()).await?);
        self.probes
            .push(probe("database", db.clone(), |db| async move {
                db.ping().await
            }));
        Ok(SqlStores::from(db))
    }

    #[cfg(not(feature = "mssql"))]
    async fn mssql(&mut self, _url: &SecretString) -> anyhow::Result<SqlStores> {
        anyhow::bail!(
            "DATABASE_URL is set, but this build has no SQL Server adapter: build with the `mssql` feature"
        )
    }

    /// Users, posts, the outbox and processed events: SQL Server with `DATABASE_URL`, else the
    /// SQLite file of the data folder.
    ///
    /// # Errors
    /// The database cannot be reached or migrated.
    pub async fn sql(&mut self) -> anyhow::Result<SqlStores> {
        if let Some(sql) = &self.sql {
            return Ok(sql.clone());
        }
        let sql = match &self.config.database_url {
            Some(url) => self.mssql(url).await?,
            None => self.embedded_sql().await?,
        };
        self.sql = Some(sql.clone());
        Ok(sql)
    }

    /// The follow graph, the source of truth: Neo4j with `NEO4J_URI`, else SQLite.
    ///
    /// # Errors
    /// The graph cannot be reached, or its schema not created.
    pub async fn graph(&mut self) -> anyhow::Result<Arc<dyn SocialGraph>> {
        if let Some(graph) = &self.graph {
            return Ok(graph.clone());
        }
        let graph: Arc<dyn SocialGraph> = match &self.config.graph {
            GraphBackend::Sqlite => self.embedded_graph().await?,
            GraphBackend::Neo4j {
                uri,
                user,
                password,
            } => {
                let graph = Arc::new(
                    Neo4jGraph::connect(uri, user, password.expose_secret())
                        .await
                        .context("NEO4J_URI")?,
                );
                self.probes
                    .push(probe("neo4j", graph.clone(), |graph| async move {
                        graph.ping().await
                    }));
                graph
            }
        };
        self.graph = Some(graph.clone());
        Ok(graph)
    }

    /// One Redis connection manager (it multiplexes and reconnects) for feeds and caches, when
    /// `REDIS_URL` is set.
    async fn redis(&mut self) -> anyhow::Result<Option<ConnectionManager>> {
        if let Some(redis) = &self.redis {
            return Ok(redis.clone());
        }
        let redis = match &self.config.redis_url {
            Some(url) => {
                let manager = connect_manager(url.expose_secret())
                    .await
                    .context("REDIS_URL")?;
                self.probes.push(probe(
                    "redis",
                    Arc::new(manager.clone()),
                    |redis| async move {
                        let mut redis = ConnectionManager::clone(&redis);
                        redis::cmd("PING")
                            .query_async::<()>(&mut redis)
                            .await
                            .context("Redis PING")
                    },
                ));
                Some(manager)
            }
            None => None,
        };
        self.redis = Some(redis.clone());
        Ok(redis)
    }

    /// Declares that this process makes every write to its store (the local server), so that
    /// without Redis [`Wiring::cached_posts`] and [`Wiring::cached_users`] cache in memory.
    #[must_use]
    pub fn in_one_process(mut self) -> Self {
        self.one_process = true;
        self
    }

    /// Where counts, viewer state and names are cached: Redis when `REDIS_URL` is set; else this
    /// process's memory if it makes every write; else nowhere, since the instances of a Lambda
    /// function could not see each other's writes.
    async fn slots(&mut self) -> anyhow::Result<Option<Arc<dyn SlotCache>>> {
        if let Some(slots) = &self.slots {
            return Ok(slots.clone());
        }
        let slots: Option<Arc<dyn SlotCache>> = match self.redis().await? {
            Some(manager) => Some(Arc::new(RedisSlots::new(manager))),
            None if self.one_process => Some(Arc::new(MemorySlots::new(MEMORY_SLOTS))),
            None => None,
        };
        self.slots = Some(slots.clone());
        Ok(slots)
    }

    /// Posts as readers see them: the posts, their counts, viewer state and authors from the
    /// slot cache (`Wiring::slots`) where there is one.
    ///
    /// # Errors
    /// The store or Redis cannot be reached.
    pub async fn cached_posts(&mut self) -> anyhow::Result<Arc<dyn PostStore>> {
        let posts = self.sql().await?.posts;
        Ok(match self.slots().await? {
            Some(slots) => Arc::new(CachedPosts::new(posts, slots)),
            None => posts,
        })
    }

    /// Users with their summaries from the slot cache, where there is one: every function that
    /// changes a profile or erases an account must write through this, so that the cached
    /// names are forgotten.
    ///
    /// # Errors
    /// The store or Redis cannot be reached.
    pub async fn cached_users(&mut self) -> anyhow::Result<Arc<dyn UserStore>> {
        let users = self.sql().await?.users;
        Ok(match self.slots().await? {
            Some(slots) => Arc::new(CachedUsers::new(users, slots)),
            None => users,
        })
    }

    /// The graph as readers see it: follow lists cached in Redis when `REDIS_URL` is set.
    ///
    /// # Errors
    /// The graph or Redis cannot be reached.
    pub async fn cached_graph(&mut self) -> anyhow::Result<Arc<dyn SocialGraph>> {
        let graph = self.graph().await?;
        Ok(match self.redis().await? {
            Some(manager) => Arc::new(CachedGraph::new(graph, manager, self.config.feed_ttl)),
            None => graph,
        })
    }

    /// Home and user feeds: sorted sets in Redis when `REDIS_URL` is set, else in memory.
    ///
    /// # Errors
    /// Redis cannot be reached.
    pub async fn feeds(&mut self) -> anyhow::Result<Arc<dyn FeedCache>> {
        let cap = self.config.feed.cap;
        let Some(manager) = self.redis().await? else {
            let feeds = Arc::new(MemoryFeeds::new(cap));
            self.probes
                .push(probe("feed_cache", feeds.clone(), |feeds| async move {
                    feeds.ping().await
                }));
            return Ok(feeds);
        };
        Ok(Arc::new(RedisFeeds::from_manager(
            manager,
            cap,
            self.config.feed_ttl,
        )))
    }

    /// The rate limits (DESIGN 4.4), for the functions that serve a limited route: counters in
    /// Redis when `REDIS_URL` is set (shared by every instance and function), else in this
    /// process; none with `RATE_LIMITS=off`.
    ///
    /// # Errors
    /// Redis cannot be reached.
    pub async fn limits(&mut self) -> anyhow::Result<Option<Arc<Limits>>> {
        let Some(rules) = self.config.rate_limits else {
            return Ok(None);
        };
        let limiter: Arc<dyn crate::ports::RateLimiter> = match self.redis().await? {
            Some(manager) => Arc::new(RedisLimiter::new(manager)),
            None => Arc::new(MemoryLimiter::new()),
        };
        Ok(Some(Arc::new(Limits::new(limiter, rules))))
    }

    /// Welcome mails: over SMTP with `SMTP_URL`, else as files in the data folder.
    ///
    /// # Errors
    /// A malformed `SMTP_URL`, or a mail folder that cannot be created.
    pub async fn mailer(&mut self) -> anyhow::Result<Arc<dyn Mailer>> {
        let from = self.config.mail_from.clone();
        let Some(url) = &self.config.smtp_url else {
            let folder = self.config.data_dir.join("mail");
            return Ok(Arc::new(FolderMailer::new(folder, from).await?));
        };
        let smtp = Arc::new(SmtpMailer::new(url.expose_secret(), from).context("SMTP_URL")?);
        self.probes
            .push(probe("smtp", smtp.clone(), |smtp| async move {
                smtp.ping().await
            }));
        Ok(smtp)
    }

    /// RabbitMQ, when `RABBITMQ_URL` is set: the publisher the relay hands events to.
    pub fn broker(&mut self) -> Option<Broker> {
        let url = self.config.rabbitmq_url.clone()?;
        let topology = Topology::new(self.config.rabbitmq_namespace.as_deref())
            .expiring(self.config.rabbitmq_queue_expiry);
        let publisher = Arc::new(RabbitPublisher::new(url.expose_secret(), topology.clone()));
        self.probes
            .push(probe("event_bus", publisher.clone(), |bus| async move {
                crate::ports::EventPublisher::ping(bus.as_ref()).await
            }));
        Some(Broker {
            publisher,
            url,
            topology,
        })
    }

    /// bcrypt at the configured cost, on its own threads.
    pub fn passwords(&self) -> Arc<PasswordHasher> {
        Arc::new(PasswordHasher::new(self.config.bcrypt_cost))
    }

    /// Verification keys: `JWT_PUBLIC_KEYS`, and the signing key's own public key when this
    /// function holds it.
    fn key_set(&self, signer: Option<&SigningKey>) -> anyhow::Result<KeySet> {
        let listed = match &self.config.jwt_public_keys {
            Some(jwks) => KeySet::from_jwks(jwks).context("JWT_PUBLIC_KEYS")?,
            None => KeySet::default(),
        };
        Ok(match signer {
            Some(signer) => listed.with(signer.public().clone()),
            None => listed,
        })
    }

    fn signing_key(&self) -> anyhow::Result<Option<SigningKey>> {
        self.config
            .jwt_private_key
            .as_ref()
            .map(|pem| SigningKey::from_pem(pem.expose_secret()).context("JWT_PRIVATE_KEY"))
            .transpose()
    }

    /// Tokens verified with the public keys: the functions that take tokens but never issue
    /// them. A function never invents a key: every instance must verify with the same ones.
    ///
    /// # Errors
    /// Neither `JWT_PUBLIC_KEYS` nor `JWT_PRIVATE_KEY` is set.
    pub fn tokens(&self) -> anyhow::Result<Arc<TokenService>> {
        let keys = self.key_set(self.signing_key()?.as_ref())?;
        if keys.is_empty() {
            anyhow::bail!("JWT_PUBLIC_KEYS: required outside the local server");
        }
        Ok(Arc::new(TokenService::verifying(keys, self.config.jwt_ttl)))
    }

    /// Tokens signed with `JWT_PRIVATE_KEY`: the functions that issue them (login, account).
    ///
    /// # Errors
    /// `JWT_PRIVATE_KEY` is unset.
    pub fn issuing_tokens(&self) -> anyhow::Result<Arc<TokenService>> {
        let signer = self
            .signing_key()?
            .context("JWT_PRIVATE_KEY: required outside the local server")?;
        let keys = self.key_set(None)?;
        Ok(Arc::new(TokenService::signing(
            signer,
            keys,
            self.config.jwt_ttl,
        )))
    }

    /// Tokens signed with `JWT_PRIVATE_KEY`, or (the local server) with a key generated once
    /// and kept in the data folder, so tokens survive restarts without anyone making a key.
    ///
    /// # Errors
    /// The key file cannot be read or written.
    pub async fn local_tokens(&self) -> anyhow::Result<Arc<TokenService>> {
        let signer = match self.signing_key()? {
            Some(signer) => signer,
            None => local_key(&self.config.data_dir).await?,
        };
        let keys = self.key_set(None)?;
        Ok(Arc::new(TokenService::signing(
            signer,
            keys,
            self.config.jwt_ttl,
        )))
    }

    /// A context with the token checks of a function that verifies but never issues tokens:
    /// the public keys and the revoked-session list.
    ///
    /// # Errors
    /// `JWT_PUBLIC_KEYS` is unset, or the SQL store cannot be opened.
    pub async fn verifying_context(&mut self) -> anyhow::Result<Context> {
        Ok(Context {
            tokens: Some(self.tokens()?),
            revocations: Some(self.revocations().await?),
            ..self.context()
        })
    }

    /// The revoked-session list the handlers check tokens against, over the SQL store.
    ///
    /// # Errors
    /// The SQL store cannot be opened.
    pub async fn revocations(&mut self) -> anyhow::Result<Arc<Revocations>> {
        let sessions = self.sql().await?.sessions;
        Ok(Arc::new(Revocations::new(sessions, self.config.jwt_ttl)))
    }

    /// What prunes the SQL store's sent events and processed ids after `RETENTION_DAYS`, and
    /// idempotency claims after their 24 hours.
    ///
    /// # Errors
    /// The SQL store cannot be opened.
    pub async fn pruner(&mut self) -> anyhow::Result<Pruner> {
        let sql = self.sql().await?;
        Ok(Pruner {
            outbox: sql.outbox,
            processed: sql.processed,
            posts: sql.posts,
            retention: self.config.retention,
        })
    }

    /// `inner` behind the record of processed events, so a redelivered event is done once.
    ///
    /// # Errors
    /// The SQL store cannot be opened.
    pub async fn idempotent<C: Consumer>(&mut self, inner: C) -> anyhow::Result<Arc<dyn Consumer>> {
        let processed = self.sql().await?.processed;
        Ok(Arc::new(Idempotent { inner, processed }))
    }
}

/// Why a build without the embedded store cannot start without `variable`.
#[cfg(not(feature = "sqlite"))]
fn without(variable: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "{variable} is unset, and this build has no embedded store to fall back on (built without the `sqlite` feature, as the Lambda functions are): set {variable}"
    )
}

/// Chooses rustls' crypto provider (ring) once per process, so that no TLS client depends on
/// which providers the features of the tree happen to switch on: with two, rustls panics in
/// `ClientConfig::builder()` (neo4rs over `neo4j+s://`) unless one was installed. Installing
/// again is refused harmlessly.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The local server's signing key: `jwt_ed25519.pem` in the data folder, made on first start.
async fn local_key(data_dir: &Path) -> anyhow::Result<SigningKey> {
    let path = data_dir.join("jwt_ed25519.pem");
    match tokio::fs::read_to_string(&path).await {
        Ok(pem) => {
            return SigningKey::from_pem(&pem).with_context(|| {
                format!(
                    "{} is not an Ed25519 key; delete it to make a new one",
                    path.display()
                )
            });
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(err).with_context(|| format!("read {}", path.display())),
    }
    let key = SigningKey::generate();
    write_private(&path, key.to_pem()?.expose_secret()).await?;
    tracing::info!(path = %path.display(), kid = key.public().kid(), "generated a local token key");
    Ok(key)
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
