//! `config`: read (never the token), write (merge, validate, heartbeat check), delete.

use std::sync::Arc;
use std::time::Duration;

use onepassword_connect::filter::Filter;
use onepassword_connect::{ConnectError, ConnectToken};
use serde_json::json;
use vault_plugin_sdk::{Error, Field, HandlerResult, Path, Request, Response, StorageExt};

use crate::config::{
    MAX_ITEM_CACHE_TTL, MAX_REQUEST_TIMEOUT, MAX_RETRIES_LIMIT, MAX_SIZE_LIMIT, MIN_SIZE_LIMIT,
    STORAGE_KEY, StoredConfig, validate_host,
};
use crate::engine::{Engine, build_client};
use crate::error::bad_field;
use crate::render::object;
use crate::routes::{param_warnings, respond};

/// How long the heartbeat check of a config write may take at most.
const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(5);

const KEYS: [&str; 9] = [
    "op_connect_token",
    "op_connect_host",
    "op_vault",
    "request_timeout",
    "max_retries",
    "ca_certificate",
    "item_cache_ttl",
    "max_response_size",
    "max_file_size",
];

/// The `config` route.
pub fn path() -> Path<Engine> {
    Path::new("config")
        .field(Field::string("op_connect_token").description("The 1Password Connect API Token"))
        .field(
            Field::string("op_vault")
                .description("The id of the default 1Password vault to access (kept for compatibility; unused)"),
        )
        .field(
            Field::string("op_connect_host")
                .description("The host address for the 1Password Connect API, with scheme (https://connect.example.com:8443)"),
        )
        .field(Field::duration("request_timeout").description(
            "How long one request to Connect may take (default 10s, at most 5m; 0 restores the default)",
        ))
        .field(Field::int("max_retries").description(
            "Retries of idempotent Connect requests after a connection failure, timeout or 502/503/504 (default 2, at most 10)",
        ))
        .field(Field::string("ca_certificate").description(
            "PEM CA certificate(s) to trust for Connect's TLS certificate instead of the system roots (\"\" to remove)",
        ))
        .field(Field::duration("item_cache_ttl").description(
            "How long items read from Connect may be served from memory (default 0: no item cache, at most 1h). Writes through this node drop the item at once; other nodes serve it until it expires.",
        ))
        .field(Field::int("max_response_size").description(
            "Largest answer (bytes) accepted from Connect for vaults, items and file metadata; a larger one is refused with a 502 without being read (default 8 MiB, from 1 KiB to 64 MiB; 0 restores the default)",
        ))
        .field(Field::int("max_file_size").description(
            "Largest file content (bytes) accepted from Connect; a larger file is refused with a 502 without being read (default 16 MiB, from 1 KiB to 64 MiB; 0 restores the default)",
        ))
        .synopsis("Configure the 1Password Connect backend.")
        .description(
            "The 1Password Connect backend requires a Connect API token and the address of the Connect server.\n\
             The token is stored seal-wrapped and never returned: reading config shows whether it is set.\n\
             Writes merge with the stored config; the server's heartbeat and the token are checked and a warning is returned when either fails.",
        )
        .read(read)
        .update(write)
        .delete(delete)
}

async fn load(req: &Request) -> Result<Option<StoredConfig>, Error> {
    Ok(req.storage().get_json(STORAGE_KEY).await?)
}

async fn read(req: Request, engine: Arc<Engine>) -> HandlerResult {
    // The live state holds the stored config as of the last invalidation (writes here and
    // replication from other nodes both invalidate), so it saves a storage round trip to the
    // server per read.
    if let Some(live) = engine.current() {
        return Ok(Some(view(&live.config)));
    }
    Ok(load(&req).await?.map(|stored| view(&stored)))
}

