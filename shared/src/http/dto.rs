//! Request and response bodies of the HTTP contract (DESIGN section 4), with their OpenAPI
//! schemas. A request body is read into its type by [`JsonBody`](super::extract::JsonBody) and
//! turned into domain values once, by its `into_domain`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::RequestBody;
use crate::domain::{
    Bio, DisplayName, Email, NotificationId, Page, Password, PostContent, PostId, PostView,
    Profile, ProfileChanges, Relationship, User, UserSummary, Username, ValidationError,
};
use crate::services::{Draft, IssuedSession, NotificationView, Registration, Thread};

#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterRequest {
    /// 3 to 30 of `[A-Za-z0-9_]`.
    pub username: String,
    pub email: String,
    /// 8 to 72 bytes.
    pub password: String,
    /// 1 to 50 characters; defaults to the username.
    #[serde(default)]
    pub display_name: Option<String>,
}

impl RequestBody for RegisterRequest {
    const FIELDS: &'static [&'static str] = &["username", "email", "password", "display_name"];
}

impl RegisterRequest {
    /// # Errors
    /// The first invalid field, named.
    pub fn into_domain(self) -> Result<Registration, ValidationError> {
        Ok(Registration {
            username: Username::parse(&self.username)?,
            email: Email::parse(&self.email)?,
            password: Password::parse(&self.password)?,
            display_name: self
                .display_name
                .as_deref()
                .map(DisplayName::parse)
                .transpose()?,
        })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    /// Username or e-mail address.
    pub login: String,
    pub password: String,
}

impl RequestBody for LoginRequest {
    const FIELDS: &'static [&'static str] = &["login", "password"];
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewPostRequest {
    /// 1 to 280 characters after trimming.
    pub content: String,
    /// The id of the post this one replies to.
    #[serde(default)]
    pub in_reply_to: Option<String>,
}

impl RequestBody for NewPostRequest {
    const FIELDS: &'static [&'static str] = &["content", "in_reply_to"];
}

impl NewPostRequest {
    /// # Errors
    /// The content is empty or over 280 characters after trimming, or `in_reply_to` is not a
    /// post id.
    pub fn into_domain(self) -> Result<Draft, ValidationError> {
        Ok(Draft {
            content: PostContent::parse(&self.content)?,
            in_reply_to: self
                .in_reply_to
                .as_deref()
                .map(|raw| {
                    raw.parse::<PostId>()
                        .map_err(|_| ValidationError::new("in_reply_to", "must be a post id"))
                })
                .transpose()?,
        })
    }
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
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Exchanged once at `POST /auth/refresh` for new tokens; presenting it a second time
    /// revokes the session.
    pub refresh_token: String,
}

impl From<IssuedSession> for TokenResponse {
    fn from(session: IssuedSession) -> Self {
        Self {
            access_token: session.access.access_token,
            token_type: "Bearer",
            expires_in: session.access.expires_in,
            refresh_token: session.refresh.expose().to_owned(),
        }
    }
}

/// `POST /auth/refresh` and `POST /auth/logout`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

impl RequestBody for RefreshRequest {
    const FIELDS: &'static [&'static str] = &["refresh_token"];
}

/// `PATCH /me`: the fields to change; absent or null fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ProfilePatch {
    /// 1 to 50 characters after trimming.
    #[serde(default)]
    pub display_name: Option<String>,
    /// 0 to 160 characters after trimming.
    #[serde(default)]
    pub bio: Option<String>,
}

impl RequestBody for ProfilePatch {
    const FIELDS: &'static [&'static str] = &["display_name", "bio"];
}

impl ProfilePatch {
    /// # Errors
    /// The first invalid field, named.
    pub fn into_domain(self) -> Result<ProfileChanges, ValidationError> {
        Ok(ProfileChanges {
            display_name: self
                .display_name
                .as_deref()
                .map(DisplayName::parse)
                .transpose()?,
            bio: self.bio.as_deref().map(Bio::parse).transpose()?,
        })
    }
}

