//! A Rust runtime for external HashiCorp Vault and OpenBao secrets-engine plugins.
//!
//! A plugin's `main` calls [`run`] with its version and a factory that builds a [`Backend`]
//! for each mount. The backend holds the mount's shared state and a table of [`Path`]s with
//! typed [`Field`]s and async handlers; errors are typed ([`Error`]) and mapped once to the
//! protocol's error types and HTTP statuses.
//!
//! Underneath, the SDK speaks go-plugin protocol 5 as OpenBao 2.7 does: the magic-cookie check,
//! AutoMTLS over a unix socket (rustls on aws-lc-rs, pinned host certificate, ALPN `h2`), the
//! broker for Storage and SystemView, mount multiplexing, and hclog JSON logging on stderr.
//!
//! Start-up note: aws-lc seeds its RNG with CPU jitter entropy on first use (~20 ms). This
//! workspace builds with `AWS_LC_SYS_NO_JITTER_ENTROPY=1` (`.cargo/config.toml`), which seeds
//! from the OS as Go's `crypto/rand` and `ring` do; see the crate README.

pub mod framework;
pub mod logging;
mod serve;
pub mod storage;
pub mod system_view;
pub mod transport;

pub use framework::backend::{Backend, SpecialPaths};
pub use framework::error::{Error, Result};
pub use framework::field::{Field, FieldType, FieldValue};
pub use framework::path::{
    HandlerResult, Path, generic_name_regex, match_all_regex, optional_match_all_regex,
};
pub use framework::request::{Operation, Request};
pub use framework::response::Response;
pub use serve::{SetupContext, run, serve};
pub use storage::{InMemoryStorage, Storage, StorageEntry, StorageError, StorageExt};
pub use system_view::{PluginEnvironment, SystemView};
pub use transport::ServeError;
