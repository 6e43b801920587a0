//! `serve`: the one call a plugin's `main` makes.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::net::UnixListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Server;

use crate::framework::backend::Backend;
use crate::framework::error::Error;
use crate::storage::Storage;
use crate::system_view::SystemView;
use crate::transport::broker::Broker;
use crate::transport::handshake::{self, HostEnv};
use crate::transport::proto::{logical, pb, plugin, pluginutil::multiplexing as mux};
use crate::transport::services::{
    BackendService, BrokerService, ControllerService, Factory, MountedBackend, MultiplexingService,
    Shared, StdioService, VersionService,
};
use crate::transport::tls::TlsMaterial;
use crate::transport::{MAX_MESSAGE_SIZE, ServeError};

/// Exit when the host has not called within this time after the handshake line.
const NO_HOST_TIMEOUT: Duration = Duration::from_secs(60);
/// How often to check whether the parent (the server) is still alive.
const PARENT_POLL: Duration = Duration::from_secs(1);
/// How long a TLS handshake with the host may take.
const TLS_ACCEPT_TIMEOUT: Duration = Duration::from_secs(10);
/// After Shutdown, how long in-flight calls get to finish.
const DRAIN_TIMEOUT: Duration = Duration::from_millis(500);

/// Pauses between failed `accept` calls: doubling from 5 ms to 1 s, back to 5 ms after a
/// success.
#[derive(Debug)]
struct AcceptBackoff {
    next: Duration,
}

impl AcceptBackoff {
    const FIRST: Duration = Duration::from_millis(5);
    const MAX: Duration = Duration::from_secs(1);

    fn next_pause(&mut self) -> Duration {
        let pause = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        pause
    }

    fn reset(&mut self) {
        self.next = Self::FIRST;
    }
}

impl Default for AcceptBackoff {
    fn default() -> Self {
        Self { next: Self::FIRST }
    }
}

/// What a mount's factory gets on Setup.
#[derive(Clone)]
pub struct SetupContext {
    /// The mount's options plus `plugin_name`, `plugin_type`, `plugin_version` (empty during
    /// registration's version probe).
    pub config: HashMap<String, String>,
    /// The mount's stable backend UUID (empty during registration).
    pub backend_uuid: String,
    /// The `multiplex_id` of the mount (empty when the host does not multiplex).
    pub multiplex_id: String,
    /// The mount's storage. Read-only during the first Setup of a mount and absent during
    /// registration: write in `on_initialize` or in handlers, never in the factory.
    pub storage: Arc<dyn Storage>,
    /// The mount's system view.
    pub system_view: Arc<dyn SystemView>,
}

impl std::fmt::Debug for SetupContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetupContext")
            .field("config", &self.config)
            .field("backend_uuid", &self.backend_uuid)
            .field("multiplex_id", &self.multiplex_id)
            .finish_non_exhaustive()
    }
}

