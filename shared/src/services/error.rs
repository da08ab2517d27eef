//! The one error type of the use-case layer. The HTTP layer maps each variant to a status in
//! one place (`http::problem`).

use crate::domain::{CursorError, ValidationError};

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A field failed validation (422); the detail names the field.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The request could not be read at all (400): malformed JSON, a foreign cursor.
    #[error("{0}")]
    BadRequest(String),
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
    #[error("{0}")]
    Conflict(&'static str),
    /// Anything else (500); the cause is logged, never shown.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<CursorError> for ServiceError {
    fn from(err: CursorError) -> Self {
        ServiceError::BadRequest(format!("cursor: {err}"))
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;
