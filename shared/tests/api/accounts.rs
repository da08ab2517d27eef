//! DESIGN 4.3 over HTTP: profiles with bios and relationships, user search, sessions (refresh,
//! reuse detection, logout), password change, erasure, and the public keys.

use reqwest::Method;
use serde_json::{Value, json};

use rookery::domain::{Event, EventPayload, UserId};
use rookery::ports::EventPublisher as _;
use rookery_test_support::{Backend, TestApp, eventually, service_url};

/// Logs in and returns the whole answer (access and refresh tokens).
async fn login(app: &TestApp, user: &str, password: &str) -> anyhow::Result<Value> {
    let reply = app
        .send(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"login": user, "password": password})),
        )
        .await?;
    Ok(reply.ok(200)?.clone())
}

fn token(tokens: &Value, which: &str) -> String {
    tokens[which].as_str().unwrap_or_default().to_owned()
}

async fn refresh(
    app: &TestApp,
    refresh_token: &str,
) -> anyhow::Result<rookery_test_support::Reply> {
    app.send(
        Method::POST,
        "/auth/refresh",
        None,
        Some(json!({"refresh_token": refresh_token})),
    )
    .await
}

#[tokio::test]
async fn profiles_have_bios_and_relationships() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let ann = app.user("ann").await?;
    let bob = app.user("bob").await?;
    let me = app.get("/me", Some(&ann)).await?;
    anyhow::ensure!(me.ok(200)?["bio"] == "", "a new bio is empty: {}", me.body);

    let patch = |body: Value| app.send(Method::PATCH, "/me", Some(&ann), Some(body));
    let changed =
        patch(json!({"display_name": "  Ann Lee ", "bio": " Hello\nthere ", "email": "x@y.z"}))
            .await?;
    let changed = changed.ok(200)?;
    assert_eq!(changed["display_name"], "Ann Lee");
    assert_eq!(changed["bio"], "Hello\nthere");
    assert_eq!(
        changed["email"],
        app.email("ann"),
        "other fields are ignored"
    );
    let same = patch(json!({})).await?;
    assert_eq!(same.ok(200)?["bio"], "Hello\nthere", "{{}} changes nothing");
    patch(json!({"bio": "ü".repeat(161)})).await?.problem(422)?;
    patch(json!({"display_name": "   "})).await?.problem(422)?;
    let after = app.get("/users/ann", None).await?;
    assert_eq!(
        after.ok(200)?["bio"],
        "Hello\nthere",
        "a refused patch changed something"
    );
    assert!(
        after.body.get("relationship").is_none(),
        "relationship without a token"
    );
    app.send(Method::PATCH, "/me", None, Some(json!({"bio": "x"})))
        .await?
        .problem(401)?;

    app.follow(&bob, "ann").await?.ok(204)?;
    let seen_by_bob = app.get("/users/ann", Some(&bob)).await?;
    assert_eq!(
        seen_by_bob.ok(200)?["relationship"],
        json!({"following": true, "followed_by": false, "blocking": false, "muting": false})
    );
    let seen_by_ann = app.get("/users/bob", Some(&ann)).await?;
    assert_eq!(seen_by_ann.ok(200)?["relationship"]["followed_by"], true);
    assert_eq!(seen_by_ann.body["relationship"]["following"], false);
    app.get("/users/ann", Some("not-a-token"))
        .await?
        .problem(401)?;
    Ok(())
}

