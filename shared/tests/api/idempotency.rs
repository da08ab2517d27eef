//! Delivery is at least once: dispatching the same event twice adds no second feed entry,
//! sends no second mail and writes no second notification.

use rookery::domain::{Event, EventPayload, PostId, UserId};
use rookery::ports::{EventPublisher, FeedKey};

use rookery_test_support::{TestApp, eventually};

#[tokio::test]
async fn the_same_event_twice_mails_once() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let event = Event::new(EventPayload::UserRegistered {
        user_id: UserId::new(),
        username: "carol".into(),
        email: "carol@example.com".into(),
        display_name: "Carol".into(),
    });
    app.embedded.dispatcher.publish(&event).await?;
    assert_eq!(app.mails_to("carol@example.com").await?, 1);
    app.embedded.dispatcher.publish(&event).await?;
    assert_eq!(
        app.mails_to("carol@example.com").await?,
        1,
        "a redelivery mailed twice"
    );
    // A different event for the same address is a different mail.
    let again = Event::new(event.payload.clone());
    app.embedded.dispatcher.publish(&again).await?;
    assert_eq!(app.mails_to("carol@example.com").await?, 2);
    Ok(())
}

#[tokio::test]
async fn the_same_event_twice_adds_one_feed_entry() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let ann = app.user("ann").await?;
    let bob = app.user("bob").await?;
    app.follow(&bob, "ann").await?.ok(204)?;
    let bob_id: UserId = app.get("/me", Some(&bob)).await?.str("id")?.parse()?;
    let ann_id: UserId = app.get("/me", Some(&ann)).await?.str("id")?.parse()?;
    let post = app.post(&ann, "once").await?;
    let post_id: PostId = post.parse()?;
    eventually("the post reaches bob", || async {
        Ok(app.feed_ids("/feed", Some(&bob)).await?.contains(&post))
    })
    .await?;

    let replay = Event::new(EventPayload::post_created(post_id, ann_id));
    app.embedded.dispatcher.publish(&replay).await?;
    app.embedded.dispatcher.publish(&replay).await?;
    let cached = app
        .embedded
        .ctx
        .feeds()?
        .page(FeedKey::home(bob_id), None, 100)
        .await?;
    assert_eq!(
        cached.iter().filter(|entry| entry.post == post_id).count(),
        1
    );
    let ids = app.feed_ids("/feed", Some(&bob)).await?;
    assert_eq!(ids.iter().filter(|id| **id == post).count(), 1);
    assert_eq!(ids.len(), 1);
    Ok(())
}

/// Each event of a conversation delivered again (the same event, and a new event for the same
/// action): one notification each, the counts unchanged.
#[tokio::test]
async fn conversation_events_twice_notify_once() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let ann = app.user("ann").await?;
    let bob = app.user("bob").await?;
    let ann_id: UserId = app.get("/me", Some(&ann)).await?.str("id")?.parse()?;
    let bob_id: UserId = app.get("/me", Some(&bob)).await?.str("id")?.parse()?;
    let post: PostId = app.post(&ann, "a post").await?.parse()?;
    let reply: PostId = app
        .send(
            reqwest::Method::POST,
            "/posts",
            Some(&bob),
            Some(serde_json::json!({"content": "@ann hi", "in_reply_to": post.to_string()})),
        )
        .await?
        .str("id")?
        .parse()?;
    app.send(
        reqwest::Method::PUT,
        &format!("/posts/{post}/like"),
        Some(&bob),
        None,
    )
    .await?
    .ok(204)?;
    app.send(
        reqwest::Method::PUT,
        &format!("/posts/{post}/repost"),
        Some(&bob),
        None,
    )
    .await?
    .ok(204)?;
    app.follow(&bob, "ann").await?.ok(204)?;
    let count = || async {
        let answer = app.get("/notifications/unread_count", Some(&ann)).await?;
        answer.ok(200)?["count"]
            .as_u64()
            .ok_or_else(|| anyhow::anyhow!("no count"))
    };
    // A reply that mentions, a like, a repost, a follow.
    eventually("ann's five notifications", || async {
        Ok(count().await? == 5)
    })
    .await?;
    let replays = [
        EventPayload::PostCreated {
            post_id: reply,
            author_id: bob_id,
            in_reply_to: Some(post),
            reply_to_author: Some(ann_id),
            mentions: vec![ann_id],
        },
        EventPayload::PostLiked {
            post_id: post,
            author_id: ann_id,
            user_id: bob_id,
        },
        EventPayload::PostReposted {
            post_id: post,
            author_id: ann_id,
            user_id: bob_id,
            // Not the repost's own place: the fan-out takes it for an undone repost.
            entry: rookery::domain::EntryKey::new(),
        },
        EventPayload::UserFollowed {
            follower_id: bob_id,
            followee_id: ann_id,
        },
    ];
    for payload in replays {
        let event = Event::new(payload);
        app.embedded.dispatcher.publish(&event).await?;
        app.embedded.dispatcher.publish(&event).await?;
        app.embedded
            .dispatcher
            .publish(&Event::new(event.payload.clone()))
            .await?;
    }
    assert_eq!(count().await?, 5, "a redelivered event notified again");
    let view = app.get(&format!("/posts/{post}"), None).await?;
    let view = view.ok(200)?;
    assert_eq!(
        (
            view["reply_count"].as_u64(),
            view["like_count"].as_u64(),
            view["repost_count"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
    Ok(())
}
