//! The all-in-one local server: every function's handlers in one process, on the embedded
//! default (SQLite, in-process bus, in-memory feeds, mail to a folder).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use secrecy::ExposeSecret as _;
use tokio::net::TcpListener;

use crate::adapters::in_process_bus::InProcessBus;
use crate::adapters::rabbitmq::{ConsumerOptions, run_consumer};
use crate::config::Config;
use crate::domain::Queue;
use crate::http::{self, AppState, Probe};
use crate::ports::{Consumer, EventPublisher, Outbox};
use crate::services::{
    Context, EmailConsumer, FanoutConsumer, NetworkConsumer, NotifyConsumer, Pruner, Relay,
};
use crate::wiring::{Broker, RELAY_BATCH, Wiring, probe};

/// How often the relay looks for events it was not woken for (retries, other processes).
const RELAY_POLL: Duration = Duration::from_secs(1);
/// How often sent events and processed ids past retention are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3_600);
/// Attempts before the in-process bus gives an event up (its consumers failed it each time).
const RELAY_MAX_ATTEMPTS: u32 = 8;

/// The wiring of the whole product in one process: the context for handlers, this process's
/// consumers, and where events go.
#[derive(Clone)]
pub struct Embedded {
    pub ctx: Context,
    /// This process's consumers behind an in-process bus: the bus itself in embedded mode, and a
    /// way to hand a consumer an event directly in every mode.
    pub dispatcher: Arc<InProcessBus>,
    /// Where the outbox relay publishes: the dispatcher, or RabbitMQ.
    pub publisher: Arc<dyn EventPublisher>,
    outbox: Arc<dyn Outbox>,
    consumers: Vec<Arc<dyn Consumer>>,
    broker: Option<Broker>,
    probes: Vec<Probe>,
    pruner: Pruner,
}

impl Embedded {
    /// Opens every part the configuration names (see [`Wiring`]).
    ///
    /// # Errors
    /// A configured server cannot be reached, or the data folder cannot be written.
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        let mut wiring = Wiring::new(config).await?.in_one_process();
        let sql = wiring.sql().await?;
        let posts = wiring.cached_posts().await?;
        let users = wiring.cached_users().await?;
        let graph = wiring.cached_graph().await?;
        let feeds = wiring.feeds().await?;
        let ctx = Context {
            users: Some(users),
            posts: Some(posts.clone()),
            graph: Some(graph.clone()),
            feeds: Some(feeds.clone()),
            outbox: Some(sql.outbox.clone()),
            notifications: Some(sql.notifications.clone()),
            sessions: Some(sql.sessions.clone()),
            blocks: Some(sql.blocks.clone()),
            passwords: Some(wiring.passwords()),
            tokens: Some(wiring.local_tokens().await?),
            revocations: Some(wiring.revocations().await?),
            limits: wiring.limits().await?,
            ..wiring.context()
        };
        let fanout = |queue| FanoutConsumer {
            queue,
            posts: sql.posts.clone(),
            graph: graph.clone(),
            feeds: feeds.clone(),
            settings: config.feed,
        };
        let mailer = wiring.mailer().await?;
        let network = NetworkConsumer {
            graph: wiring.graph().await?,
        };
        let consumers = vec![
            wiring.idempotent(EmailConsumer { mailer }).await?,
            wiring.idempotent(network).await?,
            wiring.idempotent(fanout(Queue::FeedPosts)).await?,
            wiring.idempotent(fanout(Queue::FeedFollows)).await?,
            wiring
                .idempotent(NotifyConsumer {
                    notifications: sql.notifications.clone(),
                })
                .await?,
        ];
        let pruner = wiring.pruner().await?;
        let dispatcher = Arc::new(InProcessBus::new(consumers.clone()));
        let broker = wiring.broker();
        let mut probes = wiring.into_probes();
        let publisher: Arc<dyn EventPublisher> = match &broker {
            Some(broker) => broker.publisher.clone(),
            None => {
                probes.push(probe("event_bus", dispatcher.clone(), |bus| async move {
                    bus.ping().await
                }));
                dispatcher.clone()
            }
        };
        Ok(Self {
            ctx,
            outbox: sql.outbox,
            dispatcher,
            publisher,
            consumers,
            broker,
            probes,
            pruner,
        })
    }

    pub fn relay(&self) -> Relay {
        match &self.broker {
            Some(broker) => broker.relay(self.outbox.clone()),
            None => Relay {
                outbox: self.outbox.clone(),
                publisher: self.publisher.clone(),
                max_attempts: Some(RELAY_MAX_ATTEMPTS),
                batch: RELAY_BATCH,
            },
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
        let Some(broker) = &self.broker else {
            return std::future::pending().await;
        };
        let runs = self.consumers.iter().map(|consumer| {
            run_consumer(
                broker.url.expose_secret().to_owned(),
                broker.topology.clone(),
                consumer.clone(),
                ConsumerOptions::default(),
            )
        });
        futures::future::join_all(runs).await;
    }
}

/// Applies every configured store's migrations (SQLite, SQL Server) and graph schema
/// (constraints and indexes) and, with `RABBITMQ_URL`, declares the broker's exchanges and
/// queues, then returns: `rookery migrate`. Start-up and the first publish do the same; a
/// deployment runs it first, because the MQ event sources need their queues to exist.
///
/// # Errors
/// A store or the broker cannot be reached, or refuses the change.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    let mut wiring = Wiring::new(config).await?;
    wiring.sql().await?;
    wiring.graph().await?;
    if let Some(broker) = wiring.broker() {
        broker
            .publisher
            .declare_topology()
            .await
            .context("RABBITMQ_URL: declare the exchanges and queues")?;
    }
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
            probes: Arc::new(self.embedded.probes.clone()),
            ctx: self.embedded.ctx.clone(),
        };
        let consumers = self.embedded.run_queue_consumers();
        let relay = self
            .embedded
            .relay()
            .run(self.embedded.ctx.outbox_written.clone(), RELAY_POLL);
        let pruning = self.embedded.pruner.clone().run(PRUNE_EVERY);
        // The client's address is the TCP peer's (DESIGN 4.4: never a header it sets).
        let app =
            http::router(state).layer(axum::middleware::map_request(http::limit::from_tcp_peer));
        let server = axum::serve(
            self.listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown);
        // Consumers and relay run until the server stops; their loops never end on their own.
        tokio::select! {
            served = server => served.context("HTTP server")?,
            () = relay => {}
            () = consumers => {}
            () = pruning => {}
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
