//! The one error of every area of `tocsin serve`, and the answer each kind gets.

use crate::web::receipts::Refusal;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// Not what the endpoint takes: 400.
    #[error("{0}")]
    Malformed(String),
    /// Unsigned, mis-signed or a wrong token: 403.
    #[error("{0}")]
    Forbidden(String),
    /// The database could not store it (the cause is logged where it happened): 500, so that
    /// the sender tries again later.
    #[error("not stored")]
    NotStored,
}

impl WebError {
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::Malformed(_) => StatusCode::BAD_REQUEST,
            WebError::Forbidden(_) => StatusCode::FORBIDDEN,
            WebError::NotStored => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<Refusal> for WebError {
    fn from(refusal: Refusal) -> WebError {
        match refusal {
            Refusal::Malformed(why) => WebError::Malformed(why),
            Refusal::Forbidden(why) => WebError::Forbidden(why),
        }
    }
}

/// The status alone: why a request was refused is the server's business (the refusals are
/// summed up in its log), not that of whoever sent it.
impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        self.status().into_response()
    }
}
