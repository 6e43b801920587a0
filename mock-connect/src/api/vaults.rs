//! `GET /v1/vaults` and `GET /v1/vaults/{vault}`.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::Response;

use super::{AppState, Caller, Params};
use crate::error::ApiError;
use crate::filter::{Filter, query_param};
use crate::http_util::json_ok;

/// Vaults the token sees, optionally filtered by `name` (or `title`, which the Go and JS SDKs
/// send); names match case-insensitively like the real server.
pub async fn list(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let filter = match query_param(query.as_deref(), "filter") {
        Some(text) => Filter::parse(&text).map_err(|e| ApiError::bad_request(e.to_string()))?,
        None => None,
    };
    if let Some(filter) = &filter {
        filter
            .require_attribute(&["name", "title"])
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
    }
    let vaults: Vec<_> = state
        .store
        .vaults()
        .iter()
        .filter(|v| caller.sees(v))
        .filter(|v| filter.as_ref().is_none_or(|f| f.matches(v.name())))
        .map(|v| v.to_vault())
        .collect();
    Ok(json_ok(&vaults))
}

/// One vault.
pub async fn get_one(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Params(vault_id): Params<String>,
) -> Result<Response, ApiError> {
    let vault = caller.vault(&state.store, &vault_id)?;
    Ok(json_ok(&vault.to_vault()))
}
