//! Vault names and item titles → ids, with a self-checking cache.
//!
//! Like the reference, a segment of exactly 26 lowercase letters/digits is an id; anything else
//! is a name (vaults) or title (items), looked up with Connect's `title eq "…"` filter, and when
//! several match, the oldest (`createdAt`) wins — ties go to the first in Connect's order. Unlike
//! the reference, the answer carries a warning naming the candidates, and the oldest is picked
//! from the list rows (which carry `createdAt`) instead of fetching every match.
//!
//! Caching (per config; dropped with it):
//! - item title → id: used only for reads, and only if the item fetched by that id still carries
//!   the requested title in the requested vault; a 404 or a mismatch resolves again. A steady-state
//!   read by title therefore costs one Connect request. Writes and deletes always resolve afresh
//!   (a stale id must never be written to) and refresh the cache.
//! - vault name → id: kept for [`VAULT_NAME_TTL`], because checking it would cost a request; a 404
//!   on the vault drops it at once.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use onepassword_connect::ConnectError;
use onepassword_connect::filter::Filter;
use onepassword_connect::model::Item;
use vault_plugin_sdk::Error;

use crate::canonical::{Entry, Spelling};
use crate::engine::Live;

/// How long a vault name → id answer is trusted.
pub const VAULT_NAME_TTL: Duration = Duration::from_secs(30);
/// How long an item pin (see [`NameCache::pin_item`]) holds.
const PIN_TTL: Duration = Duration::from_secs(5);
/// Entries beyond this make a cache start over (a crude bound against unbounded growth).
const MAX_ENTRIES: usize = 10_000;

/// Whether `segment` is a 1Password id (`^[a-z0-9]{26}$`), as the reference decides.
pub fn is_uuid(segment: &str) -> bool {
    segment.len() == 26
        && segment
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// A title's resolution: the id chosen and the duplicates warning, if any.
#[derive(Debug, Clone)]
struct Resolution {
    id: String,
    warning: Option<String>,
}

/// Resolved names and titles.
#[derive(Default)]
pub struct NameCache {
    vaults: RwLock<HashMap<String, (Resolution, Instant)>>,
    items: RwLock<HashMap<(String, String), Resolution>>,
    /// `(vault id, title)` → the id a request spelled by id was canonicalised from, and when.
    pins: RwLock<HashMap<(String, String), (String, Instant)>>,
}

fn lock_read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn lock_write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

fn bounded_insert<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, V>, key: K, value: V) {
    if map.len() >= MAX_ENTRIES {
        map.clear();
    }
    map.insert(key, value);
}

impl NameCache {
    fn vault(&self, name: &str) -> Option<Resolution> {
        let vaults = lock_read(&self.vaults);
        let (resolution, at) = vaults.get(name)?;
        (at.elapsed() < VAULT_NAME_TTL).then(|| resolution.clone())
    }

    fn remember_vault(&self, name: &str, resolution: Resolution) {
        bounded_insert(
            &mut lock_write(&self.vaults),
            name.to_owned(),
            (resolution, Instant::now()),
        );
    }

    /// Seeds a vault name's resolution learnt from a listing fetched at `at` (it expires as if
    /// it had been resolved then), so that a canonical path costs no second lookup.
    pub(crate) fn seed_vault(&self, name: &str, id: &str, warning: Option<String>, at: Instant) {
        bounded_insert(
            &mut lock_write(&self.vaults),
            name.to_owned(),
            (
                Resolution {
                    id: id.to_owned(),
                    warning,
                },
                at,
            ),
        );
    }

    /// Seeds an item title's resolution learnt from a listing (checked against the fetched
    /// item like any other).
    pub(crate) fn seed_item(&self, vault_id: &str, title: &str, id: &str, warning: Option<String>) {
        self.remember_item(
            vault_id,
            title,
            Resolution {
                id: id.to_owned(),
                warning,
            },
        );
    }

