//! Canonical paths, so that policies mean what they say (OpenBao 2.7's `resolve-path`).
//!
//! A vault or item can be spelled several ways: by id, by name (title), and — for objects whose
//! name is shared — as `<name>/<id>`. OpenBao asks the engine for the canonical path of every
//! request before checking the caller's policies, and then checks and routes the canonical one;
//! so a deny written on a name holds whatever spelling the caller used.
//!
//! The canonical segment of a vault (among all vaults) or item (among its vault's items):
//! - its **name**, when it is the object the name resolves to (the oldest of those with exactly
//!   that name, as reads by name pick) and the name can stand as a segment (not empty, no `/`,
//!   not `.`/`..`, not shaped like an id);
//! - `<name>/<id>` for the other objects sharing that name, and for id-shaped names;
//! - the bare **id** for names that cannot be a segment (empty, containing `/`).
//!
//! A name spelling is already canonical and costs nothing. An id (or `<name>/<id>`) spelling is
//! looked up in listings of the vaults (kept [`VAULT_LISTING_TTL`]) and of a vault's items (kept
//! until a write through this engine or a failed title lookup in that vault says they changed):
//! no Connect request in steady state. An id the listing does not know is looked up once more
//! afresh; if it is still unknown the path is kept as sent and the request reports its 404.
//! Whatever a stale listing answers, the request serves only what its canonical path names: a
//! title is resolved again and checked against the fetched item, and `<name>/<id>` is served only
//! while the object still carries that name.
//!
//! A kept item listing is updated in place by writes through this engine (each vault's listing
//! has its own lock; a write recomputes only the names it left and joined, and readers copy out
//! only the segment they need), and holds each id and name once (`Arc<str>` shared between the
//! maps). Segments are not stored: they follow from an object's name and whether it is its name's
//! oldest.
//!
//! **Large vaults.** A vault whose item listing is larger than `max_response_size`, or has more
//! than [`MAX_LISTED_ITEMS`] items, is not listed: for [`LARGE_VAULT_RECHECK`] its id spellings
//! are resolved one item at a time, with two bounded requests and nothing kept: the item by id
//! (its title), then the items with exactly that title (Connect's `title eq` filter), whose
//! oldest takes the name, by the same rule. An id no item has is looked up as an id-shaped title
//! the same way. Only a title shared by so many items that even their filtered listing is too
//! large still fails (502): its canonical segments cannot be known.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use onepassword_connect::ConnectError;
use onepassword_connect::filter::Filter;
use vault_plugin_sdk::Error;

use crate::engine::Live;
use crate::resolve::{duplicates_warning, is_uuid, oldest_index};

/// How long the vault listing is trusted (as long as a vault name → id answer).
pub const VAULT_LISTING_TTL: Duration = crate::resolve::VAULT_NAME_TTL;
/// Vaults whose item listings are kept at once; more makes the map start over.
const MAX_ITEM_LISTINGS: usize = 1_000;
/// Item listings longer than this are not kept: the vault is resolved one item at a time.
pub const MAX_LISTED_ITEMS: usize = 20_000;
/// How long a vault found too large to list is resolved one item at a time before its listing
/// is tried again (it may have shrunk).
pub const LARGE_VAULT_RECHECK: Duration = Duration::from_secs(60);
/// Tables of a listing with more room than this shrink once three quarters of it is free.
const SHRINK_ABOVE: usize = 1_024;
/// The action named in errors of the lookup itself.
const ACTION: &str = "Unable to resolve the path";

