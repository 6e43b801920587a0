//! The SDK's own per-request cost: the null plugin (an SDK example answering from memory)
//! driven directly over its gRPC socket, without OpenBao.
//!
//! The bench plays the server's part of go-plugin protocol 5: it spawns the release plugin with
//! the magic cookie and a host certificate, reads the handshake line, dials the unix socket
//! over mTLS (pinning the certificate from the line), opens the broker stream, announces a
//! broker listener of its own (an h2 server with only the health service, since the null
//! plugin never calls storage), runs Setup, then sends `HandleRequest` reads. Besides
//! criterion's timings it prints the plugin's CPU per request from `/proc`, the figure to
//! compare with `harness bench`'s plugin column.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use harness::plugin::{self, BuildTarget, Profile};
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use tokio::net::{UnixListener, UnixStream};
use tonic::transport::{Channel, Endpoint, Uri};
use vault_plugin_sdk::transport::proto::{pb, plugin as goplugin};

/// Requests in flight in the concurrent run (as `harness bench` and the engine bench use).
const CONCURRENCY: usize = 16;
/// Requests behind the printed CPU-per-request figure.
const CPU_SAMPLE: usize = 20_000;
const BROKER_ID: u32 = 1;

/// Accepts exactly the plugin's certificate from its handshake line.
#[derive(Debug)]
struct PinnedPlugin {
    cert: CertificateDer<'static>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for PinnedPlugin {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.cert.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "not the plugin's certificate".into(),
            ))
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The plugin process, its socket dir, and a Setup-done channel to it.
struct Plugin {
    child: Child,
    channel: Channel,
    _dir: tempfile::TempDir,
    _broker_stream: tokio::sync::mpsc::Sender<goplugin::ConnInfo>,
}

impl Drop for Plugin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn null_plugin() -> PathBuf {
    plugin::build(
        "vault-plugin-sdk",
        BuildTarget::Example("null-plugin"),
        Profile::for_benches(),
    )
    .expect("building the null plugin")
}

async fn start(binary: PathBuf) -> Plugin {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let host = rcgen::CertificateParams::new(vec!["localhost".into()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let host_der = host.der().clone();
    let host_key = PrivatePkcs8KeyDer::from(key.serialize_der());
    let dir = tempfile::tempdir().unwrap();

    let mut child = Command::new(&binary)
        .env(
            "VAULT_BACKEND_PLUGIN",
            "6669da05-b1c8-4f49-97d9-c8e5bed98e20",
        )
        .env("PLUGIN_PROTOCOL_VERSIONS", "5")
        .env("PLUGIN_CLIENT_CERT", host.pem())
        .env("PLUGIN_UNIX_SOCKET_DIR", dir.path())
        .env("VAULT_PLUGIN_LOG_LEVEL", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawning the plugin");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let parts: Vec<&str> = line.trim_end().split('|').collect();
    assert_eq!(parts.len(), 6, "handshake line {line:?}");
    assert_eq!(&parts[..3], ["1", "5", "unix"], "handshake line {line:?}");
    let socket = PathBuf::from(parts[3]);
    let plugin_cert = CertificateDer::from(
        base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(parts[5])
            .unwrap(),
    );

    // Main leg: we are the TLS client, presenting the host certificate.
    let mut client = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedPlugin {
            cert: plugin_cert,
            provider: provider.clone(),
        }))
        .with_client_auth_cert(
            vec![host_der.clone()],
            PrivateKeyDer::Pkcs8(host_key.clone_key()),
        )
        .unwrap();
    client.alpn_protocols = vec![b"h2".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let connect = move |_: Uri| {
        let connector = connector.clone();
        let socket = socket.clone();
        async move {
            let stream = UnixStream::connect(&socket).await?;
            let name = ServerName::try_from("localhost").map_err(std::io::Error::other)?;
            let tls = connector.connect(name, stream).await?;
            Ok::<_, std::io::Error>(TokioIo::new(tls))
        }
    };
    let channel = Endpoint::from_static("http://localhost")
        .initial_stream_window_size(Some(4 << 20))
        .initial_connection_window_size(Some(8 << 20))
        .connect_with_connector(tower::service_fn(connect))
        .await
        .expect("dialling the plugin");

    // Broker leg: we serve TLS with the host certificate on a socket of our own.
    let mut server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![host_der], PrivateKeyDer::Pkcs8(host_key))
        .unwrap();
    server.alpn_protocols = vec![b"h2".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
    let broker_path = dir.path().join("broker");
    let listener = UnixListener::bind(&broker_path).unwrap();
    let incoming = async_stream_of(listener, acceptor);
    let (_, health) = tonic_health::server::health_reporter();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(health)
            .serve_with_incoming(incoming),
    );
    let (announce, announcements) = tokio::sync::mpsc::channel(4);
    announce
        .send(goplugin::ConnInfo {
            service_id: BROKER_ID,
            network: "unix".into(),
            address: broker_path.display().to_string(),
            knock: None,
        })
        .await
        .unwrap();
    let mut broker = goplugin::grpc_broker_client::GrpcBrokerClient::new(channel.clone());
    tokio::spawn(async move {
        let _ = broker
            .start_stream(tokio_stream::wrappers::ReceiverStream::new(announcements))
            .await;
    });
    let reply = pb::backend_client::BackendClient::new(channel.clone())
        .setup(pb::SetupArgs {
            broker_id: BROKER_ID,
            config: [("plugin_name".to_owned(), "null-plugin".to_owned())].into(),
            backend_uuid: "bench".into(),
        })
        .await
        .expect("Setup")
        .into_inner();
    assert!(reply.err.is_empty(), "Setup failed: {}", reply.err);
    Plugin {
        child,
        channel,
        _dir: dir,
        _broker_stream: announce,
    }
}

/// TLS connections accepted on `listener`, as the stream tonic's server takes.
fn async_stream_of(
    listener: UnixListener,
    acceptor: tokio_rustls::TlsAcceptor,
) -> tokio_stream::wrappers::ReceiverStream<
    Result<tokio_rustls::server::TlsStream<UnixStream>, std::io::Error>,
> {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                let _ = tx.send(acceptor.accept(stream).await).await;
            });
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}

