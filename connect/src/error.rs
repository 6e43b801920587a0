//! Typed errors of the Connect client. None of them ever contains the token.

use std::fmt;
use std::time::Duration;

/// At most `max_chars` characters of `text`, with a note of how much was cut: upstream text is
/// echoed into errors and logs, and must not make them arbitrarily long.
pub fn excerpt(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text.to_owned(),
        Some((cut, _)) => format!(
            "{}… ({} more bytes not shown)",
            &text[..cut],
            text.len() - cut
        ),
    }
}

/// An error answer from Connect: the HTTP status and Connect's `{status, message}` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status code of the response.
    pub http_status: u16,
    /// The `status` of the JSON error body (the HTTP status when the body had none).
    pub status: u16,
    /// The `message` of the JSON error body, or the HTTP reason phrase for non-JSON bodies.
    pub message: String,
}

impl fmt::Display for ApiError {
    /// `status <status>: <message>`, the wording of the official Go SDK.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "status {}: {}", self.status, self.message)
    }
}

/// Everything that can go wrong talking to Connect.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ConnectError {
    /// The client configuration is unusable (bad URL, empty token, bad CA certificate, …).
    #[error("invalid 1Password Connect configuration: {0}")]
    InvalidConfig(String),
    /// An argument cannot form a request (e.g. an empty or `..` id).
    #[error("invalid 1Password Connect request: {0}")]
    InvalidArgument(String),
    /// Connect could not be reached, or the connection failed mid-request.
    #[error("cannot reach 1Password Connect at {host}: {reason}")]
    Unreachable {
        /// Scheme, host and port of the Connect server.
        host: String,
        /// What failed (DNS, refused, TLS, reset, …).
        reason: String,
    },
    /// Connect did not answer in time.
    #[error("1Password Connect at {host} did not answer within {timeout:?}")]
    Timeout {
        /// Scheme, host and port of the Connect server.
        host: String,
        /// The per-attempt timeout that expired.
        timeout: Duration,
    },
    /// 401 or 403: the token is invalid or lacks access.
    #[error("{0}")]
    Unauthorized(ApiError),
    /// 404: the vault, item or file does not exist.
    #[error("{0}")]
    NotFound(ApiError),
    /// Any other error status.
    #[error("{0}")]
    Http(ApiError),
    /// The answer is larger than the configured limit; the rest of it was not read.
    #[error(
        "1Password Connect at {host} sent an answer larger than the limit of {limit} bytes; it was not read"
    )]
    ResponseTooLarge {
        /// Scheme, host and port of the Connect server.
        host: String,
        /// The limit that was passed (bytes).
        limit: usize,
    },
    /// A success status with a body that is not what the endpoint returns.
    #[error("decoding response: {0}")]
    BadResponse(String),
}

impl ConnectError {
    /// The HTTP status Connect answered with, for the error statuses.
    pub fn http_status(&self) -> Option<u16> {
        self.api_error().map(|api| api.http_status)
    }

    /// Connect's error answer, for the error statuses.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            ConnectError::Unauthorized(api)
            | ConnectError::NotFound(api)
            | ConnectError::Http(api) => Some(api),
            _ => None,
        }
    }

    /// Whether this is a 404.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ConnectError::NotFound(_))
    }
}
