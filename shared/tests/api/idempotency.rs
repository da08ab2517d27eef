//! Delivery is at least once: dispatching the same event twice adds no second feed entry and
//! sends no second mail.

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
    assert_eq!(cached.iter().filter(|id| **id == post_id).count(), 1);
    let ids = app.feed_ids("/feed", Some(&bob)).await?;
    assert_eq!(ids.iter().filter(|id| **id == post).count(), 1);
    assert_eq!(ids.len(), 1);
    Ok(())
}
