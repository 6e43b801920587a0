//! The HTTP API: one module per resource, plus the admin routes.
//!
//! Checks run in the order the real server seems to use: token (401), id syntax (400), vault
//! scope (403), existence (404), body validation (400).

mod activity;
mod admin;
mod files;
mod health;
mod items;
mod vaults;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::routing::get;
use http::StatusCode;
use http::request::Parts;
use serde::de::DeserializeOwned;

use crate::activity::ActivityLog;
use crate::admin::{AdminGate, Faults, Journal};
use crate::auth::{Access, Scope, Tokens};
use crate::error::ApiError;
use crate::ids::is_valid_id;
use crate::store::{Store, VaultEntry};

/// Everything the handlers share.
#[derive(Debug)]
pub struct AppState {
    /// The data.
    pub store: Arc<Store>,
    /// Configured tokens.
    pub tokens: Tokens,
    /// Journal of requests (admin).
    pub journal: Arc<Journal>,
    /// Fault injection (admin).
    pub faults: Arc<Faults>,
    /// Who may use `/__admin`.
    pub admin: AdminGate,
    /// `/v1/activity`.
    pub activity: ActivityLog,
    /// Requests served, for `/metrics`.
    pub requests: AtomicU64,
}

/// The router for every route (API and admin).
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/heartbeat", get(health::heartbeat))
        .route("/health", get(health::health))
        .route("/metrics", get(health::metrics))
        .route("/v1/activity", get(activity::list))
        .route("/v1/vaults", get(vaults::list))
        .route("/v1/vaults/{vault}", get(vaults::get_one))
        .route(
            "/v1/vaults/{vault}/items",
            get(items::list).post(items::create),
        )
        .route(
            "/v1/vaults/{vault}/items/{item}",
            get(items::get_one)
                .put(items::replace)
                .patch(items::patch)
                .delete(items::delete),
        )
        .route("/v1/vaults/{vault}/items/{item}/files", get(files::list))
        .route(
            "/v1/vaults/{vault}/items/{item}/files/{file}",
            get(files::get_one),
        )
        .route(
            "/v1/vaults/{vault}/items/{item}/files/{file}/content",
            get(files::content),
        )
        .route(
            "/__admin/requests",
            get(admin::journal).delete(admin::clear_journal),
        )
        .route(
            "/__admin/faults",
            get(admin::faults)
                .post(admin::add_faults)
                .delete(admin::clear_faults),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "Not Found")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller(pub Arc<Access>);

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(http::header::AUTHORIZATION)
            .map(http::HeaderValue::as_bytes);
        state
            .tokens
            .authenticate(header)
            .map(Caller)
            .map_err(|e| ApiError::new(StatusCode::UNAUTHORIZED, e.to_string()))
    }
}

/// Path parameters, with Connect's 400 instead of axum's plain-text rejection.
#[derive(Debug)]
pub struct Params<T>(pub T);

impl<T, S> FromRequestParts<S> for Params<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| Params(value))
            .map_err(|e| ApiError::bad_request(e.body_text()))
    }
}

/// A request body, with Connect's error shape (e.g. 413 over the 2 MiB limit) instead of
/// axum's plain-text rejection.
#[derive(Debug)]
pub struct RawBody(pub bytes::Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        bytes::Bytes::from_request(request, state)
            .await
            .map(RawBody)
            .map_err(|e| ApiError::new(e.status(), e.body_text()))
    }
}

impl Caller {
    /// The vault `vault_id` if the caller may see it: 400 for a malformed id, 403 outside the
    /// token's scope, 404 when unknown.
    pub fn vault(&self, store: &Store, vault_id: &str) -> Result<Arc<VaultEntry>, ApiError> {
        if !is_valid_id(vault_id) {
            return Err(ApiError::invalid_vault_id());
        }
        match (store.vault(vault_id), &self.0.scope) {
            (Some(vault), scope) if scope.allows(vault.id(), vault.name()) => Ok(vault),
            (Some(_), _) => Err(ApiError::vault_forbidden(vault_id)),
            (None, Scope::All) => Err(ApiError::vault_not_found(vault_id)),
            (None, scope) if scope.allows(vault_id, "") => Err(ApiError::vault_not_found(vault_id)),
            (None, _) => Err(ApiError::vault_forbidden(vault_id)),
        }
    }

    /// Like [`Caller::vault`] for an item route: both id syntaxes are checked before the scope.
    pub fn item_vault(
        &self,
        store: &Store,
        vault_id: &str,
        item_id: &str,
    ) -> Result<Arc<VaultEntry>, ApiError> {
        if !is_valid_id(vault_id) {
            return Err(ApiError::invalid_vault_id());
        }
        check_item_id(item_id)?;
        self.vault(store, vault_id)
    }

    /// Whether the caller may see this vault.
    pub fn sees(&self, vault: &VaultEntry) -> bool {
        self.0.scope.allows(vault.id(), vault.name())
    }
}

/// Checks an item id's syntax (400 "Invalid Item UUID").
pub fn check_item_id(item_id: &str) -> Result<(), ApiError> {
    if is_valid_id(item_id) {
        Ok(())
    } else {
        Err(ApiError::invalid_item_id())
    }
}
