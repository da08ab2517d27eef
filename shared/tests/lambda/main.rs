//! The Lambda handlers, called in process with the event fixtures checked in under `events/`:
//! API Gateway v2 requests through lambda_http into the functions' router, RabbitMQ batches
//! into the consumers, and authorizer requests.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, ensure};
use async_trait::async_trait;
use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use aws_lambda_events::rabbitmq::RabbitMqEvent;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Header};
use rookery::adapters::in_process_bus::InProcessBus;
use rookery::config::Config;
use rookery::domain::{Event, Queue};
use rookery::http::routes::Function::{
    Account, FeedRead, Follow, Interact, Login, Notifications, Post, Profile, Register,
};
use rookery::http::routes::{Access, Function as HttpFunction, ROUTES};
use rookery::lambda::authorizer::authorize;
use rookery::lambda::consumer::{BatchReport, handle_batch};
use rookery::lambda::{HttpWiring, wire};
use rookery::ports::{ConsumeError, Consumer, DeadLetters};
use rookery::services::{KeySet, Relay, SigningKey, TokenService};
use rookery_test_support::{keys, service_url};
use serde_json::{Value, json};
use tower::ServiceExt;

fn fixture(path: &str) -> anyhow::Result<String> {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(path);
    std::fs::read_to_string(&file).with_context(|| format!("read {}", file.display()))
}

/// Every function of the product as its own wiring (each with the ports its builder opens), on
/// one data folder, as separate Lambda functions share their stores.
struct Functions {
    http: HashMap<HttpFunction, HttpWiring>,
    consumers: Vec<Arc<dyn Consumer>>,
    /// What RabbitMQ and the MQ event sources do in AWS, done in process: the outbox relayed
    /// to the consumer functions.
    relay: Relay,
    data: tempfile::TempDir,
}

async fn function() -> anyhow::Result<Functions> {
    let data = tempfile::tempdir()?;
    let vars: HashMap<&str, String> = HashMap::from([
        ("ROOKERY_DATA_DIR", data.path().display().to_string()),
        ("BCRYPT_COST", "4".to_owned()),
        ("JWT_PRIVATE_KEY", keys::PRIVATE_KEY.to_owned()),
        ("JWT_PUBLIC_KEYS", keys::public_keys()?),
    ]);
    let config = Config::from_lookup(|name| vars.get(name).cloned())?;
    let http = HashMap::from([
        (Register, wire::register(config.clone()).await?),
        (Login, wire::login(config.clone()).await?),
        (Profile, wire::profile(config.clone()).await?),
        (Follow, wire::follow(config.clone()).await?),
        (Post, wire::post(config.clone()).await?),
        (FeedRead, wire::feed_read(config.clone()).await?),
        (Interact, wire::interact(config.clone()).await?),
        (Notifications, wire::notifications(config.clone()).await?),
        (Account, wire::account(config.clone()).await?),
    ]);
    let mut consumers = wire::email(config.clone()).await?;
    consumers.extend(wire::network(config.clone()).await?);
    consumers.extend(wire::fanout(config.clone()).await?);
    consumers.extend(wire::notify(config.clone()).await?);
    let outbox = http[&Register].ctx.outbox()?.clone();
    let relay = Relay {
        outbox,
        publisher: Arc::new(InProcessBus::new(consumers.clone())),
        max_attempts: None,
        batch: 100,
    };
    Ok(Functions {
        http,
        consumers,
        relay,
        data,
    })
}

impl Functions {
    /// Sends a fixture, with `{{TOKEN}}` replaced, through lambda_http's request parsing into
    /// `function`'s router; returns the status and the JSON body.
    async fn call(
        &self,
        function: HttpFunction,
        path: &str,
        token: &str,
    ) -> anyhow::Result<(u16, Value)> {
        self.call_on(function, path, token, "").await
    }

