//! `kv-example`: a tiny key/value secrets engine on the SDK's storage.
//!
//! Routes (relative to the mount):
//! - `kv/<key>`: read, create, update (replace), patch (merge), delete; writes answer with the
//!   operation they ran as (`create` or `update`, decided by the existence check).
//! - `kv/`, `kv/<folder>/`: list.
//! - `errors/<class>`: read fails with `bad-request`, `permission`, `not-found`, `unsupported`,
//!   `upstream` (502), `timeout` (504) and the message from the `message` field.
//! - `big/<bytes>`: read returns a string of that many bytes.
//! - `log/<level>`: write logs `message` at `trace` … `error`.
//! - `panic`: read panics in the handler.
//! - `info`: read shows the process id, mount config and server version.

use std::sync::Arc;

use serde_json::{Map, Value, json};
use vault_plugin_sdk::{
    Backend, Error, Field, HandlerResult, Path, Request, Response, SetupContext, StorageEntry,
    StorageExt, SystemView,
};

/// Per-mount state.
struct Kv {
    context: SetupContext,
    system_view: Arc<dyn SystemView>,
}

const STORE_PREFIX: &str = "kv/";

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn key_of(req: &Request) -> Result<String, Error> {
    req.get_str("key")
        .map(|key| format!("{STORE_PREFIX}{key}"))
        .ok_or_else(|| Error::bad_request("missing key"))
}

async fn read(req: Request, _: Arc<Kv>) -> HandlerResult {
    let key = key_of(&req)?;
    let stored: Option<Map<String, Value>> = req.storage().get_json(&key).await?;
    Ok(stored.map(Response::with_data))
}

async fn write(req: Request, _: Arc<Kv>) -> HandlerResult {
    if req.data.is_empty() {
        return Err(Error::bad_request("nothing to write: the body is empty"));
    }
    let key = key_of(&req)?;
    req.storage()
        .put(StorageEntry::json(key.clone(), &req.data)?)
        .await?;
    Ok(Some(Response::with_data(object(json!({
        "key": &key[STORE_PREFIX.len()..],
        "operation": req.operation.as_str(),
    })))))
}

async fn patch(req: Request, _: Arc<Kv>) -> HandlerResult {
    let key = key_of(&req)?;
    let Some(mut stored): Option<Map<String, Value>> = req.storage().get_json(&key).await? else {
        return Err(Error::not_found(format!(
            "no value at {}",
            &key[STORE_PREFIX.len()..]
        )));
    };
    for (field, value) in &req.data {
        if value.is_null() {
            stored.remove(field);
        } else {
            stored.insert(field.clone(), value.clone());
        }
    }
    req.storage().put_json(&key, &stored).await?;
    Ok(Some(Response::with_data(stored)))
}

async fn delete(req: Request, _: Arc<Kv>) -> HandlerResult {
    let key = key_of(&req)?;
    req.storage().delete(&key).await?;
    Ok(None)
}

async fn exists(req: Request, _: Arc<Kv>) -> Result<bool, Error> {
    let key = key_of(&req)?;
    Ok(req.storage().get(&key).await?.is_some())
}

async fn list(req: Request, _: Arc<Kv>) -> HandlerResult {
    let prefix = format!(
        "{STORE_PREFIX}{}",
        req.get_str("prefix").unwrap_or_default()
    );
    let keys = req.storage().list(&prefix).await?;
    Ok(Some(Response::list(keys)))
}

async fn fail(req: Request, _: Arc<Kv>) -> HandlerResult {
    let message = req
        .get_str("message")
        .unwrap_or("example failure")
        .to_owned();
    Err(match req.get_str("class").unwrap_or_default() {
        "bad-request" => Error::bad_request(message),
        "permission" => Error::permission_denied(message),
        "not-found" => Error::not_found(message),
        "unsupported" => Error::unsupported(message),
        "upstream" => Error::upstream(502, message),
        "timeout" => Error::upstream(504, message),
        other => Error::bad_request(format!("unknown error class {other:?}")),
    })
}

async fn big(req: Request, _: Arc<Kv>) -> HandlerResult {
    let size = usize::try_from(req.get_int("bytes").unwrap_or(0))
        .map_err(|_| Error::bad_request("bytes must not be negative"))?;
    if size > 64 << 20 {
        return Err(Error::bad_request("at most 64 MiB"));
    }
    Ok(Some(Response::with_data(object(json!({
        "size": size,
        "blob": "x".repeat(size),
    })))))
}

async fn log(req: Request, _: Arc<Kv>) -> HandlerResult {
    let message = req.get_str("message").unwrap_or("example log line");
    match req.get_str("level").unwrap_or_default() {
        "trace" => tracing::trace!(source = "kv-example", "{message}"),
        "debug" => tracing::debug!(source = "kv-example", "{message}"),
        "info" => tracing::info!(source = "kv-example", "{message}"),
        "warn" => tracing::warn!(source = "kv-example", "{message}"),
        "error" => tracing::error!(source = "kv-example", "{message}"),
        other => return Err(Error::bad_request(format!("unknown level {other:?}"))),
    }
    Ok(None)
}

async fn boom(_: Request, _: Arc<Kv>) -> HandlerResult {
    panic!("the panic route panicked, as asked");
}

async fn info(_: Request, kv: Arc<Kv>) -> HandlerResult {
    let env = kv
        .system_view
        .plugin_env()
        .await
        .map_err(|e| Error::upstream(502, e.to_string()))?;
    Ok(Some(Response::with_data(object(json!({
        "pid": std::process::id(),
        "multiplex_id": kv.context.multiplex_id,
        "backend_uuid": kv.context.backend_uuid,
        "config": kv.context.config,
        "server_version": env.vault_version,
    })))))
}

async fn factory(context: SetupContext) -> Result<Backend<Kv>, Error> {
    let kv = Arc::new(Kv {
        system_view: context.system_view.clone(),
        context,
    });
    Ok(Backend::new(kv)
        .help("A tiny key/value engine demonstrating vault-plugin-sdk.")
        .path(
            Path::new("kv/?|kv/(?P<prefix>.*/)")
                .field(Field::string("prefix").description("Folder to list"))
                .synopsis("List keys")
                .list(list),
        )
        .path(
            Path::new("kv/(?P<key>.+)")
                .field(Field::string("key").description("Key to read or write"))
                .synopsis("Read and write JSON objects")
                .exists(exists)
                .read(read)
                .create(write)
                .update(write)
                .patch(patch)
                .delete(delete),
        )
        .path(
            Path::new(r"errors/(?P<class>[\w-]+)")
                .field(Field::string("class"))
                .field(Field::string("message").default(json!("example failure")))
                .read(fail),
        )
        .path(
            Path::new(r"big/(?P<bytes>[^/]+)")
                .field(Field::int("bytes"))
                .read(big),
        )
        .path(
            Path::new(r"log/(?P<level>\w+)")
                .field(Field::string("level"))
                .field(Field::string("message"))
                .update(log),
        )
        .path(Path::new("panic").read(boom))
        .path(Path::new("info").read(info))
        .on_initialize(|_: Arc<Kv>| async {
            tracing::debug!("kv-example mount initialized");
            Ok(())
        }))
}

fn main() -> std::process::ExitCode {
    vault_plugin_sdk::run(env!("CARGO_PKG_VERSION"), factory)
}