/// What a config read shows (never the token itself).
fn view(stored: &StoredConfig) -> Response {
    Response::with_data(object([
        ("op_connect_host", json!(stored.host)),
        ("op_vault", json!(stored.default_vault)),
        ("op_connect_token_set", json!(!stored.token.is_empty())),
        ("request_timeout", seconds(stored.request_timeout())),
        ("max_retries", json!(stored.max_retries())),
        (
            "ca_certificate",
            json!(stored.ca_certificate.clone().unwrap_or_default()),
        ),
        ("item_cache_ttl", seconds(stored.item_cache_ttl())),
        ("max_response_size", json!(stored.max_response_size())),
        ("max_file_size", json!(stored.max_file_size())),
    ]))
}

/// A duration in seconds, as Vault shows durations: whole seconds as an integer.
fn seconds(duration: Duration) -> serde_json::Value {
    if duration.subsec_nanos() == 0 {
        json!(duration.as_secs())
    } else {
        json!(duration.as_secs_f64())
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Applies the request's settings to `stored`; warnings about the values go to `warnings`.
fn apply(
    req: &Request,
    stored: &mut StoredConfig,
    warnings: &mut Vec<String>,
) -> Result<(), Error> {
    let new_token = req.get_str("op_connect_token");
    if let Some(host) = req.get_str("op_connect_host") {
        let host = if host.trim().is_empty() {
            String::new()
        } else {
            let (normalised, warning) =
                validate_host(host).map_err(|e| Error::bad_request(e.to_string()))?;
            warnings.extend(warning);
            normalised
        };
        // The stored token was written for the stored host: it never follows a new host that
        // the writer did not pair it with (finding 1 of issue 11).
        if host != stored.base_url()
            && !host.is_empty()
            && !stored.token.is_empty()
            && new_token.is_none()
        {
            return Err(bad_field(
                "op_connect_token",
                "changing op_connect_host requires op_connect_token in the same write (the stored token is never sent to a new host)",
            ));
        }
        stored.host = host;
    }
    if let Some(token) = new_token {
        if token.chars().any(char::is_control) {
            return Err(bad_field(
                "op_connect_token",
                "the token contains control characters",
            ));
        }
        stored.token = ConnectToken::new(token.trim());
    }
    if let Some(vault) = req.get_str("op_vault") {
        stored.default_vault = vault.to_owned();
    }
    if let Some(timeout) = req.get_duration("request_timeout") {
        if timeout > MAX_REQUEST_TIMEOUT {
            return Err(bad_field("request_timeout", "must be at most 5m"));
        }
        stored.request_timeout_ms = if timeout.is_zero() {
            None
        } else if timeout < Duration::from_millis(100) {
            return Err(bad_field("request_timeout", "must be at least 100ms"));
        } else {
            Some(millis(timeout))
        };
    }
    if req.has("max_retries") {
        let retries = req.get_int("max_retries").unwrap_or_default();
        let retries = u32::try_from(retries)
            .ok()
            .filter(|r| *r <= MAX_RETRIES_LIMIT)
            .ok_or_else(|| bad_field("max_retries", "must be between 0 and 10"))?;
        stored.max_retries = Some(retries);
    }
    if let Some(pem) = req.get_str("ca_certificate") {
        stored.ca_certificate = if pem.trim().is_empty() {
            None
        } else if !pem.contains("-----BEGIN CERTIFICATE-----") {
            return Err(bad_field(
                "ca_certificate",
                "expected PEM text with at least one -----BEGIN CERTIFICATE----- block",
            ));
        } else {
            Some(pem.to_owned())
        };
    }
    if let Some(ttl) = req.get_duration("item_cache_ttl") {
        if ttl > MAX_ITEM_CACHE_TTL {
            return Err(bad_field("item_cache_ttl", "must be at most 1h"));
        }
        stored.item_cache_ttl_ms = (!ttl.is_zero()).then(|| millis(ttl));
    }
    for (field, slot) in [
        ("max_response_size", &mut stored.max_response_bytes),
        ("max_file_size", &mut stored.max_file_bytes),
    ] {
        if req.has(field) {
            *slot = size_limit(req, field)?;
        }
    }
    Ok(())
}

/// A size limit in bytes: 0 restores the default (`None`), else within the accepted range.
fn size_limit(req: &Request, field: &str) -> Result<Option<u64>, Error> {
    let bytes = req.get_int(field).unwrap_or_default();
    if bytes == 0 {
        return Ok(None);
    }
    u64::try_from(bytes)
        .ok()
        .filter(|b| (MIN_SIZE_LIMIT..=MAX_SIZE_LIMIT).contains(b))
        .map(Some)
        .ok_or_else(|| {
            bad_field(
                field,
                format!(
                    "must be 0 (the default) or between {MIN_SIZE_LIMIT} and {MAX_SIZE_LIMIT} bytes"
                ),
            )
        })
}

async fn write(req: Request, engine: Arc<Engine>) -> HandlerResult {
    let mut stored = load(&req).await?.unwrap_or_default();
    let mut warnings = param_warnings(&req.data, &KEYS, &[]);
    apply(&req, &mut stored, &mut warnings)?;

    if stored.host.is_empty() || stored.token.is_empty() {
        let missing: Vec<&str> = [
            ("op_connect_host", stored.host.is_empty()),
            ("op_connect_token", stored.token.is_empty()),
        ]
        .into_iter()
        .filter_map(|(name, missing)| missing.then_some(name))
        .collect();
        warnings.push(format!(
            "{} not set yet: requests to 1Password Connect fail until it is",
            missing.join(" and ")
        ));
    } else {
        let timeout = stored.request_timeout().min(HEARTBEAT_TIMEOUT);
        let probe = build_client(&stored, Some(timeout)).map_err(|e| {
            let text = stored.token.excerpt(&e.to_string());
            if text.contains("token") {
                bad_field("op_connect_token", text)
            } else if text.contains("Connect URL") {
                bad_field("op_connect_host", text)
            } else if stored.ca_certificate.is_some() {
                bad_field("ca_certificate", text)
            } else {
                // Nothing the caller gave is at fault (e.g. no system CA roots on this host).
                Error::internal(format!("cannot build the 1Password Connect client: {text}"))
            }
        })?;
        match probe.heartbeat().await {
            Err(e) => warnings.push(format!(
                "the config was saved, but 1Password Connect at {} did not answer its heartbeat: {}",
                stored.base_url(),
                stored.token.excerpt(&e.to_string())
            )),
            // Reachable: check the token too, with a filter that keeps the answer small.
            Ok(()) => {
                let check = Filter::title_eq("op-connect configuration check");
                if let Err(ConnectError::Unauthorized(api)) = probe.list_vaults(Some(&check)).await
                    && api.http_status == 401
                {
                    warnings.push(format!(
                        "the config was saved, but 1Password Connect at {} rejected op_connect_token ({}); requests will fail until it is corrected",
                        stored.base_url(),
                        stored.token.excerpt(&api.to_string())
                    ));
                }
            }
        }
    }

    req.storage()
        .put(vault_plugin_sdk::StorageEntry {
            seal_wrap: true,
            ..vault_plugin_sdk::StorageEntry::json(STORAGE_KEY, &stored)?
        })
        .await?;
    // After the write: a request that loaded the old config meanwhile is not cached (the
    // generation moved), and the next one reads the new config.
    engine.invalidate();
    tracing::info!(host = %stored.base_url(), "op-connect config written");

    if warnings.is_empty() {
        Ok(None)
    } else {
        let mut response = respond(serde_json::Map::new(), warnings);
        response.data = None;
        Ok(Some(response))
    }
}

async fn delete(req: Request, engine: Arc<Engine>) -> HandlerResult {
    req.storage().delete(STORAGE_KEY).await?;
    engine.invalidate();
    tracing::info!("op-connect config deleted");
    Ok(None)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::{Map, Value};
    use vault_plugin_sdk::{Backend, InMemoryStorage, Operation, Storage};

    /// The config route alone, dispatched through the SDK (binding and decoding included).
    fn backend(engine: Arc<Engine>) -> Backend<Engine> {
        Backend::new(engine).path(path())
    }

    fn request(storage: &Arc<InMemoryStorage>, op: Operation, body: Value) -> Request {
        let Value::Object(map) = body else {
            unreachable!()
        };
        let storage: Arc<dyn Storage> = storage.clone();
        Request::new(op, "config", map, storage)
    }

    #[tokio::test]
    async fn token_is_never_read_back_and_storage_stays_go_compatible() {
        let storage = Arc::new(InMemoryStorage::new());
        let b = backend(Arc::new(Engine::default()));
        let none = b
            .handle(request(&storage, Operation::Read, json!({})))
            .await
            .unwrap();
        assert!(none.is_none());
        let written = b
            .handle(request(
                &storage,
                Operation::Update,
                json!({"op_connect_host": "http://127.0.0.1:1/", "op_connect_token": "s3cr3t-token", "bogus": 1}),
            ))
            .await
            .unwrap()
            .unwrap();
        assert!(
            written.warnings.iter().any(|w| w.contains("heartbeat")),
            "{:?}",
            written.warnings
        );
        assert!(written.warnings.iter().any(|w| w.contains("[bogus]")));
        let raw = storage.get(STORAGE_KEY).await.unwrap().unwrap();
        let stored: Map<String, Value> = serde_json::from_slice(&raw.value).unwrap();
        assert_eq!(stored["OPToken"], "s3cr3t-token");
        assert_eq!(stored["Host"], "http://127.0.0.1:1");
        assert_eq!(stored["OPVault"], "");
        let read = b
            .handle(request(&storage, Operation::Read, json!({})))
            .await
            .unwrap()
            .unwrap();
        let text = serde_json::to_string(&read.data).unwrap();
        assert!(!text.contains("s3cr3t-token"), "{text}");
        let data = read.data.unwrap();
        assert_eq!(data["op_connect_token_set"], json!(true));
        assert_eq!(data["op_connect_host"], json!("http://127.0.0.1:1"));
        assert!(!data.contains_key("op_connect_token"));
    }

    #[tokio::test]
    async fn bad_values_are_400s_naming_the_field() {
        let storage = Arc::new(InMemoryStorage::new());
        let b = backend(Arc::new(Engine::default()));
        for (body, field) in [
            (
                json!({"op_connect_host": "localhost:8080"}),
                "op_connect_host",
            ),
            (json!({"op_connect_host": {"a": 1}}), "op_connect_host"),
            (json!({"max_retries": 99}), "max_retries"),
            (json!({"request_timeout": "10h"}), "request_timeout"),
            (json!({"ca_certificate": "nope"}), "ca_certificate"),
            (json!({"item_cache_ttl": "2h"}), "item_cache_ttl"),
            (json!({"max_response_size": 10}), "max_response_size"),
            (json!({"max_response_size": -1}), "max_response_size"),
            (json!({"max_file_size": 1_000_000_000_u64}), "max_file_size"),
        ] {
            let err = b
                .handle(request(&storage, Operation::Update, body.clone()))
                .await
                .unwrap_err();
            assert_eq!(err.http_status(), 400, "{body}");
            assert!(err.to_string().contains(field), "{body}: {err}");
        }
        assert!(storage.get(STORAGE_KEY).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_new_host_needs_the_token_in_the_same_write() {
        let storage = Arc::new(InMemoryStorage::new());
        storage
            .put(vault_plugin_sdk::StorageEntry {
                key: STORAGE_KEY.into(),
                value: br#"{"OPToken":"tok","OPVault":"","Host":"http://127.0.0.1:1/"}"#.to_vec(),
                seal_wrap: false,
            })
            .await
            .unwrap();
        let b = backend(Arc::new(Engine::default()));
        for body in [
            json!({"op_connect_host": "http://127.0.0.1:2"}),
            // A null token is no token.
            json!({"op_connect_host": "http://127.0.0.1:2", "op_connect_token": null}),
        ] {
            let err = b
                .handle(request(&storage, Operation::Update, body.clone()))
                .await
                .unwrap_err();
            assert_eq!(err.http_status(), 400, "{body}");
            let text = err.to_string();
            assert!(text.contains("\"op_connect_token\""), "{text}");
            assert!(text.contains("op_connect_host"), "{text}");
        }
        let raw = storage.get(STORAGE_KEY).await.unwrap().unwrap();
        assert!(String::from_utf8_lossy(&raw.value).contains("127.0.0.1:1"));
        // The same host again (in any spelling the check normalises) needs no token.
        b.handle(request(
            &storage,
            Operation::Update,
            json!({"op_connect_host": " http://127.0.0.1:1// ", "max_retries": 0}),
        ))
        .await
        .unwrap();
        // Clearing the host needs none either: the token then goes nowhere.
        b.handle(request(
            &storage,
            Operation::Update,
            json!({"op_connect_host": ""}),
        ))
        .await
        .unwrap();
        // A host with its token is fine.
        b.handle(request(
            &storage,
            Operation::Update,
            json!({"op_connect_host": "http://127.0.0.1:2", "op_connect_token": "tok2"}),
        ))
        .await
        .unwrap();
        let raw = storage.get(STORAGE_KEY).await.unwrap().unwrap();
        let stored: Map<String, Value> = serde_json::from_slice(&raw.value).unwrap();
        assert_eq!(stored["Host"], "http://127.0.0.1:2");
        assert_eq!(stored["OPToken"], "tok2");
    }

    #[tokio::test]
    async fn out_of_range_numbers_are_400s_not_panics() {
        let storage = Arc::new(InMemoryStorage::new());
        let b = backend(Arc::new(Engine::default()));
        for (body, field) in [
            (json!({"request_timeout": 1e20}), "request_timeout"),
            (json!({"request_timeout": -1}), "request_timeout"),
            (json!({"item_cache_ttl": 1.7e308}), "item_cache_ttl"),
            (json!({"max_retries": 1e20}), "max_retries"),
            (json!({"max_retries": u64::MAX}), "max_retries"),
            (json!({"max_retries": "-1"}), "max_retries"),
        ] {
            let err = b
                .handle(request(&storage, Operation::Update, body.clone()))
                .await
                .unwrap_err();
            assert_eq!(err.http_status(), 400, "{body}");
            assert!(err.to_string().contains(field), "{body}: {err}");
        }
    }

    #[tokio::test]
    async fn merge_then_delete() {
        let storage = Arc::new(InMemoryStorage::new());
        storage
            .put(vault_plugin_sdk::StorageEntry {
                key: STORAGE_KEY.into(),
                value: br#"{"OPToken":"tok","OPVault":"","Host":"http://127.0.0.1:1"}"#.to_vec(),
                seal_wrap: false,
            })
            .await
            .unwrap();
        let b = backend(Arc::new(Engine::default()));
        b.handle(request(
            &storage,
            Operation::Update,
            json!({"op_vault": "Shared", "request_timeout": "2s"}),
        ))
        .await
        .unwrap();
        let data = b
            .handle(request(&storage, Operation::Read, json!({})))
            .await
            .unwrap()
            .unwrap()
            .data
            .unwrap();
        assert_eq!(data["op_vault"], json!("Shared"));
        assert_eq!(data["op_connect_host"], json!("http://127.0.0.1:1"));
        assert_eq!(data["request_timeout"], json!(2));
        b.handle(request(&storage, Operation::Delete, json!({})))
            .await
            .unwrap();
        assert!(storage.get(STORAGE_KEY).await.unwrap().is_none());
    }
}