    /// As [`Functions::call`], with `{{POST}}` replaced by `post` too.
    async fn call_on(
        &self,
        function: HttpFunction,
        path: &str,
        token: &str,
        post: &str,
    ) -> anyhow::Result<(u16, Value)> {
        let text = fixture(path)?
            .replace("{{TOKEN}}", token)
            .replace("{{POST}}", post);
        let request = lambda_http::request::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{path} is not an API Gateway request: {e}"))?;
        let response = self.router(function)?.oneshot(request).await?;
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await?;
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok((status, body))
    }

    fn router(&self, function: HttpFunction) -> anyhow::Result<axum::Router> {
        let wiring = self.http.get(&function).context("no such function")?;
        Ok(rookery::lambda::router(
            wiring,
            &rookery::http::Served::function(function),
        ))
    }

    fn mails(&self) -> anyhow::Result<usize> {
        let Ok(entries) = std::fs::read_dir(self.data.path().join("mail")) else {
            return Ok(0);
        };
        Ok(entries.filter_map(Result::ok).count())
    }
}

#[tokio::test]
async fn http_functions_answer_api_gateway_requests() -> anyhow::Result<()> {
    let f = function().await?;
    let (status, user) = f.call(Register, "http/register.json", "").await?;
    ensure!(status == 201, "register: {status} {user}");
    ensure!(user["username"] == "ann");
    // Without a broker the event waits in the outbox for the scheduled relay (with one, the
    // function publishes it before answering: tests/functions.rs).
    let pending = f.relay.outbox.pending(10).await?;
    ensure!(pending.len() == 1, "one event in the outbox: {pending:?}");
    f.relay.drain().await?;
    ensure!(f.mails()? == 1, "the welcome mail, once relayed");
    ensure!(
        f.call(Register, "http/register.json", "").await?.0 == 409,
        "a second registration"
    );
    let (status, problem) = f.call(Register, "http/register-invalid.json", "").await?;
    ensure!(
        status == 422 && problem["field"] == "username",
        "{status} {problem}"
    );
    ensure!(
        f.call(Register, "http/register-malformed.json", "")
            .await?
            .0
            == 400
    );

    let (status, login) = f.call(Login, "http/login.json", "").await?;
    ensure!(status == 200, "login: {status} {login}");
    let token = login["access_token"].as_str().context("token")?.to_owned();
    let (status, me) = f.call(Profile, "http/me.json", &token).await?;
    ensure!(
        status == 200 && me["email"] == "ann@example.com",
        "me: {status} {me}"
    );
    ensure!(f.call(Profile, "http/me-no-token.json", "").await?.0 == 401);
    ensure!(
        f.call(Profile, "http/me.json", "forged.token.value")
            .await?
            .0
            == 401
    );
    ensure!(f.call(Profile, "http/profile.json", "").await?.0 == 200);
    ensure!(
        f.call(Follow, "http/follow.json", &token).await?.0 == 404,
        "bob is unknown"
    );
    ensure!(f.call(Follow, "http/followers.json", "").await?.0 == 404);

    let (status, post) = f.call(Post, "http/create-post.json", &token).await?;
    ensure!(
        status == 201 && post["content"] == "Hello from Lambda",
        "{status} {post}"
    );
    f.relay.drain().await?; // the scheduled relay's work
    let (status, feed) = f.call(FeedRead, "http/feed.json", &token).await?;
    ensure!(
        status == 200 && feed["items"][0]["id"] == post["id"],
        "feed: {status} {feed}"
    );
    let (status, posts) = f.call(FeedRead, "http/user-posts.json", "").await?;
    ensure!(status == 200 && posts["items"].as_array().map(Vec::len) == Some(1));
    ensure!(f.call(Profile, "http/health.json", "").await?.0 == 200);
    ensure!(f.call(Profile, "http/unknown-route.json", "").await?.0 == 404);

    // interact: a reply (through post), a like, the likes, the context, a tag page.
    let root = post["id"].as_str().context("post id")?;
    let (status, reply) = f
        .call_on(Post, "http/create-reply.json", &token, root)
        .await?;
    ensure!(
        status == 201 && reply["in_reply_to"] == root,
        "reply: {status} {reply}"
    );
    let (status, _) = f.call_on(Interact, "http/like.json", &token, root).await?;
    ensure!(status == 204, "like: {status}");
    let (status, likes) = f.call_on(Interact, "http/likes.json", "", root).await?;
    ensure!(
        status == 200 && likes["items"][0]["username"] == "ann",
        "likes: {status} {likes}"
    );
    let (status, context) = f.call_on(Interact, "http/context.json", "", root).await?;
    ensure!(
        status == 200 && context["descendants"][0]["id"] == reply["id"],
        "context: {status} {context}"
    );
    let (status, tagged) = f.call(Interact, "http/tag-posts.json", "").await?;
    ensure!(
        status == 200 && tagged["items"][0]["id"] == reply["id"],
        "tag page: {status} {tagged}"
    );
    ensure!(
        f.call_on(Interact, "http/like.json", "", root).await?.0 == 401,
        "a like without a token"
    );
    let (status, found) = f.call(Account, "http/search-users.json", "").await?;
    ensure!(
        status == 200 && found["items"][0]["username"] == "ann",
        "user search: {status} {found}"
    );
    let (status, unread) = f
        .call(Notifications, "http/unread-count.json", &token)
        .await?;
    ensure!(
        status == 200 && unread["count"] == 0,
        "ann's own like and reply notify nobody: {unread}"
    );
    Ok(())
}

