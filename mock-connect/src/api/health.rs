//! `/heartbeat`, `/health` and `/metrics` (no authentication, like the real server).

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::header::{CONTENT_TYPE, HeaderValue};
use onepassword_connect::model::{ServerHealth, ServiceDependency};

use super::AppState;
use crate::http_util::{CONNECT_VERSION, json_ok};

/// Liveness: `200 text/plain` with body `.`.
pub async fn heartbeat() -> Response {
    (
        [(CONTENT_TYPE, HeaderValue::from_static("text/plain"))],
        ".",
    )
        .into_response()
}

/// Server health with every dependency `ACTIVE`.
pub async fn health() -> Response {
    json_ok(&ServerHealth {
        name: "1Password Connect API".to_owned(),
        version: CONNECT_VERSION.to_owned(),
        dependencies: vec![
            ServiceDependency {
                service: "sync".to_owned(),
                status: "ACTIVE".to_owned(),
                message: None,
            },
            ServiceDependency {
                service: "sqlite".to_owned(),
                status: "ACTIVE".to_owned(),
                message: Some("Connected to the in-memory mock store".to_owned()),
            },
        ],
    })
}

/// A few counters in the Prometheus text format.
pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let vaults = state.store.vaults();
    let items: usize = vaults.iter().map(|v| v.len()).sum();
    let mut text = String::new();
    let _ = writeln!(
        text,
        "# HELP mock_connect_requests_total API requests served."
    );
    let _ = writeln!(text, "# TYPE mock_connect_requests_total counter");
    let _ = writeln!(
        text,
        "mock_connect_requests_total {}",
        state.requests.load(Ordering::Relaxed)
    );
    let _ = writeln!(text, "# HELP mock_connect_vaults Vaults in the store.");
    let _ = writeln!(text, "# TYPE mock_connect_vaults gauge");
    let _ = writeln!(text, "mock_connect_vaults {}", vaults.len());
    let _ = writeln!(text, "# HELP mock_connect_items Items in the store.");
    let _ = writeln!(text, "# TYPE mock_connect_items gauge");
    let _ = writeln!(text, "mock_connect_items {items}");
    (
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        text,
    )
        .into_response()
}
