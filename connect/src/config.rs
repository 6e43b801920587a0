//! Client configuration.

use std::time::Duration;

use crate::ConnectToken;

/// How a [`Client`](crate::Client) talks to Connect. Build with [`ClientConfig::new`] and the
/// `with_*` methods; every field has a sensible default. `Debug` shows neither the token nor
/// the CA bytes.
#[derive(Clone)]
pub struct ClientConfig {
    /// Connect base URL, e.g. `https://connect.example:8443` (a trailing slash and a path prefix
    /// are fine; `/v1/…` is appended).
    pub base_url: String,
    /// The bearer token.
    pub token: ConnectToken,
    /// Limit for one attempt (connect, send, and read the whole body).
    pub timeout: Duration,
    /// Limit for establishing a connection (TCP + TLS).
    pub connect_timeout: Duration,
    /// Retries of idempotent calls.
    pub retry: RetryPolicy,
    /// PEM CA certificate(s) to trust for Connect instead of the system roots.
    pub ca_certificate_pem: Option<Vec<u8>>,
    /// The `User-Agent` header.
    pub user_agent: String,
    /// Largest JSON answer accepted (bytes); a larger one fails with
    /// [`ConnectError::ResponseTooLarge`](crate::ConnectError::ResponseTooLarge) as soon as the
    /// limit is passed, without reading the rest.
    pub max_response_size: usize,
    /// Largest file content accepted (bytes) from `…/files/{id}/content`; answers listing files
    /// with inline content may be this much (base64-encoded) larger than `max_response_size`.
    pub max_file_size: usize,
}

impl ClientConfig {
    /// Default per-attempt timeout.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
    /// Default connection timeout.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
    /// Default [`ClientConfig::max_response_size`]: 8 MiB, far above any real item (Connect
    /// items are a few KiB; an item with hundreds of fields stays below 1 MiB).
    pub const DEFAULT_MAX_RESPONSE_SIZE: usize = 8 * 1024 * 1024;
    /// Default [`ClientConfig::max_file_size`]: 16 MiB.
    pub const DEFAULT_MAX_FILE_SIZE: usize = 16 * 1024 * 1024;
    /// Default `User-Agent`.
    pub const DEFAULT_USER_AGENT: &'static str =
        concat!("onepassword-connect-rs/", env!("CARGO_PKG_VERSION"));

    /// A configuration with default timeouts, retries and User-Agent, and the system CA roots.
    pub fn new(base_url: impl Into<String>, token: impl Into<ConnectToken>) -> Self {
        Self {
            base_url: base_url.into(),
            token: token.into(),
            timeout: Self::DEFAULT_TIMEOUT,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            retry: RetryPolicy::default(),
            ca_certificate_pem: None,
            user_agent: Self::DEFAULT_USER_AGENT.to_owned(),
            max_response_size: Self::DEFAULT_MAX_RESPONSE_SIZE,
            max_file_size: Self::DEFAULT_MAX_FILE_SIZE,
        }
    }

    /// Sets the largest JSON answer accepted.
    pub fn with_max_response_size(mut self, bytes: usize) -> Self {
        self.max_response_size = bytes;
        self
    }

    /// Sets the largest file content accepted.
    pub fn with_max_file_size(mut self, bytes: usize) -> Self {
        self.max_file_size = bytes;
        self
    }

    /// Sets the per-attempt timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the connection timeout.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the retry policy ([`RetryPolicy::none`] disables retries).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Trusts only these PEM CA certificate(s) for Connect's TLS certificate.
    pub fn with_ca_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_certificate_pem = Some(pem.into());
        self
    }

    /// Sets the `User-Agent` header.
    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &self.base_url)
            .field("token", &self.token)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("retry", &self.retry)
            .field(
                "ca_certificate_pem",
                &self
                    .ca_certificate_pem
                    .as_ref()
                    .map(|pem| format!("<{} bytes>", pem.len())),
            )
            .field("user_agent", &self.user_agent)
            .field("max_response_size", &self.max_response_size)
            .field("max_file_size", &self.max_file_size)
            .finish()
    }
}

/// Bounded retries with exponential backoff and full jitter.
///
/// Only idempotent calls are retried: GET, PUT (replace) and DELETE. POST (create) and PATCH
/// (whose `add` appends) are sent once. A retry happens after a connection failure, a timeout,
/// or a 502/503/504 answer; never after any other status. A DELETE whose earlier attempt may
/// have been carried out (timeout, gateway error, connection lost after connecting) and whose
/// retry then gets 404 counts as done.
///
/// The timeout applies per attempt, so a call can take up to
/// `(max_retries + 1) × timeout` plus the backoffs (at most `max_retries × max_backoff`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (so at most `max_retries + 1` attempts).
    pub max_retries: u32,
    /// Upper bound of the first backoff; doubles per retry.
    pub initial_backoff: Duration,
    /// Cap of the backoff.
    pub max_backoff: Duration,
}

impl RetryPolicy {
    /// No retries.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// The longest one call can take with `timeout` per attempt: every attempt timing out plus
    /// every backoff at its bound.
    pub fn worst_case(&self, timeout: Duration) -> Duration {
        let mut total = timeout.saturating_mul(self.max_retries.saturating_add(1));
        for retry in 1..=self.max_retries {
            let bound = self.backoff_bound(retry);
            // From here on every bound is the same: add them at once (max_retries may be huge).
            if bound >= self.max_backoff || bound.is_zero() {
                let remaining = self.max_retries - retry + 1;
                return total.saturating_add(bound.saturating_mul(remaining));
            }
            total = total.saturating_add(bound);
        }
        total
    }

    /// The backoff bound before retry number `retry` (1-based), before jitter.
    pub(crate) fn backoff_bound(&self, retry: u32) -> Duration {
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

impl Default for RetryPolicy {
    /// Two retries, 100 ms then 200 ms bounds, capped at 2 s.
    fn default() -> Self {
        Self {
            max_retries: 2,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let policy = RetryPolicy {
            max_retries: 40,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
        };
        assert_eq!(policy.backoff_bound(1), Duration::from_millis(100));
        assert_eq!(policy.backoff_bound(2), Duration::from_millis(200));
        assert_eq!(policy.backoff_bound(4), Duration::from_millis(800));
        assert_eq!(policy.backoff_bound(5), Duration::from_secs(1));
        assert_eq!(policy.backoff_bound(40), Duration::from_secs(1));
    }

    #[test]
    fn worst_case_counts_every_attempt_and_backoff() {
        let policy = RetryPolicy::default();
        assert_eq!(
            policy.worst_case(Duration::from_secs(10)),
            Duration::from_millis(30_300)
        );
        assert_eq!(
            RetryPolicy::none().worst_case(Duration::from_secs(3)),
            Duration::from_secs(3)
        );
        let many = RetryPolicy {
            max_retries: u32::MAX,
            ..RetryPolicy::default()
        };
        assert_eq!(many.worst_case(Duration::MAX), Duration::MAX);
    }
}
