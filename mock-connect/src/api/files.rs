//! Files of an item: list, details, content. There is no upload endpoint; files come from seeds.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use http::StatusCode;
use http::header::{CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use onepassword_connect::model::File;

use super::{AppState, Caller, Params};
use crate::error::ApiError;
use crate::filter::query_param;
use crate::http_util::json_ok;
use crate::store::StoredItem;

/// Largest file inlined on request (`OP_MAX_INLINE_FILE_SIZE_KB` defaults to 100).
pub const MAX_INLINE_BYTES: u64 = 100 * 1024;

/// Files of an item, with base64 `content` when `inline_files=true` (the spec's name) or
/// `inline_content=true` (the docs' name) is given.
pub async fn list(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Params((vault_id, item_id)): Params<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let stored = find_item(&state, &caller, &vault_id, &item_id)?;
    let inline = wants_inline(query.as_deref());
    let files = stored
        .item()
        .files
        .iter()
        .map(|file| shown(&stored, file, inline))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json_ok(&files))
}

/// One file's details.
pub async fn get_one(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Params((vault_id, item_id, file_id)): Params<(String, String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let stored = find_item(&state, &caller, &vault_id, &item_id)?;
    let file = find_file(&stored, &file_id)?;
    Ok(json_ok(&shown(
        &stored,
        file,
        wants_inline(query.as_deref()),
    )?))
}

/// The raw bytes of a file.
pub async fn content(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Params((vault_id, item_id, file_id)): Params<(String, String, String)>,
) -> Result<Response, ApiError> {
    let stored = find_item(&state, &caller, &vault_id, &item_id)?;
    let file = find_file(&stored, &file_id)?;
    let bytes = stored.file_content(&file.id).cloned().unwrap_or_default();
    let length = bytes.len();
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(CONTENT_LENGTH, HeaderValue::from(length));
    let disposition = format!(
        "attachment; filename=\"{}\"",
        file.name.replace(['"', '\\', '\r', '\n'], "_")
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

fn find_item(
    state: &AppState,
    caller: &Caller,
    vault_id: &str,
    item_id: &str,
) -> Result<Arc<StoredItem>, ApiError> {
    let vault = caller.item_vault(&state.store, vault_id, item_id)?;
    vault
        .item(item_id)
        .ok_or_else(|| ApiError::item_not_found(item_id))
}

fn find_file<'a>(stored: &'a StoredItem, file_id: &str) -> Result<&'a File, ApiError> {
    stored
        .item()
        .files
        .iter()
        .find(|f| f.id == file_id)
        .ok_or_else(|| ApiError::file_not_found(file_id))
}

fn wants_inline(query: Option<&str>) -> bool {
    ["inline_files", "inline_content"].iter().any(|name| {
        query_param(query, name).is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
    })
}

fn shown(stored: &StoredItem, file: &File, inline: bool) -> Result<File, ApiError> {
    let mut file = file.clone();
    if inline {
        if file.size > MAX_INLINE_BYTES {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "File is too large to inline in request. Use the /v1/vaults/{vaultUUID}/items/{itemUUID}/files/{fileUUID}/content endpoint instead.",
            ));
        }
        let bytes = stored.file_content(&file.id).cloned().unwrap_or_default();
        file.set_content(&bytes);
    }
    Ok(file)
}
