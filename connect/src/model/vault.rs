//! Vaults (`GET /v1/vaults`, `GET /v1/vaults/{id}`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::VaultType;
use super::lenient;

/// A vault as Connect returns it. Every list row is a full vault.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Vault {
    /// 26-character id.
    #[serde(default, deserialize_with = "lenient::null_as_default")]
    pub id: String,
    /// Vault name; the `name` and `title` filters match it.
    #[serde(default, deserialize_with = "lenient::null_as_default")]
    pub name: String,
    /// Optional description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Version of the vault's metadata.
    #[serde(default, deserialize_with = "lenient::null_as_default")]
    pub attribute_version: u64,
    /// Version of the vault's contents; changes with every item change.
    #[serde(default, deserialize_with = "lenient::null_as_default")]
    pub content_version: u64,
    /// Number of active items.
    #[serde(default, deserialize_with = "lenient::null_as_default")]
    pub items: u64,
    /// Vault type.
    #[serde(
        rename = "type",
        default,
        deserialize_with = "lenient::null_as_default"
    )]
    pub vault_type: VaultType,
    /// Creation time.
    #[serde(
        default,
        deserialize_with = "lenient::timestamp",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_at: Option<DateTime<Utc>>,
    /// Last change time.
    #[serde(
        default,
        deserialize_with = "lenient::timestamp",
        skip_serializing_if = "Option::is_none"
    )]
    pub updated_at: Option<DateTime<Utc>>,
}

/// The `{"id": …}` reference to a vault inside an item (`vault` member).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VaultRef {
    /// 26-character vault id.
    #[serde(default, deserialize_with = "lenient::null_as_default")]
    pub id: String,
}

impl VaultRef {
    /// A reference to the vault with this id.
    pub fn new(id: impl Into<String>) -> Self {
        Self { id: id.into() }
    }
}