/// How a request spells one vault or item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spelling<'a> {
    /// A name or title (anything not shaped like an id).
    Name(&'a str),
    /// An id (or an id-shaped title).
    Id(&'a str),
    /// `<name>/<id>`: the id, with the name it is expected to carry.
    Pinned {
        /// The name the object must carry.
        name: &'a str,
        /// Its id.
        id: &'a str,
    },
}

impl<'a> Spelling<'a> {
    /// Reads a captured segment (`name`, `id` or `name/id`).
    pub fn parse(segment: &'a str) -> Self {
        match segment.rsplit_once('/') {
            Some((name, id)) if is_uuid(id) => Spelling::Pinned { name, id },
            _ if is_uuid(segment) => Spelling::Id(segment),
            _ => Spelling::Name(segment),
        }
    }
}

/// Whether `name` can be a path segment at all.
fn nameable(name: &str) -> bool {
    !name.is_empty() && !name.contains('/') && name != "." && name != ".."
}

/// The canonical segment of object `id` carrying `name`; `oldest` when it is the object the
/// name resolves to.
fn segment(name: &str, id: &str, oldest: bool) -> String {
    if !nameable(name) {
        id.to_owned()
    } else if oldest && !is_uuid(name) {
        name.to_owned()
    } else {
        format!("{name}/{id}")
    }
}

/// The duplicates warning a read by `name` carries when `ids` (listing order) share it.
fn warning_for(kind: &str, name: &str, chosen: &str, ids: &[&str]) -> Option<String> {
    (ids.len() > 1).then(|| duplicates_warning(kind, name, chosen, ids))
}

/// One vault or item as listed.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its id.
    pub id: String,
    /// Its name (vault) or title (item).
    pub name: String,
    /// When it was created (the oldest of a name wins).
    pub created: Option<DateTime<Utc>>,
}

/// One object carrying a name.
#[derive(Debug, Clone)]
struct Member {
    id: Arc<str>,
    created: Option<DateTime<Utc>>,
}

/// The objects carrying one name, in listing order, and which of them the name resolves to.
#[derive(Debug, Clone, Default)]
struct Group {
    members: Vec<Member>,
    /// Index of the oldest (ties: the first); `None` only while empty.
    chosen: Option<usize>,
}

impl Group {
    fn chosen_id(&self) -> Option<&str> {
        self.chosen
            .and_then(|index| self.members.get(index))
            .map(|member| &*member.id)
    }
}

/// What a listing answers for one spelling: its canonical segment and, when that segment is a
/// name, the id it resolves to and the warning a read by it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The canonical segment.
    pub canonical: String,
    /// `(id, duplicates warning)` when `canonical` is a name.
    pub resolution: Option<(String, Option<String>)>,
}

/// The canonical segments of all vaults, or of the items of one vault.
#[derive(Debug, Clone)]
pub struct Listing {
    /// id → the name it carries (the same allocation as its group's key).
    by_id: HashMap<Arc<str>, Arc<str>>,
    /// name → the objects carrying it, so one name's segments can be recomputed alone.
    groups: HashMap<Arc<str>, Group>,
    fetched: Instant,
}

impl Listing {
    /// Indexes `entries` (in listing order).
    pub fn new(entries: impl IntoIterator<Item = Entry>) -> Self {
        let entries = entries.into_iter();
        let mut listing = Self {
            by_id: HashMap::with_capacity(entries.size_hint().0),
            groups: HashMap::new(),
            fetched: Instant::now(),
        };
        for entry in entries {
            listing.add(entry);
        }
        listing
    }

    /// Number of objects listed.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether nothing is listed.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Appends one object (after removing any object with its id); O(1).
    fn add(&mut self, entry: Entry) {
        self.remove(&entry.id);
        let name: Arc<str> = match self.groups.get_key_value(entry.name.as_str()) {
            Some((name, _)) => Arc::clone(name),
            None => Arc::from(entry.name),
        };
        let id: Arc<str> = Arc::from(entry.id);
        let group = self.groups.entry(Arc::clone(&name)).or_default();
        // Appended last, it becomes the oldest only when strictly older (ties keep the first).
        let oldest = match group.chosen.and_then(|index| group.members.get(index)) {
            None => true,
            Some(current) => entry.created < current.created,
        };
        group.members.push(Member {
            id: Arc::clone(&id),
            created: entry.created,
        });
        if oldest {
            group.chosen = Some(group.members.len() - 1);
        }
        self.by_id.insert(id, name);
    }