    /// Records that a request spelled item `id` by id and was given the canonical title
    /// `title`: the request then reaches the engine under the title only, and must be served
    /// that item or refused, never another one that took the title meanwhile.
    pub(crate) fn pin_item(&self, vault_id: &str, title: &str, id: &str) {
        bounded_insert(
            &mut lock_write(&self.pins),
            (vault_id.to_owned(), title.to_owned()),
            (id.to_owned(), Instant::now()),
        );
    }

    /// Whether `resolved` contradicts a recent pin of `title` (the listing behind the canonical
    /// path was stale); the pin is dropped then.
    fn contradicts_pin(&self, vault_id: &str, title: &str, resolved: &str) -> bool {
        let key = (vault_id.to_owned(), title.to_owned());
        let contradicts = lock_read(&self.pins)
            .get(&key)
            .is_some_and(|(id, at)| at.elapsed() < PIN_TTL && id != resolved);
        if contradicts {
            lock_write(&self.pins).remove(&key);
        }
        contradicts
    }

    fn forget_vault_id(&self, vault_id: &str) {
        lock_write(&self.vaults).retain(|_, (r, _)| r.id != vault_id);
    }

    fn item(&self, vault_id: &str, title: &str) -> Option<Resolution> {
        lock_read(&self.items)
            .get(&(vault_id.to_owned(), title.to_owned()))
            .cloned()
    }

    fn remember_item(&self, vault_id: &str, title: &str, resolution: Resolution) {
        bounded_insert(
            &mut lock_write(&self.items),
            (vault_id.to_owned(), title.to_owned()),
            resolution,
        );
    }

    fn forget_item(&self, vault_id: &str, title: &str) {
        lock_write(&self.items).remove(&(vault_id.to_owned(), title.to_owned()));
    }
}

/// `(vault id, item id)` → the item and when it was fetched.
type ItemEntries = HashMap<(String, String), (Arc<Item>, Instant)>;

/// Full items by `(vault id, item id)`, kept for a configured time (off when zero).
pub struct ItemCache {
    ttl: Duration,
    entries: RwLock<ItemEntries>,
}

impl ItemCache {
    /// A cache keeping items for `ttl` (zero disables it).
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: RwLock::default(),
        }
    }

    fn get(&self, vault_id: &str, item_id: &str) -> Option<Arc<Item>> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = lock_read(&self.entries);
        let (item, at) = entries.get(&(vault_id.to_owned(), item_id.to_owned()))?;
        (at.elapsed() < self.ttl).then(|| item.clone())
    }

    fn put(&self, vault_id: &str, item: &Arc<Item>) {
        if self.ttl.is_zero() {
            return;
        }
        bounded_insert(
            &mut lock_write(&self.entries),
            (vault_id.to_owned(), item.id.clone()),
            (item.clone(), Instant::now()),
        );
    }

    /// Forgets one item (after a write or delete through this node).
    pub fn forget(&self, vault_id: &str, item_id: &str) {
        if !self.ttl.is_zero() {
            lock_write(&self.entries).remove(&(vault_id.to_owned(), item_id.to_owned()));
        }
    }
}

/// Picks the oldest by `createdAt` (absent counts as oldest, like Go's zero time); ties keep the
/// first in order. Returns its index.
pub(crate) fn oldest_index<T>(
    rows: &[T],
    created: impl Fn(&T) -> Option<DateTime<Utc>>,
) -> Option<usize> {
    let mut best: Option<(usize, Option<DateTime<Utc>>)> = None;
    for (i, row) in rows.iter().enumerate() {
        let at = created(row);
        match best {
            Some((_, best_at)) if at >= best_at => {}
            _ => best = Some((i, at)),
        }
    }
    best.map(|(i, _)| i)
}

pub(crate) fn duplicates_warning(kind: &str, title: &str, chosen: &str, ids: &[&str]) -> String {
    let others: Vec<&str> = ids.iter().copied().filter(|id| *id != chosen).collect();
    format!(
        "{} {kind}s are titled {title:?}: using the oldest, {chosen}; the others are {}",
        ids.len(),
        others.join(", ")
    )
}

/// An item as a request needs it: the item, its vault id and warnings about ambiguous titles.
pub struct Found {
    /// The vault id.
    pub vault_id: String,
    /// The item.
    pub item: Arc<Item>,
    /// Warnings for the response (duplicate titles).
    pub warnings: Vec<String>,
}