#[tokio::test]
async fn users_are_found_by_the_start_of_their_names() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    for name in ["carla", "Carl_b", "carmen", "dave"] {
        app.register(name).await?.ok(201)?;
    }
    let dave = app.login("dave", "correct horse").await?;
    app.send(
        Method::PATCH,
        "/me",
        Some(&dave),
        Some(json!({"display_name": "Çarlos Dave"})),
    )
    .await?
    .ok(200)?;
    let names = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|u| u["username"].as_str().map(str::to_owned))
            .collect()
    };
    let found = app.get("/users?query=CAR", None).await?;
    assert_eq!(names(found.ok(200)?), ["Carl_b", "carla", "carmen"]);
    let by_display_name = app.get("/users?query=%C3%A7ar", None).await?;
    assert_eq!(names(by_display_name.ok(200)?), ["dave"]);
    let first = app.get("/users?query=car&limit=2", None).await?;
    let first = first.ok(200)?.clone();
    assert_eq!(names(&first), ["Carl_b", "carla"]);
    let cursor = first["next_cursor"].as_str().unwrap_or_default().to_owned();
    let rest = app
        .get(&format!("/users?query=car&limit=2&cursor={cursor}"), None)
        .await?;
    assert_eq!(names(rest.ok(200)?), ["carmen"]);
    assert!(rest.body["next_cursor"].is_null());
    assert_eq!(
        names(app.get("/users?query=zed", None).await?.ok(200)?),
        Vec::<String>::new()
    );
    for bad in [
        "/users",
        "/users?query=",
        &format!("/users?query={}", "a".repeat(31)),
        "/users?query=a&limit=0",
    ] {
        app.get(bad, None).await?.problem(422)?;
    }
    app.get("/users?query=a&cursor=bogus", None)
        .await?
        .problem(400)?;
    Ok(())
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_ends_its_session() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    app.register("ann").await?.ok(201)?;
    let first = login(&app, "ann", "correct horse").await?;
    let other_session = login(&app, "ann", "correct horse").await?;

    let second = refresh(&app, &token(&first, "refresh_token")).await?;
    let second = second.ok(200)?.clone();
    assert_eq!(second["token_type"], "Bearer");
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    app.get("/me", Some(&token(&second, "access_token")))
        .await?
        .ok(200)?;

    // The spent token again: a copy is in someone else's hands. The whole session ends: its
    // newest refresh token and its access tokens stop working; the other session does not.
    refresh(&app, &token(&first, "refresh_token"))
        .await?
        .problem(401)?;
    refresh(&app, &token(&second, "refresh_token"))
        .await?
        .problem(401)?;
    app.get("/me", Some(&token(&second, "access_token")))
        .await?
        .problem(401)?;
    app.get("/me", Some(&token(&first, "access_token")))
        .await?
        .problem(401)?;
    app.get("/me", Some(&token(&other_session, "access_token")))
        .await?
        .ok(200)?;

    refresh(&app, "never-issued-never-issued-never-issued-0000")
        .await?
        .problem(401)?;
    refresh(&app, "short").await?.problem(401)?;
    app.send(Method::POST, "/auth/refresh", None, Some(json!({})))
        .await?
        .problem(422)?;
    app.send(
        Method::POST,
        "/auth/refresh",
        None,
        Some(json!({"refresh_token": 7})),
    )
    .await?
    .problem(422)?;

    // Logout ends the other session; a token nobody knows is no error.
    let logout = |refresh_token: String| {
        app.send(
            Method::POST,
            "/auth/logout",
            None,
            Some(json!({"refresh_token": refresh_token})),
        )
    };
    let status = logout(token(&other_session, "refresh_token")).await?.status;
    assert_eq!(status.as_u16(), 204);
    refresh(&app, &token(&other_session, "refresh_token"))
        .await?
        .problem(401)?;
    app.get("/me", Some(&token(&other_session, "access_token")))
        .await?
        .problem(401)?;
    assert_eq!(logout("nobody-knows".into()).await?.status.as_u16(), 204);
    Ok(())
}

