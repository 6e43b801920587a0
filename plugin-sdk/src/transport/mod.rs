//! go-plugin v5 transport: handshake, AutoMTLS, broker and the served gRPC services.

pub mod broker;
pub mod handshake;
pub mod proto;
pub(crate) mod services;
pub mod tls;

/// Message size limit in both directions; the host uses `MaxInt32`.
pub const MAX_MESSAGE_SIZE: usize = i32::MAX as usize;

/// Why the plugin could not start or keep serving.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Started by hand rather than by the server.
    #[error(
        "this program is a Vault/OpenBao plugin and must be started by the server \
         (the {} magic cookie is missing); register it with `bao plugin register` and \
         enable it with `bao secrets enable`",
        handshake::COOKIE_KEY
    )]
    NotLaunchedByHost,
    /// The host did not offer protocol 5.
    #[error("the server offered plugin protocol versions {0:?}; this plugin speaks only 5")]
    UnsupportedProtocol(String),
    /// No AutoMTLS certificate from the host.
    #[error("the server did not send PLUGIN_CLIENT_CERT (AutoMTLS is required)")]
    NoAutoMtls,
    /// The host's certificate could not be read.
    #[error("cannot read PLUGIN_CLIENT_CERT: {0}")]
    BadHostCert(String),
    /// TLS set-up failed.
    #[error("TLS set-up failed: {0}")]
    Tls(String),
    /// Socket or stdout trouble.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The gRPC server failed.
    #[error("gRPC server failed: {0}")]
    Server(String),
}