fn read(path: &str) -> pb::HandleRequestArgs {
    pb::HandleRequestArgs {
        storage_id: 0,
        request: Some(pb::Request {
            operation: "read".into(),
            path: path.into(),
            data: "null".into(),
            ..Default::default()
        }),
    }
}

async fn call(
    client: &mut pb::backend_client::BackendClient<Channel>,
    args: pb::HandleRequestArgs,
) {
    let reply = client.handle_request(args).await.unwrap().into_inner();
    assert!(reply.err.is_none(), "{:?}", reply.err);
    std::hint::black_box(reply);
}

/// `n` requests with [`CONCURRENCY`] in flight.
async fn concurrent(channel: &Channel, n: u64) -> Duration {
    let started = Instant::now();
    let per_worker = n.div_ceil(CONCURRENCY as u64);
    let workers = (0..CONCURRENCY).map(|_| {
        let mut client = pb::backend_client::BackendClient::new(channel.clone());
        async move {
            for _ in 0..per_worker {
                call(&mut client, read("item")).await;
            }
        }
    });
    futures::future::join_all(workers).await;
    started.elapsed()
}

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn plugin_socket(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let binary = null_plugin();
    let plugin = rt.block_on(start(binary));
    let channel = plugin.channel.clone();

    let mut group = c.benchmark_group("sdk_socket");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Elements(1));
    group.bench_function("handle_request_read", |b| {
        let client = pb::backend_client::BackendClient::new(channel.clone());
        b.to_async(&rt).iter(|| {
            let mut client = client.clone();
            async move { call(&mut client, read("item")).await }
        });
    });
    group.bench_function("handle_request_resolve_path", |b| {
        let client = pb::backend_client::BackendClient::new(channel.clone());
        b.to_async(&rt).iter(|| {
            let mut client = client.clone();
            async move {
                let mut args = read("item");
                if let Some(request) = args.request.as_mut() {
                    request.operation = "resolve-path".into();
                }
                std::hint::black_box(client.handle_request(args).await.unwrap());
            }
        });
    });
    group.bench_function("handle_request_read_16_in_flight", |b| {
        b.to_async(&rt).iter_custom(|n| concurrent(&channel, n));
    });
    group.finish();

    // The SDK's CPU per request, from /proc (100 Hz ticks over many requests).
    let pid = plugin.child.id();
    let before = cpu_ticks(pid);
    let wall = rt.block_on(concurrent(&channel, CPU_SAMPLE as u64));
    let ticks = cpu_ticks(pid) - before;
    let rss = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    println!(
        "null plugin over its socket: {:.0} µs plugin CPU per HandleRequest read, {:.0} req/s with {CONCURRENCY} in flight, {rss}",
        ticks as f64 * 10_000.0 / CPU_SAMPLE as f64,
        CPU_SAMPLE as f64 / wall.as_secs_f64()
    );
}

criterion_group!(benches, plugin_socket);
criterion_main!(benches);
