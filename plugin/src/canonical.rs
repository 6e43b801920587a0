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

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use vault_plugin_sdk::Error;

use crate::engine::Live;
use crate::resolve::{duplicates_warning, is_uuid, oldest_index};

/// How long the vault listing is trusted (as long as a vault name → id answer).
pub const VAULT_LISTING_TTL: Duration = crate::resolve::VAULT_NAME_TTL;
/// Vaults whose item listings are kept at once; more makes the map start over.
const MAX_ITEM_LISTINGS: usize = 1_000;
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

/// The canonical segments of all vaults, or of the items of one vault.
#[derive(Debug, Clone)]
pub struct Listing {
    /// name → the objects carrying it, so one name's segments can be recomputed alone.
    groups: HashMap<String, Vec<Entry>>,
    /// id → (name, canonical segment).
    by_id: HashMap<String, (String, String)>,
    /// name → canonical segment of the object the name resolves to.
    by_name: HashMap<String, String>,
    /// name → (the id it resolves to, every id carrying it, in listing order), for names that
    /// are canonical segments themselves.
    resolutions: HashMap<String, (String, Vec<String>)>,
    fetched: Instant,
}

impl Listing {
    /// Computes every entry's canonical segment.
    pub fn new(entries: &[Entry]) -> Self {
        let mut listing = Self {
            groups: HashMap::new(),
            by_id: HashMap::with_capacity(entries.len()),
            by_name: HashMap::new(),
            resolutions: HashMap::new(),
            fetched: Instant::now(),
        };
        for entry in entries {
            listing
                .groups
                .entry(entry.name.clone())
                .or_default()
                .push(entry.clone());
        }
        let names: Vec<String> = listing.groups.keys().cloned().collect();
        for name in names {
            listing.place(&name);
        }
        listing
    }

    /// (Re)computes the canonical segments of the objects carrying `name`.
    fn place(&mut self, name: &str) {
        self.by_name.remove(name);
        self.resolutions.remove(name);
        let Some(group) = self.groups.get(name) else {
            return;
        };
        let chosen = oldest_index(group, |entry| entry.created);
        if let Some(index) = chosen
            && nameable(name)
            && !is_uuid(name)
        {
            let ids = group.iter().map(|entry| entry.id.clone()).collect();
            self.resolutions
                .insert(name.to_owned(), (group[index].id.clone(), ids));
        }
        for (index, entry) in group.iter().enumerate() {
            let canonical = if !nameable(name) {
                entry.id.clone()
            } else if Some(index) == chosen && !is_uuid(name) {
                name.to_owned()
            } else {
                format!("{name}/{}", entry.id)
            };
            if Some(index) == chosen {
                self.by_name.insert(name.to_owned(), canonical.clone());
            }
            self.by_id
                .insert(entry.id.clone(), (name.to_owned(), canonical));
        }
    }

    /// Takes what a write through this engine did into account: `id` now carries `now` (absent
    /// after a delete). Only the names it left and joined are recomputed, so a write costs no
    /// new listing however many objects the vault holds.
    pub fn apply(&mut self, id: &str, now: Option<Entry>) {
        if let Some((name, _)) = self.by_id.remove(id) {
            if let Some(group) = self.groups.get_mut(&name) {
                group.retain(|entry| entry.id != id);
                if group.is_empty() {
                    self.groups.remove(&name);
                }
            }
            self.place(&name);
        }
        if let Some(entry) = now {
            let name = entry.name.clone();
            self.groups.entry(name.clone()).or_default().push(entry);
            self.place(&name);
        }
    }

    /// What a canonical name segment resolves to: the id and, when the name is shared, the
    /// warning a read by that name carries.
    fn resolution(&self, kind: &str, name: &str) -> Option<(&str, Option<String>)> {
        let (id, ids) = self.resolutions.get(name)?;
        let warning = (ids.len() > 1).then(|| {
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            duplicates_warning(kind, name, id, &ids)
        });
        Some((id, warning))
    }

