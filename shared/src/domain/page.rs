//! Cursor pagination: a page size that is always in range, and opaque cursors that name the last
//! item a client has seen (keyset pagination: no offsets, stable under inserts).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use super::{EntryKey, NotificationId, PostId, Timestamp, UserId, ValidationError};

/// Page size, 1..=100; never clamped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(usize);

impl Limit {
    pub const DEFAULT: usize = 20;
    pub const MAX: usize = 100;

    pub fn parse(raw: Option<&str>) -> Result<Self, ValidationError> {
        let Some(raw) = raw else {
            return Ok(Self(Self::DEFAULT));
        };
        match raw.parse::<usize>() {
            Ok(n) if (1..=Self::MAX).contains(&n) => Ok(Self(n)),
            _ => Err(ValidationError::new(
                "limit",
                "must be an integer from 1 to 100",
            )),
        }
    }

    pub fn new(n: usize) -> Result<Self, ValidationError> {
        Self::parse(Some(&n.to_string()))
    }

    pub fn get(self) -> usize {
        self.0
    }

    /// One more than the page: the extra item tells whether another page follows.
    pub fn probe(self) -> usize {
        self.0 + 1
    }
}

impl Default for Limit {
    fn default() -> Self {
        Self(Self::DEFAULT)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the cursor is not one this API issued")]
pub struct CursorError;

/// A position in a listing, carried by clients as an opaque string.
pub trait Cursor: Sized {
    fn encode(&self) -> String;
    fn decode(raw: &str) -> Result<Self, CursorError>;
}

fn wrap(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(text)
}

fn unwrap_text(raw: &str) -> Result<String, CursorError> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| CursorError)?;
    String::from_utf8(bytes).map_err(|_| CursorError)
}

/// A cursor that is an id: `<prefix>.<uuid>`, wrapped.
macro_rules! id_cursor {
    ($(#[$doc:meta])* $id:ty, $prefix:literal) => {
        $(#[$doc])*
        impl Cursor for $id {
            fn encode(&self) -> String {
                wrap(&format!(concat!($prefix, ".{}"), self))
            }

            fn decode(raw: &str) -> Result<Self, CursorError> {
                let text = unwrap_text(raw)?;
                let id = text
                    .strip_prefix(concat!($prefix, "."))
                    .ok_or(CursorError)?;
                id.parse().map_err(|_| CursorError)
            }
        }
    };
}

id_cursor!(
    /// Post listings are ordered by post id, newest first.
    PostId,
    "p"
);
id_cursor!(
    /// Feeds are ordered by entry key, newest first. The text is a post id's (`p.`), so that a
    /// cursor issued before reposts existed still reads.
    EntryKey,
    "p"
);
id_cursor!(
    /// Notification listings are ordered by notification id, newest first.
    NotificationId,
    "n"
);

/// Follower and following listings are ordered by when the relation began, then by user id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelationCursor {
    pub since: Timestamp,
    pub user: UserId,
}

impl Cursor for RelationCursor {
    fn encode(&self) -> String {
        wrap(&format!("r.{}.{}", self.since.millis(), self.user))
    }

    fn decode(raw: &str) -> Result<Self, CursorError> {
        let text = unwrap_text(raw)?;
        let rest = text.strip_prefix("r.").ok_or(CursorError)?;
        let (millis, user) = rest.split_once('.').ok_or(CursorError)?;
        Ok(Self {
            since: Timestamp::from_millis(millis.parse().map_err(|_| CursorError)?),
            user: user.parse().map_err(|_| CursorError)?,
        })
    }
}

/// User searches are ordered by username (its lower-case key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameCursor(pub String);

impl Cursor for NameCursor {
    fn encode(&self) -> String {
        wrap(&format!("u.{}", self.0))
    }

    fn decode(raw: &str) -> Result<Self, CursorError> {
        let text = unwrap_text(raw)?;
        let key = text.strip_prefix("u.").ok_or(CursorError)?;
        let valid = (1..=30).contains(&key.len())
            && key
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        valid.then(|| Self(key.to_owned())).ok_or(CursorError)
    }
}

/// One page of a listing. `next_cursor` is `None` exactly when no item follows.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` items fetched in order: the extra one only proves
    /// that a next page exists.
    pub fn from_probe(mut items: Vec<T>, limit: Limit, cursor_of: impl Fn(&T) -> String) -> Self {
        let more = items.len() > limit.get();
        items.truncate(limit.get());
        let next_cursor = if more {
            items.last().map(cursor_of)
        } else {
            None
        };
        Self { items, next_cursor }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_bounds_and_default() {
        assert_eq!(Limit::parse(None).map(Limit::get), Ok(20));
        assert_eq!(Limit::parse(Some("1")).map(Limit::get), Ok(1));
        assert_eq!(Limit::parse(Some("100")).map(Limit::get), Ok(100));
        for bad in ["0", "101", "-1", "ten", "", "2.5"] {
            assert!(Limit::parse(Some(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn cursors_roundtrip_and_reject_foreign_text() {
        let post = PostId::new();
        assert_eq!(PostId::decode(&post.encode()), Ok(post));
        let rel = RelationCursor {
            since: Timestamp::from_millis(1_700_000_000_000),
            user: UserId::new(),
        };
        assert_eq!(RelationCursor::decode(&rel.encode()), Ok(rel));
        assert!(PostId::decode(&rel.encode()).is_err());
        assert!(RelationCursor::decode(&post.encode()).is_err());
        assert!(PostId::decode("!!!").is_err());
        assert!(PostId::decode(&wrap("p.nope")).is_err());
    }

    #[test]
    fn page_from_probe_sets_cursor_only_when_more_follow() {
        let limit = Limit::new(2).unwrap_or_default();
        let full = Page::from_probe(vec![1, 2, 3], limit, ToString::to_string);
        assert_eq!(full.items, vec![1, 2]);
        assert_eq!(full.next_cursor.as_deref(), Some("2"));
        let last = Page::from_probe(vec![1, 2], limit, ToString::to_string);
        assert_eq!(last.next_cursor, None);
    }
}
