//! Items: the summary rows of `GET /v1/vaults/{v}/items` and the full items of
//! `GET/POST/PUT/PATCH …/items/{i}` share one type, [`Item`]; summaries simply have no
//! `sections`, `fields` or `files` (empty lists are omitted on the wire).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::lenient;
use super::{CharacterSet, FieldPurpose, FieldType, File, ItemCategory, ItemState, VaultRef};

/// An item, full or summary. Absent/empty members are omitted when serialised, like the server.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    /// 26-character id; empty on create (the server assigns it; the Go SDK sends `""`).
    #[serde(
        default,
        deserialize_with = "lenient::null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub id: String,
    /// Title; duplicates are allowed.
    #[serde(default, deserialize_with = "lenient::null_as_default")]
    pub title: String,
    /// The vault holding the item (always present on list rows; clients re-fetch by it).
    #[serde(default, deserialize_with = "lenient::null_as_default")]
    pub vault: VaultRef,
    /// Category; the spec requires it, but clients (the Vault plugin) may leave it out.
    #[serde(
        default,
        deserialize_with = "lenient::empty_as_none",
        skip_serializing_if = "lenient::is_unset"
    )]
    pub category: Option<ItemCategory>,
    /// Website addresses.
    #[serde(
        default,
        deserialize_with = "lenient::null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub urls: Vec<ItemUrl>,
    /// Favourite flag.
    #[serde(
        default,
        deserialize_with = "lenient::null_as_default",
        skip_serializing_if = "lenient::is_false"
    )]
    pub favorite: bool,
    /// Tags.
    #[serde(
        default,
        deserialize_with = "lenient::null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tags: Vec<String>,
    /// Version: 1 on create, +1 per change; 0 means "not set" (requests) and is omitted.
    #[serde(
        default,
        deserialize_with = "lenient::null_as_default",
        skip_serializing_if = "lenient::is_zero"
    )]
    pub version: u64,
    /// Read-only state; active items have none.
    #[serde(
        default,
        deserialize_with = "lenient::empty_as_none",
        skip_serializing_if = "lenient::is_unset"
    )]
    pub state: Option<ItemState>,
    /// Deprecated flag some clients still send (`false`); accepted and kept.
    #[serde(
        default,
        deserialize_with = "lenient::null_as_default",
        skip_serializing_if = "lenient::is_false"
    )]
    pub trashed: bool,
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
    /// Id of the user who last changed the item.
    #[serde(
        default,
        deserialize_with = "lenient::empty_as_none",
        skip_serializing_if = "lenient::is_unset"
    )]
    pub last_edited_by: Option<String>,
    /// Sections (full items only).
    #[serde(
        default,
        deserialize_with = "lenient::null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub sections: Vec<Section>,
    /// Fields (full items only).
    #[serde(
        default,
        deserialize_with = "lenient::null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub fields: Vec<Field>,
    /// Files (full items only).
    #[serde(
        default,
        deserialize_with = "lenient::null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub files: Vec<File>,
}

/// The full item of the Connect spec; the same type as [`Item`].
pub type FullItem = Item;

impl Item {
    /// The list-row form of this item: everything except `sections`, `fields` and `files`.
    pub fn summary(&self) -> Item {
        Item {
            id: self.id.clone(),
            title: self.title.clone(),
            vault: self.vault.clone(),
            category: self.category.clone(),
            urls: self.urls.clone(),
            favorite: self.favorite,
            tags: self.tags.clone(),
            version: self.version,
            state: self.state.clone(),
            trashed: self.trashed,
            created_at: self.created_at,
            updated_at: self.updated_at,
            last_edited_by: self.last_edited_by.clone(),
            sections: Vec::new(),
            fields: Vec::new(),
            files: Vec::new(),
        }
    }

    /// The field with this id, if any.
    pub fn field(&self, id: &str) -> Option<&Field> {
        self.fields.iter().find(|field| field.id == id)
    }

    /// The first field with this purpose, if any.
    pub fn field_by_purpose(&self, purpose: &FieldPurpose) -> Option<&Field> {
        self.fields
            .iter()
            .find(|field| field.purpose.as_ref() == Some(purpose))
    }
}

