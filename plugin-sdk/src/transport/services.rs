//! The gRPC services the plugin serves to the host on the main connection.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use futures::Stream;
use futures::future::BoxFuture;
use serde_json::{Map, Value};
use tokio::sync::{Notify, mpsc};
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request as GrpcRequest, Response as GrpcResponse, Status, Streaming};

use super::broker::{Broker, CONN_INFO_WAIT};
use super::proto::{logical, pb, plugin, pluginutil::multiplexing as mux};
use crate::framework::backend::{Backend, SpecialPaths};
use crate::framework::error::Error;
use crate::framework::path::HandlerResult;
use crate::framework::request::{Operation, Request};
use crate::serve::SetupContext;
use crate::storage::{GrpcStorage, Storage};
use crate::system_view::GrpcSystemView;

/// The `TypeReply` value of a secrets engine ("logical" backend).
const TYPE_LOGICAL: u32 = 1;
/// gRPC metadata naming the mount on every call of a multiplexed plugin.
const MULTIPLEX_ID: &str = "multiplex_id";

/// A mounted backend with its type parameter erased.
pub(crate) trait MountedBackend: Send + Sync {
    fn handle(&self, req: Request) -> BoxFuture<'_, HandlerResult>;
    fn exists(&self, req: Request) -> BoxFuture<'_, Result<Option<bool>, Error>>;
    fn special_paths(&self) -> SpecialPaths;
    fn initialize(&self) -> BoxFuture<'_, Result<(), Error>>;
    fn cleanup(&self) -> BoxFuture<'_, ()>;
    fn invalidate(&self, key: &str);
    fn resolves_paths(&self) -> bool;
}

impl<S: Send + Sync + 'static> MountedBackend for Backend<S> {
    fn handle(&self, req: Request) -> BoxFuture<'_, HandlerResult> {
        Box::pin(Backend::handle(self, req))
    }
    fn exists(&self, req: Request) -> BoxFuture<'_, Result<Option<bool>, Error>> {
        Box::pin(Backend::exists(self, req))
    }
    fn special_paths(&self) -> SpecialPaths {
        self.get_special_paths().clone()
    }
    fn initialize(&self) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(Backend::initialize(self))
    }
    fn cleanup(&self) -> BoxFuture<'_, ()> {
        Box::pin(Backend::cleanup(self))
    }
    fn invalidate(&self, key: &str) {
        Backend::invalidate(self, key);
    }
    fn resolves_paths(&self) -> bool {
        Backend::resolves_paths(self)
    }
}

/// Builds a mount's backend from its Setup.
pub(crate) type Factory = Arc<
    dyn Fn(SetupContext) -> BoxFuture<'static, Result<Arc<dyn MountedBackend>, Error>>
        + Send
        + Sync,
>;

struct Mount {
    backend: Arc<dyn MountedBackend>,
    storage: Arc<dyn Storage>,
}

/// State shared by all services of the process.
pub(crate) struct Shared {
    mounts: RwLock<HashMap<String, Arc<Mount>>>,
    pub(crate) broker: Broker,
    factory: Factory,
    version: String,
    /// Set by the controller's Shutdown.
    pub(crate) shutdown: Notify,
    /// Set once the host has made any call (for the no-host watchdog).
    pub(crate) contacted: AtomicBool,
}

impl Shared {
    pub(crate) fn new(broker: Broker, factory: Factory, version: String) -> Arc<Self> {
        Arc::new(Self {
            mounts: RwLock::new(HashMap::new()),
            broker,
            factory,
            version,
            shutdown: Notify::new(),
            contacted: AtomicBool::new(false),
        })
    }

    fn mount_id<T>(request: &GrpcRequest<T>) -> String {
        request
            .metadata()
            .get(MULTIPLEX_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    fn mount<T>(&self, request: &GrpcRequest<T>) -> Result<Arc<Mount>, Status> {
        let id = request
            .metadata()
            .get(MULTIPLEX_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        self.mounts
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned()
            .ok_or_else(|| Status::failed_precondition("the backend for this mount is not set up"))
    }

    fn touch(&self) {
        if !self.contacted.load(Ordering::Relaxed) {
            self.contacted.store(true, Ordering::Relaxed);
        }
    }
}

/// Turns the wire request into the framework's, or a 400 for a body that is not a JSON object.
fn to_request(raw: pb::Request, storage: Arc<dyn Storage>) -> Result<Request, Error> {
    let data = match raw.data.as_str() {
        "" | "null" => Map::new(),
        text => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => map,
            Ok(Value::Null) => Map::new(),
            Ok(_) => return Err(Error::bad_request("the request body must be a JSON object")),
            Err(e) => return Err(Error::bad_request(format!("invalid request body: {e}"))),
        },
    };
    let mut req = Request::new(
        Operation::from_wire(&raw.operation),
        raw.path,
        data,
        storage,
    );
    req.id = raw.id;
    req.mount_point = raw.mount_point;
    req.mount_type = raw.mount_type;
    req.display_name = raw.display_name;
    req.entity_id = raw.entity_id;
    req.unauthenticated = raw.unauthenticated;
    if !raw.headers.is_empty() {
        req.headers = raw
            .headers
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.header))
            .collect();
    }
    Ok(req)
}

