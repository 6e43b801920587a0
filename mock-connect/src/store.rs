//! The mock's data: vaults, items (with versions) and file contents.
//!
//! Reads never take a global lock for long: the vault table is behind a `RwLock` held only to
//! clone an `Arc`, and each vault has its own `RwLock` over its items, held only to clone the
//! item's `Arc`. Items keep their JSON pre-serialised (full and summary form), so a GET of one item
//! is a hash lookup and a reference-count increment, except for items with OTP fields, whose
//! `totp` code changes with time and is computed at read time.
//!
//! Each vault also indexes its items by lowercased title, so the `title eq` filter that clients
//! send to resolve a title costs a hash lookup, not a scan, however many items the vault holds.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use onepassword_connect::model::{Item, Vault, VaultType};

use crate::error::ApiError;
use crate::item_rules::{fill_totp, has_otp, now};

/// Creation order of items across the process (list order is creation order).
static NEXT_SEQ: AtomicU64 = AtomicU64::new(1);

/// An item as stored, with its serialised forms and file contents.
#[derive(Debug)]
pub struct StoredItem {
    item: Item,
    contents: HashMap<String, Bytes>,
    full_json: Bytes,
    summary_json: Bytes,
    has_otp: bool,
    seq: u64,
}

impl StoredItem {
    fn new(item: Item, contents: HashMap<String, Bytes>, seq: u64) -> Self {
        let has_otp = has_otp(&item);
        let full_json = serde_json::to_vec(&item).unwrap_or_default().into();
        let summary_json = serde_json::to_vec(&item.summary())
            .unwrap_or_default()
            .into();
        Self {
            item,
            contents,
            full_json,
            summary_json,
            has_otp,
            seq,
        }
    }

    /// The stored item (OTP fields without their `totp` code, files without content).
    pub fn item(&self) -> &Item {
        &self.item
    }

    /// The full item as the API shows it, with current `totp` codes.
    pub fn full_item(&self) -> Item {
        let mut item = self.item.clone();
        fill_totp(&mut item);
        item
    }

    /// The full item's JSON as the API answers it.
    pub fn full_json(&self) -> Bytes {
        if self.has_otp {
            serde_json::to_vec(&self.full_item())
                .unwrap_or_default()
                .into()
        } else {
            self.full_json.clone()
        }
    }

    /// The list-row JSON.
    pub fn summary_json(&self) -> &Bytes {
        &self.summary_json
    }

    /// Content of one of the item's files.
    pub fn file_content(&self, file_id: &str) -> Option<&Bytes> {
        self.contents.get(file_id)
    }

    /// Every file content, by file id.
    pub fn file_contents(&self) -> &HashMap<String, Bytes> {
        &self.contents
    }
}

/// What a new vault is made of.
#[derive(Debug, Clone, Default)]
pub struct NewVault {
    /// Id; a fresh one when `None`.
    pub id: Option<String>,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Type (default `USER_CREATED`).
    pub vault_type: Option<VaultType>,
    /// Creation time (default now).
    pub created_at: Option<DateTime<Utc>>,
}

#[derive(Debug)]
struct VaultContents {
    items: HashMap<String, Arc<StoredItem>>,
    order: BTreeMap<u64, String>,
    /// Lowercased title → the creation sequence numbers of the items carrying it.
    titles: HashMap<String, BTreeSet<u64>>,
    content_version: u64,
    updated_at: DateTime<Utc>,
}

impl VaultContents {
    fn index_title(&mut self, item: &StoredItem) {
        self.titles
            .entry(item.item.title.to_lowercase())
            .or_default()
            .insert(item.seq);
    }

    fn unindex_title(&mut self, item: &StoredItem) {
        let key = item.item.title.to_lowercase();
        if let Some(seqs) = self.titles.get_mut(&key) {
            seqs.remove(&item.seq);
            if seqs.is_empty() {
                self.titles.remove(&key);
            }
        }
    }
}

/// One vault and its items.
#[derive(Debug)]
pub struct VaultEntry {
    id: String,
    name: String,
    description: Option<String>,
    vault_type: VaultType,
    created_at: DateTime<Utc>,
    contents: RwLock<VaultContents>,
}

impl VaultEntry {
    /// The vault id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The vault name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The vault as the API shows it.
    pub fn to_vault(&self) -> Vault {
        let contents = self.contents.read().unwrap_or_else(PoisonError::into_inner);
        Vault {
            id: self.id.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            attribute_version: 1,
            content_version: contents.content_version,
            items: contents.items.len() as u64,
            vault_type: self.vault_type.clone(),
            created_at: Some(self.created_at),
            updated_at: Some(contents.updated_at),
        }
    }

