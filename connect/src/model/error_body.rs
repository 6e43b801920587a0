//! The error body every Connect error response carries.

use serde::{Deserialize, Serialize};

use super::lenient;

/// `{"status": <int>, "message": "<text>"}`; `status` equals the HTTP status code.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// HTTP status code, repeated in the body.
    #[serde(default, deserialize_with = "lenient::null_as_default")]
    pub status: u16,
    /// Human-readable message.
    #[serde(default, deserialize_with = "lenient::null_as_default")]
    pub message: String,
}

impl ErrorBody {
    /// An error body with this status and message.
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}