/// `pb.Backend`.
pub(crate) struct BackendService(pub(crate) Arc<Shared>);

#[tonic::async_trait]
impl pb::backend_server::Backend for BackendService {
    async fn handle_request(
        &self,
        request: GrpcRequest<pb::HandleRequestArgs>,
    ) -> Result<GrpcResponse<pb::HandleRequestReply>, Status> {
        let mount = self.0.mount(&request)?;
        let Some(raw) = request.into_inner().request else {
            return Err(Status::invalid_argument("missing request"));
        };
        // OpenBao 2.7 asks this before every request; answering without decoding the body
        // keeps the extra round trip cheap. "Unsupported path" keeps the original path.
        let mut raw = raw;
        if raw.operation == "resolve-path" {
            if !mount.backend.resolves_paths() {
                return Ok(GrpcResponse::new(pb::HandleRequestReply {
                    response: None,
                    err: Some(Error::UnsupportedPath.to_proto()),
                }));
            }
            raw.data.clear();
        }
        let result = match to_request(raw, mount.storage.clone()) {
            Ok(req) => mount.backend.handle(req).await,
            Err(e) => Err(e),
        };
        let reply = match result {
            Ok(response) => pb::HandleRequestReply {
                response: response.map(crate::framework::response::Response::into_proto),
                err: None,
            },
            Err(error) => {
                if error.http_status() >= 500 {
                    tracing::error!(error = %error, "request failed");
                }
                pb::HandleRequestReply {
                    response: None,
                    err: Some(error.to_proto()),
                }
            }
        };
        Ok(GrpcResponse::new(reply))
    }

    async fn special_paths(
        &self,
        request: GrpcRequest<pb::Empty>,
    ) -> Result<GrpcResponse<pb::SpecialPathsReply>, Status> {
        let paths = self.0.mount(&request)?.backend.special_paths();
        Ok(GrpcResponse::new(pb::SpecialPathsReply {
            paths: Some(pb::Paths {
                root: paths.root,
                unauthenticated: paths.unauthenticated,
                local_storage: paths.local_storage,
                seal_wrap_storage: paths.seal_wrap_storage,
                write_forwarded_storage: Vec::new(),
            }),
        }))
    }

    async fn handle_existence_check(
        &self,
        request: GrpcRequest<pb::HandleExistenceCheckArgs>,
    ) -> Result<GrpcResponse<pb::HandleExistenceCheckReply>, Status> {
        let mount = self.0.mount(&request)?;
        let Some(raw) = request.into_inner().request else {
            return Err(Status::invalid_argument("missing request"));
        };
        let result = match to_request(raw, mount.storage.clone()) {
            Ok(req) => mount.backend.exists(req).await,
            // The request itself will report the bad body.
            Err(_) => Ok(None),
        };
        let reply = match result {
            Ok(None) => pb::HandleExistenceCheckReply::default(),
            Ok(Some(exists)) => pb::HandleExistenceCheckReply {
                check_found: true,
                exists,
                err: None,
            },
            // The host turns most errors here into a bare 500: answer "no check" instead and let
            // the request itself report the problem with its proper status.
            Err(Error::UnsupportedPath) => pb::HandleExistenceCheckReply {
                err: Some(Error::UnsupportedPath.to_proto()),
                ..Default::default()
            },
            Err(error) => {
                tracing::debug!(error = %error, "existence check failed");
                pb::HandleExistenceCheckReply::default()
            }
        };
        Ok(GrpcResponse::new(reply))
    }

    async fn cleanup(
        &self,
        request: GrpcRequest<pb::Empty>,
    ) -> Result<GrpcResponse<pb::Empty>, Status> {
        let id = Shared::mount_id(&request);
        let removed = self
            .0
            .mounts
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
        if let Some(mount) = removed {
            mount.backend.cleanup().await;
            tracing::debug!(multiplex_id = %id, "mount cleaned up");
        }
        Ok(GrpcResponse::new(pb::Empty {}))
    }

    async fn invalidate_key(
        &self,
        request: GrpcRequest<pb::InvalidateKeyArgs>,
    ) -> Result<GrpcResponse<pb::Empty>, Status> {
        let mount = self.0.mount(&request)?;
        mount.backend.invalidate(&request.into_inner().key);
        Ok(GrpcResponse::new(pb::Empty {}))
    }