#[tokio::test]
async fn a_password_change_ends_every_session() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    app.register("ann").await?.ok(201)?;
    let a = login(&app, "ann", "correct horse").await?;
    let b = login(&app, "ann", "correct horse").await?;
    let access = token(&a, "access_token");
    let change = |body: Value| app.send(Method::PUT, "/me/password", Some(&access), Some(body));

    change(json!({"current_password": "wrong horse", "new_password": "battery staple"}))
        .await?
        .problem(403)?;
    let short =
        change(json!({"current_password": "correct horse", "new_password": "short"})).await?;
    short.problem(422)?;
    anyhow::ensure!(
        short.body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("new_password"),
        "the detail names new_password: {}",
        short.body
    );
    change(json!({"current_password": "correct horse"}))
        .await?
        .problem(422)?;
    app.get("/me", Some(&access)).await?.ok(200)?; // nothing refused changed anything

    let done =
        change(json!({"current_password": "correct horse", "new_password": "battery staple"}))
            .await?;
    assert_eq!(done.status.as_u16(), 204, "{}", done.body);
    for session in [&a, &b] {
        app.get("/me", Some(&token(session, "access_token")))
            .await?
            .problem(401)?;
        refresh(&app, &token(session, "refresh_token"))
            .await?
            .problem(401)?;
    }
    app.send(
        Method::POST,
        "/auth/login",
        None,
        Some(json!({"login": "ann", "password": "correct horse"})),
    )
    .await?
    .problem(401)?;
    let fresh = login(&app, "ann", "battery staple").await?;
    app.get("/me", Some(&token(&fresh, "access_token")))
        .await?
        .ok(200)?;
    Ok(())
}

#[tokio::test]
async fn the_public_keys_verify_the_tokens() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    app.register("ann").await?.ok(201)?;
    let tokens = login(&app, "ann", "correct horse").await?;
    let jwks = app.get("/.well-known/jwks.json", None).await?;
    let jwks = jwks.ok(200)?.clone();
    let access = token(&tokens, "access_token");
    let header = jsonwebtoken::decode_header(&access)?;
    let key = jwks["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|k| k["kid"].as_str() == header.kid.as_deref())
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("the token's kid is not in {jwks}"))?;
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    assert!(
        key.get("d").is_none(),
        "the private part is published: {key}"
    );
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(key)?;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_audience(&["rookery-api"]);
    validation.set_issuer(&["rookery"]);
    let claims = jsonwebtoken::decode::<Value>(
        &access,
        &jsonwebtoken::DecodingKey::from_jwk(&jwk)?,
        &validation,
    )?;
    assert!(claims.claims["sub"].is_string());
    Ok(())
}

#[tokio::test]
async fn an_erased_account_leaves_nothing_embedded() -> anyhow::Result<()> {
    erasure(Backend::Embedded, &[]).await
}

#[tokio::test]
async fn an_erased_account_leaves_nothing_on_real_services() -> anyhow::Result<()> {
    erasure(Backend::RealServices, &[]).await
}

#[tokio::test]
async fn an_erased_account_leaves_nothing_with_the_graph_in_neo4j() -> anyhow::Result<()> {
    let neo4j = [
        ("NEO4J_URI", service_url("TEST_NEO4J_URI")),
        ("NEO4J_USER", service_url("TEST_NEO4J_USER")),
        ("NEO4J_PASSWORD", service_url("TEST_NEO4J_PASSWORD")),
    ];
    let extra: Vec<(&str, &str)> = neo4j.iter().map(|(k, v)| (*k, v.as_str())).collect();
    erasure(Backend::RealServices, &extra).await
}