    /// Removes object `id`; O(objects sharing its name).
    fn remove(&mut self, id: &str) {
        let Some(name) = self.by_id.remove(id) else {
            return;
        };
        let Some(group) = self.groups.get_mut(&name) else {
            return;
        };
        group.members.retain(|member| &*member.id != id);
        if group.members.is_empty() {
            self.groups.remove(&name);
        } else {
            group.chosen = oldest_index(&group.members, |member| member.created);
        }
        self.shrink_if_sparse();
    }

    /// Gives memory back once most of the objects are gone (a bulk delete): a `HashMap` never
    /// shrinks by itself, so a vault that once held 20,000 items would keep their tables.
    fn shrink_if_sparse(&mut self) {
        if self.by_id.capacity() > SHRINK_ABOVE && self.by_id.len() * 4 < self.by_id.capacity() {
            self.by_id.shrink_to(self.by_id.len() * 2);
            self.groups.shrink_to(self.groups.len() * 2);
        }
    }

    /// Takes what a write through this engine did into account: `id` now carries `now` (absent
    /// after a delete). Only the names it left and joined are recomputed, so a write costs no
    /// new listing however many objects the vault holds.
    pub fn apply(&mut self, id: &str, now: Option<Entry>) {
        match now {
            Some(entry) => self.add(entry),
            None => self.remove(id),
        }
    }

    /// What a canonical name segment resolves to: the id and, when the name is shared, the
    /// warning a read by that name carries. `None` for names that are no canonical segment.
    fn resolution(&self, kind: &str, name: &str) -> Option<(String, Option<String>)> {
        if !nameable(name) || is_uuid(name) {
            return None;
        }
        let group = self.groups.get(name)?;
        let id = group.chosen_id()?;
        let ids: Vec<&str> = group.members.iter().map(|member| &*member.id).collect();
        Some((id.to_owned(), warning_for(kind, name, id, &ids)))
    }

    /// The canonical segment of the object with `id`.
    fn segment_of(&self, id: &str) -> Option<String> {
        let name = self.by_id.get(id)?;
        let oldest = self.groups.get(name)?.chosen_id() == Some(id);
        Some(segment(name, id, oldest))
    }

    /// The canonical segment for an id spelling: the object with that id, else (an id-shaped
    /// title, as reads fall back to) the object that title resolves to.
    pub fn canonical(&self, spelling: Spelling<'_>) -> Option<String> {
        match spelling {
            Spelling::Name(name) => Some(name.to_owned()),
            Spelling::Id(id) => self.segment_of(id).or_else(|| {
                let chosen = self.groups.get(id)?.chosen_id()?;
                Some(segment(id, chosen, true))
            }),
            Spelling::Pinned { id, .. } => self.segment_of(id),
        }
    }

    /// [`Listing::canonical`] with the resolution of the segment when it is a name.
    pub fn answer(&self, kind: &str, spelling: Spelling<'_>) -> Option<Answer> {
        let canonical = self.canonical(spelling)?;
        let resolution = self.resolution(kind, &canonical);
        Some(Answer {
            canonical,
            resolution,
        })
    }

    /// The name of the object with `id`.
    pub fn name_of(&self, id: &str) -> Option<&str> {
        self.by_id.get(id).map(|name| &**name)
    }
}

/// What the directory keeps for one vault's items.
#[derive(Debug, Clone)]
enum Kept {
    /// The listing, updated in place by writes.
    Listed(Arc<RwLock<Listing>>),
    /// The vault was too large to list at this instant.
    TooLarge(Instant),
}

/// The item listing of a vault as a request gets it.
enum Items {
    /// The listing (shared with the directory).
    Listed(Arc<RwLock<Listing>>),
    /// Too large: resolve one item at a time.
    TooLarge,
}

/// The listings of one config; dropped with it.
#[derive(Default)]
pub struct Directory {
    vaults: RwLock<Option<Arc<Listing>>>,
    items: RwLock<HashMap<String, Kept>>,
}

fn lock_read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn lock_write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

