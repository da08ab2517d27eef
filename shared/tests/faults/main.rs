//! Faults on the real services: a broker outage, a flushed cache, a mail server that is down,
//! a redelivered event and a malformed message. These stop and start shared services, so they
//! live in their own test binary (cargo runs binaries one after another) and run one at a time.

use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use lapin::BasicProperties;
use lapin::options::{BasicPublishOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use rookery::adapters::rabbitmq::{Topology, connect};
use rookery::domain::{Event, EventPayload, PostId, Queue, UserId};
use rookery::ports::FeedKey;
use rookery_test_support::{Backend, TestApp, eventually, host_port, service_url};
use tokio::sync::Mutex;

/// One fault at a time: they share the broker, the cache and the mail sink.
static SERIAL: Mutex<()> = Mutex::const_new(());

/// Takes this binary's turn, once the shared broker answers again. The API suites before this
/// binary leave a few hundred quorum queues to expire about a minute after their apps stop;
/// while the broker deletes them it was seen to take more than the app's 10-second connect
/// deadline, which these tests must not mistake for the fault they cause.
async fn one_at_a_time() -> anyhow::Result<tokio::sync::MutexGuard<'static, ()>> {
    let turn = SERIAL.lock().await;
    let url = service_url("TEST_RABBITMQ_URL");
    let mut last = None;
    for _ in 0..9 {
        match broker_answers(&url).await {
            Ok(()) => return Ok(turn),
            Err(err) => last = Some(err),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Err(last
        .unwrap_or_else(|| anyhow::anyhow!("no attempt"))
        .context("the broker stayed busy"))
}

/// Connects and declares (then drops) a queue of its own: the broker does work, not just TCP.
async fn broker_answers(url: &str) -> anyhow::Result<()> {
    let connection = connect(url, "rookery-faults-settle").await?;
    let channel = connection.create_channel().await?;
    let options = QueueDeclareOptions {
        exclusive: true,
        auto_delete: true,
        ..QueueDeclareOptions::default()
    };
    let declared = channel.queue_declare("".into(), options, FieldTable::default());
    tokio::time::timeout(Duration::from_secs(10), declared)
        .await
        .context("declare a probe queue: no answer")??;
    connection.close(0, "settled".into()).await?;
    Ok(())
}

/// A TCP proxy in front of the broker that a test can cut and restore. Cut, it drops every
/// open connection and refuses new ones: what the app sees when the broker goes down. Stopping
/// the shared broker itself would disturb everything else on the machine (and `rabbitmqctl
/// stop_app` was seen to hang with many quorum queues).
struct BrokerLink {
    addr: std::net::SocketAddr,
    up: tokio::sync::watch::Sender<bool>,
}

impl BrokerLink {
    async fn start(upstream: &str) -> anyhow::Result<Self> {
        let upstream = upstream.to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (up, state) = tokio::sync::watch::channel(true);
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !*state.borrow() {
                    continue; // dropped: the connection is refused
                }
                let mut state = state.clone();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = state.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Ok(Self { addr, up })
    }

    fn set(&self, up: bool) {
        self.up.send_replace(up);
    }
}

async fn user_id(app: &TestApp, token: &str) -> anyhow::Result<UserId> {
    Ok(app.get("/me", Some(token)).await?.str("id")?.parse()?)
}

async fn cached_home(app: &TestApp, user: UserId) -> anyhow::Result<Vec<PostId>> {
    let entries = app
        .embedded
        .ctx
        .feeds()?
        .page(FeedKey::home(user), None, 100)
        .await?;
    Ok(entries.into_iter().map(|entry| entry.post).collect())
}

#[tokio::test]
async fn rabbitmq_outage_delays_events_and_loses_none() -> anyhow::Result<()> {
    let _one = one_at_a_time().await?;
    let broker = service_url("TEST_RABBITMQ_URL");
    let link = BrokerLink::start(host_port(&broker)).await?;
    let url = format!("amqp://guest:guest@{}/%2f", link.addr);
    let app = TestApp::spawn_on(Backend::RealServices, &[("RABBITMQ_URL", &url)]).await?;
    let ann = app.user("ann").await?;
    let bob = app.user("bob").await?;
    let bob_id = user_id(&app, &bob).await?;

    // The follow too is made during the outage: made before, its event could reach the
    // backfill while ann posts below, which would rightly bring her posts in.
    link.set(false);
    app.follow(&bob, "ann").await?.ok(204)?;
    assert!(app.feed_ids("/feed", Some(&bob)).await?.is_empty()); // loads bob's feed
    let mut posts = Vec::new();
    for n in 0..5 {
        // Writes succeed while the broker is away: their events wait in the outbox.
        posts.push(app.post(&ann, &format!("during the outage {n}")).await?);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    ensure!(
        cached_home(&app, bob_id).await?.is_empty(),
        "events went through a cut link?"
    );
    link.set(true);

    let mut want: Vec<PostId> = posts.iter().map(|p| p.parse()).collect::<Result<_, _>>()?;
    want.reverse();
    for _ in 0..120 {
        if cached_home(&app, bob_id).await? == want {
            let feed = app.feed_ids("/feed", Some(&bob)).await?;
            let mut shown = posts.clone();
            shown.reverse();
            ensure!(feed == shown, "feed after the outage: {feed:?}");
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    bail!("the posts written during the outage never reached bob's feed")
}

#[tokio::test]
async fn a_flushed_redis_gives_a_complete_feed_on_the_next_read() -> anyhow::Result<()> {
    let _one = one_at_a_time().await?;
    // A database of its own, so the flush touches nothing else.
    let redis = format!("{}/15", service_url("TEST_REDIS_URL").trim_end_matches('/'));
    let app = TestApp::spawn_on(Backend::RealServices, &[("REDIS_URL", &redis)]).await?;
    let ann = app.user("ann").await?;
    let bob = app.user("bob").await?;
    app.follow(&bob, "ann").await?.ok(204)?;
    let mut posts = Vec::new();
    for n in 0..30 {
        posts.push(app.post(&ann, &format!("post {n}")).await?);
    }
    posts.reverse();
    eventually("all posts are in bob's feed", || async {
        Ok(app.feed_ids("/feed", Some(&bob)).await? == posts)
    })
    .await?;

    let client = redis::Client::open(redis.as_str())?;
    let mut connection = client.get_multiplexed_async_connection().await?;
    let _: () = redis::cmd("FLUSHDB").query_async(&mut connection).await?;

    let bob_id = user_id(&app, &bob).await?;
    ensure!(
        !app.embedded
            .ctx
            .feeds()?
            .is_ready(FeedKey::home(bob_id))
            .await?
    );
    ensure!(
        app.feed_ids("/feed", Some(&bob)).await? == posts,
        "feed after the flush"
    );
    ensure!(
        app.embedded
            .ctx
            .feeds()?
            .is_ready(FeedKey::home(bob_id))
            .await?,
        "not rebuilt"
    );
    ensure!(
        app.feed_ids("/users/ann/posts", None).await? == posts,
        "user feed after the flush"
    );
    let page = app.get("/feed?limit=7", Some(&bob)).await?;
    ensure!(
        page.ok(200)?["items"][0]["content"] == "post 29",
        "hydrated after the flush"
    );
    Ok(())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn maildev_bin() -> std::path::PathBuf {
    std::env::var_os("TEST_MAILDEV_BIN").map_or_else(
        || {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../.tools/maildev/node_modules/.bin/maildev")
        },
        Into::into,
    )
}

#[tokio::test]
async fn mail_goes_out_when_the_smtp_server_comes_back() -> anyhow::Result<()> {
    let _one = one_at_a_time().await?;
    let (smtp, web) = (free_port()?, free_port()?);
    let url = format!("smtp://127.0.0.1:{smtp}");
    let app = TestApp::spawn_on(Backend::RealServices, &[("SMTP_URL", &url)]).await?;

    // Nothing listens on the SMTP port: the registration still succeeds.
    app.register("ann").await?.ok(201)?;
    // /health says which dependency is down, as `error` and nothing more (the cause is
    // logged: it may name hosts and ports).
    let health = app.get("/health", None).await?;
    ensure!(
        health.status.as_u16() == 503,
        "health: {} {}",
        health.status,
        health.body
    );
    ensure!(health.body["status"] == "degraded", "{}", health.body);
    ensure!(health.body["checks"]["smtp"] == "error", "{}", health.body);
    let values = health.body["checks"].as_object().into_iter().flatten();
    for (name, value) in values {
        ensure!(value == "ok" || value == "error", "check {name}: {value}");
    }
    tokio::time::sleep(Duration::from_secs(1)).await;

    let mut sink = tokio::process::Command::new(maildev_bin())
        .args([
            "--ip",
            "127.0.0.1",
            "--smtp",
            &smtp.to_string(),
            "--web",
            &web.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("start a second maildev (scripts/services installs it)")?;
    let client = reqwest::Client::new();
    let inbox = format!("http://127.0.0.1:{web}/email");
    let want = app.email("ann");
    let mut delivered = false;
    for _ in 0..120 {
        if let Ok(reply) = client.get(&inbox).send().await
            && let Ok(mails) = reply.json::<Vec<serde_json::Value>>().await
        {
            let to_ann = mails
                .iter()
                .filter(|m| m["to"][0]["address"].as_str() == Some(want.as_str()))
                .count();
            ensure!(to_ann <= 1, "the welcome mail went out {to_ann} times");
            if to_ann == 1 {
                delivered = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    sink.kill().await.ok();
    ensure!(
        delivered,
        "the welcome mail never went out after the SMTP server came back"
    );
    Ok(())
}

#[tokio::test]
async fn the_same_event_delivered_twice_makes_one_feed_entry_and_one_mail() -> anyhow::Result<()> {
    let _one = one_at_a_time().await?;
    let app = TestApp::spawn_on(Backend::RealServices, &[]).await?;
    let ann = app.user("ann").await?;
    let bob = app.user("bob").await?;
    app.follow(&bob, "ann").await?.ok(204)?;
    let post = app.post(&ann, "once only").await?;
    eventually("the post reaches bob", || async {
        Ok(app.feed_ids("/feed", Some(&bob)).await? == vec![post.clone()])
    })
    .await?;

    let registration = Event::new(EventPayload::UserRegistered {
        user_id: UserId::new(),
        username: "carol".into(),
        email: app.email("carol"),
        display_name: "Carol".into(),
    });
    let replay = Event::new(EventPayload::post_created(
        post.parse()?,
        user_id(&app, &ann).await?,
    ));
    for event in [&registration, &registration, &replay, &replay] {
        app.embedded.publisher.publish(event).await?;
    }
    eventually("carol's mail arrives", || async {
        Ok(app.mails_to(&app.email("carol")).await? >= 1)
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(2)).await; // room for a second mail to arrive
    ensure!(
        app.mails_to(&app.email("carol")).await? == 1,
        "a redelivery mailed twice"
    );
    ensure!(
        app.feed_ids("/feed", Some(&bob)).await? == vec![post],
        "duplicate feed entry"
    );
    Ok(())
}

#[tokio::test]
async fn a_malformed_message_is_dead_lettered_and_the_app_consumes_on() -> anyhow::Result<()> {
    let _one = one_at_a_time().await?;
    let app = TestApp::spawn_on(Backend::RealServices, &[]).await?;
    let topology = Topology::new(Some(&app.tag)).expiring(Some(Duration::from_secs(60)));
    let connection = connect(&service_url("TEST_RABBITMQ_URL"), "rookery-faults").await?;
    let channel = connection.create_channel().await?;
    topology.declare(&channel).await?;
    channel
        .basic_publish(
            topology.exchange().as_str().into(),
            "post.created".into(),
            BasicPublishOptions::default(),
            b"\xff\xfe not json",
            BasicProperties::default(),
        )
        .await?
        .await?;
    let dlq = topology.dead_letter_queue(Queue::FeedPosts);
    let passive = QueueDeclareOptions {
        passive: true,
        ..QueueDeclareOptions::default()
    };
    let mut dead = 0;
    for _ in 0..100 {
        dead = channel
            .queue_declare(dlq.as_str().into(), passive, FieldTable::default())
            .await?
            .message_count();
        if dead == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    ensure!(dead == 1, "the malformed message is not in {dlq}");

    let ann = app.user("ann").await?;
    let bob = app.user("bob").await?;
    app.follow(&bob, "ann").await?.ok(204)?;
    let post = app.post(&ann, "still consuming").await?;
    let bob_id = user_id(&app, &bob).await?;
    let id: PostId = post.parse()?;
    eventually("the fan-out consumer is still alive", || async {
        Ok(cached_home(&app, bob_id).await?.contains(&id))
    })
    .await
}