/// Ann posts, likes, reposts, replies, follows and is followed, then erases her account: every
/// answer forgets her within seconds, counts included, and her name registers again at once.
async fn erasure(backend: Backend, extra: &[(&str, &str)]) -> anyhow::Result<()> {
    let app = TestApp::spawn_on(backend, extra).await?;
    let ann = app.user("ann").await?;
    let bob = app.user("bob").await?;
    let ann_id = app.get("/me", Some(&ann)).await?.str("id")?;
    app.follow(&ann, "bob").await?.ok(204)?;
    app.follow(&bob, "ann").await?.ok(204)?;
    let bobs = app.post(&bob, "bob's post").await?;
    let anns = app.post(&ann, "ann's post, hi @bob #erasure").await?;
    let reply = json!({"content": "ann replies", "in_reply_to": bobs});
    app.send(Method::POST, "/posts", Some(&ann), Some(reply))
        .await?
        .ok(201)?;
    app.send(
        Method::PUT,
        &format!("/posts/{bobs}/like"),
        Some(&ann),
        None,
    )
    .await?;
    app.send(
        Method::PUT,
        &format!("/posts/{bobs}/repost"),
        Some(&ann),
        None,
    )
    .await?;
    app.send(
        Method::PUT,
        &format!("/posts/{anns}/like"),
        Some(&bob),
        None,
    )
    .await?;
    eventually("bob's feed holds ann's post", || app.home_has(&bob, &anns)).await?;
    eventually("bob is notified", || async {
        let count = app.get("/notifications/unread_count", Some(&bob)).await?;
        Ok(count.body["count"].as_u64().unwrap_or_default() >= 3)
    })
    .await?;

    let delete = |password: &str| {
        app.send(
            Method::DELETE,
            "/me",
            Some(&ann),
            Some(json!({"password": password})),
        )
    };
    delete("wrong horse").await?.problem(403)?;
    app.get("/me", Some(&ann)).await?.ok(200)?;
    let done = delete("correct horse").await?;
    assert_eq!(done.status.as_u16(), 204, "{}", done.body);

    app.get("/me", Some(&ann)).await?.problem(401)?;
    app.get("/users/ann", None).await?.problem(404)?;
    app.get(&format!("/posts/{anns}"), None)
        .await?
        .problem(404)?;
    let post = app.get(&format!("/posts/{bobs}"), None).await?;
    let post = post.ok(200)?;
    assert_eq!(post["like_count"], 0, "{post}");
    assert_eq!(post["repost_count"], 0, "{post}");
    assert_eq!(post["reply_count"], 0, "{post}");
    let tagged = app.get("/tags/erasure/posts", None).await?;
    assert_eq!(tagged.ok(200)?["items"], json!([]), "{}", tagged.body);
    eventually(
        "ann leaves bob's counts, feed and notifications",
        || async {
            let bob_profile = app.get("/users/bob", None).await?;
            let feed = app.feed_ids("/feed", Some(&bob)).await?;
            let notes = app.get("/notifications", Some(&bob)).await?;
            Ok(bob_profile.body["followers_count"] == 0
                && bob_profile.body["following_count"] == 0
                && feed.iter().all(|id| *id != anns)
                && notes.body["items"] == json!([]))
        },
    )
    .await?;
    let followers = app.get("/users/bob/followers", None).await?;
    assert_eq!(followers.ok(200)?["items"], json!([]));
    let search = app.get("/users?query=ann", None).await?;
    assert_eq!(search.ok(200)?["items"], json!([]));
    nothing_left_inside(&app, &ann_id, &[&anns], backend, !extra.is_empty()).await?;

    // The name and the address are free at once.
    app.register("ann").await?.ok(201)?;
    let again = app.login("ann", "correct horse").await?;
    let fresh = app.get("/me", Some(&again)).await?;
    assert_eq!(fresh.ok(200)?["posts_count"], 0);
    assert_eq!(fresh.body["followers_count"], 0);
    Ok(())
}

/// `DELETE /me` with the right password.
async fn erase(app: &TestApp, token: &str) -> anyhow::Result<rookery_test_support::Reply> {
    app.send(
        Method::DELETE,
        "/me",
        Some(token),
        Some(json!({"password": "correct horse"})),
    )
    .await
}

