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
