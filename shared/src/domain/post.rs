//! Posts.

use serde::Serialize;

use super::{PostId, Timestamp, UserId, UserSummary, ValidationError};

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

/// A post about to be stored.
#[derive(Debug, Clone)]
pub struct NewPost {
    pub id: PostId,
    pub author_id: UserId,
    pub content: PostContent,
    pub created_at: Timestamp,
}

/// A stored post with its author, as clients see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Post {
    pub id: PostId,
    pub author: UserSummary,
    pub content: String,
    pub created_at: Timestamp,
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
