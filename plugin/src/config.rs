//! The mount's configuration: its stored form (compatible with the Go plugin's) and the
//! validated settings the engine runs with.
//!
//! The Go plugin stores `{"OPToken":…,"OPVault":…,"Host":…}` (Go field names, no tags) under the
//! storage key `config`. This engine reads and writes that same object, adding optional keys of its
//! own that the Go plugin ignores when reading, so a mount can be switched between both binaries
//! in either direction without touching its storage.

use std::fmt;
use std::time::Duration;

use onepassword_connect::{BaseUrl, ConnectToken, RetryPolicy};
use serde::{Deserialize, Serialize};

/// Storage key of the configuration (the Go plugin's key).
pub const STORAGE_KEY: &str = "config";

/// Default time one Connect request may take.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Default retries of idempotent Connect calls.
pub const DEFAULT_MAX_RETRIES: u32 = 2;
/// Largest accepted request timeout.
pub const MAX_REQUEST_TIMEOUT: Duration = Duration::from_secs(300);
/// Largest accepted number of retries.
pub const MAX_RETRIES_LIMIT: u32 = 10;
/// Smallest accepted answer size limit.
pub const MIN_SIZE_LIMIT: u64 = 1024;
/// Largest accepted answer size limit: a file read holds its content, its base64 form and the
/// response built from it, so the plugin's memory per request stays a few times this.
pub const MAX_SIZE_LIMIT: u64 = 64 * 1024 * 1024;
/// Longest a request may take in all, across lookups and retries (unless one attempt may take
/// longer): below OpenBao's default 90 s request limit, so the caller gets the engine's 504
/// rather than the server abandoning the request.
pub const MAX_DEADLINE: Duration = Duration::from_secs(30);
/// Shortest deadline: a config write runs under the deadline of the config it replaces, and
/// its checks (heartbeat and token, up to 5 s each) must fit even when that config was
/// impatient, or a slow Connect could make the config impossible to correct.
pub const MIN_DEADLINE: Duration = Duration::from_secs(15);
/// Largest accepted item cache TTL.
pub const MAX_ITEM_CACHE_TTL: Duration = Duration::from_secs(3600);

/// The stored configuration, field for field what the Go plugin writes plus optional additions.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredConfig {
    /// The Connect access token (zeroed when the config is dropped).
    #[serde(rename = "OPToken", default)]
    pub token: ConnectToken,
    /// The reference's "default vault"; stored and shown, never used (as in the reference).
    #[serde(rename = "OPVault", default)]
    pub default_vault: String,
    /// Connect base URL.
    #[serde(rename = "Host", default)]
    pub host: String,
    /// Per-request timeout in milliseconds (absent: the default).
    #[serde(
        rename = "RequestTimeoutMs",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub request_timeout_ms: Option<u64>,
    /// Retries of idempotent calls (absent: the default).
    #[serde(
        rename = "MaxRetries",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub max_retries: Option<u32>,
    /// PEM CA certificate(s) trusted for Connect instead of the system roots.
    #[serde(
        rename = "CACertificate",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub ca_certificate: Option<String>,
    /// Item cache lifetime in milliseconds (absent or 0: no item cache).
    #[serde(
        rename = "ItemCacheTtlMs",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub item_cache_ttl_ms: Option<u64>,
    /// Largest JSON answer accepted from Connect, in bytes (absent: the client's default).
    #[serde(
        rename = "MaxResponseBytes",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub max_response_bytes: Option<u64>,
    /// Largest file content accepted from Connect, in bytes (absent: the client's default).
    #[serde(
        rename = "MaxFileBytes",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub max_file_bytes: Option<u64>,
}

impl fmt::Debug for StoredConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredConfig")
            .field("token_set", &!self.token.is_empty())
            .field("default_vault", &self.default_vault)
            .field("host", &self.host)
            .field("request_timeout_ms", &self.request_timeout_ms)
            .field("max_retries", &self.max_retries)
            .field("ca_certificate_set", &self.ca_certificate.is_some())
            .field("item_cache_ttl_ms", &self.item_cache_ttl_ms)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("max_file_bytes", &self.max_file_bytes)
            .finish()
    }
}

impl StoredConfig {
    /// The per-request timeout.
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout_ms
            .map_or(DEFAULT_REQUEST_TIMEOUT, Duration::from_millis)
    }

    /// Retries of idempotent calls.
    pub fn max_retries(&self) -> u32 {
        self.max_retries.unwrap_or(DEFAULT_MAX_RETRIES)
    }

    /// How long one Vault request may take in all: one Connect call with all its retries and
    /// backoffs, at least [`MIN_DEADLINE`] and at most [`MAX_DEADLINE`] (or one attempt, if
    /// that is longer).
    pub fn deadline(&self) -> Duration {
        let policy = RetryPolicy {
            max_retries: self.max_retries(),
            ..RetryPolicy::default()
        };
        let cap = MAX_DEADLINE.max(self.request_timeout());
        policy
            .worst_case(self.request_timeout())
            .clamp(MIN_DEADLINE, cap)
    }

    /// How long items may be served from the cache (zero: not at all).
    pub fn item_cache_ttl(&self) -> Duration {
        self.item_cache_ttl_ms
            .map_or(Duration::ZERO, Duration::from_millis)
    }

    /// The largest JSON answer accepted from Connect.
    pub fn max_response_size(&self) -> usize {
        self.max_response_bytes
            .and_then(|bytes| usize::try_from(bytes).ok())
            .unwrap_or(onepassword_connect::ClientConfig::DEFAULT_MAX_RESPONSE_SIZE)
    }

    /// The largest file content accepted from Connect.
    pub fn max_file_size(&self) -> usize {
        self.max_file_bytes
            .and_then(|bytes| usize::try_from(bytes).ok())
            .unwrap_or(onepassword_connect::ClientConfig::DEFAULT_MAX_FILE_SIZE)
    }

    /// The base URL requests go to: the stored host without trailing slashes (the reference
    /// concatenated blindly and sent `//v1/…` for a host ending in `/`).
    pub fn base_url(&self) -> &str {
        self.host.trim().trim_end_matches('/')
    }
}

