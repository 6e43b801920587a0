//! `/__admin/requests` (the journal) and `/__admin/faults` (fault injection).

use std::sync::Arc;

use axum::extract::{FromRequestParts, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;

use super::{AppState, RawBody};
use crate::admin::{AdminDenied, FaultSpec};
use crate::error::ApiError;
use crate::http_util::json_ok;

/// Proof that the request passed the [`crate::admin::AdminGate`]; every admin handler takes it.
#[derive(Debug)]
pub struct Admin;

impl FromRequestParts<Arc<AppState>> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(http::header::AUTHORIZATION)
            .map(http::HeaderValue::as_bytes);
        state.admin.check(header).map(|()| Admin).map_err(|denied| {
            let status = match denied {
                AdminDenied::BadToken => StatusCode::UNAUTHORIZED,
                AdminDenied::Closed => StatusCode::FORBIDDEN,
            };
            ApiError::new(status, denied.to_string())
        })
    }
}

/// The journal, oldest first: `[{method, path, query, status}]`.
pub async fn journal(_: Admin, State(state): State<Arc<AppState>>) -> Response {
    json_ok(&state.journal.snapshot())
}

/// Clears the journal.
pub async fn clear_journal(_: Admin, State(state): State<Arc<AppState>>) -> Response {
    state.journal.clear();
    StatusCode::NO_CONTENT.into_response()
}

/// The faults in force.
pub async fn faults(_: Admin, State(state): State<Arc<AppState>>) -> Response {
    json_ok(&state.faults.list())
}

/// Adds one fault (a JSON object) or several (a JSON array); answers the faults in force.
pub async fn add_faults(
    _: Admin,
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
    state
        .faults
        .add_all(specs)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(json_ok(&state.faults.list()))
}

/// Removes every fault.
pub async fn clear_faults(_: Admin, State(state): State<Arc<AppState>>) -> Response {
    state.faults.clear();
    StatusCode::NO_CONTENT.into_response()
}
