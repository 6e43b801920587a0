//! A Rust runtime for external HashiCorp Vault and OpenBao plugins.
//!
//! Work in progress: the transport, services and path framework land with the SDK issue.