impl Live {
    /// The id of vault `segment` (an id, `<name>/<id>`, or a name resolved oldest-first among
    /// the vaults with exactly that name), plus a warning when the name is ambiguous.
    pub async fn vault_id(
        &self,
        segment: &str,
        action: &str,
    ) -> Result<(String, Option<String>), Error> {
        match Spelling::parse(segment) {
            Spelling::Id(id) => return Ok((id.to_owned(), None)),
            Spelling::Pinned { name, id } => {
                return if self.check_pinned_vault(name, id).await? {
                    Ok((id.to_owned(), None))
                } else {
                    Err(Self::vault_not_found(action, segment))
                };
            }
            Spelling::Name(_) => {}
        }
        if let Some(hit) = self.names.vault(segment) {
            return Ok((hit.id, hit.warning));
        }
        let vaults = self
            .client
            .list_vaults(Some(&Filter::title_eq(segment)))
            .await
            .map_err(|e| self.fail(action, &e))?;
        // Connect's filter ignores case: a vault named otherwise is another vault.
        let vaults: Vec<_> = vaults.into_iter().filter(|v| v.name == segment).collect();
        let index = oldest_index(&vaults, |v| v.created_at)
            .ok_or_else(|| Self::vault_not_found(action, segment))?;
        let id = vaults[index].id.clone();
        let warning = (vaults.len() > 1).then(|| {
            let ids: Vec<&str> = vaults.iter().map(|v| v.id.as_str()).collect();
            tracing::info!(
                count = vaults.len(),
                vault = %id,
                "several 1Password vaults share a name; using the oldest"
            );
            duplicates_warning("vault", segment, &id, &ids)
        });
        self.names.remember_vault(
            segment,
            Resolution {
                id: id.clone(),
                warning: warning.clone(),
            },
        );
        Ok((id, warning))
    }

    /// Resolves a title to an id afresh (list with a filter, oldest wins) and caches it.
    async fn resolve_title(
        &self,
        vault_id: &str,
        title: &str,
        action: &str,
    ) -> Result<Option<Resolution>, Error> {
        let rows = self
            .client
            .list_items(vault_id, Some(&Filter::title_eq(title)))
            .await
            .map_err(|e| self.vault_failure(vault_id, action, &e))?;
        // Connect's `eq` is exact, but a lenient server must not make us pick a stranger.
        let rows: Vec<&Item> = rows.iter().filter(|row| row.title == title).collect();
        let Some(index) = oldest_index(&rows, |row| row.created_at) else {
            self.names.forget_item(vault_id, title);
            // A canonical path may have named this title from a stale listing.
            self.directory.forget_items(vault_id);
            return Ok(None);
        };
        let id = rows[index].id.clone();
        let warning = (rows.len() > 1).then(|| {
            let ids: Vec<&str> = rows.iter().map(|row| row.id.as_str()).collect();
            tracing::info!(
                count = rows.len(),
                item = %id,
                "several 1Password items share a title; using the oldest"
            );
            duplicates_warning("item", title, &id, &ids)
        });
        let resolution = Resolution { id, warning };
        self.names
            .remember_item(vault_id, title, resolution.clone());
        Ok(Some(resolution))
    }

    fn vault_failure(&self, vault_id: &str, action: &str, error: &ConnectError) -> Error {
        if error.is_not_found() {
            self.names.forget_vault_id(vault_id);
        }
        self.fail(action, error)
    }

    fn vault_not_found(action: &str, segment: &str) -> Error {
        Error::not_found(format!(
            "{action}: No vaults found with identifier {segment:?}"
        ))
    }

    fn item_not_found(action: &str, segment: &str) -> Error {
        Error::not_found(format!(
            "{action}: No items found with identifier {segment:?}"
        ))
    }

