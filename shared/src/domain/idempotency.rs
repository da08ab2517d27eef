//! `Idempotency-Key` on `POST /posts` (DESIGN 4.4): a client that retries a post it may have
//! sent already names it with a key; the same key from the same account within a day answers
//! the first post again instead of writing a second one.

use std::time::Duration;

use sha2::{Digest as _, Sha256};

use super::{PostContent, PostId, ValidationError};

/// How long a key holds: a retry within this window replays, a later one posts anew.
pub const IDEMPOTENCY_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

/// The header a key arrives in; also the field a bad key is reported under.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// 1..=255 visible ASCII characters, as a client chose them (a UUID, typically). The header
/// may carry it as a structured-field string (`"..."`, as the IETF draft writes it) or bare.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub const MAX: usize = 255;

    /// # Errors
    /// Empty, longer than 255, or with a character outside `!`..=`~`.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let key = raw
            .strip_prefix('"')
            .and_then(|inner| inner.strip_suffix('"'))
            .unwrap_or(raw);
        let fits = (1..=Self::MAX).contains(&key.len());
        if !fits || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ValidationError::new(
                IDEMPOTENCY_HEADER,
                "must be 1 to 255 visible ASCII characters",
            ));
        }
        Ok(Self(key.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A post request's claim on its key: the key, and the SHA-256 of what was asked (content and
/// parent), so that the same key with another body is told apart from a retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyClaim {
    pub key: IdempotencyKey,
    pub fingerprint: [u8; 32],
}

impl IdempotencyClaim {
    pub fn new(key: IdempotencyKey, content: &PostContent, in_reply_to: Option<PostId>) -> Self {
        let mut hash = Sha256::new();
        hash.update(content.as_str().as_bytes());
        // A separator no content holds (content is text; 0xFF never occurs in UTF-8).
        hash.update([0xFF]);
        if let Some(parent) = in_reply_to {
            hash.update(parent.to_string().as_bytes());
        }
        Self {
            key,
            fingerprint: hash.finalize().into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_bare_or_quoted() {
        for good in [
            "a",
            "8e03978e-40d5-43e8-bc93-6894a57f9324",
            "\"quoted\"",
            &"k".repeat(255),
        ] {
            assert!(IdempotencyKey::parse(good).is_ok(), "{good}");
        }
        assert_eq!(
            IdempotencyKey::parse("\"quoted\"").map(|k| k.as_str().to_owned()),
            Ok("quoted".to_owned())
        );
        for bad in ["", "\"\"", "with space", "é", "tab\t", &"k".repeat(256)] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_fingerprint_tells_requests_apart() -> Result<(), ValidationError> {
        let key = IdempotencyKey::parse("k")?;
        let hello = PostContent::parse("hello")?;
        let parent = PostId::new();
        let claim =
            |content: &PostContent, parent| IdempotencyClaim::new(key.clone(), content, parent);
        assert_eq!(
            claim(&hello, None),
            claim(&PostContent::parse(" hello ")?, None)
        );
        assert_ne!(claim(&hello, None), claim(&hello, Some(parent)));
        assert_ne!(
            claim(&hello, None),
            claim(&PostContent::parse("hello!")?, None)
        );
        Ok(())
    }
}
