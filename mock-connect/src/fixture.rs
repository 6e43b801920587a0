//! Seed data: the fixture file format, which is also the format of the `--data` file.
//!
//! ```json
//! {"vaults": [{"name": "engineering", "description": "…", "id": "…26 chars…",
//!              "items": [ {item as the API returns it; id, version, timestamps optional} ]}]}
//! ```
//!
//! Item files carry their content inline, base64, in `content` (as with `inline_files=true`);
//! `size` and `content_path` are computed and file ids are generated when absent.

use std::collections::HashMap;
use std::path::Path;

use base64::Engine as _;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use onepassword_connect::model::{File, Item, VaultType};
use serde::{Deserialize, Serialize};

use crate::ids::{is_valid_id, new_id};
use crate::item_rules::prepare_loaded;
use crate::store::{NewVault, Store, StoreError};

/// A whole data set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Fixture {
    /// The vaults, in order.
    #[serde(default)]
    pub vaults: Vec<FixtureVault>,
}

/// One vault of a fixture.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FixtureVault {
    /// Id (generated when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Vault type (default `USER_CREATED`).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub vault_type: Option<VaultType>,
    /// Creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
    /// Items, as the API returns them; files with base64 `content`.
    #[serde(default)]
    pub items: Vec<Item>,
}

/// A fixture that cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    /// Unreadable file.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Not the fixture JSON.
    #[error("{path} is not a valid fixture: {source}")]
    Parse {
        /// The file.
        path: String,
        /// The cause.
        source: serde_json::Error,
    },
    /// A vault problem.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An item the server would refuse.
    #[error("vault {vault:?}, item {item:?}: {message}")]
    Item {
        /// Vault name.
        vault: String,
        /// Item title.
        item: String,
        /// What is wrong.
        message: String,
    },
}

impl Fixture {
    /// Reads a fixture (or data) file.
    pub fn read(path: &Path) -> Result<Self, FixtureError> {
        let text = std::fs::read(path).map_err(|source| FixtureError::Read {
            path: path.display().to_string(),
            source,
        })?;
        serde_json::from_slice(&text).map_err(|source| FixtureError::Parse {
            path: path.display().to_string(),
            source,
        })
    }

    /// Adds every vault and item of the fixture to `store`.
    pub fn load_into(&self, store: &Store) -> Result<(), FixtureError> {
        self.clone().load(store)
    }

    /// Like [`Fixture::load_into`], consuming the fixture (no copy of the items is made).
    pub fn load(self, store: &Store) -> Result<(), FixtureError> {
        for vault in self.vaults {
            let entry = store.add_vault(NewVault {
                id: vault.id.filter(|id| !id.is_empty()),
                name: vault.name.clone(),
                description: vault.description,
                vault_type: vault.vault_type,
                created_at: vault.created_at,
            })?;
            for mut item in vault.items {
                let title = item.title.clone();
                let error = |message: String| FixtureError::Item {
                    vault: vault.name.clone(),
                    item: title.clone(),
                    message,
                };
                let (files, contents) =
                    split_files(&item.files, entry.id(), &item.id).map_err(error)?;
                item.files = Vec::new();
                let mut prepared =
                    prepare_loaded(item, entry.id()).map_err(|e| error(e.message))?;
                // The item id is known only now; point content paths at it.
                prepared.files = files
                    .into_iter()
                    .map(|mut file| {
                        file.content_path =
                            File::content_path_for(entry.id(), &prepared.id, &file.id);
                        file
                    })
                    .collect();
                entry.insert(prepared, contents);
            }
        }
        Ok(())
    }

    /// The whole store as a fixture (file contents inline), for the data file.
    pub fn from_store(store: &Store) -> Self {
        let vaults = store
            .vaults()
            .iter()
            .map(|entry| {
                let vault = entry.to_vault();
                let items = entry
                    .items()
                    .iter()
                    .map(|stored| {
                        let mut item = stored.item().clone();
                        for file in &mut item.files {
                            if let Some(content) = stored.file_content(&file.id) {
                                file.set_content(content);
                            }
                        }
                        item
                    })
                    .collect();
                FixtureVault {
                    id: Some(vault.id),
                    name: vault.name,
                    description: vault.description,
                    vault_type: Some(vault.vault_type),
                    created_at: vault.created_at,
                    items,
                }
            })
            .collect();
        Self { vaults }
    }
}

/// Files without content (stored on the item) and their decoded contents by id.
fn split_files(
    files: &[File],
    vault_id: &str,
    item_id: &str,
) -> Result<(Vec<File>, HashMap<String, Bytes>), String> {
    let mut out = Vec::with_capacity(files.len());
    let mut contents = HashMap::with_capacity(files.len());
    for file in files {
        let mut file = file.clone();
        if file.id.is_empty() {
            file.id = new_id();
        } else if !is_valid_id(&file.id) {
            return Err(format!("file id {:?} is not a 26-character id", file.id));
        }
        let bytes = match file.content.take() {
            Some(text) => base64::engine::general_purpose::STANDARD
                .decode(text.as_bytes())
                .map_err(|e| format!("file {:?}: content is not base64: {e}", file.name))?,
            None => Vec::new(),
        };
        file.size = bytes.len() as u64;
        file.content_path = File::content_path_for(vault_id, item_id, &file.id);
        contents.insert(file.id.clone(), Bytes::from(bytes));
        out.push(file);
    }
    Ok((out, contents))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fixture_round_trips_through_the_store() {
        let fixture: Fixture = serde_json::from_value(json!({"vaults": [{
            "name": "engineering", "description": "Team secrets",
            "items": [{"title": "cert", "category": "SECURE_NOTE",
                       "files": [{"name": "a.txt", "content": "aGVsbG8="}]},
                      {"title": "db", "category": "DATABASE", "version": 4,
                       "id": "abcdefghijklmnopqrstuvwxyz"}]
        }]}))
        .unwrap();
        let store = Store::new();
        fixture.load_into(&store).unwrap();
        let vault = store.vault_by_name("engineering").unwrap();
        let items = vault.items();
        assert_eq!(items.len(), 2);
        let file = &items[0].item().files[0];
        assert_eq!(file.size, 5);
        assert!(file.content.is_none());
        assert_eq!(
            file.content_path,
            format!(
                "/v1/vaults/{}/items/{}/files/{}/content",
                vault.id(),
                items[0].item().id,
                file.id
            )
        );
        assert_eq!(&items[0].file_content(&file.id).unwrap()[..], b"hello");
        assert_eq!(items[1].item().version, 4);

        let saved = Fixture::from_store(&store);
        let again = Store::new();
        saved.load_into(&again).unwrap();
        let copy = again.vault(vault.id()).unwrap();
        assert_eq!(copy.items()[0].item(), items[0].item());
        assert_eq!(copy.items()[1].item(), items[1].item());
    }

    #[test]
    fn bad_items_name_the_culprit() {
        let fixture: Fixture = serde_json::from_value(json!({"vaults": [{
            "name": "v", "items": [{"title": "nocat"}]}]}))
        .unwrap();
        let err = fixture.load_into(&Store::new()).unwrap_err().to_string();
        assert!(err.contains("nocat") && err.contains("category"), "{err}");
    }
}