    /// One item.
    pub fn item(&self, item_id: &str) -> Option<Arc<StoredItem>> {
        let contents = self.contents.read().unwrap_or_else(PoisonError::into_inner);
        contents.items.get(item_id).cloned()
    }

    /// Every item, oldest first.
    pub fn items(&self) -> Vec<Arc<StoredItem>> {
        let contents = self.contents.read().unwrap_or_else(PoisonError::into_inner);
        contents
            .order
            .values()
            .filter_map(|id| contents.items.get(id).cloned())
            .collect()
    }

    /// The items whose lowercased title is `title_lower`, oldest first: what the `title eq`
    /// filter selects.
    pub fn items_titled(&self, title_lower: &str) -> Vec<Arc<StoredItem>> {
        let contents = self.contents.read().unwrap_or_else(PoisonError::into_inner);
        let Some(seqs) = contents.titles.get(title_lower) else {
            return Vec::new();
        };
        seqs.iter()
            .filter_map(|seq| contents.order.get(seq))
            .filter_map(|id| contents.items.get(id).cloned())
            .collect()
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        let contents = self.contents.read().unwrap_or_else(PoisonError::into_inner);
        contents.items.len()
    }

    /// Whether the vault has no item.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stores a prepared item (its `vault.id` must be this vault's) with its file contents.
    pub fn insert(&self, item: Item, contents: HashMap<String, Bytes>) -> Arc<StoredItem> {
        let seq = NEXT_SEQ.fetch_add(1, Ordering::Relaxed);
        let stored = Arc::new(StoredItem::new(item, contents, seq));
        let mut vault = self
            .contents
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(old) = vault
            .items
            .insert(stored.item.id.clone(), Arc::clone(&stored))
        {
            vault.order.remove(&old.seq);
            vault.unindex_title(&old);
        }
        vault.order.insert(seq, stored.item.id.clone());
        vault.index_title(&stored);
        vault.content_version += 1;
        vault.updated_at = now();
        stored
    }

    /// Replaces an item by what `change` makes of the current one, atomically (no lost update).
    pub fn update(
        &self,
        item_id: &str,
        change: impl FnOnce(&StoredItem) -> Result<Item, ApiError>,
    ) -> Result<Arc<StoredItem>, ApiError> {
        let mut vault = self
            .contents
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let current = vault
            .items
            .get(item_id)
            .cloned()
            .ok_or_else(|| ApiError::item_not_found(item_id))?;
        let item = change(&current)?;
        let stored = Arc::new(StoredItem::new(item, current.contents.clone(), current.seq));
        vault.unindex_title(&current);
        vault.index_title(&stored);
        vault.items.insert(item_id.to_owned(), Arc::clone(&stored));
        vault.content_version += 1;
        vault.updated_at = now();
        Ok(stored)
    }

    /// Deletes an item.
    pub fn remove(&self, item_id: &str) -> Option<Arc<StoredItem>> {
        let mut vault = self
            .contents
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let removed = vault.items.remove(item_id)?;
        vault.order.remove(&removed.seq);
        vault.unindex_title(&removed);
        vault.content_version += 1;
        vault.updated_at = now();
        Some(removed)
    }
}

/// Store errors outside the request path (seeding, persistence).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Two vaults with one id.
    #[error("vault id {0} is used twice")]
    DuplicateVault(String),
    /// A vault id that is not 26 characters of `[a-z0-9]`.
    #[error("vault id {0:?} is not a 26-character lowercase id")]
    InvalidVaultId(String),
    /// Reading or writing the data file.
    #[error("data file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

#[derive(Debug, Default)]
struct VaultTable {
    by_id: HashMap<String, Arc<VaultEntry>>,
    order: Vec<Arc<VaultEntry>>,
}

/// All vaults, plus the optional data file.
#[derive(Debug, Default)]
pub struct Store {
    vaults: RwLock<VaultTable>,
    data_file: Option<DataFile>,
}

#[derive(Debug)]
struct DataFile {
    path: PathBuf,
    writer: tokio::sync::Mutex<()>,
}

