//! Following a request end to end (issue 16): its trace reaches the consumers of the events it
//! wrote, on the in-process bus and on RabbitMQ; an event without a trace is consumed all the
//! same; answers name their request; metrics are EMF documents; and no log line holds a
//! secret, a token or an e-mail address.

use reqwest::Method;
use serde_json::{Value, json};

use rookery::domain::{Event, EventPayload, UserId};
use rookery_test_support::telemetry::{log_lines, metric_lines};
use rookery_test_support::{Backend, TestApp, eventually};

/// A fresh W3C traceparent, and its trace id.
fn traceparent() -> (String, String) {
    let trace_id = uuid::Uuid::new_v4().simple().to_string();
    let parent = format!("00-{trace_id}-{:016x}-01", rand::random::<u64>() | 1);
    (parent, trace_id)
}

/// The log lines written inside a span named `span` whose fields match `fields`.
fn lines_in_span(span: &str, fields: &[(&str, &str)]) -> Vec<Value> {
    log_lines()
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| {
            line["spans"].as_array().is_some_and(|spans| {
                spans.iter().any(|s| {
                    s["name"] == span && fields.iter().all(|(key, value)| s[*key] == *value)
                })
            })
        })
        .collect()
}

async fn the_trace_of_a_post_reaches_its_fan_out(backend: Backend) -> anyhow::Result<()> {
    let app = TestApp::spawn_on(backend, &[]).await?;
    let ann = app.user("ann").await?;
    let (parent, trace_id) = traceparent();
    let request = app
        .client
        .post(app.url("/posts"))
        .bearer_auth(&ann)
        .header("traceparent", &parent)
        .json(&json!({"content": "follow me"}));
    app.raw(request).await?.ok(201)?;
    let trace_id = trace_id.as_str();
    eventually(
        "the fan-out consumer logs the post's trace",
        || async move {
            Ok(!lines_in_span(
                "consume",
                &[("queue", "feed.posts"), ("trace_id", trace_id)],
            )
            .is_empty())
        },
    )
    .await?;
    // The request's own span has it too, with the user who made it.
    let consumed = lines_in_span("consume", &[("trace_id", trace_id)]);
    let spans = &consumed[0]["spans"];
    assert!(spans.to_string().contains("post.created"), "{spans}");
    Ok(())
}

#[tokio::test]
async fn a_post_and_its_fan_out_share_a_trace_on_the_in_process_bus() -> anyhow::Result<()> {
    the_trace_of_a_post_reaches_its_fan_out(Backend::Embedded).await
}

#[tokio::test]
async fn a_post_and_its_fan_out_share_a_trace_on_rabbitmq() -> anyhow::Result<()> {
    the_trace_of_a_post_reaches_its_fan_out(Backend::RealServices).await
}

#[tokio::test]
async fn an_event_without_a_trace_is_consumed_all_the_same() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    // An outbox row from before traces: enqueued outside any request span.
    let event = Event::new(EventPayload::UserRegistered {
        user_id: UserId::new(),
        username: "olden".into(),
        email: "olden@example.com".into(),
        display_name: "Olden".into(),
    });
    assert!(event.trace.is_none());
    app.embedded.ctx.outbox()?.enqueue(&event).await?;
    eventually("the old event's welcome mail is sent", || async {
        Ok(app.mails_to("olden@example.com").await? == 1)
    })
    .await?;
    let handled = lines_in_span("consume", &[("event_id", &event.id.to_string())]);
    assert!(!handled.is_empty(), "no consumer span for the event");
    // Each consumer started a trace of its own.
    assert!(
        handled
            .iter()
            .all(|line| line["spans"].to_string().contains("trace_id"))
    );
    Ok(())
}

#[tokio::test]
async fn every_answer_names_its_request() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let first = app.client.get(app.url("/health")).send().await?;
    let second = app.client.get(app.url("/no/such/route")).send().await?;
    let id = |response: &reqwest::Response| {
        response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (first, second) = (id(&first), id(&second));
    assert!(
        first
            .as_deref()
            .is_some_and(|id| uuid::Uuid::parse_str(id).is_ok())
    );
    assert!(second.is_some() && first != second);
    Ok(())
}

