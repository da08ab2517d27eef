//! Posts.

use serde::{Deserialize, Serialize};

use super::{EntryKey, PostId, Timestamp, UserId, UserSummary, ValidationError};

/// 1..=280 characters (Unicode scalar values) after trimming; stored trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct PostContent(String);

impl PostContent {
    pub const MAX: usize = 280;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let trimmed = raw.trim();
        let len = trimmed.chars().count();
        if len == 0 {
            return Err(ValidationError::new("content", "must not be empty"));
        }
        if len > Self::MAX {
            return Err(ValidationError::new(
                "content",
                "must be at most 280 characters",
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A post about to be stored, with what its content mentions and tags already resolved.
#[derive(Debug, Clone)]
pub struct NewPost {
    pub id: PostId,
    pub author_id: UserId,
    pub content: PostContent,
    pub created_at: Timestamp,
    pub in_reply_to: Option<ReplyTo>,
    pub mentions: Vec<Mention>,
    pub tags: Vec<String>,
    /// The request's `Idempotency-Key`, when it sent one.
    pub idempotency: Option<super::IdempotencyClaim>,
}

/// The post a reply answers, and that post's author (whose followers may see the reply).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyTo {
    pub post: PostId,
    pub author: UserId,
}

/// A user a post mentions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mention {
    pub id: UserId,
    pub username: String,
}

/// A stored post with its author: what never changes once it is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Post {
    pub id: PostId,
    pub author: UserSummary,
    pub content: String,
    pub created_at: Timestamp,
    pub in_reply_to: Option<PostId>,
    pub mentions: Vec<Mention>,
    pub tags: Vec<String>,
}

/// One entry of a feed: a post, brought in by its author (`via` none) or by a repost (`via` the
/// reposter). A post has at most one entry per feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedEntry {
    pub key: EntryKey,
    pub post: PostId,
    pub via: Option<UserId>,
}

impl FeedEntry {
    /// The post itself, in its author's place.
    pub fn original(post: PostId) -> Self {
        Self {
            key: post.into(),
            post,
            via: None,
        }
    }

    /// `post`, reposted by `by`, at the place `key`.
    pub fn repost(key: EntryKey, post: PostId, by: UserId) -> Self {
        Self {
            key,
            post,
            via: Some(by),
        }
    }
}

/// A post's counts, exact once the write that changed them has answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PostStats {
    pub replies: u64,
    pub likes: u64,
    pub reposts: u64,
}

/// What the reader has done with a post.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ViewerState {
    pub liked: bool,
    pub reposted: bool,
}

/// A post as an answer shows it (DESIGN 4.1): the post, its counts, and the reader's state when
/// the request names a reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostView {
    pub post: Post,
    pub stats: PostStats,
    pub viewer: Option<ViewerState>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_counts_characters_not_bytes() {
        assert!(PostContent::parse(&"a".repeat(280)).is_ok());
        assert!(PostContent::parse(&"a".repeat(281)).is_err());
        // 280 four-byte characters: 1,120 bytes, still 280 characters.
        assert!(PostContent::parse(&"🦜".repeat(280)).is_ok());
        assert!(PostContent::parse(&"🦜".repeat(281)).is_err());
    }

    #[test]
    fn content_is_trimmed_and_whitespace_only_rejected() {
        assert!(PostContent::parse("").is_err());
        assert!(PostContent::parse("   \n\t ").is_err());
        let padded = format!("  {}  ", "b".repeat(280));
        let parsed = PostContent::parse(&padded).ok();
        assert_eq!(parsed.map(|c| c.as_str().len()), Some(280));
    }
}