/// Each HTTP function serves only its own routes of the table: another function's route is a
/// 404, and a method that no route of the path has is a 405 on every function (the gateway
/// sends every unmatched request to one of them), both as problem+json.
#[tokio::test]
async fn a_function_serves_only_its_own_routes() -> anyhow::Result<()> {
    let f = function().await?;
    let answer = |function: HttpFunction, method: &str, path: &str| {
        let request = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .body(axum::body::Body::empty());
        let router = f.router(function);
        async move {
            let response = router?.oneshot(request?).await?;
            let kind = response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            anyhow::Ok((response.status().as_u16(), kind))
        }
    };
    let problem = "application/problem+json".to_owned();
    for function in HttpFunction::ALL {
        for route in &ROUTES {
            let path = route.path.replace("{username}", "ann").replace("{id}", "x");
            if route.function != function {
                let got = answer(function, route.method.as_str(), &path).await?;
                ensure!(
                    got == (404, problem.clone()),
                    "{route:?} at {function:?}: {got:?}"
                );
            }
            let others = ["GET", "POST", "PUT", "PATCH", "DELETE"]
                .into_iter()
                .filter(|m| {
                    !ROUTES
                        .iter()
                        .any(|r| r.path == route.path && r.method.as_str() == *m)
                });
            for method in others {
                let got = answer(function, method, &path).await?;
                ensure!(
                    got == (405, problem.clone()),
                    "{method} {path} at {function:?}: {got:?}"
                );
            }
        }
        let got = answer(function, "GET", "/nope").await?;
        ensure!(
            got == (404, problem.clone()),
            "GET /nope at {function:?}: {got:?}"
        );
    }
    ensure!(f.call(Profile, "http/health.json", "").await?.0 == 200);
    ensure!(f.call(FeedRead, "http/health.json", "").await?.0 == 404);
    Ok(())
}

