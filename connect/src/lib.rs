//! The 1Password Connect API: model types shared by clients and servers, and an async client.
//!
//! - [`model`]: serde types (vaults, items, fields, files, patch operations, errors, activity).
//! - [`Client`] + [`ClientConfig`]: the async reqwest client; errors are [`ConnectError`].
//! - [`ConnectToken`]: the bearer token, never printed.
//! - [`filter`]: `title eq "…"` and friends for the list endpoints.
//!
//! ```no_run
//! # async fn demo() -> Result<(), onepassword_connect::ConnectError> {
//! use onepassword_connect::{Client, ClientConfig, filter::Filter};
//! let client = Client::new(ClientConfig::new("http://localhost:8080/", "token"))?;
//! let vaults = client.list_vaults(Some(&Filter::title_eq("Shared"))).await?;
//! let item = client.get_item(&vaults[0].id, "wepiqdxdzncjtnvmv5fegud4qy").await?;
//! # let _ = item; Ok(()) }
//! ```

mod client;
mod config;
mod error;
pub mod filter;
pub mod model;
mod token;

pub use client::Client;
pub use config::{ClientConfig, RetryPolicy};
pub use error::{ApiError, ConnectError};
pub use token::ConnectToken;
