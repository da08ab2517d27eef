//! Blocks and mutes over HTTP (DESIGN 4.4), on the embedded default and on the real services:
//! the routes' answers, follows ended both ways, 403s across a block, and what the blocker and
//! the muter no longer see in feeds, conversations, tag pages and notifications.

use reqwest::Method;
use serde_json::{Value, json};

use rookery::domain::{Event, EventPayload, Timestamp, UserId};
use rookery::ports::EventPublisher as _;
use rookery_test_support::{Backend, TestApp, eventually};

async fn put(app: &TestApp, token: &str, path: &str) -> anyhow::Result<u16> {
    Ok(app
        .send(Method::PUT, path, Some(token), None)
        .await?
        .status
        .as_u16())
}

async fn delete(app: &TestApp, token: &str, path: &str) -> anyhow::Result<u16> {
    Ok(app
        .send(Method::DELETE, path, Some(token), None)
        .await?
        .status
        .as_u16())
}

async fn reply(app: &TestApp, token: &str, parent: &str, content: &str) -> anyhow::Result<Value> {
    let body = json!({"content": content, "in_reply_to": parent});
    let reply = app
        .send(Method::POST, "/posts", Some(token), Some(body))
        .await?;
    Ok(json!({"status": reply.status.as_u16(), "id": reply.body["id"].clone()}))
}

