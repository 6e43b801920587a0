//! The route table: which paths the engine serves, and how invalidations reach its state.

use std::sync::Arc;

use vault_plugin_sdk::{Backend, Error, SetupContext, SpecialPaths};

use crate::config::STORAGE_KEY;
use crate::engine::Engine;
use crate::routes;

/// Backend help, as the reference words it.
const HELP: &str = "The op-connect plugin is a secrets backend that allows for the retrieval of items from 1Password using 1Password Connect.";

/// The factory `serve` calls for every mount.
pub async fn factory(_context: SetupContext) -> Result<Backend<Engine>, Error> {
    Ok(backend(Arc::new(Engine::default())))
}

/// The backend around `engine`.
pub fn backend(engine: Arc<Engine>) -> Backend<Engine> {
    Backend::new(engine)
        .help(HELP)
        .special_paths(SpecialPaths {
            seal_wrap_storage: vec![STORAGE_KEY.to_owned()],
            ..SpecialPaths::default()
        })
        // No two patterns overlap, so the order only decides how many are tried: the hot item
        // read first.
        .path(routes::items::item_path())
        .path(routes::items::collection_path())
        .path(routes::vaults::list_path())
        .path(routes::vaults::read_path())
        .path(routes::config::path())
        .path(routes::fields::path())
        .path(routes::fields::list_path())
        .path(routes::files::list_path())
        .path(routes::files::read_path())
        .path(routes::health::path())
        .on_resolve_path(
            |engine: Arc<Engine>, req: vault_plugin_sdk::Request| async move {
                // Without a usable config the path stays as sent and the request reports why.
                let Ok(live) = engine.live(req.storage().as_ref()).await else {
                    return Ok(None);
                };
                live.canonical_path(&req.path).await
            },
        )
        .deadline(Engine::deadline)
        .on_invalidate(|engine: &Engine, key: &str| {
            if key == STORAGE_KEY {
                tracing::debug!("config changed on another node: dropping the cached client");
                engine.invalidate();
            }
        })
}
