//! End-to-end harness: provisions the real OpenBao server, brings up the engine's stack (OpenBao,
//! the Connect mock, the engine registered, mounted and configured) as processes or containers
//! ([`launch`]), and gives tests a typed client for the Vault API.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use harness::launch::process::OpenBao;
//! let bao = OpenBao::start().await?;
//! let written = bao.client().write("secret/data/hello", &serde_json::json!({"data": {"a": "b"}})).await?;
//! assert_eq!(written.status, 200);
//! # Ok(()) }
//! ```

pub mod bench;
pub mod demo;
pub mod launch;
pub mod plugin;
pub mod provision;
pub mod scenario;
pub mod vault_api;

/// True under CI (`CI=true` or `CI=1`), where a missing prerequisite is a failure, not a skip.
/// The one rule for every crate lives in `test_support`.
pub use test_support::in_ci;