impl Directory {
    fn vaults(&self) -> Option<Arc<Listing>> {
        lock_read(&self.vaults)
            .as_ref()
            .filter(|listing| listing.fetched.elapsed() < VAULT_LISTING_TTL)
            .cloned()
    }

    fn items(&self, vault_id: &str) -> Option<Items> {
        match lock_read(&self.items).get(vault_id)? {
            Kept::Listed(listing) => Some(Items::Listed(Arc::clone(listing))),
            Kept::TooLarge(since) if since.elapsed() < LARGE_VAULT_RECHECK => Some(Items::TooLarge),
            Kept::TooLarge(_) => None,
        }
    }

    fn keep_items(&self, vault_id: &str, kept: Kept) {
        let mut all = lock_write(&self.items);
        if all.len() >= MAX_ITEM_LISTINGS && !all.contains_key(vault_id) {
            all.clear();
        }
        all.insert(vault_id.to_owned(), kept);
    }

    /// Forgets the items of a vault (a title no longer resolves, or a write's outcome is
    /// unknown): the next id spelling in that vault lists them again. A vault too large to
    /// list stays so: nothing of it is kept that could be stale.
    pub fn forget_items(&self, vault_id: &str) {
        let mut all = lock_write(&self.items);
        if let Some(Kept::Listed(_)) = all.get(vault_id) {
            all.remove(vault_id);
        }
    }

    /// Updates the item listing of `vault_id`, if one is kept, after a write through this
    /// engine: item `id` now carries `now`, or is gone. In place: requests reading the listing
    /// wait for the few names the write touches, and nothing is copied.
    pub fn item_written(&self, vault_id: &str, id: &str, now: Option<Entry>) {
        let listing = match lock_read(&self.items).get(vault_id) {
            Some(Kept::Listed(listing)) => Arc::clone(listing),
            _ => return,
        };
        lock_write(&listing).apply(id, now);
    }
}

impl Live {
    /// The vault listing, from the directory unless stale or `fresh` is asked.
    async fn vault_listing(&self, fresh: bool) -> Result<Arc<Listing>, Error> {
        if !fresh && let Some(listing) = self.directory.vaults() {
            return Ok(listing);
        }
        let vaults = self
            .client
            .list_vaults(None)
            .await
            .map_err(|e| self.fail(ACTION, &e))?;
        let listing = Arc::new(Listing::new(vaults.into_iter().map(|vault| Entry {
            id: vault.id,
            name: vault.name,
            created: vault.created_at,
        })));
        *lock_write(&self.directory.vaults) = Some(listing.clone());
        Ok(listing)
    }

    /// The item listing of `vault_id`, from the directory unless `fresh` is asked.
    async fn item_listing(&self, vault_id: &str, fresh: bool) -> Result<Items, Error> {
        if !fresh && let Some(items) = self.directory.items(vault_id) {
            return Ok(items);
        }
        let items = match self.client.list_items(vault_id, None).await {
            Ok(items) if items.len() <= MAX_LISTED_ITEMS => items,
            Ok(_) | Err(ConnectError::ResponseTooLarge { .. }) => {
                tracing::info!(
                    vault = %vault_id,
                    "the vault's item listing is too large to keep; resolving its items one at a time"
                );
                self.directory
                    .keep_items(vault_id, Kept::TooLarge(Instant::now()));
                return Ok(Items::TooLarge);
            }
            Err(error) => return Err(self.fail(ACTION, &error)),
        };
        let listing = Arc::new(RwLock::new(Listing::new(items.into_iter().map(|item| {
            Entry {
                id: item.id,
                name: item.title,
                created: item.created_at,
            }
        }))));
        self.directory
            .keep_items(vault_id, Kept::Listed(Arc::clone(&listing)));
        Ok(Items::Listed(listing))
    }

    /// What the item listing of `vault_id` answers for `spelling`, looking once more afresh when
    /// the listing does not know it; one item at a time in a vault too large to list.
    async fn item_answer(
        &self,
        vault_id: &str,
        spelling: Spelling<'_>,
    ) -> Result<Option<Answer>, Error> {
        for fresh in [false, true] {
            match self.item_listing(vault_id, fresh).await? {
                Items::Listed(listing) => {
                    if let Some(answer) = lock_read(&listing).answer("item", spelling) {
                        return Ok(Some(answer));
                    }
                }
                Items::TooLarge => return self.item_answer_alone(vault_id, spelling).await,
            }
        }
        Ok(None)
    }

