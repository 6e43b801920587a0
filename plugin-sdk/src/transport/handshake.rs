//! What the host tells the plugin through the environment, and the stdout handshake line.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use rustls_pki_types::CertificateDer;

use super::ServeError;

/// The magic cookie every secrets/auth plugin launch carries (same key/value in Vault).
pub const COOKIE_KEY: &str = "VAULT_BACKEND_PLUGIN";
/// The expected cookie value.
pub const COOKIE_VALUE: &str = "6669da05-b1c8-4f49-97d9-c8e5bed98e20";
/// The only application protocol this SDK speaks: v5 (AutoMTLS, multiplexing).
pub const PROTOCOL_VERSION: u32 = 5;
/// go-plugin's core protocol version.
pub const CORE_PROTOCOL_VERSION: u32 = 1;

/// What the host passed in the environment.
#[derive(Debug, Clone)]
pub struct HostEnv {
    /// The host's AutoMTLS certificate (DER), pinned on both legs.
    pub host_cert: CertificateDer<'static>,
    /// Directory for the plugin's unix socket.
    pub socket_dir: PathBuf,
}

impl HostEnv {
    /// Reads and checks the environment through `var` (normally `std::env::var`).
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Self, ServeError> {
        if var(COOKIE_KEY).as_deref() != Some(COOKIE_VALUE) {
            return Err(ServeError::NotLaunchedByHost);
        }
        let offered = var("PLUGIN_PROTOCOL_VERSIONS").unwrap_or_default();
        let wanted = PROTOCOL_VERSION.to_string();
        if !offered.split(',').any(|v| v.trim() == wanted) {
            return Err(ServeError::UnsupportedProtocol(offered));
        }
        let pem = var("PLUGIN_CLIENT_CERT")
            .filter(|v| !v.trim().is_empty())
            .ok_or(ServeError::NoAutoMtls)?;
        let host_cert = rustls_pemfile::certs(&mut pem.as_bytes())
            .next()
            .ok_or_else(|| ServeError::BadHostCert("no CERTIFICATE block".into()))?
            .map_err(|e| ServeError::BadHostCert(e.to_string()))?;
        let socket_dir = var("PLUGIN_UNIX_SOCKET_DIR")
            .or_else(|| var("TMPDIR"))
            .filter(|d| !d.is_empty())
            .map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
        Ok(Self {
            host_cert,
            socket_dir,
        })
    }
}

/// `1|5|unix|<path>|grpc|<unpadded base64 of the plugin's DER certificate>`.
pub fn handshake_line(socket: &Path, cert_der: &[u8]) -> String {
    format!(
        "{CORE_PROTOCOL_VERSION}|{PROTOCOL_VERSION}|unix|{}|grpc|{}",
        socket.display(),
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(cert_der)
    )
}

/// Prints the handshake line; nothing else is ever written to stdout.
pub fn announce(line: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(line.as_bytes())?;
    out.write_all(b"\n")?;
    out.flush()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn cert_pem() -> String {
        let key = rcgen::KeyPair::generate().unwrap();
        rcgen::CertificateParams::new(vec!["localhost".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap()
            .pem()
    }

    #[test]
    fn refuses_without_cookie_or_v5() {
        assert!(matches!(
            HostEnv::from_lookup(env(&[])),
            Err(ServeError::NotLaunchedByHost)
        ));
        assert!(matches!(
            HostEnv::from_lookup(env(&[
                (COOKIE_KEY, COOKIE_VALUE),
                ("PLUGIN_PROTOCOL_VERSIONS", "3,4")
            ])),
            Err(ServeError::UnsupportedProtocol(_))
        ));
        assert!(matches!(
            HostEnv::from_lookup(env(&[
                (COOKIE_KEY, COOKIE_VALUE),
                ("PLUGIN_PROTOCOL_VERSIONS", "5")
            ])),
            Err(ServeError::NoAutoMtls)
        ));
    }

    #[test]
    fn reads_cert_and_socket_dir() {
        let pem = cert_pem();
        let host = HostEnv::from_lookup(env(&[
            (COOKIE_KEY, COOKIE_VALUE),
            ("PLUGIN_PROTOCOL_VERSIONS", "5,6"),
            ("PLUGIN_CLIENT_CERT", &pem),
            ("TMPDIR", "/var/tmp"),
        ]))
        .unwrap();
        assert_eq!(host.socket_dir, PathBuf::from("/var/tmp"));
        assert!(!host.host_cert.is_empty());
    }

    #[test]
    fn line_has_six_fields_and_unpadded_base64() {
        let line = handshake_line(Path::new("/tmp/plugin1"), &[1, 2, 3, 4]);
        assert_eq!(line, "1|5|unix|/tmp/plugin1|grpc|AQIDBA");
        assert_eq!(line.split('|').count(), 6);
    }
}
