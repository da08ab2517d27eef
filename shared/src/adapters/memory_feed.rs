//! Feeds in this process's memory: the embedded default. Lost on restart, then rebuilt from the
//! source of truth on each feed's next read.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use crate::domain::PostId;
use crate::ports::{FeedCache, FeedKey};

#[derive(Default)]
struct Feed {
    ready: bool,
    /// Post ids in time order (UUIDv7); the newest are at the end.
    entries: BTreeSet<PostId>,
}

impl Feed {
    fn merge(&mut self, posts: &[PostId], cap: usize) {
        self.entries.extend(posts.iter().copied());
        while self.entries.len() > cap {
            self.entries.pop_first();
        }
    }
}

pub struct MemoryFeeds {
    cap: usize,
    feeds: Mutex<HashMap<FeedKey, Feed>>,
}

impl MemoryFeeds {
    pub fn new(cap: usize) -> Self {
        Self {
            cap,
            feeds: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> anyhow::Result<MutexGuard<'_, HashMap<FeedKey, Feed>>> {
        self.feeds
            .lock()
            .map_err(|_| anyhow::anyhow!("feed cache lock poisoned"))
    }
}

#[async_trait]
impl FeedCache for MemoryFeeds {
    async fn is_ready(&self, key: FeedKey) -> anyhow::Result<bool> {
        Ok(self.lock()?.get(&key).is_some_and(|feed| feed.ready))
    }

    async fn fill(&self, key: FeedKey, posts: &[PostId]) -> anyhow::Result<()> {
        let mut feeds = self.lock()?;
        let feed = feeds.entry(key).or_default();
        feed.merge(posts, self.cap);
        feed.ready = true;
        Ok(())
    }

    async fn add(&self, keys: &[FeedKey], posts: &[PostId]) -> anyhow::Result<()> {
        let mut feeds = self.lock()?;
        for key in keys {
            feeds.entry(*key).or_default().merge(posts, self.cap);
        }
        Ok(())
    }

    async fn remove(&self, keys: &[FeedKey], posts: &[PostId]) -> anyhow::Result<()> {
        let mut feeds = self.lock()?;
        for key in keys {
            if let Some(feed) = feeds.get_mut(key) {
                for post in posts {
                    feed.entries.remove(post);
                }
            }
        }
        Ok(())
    }

    async fn page(
        &self,
        key: FeedKey,
        before: Option<PostId>,
        limit: usize,
    ) -> anyhow::Result<Vec<PostId>> {
        let feeds = self.lock()?;
        let Some(feed) = feeds.get(&key) else {
            return Ok(Vec::new());
        };
        let newest_first: Vec<PostId> = match before {
            Some(before) => feed
                .entries
                .range(..before)
                .rev()
                .take(limit)
                .copied()
                .collect(),
            None => feed.entries.iter().rev().take(limit).copied().collect(),
        };
        Ok(newest_first)
    }

    fn name(&self) -> &'static str {
        "memory"
    }

    async fn ping(&self) -> anyhow::Result<()> {
        self.lock().map(|_| ())
    }
}