    /// The items of `vault_id` titled exactly `title`, in listing order (an error when even
    /// that listing is too large).
    async fn items_titled(&self, vault_id: &str, title: &str) -> Result<Vec<Member>, ConnectError> {
        let rows = self
            .client
            .list_items(vault_id, Some(&Filter::title_eq(title)))
            .await?;
        // Connect's `eq` ignores case: another spelling is another title.
        Ok(rows
            .into_iter()
            .filter(|row| row.title == title)
            .map(|row| Member {
                id: Arc::from(row.id),
                created: row.created_at,
            })
            .collect())
    }

    /// [`Live::item_answer`] in a vault too large to list: the item by id, then the items
    /// sharing its title (two bounded requests, nothing kept).
    async fn item_answer_alone(
        &self,
        vault_id: &str,
        spelling: Spelling<'_>,
    ) -> Result<Option<Answer>, Error> {
        let id = match spelling {
            Spelling::Name(name) => {
                return Ok(Some(Answer {
                    canonical: name.to_owned(),
                    resolution: None,
                }));
            }
            Spelling::Id(id) | Spelling::Pinned { id, .. } => id,
        };
        let title = match self.fetch_item(vault_id, id).await {
            Ok(item) => item.title.clone(),
            // Ids win over id-shaped titles, as for reads: only an unknown id is tried as one.
            Err(error) if error.is_not_found() && matches!(spelling, Spelling::Id(_)) => {
                let rows = self
                    .items_titled(vault_id, id)
                    .await
                    .map_err(|e| self.fail(ACTION, &e))?;
                return Ok(oldest_index(&rows, |row| row.created).map(|index| Answer {
                    canonical: segment(id, &rows[index].id, true),
                    resolution: None,
                }));
            }
            Err(error) if error.is_not_found() => return Ok(None),
            Err(error) => return Err(self.fail(ACTION, &error)),
        };
        if !nameable(&title) {
            return Ok(Some(Answer {
                canonical: id.to_owned(),
                resolution: None,
            }));
        }
        let rows = self
            .items_titled(vault_id, &title)
            .await
            .map_err(|e| self.fail(ACTION, &e))?;
        let chosen = oldest_index(&rows, |row| row.created).map(|index| &*rows[index].id);
        let oldest = chosen == Some(id);
        let canonical = segment(&title, id, oldest);
        let resolution = (oldest && canonical == title).then(|| {
            let ids: Vec<&str> = rows.iter().map(|row| &*row.id).collect();
            (id.to_owned(), warning_for("item", &title, id, &ids))
        });
        Ok(Some(Answer {
            canonical,
            resolution,
        }))
    }

