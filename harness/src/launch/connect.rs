//! [`Connect`]: a Connect mock of a stack, on whichever backend, behind one set of methods.
//!
//! The engine is configured with [`Connect::url`] (loopback on the process backend, the mock's
//! container name on the container backend); tests drive the mock's `/__admin` API (journal,
//! faults) and its Connect API through the address this machine reaches it at, the same way on
//! every backend.

use std::time::Duration;

use mock_connect::RunningMock;
use mock_connect::fixture::Fixture;
use reqwest::Method;
use serde_json::Value;

use super::container::ContainerMock;
use super::mock::MockConnectProcess;
use super::{LaunchError, runtime};

/// One request the mock saw.
pub use mock_connect::admin::JournalEntry as Seen;

/// What a mock is seeded with.
#[derive(Debug, Clone)]
pub enum ConnectSeed {
    /// The mock's built-in demo data (vaults `engineering` and `Private`).
    Demo,
    /// The mock's fixture JSON (`{"vaults": [...]}`).
    Fixture(Value),
}

/// The admin token of every mock the harness starts in a container (where the mock listens on
/// `0.0.0.0`, so `/__admin` is closed without one). Sent on every admin call; mocks on loopback
/// ignore it.
pub const MOCK_ADMIN_TOKEN: &str = "harness-mock-admin";

/// How long a call to the mock's admin or Connect API may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the mock runs.
#[derive(Debug)]
pub(crate) enum Server {
    /// In this process, on the harness's background runtime.
    InProcess(RunningMock),
    /// The `mock-connect` binary as a child process.
    Process(MockConnectProcess),
    /// A container on the stack's network (boxed: the handle is large).
    Container(Box<ContainerMock>),
}

/// A running Connect mock; stopped on drop (its container logs are printed if a test is failing).
#[derive(Debug)]
pub struct Connect {
    /// The URL the engine is configured with (`op_connect_host`).
    pub url: String,
    /// The bearer token it accepts.
    pub token: String,
    host_url: String,
    http: reqwest::Client,
    server: Server,
}

impl Connect {
    pub(crate) fn new(server: Server, token: &str) -> Result<Connect, LaunchError> {
        let (url, host_url) = match &server {
            Server::InProcess(mock) => (mock.url(), mock.url()),
            Server::Process(mock) => (mock.url().to_owned(), mock.url().to_owned()),
            Server::Container(mock) => (mock.service_url().to_owned(), mock.host_url().to_owned()),
        };
        let http = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .build()
            .map_err(|err| LaunchError::Config(format!("HTTP client: {err}")))?;
        Ok(Connect {
            url: url.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            host_url: host_url.trim_end_matches('/').to_owned(),
            http,
            server,
        })
    }

    /// Starts an in-process mock (on the harness's background runtime, so it outlives the
    /// calling test's runtime) seeded with `seed`, accepting only `token`.
    pub async fn in_process(seed: ConnectSeed, token: &str) -> Result<Connect, LaunchError> {
        let mut builder = mock_connect::MockConnect::builder().token(token);
        builder = match seed {
            ConnectSeed::Demo => builder.demo(),
            ConnectSeed::Fixture(fixture) => {
                let fixture: Fixture = serde_json::from_value(fixture)
                    .map_err(|err| LaunchError::Config(format!("bad mock fixture: {err}")))?;
                builder.fixture(fixture)
            }
        };
        let mock = runtime::on_background(builder.spawn())
            .await
            .map_err(|err| LaunchError::Config(format!("mock-connect did not start: {err}")))?;
        Connect::new(Server::InProcess(mock), token)
    }

    /// The URL this machine reaches the mock at (the same as [`Connect::url`] except on
    /// containers).
    pub fn host_url(&self) -> &str {
        &self.host_url
    }

    /// The process id of a mock running as a child process (`None` in this process or in a
    /// container), for CPU accounting.
    pub fn pid(&self) -> Option<u32> {
        match &self.server {
            Server::Process(mock) => Some(mock.pid()),
            _ => None,
        }
    }

    /// The mock's log (containers only; in-process and child mocks log nowhere).
    pub fn log(&self) -> String {
        match &self.server {
            Server::Container(mock) => mock.log(),
            _ => String::new(),
        }
    }

    async fn admin(&self, method: Method, path: &str, body: Option<&Value>) -> (u16, Value) {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.host_url))
            .bearer_auth(MOCK_ADMIN_TOKEN);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(err) => panic!("{method} {path} on the Connect mock failed: {err}"),
        };
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Every Connect request since the last [`Connect::clear_journal`], oldest first.
    pub async fn journal(&self) -> Vec<Seen> {
        let (status, body) = self.admin(Method::GET, "/__admin/requests", None).await;
        assert_eq!(status, 200, "journal: {body}");
        serde_json::from_value(body.clone())
            .unwrap_or_else(|err| panic!("journal does not parse ({err}): {body}"))
    }

    /// The journal as `METHOD path?query` lines.
    pub async fn journal_lines(&self) -> Vec<String> {
        self.journal().await.iter().map(line).collect()
    }

    /// Forgets the journal.
    pub async fn clear_journal(&self) {
        let (status, body) = self.admin(Method::DELETE, "/__admin/requests", None).await;
        assert_eq!(status, 204, "clearing the journal: {body}");
    }

    /// Adds a fault (the mock's fault JSON: `route`, `latency_ms`, `status`, `body`,
    /// `malformed`, `drop`, `times`).
    pub async fn fault(&self, spec: Value) {
        let (status, body) = self
            .admin(Method::POST, "/__admin/faults", Some(&spec))
            .await;
        assert_eq!(status, 200, "fault {spec} refused: {body}");
    }

    /// Removes every fault.
    pub async fn clear_faults(&self) {
        let (status, body) = self.admin(Method::DELETE, "/__admin/faults", None).await;
        assert_eq!(status, 204, "clearing faults: {body}");
    }

    /// A plain Connect API call with this mock's token (to change data behind the engine's
    /// back).
    pub async fn api(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.host_url))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(err) => panic!("Connect mock call {path} failed: {err}"),
        };
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

impl Drop for Connect {
    fn drop(&mut self) {
        if std::thread::panicking()
            && let Server::Container(mock) = &self.server
        {
            eprintln!(
                "--- log of the Connect mock container {} ---\n{}",
                mock.id(),
                mock.log()
            );
        }
    }
}

/// `METHOD path[?query]` of a journal entry, for readable assertions.
pub fn line(entry: &Seen) -> String {
    match &entry.query {
        Some(q) if !q.is_empty() => format!("{} {}?{}", entry.method, entry.path, q),
        _ => format!("{} {}", entry.method, entry.path),
    }
}
