//! The whole story: register, welcome mail, log in, follow, post, feeds, unfollow, follow again
//! (backfill), delete, with the counts right at every step and pages that cover every item once.

use std::collections::HashSet;

use reqwest::Method;
use rookery::domain::{PostId, UserId};
use rookery::ports::FeedKey;
use serde_json::Value;

use rookery_test_support::{Backend, TestApp, eventually};

async fn counts(app: &TestApp, username: &str) -> anyhow::Result<(u64, u64, u64)> {
    let reply = app.get(&format!("/users/{username}"), None).await?;
    let body = reply.ok(200)?;
    let n = |field: &str| body[field].as_u64().unwrap_or(u64::MAX);
    Ok((n("followers_count"), n("following_count"), n("posts_count")))
}

#[tokio::test]
async fn the_whole_story_embedded() -> anyhow::Result<()> {
    the_whole_story(Backend::Embedded).await
}

#[tokio::test]
async fn the_whole_story_on_real_services() -> anyhow::Result<()> {
    the_whole_story(Backend::RealServices).await
}

/// Redis, RabbitMQ and SMTP as above, and the follow graph in Neo4j (its users are fresh ids,
/// so the test shares the server's one database with the others).
#[tokio::test]
async fn the_whole_story_with_the_graph_in_neo4j() -> anyhow::Result<()> {
    the_whole_story_with(Backend::RealServices, &neo4j_env()).await
}

