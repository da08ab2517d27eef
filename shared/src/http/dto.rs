//! Response bodies of the HTTP contract (DESIGN section 4), with their OpenAPI schemas.

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{Page, Post, Profile, User, UserSummary};
use crate::services::IssuedToken;

#[derive(Debug, Serialize, ToSchema)]
pub struct RegisterRequest {
    /// 3 to 30 of `[A-Za-z0-9_]`.
    pub username: String,
    pub email: String,
    /// 8 to 72 bytes.
    pub password: String,
    /// 1 to 50 characters; defaults to the username.
    pub display_name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginRequest {
    /// Username or e-mail address.
    pub login: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NewPostRequest {
    /// 1 to 280 characters after trimming.
    pub content: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RegisteredUser {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub created_at: String,
}

impl From<User> for RegisteredUser {
    fn from(user: User) -> Self {
        Self {
            id: user.id.to_string(),
            username: user.username,
            display_name: user.display_name,
            created_at: user.created_at.rfc3339(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the token expires.
    pub expires_in: u64,
}

impl From<IssuedToken> for TokenResponse {
    fn from(token: IssuedToken) -> Self {
        Self {
            access_token: token.access_token,
            token_type: "Bearer",
            expires_in: token.expires_in,
        }
    }
}

/// `GET /me`: the caller's own profile, with e-mail.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub followers_count: u64,
    pub following_count: u64,
    pub posts_count: u64,
    pub created_at: String,
}

impl From<Profile> for MeResponse {
    fn from(p: Profile) -> Self {
        Self {
            id: p.user.id.to_string(),
            username: p.user.username,
            display_name: p.user.display_name,
            email: p.user.email,
            followers_count: p.followers_count,
            following_count: p.following_count,
            posts_count: p.posts_count,
            created_at: p.user.created_at.rfc3339(),
        }
    }
}

/// `GET /users/{username}`: a public profile, without e-mail.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileResponse {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub followers_count: u64,
    pub following_count: u64,
    pub posts_count: u64,
    pub created_at: String,
}

impl From<Profile> for ProfileResponse {
    fn from(p: Profile) -> Self {
        Self {
            id: p.user.id.to_string(),
            username: p.user.username,
            display_name: p.user.display_name,
            followers_count: p.followers_count,
            following_count: p.following_count,
            posts_count: p.posts_count,
            created_at: p.user.created_at.rfc3339(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserSummaryResponse {
    pub id: String,
    pub username: String,
    pub display_name: String,
}

impl From<UserSummary> for UserSummaryResponse {
    fn from(u: UserSummary) -> Self {
        Self {
            id: u.id.to_string(),
            username: u.username,
            display_name: u.display_name,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PostResponse {
    pub id: String,
    pub author: UserSummaryResponse,
    pub content: String,
    pub created_at: String,
}

impl From<Post> for PostResponse {
    fn from(p: Post) -> Self {
        Self {
            id: p.id.to_string(),
            author: p.author.into(),
            content: p.content,
            created_at: p.created_at.rfc3339(),
        }
    }
}

/// A page of posts; `next_cursor` is null exactly when no item follows.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostPage {
    pub items: Vec<PostResponse>,
    pub next_cursor: Option<String>,
}

impl From<Page<Post>> for PostPage {
    fn from(page: Page<Post>) -> Self {
        let page = page.map(PostResponse::from);
        Self {
            items: page.items,
            next_cursor: page.next_cursor,
        }
    }
}

/// A page of users; `next_cursor` is null exactly when no item follows.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserPage {
    pub items: Vec<UserSummaryResponse>,
    pub next_cursor: Option<String>,
}

impl From<Page<UserSummary>> for UserPage {
    fn from(page: Page<UserSummary>) -> Self {
        let page = page.map(UserSummaryResponse::from);
        Self {
            items: page.items,
            next_cursor: page.next_cursor,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HealthResponse {
    /// `ok` or `degraded`.
    pub status: &'static str,
    /// Each configured dependency: `ok` or `error: ...`.
    pub checks: std::collections::BTreeMap<String, String>,
}