async fn replied(
    app: &TestApp,
    token: &str,
    parent: &str,
    content: &str,
) -> anyhow::Result<String> {
    let answer = reply(app, token, parent, content).await?;
    anyhow::ensure!(answer["status"] == 201, "reply: {answer}");
    answer["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("reply id"))
}

/// The ids of a listing's items (`items` of a page, or a list).
fn ids(items: &Value) -> Vec<String> {
    items
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

async fn usernames(app: &TestApp, path: &str, token: Option<&str>) -> anyhow::Result<Vec<String>> {
    Ok(app
        .all_pages(path, token, 10)
        .await?
        .iter()
        .filter_map(|user| user["username"].as_str().map(str::to_owned))
        .collect())
}

/// Who the reader's notifications come from, newest first.
async fn notified_by(app: &TestApp, token: &str) -> anyhow::Result<Vec<String>> {
    let page = app.get("/notifications?limit=100", Some(token)).await?;
    Ok(page.ok(200)?["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|n| n["actor"]["username"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default())
}

async fn blocks_and_mutes(backend: Backend) -> anyhow::Result<()> {
    let app = TestApp::spawn_on(backend, &[]).await?;
    let ann = app.user("ann").await?;
    let bob = app.user("bob").await?;
    let cat = app.user("cat").await?;
    let eve = app.user("eve").await?;
    for (token, whom) in [(&ann, "bob"), (&ann, "cat"), (&ann, "eve"), (&bob, "ann")] {
        app.follow(token, whom).await?.ok(204)?;
    }
    // Before anything is blocked: a conversation, a tag, reposts and notifications.
    let root = app.post(&ann, "what do you think? #topic").await?;
    let by_bob = replied(&app, &bob, &root, "I think #topic is great").await?;
    let under_bob = replied(&app, &cat, &by_bob, "agreed with bob").await?;
    let by_eve = replied(&app, &eve, &root, "not sure").await?;
    let bob_post = app.post(&bob, "bob was here").await?;
    let cat_post = app.post(&cat, "cat was here").await?;
    for (token, post) in [(&bob, &root), (&cat, &root), (&eve, &root)] {
        let status = put(&app, token, &format!("/posts/{post}/like")).await?;
        anyhow::ensure!(status == 204, "like: {status}");
    }
    // Eve brings bob's post to ann a second way; cat's repost of eve's reply a third.
    assert_eq!(
        put(&app, &eve, &format!("/posts/{bob_post}/repost")).await?,
        204
    );
    let (app_ref, ann_ref, bob_post_ref, cat_post_ref) = (&app, &ann, &bob_post, &cat_post);
    eventually("ann's home feed has bob's and cat's posts", || async move {
        Ok(app_ref.home_has(ann_ref, bob_post_ref).await?
            && app_ref.home_has(ann_ref, cat_post_ref).await?)
    })
    .await?;
    // Bob's follow, reply and like, cat's like, eve's reply and like.
    eventually("ann has her six notifications", || async {
        Ok(notified_by(&app, &ann).await?.len() == 6)
    })
    .await?;

    // The routes' own answers.
    assert_eq!(put(&app, &ann, "/users/nobody/block").await?, 404);
    assert_eq!(put(&app, &ann, "/users/ann/block").await?, 422);
    assert_eq!(put(&app, &ann, "/users/ann/mute").await?, 422);
    let anonymous = app
        .send(Method::PUT, "/users/bob/block", None, None)
        .await?;
    anonymous.problem(401)?;
    assert_eq!(put(&app, &ann, "/users/bob/block").await?, 204);
    assert_eq!(
        put(&app, &ann, "/users/bob/block").await?,
        204,
        "idempotent"
    );
    assert_eq!(put(&app, &ann, "/users/cat/mute").await?, 204);
    assert_eq!(put(&app, &ann, "/users/cat/mute").await?, 204, "idempotent");
    assert_eq!(usernames(&app, "/me/blocks", Some(&ann)).await?, ["bob"]);
    assert_eq!(usernames(&app, "/me/mutes", Some(&ann)).await?, ["cat"]);
    app.get("/me/blocks", None).await?.problem(401)?;

    // Follows ended both ways, at once, and may not come back.
    assert_eq!(
        usernames(&app, "/users/ann/following", None).await?,
        ["eve", "cat"]
    );
    assert!(
        usernames(&app, "/users/ann/followers", None)
            .await?
            .is_empty()
    );
    let seen = app.get("/users/bob", Some(&ann)).await?;
    assert_eq!(
        seen.ok(200)?["relationship"],
        json!({"following": false, "followed_by": false, "blocking": true, "muting": false})
    );
    let seen = app.get("/users/cat", Some(&ann)).await?;
    assert_eq!(seen.ok(200)?["relationship"]["muting"], true);
    app.follow(&bob, "ann").await?.problem(403)?;
    app.follow(&ann, "bob").await?.problem(403)?;
    // The blocked may not touch the blocker's posts; the muted may.
    let status = put(&app, &bob, &format!("/posts/{root}/repost")).await?;
    assert_eq!(status, 403, "bob reposts ann's post");
    let status = put(&app, &bob, &format!("/posts/{root}/like")).await?;
    assert_eq!(status, 403, "bob likes ann's post");
    assert_eq!(reply(&app, &bob, &root, "let me in").await?["status"], 403);
    assert_eq!(
        put(&app, &cat, &format!("/posts/{root}/repost")).await?,
        204
    );

    // Home feed: neither bob's post (brought by eve's repost) nor cat's, now.
    let home = app.feed_ids("/feed", Some(&ann)).await?;
    assert!(
        !home.contains(&bob_post),
        "the blocked user's post, reposted"
    );
    assert!(!home.contains(&cat_post), "the muted user's post");
    assert!(home.contains(&root), "ann's own post");
    // Conversations and tag pages hide the blocked only, and the branch below them.
    let replies = app
        .all_pages(&format!("/posts/{root}/replies"), Some(&ann), 1)
        .await?;
    assert_eq!(ids(&Value::from(replies)), [by_eve.as_str()]);
    let public = app
        .all_pages(&format!("/posts/{root}/replies"), None, 1)
        .await?;
    assert_eq!(ids(&Value::from(public)), [by_bob.clone(), by_eve.clone()]);
    let thread = app
        .get(&format!("/posts/{root}/context"), Some(&ann))
        .await?;
    assert_eq!(ids(&thread.ok(200)?["descendants"]), [by_eve.as_str()]);
    let thread = app
        .get(&format!("/posts/{under_bob}/context"), Some(&ann))
        .await?;
    assert_eq!(ids(&thread.ok(200)?["ancestors"]), [root.as_str()]);
    let tagged = app.all_pages("/tags/topic/posts", Some(&ann), 1).await?;
    assert_eq!(ids(&Value::from(tagged)), [root.as_str()]);
    let tagged = app.all_pages("/tags/topic/posts", Some(&bob), 1).await?;
    assert_eq!(
        ids(&Value::from(tagged)),
        [by_bob.as_str()],
        "the other side of a block"
    );
    // Notifications: none from the blocked nor the muted, and the count agrees.
    assert_eq!(notified_by(&app, &ann).await?, ["eve", "eve"]);
    let unread = app.get("/notifications/unread_count", Some(&ann)).await?;
    assert_eq!(unread.ok(200)?["count"], 2);

    // Lifting: the block and mute go, the follows stay ended, hidden posts come back.
    assert_eq!(delete(&app, &ann, "/users/bob/block").await?, 204);
    assert_eq!(
        delete(&app, &ann, "/users/bob/block").await?,
        204,
        "idempotent"
    );
    assert_eq!(delete(&app, &ann, "/users/cat/mute").await?, 204);
    assert!(usernames(&app, "/me/blocks", Some(&ann)).await?.is_empty());
    assert!(usernames(&app, "/me/mutes", Some(&ann)).await?.is_empty());
    assert!(
        usernames(&app, "/users/ann/followers", None)
            .await?
            .is_empty()
    );
    let replies = app
        .all_pages(&format!("/posts/{root}/replies"), Some(&ann), 1)
        .await?;
    assert_eq!(ids(&Value::from(replies)), [by_bob, by_eve]);
    eventually("cat's repost is notified, shown now", || async {
        Ok(notified_by(&app, &ann).await?.len() == 7)
    })
    .await?;
    app.follow(&bob, "ann").await?.ok(204)?;
    Ok(())
}

#[tokio::test]
async fn blocks_and_mutes_on_the_embedded_default() -> anyhow::Result<()> {
    blocks_and_mutes(Backend::Embedded).await
}

#[tokio::test]
async fn blocks_and_mutes_on_the_real_services() -> anyhow::Result<()> {
    blocks_and_mutes(Backend::RealServices).await
}

/// A follow that raced a block (written to the graph after the block's request ended the
/// follows) is ended by the block's event.
#[tokio::test]
async fn the_block_event_ends_a_follow_that_raced_it() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let ann = app.user("ann").await?;
    app.user("bob").await?;
    assert_eq!(put(&app, &ann, "/users/bob/block").await?, 204);
    let app_ref = &app;
    let id = |name: &'static str| async move {
        let profile = app_ref.get(&format!("/users/{name}"), None).await?;
        let id: UserId = profile.str("id")?.parse()?;
        anyhow::Ok(id)
    };
    let (ann_id, bob_id) = (id("ann").await?, id("bob").await?);
    let graph = app.embedded.ctx.graph()?;
    assert!(graph.follow(bob_id, ann_id, Timestamp::now()).await?);
    let event = Event::new(EventPayload::UserBlocked {
        blocker_id: ann_id,
        blocked_id: bob_id,
    });
    app.embedded.dispatcher.publish(&event).await?;
    assert!(!graph.is_following(bob_id, ann_id).await?);
    Ok(())
}
