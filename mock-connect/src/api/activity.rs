//! `GET /v1/activity`: newest first, `limit` (default 50) and `offset` (default 0), with a
//! `Content-Range: first-last/total` header.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::Response;
use http::header::HeaderValue;

use super::{AppState, Caller};
use crate::error::ApiError;
use crate::filter::query_param;
use crate::http_util::json_ok;

/// A page of the activity log.
pub async fn list(
    State(state): State<Arc<AppState>>,
    _caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let number = |name: &str, default: usize| -> Result<usize, ApiError> {
        match query_param(query.as_deref(), name) {
            None => Ok(default),
            Some(text) if text.is_empty() => Ok(default),
            Some(text) => text
                .parse()
                .map_err(|_| ApiError::bad_request(format!("Invalid {name} parameter: {text}"))),
        }
    };
    let limit = number("limit", 50)?;
    let offset = number("offset", 0)?;
    let (page, total) = state.activity.page(offset, limit);
    let range = if page.is_empty() {
        format!("0-0/{total}")
    } else {
        format!("{}-{}/{total}", offset + 1, offset + page.len())
    };
    let mut response = json_ok(&page);
    if let Ok(value) = HeaderValue::from_str(&range) {
        response.headers_mut().insert("content-range", value);
    }
    Ok(response)
}
