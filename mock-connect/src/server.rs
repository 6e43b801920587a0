//! The server: configuration ([`MockConnect::builder`]), the edge every request passes through
//! (path normalisation, faults, journal, activity, the version header) and the accept loop.
//!
//! The accept loop drives hyper directly rather than `axum::serve` so that a fault can drop a
//! connection without answering: the service returns an error and hyper closes the socket.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::response::Response;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue, USER_AGENT};
use http::{Request, StatusCode, Uri};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tower::ServiceExt as _;

use crate::activity::{ActivityLog, ItemVersion, RequestFacts};
use crate::admin::{
    AdminGate, DEFAULT_JOURNAL_CAPACITY, FaultAction, FaultError, FaultSpec, Faults, Journal,
    JournalEntry,
};
use crate::api::{AppState, router};
use crate::auth::{Scope, TokenGrant, Tokens};
use crate::error::ApiError;
use crate::fixture::{Fixture, FixtureError};
use crate::http_util::{CONNECT_VERSION, VERSION_HEADER, json_response, normalize_path};
use crate::store::{Store, StoreError};

/// Why the mock could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A fixture or data file could not be loaded.
    #[error(transparent)]
    Fixture(#[from] FixtureError),
    /// The store refused the data.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A fault specification is invalid.
    #[error(transparent)]
    Fault(#[from] FaultError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
}

/// Configuration of a mock server; see [`MockConnect::builder`].
#[derive(Debug, Clone)]
pub struct MockConnectBuilder {
    grants: Vec<TokenGrant>,
    demo: bool,
    fixtures: Vec<Fixture>,
    fixture_files: Vec<PathBuf>,
    data_file: Option<PathBuf>,
    faults: Vec<FaultSpec>,
    addr: SocketAddr,
    journal_capacity: usize,
    admin_token: Option<String>,
}

impl Default for MockConnectBuilder {
    fn default() -> Self {
        Self {
            grants: Vec::new(),
            demo: false,
            fixtures: Vec::new(),
            fixture_files: Vec::new(),
            data_file: None,
            faults: Vec::new(),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            journal_capacity: DEFAULT_JOURNAL_CAPACITY,
            admin_token: None,
        }
    }
}

impl MockConnectBuilder {
    /// Accepts `token` for every vault.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.grants.push(TokenGrant {
            token: token.into(),
            scope: Scope::All,
        });
        self
    }

    /// Accepts `token` for these vaults only (ids or names).
    pub fn scoped_token<V: Into<String>>(
        mut self,
        token: impl Into<String>,
        vaults: impl IntoIterator<Item = V>,
    ) -> Self {
        self.grants.push(TokenGrant {
            token: token.into(),
            scope: Scope::Vaults(vaults.into_iter().map(Into::into).collect()),
        });
        self
    }

    /// Adds a parsed `--token` grant.
    pub fn grant(mut self, grant: TokenGrant) -> Self {
        self.grants.push(grant);
        self
    }

    /// Seeds the built-in demo data set ([`crate::demo`]).
    pub fn demo(mut self) -> Self {
        self.demo = true;
        self
    }

    /// Seeds this data set.
    pub fn fixture(mut self, fixture: Fixture) -> Self {
        self.fixtures.push(fixture);
        self
    }

    /// Seeds the data set in this JSON file.
    pub fn fixture_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.fixture_files.push(path.into());
        self
    }

    /// Persists the store in this file: loaded if present (seeds are then ignored), rewritten
    /// atomically after each change.
    pub fn data_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.data_file = Some(path.into());
        self
    }

    /// Starts with this fault in force.
    pub fn fault(mut self, spec: FaultSpec) -> Self {
        self.faults.push(spec);
        self
    }

    /// Address to listen on (default `127.0.0.1:0`, any free port).
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Requires `token` on every `/__admin` request (without one, the admin routes are open on
    /// loopback and closed elsewhere: see [`crate::admin::AdminGate`]).
    pub fn admin_token(mut self, token: impl Into<String>) -> Self {
        self.admin_token = Some(token.into());
        self
    }

    /// Number of requests the journal keeps.
    pub fn journal_capacity(mut self, capacity: usize) -> Self {
        self.journal_capacity = capacity;
        self
    }

    /// Loads the data and prepares the server without listening yet.
    pub async fn build(self) -> Result<MockConnect, StartError> {
        let store = match &self.data_file {
            Some(path) => Store::with_data_file(path.clone()),
            None => Store::new(),
        };
        let existing = self.data_file.as_ref().filter(|p| p.exists());
        if let Some(path) = existing {
            Fixture::read(path)?.load(&store)?;
            tracing::info!(path = %path.display(), "loaded the data file; seeds are not applied");
        } else {
            if self.demo {
                crate::demo::demo_fixture().load(&store)?;
            }
            for fixture in self.fixtures {
                fixture.load(&store)?;
            }
            for path in &self.fixture_files {
                Fixture::read(path)?.load(&store)?;
            }
            store.persist().await?;
        }
        warn_about_unknown_scopes(&self.grants, &store);
        let faults = Faults::default();
        faults.add_all(self.faults)?;
        let state = Arc::new(AppState {
            store: Arc::new(store),
            tokens: Tokens::new(self.grants),
            journal: Arc::new(Journal::new(self.journal_capacity)),
            faults: Arc::new(faults),
            admin: AdminGate::for_listener(self.addr, self.admin_token),
            activity: ActivityLog::default(),
            requests: Default::default(),
        });
        Ok(MockConnect {
            router: router(Arc::clone(&state)),
            state,
            addr: self.addr,
        })
    }

    /// Builds, binds and serves in a background task of the current runtime.
    pub async fn spawn(self) -> Result<RunningMock, StartError> {
        let mock = self.build().await?;
        let listener = mock.bind().await?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: mock.addr,
            source,
        })?;
        let (stop, stopped) = oneshot::channel::<()>();
        let state = Arc::clone(&mock.state);
        let task = tokio::spawn(mock.serve(listener, async move {
            let _ = stopped.await;
        }));
        Ok(RunningMock {
            addr,
            state,
            stop: Some(stop),
            task: Some(task),
        })
    }
}

