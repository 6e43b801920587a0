//! The 1Password Connect API: model types shared by clients and servers, and an async client.
//!
//! - [`model`]: serde types (vaults, items, fields, files, patch operations, errors, activity).

pub mod model;
