//! A faithful, fast mock of the 1Password Connect REST API.
//!
//! Work in progress: the server lands with the Connect issue.