fn neo4j_env() -> [(&'static str, String); 3] {
    use rookery_test_support::service_url;
    [
        ("NEO4J_URI", service_url("TEST_NEO4J_URI")),
        ("NEO4J_USER", service_url("TEST_NEO4J_USER")),
        ("NEO4J_PASSWORD", service_url("TEST_NEO4J_PASSWORD")),
    ]
}

async fn the_whole_story(backend: Backend) -> anyhow::Result<()> {
    the_whole_story_with(backend, &[]).await
}

async fn the_whole_story_with(backend: Backend, extra: &[(&str, String)]) -> anyhow::Result<()> {
    let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = TestApp::spawn_on(backend, &extra).await?;

    // Register two users; each gets one welcome mail.
    let created = app.register("Ann").await?;
    let ann_user = created.ok(201)?;
    assert_eq!(ann_user["username"], "Ann");
    assert_eq!(ann_user["display_name"], "Ann");
    assert!(ann_user["id"].is_string() && ann_user["created_at"].is_string());
    assert!(ann_user.get("email").is_none() && ann_user.get("password").is_none());
    app.register("bob").await?.ok(201)?;
    eventually("both welcome mails are written", || async {
        Ok(app.mails_to(&app.email("ann")).await? == 1
            && app.mails_to(&app.email("bob")).await? == 1)
    })
    .await?;

    // Log in by username in other case, and by e-mail.
    let ann = app.login("ANN", "correct horse").await?;
    let bob = app
        .login(&app.email("bob").to_uppercase(), "correct horse")
        .await?;
    let me = app.get("/me", Some(&bob)).await?;
    assert_eq!(me.ok(200)?["email"], app.email("bob"));
    assert_eq!(counts(&app, "ann").await?, (0, 0, 0));

    // Bob follows Ann (twice: idempotent).
    app.follow(&bob, "ann").await?.ok(204)?;
    app.follow(&bob, "Ann").await?.ok(204)?;
    assert_eq!(counts(&app, "ann").await?, (1, 0, 0));
    assert_eq!(counts(&app, "bob").await?, (0, 1, 0));
    let followers = app.all_pages("/users/ann/followers", None, 10).await?;
    assert_eq!(followers.len(), 1);
    assert_eq!(followers[0]["username"], "bob");
    let following = app.all_pages("/users/bob/following", None, 10).await?;
    assert_eq!(following[0]["username"], "Ann");

    // Ann posts; it reaches Bob's home feed, Ann's own home feed and her user feed.
    let post = app.post(&ann, "  hello, rookery  ").await?;
    let fetched = app.get(&format!("/posts/{post}"), None).await?;
    let body = fetched.ok(200)?;
    assert_eq!(body["content"], "hello, rookery");
    assert_eq!(body["author"]["username"], "Ann");
    eventually("bob's home feed shows the post", || {
        app.home_has(&bob, &post)
    })
    .await?;
    assert!(app.home_has(&ann, &post).await?);
    assert_eq!(
        app.feed_ids("/users/ann/posts", None).await?,
        vec![post.clone()]
    );
    assert_eq!(counts(&app, "ann").await?, (1, 0, 1));

    // Unfollow removes Ann's post from Bob's feed (twice: idempotent).
    app.unfollow(&bob, "ann").await?.ok(204)?;
    app.unfollow(&bob, "ann").await?.ok(204)?;
    assert_eq!(counts(&app, "ann").await?, (0, 0, 1));
    assert_eq!(counts(&app, "bob").await?, (0, 0, 0));
    eventually("unfollow removes the post", || async {
        Ok(!app.home_has(&bob, &post).await?)
    })
    .await?;

    // Following again backfills it.
    app.follow(&bob, "ann").await?.ok(204)?;
    eventually("follow backfills the post", || app.home_has(&bob, &post)).await?;

    // Deleting removes it everywhere.
    let path = format!("/posts/{post}");
    app.send(Method::DELETE, &path, Some(&bob), None)
        .await?
        .problem(403)?;
    app.send(Method::DELETE, &path, Some(&ann), None)
        .await?
        .ok(204)?;
    app.get(&path, None).await?.problem(404)?;
    app.send(Method::DELETE, &path, Some(&ann), None)
        .await?
        .problem(404)?;
    assert!(!app.home_has(&bob, &post).await?);
    assert!(!app.home_has(&ann, &post).await?);
    assert!(app.feed_ids("/users/ann/posts", None).await?.is_empty());
    assert_eq!(counts(&app, "ann").await?, (1, 0, 0));
    Ok(())
}

#[tokio::test]
async fn pages_cover_every_item_once_embedded() -> anyhow::Result<()> {
    pages_cover_every_item_once_newest_first(Backend::Embedded).await
}

#[tokio::test]
async fn pages_cover_every_item_once_on_real_services() -> anyhow::Result<()> {
    pages_cover_every_item_once_newest_first(Backend::RealServices).await
}

async fn pages_cover_every_item_once_newest_first(backend: Backend) -> anyhow::Result<()> {
    let app = TestApp::spawn_on(backend, &[]).await?;
    let ann = app.user("ann").await?;
    let bob = app.user("bob").await?;
    app.follow(&bob, "ann").await?.ok(204)?;
    let mut posted = Vec::new();
    for n in 0..23 {
        let author = if n % 3 == 0 { &bob } else { &ann };
        posted.push(app.post(author, &format!("post {n}")).await?);
    }
    posted.reverse(); // newest first

    eventually("bob's home feed holds all 23 posts", || async {
        Ok(app.feed_ids("/feed", Some(&bob)).await?.len() == 23)
    })
    .await?;
    for limit in [1, 5, 7, 23, 100] {
        let items = app.all_pages("/feed", Some(&bob), limit).await?;
        let ids: Vec<&str> = items.iter().filter_map(|p| p["id"].as_str()).collect();
        assert_eq!(ids, posted, "home feed, limit {limit}");
    }
    let ann_posts: Vec<String> = posted
        .iter()
        .enumerate()
        .filter(|(i, _)| (22 - i) % 3 != 0)
        .map(|(_, id)| id.clone())
        .collect();
    let items = app.all_pages("/users/ann/posts", None, 4).await?;
    let ids: Vec<&str> = items.iter().filter_map(|p| p["id"].as_str()).collect();
    assert_eq!(ids, ann_posts);

    // A page exactly as long as the rest has no next cursor.
    let first = app.get("/users/ann/posts?limit=15", None).await?;
    assert_eq!(first.ok(200)?["next_cursor"], Value::Null);
    let short = app.get("/users/ann/posts?limit=14", None).await?;
    assert!(short.ok(200)?["next_cursor"].is_string());

    // Follower pages: newest relation first, every follower once.
    let mut fans = Vec::new();
    for n in 0..9 {
        let name = format!("fan{n}");
        let token = app.user(&name).await?;
        app.follow(&token, "ann").await?.ok(204)?;
        fans.push(name);
    }
    fans.reverse();
    fans.push("bob".to_owned());
    for limit in [1, 2, 4, 10] {
        let items = app.all_pages("/users/ann/followers", None, limit).await?;
        let names: Vec<&str> = items
            .iter()
            .filter_map(|u| u["username"].as_str())
            .collect();
        assert_eq!(names, fans, "followers, limit {limit}");
        let unique: HashSet<&str> = names.iter().copied().collect();
        assert_eq!(unique.len(), names.len());
    }
    Ok(())
}

#[tokio::test]
async fn hybrid_fanout_embedded() -> anyhow::Result<()> {
    hybrid_fanout_merges_popular_authors_at_read_time(Backend::Embedded).await
}

#[tokio::test]
async fn hybrid_fanout_on_real_services() -> anyhow::Result<()> {
    hybrid_fanout_merges_popular_authors_at_read_time(Backend::RealServices).await
}

#[tokio::test]
async fn hybrid_fanout_with_the_graph_in_neo4j() -> anyhow::Result<()> {
    let neo4j = neo4j_env();
    let extra: Vec<(&str, &str)> = neo4j.iter().map(|(k, v)| (*k, v.as_str())).collect();
    hybrid_fanout_merges_popular_authors_at_read_time_with(Backend::RealServices, &extra).await
}

async fn hybrid_fanout_merges_popular_authors_at_read_time(backend: Backend) -> anyhow::Result<()> {
    hybrid_fanout_merges_popular_authors_at_read_time_with(backend, &[]).await
}

async fn hybrid_fanout_merges_popular_authors_at_read_time_with(
    backend: Backend,
    extra: &[(&str, &str)],
) -> anyhow::Result<()> {
    // With a threshold of 2 followers, "star" becomes popular after two follows.
    let mut vars = vec![("FANOUT_THRESHOLD", "2")];
    vars.extend_from_slice(extra);
    let app = TestApp::spawn_on(backend, &vars).await?;
    let star = app.user("star").await?;
    let f1 = app.user("fan1").await?;
    let f2 = app.user("fan2").await?;
    app.follow(&f1, "star").await?.ok(204)?;
    // Below the threshold, a post is pushed into fan1's feed.
    let early = app.post(&star, "before I was popular").await?;
    eventually("the early post is pushed to fan1", || {
        app.home_has(&f1, &early)
    })
    .await?;
    app.follow(&f2, "star").await?.ok(204)?;
    assert_eq!(app.feed_ids("/feed", Some(&f2)).await?, vec![early.clone()]);

    let post = app.post(&star, "to all my fans").await?;
    let star_id: PostId = post.parse()?;
    eventually("star's own feed has the post", || async {
        Ok(app
            .feed_ids("/users/star/posts", None)
            .await?
            .contains(&post))
    })
    .await?;
    // Not pushed into the fans' cached feeds...
    let fan1: UserId = app.get("/me", Some(&f1)).await?.str("id")?.parse()?;
    let cached = app
        .embedded
        .ctx
        .feeds()?
        .page(FeedKey::home(fan1), None, 100)
        .await?;
    assert!(
        !cached.iter().any(|entry| entry.post == star_id),
        "a popular author's post was pushed"
    );
    // ...yet merged in when they read, and the early post, both pushed and merged, shows once.
    assert_eq!(
        app.feed_ids("/feed", Some(&f1)).await?,
        vec![post.clone(), early.clone()]
    );
    assert_eq!(
        app.feed_ids("/feed", Some(&f2)).await?,
        vec![post.clone(), early.clone()]
    );
    app.unfollow(&f2, "star").await?.ok(204)?;
    eventually("the popular author's post leaves fan2's feed", || async {
        Ok(!app.home_has(&f2, &post).await?)
    })
    .await
}
