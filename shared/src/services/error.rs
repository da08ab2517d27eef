//! The one error type of the use-case layer. The HTTP layer maps each variant to a status in
//! one place (`http::problem`).

use crate::domain::{CursorError, ValidationError};

/// The stable, machine-readable name of a problem, served as the `code` member of every
/// problem+json answer beside the human `detail`. Clients branch on it; it never changes for
/// a given cause, whatever the wording of `detail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 422: a field is missing or invalid; `field` names it.
    InvalidField,
    /// 400: the body is not JSON, or could not be read.
    MalformedJson,
    /// 400: the query string could not be parsed.
    MalformedQuery,
    /// 400: a cursor the API did not issue.
    InvalidCursor,
    /// 401: missing, malformed, expired or forged credentials (one code for every cause).
    Unauthorized,
    /// 403: authenticated, but not allowed.
    Forbidden,
    /// 404: no such user, post or route.
    NotFound,
    /// 405: the route exists, not with this method.
    MethodNotAllowed,
    /// 409: the username is taken (in any letter case).
    UsernameTaken,
    /// 409: the e-mail address is taken.
    EmailTaken,
    /// 413: the body is over 64 KiB.
    BodyTooLarge,
    /// 429: past a rate limit (DESIGN 4.4); `Retry-After` says when to try again.
    RateLimited,
    /// 500: the cause is logged, never shown.
    Internal,
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A field failed validation (422); the detail names the field.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The request could not be read at all (400): malformed JSON, a foreign cursor.
    #[error("{1}")]
    BadRequest(ErrorCode, String),
    /// No valid credentials (401). One message for every cause, by design.
    #[error("invalid credentials")]
    Unauthorized,
    /// Authenticated, but not allowed (403).
    #[error("{0}")]
    Forbidden(&'static str),
    /// The thing named does not exist (404).
    #[error("{0}")]
    NotFound(&'static str),
    /// The request clashes with existing state (409).
    #[error("{1}")]
    Conflict(ErrorCode, &'static str),
    /// Past a rate limit (429): nothing was done; a request may succeed after `retry_after`.
    #[error("too many requests")]
    RateLimited { retry_after: std::time::Duration },
    /// Anything else (500); the cause is logged, never shown.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<CursorError> for ServiceError {
    fn from(err: CursorError) -> Self {
        ServiceError::BadRequest(ErrorCode::InvalidCursor, format!("cursor: {err}"))
    }
}

impl ServiceError {
    /// The stable code of this error, for the problem's `code` member.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Invalid(_) => ErrorCode::InvalidField,
            Self::BadRequest(code, _) | Self::Conflict(code, _) => *code,
            Self::Unauthorized => ErrorCode::Unauthorized,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::Unexpected(_) => ErrorCode::Internal,
        }
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;
