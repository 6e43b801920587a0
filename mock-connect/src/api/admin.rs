//! `/__admin/requests` (the journal) and `/__admin/faults` (fault injection).

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;

use super::{AppState, RawBody};
use crate::admin::FaultSpec;
use crate::error::ApiError;
use crate::http_util::json_ok;

/// The journal, oldest first: `[{method, path, query, status}]`.
pub async fn journal(State(state): State<Arc<AppState>>) -> Response {
    json_ok(&state.journal.snapshot())
}

/// Clears the journal.
pub async fn clear_journal(State(state): State<Arc<AppState>>) -> Response {
    state.journal.clear();
    StatusCode::NO_CONTENT.into_response()
}

/// The faults in force.
pub async fn faults(State(state): State<Arc<AppState>>) -> Response {
    json_ok(&state.faults.list())
}

/// Adds one fault (a JSON object) or several (a JSON array); answers the faults in force.
pub async fn add_faults(
    State(state): State<Arc<AppState>>,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid fault JSON: {e}")))?;
    let specs: Vec<FaultSpec> = match value {
        serde_json::Value::Array(_) => serde_json::from_value(value),
        other => serde_json::from_value(other).map(|one| vec![one]),
    }
    .map_err(|e| ApiError::bad_request(format!("invalid fault: {e}")))?;
    for spec in &specs {
        spec.validate()
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
    }
    for spec in specs {
        state
            .faults
            .add(spec)
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
    }
    Ok(json_ok(&state.faults.list()))
}

/// Removes every fault.
pub async fn clear_faults(State(state): State<Arc<AppState>>) -> Response {
    state.faults.clear();
    StatusCode::NO_CONTENT.into_response()
}