/// `PUT /me/password`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordChange {
    pub current_password: String,
    /// 8 to 72 bytes.
    pub new_password: String,
}

impl RequestBody for PasswordChange {
    const FIELDS: &'static [&'static str] = &["current_password", "new_password"];
}

impl PasswordChange {
    /// # Errors
    /// The new password breaks the registration rules (named `new_password`).
    pub fn new_password(&self) -> Result<Password, ValidationError> {
        Password::parse(&self.new_password).map_err(|err| ValidationError {
            field: "new_password",
            ..err
        })
    }
}

/// `DELETE /me`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AccountDeletion {
    pub password: String,
}

impl RequestBody for AccountDeletion {
    const FIELDS: &'static [&'static str] = &["password"];
}

/// `GET /me`: the caller's own profile, with e-mail.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeResponse {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub bio: String,
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
            bio: p.user.bio,
            followers_count: p.followers_count,
            following_count: p.following_count,
            posts_count: p.posts_count,
            created_at: p.user.created_at.rfc3339(),
        }
    }
}

/// `GET /users/{username}`: a public profile, without e-mail; with `relationship` when the
/// request carries a token.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileResponse {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub bio: String,
    pub followers_count: u64,
    pub following_count: u64,
    pub posts_count: u64,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relationship: Option<RelationshipResponse>,
}

/// How the caller stands towards the profile's user.
#[derive(Debug, Serialize, ToSchema)]
pub struct RelationshipResponse {
    pub following: bool,
    pub followed_by: bool,
    pub blocking: bool,
    pub muting: bool,
}

impl From<Relationship> for RelationshipResponse {
    fn from(r: Relationship) -> Self {
        Self {
            following: r.following,
            followed_by: r.followed_by,
            blocking: r.blocking,
            muting: r.muting,
        }
    }
}

impl ProfileResponse {
    pub fn new(p: Profile, relationship: Option<Relationship>) -> Self {
        Self {
            id: p.user.id.to_string(),
            username: p.user.username,
            display_name: p.user.display_name,
            bio: p.user.bio,
            followers_count: p.followers_count,
            following_count: p.following_count,
            posts_count: p.posts_count,
            created_at: p.user.created_at.rfc3339(),
            relationship: relationship.map(Into::into),
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
pub struct MentionResponse {
    pub id: String,
    pub username: String,
}

/// The post view (DESIGN 4.1): one shape wherever a post is answered.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostResponse {
    pub id: String,
    pub author: UserSummaryResponse,
    pub content: String,
    pub created_at: String,
    /// The id of the post this one replies to.
    pub in_reply_to: Option<String>,
    /// Each mentioned user once, in order of first appearance.
    pub mentions: Vec<MentionResponse>,
    /// Lower-case tags, each once, in order.
    pub tags: Vec<String>,
    pub reply_count: u64,
    pub like_count: u64,
    pub repost_count: u64,
    /// Only when the request carries a valid token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub liked_by_me: Option<bool>,
    /// Only when the request carries a valid token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reposted_by_me: Option<bool>,
}

impl From<PostView> for PostResponse {
    fn from(view: PostView) -> Self {
        let PostView {
            post,
            stats,
            viewer,
        } = view;
        Self {
            id: post.id.to_string(),
            author: post.author.into(),
            content: post.content,
            created_at: post.created_at.rfc3339(),
            in_reply_to: post.in_reply_to.map(|id| id.to_string()),
            mentions: post
                .mentions
                .into_iter()
                .map(|m| MentionResponse {
                    id: m.id.to_string(),
                    username: m.username,
                })
                .collect(),
            tags: post.tags,
            reply_count: stats.replies,
            like_count: stats.likes,
            repost_count: stats.reposts,
            liked_by_me: viewer.map(|v| v.liked),
            reposted_by_me: viewer.map(|v| v.reposted),
        }
    }
}

/// A feed item: the post view, and who brought the post into this feed by reposting it (null
/// when its author did).
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedItem {
    #[serde(flatten)]
    pub post: PostResponse,
    pub reposted_by: Option<UserSummaryResponse>,
}

/// A page of posts (replies); `next_cursor` is null exactly when no item follows.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostPage {
    pub items: Vec<PostResponse>,
    pub next_cursor: Option<String>,
}

impl From<Page<PostView>> for PostPage {
    fn from(page: Page<PostView>) -> Self {
        let page = page.map(PostResponse::from);
        Self {
            items: page.items,
            next_cursor: page.next_cursor,
        }
    }
}

/// A page of feed items (home, user and tag feeds); `next_cursor` is null exactly when no
/// item follows.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedPage {
    pub items: Vec<FeedItem>,
    pub next_cursor: Option<String>,
}