    /// The id of item `segment` in `vault_id` for a write or delete: always resolved afresh.
    pub async fn item_id_for_write(
        &self,
        vault_id: &str,
        segment: &str,
        action: &str,
    ) -> Result<(String, Option<String>), Error> {
        match Spelling::parse(segment) {
            Spelling::Id(id) => return Ok((id.to_owned(), None)),
            Spelling::Pinned { name, id } => {
                return if self.check_pinned_item(vault_id, name, id).await? {
                    Ok((id.to_owned(), None))
                } else {
                    Err(Self::item_not_found(action, segment))
                };
            }
            Spelling::Name(_) => {}
        }
        let (id, warning) = self
            .resolve_title(vault_id, segment, action)
            .await?
            .map(|r| (r.id, r.warning))
            .ok_or_else(|| Self::item_not_found(action, segment))?;
        self.check_pin(vault_id, segment, &id, action)?;
        Ok((id, warning))
    }

    /// Refuses to serve a title whose item is not the one a request spelled by id was
    /// canonicalised from: the item was renamed behind the engine's back.
    fn check_pin(&self, vault_id: &str, title: &str, id: &str, action: &str) -> Result<(), Error> {
        if !self.names.contradicts_pin(vault_id, title, id) {
            return Ok(());
        }
        self.directory.forget_items(vault_id);
        Err(Error::Coded {
            status: 409,
            message: format!(
                "{action}: the item titled {title:?} changed in 1Password while the request was resolved; retry"
            ),
        })
    }

    /// Fetches one item by id, through the item cache.
    pub async fn fetch_item(
        &self,
        vault_id: &str,
        item_id: &str,
    ) -> Result<Arc<Item>, ConnectError> {
        if let Some(item) = self.items.get(vault_id, item_id) {
            return Ok(item);
        }
        let item = Arc::new(self.client.get_item(vault_id, item_id).await?);
        self.items.put(vault_id, &item);
        Ok(item)
    }

    /// Finds an item for a read: vault and item by id or name, the title cache checked against
    /// the fetched item.
    pub async fn find_item(
        &self,
        vault_segment: &str,
        item_segment: &str,
        action: &str,
    ) -> Result<Found, Error> {
        let (vault_id, vault_warning) = self.vault_id(vault_segment, action).await?;
        let mut warnings: Vec<String> = vault_warning.into_iter().collect();
        let found = |item: Arc<Item>, warnings: Vec<String>| Found {
            vault_id: vault_id.clone(),
            item,
            warnings,
        };

        if let Spelling::Pinned { name, id } = Spelling::parse(item_segment) {
            // Served only while the item still carries the name the path gives it.
            return match self.fetch_item(&vault_id, id).await {
                Ok(item) if item.title == name => Ok(found(item, warnings)),
                Ok(_) => {
                    self.directory.forget_items(&vault_id);
                    Err(Self::item_not_found(action, item_segment))
                }
                Err(err) => Err(self.vault_failure(&vault_id, action, &err)),
            };
        }
        if is_uuid(item_segment) {
            match self.fetch_item(&vault_id, item_segment).await {
                Ok(item) => return Ok(found(item, warnings)),
                // A title that happens to look like an id: try it as a title before giving up.
                Err(err) if err.is_not_found() => {
                    match self.item_by_title(&vault_id, item_segment, action).await {
                        Ok((item, warning)) => {
                            warnings.extend(warning);
                            return Ok(found(item, warnings));
                        }
                        Err(_) => return Err(self.vault_failure(&vault_id, action, &err)),
                    }
                }
                Err(err) => return Err(self.vault_failure(&vault_id, action, &err)),
            }
        }
        let (item, warning) = self.item_by_title(&vault_id, item_segment, action).await?;
        warnings.extend(warning);
        Ok(found(item, warnings))
    }

    async fn item_by_title(
        &self,
        vault_id: &str,
        title: &str,
        action: &str,
    ) -> Result<(Arc<Item>, Option<String>), Error> {
        if let Some(cached) = self.names.item(vault_id, title) {
            match self.fetch_item(vault_id, &cached.id).await {
                Ok(item) if item.title == title && item.vault.id == vault_id => {
                    self.check_pin(vault_id, title, &item.id, action)?;
                    return Ok((item, cached.warning));
                }
                Ok(_) => {}
                Err(err) if err.is_not_found() => {}
                Err(err) => return Err(self.vault_failure(vault_id, action, &err)),
            }
            self.items.forget(vault_id, &cached.id);
        }
        let resolution = self
            .resolve_title(vault_id, title, action)
            .await?
            .ok_or_else(|| Self::item_not_found(action, title))?;
        self.check_pin(vault_id, title, &resolution.id, action)?;
        let item = self
            .fetch_item(vault_id, &resolution.id)
            .await
            .map_err(|e| self.vault_failure(vault_id, action, &e))?;
        Ok((item, resolution.warning))
    }

