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