#[tokio::test]
async fn metrics_are_emf_documents_naming_what_happened() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let ann = app.user("ann").await?;
    let bob = app.user("bob").await?;
    app.follow(&bob, "ann").await?.ok(204)?;
    let post = app.post(&ann, "counted").await?;
    eventually("bob sees the post", || async {
        app.home_has(&bob, &post).await
    })
    .await?;
    let mut seen = std::collections::BTreeSet::new();
    for line in metric_lines() {
        let doc: Value = serde_json::from_str(&line)?;
        let directives = doc["_aws"]["CloudWatchMetrics"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(doc["_aws"]["Timestamp"].is_i64(), "{doc}");
        for directive in directives {
            assert_eq!(directive["Namespace"], "Rookery");
            for dimension in directive["Dimensions"][0]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                let key = dimension.as_str().unwrap_or_default();
                assert!(doc[key].is_string(), "dimension {key} has no value: {doc}");
            }
            for metric in directive["Metrics"].as_array().cloned().unwrap_or_default() {
                let name = metric["Name"].as_str().unwrap_or_default().to_owned();
                assert!(doc[&name].is_number(), "metric {name} has no value: {doc}");
                seen.insert(name);
            }
        }
    }
    for name in [
        "Requests",
        "RequestLatency",
        "FeedReadTime",
        "FanoutRecipients",
        "FanoutTime",
        "EventsPublished",
        "EventsConsumed",
    ] {
        assert!(seen.contains(name), "no {name} among {seen:?}");
    }
    Ok(())
}

/// The whole API story, then every log line of this process: none holds this story's e-mail
/// addresses, passwords, access or refresh tokens.
#[tokio::test]
async fn no_log_line_holds_a_secret_a_token_or_an_address() -> anyhow::Result<()> {
    let app = TestApp::spawn_on(Backend::RealServices, &[]).await?;
    let password = "sekrit-horse-battery";
    let register =
        |name: &str| json!({"username": name, "email": app.email(name), "password": password});
    for name in ["logann", "logbob"] {
        app.send(Method::POST, "/auth/register", None, Some(register(name)))
            .await?
            .ok(201)?;
    }
    let login = app
        .send(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"login": app.email("logann"), "password": password})),
        )
        .await?;
    let access = login.str("access_token")?;
    let refresh = login.str("refresh_token")?;
    let wrong = json!({"login": "logann", "password": "wrong-password-123"});
    app.send(Method::POST, "/auth/login", None, Some(wrong))
        .await?
        .problem(401)?;
    let refreshed = app
        .send(
            Method::POST,
            "/auth/refresh",
            None,
            Some(json!({"refresh_token": refresh})),
        )
        .await?;
    let access2 = refreshed.str("access_token")?;
    let refresh2 = refreshed.str("refresh_token")?;
    app.follow(&access2, "logbob").await?.ok(204)?;
    let post = app.post(&access2, "hello @logbob #logs").await?;
    let bob = app.login("logbob", password).await?;
    app.send(
        Method::PUT,
        &format!("/posts/{post}/like"),
        Some(&bob),
        None,
    )
    .await?;
    app.get("/feed", Some(&access2)).await?.ok(200)?;
    app.get("/me", Some("not-a-token")).await?.problem(401)?;
    let new_password = "another-sekrit-horse";
    let change = json!({"current_password": password, "new_password": new_password});
    app.send(Method::PUT, "/me/password", Some(&access2), Some(change))
        .await?;
    eventually("welcome mails are sent", || async {
        Ok(app.mails_to(&app.email("logbob")).await? == 1)
    })
    .await?;
    let logs = log_lines().join("\n");
    assert!(!logs.is_empty());
    for secret in [
        app.email("logann"),
        app.email("logbob"),
        password.to_owned(),
        new_password.to_owned(),
        access,
        access2,
        bob,
        refresh,
        refresh2,
    ] {
        assert!(!logs.contains(&secret), "a log line holds {secret:?}");
    }
    Ok(())
}