fn warn_about_unknown_scopes(grants: &[TokenGrant], store: &Store) {
    for grant in grants {
        if let Scope::Vaults(vaults) = &grant.scope {
            for vault in vaults {
                let known = store.vault(vault).is_some() || store.vault_by_name(vault).is_some();
                if !known {
                    tracing::warn!(vault = %vault, "a token is scoped to a vault that does not exist");
                }
            }
        }
    }
}

/// A configured mock server, ready to serve.
#[derive(Debug)]
pub struct MockConnect {
    state: Arc<AppState>,
    router: Router,
    addr: SocketAddr,
}

impl MockConnect {
    /// Starts a configuration.
    pub fn builder() -> MockConnectBuilder {
        MockConnectBuilder::default()
    }

    /// The data.
    pub fn store(&self) -> &Arc<Store> {
        &self.state.store
    }

    /// Whether no token is configured (any bearer token is then accepted).
    pub fn accepts_any_token(&self) -> bool {
        self.state.tokens.is_open()
    }

    /// Who may use `/__admin`.
    pub fn admin_gate(&self) -> &AdminGate {
        &self.state.admin
    }

    /// Binds the configured address.
    pub async fn bind(&self) -> Result<TcpListener, StartError> {
        TcpListener::bind(self.addr)
            .await
            .map_err(|source| StartError::Bind {
                addr: self.addr,
                source,
            })
    }

    /// Serves on `listener` until `shutdown` completes, then lets open requests finish (for at
    /// most five seconds).
    pub async fn serve(self, listener: TcpListener, shutdown: impl Future<Output = ()>) {
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let mut http = hyper::server::conn::http1::Builder::new();
        http.keep_alive(true);
        tokio::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = &mut shutdown => break,
            };
            let (stream, peer) = match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let state = Arc::clone(&self.state);
            let router = self.router.clone();
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                edge(Arc::clone(&state), router.clone(), request, peer)
            });
            let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
            tokio::spawn(async move {
                if let Err(error) = connection.await {
                    tracing::debug!(%error, %peer, "connection ended with an error");
                }
            });
        }
        drop(listener);
        tokio::select! {
            () = graceful.shutdown() => {}
            () = tokio::time::sleep(Duration::from_secs(5)) => {
                tracing::warn!("connections still open after 5 s; closing them");
            }
        }
    }
}

/// A fault asked to drop the connection: hyper closes it without answering.
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by an injected fault")]
pub struct DroppedByFault;

const VERSION_NAME: HeaderName = HeaderName::from_static(VERSION_HEADER);
const VERSION_VALUE: HeaderValue = HeaderValue::from_static(CONNECT_VERSION);