/// A function wires only the ports its routes use: it neither connects to the other servers
/// nor reports them in `/health`. Here with Redis and RabbitMQ configured (the loopback
/// services of `scripts/services`), so that leaving one out is a choice, not a default.
#[tokio::test]
async fn a_function_wires_only_what_its_routes_use() -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let vars: HashMap<&str, String> = HashMap::from([
        ("ROOKERY_DATA_DIR", data.path().display().to_string()),
        ("JWT_PRIVATE_KEY", keys::PRIVATE_KEY.to_owned()),
        ("JWT_PUBLIC_KEYS", keys::public_keys()?),
        ("REDIS_URL", service_url("TEST_REDIS_URL")),
        ("RABBITMQ_URL", service_url("TEST_RABBITMQ_URL")),
    ]);
    let config = Config::from_lookup(|name| vars.get(name).cloned())?;
    let probes = |wiring: &HttpWiring| -> Vec<&str> {
        let mut names: Vec<&str> = wiring.probes.iter().map(|p| p.name).collect();
        names.sort_unstable();
        names
    };
    let register = wire::register(config.clone()).await?;
    ensure!(
        probes(&register) == ["database", "event_bus", "redis"],
        "register: {:?}",
        probes(&register)
    );
    ensure!(
        register.relay.is_some() && register.ctx.graph.is_none() && register.ctx.tokens.is_none()
    );
    let login = wire::login(config.clone()).await?;
    ensure!(
        probes(&login) == ["database", "redis"],
        "login: {:?}",
        probes(&login)
    );
    ensure!(login.relay.is_none() && login.ctx.feeds.is_none() && login.ctx.tokens.is_some());
    let profile = wire::profile(config.clone()).await?;
    ensure!(
        probes(&profile) == ["database"],
        "profile: {:?}",
        probes(&profile)
    );
    let follow = wire::follow(config.clone()).await?;
    ensure!(
        probes(&follow) == ["database", "event_bus", "redis"],
        "follow: {:?}",
        probes(&follow)
    );
    let post = wire::post(config.clone()).await?;
    ensure!(
        probes(&post) == ["database", "event_bus", "redis"],
        "post: {:?}",
        probes(&post)
    );
    let feed = wire::feed_read(config.clone()).await?;
    ensure!(
        probes(&feed) == ["database", "redis"],
        "feed-read: {:?}",
        probes(&feed)
    );
    ensure!(feed.relay.is_none() && feed.ctx.outbox.is_none());
    let interact = wire::interact(config.clone()).await?;
    ensure!(
        probes(&interact) == ["database", "event_bus", "redis"],
        "interact: {:?}",
        probes(&interact)
    );
    ensure!(interact.relay.is_some() && interact.ctx.graph.is_none());
    let notifications = wire::notifications(config.clone()).await?;
    ensure!(
        probes(&notifications) == ["database", "redis"],
        "notifications: {:?}",
        probes(&notifications)
    );
    ensure!(notifications.relay.is_none() && notifications.ctx.notifications.is_some());
    let account = wire::account(config.clone()).await?;
    ensure!(
        probes(&account) == ["database", "event_bus", "redis"],
        "account: {:?}",
        probes(&account)
    );
    ensure!(
        account.relay.is_some() && account.ctx.sessions.is_some() && account.ctx.feeds.is_none()
    );
    // Every probe of every function answers: what a function wires, it can reach.
    for wiring in [
        &register,
        &login,
        &profile,
        &follow,
        &post,
        &feed,
        &interact,
        &notifications,
        &account,
    ] {
        for probe in &wiring.probes {
            (probe.check)().await.with_context(|| probe.name)?;
        }
    }
    // The secrets template.yaml gives each function (wire::SECRETS) are the ones its wiring
    // uses: a broker exactly with RABBITMQ_URL, Redis with REDIS_URL, the private key exactly
    // where tokens are issued; every function with a route that takes a token verifies them
    // and checks revoked sessions.
    let functions = [
        ("register", &register),
        ("login", &login),
        ("profile", &profile),
        ("follow", &follow),
        ("post", &post),
        ("feed-read", &feed),
        ("interact", &interact),
        ("notifications", &notifications),
        ("account", &account),
    ];
    for (name, wiring) in functions {
        let secrets = wire::secrets_of(name);
        let names = probes(wiring);
        ensure!(
            names.contains(&"event_bus") == secrets.contains(&"RABBITMQ_URL"),
            "{name}: broker {names:?} vs {secrets:?}"
        );
        ensure!(
            names.contains(&"redis") == secrets.contains(&"REDIS_URL"),
            "{name}: Redis {names:?} vs {secrets:?}"
        );
        let issues = wiring.ctx.tokens.as_ref().is_some_and(|t| t.can_issue());
        ensure!(
            issues == secrets.contains(&"JWT_PRIVATE_KEY"),
            "{name}: issuing tokens vs {secrets:?}"
        );
        let takes_tokens = ROUTES
            .iter()
            .any(|r| r.function.name() == name && r.access == Access::Token);
        ensure!(
            !takes_tokens || (wiring.ctx.tokens.is_some() && wiring.ctx.revocations.is_some()),
            "{name}: takes tokens without verifying them and their sessions"
        );
        ensure!(
            wiring.ctx.graph.is_some() == secrets.contains(&"NEO4J_PASSWORD"),
            "{name}: graph vs {secrets:?}"
        );
        // Rate limits (on by default) are wired exactly where a route counts against one.
        let limited = ROUTES
            .iter()
            .any(|r| r.function.name() == name && r.limit.is_some());
        ensure!(
            wiring.ctx.limits.is_some() == limited,
            "{name}: rate limits wired: {}, limited routes: {limited}",
            wiring.ctx.limits.is_some()
        );
    }
    Ok(())
}

