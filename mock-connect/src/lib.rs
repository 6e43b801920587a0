//! A faithful, fast mock of the 1Password Connect REST API.

pub mod admin;
pub mod auth;
pub mod filter;
pub mod generate;
pub mod ids;
pub mod totp;
