//! A faithful, fast mock of the 1Password Connect REST API, for tests, benches and demos.
//!
//! It serves every Connect endpoint (`/v1/vaults…`, `/v1/activity`, `/heartbeat`, `/health`,
//! `/metrics`) with the real server's status codes, messages, filters, ids, versions and
//! headers (`1Password-Connect-Version` on every response), plus test controls under
//! `/__admin` (request journal, fault injection; see [`admin`]).
//!
//! In-process use:
//!
//! ```no_run
//! # async fn demo() -> Result<(), mock_connect::StartError> {
//! let mock = mock_connect::MockConnect::builder()
//!     .token("secret")
//!     .scoped_token("narrow", ["Private"])
//!     .demo()
//!     .spawn()
//!     .await?;
//! let base = mock.url(); // http://127.0.0.1:PORT
//! # let _ = base;
//! mock.shutdown().await; // or just drop it
//! # Ok(()) }
//! ```
//!
//! Tokens: with none configured, any bearer token is accepted with access to every vault.

pub mod activity;
pub mod admin;
pub mod api;
pub mod auth;
pub mod demo;
pub mod error;
pub mod filter;
pub mod fixture;
pub mod generate;
pub mod http_util;
pub mod ids;
pub mod item_rules;
pub mod patch;
pub mod server;
pub mod store;
pub mod totp;

pub use server::{MockConnect, MockConnectBuilder, RunningMock, StartError};
