//! API errors, answered with Connect's error shape `{"status": N, "message": "…"}`.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use onepassword_connect::model::ErrorBody;

use crate::http_util::json_response;

/// An error answered to an API client; `status` in the body always equals the HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {message}")]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Message, worded like the real server where its wording is known.
    pub message: String,
}

impl ApiError {
    /// An error with this status and message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// 400 with this message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 400 "Invalid Vault UUID" (the vault path segment is not a 26-character id).
    pub fn invalid_vault_id() -> Self {
        Self::bad_request("Invalid Vault UUID")
    }

    /// 400 "Invalid Item UUID".
    pub fn invalid_item_id() -> Self {
        Self::bad_request("Invalid Item UUID")
    }

    /// 403 for a vault outside the token's scope (the real server's wording).
    pub fn vault_forbidden(vault_id: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            format!("Authorization: token does not have access to vault {vault_id}"),
        )
    }

    /// 404 "vault {id} not found".
    pub fn vault_not_found(vault_id: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("vault {vault_id} not found"))
    }

    /// 404 "item {id} not found".
    pub fn item_not_found(item_id: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("item {item_id} not found"))
    }

    /// 404 "file {id} not found".
    pub fn file_not_found(file_id: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("file {file_id} not found"))
    }

    /// The JSON body.
    pub fn body(&self) -> ErrorBody {
        ErrorBody::new(self.status.as_u16(), self.message.clone())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.body()).unwrap_or_default();
        json_response(self.status, body.into())
    }
}
