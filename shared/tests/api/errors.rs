//! Every error status of the contract, as problem+json, in the contract's order of checks, and
//! changing nothing.

use reqwest::Method;
use serde_json::json;

use rookery_test_support::TestApp;

fn register_body(username: &str, email: &str, password: &str) -> serde_json::Value {
    json!({"username": username, "email": email, "password": password})
}

#[tokio::test]
async fn routing_errors_are_problems() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    app.get("/nope", None).await?.problem(404)?;
    app.get("/users/ann/nope", None).await?.problem(404)?;
    app.send(Method::PATCH, "/feed", None, None)
        .await?
        .problem(405)?;
    app.send(Method::DELETE, "/auth/login", None, None)
        .await?
        .problem(405)?;
    app.send(Method::POST, "/health", None, None)
        .await?
        .problem(405)?;
    // Route errors come before the body size.
    let big = "x".repeat(70 * 1024);
    let reply = app
        .raw(app.client.patch(app.url("/posts")).body(big))
        .await?;
    reply.problem(405)?;
    Ok(())
}

#[tokio::test]
async fn malformed_json_is_400_and_missing_fields_422() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let reply = app
        .raw(
            app.client
                .post(app.url("/auth/register"))
                .body("{\"username\": "),
        )
        .await?;
    reply.problem_code(400, "malformed_json")?;
    let reply = app
        .raw(app.client.post(app.url("/auth/login")).body(""))
        .await?;
    reply.problem(400)?;
    let missing = json!({"username": "ann", "password": "correct horse"});
    let reply = app
        .send(Method::POST, "/auth/register", None, Some(missing))
        .await?;
    assert_eq!(reply.problem(422)?.body["field"], "email");
    let wrong_type = json!({"username": 42, "email": "a@example.com", "password": "correct horse"});
    let reply = app
        .send(Method::POST, "/auth/register", None, Some(wrong_type))
        .await?;
    assert_eq!(reply.problem(422)?.body["field"], "username");
    let not_object = json!(["ann"]);
    app.send(Method::POST, "/auth/register", None, Some(not_object))
        .await?
        .problem(422)?;
    let login_missing = json!({"login": "ann"});
    let reply = app
        .send(Method::POST, "/auth/login", None, Some(login_missing))
        .await?;
    assert_eq!(reply.problem(422)?.body["field"], "password");
    Ok(())
}

#[tokio::test]
async fn field_boundaries_over_http() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let cases = [
        ("ab", "a1@example.com", "correct horse", Some("username")),
        (
            &*"u".repeat(31),
            "a2@example.com",
            "correct horse",
            Some("username"),
        ),
        (
            "bad-name",
            "a3@example.com",
            "correct horse",
            Some("username"),
        ),
        ("abc", "a4@example.com", "correct horse", None),
        (&*"v".repeat(30), "a5@example.com", "correct horse", None),
        ("pw7", "a6@example.com", "1234567", Some("password")),
        ("pw8", "a7@example.com", "12345678", None),
        ("pw72", "a8@example.com", &*"p".repeat(72), None),
        ("pw73", "a9@example.com", &*"p".repeat(73), Some("password")),
        ("mail1", "no-at-sign", "correct horse", Some("email")),
        ("mail2", "ann@nodot", "correct horse", Some("email")),
        ("mail3", "a b@example.com", "correct horse", Some("email")),
    ];
    for (username, email, password, bad_field) in cases {
        let body = register_body(username, email, password);
        let reply = app
            .send(Method::POST, "/auth/register", None, Some(body))
            .await?;
        match bad_field {
            Some(field) => {
                let detail = reply.problem(422)?.body["detail"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                assert_eq!(reply.body["field"], field, "{username}");
                assert!(detail.contains(field), "detail {detail:?} names the field");
                app.get(&format!("/users/{username}"), None)
                    .await?
                    .problem(404)?;
            }
            None => {
                reply.ok(201)?;
            }
        }
    }
    let display = json!({"username": "disp", "email": "d@example.com", "password": "correct horse", "display_name": "   "});
    app.send(Method::POST, "/auth/register", None, Some(display))
        .await?
        .problem(422)?;
    Ok(())
}

#[tokio::test]
async fn conflicts_ignore_letter_case_and_change_nothing() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    app.send(
        Method::POST,
        "/auth/register",
        None,
        Some(register_body("Ann", "Ann@Example.com", "correct horse")),
    )
    .await?
    .ok(201)?;
    let same_name = register_body("aNN", "other@example.com", "correct horse");
    app.send(Method::POST, "/auth/register", None, Some(same_name))
        .await?
        .problem_code(409, "username_taken")?;
    let same_mail = register_body("other", "ANN@EXAMPLE.COM", "correct horse");
    app.send(Method::POST, "/auth/register", None, Some(same_mail))
        .await?
        .problem_code(409, "email_taken")?;
    app.get("/users/other", None).await?.problem(404)?;
    // The original password still works, and no extra mail went out.
    app.login("ann@example.com", "correct horse").await?;
    rookery_test_support::eventually("one welcome mail", || async {
        Ok(app.mails_to("ann@example.com").await? == 1)
    })
    .await?;
    Ok(())
}