    /// The canonical path for `path`, or `None` to keep it as sent (not a vault path, already
    /// canonical, or naming something unknown, which the request then reports).
    pub async fn canonical_path(&self, path: &str) -> Result<Option<String>, Error> {
        let Some(parts) = PathParts::parse(path) else {
            return Ok(None);
        };
        let vault = match parts.vault {
            Spelling::Name(name) => name.to_owned(),
            spelling => {
                let mut listing = self.vault_listing(false).await?;
                let mut answer = listing.answer("vault", spelling);
                if answer.is_none() {
                    listing = self.vault_listing(true).await?;
                    answer = listing.answer("vault", spelling);
                }
                let Some(answer) = answer else {
                    return Ok(None);
                };
                // The request resolves this name next: tell it what the listing knows.
                if let Some((id, warning)) = answer.resolution {
                    self.names
                        .seed_vault(&answer.canonical, &id, warning, listing.fetched);
                }
                answer.canonical
            }
        };
        let item = match parts.item {
            None => None,
            Some(Spelling::Name(title)) => Some(title.to_owned()),
            Some(spelling) => {
                // The vault's id, from the spelling or (names) as requests resolve it.
                let vault_id = match parts.vault {
                    Spelling::Id(id) | Spelling::Pinned { id, .. } => id.to_owned(),
                    Spelling::Name(name) => match self.vault_id(name, ACTION).await {
                        Ok((id, _)) => id,
                        Err(error) if error.http_status() == 404 => return Ok(None),
                        Err(error) => return Err(error),
                    },
                };
                let Some(answer) = self.item_answer(&vault_id, spelling).await? else {
                    return Ok(None);
                };
                if let Some((id, warning)) = answer.resolution {
                    self.names
                        .seed_item(&vault_id, &answer.canonical, &id, warning);
                    if let Spelling::Id(spelled) | Spelling::Pinned { id: spelled, .. } = spelling
                        && spelled == id
                    {
                        self.names.pin_item(&vault_id, &answer.canonical, &id);
                    }
                }
                Some(answer.canonical)
            }
        };
        let canonical = parts.join(&vault, item.as_deref());
        Ok((canonical != path).then_some(canonical))
    }

    /// Checks a `<name>/<id>` vault spelling: the vault with that id still has that name.
    pub async fn check_pinned_vault(&self, name: &str, id: &str) -> Result<bool, Error> {
        if self.vault_listing(false).await?.name_of(id) == Some(name) {
            return Ok(true);
        }
        Ok(self.vault_listing(true).await?.name_of(id) == Some(name))
    }

    /// Checks a `<title>/<id>` item spelling against the vault's item listing (or, in a vault
    /// too large to list, against the item itself).
    pub async fn check_pinned_item(
        &self,
        vault_id: &str,
        title: &str,
        id: &str,
    ) -> Result<bool, Error> {
        for fresh in [false, true] {
            match self.item_listing(vault_id, fresh).await? {
                Items::Listed(listing) => {
                    if lock_read(&listing).name_of(id) == Some(title) {
                        return Ok(true);
                    }
                }
                Items::TooLarge => {
                    return match self.fetch_item(vault_id, id).await {
                        Ok(item) => Ok(item.title == title),
                        Err(error) if error.is_not_found() => Ok(false),
                        Err(error) => Err(self.fail(ACTION, &error)),
                    };
                }
            }
        }
        Ok(false)
    }
}

/// A path under `vaults/` cut into its vault spelling, item spelling and the rest.
#[derive(Debug, PartialEq, Eq)]
struct PathParts<'a> {
    vault: Spelling<'a>,
    /// The item, when the path goes on with `items/<item>`.
    item: Option<Spelling<'a>>,
    /// What follows the item (or the vault), starting with `/`, verbatim.
    rest: &'a str,
}

impl<'a> PathParts<'a> {
    fn parse(path: &'a str) -> Option<Self> {
        let after = path.strip_prefix("vaults/")?;
        let (vault, rest) = Self::object(after)?;
        let Some(items) = rest.strip_prefix("/items/") else {
            return Some(Self {
                vault,
                item: None,
                rest,
            });
        };
        match Self::object(items) {
            Some((item, rest)) => Some(Self {
                vault,
                item: Some(item),
                rest,
            }),
            None => Some(Self {
                vault,
                item: None,
                rest,
            }),
        }
    }

    /// One object spelling at the start of `text`: a segment, plus the next one when that is an
    /// id (`<name>/<id>`); returns it and the remainder.
    fn object(text: &'a str) -> Option<(Spelling<'a>, &'a str)> {
        let end = text.find('/').unwrap_or(text.len());
        if end == 0 {
            return None;
        }
        let (first, rest) = text.split_at(end);
        if let Some(next) = rest.strip_prefix('/') {
            let next_end = next.find('/').unwrap_or(next.len());
            let id = &next[..next_end];
            if is_uuid(id) {
                let whole = &text[..end + 1 + next_end];
                return Some((Spelling::parse(whole), &next[next_end..]));
            }
        }
        Some((Spelling::parse(first), rest))
    }