    async fn setup(
        &self,
        request: GrpcRequest<pb::SetupArgs>,
    ) -> Result<GrpcResponse<pb::SetupReply>, Status> {
        self.0.touch();
        let id = Shared::mount_id(&request);
        let args = request.into_inner();
        let err = match self.set_up(id, args).await {
            Ok(()) => String::new(),
            Err(why) => {
                tracing::error!(error = %why, "setup failed");
                why
            }
        };
        Ok(GrpcResponse::new(pb::SetupReply { err }))
    }

    async fn initialize(
        &self,
        request: GrpcRequest<pb::InitializeArgs>,
    ) -> Result<GrpcResponse<pb::InitializeReply>, Status> {
        let mount = self.0.mount(&request)?;
        let err = match mount.backend.initialize().await {
            Ok(()) => None,
            Err(error) => {
                tracing::error!(error = %error, "initialize failed");
                Some(error.to_proto())
            }
        };
        Ok(GrpcResponse::new(pb::InitializeReply { err }))
    }

    async fn r#type(
        &self,
        _request: GrpcRequest<pb::Empty>,
    ) -> Result<GrpcResponse<pb::TypeReply>, Status> {
        Ok(GrpcResponse::new(pb::TypeReply {
            r#type: TYPE_LOGICAL,
        }))
    }
}

impl BackendService {
    async fn set_up(&self, id: String, args: pb::SetupArgs) -> Result<(), String> {
        let info = self
            .0
            .broker
            .wait(args.broker_id, CONN_INFO_WAIT)
            .await
            .ok_or_else(|| format!("the host never announced broker id {}", args.broker_id))?;
        let channel = self.0.broker.dial(info).await?;
        let storage: Arc<dyn Storage> = Arc::new(GrpcStorage::new(channel.clone()));
        let context = SetupContext {
            config: args.config,
            backend_uuid: args.backend_uuid,
            multiplex_id: id.clone(),
            storage: storage.clone(),
            system_view: Arc::new(GrpcSystemView::new(channel)),
        };
        let backend = (self.0.factory)(context).await.map_err(|e| e.to_string())?;
        let mount = Arc::new(Mount { backend, storage });
        let replaced = self
            .0
            .mounts
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, mount);
        if let Some(old) = replaced {
            old.backend.cleanup().await;
        }
        Ok(())
    }
}

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// `plugin.GRPCBroker`: reads announcements until the host closes the stream.
pub(crate) struct BrokerService(pub(crate) Arc<Shared>);

#[tonic::async_trait]
impl plugin::grpc_broker_server::GrpcBroker for BrokerService {
    type StartStreamStream = BoxStream<plugin::ConnInfo>;

    async fn start_stream(
        &self,
        request: GrpcRequest<Streaming<plugin::ConnInfo>>,
    ) -> Result<GrpcResponse<Self::StartStreamStream>, Status> {
        self.0.touch();
        let mut inbound = request.into_inner();
        // Nothing is ever sent; the sender lives as long as the host keeps its side open.
        let (keep_open, outbound) = mpsc::channel::<Result<plugin::ConnInfo, Status>>(1);
        let shared = self.0.clone();
        tokio::spawn(async move {
            // The stream ends with an error when the host goes away: either way, stop.
            while let Some(Ok(info)) = inbound.next().await {
                shared.broker.announce(info);
            }
            drop(keep_open);
        });
        Ok(GrpcResponse::new(Box::pin(ReceiverStream::new(outbound))))
    }
}

/// `plugin.GRPCController`.
pub(crate) struct ControllerService(pub(crate) Arc<Shared>);

#[tonic::async_trait]
impl plugin::grpc_controller_server::GrpcController for ControllerService {
    async fn shutdown(
        &self,
        _request: GrpcRequest<plugin::Empty>,
    ) -> Result<GrpcResponse<plugin::Empty>, Status> {
        tracing::debug!("shutdown requested by the host");
        self.0.shutdown.notify_one();
        Ok(GrpcResponse::new(plugin::Empty {}))
    }
}

/// `plugin.GRPCStdio`: OpenBao discards this data, so nothing is ever sent.
pub(crate) struct StdioService;

#[tonic::async_trait]
impl plugin::grpc_stdio_server::GrpcStdio for StdioService {
    type StreamStdioStream = BoxStream<plugin::StdioData>;

    async fn stream_stdio(
        &self,
        _request: GrpcRequest<()>,
    ) -> Result<GrpcResponse<Self::StreamStdioStream>, Status> {
        Ok(GrpcResponse::new(Box::pin(futures::stream::pending())))
    }
}

/// `logical.PluginVersion`.
pub(crate) struct VersionService(pub(crate) Arc<Shared>);

