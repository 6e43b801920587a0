//! Items: list, create, get, replace, patch, delete.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use onepassword_connect::model::{Item, PatchOp};

use super::{AppState, Caller, Params, RawBody};
use crate::activity::ItemVersion;
use crate::error::ApiError;
use crate::filter::{Filter, query_param};
use crate::http_util::{json_array, json_response};
use crate::item_rules::{prepare_create, prepare_replace};
use crate::store::StoredItem;

/// Item summaries of a vault, optionally filtered by `title` or `tag` (`eq` or `co`).
pub async fn list(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Params(vault_id): Params<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let vault = caller.vault(&state.store, &vault_id)?;
    let filter = match query_param(query.as_deref(), "filter") {
        Some(text) => Filter::parse(&text).map_err(|e| ApiError::bad_request(e.to_string()))?,
        None => None,
    };
    if let Some(filter) = &filter {
        filter
            .require_attribute(&["title", "tag", "tags"])
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
    }
    // A title equality is answered from the vault's title index (the same rows, in the same
    // order, as the scan below would select).
    let items = match filter.as_ref() {
        Some(f) if f.attribute == "title" => match f.eq_value() {
            Some(title) => vault.items_titled(title),
            None => vault.items(),
        },
        _ => vault.items(),
    };
    let rows = items.iter().filter(|stored| match &filter {
        None => true,
        Some(f) if f.attribute == "title" => f.matches(&stored.item().title),
        Some(f) => f.matches_any(stored.item().tags.iter().map(String::as_str)),
    });
    Ok(json_response(
        StatusCode::OK,
        json_array(rows.map(|s| s.summary_json())),
    ))
}

/// One full item.
pub async fn get_one(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Params((vault_id, item_id)): Params<(String, String)>,
) -> Result<Response, ApiError> {
    let vault = caller.item_vault(&state.store, &vault_id, &item_id)?;
    let stored = vault
        .item(&item_id)
        .ok_or_else(|| ApiError::item_not_found(&item_id))?;
    Ok(item_response(&stored))
}

/// Creates an item; the real server answers 200 (not 201) and the Go SDK insists on it.
pub async fn create(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Params(vault_id): Params<String>,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let vault = caller.vault(&state.store, &vault_id)?;
    let item = prepare_create(parse_item(&body)?, vault.id())?;
    let stored = vault.insert(item, Default::default());
    persist(&state).await;
    Ok(item_response(&stored))
}

/// Replaces an item (PUT).
pub async fn replace(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Params((vault_id, item_id)): Params<(String, String)>,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let vault = caller.item_vault(&state.store, &vault_id, &item_id)?;
    // Existence before body validation: an unknown item is 404 whatever the body.
    vault
        .item(&item_id)
        .ok_or_else(|| ApiError::item_not_found(&item_id))?;
    let body = parse_item(&body)?;
    let stored = vault.update(&item_id, |current| prepare_replace(body, current.item()))?;
    persist(&state).await;
    Ok(item_response(&stored))
}

/// Applies a JSON Patch array (PATCH).
pub async fn patch(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Params((vault_id, item_id)): Params<(String, String)>,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let vault = caller.item_vault(&state.store, &vault_id, &item_id)?;
    let current = vault
        .item(&item_id)
        .ok_or_else(|| ApiError::item_not_found(&item_id))?;
    let ops: Vec<PatchOp> = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "Invalid patch: the body must be a JSON array of operations: {e}"
        ))
    })?;
    if ops.is_empty() {
        return Ok(item_response(&current));
    }
    let stored = vault.update(&item_id, |current| {
        let patched = crate::patch::apply(current.item(), &ops)?;
        prepare_replace(patched, current.item())
    })?;
    persist(&state).await;
    Ok(item_response(&stored))
}

/// Deletes an item: 204 with an empty body (the Go SDK insists on exactly 204).
pub async fn delete(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Params((vault_id, item_id)): Params<(String, String)>,
) -> Result<Response, ApiError> {
    let vault = caller.item_vault(&state.store, &vault_id, &item_id)?;
    let removed = vault
        .remove(&item_id)
        .ok_or_else(|| ApiError::item_not_found(&item_id))?;
    persist(&state).await;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .extensions_mut()
        .insert(ItemVersion(removed.item().version));
    Ok(response)
}

fn parse_item(body: &[u8]) -> Result<Item, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("Invalid item in request body: {e}")))
}

fn item_response(stored: &StoredItem) -> Response {
    let mut response = json_response(StatusCode::OK, stored.full_json());
    response
        .extensions_mut()
        .insert(ItemVersion(stored.item().version));
    response
}

async fn persist(state: &AppState) {
    if let Err(error) = state.store.persist().await {
        tracing::error!(%error, "could not write the data file");
    }
}