/// A `post.created` that reaches the fan-out only after its author was erased (a slow queue, a
/// redelivery) writes nothing: the post cache still holds the post for a day, but the fan-out
/// asks the store.
#[tokio::test]
async fn a_post_event_late_for_an_erased_author_writes_no_feed() -> anyhow::Result<()> {
    let app = TestApp::spawn_on(Backend::RealServices, &[]).await?;
    let ann = app.user("ann").await?;
    let ann_id: UserId = app.get("/me", Some(&ann)).await?.str("id")?.parse()?;
    let post = app.post(&ann, "soon gone").await?;
    eventually("ann's feed holds her post", || app.home_has(&ann, &post)).await?;
    erase(&app, &ann).await?.ok(204)?;
    let client = redis::Client::open(service_url("TEST_REDIS_URL"))?;
    let redis = client.get_multiplexed_async_connection().await?;
    let pattern = format!("feed:{{*:{ann_id}}}*");
    let ann_keys = || async {
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(&pattern)
            .query_async(&mut redis.clone())
            .await?;
        anyhow::Ok(keys)
    };
    eventually("the erasure cleans ann's feeds", || async {
        Ok(ann_keys().await?.is_empty())
    })
    .await?;

    let late = Event::new(EventPayload::PostCreated {
        post_id: post.parse()?,
        author_id: ann_id,
        in_reply_to: None,
        reply_to_author: None,
        mentions: Vec::new(),
    });
    app.embedded.dispatcher.publish(&late).await?;
    let left = ann_keys().await?;
    anyhow::ensure!(left.is_empty(), "the late event wrote {left:?}");
    Ok(())
}

/// The erasure takes the user's posts out of followers' feeds even when the user's own feed
/// is no longer cached (expired, or flushed with Redis): `user.deleted` names them.
#[tokio::test]
async fn an_erasure_reaches_followers_without_the_users_cached_feed() -> anyhow::Result<()> {
    let app = TestApp::spawn_on(Backend::RealServices, &[]).await?;
    let ann = app.user("ann").await?;
    let bob = app.user("bob").await?;
    let ann_id = app.get("/me", Some(&ann)).await?.str("id")?;
    let bob_id = app.get("/me", Some(&bob)).await?.str("id")?;
    app.follow(&bob, "ann").await?.ok(204)?;
    let post = app.post(&ann, "in bob's feed").await?;
    let client = redis::Client::open(service_url("TEST_REDIS_URL"))?;
    let redis = client.get_multiplexed_async_connection().await?;
    let bobs_home = format!("feed:{{home:{bob_id}}}");
    let in_bobs_home = || async {
        let members: Vec<String> = redis::cmd("ZRANGE")
            .arg(&bobs_home)
            .arg(0)
            .arg(-1)
            .query_async(&mut redis.clone())
            .await?;
        anyhow::Ok(members.iter().any(|member| member.contains(&post)))
    };
    eventually("the post reaches bob's cached feed", in_bobs_home).await?;
    redis::cmd("DEL")
        .arg(format!("feed:{{user:{ann_id}}}"))
        .exec_async(&mut redis.clone())
        .await?;

    erase(&app, &ann).await?.ok(204)?;
    eventually("the post leaves bob's cached feed", || async {
        Ok(!in_bobs_home().await?)
    })
    .await
}

/// Posts are read through the Redis post cache there: a new display name still shows at once.
#[tokio::test]
async fn a_new_display_name_shows_on_cached_posts() -> anyhow::Result<()> {
    let app = TestApp::spawn_on(Backend::RealServices, &[]).await?;
    let ann = app.user("ann").await?;
    let post = app.post(&ann, "cache me").await?;
    let before = app.get(&format!("/posts/{post}"), None).await?;
    assert_eq!(before.ok(200)?["author"]["display_name"], "ann");
    app.send(
        Method::PATCH,
        "/me",
        Some(&ann),
        Some(json!({"display_name": "Ann Lee"})),
    )
    .await?
    .ok(200)?;
    let after = app.get(&format!("/posts/{post}"), None).await?;
    assert_eq!(after.ok(200)?["author"]["display_name"], "Ann Lee");
    let feed = app.get("/users/ann/posts", None).await?;
    assert_eq!(
        feed.ok(200)?["items"][0]["author"]["display_name"],
        "Ann Lee"
    );
    Ok(())
}

