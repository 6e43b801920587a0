//! Code generated from the SDK's `.proto` files (see `build.rs`).
#![allow(missing_docs, clippy::all, clippy::pedantic, unreachable_pub)]

/// Package `pb`: the backend protocol, storage and system view.
pub mod pb {
    tonic::include_proto!("pb");
}
/// Package `logical`: identity and version messages.
pub mod logical {
    tonic::include_proto!("logical");
}
/// Package `plugin`: go-plugin's broker, controller and stdio services.
pub mod plugin {
    tonic::include_proto!("plugin");
}
/// Package `pluginutil.multiplexing`.
pub mod pluginutil {
    /// Multiplexing capability service.
    pub mod multiplexing {
        tonic::include_proto!("pluginutil.multiplexing");
    }
}