    fn join(&self, vault: &str, item: Option<&str>) -> String {
        match item {
            Some(item) => format!("vaults/{vault}/items/{item}{}", self.rest),
            None => format!("vaults/{vault}{}", self.rest),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::TimeZone;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbb";
    const C: &str = "cccccccccccccccccccccccccc";
    const D: &str = "dddddddddddddddddddddddddd";
    const E: &str = "eeeeeeeeeeeeeeeeeeeeeeeeee";

    fn entry(id: &str, name: &str, year: i32) -> Entry {
        Entry {
            id: id.into(),
            name: name.into(),
            created: Some(Utc.with_ymd_and_hms(year, 1, 1, 0, 0, 0).unwrap()),
        }
    }

    #[test]
    fn spellings_are_read_from_segments() {
        assert_eq!(Spelling::parse("prod db"), Spelling::Name("prod db"));
        assert_eq!(Spelling::parse(A), Spelling::Id(A));
        assert_eq!(
            Spelling::parse(&format!("prod db/{A}")),
            Spelling::Pinned {
                name: "prod db",
                id: A
            }
        );
        assert_eq!(Spelling::parse("a/b"), Spelling::Name("a/b"));
    }

    #[test]
    fn canonical_segments_follow_the_documented_rule() {
        let listing = Listing::new([
            entry(A, "db", 2022),
            entry(B, "db", 2019),
            entry(C, "a/b", 2020),
            entry(D, E, 2020),
            entry(E, "Solo", 2021),
        ]);
        assert_eq!(listing.len(), 5);
        // The oldest "db" is the name; the newer one is pinned.
        assert_eq!(listing.canonical(Spelling::Id(B)).as_deref(), Some("db"));
        assert_eq!(
            listing.canonical(Spelling::Id(A)).unwrap(),
            format!("db/{A}")
        );
        // A name with a slash cannot be a segment: the id is canonical.
        assert_eq!(listing.canonical(Spelling::Id(C)).as_deref(), Some(C));
        // An id-shaped title is pinned, and its title spelling (as an id) finds it too…
        assert_eq!(
            listing.canonical(Spelling::Id(D)).unwrap(),
            format!("{E}/{D}")
        );
        // …unless an object has that id: ids win, as for reads.
        assert_eq!(listing.canonical(Spelling::Id(E)).as_deref(), Some("Solo"));
        // A pinned spelling goes by its id whatever name it claims.
        assert_eq!(
            listing
                .canonical(Spelling::Pinned {
                    name: "Solo",
                    id: B
                })
                .as_deref(),
            Some("db")
        );
        assert_eq!(
            listing.canonical(Spelling::Id("q".repeat(26).as_str())),
            None
        );
        assert_eq!(listing.name_of(A), Some("db"));
        // Reads by a canonical name learn the id and the duplicates warning from the listing.
        let (id, warning) = listing.resolution("item", "db").unwrap();
        assert_eq!(id, B);
        assert!(warning.unwrap().contains("2 items are titled \"db\""));
        assert_eq!(
            listing.resolution("item", "Solo"),
            Some((E.to_owned(), None))
        );
        // An answer carries the resolution only when its segment is a name.
        let answer = listing.answer("item", Spelling::Id(E)).unwrap();
        assert_eq!(answer.canonical, "Solo");
        assert_eq!(answer.resolution, Some((E.to_owned(), None)));
        let pinned = listing.answer("item", Spelling::Id(A)).unwrap();
        assert_eq!(pinned.canonical, format!("db/{A}"));
        assert_eq!(pinned.resolution, None);
        assert!(listing.resolution("item", "a/b").is_none());
        assert!(listing.resolution("item", E).is_none());
    }

    #[test]
    fn a_bulk_delete_gives_the_tables_back() {
        let id = |n: usize| format!("{n:0>26}");
        let mut listing =
            Listing::new((0..5_000).map(|n| entry(&id(n), &format!("item {n}"), 2020)));
        let full = listing.by_id.capacity();
        for n in 10..5_000 {
            listing.apply(&id(n), None);
        }
        assert_eq!(listing.len(), 10);
        assert!(full >= 5_000, "{full}");
        assert!(
            listing.by_id.capacity() <= SHRINK_ABOVE && listing.groups.capacity() <= SHRINK_ABOVE,
            "{} / {} of {full}",
            listing.by_id.capacity(),
            listing.groups.capacity()
        );
        // What is left still answers.
        assert_eq!(
            listing.canonical(Spelling::Id(&id(3))).as_deref(),
            Some("item 3")
        );
    }

    #[test]
    fn writes_recompute_only_the_names_they_touch() {
        let mut listing = Listing::new([entry(A, "db", 2019), entry(B, "db", 2022)]);
        // Deleting the oldest "db" makes the other one the name.
        listing.apply(A, None);
        assert_eq!(listing.canonical(Spelling::Id(B)).as_deref(), Some("db"));
        assert_eq!(listing.canonical(Spelling::Id(A)), None);
        assert_eq!(listing.resolution("item", "db"), Some((B.to_owned(), None)));
        // A created item that shares a title is pinned; a renamed one moves.
        listing.apply(C, Some(entry(C, "db", 2023)));
        assert_eq!(
            listing.canonical(Spelling::Id(C)).unwrap(),
            format!("db/{C}")
        );
        listing.apply(B, Some(entry(B, "renamed", 2022)));
        assert_eq!(
            listing.canonical(Spelling::Id(B)).as_deref(),
            Some("renamed")
        );
        assert_eq!(listing.canonical(Spelling::Id(C)).as_deref(), Some("db"));
        assert_eq!(listing.name_of(B), Some("renamed"));
        // The same as listing afresh.
        let fresh = Listing::new([entry(C, "db", 2023), entry(B, "renamed", 2022)]);
        for id in [A, B, C] {
            assert_eq!(
                listing.canonical(Spelling::Id(id)),
                fresh.canonical(Spelling::Id(id))
            );
        }
        for name in ["db", "renamed", "Solo"] {
            assert_eq!(
                listing.resolution("item", name),
                fresh.resolution("item", name)
            );
            assert_eq!(
                listing.canonical(Spelling::Id(name)),
                fresh.canonical(Spelling::Id(name))
            );
        }
        assert_eq!(listing.len(), fresh.len());
        // A rewrite keeping its title (an update) changes nothing.
        listing.apply(C, Some(entry(C, "db", 2023)));
        assert_eq!(listing.canonical(Spelling::Id(C)).as_deref(), Some("db"));
        assert_eq!(listing.len(), 2);
    }

    #[test]
    fn paths_are_cut_at_the_vault_and_item() {
        let field = format!("vaults/{A}/items/db/fields/password");
        let parts = PathParts::parse(&field).unwrap();
        assert_eq!(parts.vault, Spelling::Id(A));
        assert_eq!(parts.item, Some(Spelling::Name("db")));
        assert_eq!(parts.rest, "/fields/password");
        assert_eq!(
            parts.join("Shared", Some("db")),
            "vaults/Shared/items/db/fields/password"
        );

        let pinned = format!("vaults/Shared/{A}/items/db/{B}");
        let parts = PathParts::parse(&pinned).unwrap();
        assert_eq!(
            parts.vault,
            Spelling::Pinned {
                name: "Shared",
                id: A
            }
        );
        assert_eq!(parts.item, Some(Spelling::Pinned { name: "db", id: B }));
        assert_eq!(parts.rest, "");

        let collection = PathParts::parse("vaults/Shared/items/").unwrap();
        assert_eq!(collection.item, None);
        assert_eq!(collection.rest, "/items/");
        assert_eq!(collection.join("X", None), "vaults/X/items/");
        let vault = PathParts::parse("vaults/Shared").unwrap();
        assert_eq!((vault.item, vault.rest), (None, ""));

        assert!(PathParts::parse("vaults/").is_none());
        assert!(PathParts::parse("vaults").is_none());
        assert!(PathParts::parse("config").is_none());
        assert!(PathParts::parse("health").is_none());
    }
}