/// Looks into each store the app uses (not through the API) for what the erased user left.
async fn nothing_left_inside(
    app: &TestApp,
    user: &str,
    posts: &[&str],
    backend: Backend,
    neo4j: bool,
) -> anyhow::Result<()> {
    let db = app.sqlite().await?;
    for (what, sql) in [
        ("user row", "SELECT count(*) FROM users WHERE id = ?1"),
        ("posts", "SELECT count(*) FROM posts WHERE author_id = ?1"),
        ("likes", "SELECT count(*) FROM likes WHERE user_id = ?1"),
        ("reposts", "SELECT count(*) FROM reposts WHERE user_id = ?1"),
        (
            "mentions",
            "SELECT count(*) FROM post_mentions WHERE user_id = ?1",
        ),
        (
            "notifications",
            "SELECT count(*) FROM notifications WHERE recipient = ?1 OR actor_id = ?1",
        ),
        (
            "live sessions",
            "SELECT count(*) FROM sessions WHERE user_id = ?1 AND revoked_at IS NULL",
        ),
        (
            "refresh tokens",
            "SELECT count(*) FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE user_id = ?1)",
        ),
        (
            "graph edges",
            "SELECT count(*) FROM follows WHERE follower_id = ?1 OR followee_id = ?1",
        ),
        (
            "graph node",
            "SELECT count(*) FROM graph_nodes WHERE user_id = ?1",
        ),
    ] {
        let n: i64 = sqlx::query_scalar(sql).bind(user).fetch_one(&db).await?;
        anyhow::ensure!(n == 0, "SQLite keeps {n} {what} of the erased user");
    }
    // Sent events keep nothing personal: not the name, not the address (the id alone, which
    // names no one once the account is gone, stays in user.deleted itself).
    let personal: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL AND (instr(payload, ?1) > 0 OR instr(payload, ?2) > 0)",
    )
    .bind(app.email("ann"))
    .bind("ann's post")
    .fetch_one(&db)
    .await?;
    anyhow::ensure!(
        personal == 0,
        "{personal} sent outbox payloads still hold the user's data"
    );
    if backend == Backend::RealServices {
        let client = redis::Client::open(service_url("TEST_REDIS_URL"))?;
        let mut redis = client.get_multiplexed_async_connection().await?;
        for pattern in [
            format!("feed:{{home:{user}}}*"),
            format!("feed:{{user:{user}}}*"),
            format!("graph:{{{user}}}*"),
        ] {
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg(&pattern)
                .query_async(&mut redis)
                .await?;
            anyhow::ensure!(keys.is_empty(), "Redis keeps {keys:?}");
        }
        let feeds: Vec<String> = redis::cmd("KEYS")
            .arg("feed:{home:*}")
            .query_async(&mut redis)
            .await?;
        for feed in feeds
            .iter()
            .filter(|k| !k.ends_with(":ready") && !k.ends_with(":reposts"))
        {
            let members: Vec<String> = redis::cmd("ZRANGE")
                .arg(feed)
                .arg(0)
                .arg(-1)
                .query_async(&mut redis)
                .await?;
            for post in posts {
                anyhow::ensure!(
                    !members.iter().any(|m| m.contains(*post)),
                    "{feed} still holds the erased user's post {post}"
                );
            }
        }
    }
    if neo4j {
        let graph = neo4rs::Graph::new(
            service_url("TEST_NEO4J_URI"),
            service_url("TEST_NEO4J_USER"),
            service_url("TEST_NEO4J_PASSWORD"),
        )?;
        let mut rows = graph
            .execute(
                neo4rs::query("MATCH (u:User {id: $id}) RETURN count(u) AS n").param("id", user),
            )
            .await?;
        let n: i64 = match rows.next().await? {
            Some(row) => row.get("n")?,
            None => 0,
        };
        anyhow::ensure!(n == 0, "Neo4j keeps the erased user's node");
    }
    Ok(())
}