    /// The canonical segment for an id spelling: the object with that id, else (an id-shaped
    /// title, as reads fall back to) the object that title resolves to.
    pub fn canonical<'s>(&'s self, spelling: Spelling<'s>) -> Option<&'s str> {
        match spelling {
            Spelling::Name(name) => Some(name),
            Spelling::Id(id) => self
                .by_id
                .get(id)
                .map(|(_, canonical)| canonical.as_str())
                .or_else(|| self.by_name.get(id).map(String::as_str)),
            Spelling::Pinned { id, .. } => self.by_id.get(id).map(|(_, c)| c.as_str()),
        }
    }

    /// The name of the object with `id`.
    pub fn name_of(&self, id: &str) -> Option<&str> {
        self.by_id.get(id).map(|(name, _)| name.as_str())
    }
}

/// The listings of one config; dropped with it.
#[derive(Default)]
pub struct Directory {
    vaults: RwLock<Option<Arc<Listing>>>,
    items: RwLock<HashMap<String, Arc<Listing>>>,
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

    fn items(&self, vault_id: &str) -> Option<Arc<Listing>> {
        lock_read(&self.items).get(vault_id).cloned()
    }

    /// Forgets the items of a vault (a title no longer resolves, or a write's outcome is
    /// unknown): the next id spelling in that vault lists them again.
    pub fn forget_items(&self, vault_id: &str) {
        lock_write(&self.items).remove(vault_id);
    }

    /// Updates the item listing of `vault_id`, if one is kept, after a write through this
    /// engine: item `id` now carries `now`, or is gone.
    pub fn item_written(&self, vault_id: &str, id: &str, now: Option<Entry>) {
        if let Some(listing) = lock_write(&self.items).get_mut(vault_id) {
            // Copied only if a request still holds the old listing.
            Arc::make_mut(listing).apply(id, now);
        }
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
        let entries: Vec<Entry> = vaults
            .into_iter()
            .map(|vault| Entry {
                id: vault.id,
                name: vault.name,
                created: vault.created_at,
            })
            .collect();
        let listing = Arc::new(Listing::new(&entries));
        *lock_write(&self.directory.vaults) = Some(listing.clone());
        Ok(listing)
    }

    /// The item listing of `vault_id`, from the directory unless `fresh` is asked.
    async fn item_listing(&self, vault_id: &str, fresh: bool) -> Result<Arc<Listing>, Error> {
        if !fresh && let Some(listing) = self.directory.items(vault_id) {
            return Ok(listing);
        }
        let items = self
            .client
            .list_items(vault_id, None)
            .await
            .map_err(|e| self.fail(ACTION, &e))?;
        let entries: Vec<Entry> = items
            .into_iter()
            .map(|item| Entry {
                id: item.id,
                name: item.title,
                created: item.created_at,
            })
            .collect();
        let listing = Arc::new(Listing::new(&entries));
        let mut all = lock_write(&self.directory.items);
        if all.len() >= MAX_ITEM_LISTINGS {
            all.clear();
        }
        all.insert(vault_id.to_owned(), listing.clone());
        Ok(listing)
    }

