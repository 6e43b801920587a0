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
//! The binary (`mock-connect --help`):
//!
//! ```text
//! mock-connect [--addr HOST:PORT] [--token TOKEN[=VAULT,…]]… [--fixture FILE]… [--demo]
//!              [--data FILE] [--fault SPEC]…
//! ```
//!
//! - `--addr` defaults to `127.0.0.1:8080`; the first stdout line is always
//!   `listening on http://HOST:PORT` (useful with port 0).
//! - `--token TOKEN` sees every vault, `--token TOKEN=VAULT,VAULT` only those (ids or names).
//!   With no token configured, any bearer token is accepted with access to every vault (a
//!   warning is printed); a missing `Authorization` header is still 401.
//! - `--fixture FILE`: seed data, see [`fixture`]; `--demo`: the data set in [`demo`].
//! - `--data FILE`: load the store from FILE if it exists (seeds are then ignored), else seed
//!   and create it; rewritten atomically (temp file + rename) after every change.
//! - `--fault SPEC`: a fault in force from the start, see [`admin`].
//! - SIGINT/SIGTERM stop accepting, let open requests finish (≤ 5 s) and exit 0. Logs go to
//!   stderr via `tracing` (`RUST_LOG=debug` logs every request).
//!
//! Admin routes (never journalled, never faulted):
//!
//! | route | effect |
//! | --- | --- |
//! | `GET /__admin/requests` | journal, oldest first: `[{"method", "path", "query", "status"}]` (raw path and query as sent; status 0 = dropped by a fault) |
//! | `DELETE /__admin/requests` | clears the journal (204) |
//! | `GET /__admin/faults` | faults in force |
//! | `POST /__admin/faults` | adds one fault (object) or several (array); answers the faults in force |
//! | `DELETE /__admin/faults` | removes every fault (204) |
//!
//! Behaviour choices where the real server is undocumented are listed in [`item_rules`],
//! [`filter`] and [`patch`].

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