async fn edge(
    state: Arc<AppState>,
    router: Router,
    request: Request<Incoming>,
    peer: SocketAddr,
) -> Result<Response, DroppedByFault> {
    let method = request.method().clone();
    let raw_path = request.uri().path().to_owned();
    let raw_query = request.uri().query().map(str::to_owned);
    let normalized = normalize_path(&raw_path);
    let path = normalized.as_deref().unwrap_or(&raw_path).to_owned();
    let mut request = request.map(Body::new);
    if let Some(normal) = &normalized {
        let rebuilt = match &raw_query {
            Some(query) => format!("{normal}?{query}"),
            None => normal.clone(),
        };
        if let Ok(uri) = rebuilt.parse::<Uri>() {
            *request.uri_mut() = uri;
        }
    }
    if path == "/__admin" || path.starts_with("/__admin/") {
        let mut response = call(router, request).await;
        response.headers_mut().insert(VERSION_NAME, VERSION_VALUE);
        return Ok(response);
    }
    state.requests.fetch_add(1, Ordering::Relaxed);
    let is_resource = path.starts_with("/v1/vaults");
    let (token_id, user_agent) = if is_resource {
        let headers = request.headers();
        let token_id = state
            .tokens
            .authenticate(
                headers
                    .get(http::header::AUTHORIZATION)
                    .map(|v| v.as_bytes()),
            )
            .map(|access| access.token_id.clone())
            .unwrap_or_default();
        let user_agent = headers
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (token_id, user_agent)
    } else {
        (String::new(), String::new())
    };
    let journal = |status: u16| {
        state.journal.record(JournalEntry {
            method: method.to_string(),
            path: raw_path.clone(),
            query: raw_query.clone(),
            status,
        });
    };
    let mut response = match state.faults.take(&method, &path) {
        None => call(router, request).await,
        Some(action) => {
            if let Some(ms) = action.latency_ms {
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            if action.drop {
                journal(0);
                return Err(DroppedByFault);
            }
            match faulty_response(&action) {
                Some(response) => response,
                None => call(router, request).await,
            }
        }
    };
    response.headers_mut().insert(VERSION_NAME, VERSION_VALUE);
    let status = response.status().as_u16();
    tracing::debug!(%method, path = %raw_path, status, "request");
    journal(status);
    if is_resource {
        state.activity.record(&RequestFacts {
            method: &method,
            path: &path,
            status,
            token_id: &token_id,
            user_agent: &user_agent,
            request_ip: peer.ip(),
            item_version: response.extensions().get::<ItemVersion>().map(|v| v.0),
        });
    }
    Ok(response)
}

async fn call(router: Router, request: Request<Body>) -> Response {
    match router.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// The answer a fault imposes, if it replaces the handler's.
fn faulty_response(action: &FaultAction) -> Option<Response> {
    if let Some(size) = action.body_bytes {
        let status = action
            .status
            .and_then(|s| StatusCode::from_u16(s).ok())
            .unwrap_or(StatusCode::OK);
        return Some(generated_response(status, size));
    }
    if action.malformed {
        let status = action
            .status
            .and_then(|s| StatusCode::from_u16(s).ok())
            .unwrap_or(StatusCode::OK);
        return Some(json_response(status, "{\"malformed\": [tru".into()));
    }
    let status = StatusCode::from_u16(action.status?).ok()?;
    Some(match &action.body {
        None => {
            axum::response::IntoResponse::into_response(ApiError::new(status, "injected fault"))
        }
        Some(serde_json::Value::String(text)) => {
            let mut response = Response::new(Body::from(text.clone()));
            *response.status_mut() = status;
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
            response
        }
        Some(value) => json_response(status, serde_json::to_vec(value).unwrap_or_default().into()),
    })
}

/// A body of `size` bytes made up as it is sent, so that a gigabyte answer costs the mock one
/// chunk of memory: a JSON error object whose message never ends.
fn generated_response(status: StatusCode, size: u64) -> Response {
    const CHUNK: usize = 64 * 1024;
    let head = format!("{{\"status\": {}, \"message\": \"", status.as_u16()).into_bytes();
    let filler = bytes::Bytes::from(vec![b'x'; CHUNK]);
    let chunks = futures::stream::unfold((0u64, head), move |(sent, head)| {
        let filler = filler.clone();
        async move {
            if sent >= size {
                return None;
            }
            let remaining = usize::try_from(size - sent).unwrap_or(usize::MAX);
            let chunk = if sent == 0 && !head.is_empty() {
                let mut first = head;
                first.truncate(remaining);
                bytes::Bytes::from(first)
            } else {
                filler.slice(..remaining.min(CHUNK))
            };
            let next = sent + chunk.len() as u64;
            Some((Ok::<_, std::convert::Infallible>(chunk), (next, Vec::new())))
        }
    });
    let mut response = Response::new(Body::from_stream(chunks));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A mock running in the background; dropping it stops the server.
#[derive(Debug)]
pub struct RunningMock {
    addr: SocketAddr,
    state: Arc<AppState>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningMock {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, the base URL clients use.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The data, for inspection or direct seeding.
    pub fn store(&self) -> &Arc<Store> {
        &self.state.store
    }

    /// The request journal.
    pub fn journal(&self) -> &Arc<Journal> {
        &self.state.journal
    }

    /// The faults in force.
    pub fn faults(&self) -> &Arc<Faults> {
        &self.state.faults
    }

    /// Stops accepting, lets open requests finish and waits for the server task.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningMock {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            // Connections a client keeps alive would otherwise hold the task for 5 s.
            task.abort();
        }
    }
}