#[tonic::async_trait]
impl logical::plugin_version_server::PluginVersion for VersionService {
    async fn version(
        &self,
        _request: GrpcRequest<logical::Empty>,
    ) -> Result<GrpcResponse<logical::VersionReply>, Status> {
        Ok(GrpcResponse::new(logical::VersionReply {
            plugin_version: self.0.version.clone(),
        }))
    }
}

/// `pluginutil.multiplexing.PluginMultiplexing`: one process serves every mount.
pub(crate) struct MultiplexingService;

#[tonic::async_trait]
impl mux::plugin_multiplexing_server::PluginMultiplexing for MultiplexingService {
    async fn multiplexing_support(
        &self,
        _request: GrpcRequest<mux::MultiplexingSupportRequest>,
    ) -> Result<GrpcResponse<mux::MultiplexingSupportResponse>, Status> {
        Ok(GrpcResponse::new(mux::MultiplexingSupportResponse {
            supported: true,
        }))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::framework::path::Path;
    use crate::framework::response::Response;
    use crate::storage::InMemoryStorage;
    use pb::backend_server::Backend as _;

    fn service_with_mount(id: &str) -> BackendService {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let client = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth();
        let factory: Factory = Arc::new(|_| Box::pin(async { Err(Error::internal("unused")) }));
        let shared = Shared::new(Broker::new(Arc::new(client)), factory, "v1.0.0".into());
        let backend = Backend::new(Arc::new(()))
            .path(Path::new("ok").read(|_, _| async { Ok(Some(Response::list(["a"]))) }))
            .path(Path::new("gone").read(|_, _| async { Err(Error::not_found("no such thing")) }));
        shared.mounts.write().unwrap().insert(
            id.to_owned(),
            Arc::new(Mount {
                backend: Arc::new(backend),
                storage: Arc::new(InMemoryStorage::new()),
            }),
        );
        BackendService(shared)
    }

    fn call<T>(message: T, id: &str) -> GrpcRequest<T> {
        let mut request = GrpcRequest::new(message);
        request
            .metadata_mut()
            .insert(MULTIPLEX_ID, id.parse().unwrap());
        request
    }

    fn args(operation: &str, path: &str, data: &str) -> pb::HandleRequestArgs {
        pb::HandleRequestArgs {
            storage_id: 0,
            request: Some(pb::Request {
                operation: operation.into(),
                path: path.into(),
                data: data.into(),
                ..Default::default()
            }),
        }
    }

    #[tokio::test]
    async fn requests_are_routed_by_multiplex_id_and_errors_mapped() {
        let service = service_with_mount("m1");
        let ok = service
            .handle_request(call(args("read", "ok", "null"), "m1"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(ok.response.unwrap().data, r#"{"keys":["a"]}"#);
        let gone = service
            .handle_request(call(args("read", "gone", "null"), "m1"))
            .await
            .unwrap()
            .into_inner();
        let err = gone.err.unwrap();
        assert_eq!((err.err_type, err.err_code), (3, 404));
        assert_eq!(err.err_msg, "no such thing");
        let resolve = service
            .handle_request(call(args("resolve-path", "ok", "{not json"), "m1"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(resolve.err.unwrap().err_type, 6);
        let bad_body = service
            .handle_request(call(args("update", "ok", "[1,2]"), "m1"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(bad_body.err.unwrap().err_type, 4);
        let unknown_mount = service
            .handle_request(call(args("read", "ok", "null"), "other"))
            .await
            .unwrap_err();
        assert_eq!(unknown_mount.code(), tonic::Code::FailedPrecondition);
    }

    #[tokio::test]
    async fn cleanup_is_idempotent() {
        let service = service_with_mount("m1");
        for _ in 0..2 {
            service.cleanup(call(pb::Empty {}, "m1")).await.unwrap();
        }
        service
            .cleanup(call(pb::Empty {}, "never-set-up"))
            .await
            .unwrap();
        assert!(service.0.mounts.read().unwrap().is_empty());
    }

    #[test]
    fn request_bodies() {
        let storage: Arc<dyn Storage> = Arc::new(InMemoryStorage::new());
        let raw = |data: &str| pb::Request {
            operation: "update".into(),
            path: "kv/a".into(),
            data: data.into(),
            ..Default::default()
        };
        let req = to_request(raw("null"), storage.clone()).unwrap();
        assert!(req.data.is_empty());
        assert_eq!(req.operation, Operation::Update);
        let req = to_request(raw(r#"{"a":{"b":[1]}}"#), storage.clone()).unwrap();
        assert_eq!(req.data["a"]["b"][0], 1);
        assert_eq!(
            to_request(raw("[1]"), storage.clone())
                .unwrap_err()
                .http_status(),
            400
        );
        assert_eq!(
            to_request(raw("{"), storage).unwrap_err().http_status(),
            400
        );
    }
}