#[tokio::test]
async fn login_failures_are_alike() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    app.user("ann").await?;
    let wrong = json!({"login": "ann", "password": "wrong horse"});
    let unknown = json!({"login": "nobody", "password": "correct horse"});
    let overlong = json!({"login": "ann", "password": "p".repeat(100)});
    let a = app
        .send(Method::POST, "/auth/login", None, Some(wrong))
        .await?;
    let b = app
        .send(Method::POST, "/auth/login", None, Some(unknown))
        .await?;
    let c = app
        .send(Method::POST, "/auth/login", None, Some(overlong))
        .await?;
    a.problem(401)?;
    b.problem(401)?;
    c.problem(401)?;
    assert_eq!(
        a.body, b.body,
        "unknown user and wrong password must read the same"
    );
    // A login no user can have (neither a username nor an address) is refused the same way.
    for impossible in ["a b", "an@", "x", "ann@@example.com"] {
        let d = app
            .send(
                Method::POST,
                "/auth/login",
                None,
                Some(json!({"login": impossible, "password": "correct horse"})),
            )
            .await?;
        d.problem(401)?;
        assert_eq!(a.body, d.body, "login {impossible:?}");
    }
    // A username logs in whatever its case, an address too.
    app.login("ANN", "correct horse").await?;
    app.login(&app.email("ann").to_uppercase(), "correct horse")
        .await?;
    Ok(())
}

#[tokio::test]
async fn body_limit_comes_before_token_and_json() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let token = app.user("ann").await?;
    let big = json!({"content": "x".repeat(65 * 1024)}).to_string();
    let with_token = app
        .client
        .post(app.url("/posts"))
        .bearer_auth(&token)
        .body(big.clone());
    app.raw(with_token).await?.problem(413)?;
    let without_token = app.client.post(app.url("/posts")).body(big.clone());
    app.raw(without_token).await?.problem(413)?;
    // Declared by size only as the body streams in (no Content-Length).
    let stream = futures::stream::iter((0..80).map(|_| Ok::<_, std::io::Error>(vec![b' '; 1024])));
    let chunked = app
        .client
        .post(app.url("/auth/register"))
        .body(reqwest::Body::wrap_stream(stream));
    app.raw(chunked).await?.problem(413)?;
    // Just under the limit is read (and then judged on its fields).
    let fits = json!({"content": "x".repeat(60 * 1024)});
    app.send(Method::POST, "/posts", Some(&token), Some(fits))
        .await?
        .problem(422)?;
    // Token before JSON syntax: no token and broken JSON is 401.
    let broken = app.client.post(app.url("/posts")).body("{");
    app.raw(broken).await?.problem(401)?;
    let broken = app
        .client
        .post(app.url("/posts"))
        .bearer_auth(&token)
        .body("{");
    app.raw(broken).await?.problem(400)?;
    assert_eq!(app.feed_ids("/users/ann/posts", None).await?.len(), 0);
    Ok(())
}

#[tokio::test]
async fn post_rules_permissions_and_pages() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let ann = app.user("ann").await?;
    let bob = app.user("bob").await?;
    for (content, ok) in [
        ("a".repeat(280), true),
        ("🦜".repeat(280), true),
        ("a".repeat(281), false),
        ("   \n\t".to_owned(), false),
        (String::new(), false),
    ] {
        let reply = app
            .send(
                Method::POST,
                "/posts",
                Some(&ann),
                Some(json!({"content": content})),
            )
            .await?;
        if ok {
            reply.ok(201)?;
        } else {
            assert_eq!(reply.problem(422)?.body["field"], "content");
        }
    }
    let post = app.post(&ann, "mine").await?;
    let path = format!("/posts/{post}");
    app.send(Method::DELETE, &path, Some(&bob), None)
        .await?
        .problem(403)?;
    app.get(&path, None).await?.ok(200)?;
    app.send(Method::DELETE, &path, None, None)
        .await?
        .problem(401)?;
    app.get("/posts/not-a-uuid", None).await?.problem(404)?;
    app.get("/posts/0190c5e0-0000-7000-8000-000000000000", None)
        .await?
        .problem(404)?;
    app.send(
        Method::DELETE,
        "/posts/0190c5e0-0000-7000-8000-000000000000",
        Some(&bob),
        None,
    )
    .await?
    .problem(404)?;

    app.follow(&ann, "ann").await?.problem(422)?;
    app.unfollow(&ann, "ANN").await?.problem(422)?;
    app.follow(&ann, "nobody").await?.problem(404)?;
    app.unfollow(&ann, "nobody").await?.problem(404)?;
    app.get("/users/nobody", None).await?.problem(404)?;
    app.get("/users/nobody/posts", None).await?.problem(404)?;
    app.get("/users/nobody/followers", None)
        .await?
        .problem(404)?;
    app.get("/users/nobody/following", None)
        .await?
        .problem(404)?;

    for bad in ["0", "101", "-1", "ten", "1.5"] {
        let reply = app.get(&format!("/feed?limit={bad}"), Some(&ann)).await?;
        assert_eq!(reply.problem(422)?.body["field"], "limit");
        app.get(&format!("/users/ann/followers?limit={bad}"), None)
            .await?
            .problem(422)?;
    }
    app.get("/feed?limit=100", Some(&ann)).await?.ok(200)?;
    app.get("/feed?cursor=garbage", Some(&ann))
        .await?
        .problem_code(400, "invalid_cursor")?;
    app.get("/users/ann/posts?cursor=%21%21", None)
        .await?
        .problem(400)?;
    app.get("/users/ann/following?cursor=garbage", None)
        .await?
        .problem(400)?;
    // A post cursor is not a follower cursor.
    let page = app.get("/users/ann/posts?limit=1", None).await?;
    let cursor = page.ok(200)?["next_cursor"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    app.get(&format!("/users/ann/followers?cursor={cursor}"), None)
        .await?
        .problem(400)?;
    Ok(())
}

#[tokio::test]
async fn health_and_openapi_are_public() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let health = app.get("/health", None).await?;
    let body = health.ok(200)?;
    assert_eq!(body["status"], "ok");
    for check in ["database", "feed_cache", "event_bus"] {
        assert_eq!(body["checks"][check], "ok", "{check}");
    }
    app.get("/openapi.json", None).await?.ok(200)?;
    Ok(())
}
