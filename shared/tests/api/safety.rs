//! Parts of DESIGN 4.4 over HTTP: bounded following, no event for what changes nothing, and
//! e-mail addresses that are addresses.

use reqwest::Method;
use serde_json::json;

use rookery_test_support::TestApp;

/// Outbox rows of `kind` in the app's SQLite file.
async fn events_of(app: &TestApp, kind: &str) -> anyhow::Result<i64> {
    let db = app.sqlite().await?;
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE kind = ?1")
            .bind(kind)
            .fetch_one(&db)
            .await?,
    )
}

#[tokio::test]
async fn following_is_bounded_and_a_follow_that_changes_nothing_writes_no_event()
-> anyhow::Result<()> {
    let app = TestApp::spawn_on(
        rookery_test_support::Backend::Embedded,
        &[("MAX_FOLLOWING", "2")],
    )
    .await?;
    let ann = app.user("ann").await?;
    for name in ["bob", "cat", "dan"] {
        app.register(name).await?.ok(201)?;
    }
    app.follow(&ann, "bob").await?.ok(204)?;
    app.follow(&ann, "cat").await?.ok(204)?;
    let refused = app.follow(&ann, "dan").await?;
    refused.problem(422)?;
    let me = app.get("/me", Some(&ann)).await?;
    assert_eq!(
        me.ok(200)?["following_count"],
        2,
        "a refused follow counted"
    );
    // Following someone followed already is still 204, and changes (and announces) nothing.
    app.follow(&ann, "bob").await?.ok(204)?;
    assert_eq!(events_of(&app, "user.followed").await?, 2);
    app.unfollow(&ann, "cat").await?.ok(204)?;
    app.unfollow(&ann, "cat").await?.ok(204)?;
    assert_eq!(events_of(&app, "user.unfollowed").await?, 1);
    app.follow(&ann, "dan").await?.ok(204)?;
    assert_eq!(events_of(&app, "user.followed").await?, 3);
    Ok(())
}

#[tokio::test]
async fn an_address_wrapped_in_a_display_name_is_refused() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    for trick in [
        "x<victim@example.com>",
        "Victim <victim@example.com>",
        "ann,bob@example.com",
    ] {
        let body = json!({"username": "mallory", "email": trick, "password": "correct horse"});
        let reply = app
            .send(Method::POST, "/auth/register", None, Some(body))
            .await?;
        reply.problem(422)?;
        assert_eq!(reply.body["field"], "email", "{trick}: {}", reply.body);
    }
    let body =
        json!({"username": "Ann", "email": "Ann.Lee@Example.COM", "password": "correct horse"});
    app.send(Method::POST, "/auth/register", None, Some(body))
        .await?
        .ok(201)?;
    let token = app.login("ann.lee@example.com", "correct horse").await?;
    let me = app.get("/me", Some(&token)).await?;
    assert_eq!(me.ok(200)?["email"], "ann.lee@example.com");
    Ok(())
}

/// `POST /posts` with an `Idempotency-Key`, as `token`'s user.
async fn post_with_key(
    app: &TestApp,
    token: &str,
    key: &str,
    content: &str,
) -> anyhow::Result<rookery_test_support::Reply> {
    let request = app
        .client
        .post(app.url("/posts"))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&json!({"content": content}));
    app.raw(request).await
}

#[tokio::test]
async fn a_post_retried_with_its_idempotency_key_is_created_once() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let ann = app.user("ann").await?;
    let bob = app.user("bob").await?;
    let first = post_with_key(&app, &ann, "8e03978e-1", "hello once").await?;
    let id = first.ok(201)?["id"].clone();
    let again = post_with_key(&app, &ann, "8e03978e-1", "hello once").await?;
    assert_eq!(again.ok(201)?["id"], id, "the retry answers the first post");
    let other = post_with_key(&app, &ann, "8e03978e-1", "hello twice").await?;
    other.problem(422)?;
    assert_eq!(other.body["field"], "Idempotency-Key");
    for bad in ["", "with space", &"k".repeat(256)] {
        post_with_key(&app, &ann, bad, "bad key")
            .await?
            .problem(422)?;
    }
    // A malformed body is still 400, before the key is looked at.
    let request = app
        .client
        .post(app.url("/posts"))
        .bearer_auth(&ann)
        .header("Idempotency-Key", "with space")
        .header("content-type", "application/json")
        .body("{");
    app.raw(request).await?.problem(400)?;
    // Keys are the account's own: bob's post under ann's key is his first.
    let bobs = post_with_key(&app, &bob, "8e03978e-1", "hello once").await?;
    assert_ne!(bobs.ok(201)?["id"], id);
    // Five at once under one key: one post, and all five answer it.
    let replies = futures::future::join_all(
        (0..5).map(|_| post_with_key(&app, &ann, "8e03978e-2", "all at once")),
    )
    .await;
    let mut ids = std::collections::BTreeSet::new();
    for reply in replies {
        ids.insert(reply?.ok(201)?["id"].to_string());
    }
    assert_eq!(ids.len(), 1, "concurrent posts under one key: {ids:?}");
    let posts = app.all_pages("/users/ann/posts", None, 100).await?;
    let contents: Vec<&str> = posts.iter().filter_map(|p| p["content"].as_str()).collect();
    assert_eq!(contents, ["all at once", "hello once"]);
    Ok(())
}