/// One website address of an item (`urls[]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemUrl {
    /// Optional label.
    #[serde(
        default,
        deserialize_with = "lenient::empty_as_none",
        skip_serializing_if = "lenient::is_unset"
    )]
    pub label: Option<String>,
    /// Whether this is the primary address.
    #[serde(
        default,
        deserialize_with = "lenient::null_as_default",
        skip_serializing_if = "lenient::is_false"
    )]
    pub primary: bool,
    /// The address; may be empty (the Vault plugin sends `""` when the user gave none).
    #[serde(default, deserialize_with = "lenient::null_as_default")]
    pub href: String,
}

impl ItemUrl {
    /// A primary address without a label.
    pub fn primary(href: impl Into<String>) -> Self {
        Self {
            label: None,
            primary: true,
            href: href.into(),
        }
    }
}

/// An item section (`sections[]`), also used as the `section` reference of fields and files
/// (where usually only `id` is set).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    /// Section id, free-form, unique within the item.
    #[serde(
        default,
        deserialize_with = "lenient::null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub id: String,
    /// Display label.
    #[serde(
        default,
        deserialize_with = "lenient::empty_as_none",
        skip_serializing_if = "lenient::is_unset"
    )]
    pub label: Option<String>,
}

impl Section {
    /// A reference to the section with this id (no label).
    pub fn reference(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            label: None,
        }
    }
}

/// One field of an item (`fields[]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Field {
    /// Field id; empty on create means "server assigns one". Template ids are readable
    /// (`username`, `password`, `notesPlain`).
    #[serde(
        default,
        deserialize_with = "lenient::null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub id: String,
    /// Section the field belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section: Option<Section>,
    /// Field type; absent, `null` or `""` mean the default `STRING`.
    #[serde(rename = "type", default, deserialize_with = "field_type")]
    pub field_type: FieldType,
    /// Autofill purpose; `""` is modelled as `None`.
    #[serde(
        default,
        deserialize_with = "lenient::empty_as_none",
        skip_serializing_if = "lenient::is_unset"
    )]
    pub purpose: Option<FieldPurpose>,
    /// Display label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The value; `None` when the field has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Ask the server to generate the value (see `recipe`).
    #[serde(
        default,
        deserialize_with = "lenient::null_as_default",
        skip_serializing_if = "lenient::is_false"
    )]
    pub generate: bool,
    /// How to generate the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipe: Option<GeneratorRecipe>,
    /// Entropy of a PASSWORD-purpose value (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entropy: Option<f64>,
    /// Current one-time code of an `OTP` field (read-only, not in the spec schema).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp: Option<String>,
}

impl Field {
    /// A field with this id, type, label and value; everything else unset.
    pub fn new(
        id: impl Into<String>,
        field_type: FieldType,
        label: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            field_type,
            label: Some(label.into()),
            value: Some(value.into()),
            ..Self::default()
        }
    }
}

/// `type`: absent, `null` or `""` → `STRING`; anything else kept verbatim.
fn field_type<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<FieldType, D::Error> {
    Ok(lenient::empty_as_none(deserializer)?.unwrap_or_default())
}

/// How to generate a field value (`recipe`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GeneratorRecipe {
    /// Length, 1–64; `None` means the default, [`GeneratorRecipe::DEFAULT_LENGTH`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
    /// Character sets to draw from; empty means all three.
    #[serde(
        default,
        deserialize_with = "lenient::null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub character_sets: Vec<CharacterSet>,
    /// Characters never to use.
    #[serde(
        default,
        deserialize_with = "lenient::empty_as_none",
        skip_serializing_if = "lenient::is_unset"
    )]
    pub exclude_characters: Option<String>,
}

impl GeneratorRecipe {
    /// Length used when the recipe gives none.
    pub const DEFAULT_LENGTH: u32 = 32;
    /// Smallest accepted length.
    pub const MIN_LENGTH: u32 = 1;
    /// Largest accepted length.
    pub const MAX_LENGTH: u32 = 64;

    /// The requested length or the default.
    pub fn length_or_default(&self) -> u32 {
        self.length.unwrap_or(Self::DEFAULT_LENGTH)
    }
}
