//! `null-plugin`: a secrets engine that answers every read with the same small object held in
//! memory, and every list with the same keys. It does no storage or network I/O, so its
//! throughput through a server is the ceiling of any external plugin on that server, and its
//! own CPU per request is the SDK's cost alone (transport, framework, encoding).
//!
//! Routes (relative to the mount): `<anything>` read → the fixed object; `<anything>/` list →
//! fixed keys. `harness bench` mounts it beside the engine to report that ceiling.
//!
//! Paths under `alias/` are canonicalised: `resolve-path` answers `alias/<rest>` with `<rest>`,
//! so the host re-routes the request there (as an engine that canonicalises ids to names makes
//! it do). Reading `alias/<x>` therefore measures what a re-routed request costs the server,
//! apart from anything the plugin does.

use std::sync::Arc;

use serde_json::{Map, Value, json};
use vault_plugin_sdk::{Backend, Error, HandlerResult, Path, Request, Response, SetupContext};

/// The answer, built once: about the size of one 1Password item as the engine returns it.
struct Fixed {
    data: Map<String, Value>,
    keys: Vec<String>,
}

fn fixed() -> Fixed {
    let data = match json!({
        "id": "wxcplh5udshnonkzg2n4qx262y",
        "title": "db",
        "vault": "mvqaoqqyxgqvagvtuxqfx4zdri",
        "category": "LOGIN",
        "username": "admin",
        "password": "correct horse battery staple",
        "url": "https://db.example.invalid",
        "tags": ["bench"],
        "version": 1,
    }) {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    Fixed {
        data,
        keys: vec!["db".into(), "web".into(), "api".into()],
    }
}

async fn read(_: Request, fixed: Arc<Fixed>) -> HandlerResult {
    Ok(Some(Response::with_data(fixed.data.clone())))
}

async fn list(_: Request, fixed: Arc<Fixed>) -> HandlerResult {
    Ok(Some(Response::list(fixed.keys.iter().cloned())))
}

/// `alias/<rest>` → `<rest>`; every other path stays as sent.
async fn canonical(_: Arc<Fixed>, req: Request) -> Result<Option<String>, Error> {
    Ok(req
        .path
        .strip_prefix("alias/")
        .filter(|rest| !rest.is_empty())
        .map(str::to_owned))
}

async fn factory(_: SetupContext) -> Result<Backend<Fixed>, Error> {
    Ok(Backend::new(Arc::new(fixed()))
        .on_resolve_path(canonical)
        .help("Answers fixed data from memory: the ceiling of an external plugin.")
        .path(Path::new(".*/|").list(list))
        .path(Path::new(".+").read(read)))
}

fn main() -> std::process::ExitCode {
    vault_plugin_sdk::run(env!("CARGO_PKG_VERSION"), factory)
}