/// Why a host is unusable; the text names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid op_connect_host {host:?}: {reason}")]
pub struct HostError {
    /// The rejected value.
    pub host: String,
    /// Why.
    pub reason: String,
}

/// Checks a Connect host (with the connect crate's [`BaseUrl`], the one check of Connect URLs)
/// and returns it normalised (trimmed, no trailing `/`) plus a warning for plain http to a host
/// that is not the local machine.
pub fn validate_host(raw: &str) -> Result<(String, Option<String>), HostError> {
    let url = BaseUrl::parse(raw).map_err(|e| HostError {
        host: raw.to_owned(),
        reason: e.reason,
    })?;
    let warning = (!url.is_https() && !url.is_loopback()).then(|| {
        format!(
            "op_connect_host uses plain http to {}: the Connect token travels unencrypted; use https",
            url.origin()
        )
    });
    // The text as written (minus slashes), not the URL crate's spelling: it is shown back on
    // reads and compared on later writes.
    Ok((raw.trim().trim_end_matches('/').to_owned(), warning))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reads_the_go_plugins_storage_format() {
        let stored: StoredConfig = serde_json::from_str(
            r#"{"OPToken":"tok","OPVault":"v","Host":"http://127.0.0.1:8080"}"#,
        )
        .unwrap();
        assert_eq!(stored.token.expose_secret(), "tok");
        assert_eq!(stored.default_vault, "v");
        assert_eq!(stored.host, "http://127.0.0.1:8080");
        assert_eq!(stored.request_timeout(), DEFAULT_REQUEST_TIMEOUT);
        assert_eq!(stored.max_retries(), DEFAULT_MAX_RETRIES);
        assert_eq!(stored.item_cache_ttl(), Duration::ZERO);
        // Written back without additions, byte for byte what the Go plugin writes.
        assert_eq!(
            serde_json::to_string(&stored).unwrap(),
            r#"{"OPToken":"tok","OPVault":"v","Host":"http://127.0.0.1:8080"}"#
        );
    }

    #[test]
    fn new_settings_are_optional_extra_keys() {
        let stored = StoredConfig {
            token: "t".into(),
            host: "https://c".into(),
            request_timeout_ms: Some(2500),
            max_retries: Some(0),
            item_cache_ttl_ms: Some(1000),
            ..StoredConfig::default()
        };
        let json = serde_json::to_value(&stored).unwrap();
        assert_eq!(json["OPToken"], "t");
        assert_eq!(json["RequestTimeoutMs"], 2500);
        assert_eq!(json["MaxRetries"], 0);
        let back: StoredConfig = serde_json::from_value(json).unwrap();
        assert_eq!(back, stored);
        assert_eq!(back.request_timeout(), Duration::from_millis(2500));
    }

    #[test]
    fn deadlines_cover_the_retries_and_are_capped() {
        let default = StoredConfig::default();
        assert_eq!(default.deadline(), MAX_DEADLINE);
        let quick = StoredConfig {
            request_timeout_ms: Some(1000),
            max_retries: Some(0),
            ..StoredConfig::default()
        };
        assert_eq!(quick.deadline(), MIN_DEADLINE);
        let between = StoredConfig {
            request_timeout_ms: Some(6000),
            max_retries: Some(2),
            ..StoredConfig::default()
        };
        assert_eq!(between.deadline(), Duration::from_millis(18_300));
        let longest = StoredConfig {
            request_timeout_ms: Some(300_000),
            max_retries: Some(10),
            ..StoredConfig::default()
        };
        assert_eq!(longest.deadline(), Duration::from_secs(300));
    }

    #[test]
    fn debug_never_shows_the_token() {
        let stored = StoredConfig {
            token: "very-secret-token".into(),
            ..StoredConfig::default()
        };
        let text = format!("{stored:?}");
        assert!(!text.contains("very-secret-token"), "{text}");
    }

    #[test]
    fn hosts_are_validated_and_normalised() {
        assert_eq!(
            validate_host("https://op.example.com:8443/").unwrap(),
            ("https://op.example.com:8443".into(), None)
        );
        assert_eq!(
            validate_host(" http://127.0.0.1:8080// ").unwrap(),
            ("http://127.0.0.1:8080".into(), None)
        );
        assert!(validate_host("http://localhost:1").unwrap().1.is_none());
        assert!(validate_host("http://[::1]:1").unwrap().1.is_none());
        let (_, warning) = validate_host("http://connect.internal:8080").unwrap();
        assert!(warning.unwrap().contains("plain http"));
        for bad in [
            "",
            "localhost:8080",
            "ftp://x",
            "not a url",
            "https://",
            "https://u:p@h",
        ] {
            let err = validate_host(bad).unwrap_err();
            assert!(err.to_string().contains("op_connect_host"), "{err}");
        }
    }
}
