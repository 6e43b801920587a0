//! The 1Password Connect API: model types and an async client.
//!
//! Work in progress: the model and client land with the Connect issue.
