//! A restart keeps users, posts, follows and tokens, and rebuilds the feeds it lost.

use rookery_test_support::TestApp;

#[tokio::test]
async fn restart_keeps_everything_but_the_cache() -> anyhow::Result<()> {
    let mut app = TestApp::spawn().await?;
    let ann = app.user("ann").await?;
    let bob = app.user("bob").await?;
    app.follow(&bob, "ann").await?.ok(204)?;
    let first = app.post(&ann, "before the restart").await?;
    let second = app.post(&bob, "me too").await?;
    rookery_test_support::eventually("bob's feed has both posts", || async {
        Ok(app.feed_ids("/feed", Some(&bob)).await?.len() == 2)
    })
    .await?;

    app.restart().await?;

    // The old token still works: the local secret is kept in the data folder.
    let me = app.get("/me", Some(&bob)).await?;
    let body = me.ok(200)?;
    assert_eq!(body["following_count"], 1);
    assert_eq!(body["posts_count"], 1);
    let ann_profile = app.get("/users/ann", None).await?;
    assert_eq!(ann_profile.ok(200)?["followers_count"], 1);
    // The feed cache was lost with the process; the first read rebuilds it in full.
    assert_eq!(
        app.feed_ids("/feed", Some(&bob)).await?,
        vec![second.clone(), first.clone()]
    );
    assert_eq!(
        app.feed_ids("/users/ann/posts", None).await?,
        vec![first.clone()]
    );
    app.login("ann", "correct horse").await?;
    // And it keeps working after the restart: a new post is fanned out.
    let third = app.post(&ann, "after the restart").await?;
    rookery_test_support::eventually("the new post reaches bob", || async {
        Ok(app.feed_ids("/feed", Some(&bob)).await?
            == vec![third.clone(), second.clone(), first.clone()])
    })
    .await?;
    Ok(())
}
