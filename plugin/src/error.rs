//! Turning Connect and engine failures into the SDK's errors (HTTP status + message), once.
//!
//! Status choices:
//! - Connect unreachable or answering 5xx / garbage → 502, timeout → 504; the message names the
//!   Connect host so operators know which hop failed.
//! - Connect rejecting the token (401) → **502**: the caller's Vault token and policy are fine, the
//!   mount's own credential is not, and a 403 would send users hunting in their Vault policies
//!   (and make Vault Agent treat it as an auth failure). The message says the token was rejected.
//! - Connect 403 (the token has no access to that vault or action) → 403: for the caller this is a
//!   permission boundary, and the message says it is the Connect token's scope.
//! - Connect 404 → 404; Connect 400 (it rejected the item) → 400; other 4xx keep their status.
//!
//! No message ever contains the token, and no upstream text is echoed at length: everything that
//! came from outside (Connect's messages, network errors) goes through [`ConnectToken::excerpt`]
//! — the token and its parts redacted, cut to 256 characters — the one redaction path of the
//! engine.

use onepassword_connect::{ConnectError, ConnectToken};
use vault_plugin_sdk::Error;

/// The error for requests on a mount without `config`.
pub fn not_configured() -> Error {
    Error::bad_request(
        "the op-connect engine is not configured: write op_connect_host and op_connect_token to its config path first",
    )
}

/// A 400 naming the offending request field.
pub fn bad_field(field: &str, reason: impl std::fmt::Display) -> Error {
    Error::bad_request(format!("invalid {field:?}: {reason}"))
}

/// Maps a Connect failure during `action` (e.g. "Unable to retrieve item") to an SDK error.
pub fn from_connect(action: &str, host: &str, token: &ConnectToken, error: &ConnectError) -> Error {
    let detail = token.excerpt(&error.to_string());
    let message = |text: String| format!("{action}: {text}");
    match error {
        ConnectError::Unreachable { .. }
        | ConnectError::BadResponse(_)
        | ConnectError::ResponseTooLarge { .. } => {
            Error::upstream(502, message(with_host(detail, host)))
        }
        ConnectError::Timeout { .. } => Error::upstream(504, message(with_host(detail, host))),
        ConnectError::Unauthorized(api) if api.http_status == 401 => Error::upstream(
            502,
            message(format!(
                "1Password Connect at {host} rejected the configured token ({detail}); check op_connect_token in the engine's config"
            )),
        ),
        ConnectError::Unauthorized(_) => Error::permission_denied(message(format!(
            "the configured 1Password Connect token is not allowed to do this ({detail})"
        ))),
        ConnectError::NotFound(_) => Error::not_found(message(detail)),
        ConnectError::Http(api) => match api.http_status {
            400 => Error::bad_request(message(format!(
                "1Password Connect rejected the request ({detail})"
            ))),
            status if status >= 500 => Error::upstream(
                502,
                message(format!("1Password Connect at {host} failed ({detail})")),
            ),
            status if (400..500).contains(&status) => Error::Coded {
                status,
                message: message(detail),
            },
            _ => Error::upstream(
                502,
                message(format!(
                    "unexpected answer from 1Password Connect at {host} ({detail})"
                )),
            ),
        },
        ConnectError::InvalidConfig(_) => {
            Error::bad_request(message(format!("{detail}; rewrite the engine's config")))
        }
        ConnectError::InvalidArgument(_) => Error::bad_request(message(detail)),
    }
}

fn with_host(detail: String, host: &str) -> String {
    if detail.contains(host) {
        detail
    } else {
        format!("{detail} (1Password Connect at {host})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onepassword_connect::ApiError;
    use std::time::Duration;

    fn api(status: u16, message: &str) -> ApiError {
        ApiError {
            http_status: status,
            status,
            message: message.into(),
        }
    }

    #[test]
    fn statuses_follow_the_documented_policy() {
        let host = "http://127.0.0.1:9";
        let cases = [
            (
                ConnectError::Unreachable {
                    host: host.into(),
                    reason: "connection refused".into(),
                },
                502,
            ),
            (
                ConnectError::Timeout {
                    host: host.into(),
                    timeout: Duration::from_secs(1),
                },
                504,
            ),
            (ConnectError::Unauthorized(api(401, "Invalid token")), 502),
            (ConnectError::Unauthorized(api(403, "no access")), 403),
            (ConnectError::NotFound(api(404, "item x not found")), 404),
            (ConnectError::Http(api(400, "Invalid item category")), 400),
            (ConnectError::Http(api(409, "conflict")), 409),
            (ConnectError::Http(api(503, "down")), 502),
            (ConnectError::BadResponse("eof".into()), 502),
        ];
        for (error, status) in cases {
            let token = ConnectToken::new("tok-secret");
            let mapped = from_connect("Unable to list vaults", host, &token, &error);
            assert_eq!(mapped.http_status(), status, "{error:?} → {mapped:?}");
            let text = mapped.to_string();
            assert!(text.starts_with("Unable to list vaults: "), "{text}");
            if status >= 502 {
                assert!(text.contains(host), "{text}");
            }
        }
        let rejected = from_connect(
            "Unable to list vaults",
            host,
            &ConnectToken::new("t"),
            &ConnectError::Unauthorized(api(401, "Invalid token signature")),
        );
        assert!(
            rejected
                .to_string()
                .contains("rejected the configured token")
        );
    }

    #[test]
    fn foreign_text_is_redacted_and_bounded() {
        let token = ConnectToken::new("eyJhbGciOi.payload-secret.signature9");
        let long = format!(
            "bad token eyJhbGciOi.payload-secret.signature9 then payload-secret {}",
            "x".repeat(10_000)
        );
        let mapped = from_connect(
            "Unable to read item",
            "h",
            &token,
            &ConnectError::Http(api(400, &long)),
        );
        let text = mapped.to_string();
        assert!(!text.contains("payload-secret"), "{text}");
        assert!(!text.contains("signature9"), "{text}");
        assert!(text.len() < 400, "{} chars", text.len());
        // A short token is redacted too.
        let short = from_connect(
            "Unable to read item",
            "h",
            &ConnectToken::new("ab1"),
            &ConnectError::Http(api(400, "token ab1 rejected")),
        );
        assert!(!short.to_string().contains("ab1"), "{short}");
    }
}