    /// The canonical segment of a vault or item spelling in `listing`, looking once more
    /// afresh when the listing does not know it; `None` when it is unknown. Also returns the
    /// listing that answered.
    async fn lookup<'s, F, Fut>(
        &self,
        spelling: Spelling<'s>,
        cached: Arc<Listing>,
        refresh: F,
    ) -> Result<Option<(String, Arc<Listing>)>, Error>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Arc<Listing>, Error>>,
    {
        if let Some(canonical) = cached.canonical(spelling) {
            return Ok(Some((canonical.to_owned(), cached)));
        }
        let fresh = refresh().await?;
        Ok(fresh
            .canonical(spelling)
            .map(str::to_owned)
            .map(|canonical| (canonical, fresh)))
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
                let cached = self.vault_listing(false).await?;
                match self
                    .lookup(spelling, cached, || self.vault_listing(true))
                    .await?
                {
                    Some((canonical, listing)) => {
                        // The request resolves this name next: tell it what the listing knows.
                        if let Some((id, warning)) = listing.resolution("vault", &canonical) {
                            self.names
                                .seed_vault(&canonical, id, warning, listing.fetched);
                        }
                        canonical
                    }
                    None => return Ok(None),
                }
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
                let cached = self.item_listing(&vault_id, false).await?;
                match self
                    .lookup(spelling, cached, || self.item_listing(&vault_id, true))
                    .await?
                {
                    Some((canonical, listing)) => {
                        if let Some((id, warning)) = listing.resolution("item", &canonical) {
                            self.names.seed_item(&vault_id, &canonical, id, warning);
                            if let Spelling::Id(spelled) | Spelling::Pinned { id: spelled, .. } =
                                spelling
                                && spelled == id
                            {
                                self.names.pin_item(&vault_id, &canonical, id);
                            }
                        }
                        Some(canonical)
                    }
                    None => return Ok(None),
                }
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

    /// Checks a `<title>/<id>` item spelling against the vault's item listing.
    pub async fn check_pinned_item(
        &self,
        vault_id: &str,
        title: &str,
        id: &str,
    ) -> Result<bool, Error> {
        if self.item_listing(vault_id, false).await?.name_of(id) == Some(title) {
            return Ok(true);
        }
        Ok(self.item_listing(vault_id, true).await?.name_of(id) == Some(title))
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
        let listing = Listing::new(&[
            entry(A, "db", 2022),
            entry(B, "db", 2019),
            entry(C, "a/b", 2020),
            entry(D, E, 2020),
            entry(E, "Solo", 2021),
        ]);
        // The oldest "db" is the name; the newer one is pinned.
        assert_eq!(listing.canonical(Spelling::Id(B)), Some("db"));
        assert_eq!(
            listing.canonical(Spelling::Id(A)).unwrap(),
            format!("db/{A}")
        );
        // A name with a slash cannot be a segment: the id is canonical.
        assert_eq!(listing.canonical(Spelling::Id(C)), Some(C));
        // An id-shaped title is pinned, and its title spelling (as an id) finds it too…
        assert_eq!(
            listing.canonical(Spelling::Id(D)).unwrap(),
            format!("{E}/{D}")
        );
        // …unless an object has that id: ids win, as for reads.
        assert_eq!(listing.canonical(Spelling::Id(E)), Some("Solo"));
        // A pinned spelling goes by its id whatever name it claims.
        assert_eq!(
            listing.canonical(Spelling::Pinned {
                name: "Solo",
                id: B
            }),
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
        assert_eq!(listing.resolution("item", "Solo"), Some((E, None)));
        assert!(listing.resolution("item", "a/b").is_none());
        assert!(listing.resolution("item", E).is_none());
    }

    #[test]
    fn writes_recompute_only_the_names_they_touch() {
        let mut listing = Listing::new(&[entry(A, "db", 2019), entry(B, "db", 2022)]);
        // Deleting the oldest "db" makes the other one the name.
        listing.apply(A, None);
        assert_eq!(listing.canonical(Spelling::Id(B)), Some("db"));
        assert_eq!(listing.canonical(Spelling::Id(A)), None);
        assert_eq!(listing.resolution("item", "db"), Some((B, None)));
        // A created item that shares a title is pinned; a renamed one moves.
        listing.apply(C, Some(entry(C, "db", 2023)));
        assert_eq!(
            listing.canonical(Spelling::Id(C)).unwrap(),
            format!("db/{C}")
        );
        listing.apply(B, Some(entry(B, "renamed", 2022)));
        assert_eq!(listing.canonical(Spelling::Id(B)), Some("renamed"));
        assert_eq!(listing.canonical(Spelling::Id(C)), Some("db"));
        assert_eq!(listing.name_of(B), Some("renamed"));
        // The same as listing afresh.
        let fresh = Listing::new(&[entry(C, "db", 2023), entry(B, "renamed", 2022)]);
        for id in [A, B, C] {
            assert_eq!(
                listing.canonical(Spelling::Id(id)),
                fresh.canonical(Spelling::Id(id))
            );
        }
        assert_eq!(listing.by_name, fresh.by_name);
        assert_eq!(listing.resolutions, fresh.resolutions);
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
