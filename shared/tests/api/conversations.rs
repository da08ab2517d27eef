//! Two users converse (post, reply, reply to the reply, context both ways), a third likes;
//! counts, viewer state, mentions, tags, the reply rule of home feeds, and undo and delete
//! cleaning up, over HTTP on the embedded default and on the real services.

use reqwest::Method;
use serde_json::{Value, json};

use rookery_test_support::{Backend, TestApp, eventually};

async fn reply(app: &TestApp, token: &str, parent: &str, content: &str) -> anyhow::Result<String> {
    let body = json!({"content": content, "in_reply_to": parent});
    let answer = app
        .send(Method::POST, "/posts", Some(token), Some(body))
        .await?;
    answer.ok(201)?;
    answer.str("id")
}

async fn view(app: &TestApp, id: &str, token: Option<&str>) -> anyhow::Result<Value> {
    Ok(app
        .get(&format!("/posts/{id}"), token)
        .await?
        .ok(200)?
        .clone())
}

fn ids(items: &Value) -> Vec<String> {
    items
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item["id"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_conversation_embedded() -> anyhow::Result<()> {
    a_conversation(Backend::Embedded).await
}

#[tokio::test]
async fn a_conversation_on_real_services() -> anyhow::Result<()> {
    a_conversation(Backend::RealServices).await
}

/// Redis, RabbitMQ and SMTP as above, and the follow graph in Neo4j.
#[tokio::test]
async fn a_conversation_with_the_graph_in_neo4j() -> anyhow::Result<()> {
    use rookery_test_support::service_url;
    let neo4j = [
        ("NEO4J_URI", service_url("TEST_NEO4J_URI")),
        ("NEO4J_USER", service_url("TEST_NEO4J_USER")),
        ("NEO4J_PASSWORD", service_url("TEST_NEO4J_PASSWORD")),
    ];
    let extra: Vec<(&str, &str)> = neo4j.iter().map(|(k, v)| (*k, v.as_str())).collect();
    a_conversation_with(Backend::RealServices, &extra).await
}

async fn a_conversation(backend: Backend) -> anyhow::Result<()> {
    a_conversation_with(backend, &[]).await
}

async fn a_conversation_with(backend: Backend, extra: &[(&str, &str)]) -> anyhow::Result<()> {
    let app = TestApp::spawn_on(backend, extra).await?;
    let ann = app.user("ann").await?;
    let bob = app.user("bob").await?;
    let cat = app.user("cat").await?;
    app.follow(&cat, "ann").await?.ok(204)?;

    // Ann posts, mentioning bob (twice), a name nobody has, and tags.
    let root = app
        .post(&ann, "Hi @bob and @BOB, @nobody_here! #Rust #rust #été")
        .await?;
    let root_view = view(&app, &root, None).await?;
    let bob_id = app.get("/users/bob", None).await?.str("id")?;
    assert_eq!(
        root_view["mentions"],
        json!([{"id": bob_id, "username": "bob"}])
    );
    assert_eq!(root_view["tags"], json!(["rust", "été"]));
    assert_eq!(root_view["in_reply_to"], Value::Null);
    assert_eq!(root_view["reply_count"], 0);
    assert!(
        root_view.get("liked_by_me").is_none(),
        "no viewer state without a token"
    );

    // Bob replies, ann replies to the reply.
    let r1 = reply(&app, &bob, &root, "@ann hello back").await?;
    let r2 = reply(&app, &ann, &r1, "and again").await?;
    let r1_view = view(&app, &r1, Some(&bob)).await?;
    assert_eq!(r1_view["in_reply_to"], root.as_str());
    assert_eq!(r1_view["reply_count"], 1);
    assert_eq!(r1_view["liked_by_me"], false);
    assert_eq!(view(&app, &root, None).await?["reply_count"], 1);

    // Replies and context, both ways.
    let replies = app.get(&format!("/posts/{root}/replies"), None).await?;
    assert_eq!(ids(&replies.ok(200)?["items"]), [r1.as_str()]);
    let from_leaf = app.get(&format!("/posts/{r2}/context"), None).await?;
    let from_leaf = from_leaf.ok(200)?;
    assert_eq!(ids(&from_leaf["ancestors"]), [root.clone(), r1.clone()]);
    assert_eq!(ids(&from_leaf["descendants"]), Vec::<String>::new());
    let from_root = app.get(&format!("/posts/{root}/context"), None).await?;
    let from_root = from_root.ok(200)?;
    assert_eq!(ids(&from_root["ancestors"]), Vec::<String>::new());
    assert_eq!(ids(&from_root["descendants"]), [r1.clone(), r2.clone()]);

    // The reply rule: cat follows ann but not bob. Ann's reply to bob's reply does not reach
    // cat; a reply by ann to ann does.
    let r3 = reply(&app, &ann, &root, "to myself").await?;
    eventually("ann's reply to herself reaches cat", || {
        app.home_has(&cat, &r3)
    })
    .await?;
    assert!(
        !app.home_has(&cat, &r2).await?,
        "a reply to a stranger reached cat"
    );
    assert!(
        app.home_has(&ann, &r2).await?,
        "ann's own reply is in her home feed"
    );
    let ann_posts = app.feed_ids("/users/ann/posts", None).await?;
    assert!(
        ann_posts.contains(&r2) && ann_posts.contains(&r3),
        "user feed keeps replies"
    );

    // Cat likes the root: counts and viewer state at once, the likes page, idempotence.
    for _ in 0..2 {
        app.send(
            Method::PUT,
            &format!("/posts/{root}/like"),
            Some(&cat),
            None,
        )
        .await?
        .ok(204)?;
    }
    let liked = view(&app, &root, Some(&cat)).await?;
    assert_eq!(
        (liked["like_count"].as_u64(), liked["liked_by_me"].as_bool()),
        (Some(1), Some(true))
    );
    assert_eq!(view(&app, &root, Some(&bob)).await?["liked_by_me"], false);
    let likes = app.get(&format!("/posts/{root}/likes"), None).await?;
    let likes = likes.ok(200)?;
    assert_eq!(likes["items"][0]["username"], "cat");
    let feed = app.all_pages("/feed", Some(&cat), 100).await?;
    let item = feed.iter().find(|item| item["id"] == root.as_str());
    assert_eq!(
        item.map(|i| (
            i["like_count"].clone(),
            i["liked_by_me"].clone(),
            i["reposted_by"].clone()
        )),
        Some((json!(1), json!(true), Value::Null))
    );

    // Cat reposts the root (twice: one repost), ann reposts her own: counts, state, the page.
    for who in [&cat, &cat, &ann] {
        app.send(
            Method::PUT,
            &format!("/posts/{root}/repost"),
            Some(who),
            None,
        )
        .await?
        .ok(204)?;
    }
    let reposted = view(&app, &root, Some(&cat)).await?;
    assert_eq!(
        (
            reposted["repost_count"].as_u64(),
            reposted["reposted_by_me"].as_bool()
        ),
        (Some(2), Some(true))
    );
    let reposters = app.get(&format!("/posts/{root}/reposts"), None).await?;
    let reposters: Vec<String> = reposters.ok(200)?["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| u["username"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(reposters, ["ann", "cat"], "newest repost first");
    for _ in 0..2 {
        app.send(
            Method::DELETE,
            &format!("/posts/{root}/repost"),
            Some(&ann),
            None,
        )
        .await?
        .ok(204)?;
    }
    assert_eq!(view(&app, &root, Some(&ann)).await?["repost_count"], 1);

    // Tags page, any case; a tag nobody used is empty; a bad tag is 422.
    let tagged = app.feed_ids("/tags/RUST/posts", None).await?;
    assert_eq!(tagged, [root.as_str()]);
    assert!(
        app.feed_ids("/tags/never_used_here/posts", None)
            .await?
            .is_empty()
    );
    app.get("/tags/not-a-tag/posts", None).await?.problem(422)?;

    // Undo and delete.
    app.send(
        Method::DELETE,
        &format!("/posts/{root}/like"),
        Some(&cat),
        None,
    )
    .await?
    .ok(204)?;
    app.send(
        Method::DELETE,
        &format!("/posts/{root}/like"),
        Some(&cat),
        None,
    )
    .await?
    .ok(204)?;
    assert_eq!(view(&app, &root, Some(&cat)).await?["like_count"], 0);
    app.send(Method::DELETE, &format!("/posts/{r1}"), Some(&bob), None)
        .await?
        .ok(204)?;
    assert_eq!(
        view(&app, &root, None).await?["reply_count"],
        1,
        "r3 is left"
    );
    let after = app.get(&format!("/posts/{r2}/context"), None).await?;
    assert_eq!(
        ids(&after.ok(200)?["ancestors"]),
        Vec::<String>::new(),
        "stops at the deleted parent"
    );
    assert_eq!(
        view(&app, &r2, None).await?["in_reply_to"],
        r1.as_str(),
        "a reply keeps naming its deleted parent"
    );
    Ok(())
}

#[tokio::test]
async fn bad_conversation_input_changes_nothing() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let ann = app.user("ann").await?;
    let post = app.post(&ann, "hello").await?;
    let unknown = rookery::domain::PostId::new().to_string();
    for (body, status) in [
        (json!({"content": "x", "in_reply_to": "not-an-id"}), 422),
        (json!({"content": "x", "in_reply_to": 5}), 422),
        (json!({"content": "x", "in_reply_to": unknown}), 404),
    ] {
        let answer = app
            .send(Method::POST, "/posts", Some(&ann), Some(body))
            .await?;
        answer.problem(status)?;
    }
    assert_eq!(
        app.feed_ids("/users/ann/posts", None).await?,
        [post.as_str()]
    );
    app.send(
        Method::PUT,
        &format!("/posts/{unknown}/like"),
        Some(&ann),
        None,
    )
    .await?
    .problem(404)?;
    app.send(Method::PUT, &format!("/posts/{post}/like"), None, None)
        .await?
        .problem(401)?;
    app.get(&format!("/posts/{unknown}/likes"), None)
        .await?
        .problem(404)?;
    app.get(&format!("/posts/{unknown}/replies"), None)
        .await?
        .problem(404)?;
    app.get(&format!("/posts/{unknown}/context"), None)
        .await?
        .problem(404)?;
    app.get(&format!("/posts/{post}/replies?limit=0"), None)
        .await?
        .problem(422)?;
    app.get(&format!("/posts/{post}/likes?cursor=zzz"), None)
        .await?
        .problem(400)?;
    // A public route refuses a bad token instead of ignoring it.
    app.get(&format!("/posts/{post}"), Some("not-a-token"))
        .await?
        .problem(401)?;
    assert_eq!(view(&app, &post, None).await?["like_count"], 0);
    Ok(())
}

#[tokio::test]
async fn notifications_embedded() -> anyhow::Result<()> {
    notifications_for_each_action(Backend::Embedded).await
}

#[tokio::test]
async fn notifications_on_real_services() -> anyhow::Result<()> {
    notifications_for_each_action(Backend::RealServices).await
}

/// `(type, actor, post id)` of each of the user's notifications, newest first.
async fn notifications_of(
    app: &TestApp,
    token: &str,
) -> anyhow::Result<Vec<(String, String, Option<String>)>> {
    // Pages of 4: in ann's list the reply and the mention of one post share the first page,
    // the follow is on the next.
    let items = app.all_pages("/notifications", Some(token), 4).await?;
    Ok(items
        .iter()
        .map(|n| {
            (
                n["type"].as_str().unwrap_or_default().to_owned(),
                n["actor"]["username"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                n["post"]["id"].as_str().map(str::to_owned),
            )
        })
        .collect())
}

async fn unread(app: &TestApp, token: &str) -> anyhow::Result<u64> {
    let answer = app.get("/notifications/unread_count", Some(token)).await?;
    answer.ok(200)?["count"]
        .as_u64()
        .ok_or_else(|| anyhow::anyhow!("no count"))
}

async fn notifications_for_each_action(backend: Backend) -> anyhow::Result<()> {
    let app = TestApp::spawn_on(backend, &[]).await?;
    let ann = app.user("ann").await?;
    let bob = app.user("bob").await?;
    let cat = app.user("cat").await?;
    let n = |kind: &str, actor: &str, post: Option<&String>| {
        (kind.to_owned(), actor.to_owned(), post.cloned())
    };

    app.follow(&bob, "ann").await?.ok(204)?;
    let root = app.post(&ann, "hello @ann, says ann").await?; // mentions herself: nothing
    let answer = reply(&app, &bob, &root, "hi @ann and @cat").await?;
    reply(&app, &ann, &root, "talking to myself").await?; // her own reply: nothing
    for _ in 0..2 {
        for (who, path) in [
            (&cat, format!("/posts/{root}/like")),
            (&ann, format!("/posts/{root}/like")),
        ] {
            app.send(Method::PUT, &path, Some(who), None)
                .await?
                .ok(204)?;
        }
    }
    // Unliked and liked again: still one like notification. Cat reposts last.
    app.send(
        Method::DELETE,
        &format!("/posts/{root}/like"),
        Some(&cat),
        None,
    )
    .await?
    .ok(204)?;
    app.send(
        Method::PUT,
        &format!("/posts/{root}/like"),
        Some(&cat),
        None,
    )
    .await?
    .ok(204)?;
    // Ann reposting her own post notifies nobody; cat's repost does.
    for who in [&ann, &cat] {
        app.send(
            Method::PUT,
            &format!("/posts/{root}/repost"),
            Some(who),
            None,
        )
        .await?
        .ok(204)?;
    }

    // Newest action first; the reply and the mention come from one post, in either order.
    let mut want = vec![
        n("repost", "cat", Some(&root)),
        n("like", "cat", Some(&root)),
        n("mention", "bob", Some(&answer)),
        n("reply", "bob", Some(&answer)),
        n("follow", "bob", None),
    ];
    want[2..4].sort();
    eventually("ann's notifications", || async {
        let mut got = notifications_of(&app, &ann).await?;
        if got.len() == 5 {
            got[2..4].sort();
        }
        Ok(got == want)
    })
    .await?;
    eventually("cat's mention", || async {
        Ok(notifications_of(&app, &cat).await? == vec![n("mention", "bob", Some(&answer))])
    })
    .await?;
    assert!(
        notifications_of(&app, &bob).await?.is_empty(),
        "bob did everything himself"
    );

    // The post of a notification is a post view, with the reader's state.
    let first = app.get("/notifications?limit=2", Some(&ann)).await?;
    let first = first.ok(200)?["items"][1].clone();
    assert_eq!(
        (
            first["post"]["like_count"].as_u64(),
            first["post"]["liked_by_me"].as_bool()
        ),
        (Some(2), Some(true))
    );
    assert_eq!(first["read"], false);

    // Unread count, marking up to one, then all.
    assert_eq!(unread(&app, &ann).await?, 5);
    let items = app.all_pages("/notifications", Some(&ann), 10).await?;
    let third = items[2]["id"].as_str().unwrap_or_default().to_owned();
    app.send(
        Method::POST,
        "/notifications/read",
        Some(&ann),
        Some(json!({"up_to": third})),
    )
    .await?
    .ok(204)?;
    assert_eq!(
        unread(&app, &ann).await?,
        2,
        "the third newest and everything older are read"
    );
    app.send(
        Method::POST,
        "/notifications/read",
        Some(&ann),
        Some(json!({"up_to": "nope"})),
    )
    .await?
    .problem(422)?;
    app.send(Method::POST, "/notifications/read", Some(&ann), None)
        .await?
        .ok(204)?;
    assert_eq!(unread(&app, &ann).await?, 0);

    // A deleted post takes its notifications with it.
    app.send(
        Method::DELETE,
        &format!("/posts/{answer}"),
        Some(&bob),
        None,
    )
    .await?
    .ok(204)?;
    assert_eq!(
        notifications_of(&app, &ann).await?,
        vec![
            n("repost", "cat", Some(&root)),
            n("like", "cat", Some(&root)),
            n("follow", "bob", None)
        ]
    );
    assert!(notifications_of(&app, &cat).await?.is_empty());
    app.get("/notifications", None).await?.problem(401)?;
    Ok(())
}

#[tokio::test]
async fn reposts_in_feeds_embedded() -> anyhow::Result<()> {
    reposts_in_feeds(Backend::Embedded).await
}

#[tokio::test]
async fn reposts_in_feeds_on_real_services() -> anyhow::Result<()> {
    reposts_in_feeds(Backend::RealServices).await
}

/// `(post id, reposted_by username)` of each item of a feed, newest first.
async fn items(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
) -> anyhow::Result<Vec<(String, Option<String>)>> {
    let items = app.all_pages(path, token, 2).await?;
    Ok(items
        .iter()
        .map(|item| {
            (
                item["id"].as_str().unwrap_or_default().to_owned(),
                item["reposted_by"]["username"].as_str().map(str::to_owned),
            )
        })
        .collect())
}

async fn repost_as(app: &TestApp, post: &str, token: &str) -> anyhow::Result<()> {
    app.send(
        Method::PUT,
        &format!("/posts/{post}/repost"),
        Some(token),
        None,
    )
    .await?
    .ok(204)?;
    Ok(())
}

async fn reposts_in_feeds(backend: Backend) -> anyhow::Result<()> {
    let mut app = TestApp::spawn_on(backend, &[]).await?;
    let ann = app.user("ann").await?;
    let bob = app.user("bob").await?;
    let cat = app.user("cat").await?;
    let dan = app.user("dan").await?;
    app.follow(&cat, "bob").await?.ok(204)?; // cat sees ann's post only through bob
    app.follow(&dan, "ann").await?.ok(204)?;
    app.follow(&dan, "bob").await?.ok(204)?; // dan sees it as itself
    let post = app.post(&ann, "worth sharing").await?;
    let own = app.post(&bob, "bob's own").await?;
    repost_as(&app, &post, &bob).await?;
    repost_as(&app, &post, &bob).await?;
    let via_bob = (post.clone(), Some("bob".to_owned()));
    let by_bob = (own.clone(), None);
    eventually("the repost reaches cat", || async {
        Ok(items(&app, "/feed", Some(&cat)).await? == vec![via_bob.clone(), by_bob.clone()])
    })
    .await?;
    assert_eq!(
        items(&app, "/users/bob/posts", None).await?,
        vec![via_bob.clone(), by_bob.clone()],
        "bob's user feed holds his repost"
    );
    let dan_feed = items(&app, "/feed", Some(&dan)).await?;
    assert_eq!(
        dan_feed
            .iter()
            .filter(|(id, _)| *id == post)
            .collect::<Vec<_>>(),
        [&(post.clone(), None)],
        "dan follows ann: the post is there once, as itself"
    );
    if backend == Backend::Embedded {
        // The feeds are rebuilt from the source of truth after a restart: the same entries.
        app.restart().await?;
        assert_eq!(
            items(&app, "/feed", Some(&cat)).await?,
            vec![via_bob.clone(), by_bob.clone()],
            "cat's feed rebuilt"
        );
    }

    // Undone: the entry it added goes, the post stays where it came as itself.
    app.send(
        Method::DELETE,
        &format!("/posts/{post}/repost"),
        Some(&bob),
        None,
    )
    .await?
    .ok(204)?;
    eventually("the undone repost leaves cat's feed", || async {
        Ok(items(&app, "/feed", Some(&cat)).await? == vec![by_bob.clone()])
    })
    .await?;
    assert_eq!(
        items(&app, "/users/bob/posts", None).await?,
        vec![by_bob.clone()]
    );
    assert!(
        items(&app, "/feed", Some(&dan))
            .await?
            .contains(&(post.clone(), None))
    );

    // Reposted again, then deleted: gone from every feed.
    repost_as(&app, &post, &bob).await?;
    eventually("the repost is back", || async {
        Ok(items(&app, "/feed", Some(&cat)).await?.contains(&via_bob))
    })
    .await?;
    app.send(Method::DELETE, &format!("/posts/{post}"), Some(&ann), None)
        .await?
        .ok(204)?;
    eventually("the deleted post leaves every feed", || async {
        Ok(
            items(&app, "/feed", Some(&cat)).await? == vec![by_bob.clone()]
                && items(&app, "/users/bob/posts", None).await? == vec![by_bob.clone()]
                && !items(&app, "/feed", Some(&dan))
                    .await?
                    .iter()
                    .any(|(id, _)| *id == post),
        )
    })
    .await?;
    Ok(())
}

/// A reposter above the fan-out threshold is not pushed to followers: the repost is merged in
/// when they read, in its place and once.
#[tokio::test]
async fn reposts_by_popular_users_are_merged_at_read_time() -> anyhow::Result<()> {
    let app = TestApp::spawn_on(Backend::Embedded, &[("FANOUT_THRESHOLD", "2")]).await?;
    let ann = app.user("ann").await?;
    let star = app.user("star").await?;
    let fan1 = app.user("fan1").await?;
    let fan2 = app.user("fan2").await?;
    app.follow(&fan1, "star").await?.ok(204)?;
    app.follow(&fan2, "star").await?.ok(204)?; // star now has 2 followers: popular
    app.follow(&fan2, "ann").await?.ok(204)?; // fan2 has ann's post as itself
    let post = app.post(&ann, "noticed by a star").await?;
    repost_as(&app, &post, &star).await?;
    let fan1_id: rookery::domain::UserId = app.get("/me", Some(&fan1)).await?.str("id")?.parse()?;
    eventually("star's user feed has the repost", || async {
        Ok(items(&app, "/users/star/posts", None).await?
            == vec![(post.clone(), Some("star".to_owned()))])
    })
    .await?;
    let cached = app
        .embedded
        .ctx
        .feeds()?
        .page(rookery::ports::FeedKey::home(fan1_id), None, 100)
        .await?;
    assert!(
        cached.is_empty(),
        "a popular reposter's repost was pushed: {cached:?}"
    );
    assert_eq!(
        items(&app, "/feed", Some(&fan1)).await?,
        vec![(post.clone(), Some("star".to_owned()))],
        "merged into fan1's feed"
    );
    assert_eq!(
        items(&app, "/feed", Some(&fan2)).await?,
        vec![(post.clone(), None)],
        "fan2 follows ann: the post once, as itself"
    );
    Ok(())
}
