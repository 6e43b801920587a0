//! Serde types of the Connect REST API, shared by the client and by servers (mock-connect).
//!
//! Serialisation follows the real server: camelCase members (`createdAt`, `lastEditedBy`, …)
//! except `content_path`; absent and empty optional members are omitted. Deserialisation is
//! lenient the way real clients need it: unknown members are ignored, unknown enum values are kept
//! in `Other(String)`, `null` means absent, `""` means unset for ids/enums/timestamps.

mod activity;
mod enums;
mod error_body;
mod file;
mod health;
mod item;
pub(crate) mod lenient;
mod patch;
mod string_enum;
mod vault;

pub use activity::{ActivityActor, ActivityEntry, ActivityResource, ItemRef};
pub use enums::{
    ActivityAction, ActivityResult, CharacterSet, FieldPurpose, FieldType, ItemCategory, ItemState,
    PatchOperation, ResourceType, VaultType,
};
pub use error_body::ErrorBody;
pub use file::File;
pub use health::{ServerHealth, ServiceDependency};
pub use item::{Field, FullItem, GeneratorRecipe, Item, ItemUrl, Section};
pub use patch::PatchOp;
pub use vault::{Vault, VaultRef};

#[cfg(test)]
mod tests;

#[cfg(test)]
mod proptests;