    /// Takes a write through this engine into account: the item cache and the title spelled
    /// forget the item, and the vault's item listing (canonical paths) learns what the item
    /// is now, or forgets everything when the outcome is unknown.
    pub fn item_written(
        &self,
        vault_id: &str,
        item_id: &str,
        spelled: Option<&str>,
        outcome: ItemWritten<'_>,
    ) {
        self.items.forget(vault_id, item_id);
        if let Some(title) = spelled {
            self.names.forget_item(vault_id, title);
        }
        match outcome {
            ItemWritten::Now(item) if item.created_at.is_some() => {
                self.names.forget_item(vault_id, &item.title);
                let now = Entry {
                    id: item.id.clone(),
                    name: item.title.clone(),
                    created: item.created_at,
                };
                self.directory.item_written(vault_id, item_id, Some(now));
            }
            ItemWritten::Deleted => self.directory.item_written(vault_id, item_id, None),
            ItemWritten::Now(_) | ItemWritten::Unknown => self.directory.forget_items(vault_id),
        }
    }
}

/// What a write through this engine left of an item.
#[derive(Debug, Clone, Copy)]
pub enum ItemWritten<'a> {
    /// The item as Connect answered the write.
    Now(&'a Item),
    /// Deleted.
    Deleted,
    /// The write failed: it may or may not have happened.
    Unknown,
}

impl<'a> ItemWritten<'a> {
    /// The outcome of a create, replace or patch.
    pub fn of<E>(result: &'a Result<Item, E>) -> Self {
        match result {
            Ok(item) => Self::Now(item),
            Err(_) => Self::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn uuid_shape_is_the_references() {
        assert!(is_uuid("aaaaaaaaaaaaaaaaaaaaaaaaaa"));
        assert!(is_uuid("abcdefghijklmnopqrstuvwxy1"));
        assert!(!is_uuid("AAAAAAAAAAAAAAAAAAAAAAAAAA"));
        assert!(!is_uuid("aaaaaaaaaaaaaaaaaaaaaaaaa"));
        assert!(!is_uuid("db"));
        assert!(!is_uuid("aaaaaaaaaaaaaaaaaaaaaaaaa-"));
    }

    #[test]
    fn oldest_wins_and_ties_keep_the_first() {
        let at = |y| Some(Utc.with_ymd_and_hms(y, 1, 1, 0, 0, 0).unwrap());
        let rows = [at(2022), at(2019), at(2019), at(2021)];
        assert_eq!(oldest_index(&rows, |r| *r), Some(1));
        let rows = [at(2022), None, at(2019)];
        assert_eq!(oldest_index(&rows, |r| *r), Some(1));
        let empty: [Option<DateTime<Utc>>; 0] = [];
        assert_eq!(oldest_index(&empty, |r| *r), None);
    }

    #[test]
    fn warning_names_the_candidates() {
        let text = duplicates_warning("item", "db", "x", &["y", "x"]);
        assert!(text.contains("2 items are titled \"db\""), "{text}");
        assert!(
            text.contains("oldest, x") && text.contains("others are y"),
            "{text}"
        );
    }

    #[test]
    fn item_cache_is_off_at_zero_and_expires() {
        let off = ItemCache::new(Duration::ZERO);
        let item = Arc::new(Item {
            id: "i".into(),
            ..Item::default()
        });
        off.put("v", &item);
        assert!(off.get("v", "i").is_none());
        let on = ItemCache::new(Duration::from_secs(60));
        on.put("v", &item);
        assert!(on.get("v", "i").is_some());
        on.forget("v", "i");
        assert!(on.get("v", "i").is_none());
    }
}
