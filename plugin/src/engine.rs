//! The mount's shared state.
//!
//! State lives here and only here: the validated config and the Connect client built from it
//! (one pooled HTTP client per config), the name → id resolution cache and the optional item
//! cache. All of it hangs off one [`Live`] value that is built lazily from storage on the first
//! request and dropped as a whole when the config changes — on this node by the config handlers,
//! on every other node through `InvalidateKey("config")`. Hot-path requests take a read lock just
//! long enough to clone an `Arc`; no lock is ever held across an await.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use onepassword_connect::{Client, ClientConfig, RetryPolicy};
use vault_plugin_sdk::{Error, Storage, StorageExt};

use crate::canonical::Directory;
use crate::config::{STORAGE_KEY, StoredConfig};
use crate::error::{from_connect, not_configured};
use crate::resolve::{ItemCache, NameCache};

/// The plugin's version, reported to the host and sent to Connect in the User-Agent.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The `User-Agent` of requests to Connect (the reference's form, with the real version).
pub fn user_agent() -> String {
    format!("vault-connect/{VERSION}")
}

/// Per-mount shared state.
#[derive(Default)]
pub struct Engine {
    live: RwLock<Option<Arc<Live>>>,
    /// Bumped on every invalidation, so a load that raced with a config change is not cached.
    generation: AtomicU64,
}

/// Everything derived from one config: dropped and rebuilt together.
pub struct Live {
    /// The config as stored.
    pub config: StoredConfig,
    /// The Connect client built from it.
    pub client: Client,
    /// Names and titles resolved to ids.
    pub names: NameCache,
    /// Items by id, when `item_cache_ttl` is set.
    pub items: ItemCache,
    /// Canonical names of vaults and items, for `resolve-path`.
    pub directory: Directory,
}

impl Live {
    /// Builds the client for `config`.
    pub fn new(config: StoredConfig) -> Result<Self, Error> {
        let client = build_client(&config, None).map_err(|e| {
            from_connect(
                "Unable to fetch client",
                config.base_url(),
                &config.token,
                &e,
            )
        })?;
        let items = ItemCache::new(config.item_cache_ttl());
        Ok(Self {
            config,
            client,
            names: NameCache::default(),
            items,
            directory: Directory::default(),
        })
    }

    /// The Connect base URL, for messages.
    pub fn host(&self) -> &str {
        self.client.base_url()
    }

    /// Maps a Connect failure during `action`.
    pub fn fail(&self, action: &str, error: &onepassword_connect::ConnectError) -> Error {
        from_connect(action, self.host(), &self.config.token, error)
    }
}

/// A Connect client for `config`; `timeout` overrides the configured per-request timeout.
pub fn build_client(
    config: &StoredConfig,
    timeout: Option<std::time::Duration>,
) -> Result<Client, onepassword_connect::ConnectError> {
    let request_timeout = timeout.unwrap_or_else(|| config.request_timeout());
    let mut client_config = ClientConfig::new(config.base_url(), config.token.clone())
        .with_timeout(request_timeout)
        .with_connect_timeout(request_timeout.min(ClientConfig::DEFAULT_CONNECT_TIMEOUT))
        .with_retry(RetryPolicy {
            max_retries: if timeout.is_some() {
                0
            } else {
                config.max_retries()
            },
            ..RetryPolicy::default()
        })
        .with_user_agent(user_agent())
        .with_max_response_size(config.max_response_size())
        .with_max_file_size(config.max_file_size());
    if let Some(pem) = &config.ca_certificate {
        client_config = client_config.with_ca_certificate_pem(pem.as_bytes().to_vec());
    }
    Client::new(client_config)
}

impl Engine {
    /// The live state, built from storage when there is none yet.
    pub async fn live(&self, storage: &dyn Storage) -> Result<Arc<Live>, Error> {
        if let Some(live) = self.current() {
            return Ok(live);
        }
        let generation = self.generation.load(Ordering::Acquire);
        let stored: Option<StoredConfig> = storage.get_json(STORAGE_KEY).await?;
        let stored = stored.ok_or_else(not_configured)?;
        let live = Arc::new(Live::new(stored)?);
        let mut slot = self.live.write().unwrap_or_else(|p| p.into_inner());
        if self.generation.load(Ordering::Acquire) == generation {
            match slot.as_ref() {
                // Another request won the race with the same config: share its caches.
                Some(existing) => return Ok(existing.clone()),
                None => *slot = Some(live.clone()),
            }
        }
        Ok(live)
    }

    /// The live state if one is built (never loads from storage).
    pub(crate) fn current(&self) -> Option<Arc<Live>> {
        self.live.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// How long a request may take in all: from the live config, or the defaults before one
    /// is loaded.
    pub fn deadline(&self) -> std::time::Duration {
        self.current().map_or_else(
            || StoredConfig::default().deadline(),
            |live| live.config.deadline(),
        )
    }

    /// Drops the config, client and caches (config written or deleted here or elsewhere).
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        *self.live.write().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use vault_plugin_sdk::{InMemoryStorage, StorageEntry};

    async fn store(storage: &InMemoryStorage, host: &str) {
        storage
            .put(StorageEntry {
                key: STORAGE_KEY.into(),
                value: format!(r#"{{"OPToken":"tok","OPVault":"","Host":"{host}"}}"#).into_bytes(),
                seal_wrap: false,
            })
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn state_is_cached_until_invalidated() {
        let storage = InMemoryStorage::new();
        let engine = Engine::default();
        let err = engine.live(&storage).await.err().unwrap();
        assert_eq!(err.http_status(), 400);
        assert!(err.to_string().contains("not configured"), "{err}");

        store(&storage, "http://127.0.0.1:1").await;
        let first = engine.live(&storage).await.unwrap();
        assert_eq!(first.host(), "http://127.0.0.1:1");
        // Changed underneath (as by another node): still the cached state…
        store(&storage, "http://127.0.0.1:2").await;
        let again = engine.live(&storage).await.unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        // …until InvalidateKey("config") arrives.
        engine.invalidate();
        assert_eq!(
            engine.live(&storage).await.unwrap().host(),
            "http://127.0.0.1:2"
        );
    }

    #[tokio::test]
    async fn a_legacy_host_without_scheme_is_a_clear_400() {
        let storage = InMemoryStorage::new();
        store(&storage, "localhost:8080").await;
        let err = Engine::default().live(&storage).await.err().unwrap();
        assert_eq!(err.http_status(), 400);
        assert!(
            err.to_string().contains("rewrite the engine's config"),
            "{err}"
        );
        assert!(!err.to_string().contains("tok\""), "{err}");
    }

    #[test]
    fn user_agent_carries_the_real_version() {
        assert_eq!(
            user_agent(),
            format!("vault-connect/{}", env!("CARGO_PKG_VERSION"))
        );
    }
}
