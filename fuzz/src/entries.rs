//! One function per fuzz target: each takes the fuzzer's bytes and must return without
//! panicking, whatever they are. Errors are fine; panics, hangs and unbounded memory are bugs.
//!
//! This file is compiled twice: by the fuzz targets (nightly, cargo-fuzz) and by
//! `plugin/tests/fuzz_corpus.rs` (stable), which replays `fuzz/corpus/*` in every test run.

use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};
use vault_plugin_sdk::framework::field::{decode, parse_duration};
use vault_plugin_sdk::{FieldType, InMemoryStorage, Operation, Request};
use vault_plugin_secrets_onepassword::engine::Engine;

/// Item write bodies (create, replace, patch) as the engine decodes them, and Connect's item
/// JSON as the client decodes it.
pub fn item_body(data: &[u8]) {
    if let Ok(item) = serde_json::from_slice::<onepassword_connect::model::Item>(data) {
        // What decodes must encode again.
        let _ = serde_json::to_vec(&item);
    }
    let Ok(body) = serde_json::from_slice::<Map<String, Value>>(data) else {
        return;
    };
    use vault_plugin_secrets_onepassword::item_body::{build_item, patch_ops};
    if let Ok(item) = build_item("aaaaaaaaaaaaaaaaaaaaaaaaaa", &body) {
        let _ = patch_ops(&item, &body);
    }
    let _ = patch_ops(&current_item(), &body);
}

/// An existing item with sections, fields and tags, for patches to apply to.
fn current_item() -> onepassword_connect::model::Item {
    static ITEM: OnceLock<onepassword_connect::model::Item> = OnceLock::new();
    ITEM.get_or_init(|| {
        serde_json::from_value(serde_json::json!({
            "id": "xxxxxxxxxxxxxxxxxxxxxxxxxx", "title": "db", "category": "DATABASE",
            "vault": {"id": "aaaaaaaaaaaaaaaaaaaaaaaaaa"}, "tags": ["a", "b"],
            "sections": [{"id": "sec1", "label": "Section One"}],
            "fields": [
                {"id": "username", "type": "STRING", "purpose": "USERNAME", "label": "username", "value": "admin"},
                {"id": "password", "type": "CONCEALED", "purpose": "PASSWORD", "label": "password", "value": "x"},
                {"id": "f1", "type": "STRING", "label": "host", "value": "h", "section": {"id": "sec1"}}
            ]
        }))
        .unwrap_or_default()
    })
    .clone()
}

/// The SDK's weak decoding of one field value: the first byte picks the field type, the rest
/// is JSON; and duration text on its own.
pub fn field_decode(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    const KINDS: [FieldType; 7] = [
        FieldType::String,
        FieldType::Int,
        FieldType::Bool,
        FieldType::Duration,
        FieldType::Map,
        FieldType::StringSlice,
        FieldType::Json,
    ];
    if let Ok(text) = std::str::from_utf8(rest) {
        let _ = parse_duration(text);
    }
    if let Ok(value) = serde_json::from_slice::<Value>(rest) {
        let _ = decode(KINDS[usize::from(selector) % KINDS.len()], &value);
    }
}

/// A whole request through the engine's route table (routing, field binding and decoding, the
/// handler up to where it would call Connect): the first byte picks the operation, then the
/// path up to a NUL byte, then the request data as JSON. The mount has no config, so no handler
/// reaches the network; writes to `config` are skipped for the same reason.
pub fn path_match(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    const OPERATIONS: [Operation; 8] = [
        Operation::Read,
        Operation::List,
        Operation::Create,
        Operation::Update,
        Operation::Patch,
        Operation::Delete,
        Operation::Help,
        Operation::ResolvePath,
    ];
    let operation = OPERATIONS[usize::from(selector) % OPERATIONS.len()];
    let (path, body) = match rest.iter().position(|&b| b == 0) {
        Some(nul) => (&rest[..nul], &rest[nul + 1..]),
        None => (rest, &[][..]),
    };
    let Ok(path) = std::str::from_utf8(path) else {
        return;
    };
    if operation.is_write() && path.trim_start_matches('/').starts_with("config") {
        return;
    }
    let data = serde_json::from_slice::<Map<String, Value>>(body).unwrap_or_default();
    let storage: Arc<dyn vault_plugin_sdk::Storage> = Arc::new(InMemoryStorage::default());
    let request = Request::new(operation, path, data, storage);
    let backend = engine_backend();
    let _ = runtime().block_on(backend.handle(request));
}

fn engine_backend() -> &'static vault_plugin_sdk::Backend<Engine> {
    static BACKEND: OnceLock<vault_plugin_sdk::Backend<Engine>> = OnceLock::new();
    BACKEND.get_or_init(|| {
        vault_plugin_secrets_onepassword::backend::backend(Arc::new(Engine::default()))
    })
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("a tokio runtime: {e}"))
    })
}