fn counts(handled: usize, dead_lettered: usize) -> BatchReport {
    BatchReport {
        handled,
        dead_lettered,
    }
}

/// Dead letters, kept: (queue, body, reason).
#[derive(Default)]
struct Letters(std::sync::Mutex<Vec<(String, Vec<u8>, String)>>);

#[async_trait]
impl DeadLetters for Letters {
    async fn dead_letter(&self, queue: &str, body: &[u8], reason: &str) -> anyhow::Result<()> {
        self.0
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?
            .push((queue.to_owned(), body.to_vec(), reason.to_owned()));
        Ok(())
    }
}

fn batch(path: &str) -> anyhow::Result<RabbitMqEvent> {
    Ok(serde_json::from_str(&fixture(path)?)?)
}

#[tokio::test]
async fn consumers_take_rabbitmq_batches() -> anyhow::Result<()> {
    let f = function().await?;
    let consumers = &f.consumers;
    let letters = Letters::default();
    let dead = Some(&letters as &dyn DeadLetters);

    let report = handle_batch(consumers, dead, &batch("rabbitmq/user-registered.json")?).await?;
    assert_eq!(report, counts(2, 0));
    ensure!(f.mails()? == 1, "one welcome mail");

    // The same event again, twice in one batch: handled, but no second mail.
    let report = handle_batch(consumers, dead, &batch("rabbitmq/duplicate.json")?).await?;
    assert_eq!(report, counts(2, 0));
    ensure!(f.mails()? == 1, "a redelivery mailed again");

    // A malformed body goes to the dead-letter queue, and the invocation succeeds: it must not
    // block the queue.
    let report = handle_batch(consumers, dead, &batch("rabbitmq/malformed.json")?).await?;
    assert_eq!(report, counts(0, 1));

    // A mixed batch: the good ones are handled, the bad one dead-lettered.
    let report = handle_batch(consumers, dead, &batch("rabbitmq/mixed.json")?).await?;
    assert_eq!(report, counts(3, 1));
    ensure!(f.mails()? == 1);

    // notify.events: a follow (carol, registered above, is followed) and a like of a post that
    // does not exist (no notification); both handled.
    let report = handle_batch(consumers, dead, &batch("rabbitmq/notify-events.json")?).await?;
    assert_eq!(report, counts(2, 0));
    let letters = letters.0.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    ensure!(letters.len() == 2, "dead letters: {}", letters.len());
    let queues: Vec<&str> = letters.iter().map(|(queue, _, _)| queue.as_str()).collect();
    ensure!(
        queues == ["feed.posts", "email.welcome"],
        "each dead letter goes to its own queue's DLQ: {queues:?}"
    );
    ensure!(
        letters.iter().all(|(_, _, reason)| !reason.is_empty()),
        "each dead letter says why"
    );
    Ok(())
}

