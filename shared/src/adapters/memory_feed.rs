//! Feeds in this process's memory: the embedded default. Lost on restart, then rebuilt from the
//! source of truth on each feed's next read.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use crate::domain::{EntryKey, FeedEntry, PostId};
use crate::ports::{FeedCache, FeedKey};

#[derive(Default)]
struct Feed {
    ready: bool,
    /// Entries in key order (UUIDv7: time order); the newest are at the end.
    entries: BTreeMap<EntryKey, FeedEntry>,
    /// Each post's entry: a post is in a feed at most once.
    by_post: HashMap<PostId, EntryKey>,
}

impl Feed {
    fn merge(&mut self, entries: &[FeedEntry], cap: usize) {
        for entry in entries {
            if self.by_post.contains_key(&entry.post) {
                continue;
            }
            self.by_post.insert(entry.post, entry.key);
            self.entries.insert(entry.key, *entry);
        }
        while self.entries.len() > cap {
            if let Some((_, oldest)) = self.entries.pop_first() {
                self.by_post.remove(&oldest.post);
            }
        }
    }

    fn remove_post(&mut self, post: PostId) {
        if let Some(key) = self.by_post.remove(&post) {
            self.entries.remove(&key);
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

    async fn fill(&self, key: FeedKey, entries: &[FeedEntry]) -> anyhow::Result<()> {
        let mut feeds = self.lock()?;
        let feed = feeds.entry(key).or_default();
        feed.merge(entries, self.cap);
        feed.ready = true;
        Ok(())
    }

    async fn add(&self, keys: &[FeedKey], entries: &[FeedEntry]) -> anyhow::Result<()> {
        let mut feeds = self.lock()?;
        for key in keys {
            feeds.entry(*key).or_default().merge(entries, self.cap);
        }
        Ok(())
    }

    async fn remove(&self, keys: &[FeedKey], posts: &[PostId]) -> anyhow::Result<()> {
        let mut feeds = self.lock()?;
        for key in keys {
            if let Some(feed) = feeds.get_mut(key) {
                for post in posts {
                    feed.remove_post(*post);
                }
            }
        }
        Ok(())
    }

    async fn clear(&self, keys: &[FeedKey]) -> anyhow::Result<()> {
        let mut feeds = self.lock()?;
        for key in keys {
            feeds.remove(key);
        }
        Ok(())
    }

    async fn remove_entries(&self, keys: &[FeedKey], entries: &[FeedEntry]) -> anyhow::Result<()> {
        let mut feeds = self.lock()?;
        for key in keys {
            if let Some(feed) = feeds.get_mut(key) {
                for entry in entries {
                    if feed.by_post.get(&entry.post) == Some(&entry.key) {
                        feed.remove_post(entry.post);
                    }
                }
            }
        }
        Ok(())
    }

    async fn page(
        &self,
        key: FeedKey,
        before: Option<EntryKey>,
        limit: usize,
    ) -> anyhow::Result<Vec<FeedEntry>> {
        let feeds = self.lock()?;
        let Some(feed) = feeds.get(&key) else {
            return Ok(Vec::new());
        };
        let newest_first: Vec<FeedEntry> = match before {
            Some(before) => feed
                .entries
                .range(..before)
                .rev()
                .take(limit)
                .map(|(_, entry)| *entry)
                .collect(),
            None => feed.entries.values().rev().take(limit).copied().collect(),
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
