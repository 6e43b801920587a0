//! AutoMTLS: the plugin's own certificate and verifiers pinned to the host's certificate.
//!
//! The host's certificate is a self-signed P-521 CA:TRUE leaf, which webpki rejects as an end
//! entity, so both legs compare the presented certificate byte for byte with the one from
//! `PLUGIN_CLIENT_CERT` and only delegate the handshake signatures to aws-lc-rs.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, DistinguishedName, ServerConfig,
    SignatureScheme,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};

use super::ServeError;

/// ALPN protocol grpc-go insists on, on both legs.
const ALPN_H2: &[u8] = b"h2";

/// The plugin's identity and the pinned host certificate.
#[derive(Debug)]
pub struct TlsMaterial {
    /// The plugin's self-signed certificate (P-256, SAN `localhost`).
    pub cert: CertificateDer<'static>,
    key: PrivatePkcs8KeyDer<'static>,
    host_cert: CertificateDer<'static>,
    provider: Arc<CryptoProvider>,
}

impl TlsMaterial {
    /// Generates the plugin's key and certificate.
    pub fn generate(host_cert: CertificateDer<'static>) -> Result<Self, ServeError> {
        let tls = |e: rcgen::Error| ServeError::Tls(e.to_string());
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(tls)?;
        let mut params =
            rcgen::CertificateParams::new(vec!["localhost".to_owned()]).map_err(tls)?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "localhost");
        params.extended_key_usages = vec![
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
            rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let cert = params.self_signed(&key).map_err(tls)?;
        Ok(Self {
            cert: cert.der().clone(),
            key: PrivatePkcs8KeyDer::from(key.serialize_der()),
            host_cert,
            provider: Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
        })
    }

    fn verifier(&self) -> Arc<PinnedHost> {
        Arc::new(PinnedHost {
            host_cert: self.host_cert.clone(),
            algorithms: self.provider.signature_verification_algorithms,
        })
    }

    /// Server side of the main connection: requires the host's certificate.
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, ServeError> {
        let mut config = ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| ServeError::Tls(e.to_string()))?
            .with_client_cert_verifier(self.verifier())
            .with_single_cert(
                vec![self.cert.clone()],
                PrivateKeyDer::Pkcs8(self.key.clone_key()),
            )
            .map_err(|e| ServeError::Tls(e.to_string()))?;
        config.alpn_protocols = vec![ALPN_H2.to_vec()];
        Ok(Arc::new(config))
    }

    /// Client side of the broker connection: presents our certificate, trusts only the host's.
    pub fn client_config(&self) -> Result<Arc<ClientConfig>, ServeError> {
        let mut config = ClientConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| ServeError::Tls(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(self.verifier())
            .with_client_auth_cert(
                vec![self.cert.clone()],
                PrivateKeyDer::Pkcs8(self.key.clone_key()),
            )
            .map_err(|e| ServeError::Tls(e.to_string()))?;
        config.alpn_protocols = vec![ALPN_H2.to_vec()];
        Ok(Arc::new(config))
    }
}

/// Accepts exactly the host's certificate, as client (main leg) or server (broker leg).
#[derive(Debug)]
struct PinnedHost {
    host_cert: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl PinnedHost {
    fn check(&self, presented: &CertificateDer<'_>) -> Result<(), rustls::Error> {
        if presented.as_ref() == self.host_cert.as_ref() {
            Ok(())
        } else {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer,
            ))
        }
    }
}

impl ClientCertVerifier for PinnedHost {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.check(end_entity)
            .map(|()| ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

impl ServerCertVerifier for PinnedHost {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.check(end_entity)
            .map(|()| ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn pinning_accepts_only_the_host_certificate() {
        let host = TlsMaterial::generate(CertificateDer::from(vec![0u8])).unwrap();
        let other = TlsMaterial::generate(host.cert.clone()).unwrap();
        let pinned = other.verifier();
        assert!(pinned.check(&host.cert).is_ok());
        assert!(pinned.check(&other.cert).is_err());
        assert!(other.server_config().is_ok());
        assert!(other.client_config().is_ok());
        assert!(
            pinned
                .algorithms
                .supported_schemes()
                .contains(&SignatureScheme::ECDSA_NISTP521_SHA512)
        );
    }
}
