//! The source of truth for users and posts (SQLite embedded, SQL Server in production).

use async_trait::async_trait;

use crate::domain::{
    Credentials, Event, Login, NewPost, NewUser, Post, PostId, User, UserId, UserSummary,
};

#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    #[error("the username is taken")]
    UsernameTaken,
    #[error("the e-mail address is taken")]
    EmailTaken,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

#[async_trait]
pub trait UserStore: Send + Sync + 'static {
    /// Stores the user and its `user.registered` event in one transaction.
    ///
    /// # Errors
    /// `UsernameTaken` / `EmailTaken` when either is already used, compared case-insensitively.
    async fn create_user(&self, user: &NewUser, event: &Event) -> Result<User, CreateUserError>;

    async fn user_by_id(&self, id: UserId) -> anyhow::Result<Option<User>>;

    /// Looks a user up by name, case-insensitively.
    async fn user_by_username(&self, username: &str) -> anyhow::Result<Option<User>>;

    /// Finds the credentials of the user whose username or e-mail is `login`,
    /// case-insensitively.
    async fn credentials(&self, login: &Login) -> anyhow::Result<Option<Credentials>>;

    /// The summaries of these users, in no particular order; unknown ids are left out.
    async fn summaries(&self, ids: &[UserId]) -> anyhow::Result<Vec<UserSummary>>;
}

#[async_trait]
pub trait PostStore: Send + Sync + 'static {
    /// Stores the post and its `post.created` event in one transaction.
    async fn create_post(&self, post: &NewPost, event: &Event) -> anyhow::Result<Post>;

    async fn post(&self, id: PostId) -> anyhow::Result<Option<Post>>;

    /// Deletes the post and stores its `post.deleted` event in one transaction.
    /// Returns false when there was no such post.
    async fn delete_post(&self, id: PostId, event: &Event) -> anyhow::Result<bool>;

    /// These posts with their authors, in no particular order; unknown ids are left out.
    async fn posts(&self, ids: &[PostId]) -> anyhow::Result<Vec<Post>>;

    /// Ids of posts by any of `authors`, newest first, strictly older than `before`.
    async fn post_ids_by_authors(
        &self,
        authors: &[UserId],
        before: Option<PostId>,
        limit: usize,
    ) -> anyhow::Result<Vec<PostId>>;

    async fn count_by_author(&self, author: UserId) -> anyhow::Result<u64>;
}
