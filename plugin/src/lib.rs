//! The op-connect secrets engine: a drop-in replacement for 1Password's Go plugin
//! `vault-plugin-secrets-onepassword` that forwards Vault/OpenBao requests on `op/` to a
//! 1Password Connect server.
//!
//! - [`backend`]: the route table.
//! - [`engine`]: the mount's shared state (config, client, caches), built from storage.
//! - [`routes`]: one module per route family.
//! - [`render`]: Connect objects → response JSON.
//! - [`resolve`]: vault names and item titles → ids, with the self-checking cache.
//! - [`canonical`]: the canonical path of a request (`resolve-path`), so that policies hold.
//! - [`item_body`]: request bodies → Connect items and patches (the weak decoding).
//! - [`config`]: the stored config, compatible with the Go plugin's storage.
//! - [`error`]: Connect failures → HTTP statuses and messages.

pub mod backend;
pub mod canonical;
pub mod config;
pub mod engine;
pub mod error;
pub mod item_body;
pub mod render;
pub mod resolve;
pub mod routes;
