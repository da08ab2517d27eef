//! The rate limits of DESIGN 4.4 over HTTP, each with a short rule set through its variable:
//! hit (429 problem+json with `Retry-After`), changing nothing, then released after the wait
//! the answer gave. The last test runs two servers on one Redis: they count together.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use rookery_test_support::{Backend, Reply, TestApp, service_url};

/// A server with limits on and `rules` (each a `RATE_LIMIT_*` variable and its rule).
async fn limited(rules: &[(&str, &str)]) -> anyhow::Result<TestApp> {
    let mut vars = vec![("RATE_LIMITS", "on")];
    vars.extend_from_slice(rules);
    TestApp::spawn_on(Backend::Embedded, &vars).await
}

/// Asserts a 429 `rate_limited` problem and returns its `Retry-After`, in whole seconds.
fn retry_after(reply: &Reply) -> anyhow::Result<u64> {
    reply.problem_code(429, "rate_limited")?;
    let header = reply
        .headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| anyhow::anyhow!("no Retry-After on {}", reply.body))?;
    let seconds: u64 = header.parse()?;
    anyhow::ensure!(seconds >= 1, "Retry-After {seconds}");
    Ok(seconds)
}

/// Waits as long as the 429 said.
async fn wait_out(reply: &Reply) -> anyhow::Result<()> {
    let seconds = retry_after(reply)?;
    anyhow::ensure!(seconds <= 2, "Retry-After {seconds} for a rule of seconds");
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    Ok(())
}

async fn login(app: &TestApp, login: &str, password: &str) -> anyhow::Result<Reply> {
    let body = json!({"login": login, "password": password});
    app.send(Method::POST, "/auth/login", None, Some(body))
        .await
}

async fn post(app: &TestApp, token: &str, content: &str) -> anyhow::Result<Reply> {
    let body = json!({"content": content});
    app.send(Method::POST, "/posts", Some(token), Some(body))
        .await
}

async fn posts_count(app: &TestApp, token: &str) -> anyhow::Result<Value> {
    Ok(app.get("/me", Some(token)).await?.ok(200)?["posts_count"].clone())
}

#[tokio::test]
async fn failed_logins_limit_the_account_from_that_address_even_for_the_right_password()
-> anyhow::Result<()> {
    let app = limited(&[("RATE_LIMIT_LOGIN_FAILURES", "2/2s")]).await?;
    app.register("ann").await?.ok(201)?;
    app.register("bob").await?.ok(201)?;
    // One failure by username and one by e-mail: both count against ann.
    login(&app, "ann", "wrong password").await?.problem(401)?;
    login(&app, &app.email("ann"), "wrong password")
        .await?
        .problem(401)?;
    let refused = login(&app, "ann", "correct horse").await?;
    retry_after(&refused)?;
    assert!(refused.body.get("access_token").is_none());
    login(&app, "ANN", "correct horse").await?.problem(429)?;
    // Another account from the same address is not limited.
    login(&app, "bob", "correct horse").await?.ok(200)?;
    wait_out(&refused).await?;
    login(&app, "ann", "correct horse").await?.ok(200)?;
    Ok(())
}

#[tokio::test]
async fn failed_logins_of_nobody_are_limited_too() -> anyhow::Result<()> {
    let app = limited(&[("RATE_LIMIT_LOGIN_FAILURES", "2/2s")]).await?;
    for _ in 0..2 {
        login(&app, "Nobody@Example.com", "guess")
            .await?
            .problem(401)?;
    }
    // The same login in other letter case is the same account; a guess past the limit costs
    // no bcrypt and says so.
    retry_after(&login(&app, "nobody@example.com", "guess").await?)?;
    // A login that is neither a username nor an e-mail address counts alike.
    for _ in 0..2 {
        login(&app, "no such login!", "guess").await?.problem(401)?;
    }
    retry_after(&login(&app, "no such login!", "guess").await?)?;
    Ok(())
}

#[tokio::test]
async fn login_attempts_are_limited_per_address() -> anyhow::Result<()> {
    let app = limited(&[("RATE_LIMIT_LOGIN_ATTEMPTS", "3/3s")]).await?;
    app.register("ann").await?.ok(201)?;
    login(&app, "ann", "correct horse").await?.ok(200)?;
    login(&app, "nobody", "guess").await?.problem(401)?;
    // A malformed login is an attempt as well.
    app.send(
        Method::POST,
        "/auth/login",
        None,
        Some(json!({"login": "ann"})),
    )
    .await?
    .problem(422)?;
    let refused = login(&app, "ann", "correct horse").await?;
    wait_out(&refused).await?;
    login(&app, "ann", "correct horse").await?.ok(200)?;
    Ok(())
}

#[tokio::test]
async fn registrations_are_limited_per_address_and_a_refused_one_creates_nobody()
-> anyhow::Result<()> {
    let app = limited(&[("RATE_LIMIT_REGISTER", "2/2s")]).await?;
    app.register("ann").await?.ok(201)?;
    app.register("bob").await?.ok(201)?;
    let refused = app.register("cat").await?;
    retry_after(&refused)?;
    app.get("/users/cat", None).await?.problem(404)?;
    assert_eq!(app.mails_to(&app.email("cat")).await?, 0);
    wait_out(&refused).await?;
    app.register("cat").await?.ok(201)?;
    Ok(())
}