/// Serves the plugin until the host shuts it down (or goes away).
///
/// `version` is the plugin's own version (pass `env!("CARGO_PKG_VERSION")`), reported to the
/// host as `v<version>` and checked against `bao plugin register -version=v<version>`. `factory` builds one [`Backend`] per mount on Setup.
/// Logging must already be set up (see [`run`], which does everything).
pub async fn serve<S, F, Fut>(version: &str, factory: F) -> Result<(), ServeError>
where
    S: Send + Sync + 'static,
    F: Fn(SetupContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Backend<S>, Error>> + Send + 'static,
{
    let host = HostEnv::from_lookup(|k| std::env::var(k).ok())?;
    let tls = TlsMaterial::generate(host.host_cert.clone())?;
    let server_tls = tokio_rustls::TlsAcceptor::from(tls.server_config()?);
    let broker = Broker::new(tls.client_config()?);

    let factory = Arc::new(factory);
    let erased: Factory = Arc::new(move |ctx| {
        let factory = factory.clone();
        Box::pin(async move {
            let backend = factory(ctx).await?;
            backend.validate()?;
            Ok(Arc::new(backend) as Arc<dyn MountedBackend>)
        })
    });
    let shared = Shared::new(broker, erased, reported_version(version));

    let (socket, listener) = SocketFile::bind(&host.socket_dir)?;
    let (conns_tx, conns_rx) = mpsc::channel(16);
    let accepting = {
        let shared = shared.clone();
        tokio::spawn(async move {
            let mut backoff = AcceptBackoff::default();
            loop {
                let stream = match listener.accept().await {
                    Ok((stream, _)) => {
                        backoff.reset();
                        stream
                    }
                    // Out of file descriptors and the like: retrying at once would spin a core
                    // and flood the log.
                    Err(e) => {
                        let pause = backoff.next_pause();
                        tracing::warn!(error = %e, pause_ms = u64::try_from(pause.as_millis()).unwrap_or(u64::MAX), "accepting a host connection failed");
                        tokio::time::sleep(pause).await;
                        continue;
                    }
                };
                let acceptor = server_tls.clone();
                let conns_tx = conns_tx.clone();
                let shared = shared.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(TLS_ACCEPT_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            shared.contacted.store(true, Ordering::Relaxed);
                            let _ = conns_tx.send(Ok::<_, std::io::Error>(tls)).await;
                        }
                        Ok(Err(e)) => {
                            tracing::warn!(error = %e, "TLS handshake with the host failed")
                        }
                        Err(_) => tracing::warn!("TLS handshake with the host timed out"),
                    }
                });
            }
        })
    };

    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_service_status("plugin", tonic_health::ServingStatus::Serving)
        .await;

    let stop = Arc::new(tokio::sync::Notify::new());
    let stop_signal = {
        let stop = stop.clone();
        async move { stop.notified().await }
    };
    let router = Server::builder()
        .initial_stream_window_size(Some(4 << 20))
        .initial_connection_window_size(Some(8 << 20))
        .add_service(
            pb::backend_server::BackendServer::new(BackendService(shared.clone()))
                .max_decoding_message_size(MAX_MESSAGE_SIZE)
                .max_encoding_message_size(MAX_MESSAGE_SIZE),
        )
        .add_service(plugin::grpc_broker_server::GrpcBrokerServer::new(
            BrokerService(shared.clone()),
        ))
        .add_service(plugin::grpc_controller_server::GrpcControllerServer::new(
            ControllerService(shared.clone()),
        ))
        .add_service(plugin::grpc_stdio_server::GrpcStdioServer::new(
            StdioService,
        ))
        .add_service(logical::plugin_version_server::PluginVersionServer::new(
            VersionService(shared.clone()),
        ))
        .add_service(
            mux::plugin_multiplexing_server::PluginMultiplexingServer::new(MultiplexingService),
        )
        .add_service(health_service);
    let mut server = tokio::spawn(
        router.serve_with_incoming_shutdown(ReceiverStream::new(conns_rx), stop_signal),
    );

    handshake::announce(&handshake::handshake_line(socket.path(), &tls.cert))?;
    tracing::debug!(socket = %socket.path().display(), version, "plugin serving");

    // SIGTERM: leave cleanly (socket removed). SIGINT: ignored like go-plugin does, because a
    // Ctrl-C at the server's terminal reaches the whole process group and the server shuts
    // its plugins down itself.
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let parent = std::os::unix::process::parent_id();
    let mut parent_poll = tokio::time::interval(PARENT_POLL);
    let no_host = tokio::time::sleep(NO_HOST_TIMEOUT);
    tokio::pin!(no_host);
    let outcome = loop {
        tokio::select! {
            () = shared.shutdown.notified() => break Ok(()),
            result = &mut server => {
                break match result {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(ServeError::Server(e.to_string())),
                    Err(e) => Err(ServeError::Server(e.to_string())),
                };
            }
            () = &mut no_host, if !shared.contacted.load(Ordering::Relaxed) => {
                tracing::error!("the server never connected; exiting");
                break Ok(());
            }
            _ = sigterm.recv() => {
                tracing::debug!("terminated by signal");
                break Ok(());
            }
            _ = sigint.recv() => tracing::debug!("ignoring SIGINT; the server stops its plugins"),
            _ = parent_poll.tick() => {
                if std::os::unix::process::parent_id() != parent {
                    tracing::warn!("the server process went away; exiting");
                    break Ok(());
                }
            }
        }
    };
    accepting.abort();
    drop(socket);
    stop.notify_one();
    if !server.is_finished() {
        let _ = tokio::time::timeout(DRAIN_TIMEOUT, &mut server).await;
    }
    outcome
}

/// The host compares versions as strings and registrations use the `v` prefix
/// (`-version=v1.2.3`), so a Cargo version `1.2.3` is reported as `v1.2.3`.
fn reported_version(version: &str) -> String {
    if version.is_empty() || version.starts_with('v') {
        version.to_owned()
    } else {
        format!("v{version}")
    }
}

/// Everything a plugin's `main` needs: hclog logging on stderr, a panic hook that logs, a
/// tokio runtime, [`serve`], and an exit code (non-zero with a message on stderr on failure,
/// e.g. when started by hand).
///
/// ```no_run
/// use std::sync::Arc;
/// use vault_plugin_sdk::{Backend, SetupContext};
///
/// fn main() -> std::process::ExitCode {
///     vault_plugin_sdk::run(env!("CARGO_PKG_VERSION"), |ctx: SetupContext| async move {
///         Ok(Backend::new(Arc::new(ctx.storage)))
///     })
/// }
/// ```
pub fn run<S, F, Fut>(version: &str, factory: F) -> ExitCode
where
    S: Send + Sync + 'static,
    F: Fn(SetupContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Backend<S>, Error>> + Send + 'static,
{
    // Check before anything else so a hand start gets one clear sentence.
    if std::env::var(handshake::COOKIE_KEY).as_deref() != Ok(handshake::COOKIE_VALUE) {
        eprintln!("{}", ServeError::NotLaunchedByHost);
        return ExitCode::FAILURE;
    }
    crate::logging::init();
    std::panic::set_hook(Box::new(|info| {
        tracing::error!(panic = %info, "panic");
    }));
    // A current-thread runtime: a plugin's work per request is small next to the host's, and
    // every extra thread adds cross-thread wake-ups per request. One worker thread (multi-thread
    // runtime) cost ~107 µs of plugin CPU per item read; this thread alone serves every
    // connection and blocking work still goes to the blocking pool.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(serve(version, factory));
    runtime.shutdown_timeout(Duration::from_millis(100));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "plugin failed");
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// The unix socket file, removed when dropped.
struct SocketFile {
    path: PathBuf,
}

impl SocketFile {
    /// Binds `plugin<random>` in `dir`, like go-plugin does.
    fn bind(dir: &Path) -> Result<(Self, UnixListener), ServeError> {
        for _ in 0..16 {
            let path = dir.join(format!("plugin{}", rand::random::<u32>()));
            match UnixListener::bind(&path) {
                Ok(listener) => return Ok((Self { path }, listener)),
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServeError::Io(std::io::Error::other(
            "no free socket name in the socket directory",
        )))
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_get_the_v_prefix_once() {
        assert_eq!(reported_version("0.1.0"), "v0.1.0");
        assert_eq!(reported_version("v2.0.0-rc.1"), "v2.0.0-rc.1");
        assert_eq!(reported_version(""), "");
    }
}
