//! The connection broker: the host announces per-mount listeners (`ConnInfo`) on the
//! `StartStream` stream; Setup dials the one with its broker id for Storage and SystemView.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tokio::net::{TcpStream, UnixStream};
use tokio::sync::Notify;
use tokio_rustls::TlsConnector;
use tokio_util::either::Either;
use tonic::transport::{Channel, Endpoint, Uri};

use super::proto::plugin::ConnInfo;

/// How long Setup waits for the host to announce the broker id (Go waits 5 s too).
pub const CONN_INFO_WAIT: Duration = Duration::from_secs(5);
/// How long dialling the host's broker listener may take.
const DIAL_TIMEOUT: Duration = Duration::from_secs(10);

/// Announced listeners by broker id, and the TLS connector to dial them.
pub struct Broker {
    announced: Mutex<HashMap<u32, ConnInfo>>,
    arrived: Notify,
    connector: TlsConnector,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker").finish_non_exhaustive()
    }
}

impl Broker {
    /// A broker dialling with `client` TLS settings.
    pub fn new(client: Arc<rustls::ClientConfig>) -> Self {
        Self {
            announced: Mutex::new(HashMap::new()),
            arrived: Notify::new(),
            connector: TlsConnector::from(client),
        }
    }

    /// Records a listener the host announced.
    pub fn announce(&self, info: ConnInfo) {
        self.announced
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(info.service_id, info);
        self.arrived.notify_waiters();
    }

    fn take(&self, id: u32) -> Option<ConnInfo> {
        self.announced
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id)
    }

    /// Waits up to `timeout` for the announcement of `id` (it may arrive after Setup).
    pub async fn wait(&self, id: u32, timeout: Duration) -> Option<ConnInfo> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let arrived = self.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            if let Some(info) = self.take(id) {
                return Some(info);
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return self.take(id);
            }
        }
    }

    /// Opens a gRPC channel to an announced listener over mTLS.
    pub async fn dial(&self, info: ConnInfo) -> Result<Channel, String> {
        let connector = self.connector.clone();
        let network = info.network;
        let address = info.address;
        let endpoint = Endpoint::from_static("http://localhost")
            .connect_timeout(DIAL_TIMEOUT)
            .initial_stream_window_size(Some(4 << 20))
            .initial_connection_window_size(Some(8 << 20));
        let connect = move |_: Uri| {
            let connector = connector.clone();
            let network = network.clone();
            let address = address.clone();
            async move {
                let stream = match network.as_str() {
                    "unix" => Either::Left(UnixStream::connect(&address).await?),
                    "tcp" => Either::Right(TcpStream::connect(&address).await?),
                    other => {
                        return Err(std::io::Error::other(format!(
                            "unsupported broker network {other:?}"
                        )));
                    }
                };
                let name = ServerName::try_from("localhost").map_err(std::io::Error::other)?;
                let tls = connector.connect(name, stream).await?;
                Ok::<_, std::io::Error>(TokioIo::new(tls))
            }
        };
        tokio::time::timeout(
            DIAL_TIMEOUT,
            endpoint.connect_with_connector(tower::service_fn(connect)),
        )
        .await
        .map_err(|_| "timed out dialling the host's broker".to_owned())?
        .map_err(|e| format!("cannot dial the host's broker: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broker() -> Broker {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let Ok(config) = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map(|b| {
                b.with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth()
            })
        else {
            panic!("config")
        };
        Broker::new(Arc::new(config))
    }

    #[tokio::test]
    async fn announcements_before_and_after_waiting() {
        let broker = Arc::new(broker());
        broker.announce(ConnInfo {
            service_id: 1,
            ..Default::default()
        });
        assert!(broker.wait(1, Duration::from_millis(10)).await.is_some());
        let later = broker.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            later.announce(ConnInfo {
                service_id: 2,
                ..Default::default()
            });
        });
        assert!(broker.wait(2, Duration::from_secs(5)).await.is_some());
        assert!(broker.wait(3, Duration::from_millis(20)).await.is_none());
    }
}