impl Store {
    /// An empty store without persistence.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store that writes itself to `path` after each change (see [`Store::persist`]).
    pub fn with_data_file(path: impl Into<PathBuf>) -> Self {
        Self {
            vaults: RwLock::default(),
            data_file: Some(DataFile {
                path: path.into(),
                writer: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// The data file, if persistence is on.
    pub fn data_file(&self) -> Option<&Path> {
        self.data_file.as_ref().map(|d| d.path.as_path())
    }

    /// Adds a vault.
    pub fn add_vault(&self, new: NewVault) -> Result<Arc<VaultEntry>, StoreError> {
        let id = match new.id {
            Some(id) if !crate::ids::is_valid_id(&id) => {
                return Err(StoreError::InvalidVaultId(id));
            }
            Some(id) => id,
            None => crate::ids::new_id(),
        };
        let created_at = new.created_at.unwrap_or_else(now);
        let entry = Arc::new(VaultEntry {
            id: id.clone(),
            name: new.name,
            description: new.description.filter(|d| !d.is_empty()),
            vault_type: new.vault_type.unwrap_or_default(),
            created_at,
            contents: RwLock::new(VaultContents {
                items: HashMap::new(),
                order: BTreeMap::new(),
                titles: HashMap::new(),
                content_version: 1,
                updated_at: created_at,
            }),
        });
        let mut table = self.vaults.write().unwrap_or_else(PoisonError::into_inner);
        if table.by_id.contains_key(&id) {
            return Err(StoreError::DuplicateVault(id));
        }
        table.by_id.insert(id, Arc::clone(&entry));
        table.order.push(Arc::clone(&entry));
        Ok(entry)
    }

    /// One vault by id.
    pub fn vault(&self, vault_id: &str) -> Option<Arc<VaultEntry>> {
        let table = self.vaults.read().unwrap_or_else(PoisonError::into_inner);
        table.by_id.get(vault_id).cloned()
    }

    /// Every vault, in creation order.
    pub fn vaults(&self) -> Vec<Arc<VaultEntry>> {
        let table = self.vaults.read().unwrap_or_else(PoisonError::into_inner);
        table.order.clone()
    }

    /// The first vault with this name (case-insensitive).
    pub fn vault_by_name(&self, name: &str) -> Option<Arc<VaultEntry>> {
        let table = self.vaults.read().unwrap_or_else(PoisonError::into_inner);
        table
            .order
            .iter()
            .find(|v| v.name.eq_ignore_ascii_case(name))
            .cloned()
    }

    /// Writes the whole store to the data file (temp file + rename, so readers never see a half
    /// written file). Concurrent calls are serialised and each writes the state current when it
    /// starts writing, so the last write always holds the latest state.
    pub async fn persist(&self) -> Result<(), StoreError> {
        let Some(data) = &self.data_file else {
            return Ok(());
        };
        let _guard = data.writer.lock().await;
        let snapshot = crate::fixture::Fixture::from_store(self);
        let path = data.path.clone();
        let io = |source| StoreError::Io {
            path: data.path.clone(),
            source,
        };
        let json = serde_json::to_vec_pretty(&snapshot).map_err(|e| io(e.into()))?;
        tokio::task::spawn_blocking(move || write_atomically(&path, &json))
            .await
            .map_err(|e| io(std::io::Error::other(e)))?
            .map_err(io)
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item_rules::prepare_create;

    #[test]
    fn items_keep_creation_order_and_versions() {
        let store = Store::new();
        let vault = store
            .add_vault(NewVault {
                name: "v".into(),
                ..NewVault::default()
            })
            .unwrap();
        let mut ids = Vec::new();
        for title in ["a", "b", "c"] {
            let body =
                serde_json::from_value(serde_json::json!({"title": title, "category": "LOGIN"}))
                    .unwrap();
            let item = prepare_create(body, vault.id()).unwrap();
            ids.push(vault.insert(item, HashMap::new()).item().id.clone());
        }
        let updated = vault
            .update(&ids[0], |current| {
                let mut next = current.item().clone();
                next.title = "a2".into();
                next.version += 1;
                Ok(next)
            })
            .unwrap();
        assert_eq!(updated.item().version, 2);
        let titles: Vec<String> = vault
            .items()
            .iter()
            .map(|i| i.item().title.clone())
            .collect();
        assert_eq!(titles, ["a2", "b", "c"]);
        // The title index follows creates, renames and deletes, case-insensitively.
        let titled = |t: &str| -> Vec<String> {
            vault
                .items_titled(t)
                .iter()
                .map(|i| i.item().id.clone())
                .collect()
        };
        assert!(titled("a").is_empty());
        assert_eq!(titled("a2"), [ids[0].clone()]);
        assert_eq!(titled("b"), [ids[1].clone()]);
        assert!(vault.remove(&ids[1]).is_some());
        assert!(titled("b").is_empty());
        assert_eq!(vault.len(), 2);
        assert_eq!(vault.to_vault().content_version, 6);
        assert!(store.vault_by_name("V").is_some());
        assert!(matches!(
            store.add_vault(NewVault {
                id: Some(vault.id().to_owned()),
                ..NewVault::default()
            }),
            Err(StoreError::DuplicateVault(_))
        ));
    }
}
