//! `config`: read (never the token), write (merge, validate, heartbeat check), delete.

use std::sync::Arc;
use std::time::Duration;

use onepassword_connect::ConnectError;
use onepassword_connect::filter::Filter;
use serde_json::json;
use vault_plugin_sdk::{Error, Field, HandlerResult, Path, Request, Response, StorageExt};

use crate::backend::{Engine, build_client};
use crate::config::{
    MAX_ITEM_CACHE_TTL, MAX_REQUEST_TIMEOUT, MAX_RETRIES_LIMIT, STORAGE_KEY, StoredConfig,
    validate_host,
};
use crate::error::{bad_field, scrub};
use crate::routes::{object, param_warnings, respond};

/// How long the heartbeat check of a config write may take at most.
const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(5);

const KEYS: [&str; 7] = [
    "op_connect_token",
    "op_connect_host",
    "op_vault",
    "request_timeout",
    "max_retries",
    "ca_certificate",
    "item_cache_ttl",
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
    if let Some(host) = req.get_str("op_connect_host") {
        if host.trim().is_empty() {
            stored.host = String::new();
        } else {
            let (normalised, warning) =
                validate_host(host).map_err(|e| Error::bad_request(e.to_string()))?;
            stored.host = normalised;
            warnings.extend(warning);
        }
    }
    if let Some(token) = req.get_str("op_connect_token") {
        if token.chars().any(char::is_control) {
            return Err(bad_field(
                "op_connect_token",
                "the token contains control characters",
            ));
        }
        stored.token = token.trim().to_owned();
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
    Ok(())
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
            let text = scrub(e.to_string(), &stored.token);
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
                scrub(e.to_string(), &stored.token)
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
                        scrub(api.to_string(), &stored.token)
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
    use crate::backend::backend;
    use serde_json::{Map, Value};
    use vault_plugin_sdk::{InMemoryStorage, Operation, Storage};

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
