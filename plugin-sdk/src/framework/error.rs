//! One error type for every handler, mapped once to the protocol's error types.

use crate::storage::StorageError;
use crate::transport::proto::pb;

/// The protocol's `err_type` values (see `sdk/plugin/pb/translation.go` in OpenBao).
mod err_type {
    pub(super) const UNKNOWN: u32 = 0;
    pub(super) const INTERNAL: u32 = 2;
    pub(super) const CODED: u32 = 3;
    pub(super) const BAD_REQUEST: u32 = 4;
    pub(super) const UNSUPPORTED_OPERATION: u32 = 5;
    pub(super) const UNSUPPORTED_PATH: u32 = 6;
}

/// An error a handler (or the SDK on its behalf) returns; each variant has one HTTP status.
///
/// The message of every variant except [`Error::UnsupportedPath`] and
/// [`Error::UnsupportedOperation`] reaches the API client unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Invalid input: HTTP 400.
    #[error("{0}")]
    BadRequest(String),
    /// The caller may not do this: HTTP 403.
    #[error("{0}")]
    PermissionDenied(String),
    /// The addressed object does not exist: HTTP 404.
    #[error("{0}")]
    NotFound(String),
    /// The operation is not supported here, with an explanation: HTTP 405.
    #[error("{0}")]
    Unsupported(String),
    /// An upstream service failed: a gateway status (502, 503 or 504) chosen by the engine.
    #[error("{message}")]
    Upstream {
        /// HTTP status to report (502 bad gateway, 503 unavailable, 504 timeout …).
        status: u16,
        /// What went wrong, for the API client.
        message: String,
    },
    /// Any other HTTP status with a message.
    #[error("{message}")]
    Coded {
        /// HTTP status to report.
        status: u16,
        /// Message for the API client.
        message: String,
    },
    /// A storage call failed; the host's text is passed through unchanged because the host
    /// recognises some texts (e.g. `cannot write to readonly storage` forwards writes on standbys).
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// No route matches the path: the protocol's fixed "unsupported path" (404).
    #[error("unsupported path")]
    UnsupportedPath,
    /// The route exists but has no handler for the operation: fixed "unsupported operation" (405).
    #[error("unsupported operation")]
    UnsupportedOperation,
    /// A bug or unexpected state in the plugin: HTTP 500.
    #[error("{0}")]
    Internal(String),
}

/// Shorthand for results of handlers and SDK calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A 400 error with `message`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest(message.into())
    }

    /// A 403 error with `message`.
    pub fn permission_denied(message: impl Into<String>) -> Self {
        Self::PermissionDenied(message.into())
    }

    /// A 404 error with `message`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound(message.into())
    }

    /// A 405 error with `message`.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::Unsupported(message.into())
    }

    /// An upstream failure reported with `status` (e.g. 502 or 504).
    pub fn upstream(status: u16, message: impl Into<String>) -> Self {
        Self::Upstream {
            status,
            message: message.into(),
        }
    }

    /// A 500 error with `message`.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::Internal(message.into())
    }

    /// The HTTP status OpenBao answers with for this error.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::BadRequest(_) => 400,
            Self::PermissionDenied(_) => 403,
            Self::NotFound(_) | Self::UnsupportedPath => 404,
            Self::Unsupported(_) | Self::UnsupportedOperation => 405,
            Self::Upstream { status, .. } | Self::Coded { status, .. } => *status,
            Self::Storage(_) | Self::Internal(_) => 500,
        }
    }

    /// The wire form. Messages are kept wherever the protocol allows, which is why 403/404/405
    /// with a message travel as coded errors rather than the message-less sentinel types.
    pub(crate) fn to_proto(&self) -> pb::ProtoError {
        let (err_type, err_code) = match self {
            Self::BadRequest(_) => (err_type::BAD_REQUEST, 0),
            Self::UnsupportedPath => (err_type::UNSUPPORTED_PATH, 0),
            Self::UnsupportedOperation => (err_type::UNSUPPORTED_OPERATION, 0),
            // Plain error: the host rebuilds it from the text, so sentinel texts keep working.
            Self::Storage(_) => (err_type::UNKNOWN, 0),
            Self::Internal(_) => (err_type::INTERNAL, 0),
            other => (err_type::CODED, i64::from(other.http_status())),
        };
        pb::ProtoError {
            err_type,
            err_msg: self.to_string(),
            err_code,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_map_to_status_and_wire_type() {
        let cases = [
            (Error::bad_request("b"), 400, 4, 0),
            (Error::permission_denied("p"), 403, 3, 403),
            (Error::not_found("n"), 404, 3, 404),
            (Error::unsupported("u"), 405, 3, 405),
            (Error::upstream(502, "x"), 502, 3, 502),
            (Error::upstream(504, "t"), 504, 3, 504),
            (Error::UnsupportedPath, 404, 6, 0),
            (Error::UnsupportedOperation, 405, 5, 0),
            (Error::internal("i"), 500, 2, 0),
        ];
        for (error, status, wire_type, code) in cases {
            assert_eq!(error.http_status(), status, "{error:?}");
            let proto = error.to_proto();
            assert_eq!(proto.err_type, wire_type, "{error:?}");
            assert_eq!(proto.err_code, code, "{error:?}");
            assert_eq!(proto.err_msg, error.to_string());
        }
    }

    #[test]
    fn storage_text_passes_through_unchanged() {
        let error = Error::from(StorageError::Backend(
            "cannot write to readonly storage".into(),
        ));
        let proto = error.to_proto();
        assert_eq!(proto.err_type, 0);
        assert_eq!(proto.err_msg, "cannot write to readonly storage");
    }
}
