//! Server health (`GET /health`, no auth).

use serde::{Deserialize, Serialize};

use super::lenient;

/// `{name, version, dependencies[]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerHealth {
    /// Server name, e.g. `1Password Connect API`.
    #[serde(default, deserialize_with = "lenient::null_as_default")]
    pub name: String,
    /// Server version, same as the `1Password-Connect-Version` header.
    #[serde(default, deserialize_with = "lenient::null_as_default")]
    pub version: String,
    /// State of the server's dependencies (`sync`, `sqlite`, …).
    #[serde(default, deserialize_with = "lenient::null_as_default")]
    pub dependencies: Vec<ServiceDependency>,
}

/// The state of one server dependency.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceDependency {
    /// Dependency name.
    #[serde(default, deserialize_with = "lenient::null_as_default")]
    pub service: String,
    /// State, e.g. `ACTIVE`, `TOKEN_NEEDED`.
    #[serde(default, deserialize_with = "lenient::null_as_default")]
    pub status: String,
    /// Explanation of the state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}
