//! Users as stored, as listed and as profiled.

use serde::Serialize;

use super::{Bio, DisplayName, Email, Timestamp, UserId, Username};

/// A registration that passed validation, with its password already hashed.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: UserId,
    pub username: Username,
    pub email: Email,
    pub display_name: DisplayName,
    pub password_hash: String,
    pub created_at: Timestamp,
}

/// A stored user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub email: String,
    pub display_name: String,
    pub bio: String,
    pub created_at: Timestamp,
}

/// A `PATCH /me`: the fields to change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProfileChanges {
    pub display_name: Option<DisplayName>,
    pub bio: Option<Bio>,
}

/// What login needs: the id and the hash to verify against.
#[derive(Clone)]
pub struct Credentials {
    pub id: UserId,
    pub password_hash: String,
}

/// The public face of a user, embedded in posts and listings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserSummary {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
}

impl From<&User> for UserSummary {
    fn from(user: &User) -> Self {
        Self {
            id: user.id,
            username: user.username.clone(),
            display_name: user.display_name.clone(),
        }
    }
}

/// A user with the counts a profile shows.
#[derive(Debug, Clone)]
pub struct Profile {
    pub user: User,
    pub followers_count: u64,
    pub following_count: u64,
    pub posts_count: u64,
}

/// One edge of the follow graph as a listing sees it: the other user, and since when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Relation {
    pub user: UserId,
    pub since: Timestamp,
}

/// How the reader of a profile stands towards its user.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Relationship {
    pub following: bool,
    pub followed_by: bool,
    pub blocking: bool,
    pub muting: bool,
}

/// What a user can do about another (DESIGN 4.4): a block cuts every tie both ways, a mute only
/// keeps the other's posts and notifications away from the muter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Restriction {
    Block,
    Mute,
}

impl Restriction {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Block => "block",
            Self::Mute => "mute",
        }
    }

    /// The kind a store wrote with [`Self::as_str`].
    pub fn parse(stored: &str) -> Option<Self> {
        [Self::Block, Self::Mute]
            .into_iter()
            .find(|kind| kind.as_str() == stored)
    }
}

/// Blocks and mutes between a user and another, from the first one's side.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Standing {
    pub blocking: bool,
    pub blocked_by: bool,
    pub muting: bool,
}

impl Standing {
    /// Adds one stored restriction between the two users; `mine` when the first one made it.
    /// The other's mute of the first is theirs alone and changes nothing here.
    pub fn record(&mut self, mine: bool, kind: Restriction) {
        match (mine, kind) {
            (true, Restriction::Block) => self.blocking = true,
            (true, Restriction::Mute) => self.muting = true,
            (false, Restriction::Block) => self.blocked_by = true,
            (false, Restriction::Mute) => {}
        }
    }
}

/// Whom a reader does not see: everyone in a block with them (either side) and everyone they
/// mute. Loaded once per page, so that filtering costs no query per post.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hidden {
    pub blocked: std::collections::HashSet<UserId>,
    pub muted: std::collections::HashSet<UserId>,
}

impl Hidden {
    /// Adds `other`, in a block with the reader (either side) or muted by the reader.
    pub fn record(&mut self, other: UserId, kind: Restriction) {
        match kind {
            Restriction::Block => self.blocked.insert(other),
            Restriction::Mute => self.muted.insert(other),
        };
    }

    /// Away from the reader's home feed and notifications: blocked or muted.
    pub fn from_feed(&self, user: UserId) -> bool {
        self.blocked.contains(&user) || self.muted.contains(&user)
    }

    /// Away from replies, conversations and tag pages: blocked only (a mute hides nothing
    /// there).
    pub fn from_threads(&self, user: UserId) -> bool {
        self.blocked.contains(&user)
    }

    pub fn is_empty(&self) -> bool {
        self.blocked.is_empty() && self.muted.is_empty()
    }
}