/// A consumer whose dependency is down.
struct Down;

#[async_trait]
impl Consumer for Down {
    fn queue(&self) -> Queue {
        Queue::EmailWelcome
    }

    async fn handle(&self, _: &Event) -> Result<(), ConsumeError> {
        Err(ConsumeError::Transient(anyhow::anyhow!("SMTP is down")))
    }
}

#[tokio::test]
async fn a_transient_failure_fails_the_invocation_for_a_retry() -> anyhow::Result<()> {
    let consumers: Vec<Arc<dyn Consumer>> = vec![Arc::new(Down)];
    let letters = Letters::default();
    let failed = handle_batch(
        &consumers,
        Some(&letters),
        &batch("rabbitmq/user-registered.json")?,
    )
    .await;
    ensure!(
        failed.is_err(),
        "a retryable failure must fail the invocation"
    );
    Ok(())
}

/// An EdDSA token signed with `pem`, under the test key's id.
fn sign(pem: &str, claims: &Value) -> anyhow::Result<String> {
    let mut header = Header::new(Algorithm::EdDSA);
    header.typ = Some("JWT".into());
    header.kid = Some(
        SigningKey::from_pem(keys::PRIVATE_KEY)?
            .public()
            .kid()
            .to_owned(),
    );
    Ok(jsonwebtoken::encode(
        &header,
        claims,
        &keys::encoding_key(pem)?,
    )?)
}

#[tokio::test]
async fn the_authorizer_lets_only_valid_tokens_through() -> anyhow::Result<()> {
    // As the authorizer starts: the public keys only.
    let keys = KeySet::from_jwks(&keys::public_keys()?)?;
    let tokens = &TokenService::verifying(keys, std::time::Duration::from_secs(900));
    let request = |token: &str| -> anyhow::Result<ApiGatewayV2CustomAuthorizerV2Request> {
        Ok(serde_json::from_str(
            &fixture("authorizer/request.json")?.replace("{{TOKEN}}", token),
        )?)
    };
    let user = "01a21000-0000-7000-8000-0000000000aa";
    let now = chrono::Utc::now().timestamp();
    let sid = "01a21000-0000-7000-8000-0000000000bb";
    let claims = |exp: i64| json!({"sub": user, "sid": sid, "iat": now - 10, "exp": exp, "iss": "rookery", "aud": "rookery-api"});

    let valid = sign(keys::PRIVATE_KEY, &claims(now + 60))?;
    let allowed = authorize(tokens, &request(&valid)?);
    ensure!(
        allowed.is_authorized && allowed.context["user_id"] == user,
        "{allowed:?}"
    );

    let expired = sign(keys::PRIVATE_KEY, &claims(now - 5))?;
    let other = SigningKey::generate().to_pem()?;
    let forged = sign(
        secrecy::ExposeSecret::expose_secret(&other),
        &claims(now + 60),
    )?;
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims(now + 60).to_string())
    );
    for (what, token) in [
        ("expired", expired),
        ("forged", forged),
        ("alg none", none),
        ("garbage", "x".into()),
    ] {
        let denied = authorize(tokens, &request(&token)?);
        ensure!(!denied.is_authorized, "{what} token was let through");
        ensure!(
            denied.context.is_null(),
            "{what}: no context for a denied request"
        );
    }
    Ok(())
}

#[test]
fn the_schedule_fixture_is_a_scheduled_event() -> anyhow::Result<()> {
    let event: aws_lambda_events::cloudwatch_events::CloudWatchEvent =
        serde_json::from_str(&fixture("schedule.json")?)?;
    ensure!(event.detail_type.as_deref() == Some("Scheduled Event"));
    Ok(())
}
