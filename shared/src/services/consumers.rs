//! The work behind each queue: welcome mail, graph node, fan-out. Each consumer checks the
//! source of truth before acting, so events that arrive late, twice or out of order leave the
//! right state behind; [`Idempotent`] additionally skips events already handled.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;

use crate::domain::{
    EntryKey, ErasedRepost, Event, EventPayload, FeedEntry, NewNotification, NotificationKind,
    PostId, Queue, UserId,
};
use crate::ports::{
    ConsumeError, Consumer, FeedCache, FeedKey, Mail, Mailer, NotificationStore, PostStore,
    ProcessedEvents, SocialGraph,
};

use super::FeedSettings;

fn wrong_queue(queue: Queue, event: &Event) -> ConsumeError {
    ConsumeError::Poison(format!("{} does not take {}", queue.name(), event.kind()))
}

/// `email.welcome`: one welcome mail per registration.
pub struct EmailConsumer {
    pub mailer: Arc<dyn Mailer>,
}

/// The welcome mail for a registration, in plain text and HTML.
pub fn welcome_mail(event: &Event) -> Option<Mail> {
    let EventPayload::UserRegistered {
        username,
        email,
        display_name,
        ..
    } = &event.payload
    else {
        return None;
    };
    let name = escape_html(display_name);
    Some(Mail {
        to: email.clone(),
        subject: "Welcome to Rookery".to_owned(),
        text: format!(
            "Hello {display_name},\n\nWelcome to Rookery! Your username is @{username}.\n\
             Follow a few people and your home feed fills up.\n\n- The Rookery team\n"
        ),
        html: format!(
            "<p>Hello {name},</p><p>Welcome to Rookery! Your username is \
             <strong>@{username}</strong>.</p><p>Follow a few people and your home feed fills \
             up.</p><p>- The Rookery team</p>"
        ),
        message_id: format!("<{}@rookery>", event.id),
    })
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[async_trait]
impl Consumer for EmailConsumer {
    fn queue(&self) -> Queue {
        Queue::EmailWelcome
    }

    async fn handle(&self, event: &Event) -> Result<(), ConsumeError> {
        let mail = welcome_mail(event).ok_or_else(|| wrong_queue(self.queue(), event))?;
        self.mailer.send(&mail).await?;
        tracing::info!(event_id = %event.id, mailer = self.mailer.name(), "welcome mail sent");
        Ok(())
    }
}

/// `network.users`: the new user's node in the follow graph.
pub struct NetworkConsumer {
    pub graph: Arc<dyn SocialGraph>,
}

#[async_trait]
impl Consumer for NetworkConsumer {
    fn queue(&self) -> Queue {
        Queue::NetworkUsers
    }

    async fn handle(&self, event: &Event) -> Result<(), ConsumeError> {
        let EventPayload::UserRegistered { user_id, .. } = &event.payload else {
            return Err(wrong_queue(self.queue(), event));
        };
        self.graph.add_user(*user_id).await?;
        Ok(())
    }
}

/// Followers are walked in chunks of this many: one cache call per chunk, not per follower.
const FANOUT_CHUNK: usize = 1_000;

/// The feeds one push wrote to, gathered chunk by chunk, so that a push overtaken by a deletion
/// can be taken back from exactly those (the graph may no longer name them).
struct Written(std::sync::Mutex<Vec<FeedKey>>);

impl Written {
    fn new(first: &[FeedKey]) -> Self {
        Self(std::sync::Mutex::new(first.to_vec()))
    }

    fn record(&self, keys: &[FeedKey]) {
        let mut written = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        written.extend_from_slice(keys);
    }

    fn into_keys(self) -> Vec<FeedKey> {
        self.0
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// `feed.posts` and `feed.follows`: keeps cached feeds in step with posts and follows.
pub struct FanoutConsumer {
    pub queue: Queue,
    /// The store itself, never the slot cache: a cached post outlives its author's erasure,
    /// and the checks below must see the truth.
    pub posts: Arc<dyn PostStore>,
    pub graph: Arc<dyn SocialGraph>,
    pub feeds: Arc<dyn FeedCache>,
    pub settings: FeedSettings,
}

impl FanoutConsumer {
    async fn is_celebrity(&self, user: UserId) -> anyhow::Result<bool> {
        let counts = self.graph.counts(user).await?;
        Ok(counts.followers >= self.settings.celebrity_threshold)
    }

    /// Calls `apply` with the home-feed keys of every follower of `author`, chunk by chunk; the
    /// next chunk is read while `apply` writes the last one (issue 17: the reads were a fifth
    /// of a fan-out's time).
    async fn for_followers<'a, F, Fut>(&'a self, author: UserId, apply: F) -> anyhow::Result<u64>
    where
        F: Fn(Vec<FeedKey>) -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<()>> + 'a,
    {
        let mut chunk = self.graph.follower_ids(author, None, FANOUT_CHUNK).await?;
        let mut reached = 0u64;
        loop {
            let Some(last) = chunk.last().copied() else {
                return Ok(reached);
            };
            reached += chunk.len() as u64;
            let full = chunk.len() == FANOUT_CHUNK;
            let keys = chunk.into_iter().map(FeedKey::home).collect();
            if !full {
                apply(keys).await?;
                return Ok(reached);
            }
            let next = self.graph.follower_ids(author, Some(last), FANOUT_CHUNK);
            let ((), following) = tokio::try_join!(apply(keys), next)?;
            chunk = following;
        }
    }

    /// Every follower of `user`, and `user`: who may see a reply to `user`'s post.
    async fn audience_of(&self, user: UserId) -> anyhow::Result<HashSet<UserId>> {
        let mut audience = HashSet::from([user]);
        let mut after = None;
        loop {
            let chunk = self.graph.follower_ids(user, after, FANOUT_CHUNK).await?;
            after = chunk.last().copied();
            let full = chunk.len() == FANOUT_CHUNK;
            audience.extend(chunk);
            if !full {
                return Ok(audience);
            }
        }
    }

    /// The post into its author's feeds and their followers', then a second look: a deletion
    /// or an erasure that committed meanwhile may have cleaned the feeds before these writes
    /// landed, so what they wrote is taken out again.
    async fn post_created(
        &self,
        post_id: PostId,
        author: UserId,
        reply_to_author: Option<UserId>,
    ) -> anyhow::Result<()> {
        if self.posts.post(post_id).await?.is_none() {
            return Ok(()); // deleted before it was fanned out
        }
        let written = self.push_post(post_id, author, reply_to_author).await?;
        if self.posts.post(post_id).await?.is_none() {
            self.feeds.remove(&written, &[post_id]).await?;
        }
        Ok(())
    }

    /// Pushes the post and answers the feeds it went to.
    async fn push_post(
        &self,
        post_id: PostId,
        author: UserId,
        reply_to_author: Option<UserId>,
    ) -> anyhow::Result<Vec<FeedKey>> {
        let own = [FeedKey::home(author), FeedKey::user(author)];
        let entry = [FeedEntry::original(post_id)];
        self.feeds.add(&own, &entry).await?;
        if self.is_celebrity(author).await? {
            return Ok(own.to_vec()); // merged into followers' feeds at read time
        }
        let written = Written::new(&own);
        // A reply reaches only the followers who follow, or are, the author it answers.
        let audience = match reply_to_author {
            Some(other) => Some(self.audience_of(other).await?),
            None => None,
        };
        let (audience, entry, recorded) = (&audience, &entry, &written);
        let started = std::time::Instant::now();
        let reached = self
            .for_followers(author, |keys| async move {
                let keys: Vec<FeedKey> = match audience {
                    Some(audience) => keys
                        .into_iter()
                        .filter(|key| audience.contains(&key.user))
                        .collect(),
                    None => keys,
                };
                recorded.record(&keys);
                self.feeds.add(&keys, entry).await
            })
            .await?;
        crate::telemetry::metrics::fanout(reached, started.elapsed());
        tracing::debug!(%post_id, followers = reached, "post fanned out");
        Ok(written.into_keys())
    }

    /// Takes the post out of its author's feeds and their followers', and out of the feeds its
    /// reposters brought it into.
    async fn post_deleted(
        &self,
        post_id: PostId,
        author: UserId,
        reposted_by: &[UserId],
    ) -> anyhow::Result<()> {
        let own = [FeedKey::home(author), FeedKey::user(author)];
        self.feeds.remove(&own, &[post_id]).await?;
        for user in std::iter::once(author).chain(reposted_by.iter().copied()) {
            if user != author {
                self.feeds
                    .remove(&[FeedKey::user(user)], &[post_id])
                    .await?;
            }
            // Celebrities too: the post may have been pushed before the author crossed the line.
            self.for_followers(user, |keys| async move {
                self.feeds.remove(&keys, &[post_id]).await
            })
            .await?;
        }
        Ok(())
    }

    /// A repost into the reposter's user feed and their followers' home feeds (not pushed for a
    /// reposter above the threshold: merged at read time), unless it was undone meanwhile.
    async fn reposted(&self, post: PostId, user: UserId, key: EntryKey) -> anyhow::Result<()> {
        if self.posts.repost_entry(post, user).await? != Some(key) {
            return Ok(()); // undone, or the post deleted, before it was fanned out
        }
        let entry = [FeedEntry::repost(key, post, user)];
        let written = self.push_repost(&entry, user).await?;
        // Undone, deleted or erased while this ran: as for a post, look again.
        if self.posts.repost_entry(post, user).await? != Some(key) {
            self.feeds.remove_entries(&written, &entry).await?;
        }
        Ok(())
    }

    /// Pushes the repost and answers the feeds it went to.
    async fn push_repost(&self, entry: &[FeedEntry], user: UserId) -> anyhow::Result<Vec<FeedKey>> {
        let own = [FeedKey::user(user)];
        self.feeds.add(&own, entry).await?;
        if self.is_celebrity(user).await? {
            return Ok(own.to_vec());
        }
        let written = Written::new(&own);
        let recorded = &written;
        self.for_followers(user, |keys| {
            recorded.record(&keys);
            async move { self.feeds.add(&keys, entry).await }
        })
        .await?;
        Ok(written.into_keys())
    }

    /// An undone repost leaves the feeds it was pushed to; where the post came another way, it
    /// stays.
    async fn unreposted(&self, post: PostId, user: UserId, key: EntryKey) -> anyhow::Result<()> {
        let entry = [FeedEntry::repost(key, post, user)];
        self.feeds
            .remove_entries(&[FeedKey::user(user)], &entry)
            .await?;
        let entry = &entry;
        self.for_followers(user, |keys| async move {
            self.feeds.remove_entries(&keys, entry).await
        })
        .await?;
        Ok(())
    }

    /// `author`'s recent entries that `reader`'s home feed shows: posts (replies by the rule
    /// for them) and reposts.
    async fn recent_entries_for(
        &self,
        reader: UserId,
        author: UserId,
    ) -> anyhow::Result<Vec<FeedEntry>> {
        let mut audience = self.graph.following_ids(reader).await?;
        audience.push(reader);
        self.posts
            .home_feed(reader, &[author], &audience, None, self.settings.cap)
            .await
    }

    /// An erased user leaves the cache and the graph: what their user feed held (their posts
    /// and reposts, up to its cap) leaves their followers' home feeds, their own feeds go, and
    /// then their node and edges, the other ends' counters and cached lists following. Entries
    /// beyond the cap whose posts are gone are never shown (a page drops posts it cannot
    /// hydrate) and are trimmed away as feeds grow. Done again on redelivery, it finds nothing.
    async fn user_deleted(
        &self,
        user: UserId,
        posts: &[PostId],
        reposts: &[ErasedRepost],
    ) -> anyhow::Result<()> {
        let own = FeedKey::user(user);
        // What the event names (read from the store before the erasure) and what the cache
        // holds (a post that reached it after that read): the two together.
        let mut posts = posts.to_vec();
        let mut shared: Vec<FeedEntry> = reposts
            .iter()
            .map(|repost| FeedEntry::repost(repost.entry, repost.post_id, user))
            .collect();
        for entry in self.feeds.page(own, None, self.settings.cap).await? {
            match entry.via {
                None => posts.push(entry.post),
                Some(_) => shared.push(entry),
            }
        }
        posts.sort_unstable();
        posts.dedup();
        let (posts, reposts) = (&posts, &shared);
        self.for_followers(user, |keys| async move {
            self.feeds.remove(&keys, posts).await?;
            self.feeds.remove_entries(&keys, reposts).await
        })
        .await?;
        self.feeds.clear(&[FeedKey::home(user), own]).await?;
        // The graph drops what it caches of the user's followers (their following lists).
        self.graph.remove_user(user).await
    }

    /// A block ends the follows both ways. The request that made the block removed the edges
    /// already; this does it again (nothing to do then) for a request that stopped between
    /// storing the block and the graph, or a follow that raced the block, and then takes what
    /// each follow brought out of the other's home feed.
    async fn blocked(&self, blocker: UserId, blocked: UserId) -> anyhow::Result<()> {
        for (follower, followee) in [(blocker, blocked), (blocked, blocker)] {
            self.graph.unfollow(follower, followee).await?;
            self.unfollowed(follower, followee).await?;
        }
        Ok(())
    }

    async fn followed(&self, follower: UserId, followee: UserId) -> anyhow::Result<()> {
        self.graph.refresh(follower).await?;
        // The graph is the truth: an unfollow that came after this event wins.
        if !self.graph.is_following(follower, followee).await?
            || self.is_celebrity(followee).await?
        {
            return Ok(());
        }
        let recent = self.recent_entries_for(follower, followee).await?;
        self.feeds.add(&[FeedKey::home(follower)], &recent).await
    }

    async fn unfollowed(&self, follower: UserId, followee: UserId) -> anyhow::Result<()> {
        self.graph.refresh(follower).await?;
        if self.graph.is_following(follower, followee).await? {
            return Ok(()); // followed again since
        }
        // The followee's posts and the entries of their reposts; a post that came another way
        // (someone else the follower follows reposted it) stays.
        let recent = self
            .posts
            .user_feed(followee, None, self.settings.cap)
            .await?;
        self.feeds
            .remove_entries(&[FeedKey::home(follower)], &recent)
            .await
    }
}

#[async_trait]
impl Consumer for FanoutConsumer {
    fn queue(&self) -> Queue {
        self.queue
    }

    async fn handle(&self, event: &Event) -> Result<(), ConsumeError> {
        if !self.queue.routing_keys().contains(&event.kind()) {
            return Err(wrong_queue(self.queue, event));
        }
        let result = match event.payload {
            EventPayload::PostCreated {
                post_id,
                author_id,
                reply_to_author,
                ..
            } => self.post_created(post_id, author_id, reply_to_author).await,
            EventPayload::PostDeleted {
                post_id,
                author_id,
                ref reposted_by,
            } => self.post_deleted(post_id, author_id, reposted_by).await,
            EventPayload::PostReposted {
                post_id,
                user_id,
                entry,
                ..
            } => self.reposted(post_id, user_id, entry).await,
            EventPayload::PostUnreposted {
                post_id,
                user_id,
                entry,
                ..
            } => self.unreposted(post_id, user_id, entry).await,
            EventPayload::UserFollowed {
                follower_id,
                followee_id,
            } => self.followed(follower_id, followee_id).await,
            EventPayload::UserUnfollowed {
                follower_id,
                followee_id,
            } => self.unfollowed(follower_id, followee_id).await,
            EventPayload::UserDeleted {
                user_id,
                ref posts,
                ref reposts,
            } => self.user_deleted(user_id, posts, reposts).await,
            EventPayload::UserBlocked {
                blocker_id,
                blocked_id,
            } => self.blocked(blocker_id, blocked_id).await,
            EventPayload::UserRegistered { .. } | EventPayload::PostLiked { .. } => {
                return Err(wrong_queue(self.queue, event));
            }
        };
        Ok(result?)
    }
}

/// `notify.events`: a notification for each follow, like, reply and mention, never for one's
/// own action, at most one per (kind, actor, post) however often the action is repeated (the
/// store keeps that, so a redelivered event adds nothing), none for a post already deleted.
pub struct NotifyConsumer {
    pub notifications: Arc<dyn NotificationStore>,
}

impl NotifyConsumer {
    /// The notifications an event calls for.
    pub fn notifications_for(event: &Event) -> Vec<NewNotification> {
        use NotificationKind::{Follow, Like, Mention, Reply, Repost};
        let at = event.occurred_at;
        match &event.payload {
            EventPayload::UserFollowed {
                follower_id,
                followee_id,
            } => NewNotification::of(Follow, *followee_id, *follower_id, None, at)
                .into_iter()
                .collect(),
            EventPayload::PostLiked {
                post_id,
                author_id,
                user_id,
            } => NewNotification::of(Like, *author_id, *user_id, Some(*post_id), at)
                .into_iter()
                .collect(),
            EventPayload::PostReposted {
                post_id,
                author_id,
                user_id,
                ..
            } => NewNotification::of(Repost, *author_id, *user_id, Some(*post_id), at)
                .into_iter()
                .collect(),
            EventPayload::PostCreated {
                post_id,
                author_id,
                reply_to_author,
                mentions,
                ..
            } => reply_to_author
                .iter()
                .map(|parent_author| (Reply, *parent_author))
                .chain(mentions.iter().map(|user| (Mention, *user)))
                .filter_map(|(kind, recipient)| {
                    NewNotification::of(kind, recipient, *author_id, Some(*post_id), at)
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

#[async_trait]
impl Consumer for NotifyConsumer {
    fn queue(&self) -> Queue {
        Queue::NotifyEvents
    }

    async fn handle(&self, event: &Event) -> Result<(), ConsumeError> {
        if !self.queue().routing_keys().contains(&event.kind()) {
            return Err(wrong_queue(self.queue(), event));
        }
        for notification in Self::notifications_for(event) {
            if self.notifications.add(&notification).await? {
                tracing::debug!(event_id = %event.id, kind = notification.kind.as_str(), "notified");
            }
        }
        Ok(())
    }
}

/// Skips events this consumer already finished. The mark is written after the work, so a crash
/// in between means the work runs again on redelivery (at least once), never not at all.
pub struct Idempotent<C> {
    pub inner: C,
    pub processed: Arc<dyn ProcessedEvents>,
}

#[async_trait]
impl<C: Consumer> Consumer for Idempotent<C> {
    fn queue(&self) -> Queue {
        self.inner.queue()
    }

    async fn handle(&self, event: &Event) -> Result<(), ConsumeError> {
        let name = self.queue().name();
        if self.processed.is_processed(name, event.id).await? {
            tracing::debug!(event_id = %event.id, queue = name, "already processed; skipped");
            return Ok(());
        }
        self.inner.handle(event).await?;
        self.processed.mark_processed(name, event.id).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_go_to_the_other_party_only() {
        let (ann, bob, cat) = (UserId::new(), UserId::new(), UserId::new());
        let post_id = PostId::new();
        let kinds = |event: EventPayload| -> Vec<(NotificationKind, UserId, UserId)> {
            NotifyConsumer::notifications_for(&Event::new(event))
                .into_iter()
                .map(|n| (n.kind, n.recipient, n.actor))
                .collect()
        };
        // Bob replies to ann, mentioning ann, cat and himself.
        let reply = EventPayload::PostCreated {
            post_id,
            author_id: bob,
            in_reply_to: Some(PostId::new()),
            reply_to_author: Some(ann),
            mentions: vec![ann, cat, bob],
        };
        assert_eq!(
            kinds(reply),
            [
                (NotificationKind::Reply, ann, bob),
                (NotificationKind::Mention, ann, bob),
                (NotificationKind::Mention, cat, bob),
            ]
        );
        // A reply to oneself, a like of one's own post: nothing.
        let own = EventPayload::PostCreated {
            post_id,
            author_id: ann,
            in_reply_to: Some(PostId::new()),
            reply_to_author: Some(ann),
            mentions: Vec::new(),
        };
        assert!(kinds(own).is_empty());
        let liked = |user_id| EventPayload::PostLiked {
            post_id,
            author_id: ann,
            user_id,
        };
        assert!(kinds(liked(ann)).is_empty());
        assert_eq!(kinds(liked(cat)), [(NotificationKind::Like, ann, cat)]);
        let reposted = EventPayload::PostReposted {
            post_id,
            author_id: ann,
            user_id: bob,
            entry: EntryKey::new(),
        };
        assert_eq!(kinds(reposted), [(NotificationKind::Repost, ann, bob)]);
        let follow = EventPayload::UserFollowed {
            follower_id: cat,
            followee_id: bob,
        };
        assert_eq!(kinds(follow), [(NotificationKind::Follow, bob, cat)]);
        assert!(kinds(EventPayload::post_created(post_id, ann)).is_empty());
    }

    #[test]
    fn welcome_mail_escapes_html_and_keys_message_id_on_event() {
        let event = Event::new(EventPayload::UserRegistered {
            user_id: UserId::new(),
            username: "ann".into(),
            email: "ann@example.com".into(),
            display_name: "<Ann & co>".into(),
        });
        let mail = welcome_mail(&event);
        let html = mail.as_ref().map(|m| m.html.clone()).unwrap_or_default();
        assert!(html.contains("&lt;Ann &amp; co&gt;"));
        assert_eq!(
            mail.map(|m| m.message_id),
            Some(format!("<{}@rookery>", event.id))
        );
    }
}
