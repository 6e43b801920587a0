//! `health`: is Connect reachable, which version is it, does the token work.

use std::sync::Arc;

use std::time::Duration;

use onepassword_connect::{ConnectError, RetryPolicy};
use serde_json::{Value, json};
use vault_plugin_sdk::{HandlerResult, Path, Request, Response};

use crate::engine::{Engine, VERSION};
use crate::render::object;
use crate::routes::live;

/// Longest a health probe waits for Connect.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// `health`.
pub fn path() -> Path<Engine> {
    Path::new("health")
        .synopsis("Report whether 1Password Connect is reachable, its version, and whether the configured token works.")
        .read(read)
}

async fn read(req: Request, engine: Arc<Engine>) -> HandlerResult {
    let live = match live(&req, &engine).await {
        Ok(live) => live,
        Err(err) => {
            return Ok(Some(Response::with_data(object([
                ("configured", json!(false)),
                ("plugin_version", json!(VERSION)),
                ("error", json!(err.to_string())),
            ]))));
        }
    };
    let token = &live.config.token;
    // One quick attempt each: a health check must answer promptly even when Connect hangs.
    let probe = live
        .client
        .with_timeout(live.config.request_timeout().min(PROBE_TIMEOUT))
        .with_retry(RetryPolicy::none());
    let (heartbeat, health, vaults) =
        tokio::join!(probe.heartbeat(), probe.health(), probe.list_vaults(None));
    let describe = |e: &ConnectError| token.excerpt(&e.to_string());
    let token_valid = match &vaults {
        Ok(_) => json!(true),
        Err(ConnectError::Unauthorized(api)) if api.http_status == 401 => json!(false),
        Err(_) => Value::Null,
    };
    let mut data = object([
        ("configured", json!(true)),
        ("plugin_version", json!(VERSION)),
        ("connect_host", json!(live.host())),
        ("reachable", json!(heartbeat.is_ok())),
        (
            "connect_version",
            json!(
                health
                    .as_ref()
                    .map(|h| h.version.clone())
                    .unwrap_or_default()
            ),
        ),
        ("token_valid", token_valid),
    ]);
    if let Ok(health) = &health {
        let dependencies: Vec<Value> = health
            .dependencies
            .iter()
            .map(|d| json!({"service": d.service, "status": d.status}))
            .collect();
        data.insert("dependencies".into(), Value::Array(dependencies));
    }
    let errors: Vec<String> = [
        heartbeat
            .err()
            .map(|e| format!("heartbeat: {}", describe(&e))),
        health.err().map(|e| format!("health: {}", describe(&e))),
        vaults
            .err()
            .map(|e| format!("token check: {}", describe(&e))),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !errors.is_empty() {
        data.insert("errors".into(), json!(errors));
    }
    Ok(Some(Response::with_data(data)))
}
