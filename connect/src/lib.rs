//! The 1Password Connect API: model types shared by clients and servers, and an async client.
//!
//! - [`model`]: serde types (vaults, items, fields, files, patch operations, errors, activity).
//! - [`Client`] + [`ClientConfig`]: the async reqwest client; errors are [`ConnectError`].
//! - [`ConnectToken`]: the bearer token, never printed, zeroed on drop; its
//!   [`ConnectToken::excerpt`] is the one redaction path for upstream text.
//! - [`BaseUrl`]: the one check of a Connect URL.
//! - [`filter`]: `title eq "…"` and friends for the list endpoints.
//!
//! The client keeps one pooled connection set per [`Client`] (clone it freely), applies
//! [`ClientConfig::timeout`] to every attempt and retries only idempotent calls (GET, PUT,
//! DELETE) after connection failures, timeouts and 502/503/504, as [`RetryPolicy`] says.
//! HTTP error answers display as `status <status>: <message>`, like the official Go SDK.
//!
//! ```no_run
//! # async fn demo() -> Result<(), onepassword_connect::ConnectError> {
//! use onepassword_connect::{Client, ClientConfig, filter::Filter};
//! let client = Client::new(ClientConfig::new("http://localhost:8080/", "token"))?;
//! let vaults = client.list_vaults(Some(&Filter::title_eq("Shared"))).await?;
//! let item = client.get_item(&vaults[0].id, "wepiqdxdzncjtnvmv5fegud4qy").await?;
//! # let _ = item; Ok(()) }
//! ```

mod base_url;
mod client;
mod config;
mod error;
pub mod filter;
pub mod model;
mod token;

pub use base_url::{BaseUrl, UrlError};
pub use client::{Client, MAX_UPSTREAM_TEXT};
pub use config::{ClientConfig, RetryPolicy};
pub use error::{ApiError, ConnectError, excerpt};
pub use token::{ConnectToken, MAX_EXCERPT_CHARS};