#[tokio::test]
async fn posts_are_limited_per_account_and_a_refused_one_is_not_posted() -> anyhow::Result<()> {
    let app = limited(&[("RATE_LIMIT_POSTS", "2/2s")]).await?;
    let ann = app.user("ann").await?;
    let bob = app.user("bob").await?;
    post(&app, &ann, "one").await?.ok(201)?;
    post(&app, &ann, "two").await?.ok(201)?;
    let refused = post(&app, &ann, "three").await?;
    retry_after(&refused)?;
    // The order of checks: the token before the limit, the limit before the body.
    app.send(Method::POST, "/posts", None, Some(json!({"content": "x"})))
        .await?
        .problem(401)?;
    let malformed = app
        .raw(
            app.client
                .post(app.url("/posts"))
                .bearer_auth(&ann)
                .header("content-type", "application/json")
                .body("{not json"),
        )
        .await?;
    retry_after(&malformed)?;
    // Nothing of the refused post exists; another account posts as usual.
    assert_eq!(posts_count(&app, &ann).await?, 2);
    let contents: Vec<Value> = app
        .all_pages("/users/ann/posts", None, 100)
        .await?
        .into_iter()
        .map(|item| item["content"].clone())
        .collect();
    assert_eq!(contents, [json!("two"), json!("one")]);
    post(&app, &bob, "bob's").await?.ok(201)?;
    wait_out(&refused).await?;
    post(&app, &ann, "three").await?.ok(201)?;
    assert_eq!(posts_count(&app, &ann).await?, 3);
    Ok(())
}

#[tokio::test]
async fn other_writes_share_one_limit_per_account() -> anyhow::Result<()> {
    let app = limited(&[("RATE_LIMIT_WRITES", "3/3s")]).await?;
    let ann = app.user("ann").await?;
    let bob = app.user("bob").await?;
    let post_id = app.post(&bob, "like me").await?;
    app.follow(&ann, "bob").await?.ok(204)?;
    app.send(Method::PATCH, "/me", Some(&ann), Some(json!({"bio": "hi"})))
        .await?
        .ok(200)?;
    let like = format!("/posts/{post_id}/like");
    app.send(Method::PUT, &like, Some(&ann), None)
        .await?
        .ok(204)?;
    let refused = app
        .send(
            Method::PUT,
            &format!("/posts/{post_id}/repost"),
            Some(&ann),
            None,
        )
        .await?;
    retry_after(&refused)?;
    let unfollow = app.unfollow(&ann, "bob").await?;
    retry_after(&unfollow)?;
    // Neither the repost nor the unfollow happened; bob's writes are his own.
    let seen = app.get(&format!("/posts/{post_id}"), Some(&ann)).await?;
    assert_eq!(seen.ok(200)?["repost_count"], 0, "{}", seen.body);
    let me = app.get("/me", Some(&ann)).await?;
    assert_eq!(me.ok(200)?["following_count"], 1);
    app.follow(&bob, "ann").await?.ok(204)?;
    wait_out(&refused).await?;
    app.unfollow(&ann, "bob").await?.ok(204)?;
    Ok(())
}

#[tokio::test]
async fn two_servers_on_one_redis_count_together() -> anyhow::Result<()> {
    let redis = service_url("TEST_REDIS_URL");
    let rules = [
        ("RATE_LIMITS", "on"),
        ("REDIS_URL", redis.as_str()),
        ("RATE_LIMIT_POSTS", "2/2s"),
        ("RATE_LIMIT_LOGIN_FAILURES", "2/2s"),
        // The limits by address would count every run's 127.0.0.1 in the shared Redis.
        ("RATE_LIMIT_REGISTER", "1000/1s"),
        ("RATE_LIMIT_LOGIN_ATTEMPTS", "1000/1s"),
    ];
    let first = TestApp::spawn_on(Backend::Embedded, &rules).await?;
    // The second server shares the first's data folder (its users and its token key) and its
    // Redis: as two Lambda instances share their stores.
    let folder = first.data.path().display().to_string();
    let mut second_vars = rules.to_vec();
    second_vars.push(("ROOKERY_DATA_DIR", folder.as_str()));
    let second = TestApp::spawn_on(Backend::Embedded, &second_vars).await?;
    // Names unique to this run: the counters of a shared Redis outlive it.
    let name = format!("ann_{}", &first.tag[1..]);
    let ann = first.user(&name).await?;

    post(&first, &ann, "one").await?.ok(201)?;
    post(&second, &ann, "two").await?.ok(201)?;
    let refused = post(&first, &ann, "three").await?;
    retry_after(&refused)?;
    retry_after(&post(&second, &ann, "three").await?)?;

    login(&first, &name, "wrong").await?.problem(401)?;
    login(&second, &name, "wrong").await?.problem(401)?;
    retry_after(&login(&first, &name, "correct horse").await?)?;
    let locked = login(&second, &name, "correct horse").await?;
    retry_after(&locked)?;

    wait_out(&locked).await?;
    post(&second, &ann, "three").await?.ok(201)?;
    login(&first, &name, "correct horse").await?.ok(200)?;
    assert_eq!(posts_count(&first, &ann).await?, 3);
    Ok(())
}