impl From<Page<PostView>> for FeedPage {
    fn from(page: Page<PostView>) -> Self {
        let page = page.map(|view| FeedItem {
            post: view.into(),
            reposted_by: None,
        });
        Self {
            items: page.items,
            next_cursor: page.next_cursor,
        }
    }
}

impl From<Page<crate::services::FeedItem>> for FeedPage {
    fn from(page: Page<crate::services::FeedItem>) -> Self {
        let page = page.map(|item| FeedItem {
            post: item.view.into(),
            reposted_by: item.reposted_by.map(Into::into),
        });
        Self {
            items: page.items,
            next_cursor: page.next_cursor,
        }
    }
}

/// `GET /posts/{id}/context`: the post's place in its conversation.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContextResponse {
    /// From the root down to the parent (at most 40, stopping at the first deleted one).
    pub ancestors: Vec<PostResponse>,
    /// Depth first, each level oldest first (at most 200).
    pub descendants: Vec<PostResponse>,
}

impl From<Thread> for ContextResponse {
    fn from(thread: Thread) -> Self {
        Self {
            ancestors: thread.ancestors.into_iter().map(Into::into).collect(),
            descendants: thread.descendants.into_iter().map(Into::into).collect(),
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
    /// Each configured dependency: `ok` or `error` (the cause is in the log, not here).
    pub checks: std::collections::BTreeMap<String, String>,
}

/// `POST /notifications/read`: `up_to` and every older notification, or (no body, `{}`) all.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MarkReadRequest {
    /// A notification id.
    #[serde(default)]
    pub up_to: Option<String>,
}

impl RequestBody for MarkReadRequest {
    const FIELDS: &'static [&'static str] = &["up_to"];
}

impl MarkReadRequest {
    /// # Errors
    /// `up_to` is not a notification id.
    pub fn into_domain(self) -> Result<Option<NotificationId>, ValidationError> {
        self.up_to
            .as_deref()
            .map(|raw| {
                raw.parse::<NotificationId>()
                    .map_err(|_| ValidationError::new("up_to", "must be a notification id"))
            })
            .transpose()
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationResponse {
    pub id: String,
    /// `follow`, `like`, `repost`, `reply` or `mention`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub actor: UserSummaryResponse,
    /// The post liked, reposted, replied with or mentioning; null for a follow.
    pub post: Option<PostResponse>,
    pub created_at: String,
    pub read: bool,
}

impl From<NotificationView> for NotificationResponse {
    fn from(view: NotificationView) -> Self {
        let NotificationView { notification, post } = view;
        Self {
            id: notification.id.to_string(),
            kind: notification.kind.as_str(),
            actor: notification.actor.into(),
            post: post.map(Into::into),
            created_at: notification.created_at.rfc3339(),
            read: notification.read,
        }
    }
}

/// A page of notifications, newest first; `next_cursor` is null exactly when no item follows.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationPage {
    pub items: Vec<NotificationResponse>,
    pub next_cursor: Option<String>,
}

impl From<Page<NotificationView>> for NotificationPage {
    fn from(page: Page<NotificationView>) -> Self {
        let page = page.map(NotificationResponse::from);
        Self {
            items: page.items,
            next_cursor: page.next_cursor,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnreadCountResponse {
    pub count: u64,
}
