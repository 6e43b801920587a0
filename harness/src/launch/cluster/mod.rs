//! A three-node OpenBao cluster on integrated storage (raft), with the engine on every node.
//!
//! Each node is configured as an operator would run one in production: `retry_join` to every
//! peer, a static seal key for auto-unseal, the engine declared in the server configuration with
//! its sha256 and version (`plugin_auto_register`), and a stdout audit device. The first node
//! self-initialises (the only voter at that moment, as OpenBao requires), creates a known root
//! token, mounts the engine at `op/` and configures it against Connect; the others then join,
//! unseal themselves and become voting standbys. Raft runs with `performance_multiplier = 1` and
//! a short autopilot stabilisation time, so failures are detected and nodes promoted in seconds.
//!
//! Since OpenBao 2.5 standbys serve reads themselves (`disable_standby_reads` defaults to false on
//! raft), so the plugin runs on every node; writes are forwarded to the active node.
//!
//! [`Cluster`] finds the active node, kills, pauses, cuts off and restarts nodes, checks that
//! every node holds the plugin binary the catalog names, and [`Cluster::heal`] brings it back to
//! three healthy nodes after any of that. Two backends: processes on `127.0.0.11–13` (the
//! `process` module), and containers on a private Docker network ([`container`]).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use serde_json::Value;

use crate::launch::mock::MockError;
use crate::plugin::PluginError;
use crate::provision::ProvisionError;
use crate::vault_api::{ClientError, VaultClient};

pub mod container;
pub mod hcl;
mod process;

/// How long a cluster may take to form, or to heal back to full health.
pub const FORM_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a health probe may take before the node counts as unreachable.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// Pause between two polls of the cluster's state.
const POLL: Duration = Duration::from_millis(50);

/// Why a cluster could not be started or driven.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// No OpenBao binary.
    #[error(transparent)]
    Provision(#[from] ProvisionError),
    /// Installing the plugin failed.
    #[error(transparent)]
    Plugin(#[from] PluginError),
    /// The Connect mock did not start.
    #[error(transparent)]
    Mock(#[from] MockError),
    /// A launcher step (images, docker) failed.
    #[error(transparent)]
    Launch(#[from] crate::launch::LaunchError),
    /// A node could not be reached for an API call.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// A local resource failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A node could not be acted on.
    #[error("node {node}: {reason}")]
    Node {
        /// The node's name.
        node: String,
        /// What went wrong.
        reason: String,
    },
    /// The cluster did not reach the awaited state in time.
    #[error("{what} within {timeout:?}; roles: {roles}\n{logs}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long was waited.
        timeout: Duration,
        /// Each node's role when giving up.
        roles: String,
        /// The tail of each node's log.
        logs: String,
    },
    /// Some node does not hold the binary the catalog names.
    #[error("plugin binaries differ from the catalog: {0:?}")]
    PluginMismatch(Vec<PluginCheck>),
    /// The API answered something unexpected.
    #[error("{what}: status {status}: {body}")]
    Api {
        /// What was asked.
        what: String,
        /// HTTP status.
        status: u16,
        /// The body.
        body: String,
    },
}

pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ClusterError {
    let what = what.into();
    move |source| ClusterError::Io { what, source }
}

/// What to run on every node.
#[derive(Debug, Clone)]
pub struct ClusterSpec {
    /// Number of nodes (three for a cluster that survives the loss of one).
    pub nodes: usize,
    /// The engine binary, installed into every node's plugin directory.
    pub engine: PathBuf,
    /// Its catalog name and file name (`op-connect`).
    pub engine_name: String,
    /// The version it reports and is declared with (`v1.1.0`).
    pub engine_version: String,
    /// Where it is mounted (`op`).
    pub mount: String,
    /// The `mock-connect` binary playing Connect.
    pub mock: PathBuf,
    /// The mock's `--token` grants; the engine is configured with the first.
    pub connect_tokens: Vec<String>,
    /// Autopilot's `server_stabilization_time` (OpenBao's default is 10s).
    pub stabilization: String,
}

impl ClusterSpec {
    /// Three nodes running `engine` (`op-connect` at `version`, mounted at `op/`) against a
    /// `mock` Connect that accepts `connect_tokens`.
    pub fn new(engine: &Path, version: &str, mock: &Path, connect_tokens: Vec<String>) -> Self {
        Self {
            nodes: 3,
            engine: engine.to_path_buf(),
            engine_name: "op-connect".into(),
            engine_version: version.into(),
            mount: "op".into(),
            mock: mock.to_path_buf(),
            connect_tokens,
            stabilization: "2s".into(),
        }
    }
}

/// What a node is doing, as its health endpoint says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The active node (`sys/health` 200).
    Active,
    /// An unsealed standby (429, or 473 for a performance standby).
    Standby,
    /// Sealed, uninitialised, or any other status.
    Unhealthy(u16),
    /// No answer in time.
    Unreachable,
}

/// What the harness did to a node last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeState {
    /// Running normally.
    Running,
    /// Frozen (SIGSTOP / `docker pause`).
    Paused,
    /// Cut off from its peers.
    CutOff,
    /// Not running (killed or stopped).
    Down,
}

/// One catalog entry of the engine against one node's plugin directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginCheck {
    /// The node.
    pub node: String,
    /// The catalog version.
    pub version: String,
    /// The catalog command (file name in the plugin directory).
    pub command: String,
    /// The catalog sha256.
    pub catalog_sha256: String,
    /// The file's sha256 on that node, if the file is there.
    pub node_sha256: Option<String>,
}

impl PluginCheck {
    /// True when the node holds exactly the binary the catalog names.
    pub fn matches(&self) -> bool {
        self.node_sha256.as_deref() == Some(self.catalog_sha256.as_str())
    }
}

impl ClusterSpec {
    /// The engine as every node declares it, once installed with `sha256`.
    fn declared(&self, sha256: &str) -> hcl::DeclaredPlugin {
        hcl::DeclaredPlugin {
            name: self.engine_name.clone(),
            version: self.engine_version.clone(),
            command: self.engine_name.clone(),
            sha256: sha256.to_owned(),
        }
    }

    /// Self-initialisation: `root_token`, the engine mounted and configured against
    /// `connect_host` (as the nodes reach Connect) with the first token.
    fn initialize(&self, sha256: &str, root_token: &str, connect_host: &str) -> hcl::Initialize {
        hcl::Initialize {
            root_token: root_token.to_owned(),
            mount: self.mount.clone(),
            plugin: self.declared(sha256),
            connect_host: connect_host.to_owned(),
            connect_token: self.connect_tokens.first().cloned().unwrap_or_default(),
            stabilization: self.stabilization.clone(),
        }
    }
}

#[derive(Debug)]
enum Backend {
    Process(process::Processes),
    Container(container::Containers),
}

/// A running cluster with Connect beside it; everything stops on drop.
#[derive(Debug)]
pub struct Cluster {
    backend: Backend,
    states: Vec<NodeState>,
    spec: ClusterSpec,
    root_token: String,
    engine_sha256: String,
}

impl Cluster {
    /// Starts `spec` as processes on `127.0.0.11…` and waits until every node is a healthy,
    /// voting member with the engine mounted and configured.
    pub async fn start_processes(spec: ClusterSpec) -> Result<Self, ClusterError> {
        let root_token = new_root_token();
        let prepared = {
            let spec = spec.clone();
            let token = root_token.clone();
            blocking(move || process::Processes::prepare(&spec, &token)).await??
        };
        let (processes, engine_sha256) = prepared;
        Self::form_with(Backend::Process(processes), spec, root_token, engine_sha256).await
    }

    /// Starts `spec` as containers of `images` on a private Docker network and waits until every
    /// node is a healthy, voting member with the engine mounted and configured.
    pub async fn start_containers(
        spec: ClusterSpec,
        images: container::ContainerImages,
    ) -> Result<Self, ClusterError> {
        let root_token = new_root_token();
        let prepared = {
            let spec = spec.clone();
            let token = root_token.clone();
            blocking(move || container::Containers::prepare(&spec, &images, &token)).await??
        };
        let (containers, engine_sha256) = prepared;
        Self::form_with(
            Backend::Container(containers),
            spec,
            root_token,
            engine_sha256,
        )
        .await
    }

    async fn form_with(
        backend: Backend,
        spec: ClusterSpec,
        root_token: String,
        engine_sha256: String,
    ) -> Result<Self, ClusterError> {
        let mut cluster = Self {
            states: vec![NodeState::Down; spec.nodes],
            backend,
            spec,
            root_token,
            engine_sha256,
        };
        cluster.form().await?;
        Ok(cluster)
    }

    /// First node alone (self-init needs a single voter), then the others.
    async fn form(&mut self) -> Result<(), ClusterError> {
        self.start(0).await?;
        self.wait_until(
            "the first node to initialise and become active",
            FORM_TIMEOUT,
            |roles| roles[0] == Role::Active,
        )
        .await?;
        // The audit device's salt is created by the first audited request on the active node;
        // until then a standby cannot audit (it may not write the salt) and answers 500.
        let lookup = self.client(0).read("auth/token/lookup-self").await?;
        if lookup.status != 200 {
            return Err(ClusterError::Api {
                what: "root token lookup after self-initialisation".into(),
                status: lookup.status,
                body: lookup.body.to_string(),
            });
        }
        for i in 1..self.len() {
            self.start(i).await?;
        }
        self.wait_healthy(FORM_TIMEOUT).await.map(drop)
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.spec.nodes
    }

    /// True for a cluster without nodes (never, once started).
    pub fn is_empty(&self) -> bool {
        self.spec.nodes == 0
    }

    /// The spec the cluster runs.
    pub fn spec(&self) -> &ClusterSpec {
        &self.spec
    }

    /// The root token created at self-initialisation.
    pub fn root_token(&self) -> &str {
        &self.root_token
    }

    /// sha256 of the engine binary installed at start.
    pub fn engine_sha256(&self) -> &str {
        &self.engine_sha256
    }

    /// Node `i`'s name (`n1`…).
    pub fn name(&self, i: usize) -> &str {
        match &self.backend {
            Backend::Process(p) => p.name(i),
            Backend::Container(c) => c.name(i),
        }
    }

    /// Node `i`'s API address as this process reaches it.
    pub fn url(&self, i: usize) -> String {
        match &self.backend {
            Backend::Process(p) => p.url(i),
            Backend::Container(c) => c.url(i),
        }
    }

    /// Node `i`'s `api_addr` as its peers know it (what `sys/leader` reports).
    pub fn api_addr(&self, i: usize) -> String {
        match &self.backend {
            Backend::Process(p) => p.url(i),
            Backend::Container(c) => c.api_addr(i),
        }
    }

    /// Connect's base URL as this process reaches it (the mock's API and `/__admin`).
    pub fn connect_url(&self) -> String {
        match &self.backend {
            Backend::Process(p) => p.connect_url().to_owned(),
            Backend::Container(c) => c.connect_url(),
        }
    }

    /// A root client for node `i` (a fresh connection pool: safe on any runtime).
    pub fn client(&self, i: usize) -> VaultClient {
        VaultClient::new(self.url(i), Some(self.root_token.clone()))
    }

    /// What the harness did to node `i` last.
    pub fn state(&self, i: usize) -> NodeState {
        self.states[i]
    }

    /// Node `i`'s log so far: server, plugin stderr and its audit log (requests it handled).
    pub fn log(&self, i: usize) -> String {
        match &self.backend {
            Backend::Process(p) => p.log(i),
            Backend::Container(c) => c.log(i),
        }
    }

    /// The last `lines` lines of every node's log, for failure messages.
    pub fn log_tails(&self, lines: usize) -> String {
        (0..self.len())
            .map(|i| {
                let log = self.log(i);
                let all: Vec<&str> = log.lines().collect();
                format!(
                    "--- {} ---\n{}",
                    self.name(i),
                    all[all.len().saturating_sub(lines)..].join("\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Node `i`'s role now.
    pub async fn role(&self, i: usize) -> Role {
        let client = VaultClient::new(self.url(i), None);
        match tokio::time::timeout(PROBE_TIMEOUT, client.read("sys/health")).await {
            Ok(Ok(health)) => match health.status {
                200 => Role::Active,
                429 | 473 => Role::Standby,
                other => Role::Unhealthy(other),
            },
            _ => Role::Unreachable,
        }
    }

    /// Every node's role, probed concurrently.
    pub async fn roles(&self) -> Vec<Role> {
        let probes = (0..self.len()).map(|i| self.role(i));
        futures::future::join_all(probes).await
    }

    /// The one active node, if exactly one node says it is active.
    pub async fn active(&self) -> Option<usize> {
        let roles = self.roles().await;
        let active: Vec<usize> = (0..roles.len())
            .filter(|&i| roles[i] == Role::Active)
            .collect();
        (active.len() == 1).then(|| active[0])
    }

    /// Polls every node's role until `done` holds, for at most `timeout`.
    pub async fn wait_until(
        &self,
        what: &str,
        timeout: Duration,
        done: impl Fn(&[Role]) -> bool,
    ) -> Result<Vec<Role>, ClusterError> {
        let deadline = Instant::now() + timeout;
        loop {
            let roles = self.roles().await;
            if done(&roles) {
                return Ok(roles);
            }
            if Instant::now() > deadline {
                return Err(self.timeout(what, timeout, &roles));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    fn timeout(&self, what: &str, timeout: Duration, roles: &[Role]) -> ClusterError {
        ClusterError::Timeout {
            what: format!("no {what}"),
            timeout,
            roles: (0..roles.len())
                .map(|i| format!("{}={:?}/{:?}", self.name(i), roles[i], self.states[i]))
                .collect::<Vec<_>>()
                .join(" "),
            logs: self.log_tails(15),
        }
    }

    /// Waits until some node other than `excluded` is active; it and the time waited.
    pub async fn wait_new_active(
        &self,
        excluded: usize,
        timeout: Duration,
    ) -> Result<(usize, Duration), ClusterError> {
        let started = Instant::now();
        let roles = self
            .wait_until("new active node", timeout, |roles| {
                (0..roles.len()).any(|i| i != excluded && roles[i] == Role::Active)
            })
            .await?;
        let active = (0..roles.len())
            .find(|&i| i != excluded && roles[i] == Role::Active)
            .unwrap_or(excluded);
        Ok((active, started.elapsed()))
    }

    /// Waits until the cluster is whole: every node up, exactly one active, the others standbys
    /// that know the leader and have applied its log, every node a raft voter, and the engine's
    /// mount answering on every node. Returns the active node.
    pub async fn wait_healthy(&self, timeout: Duration) -> Result<usize, ClusterError> {
        let deadline = Instant::now() + timeout;
        loop {
            let problem = match self.health_problem().await {
                Ok(active) => return Ok(active),
                Err(problem) => problem,
            };
            if Instant::now() > deadline {
                let roles = self.roles().await;
                return Err(self.timeout(&format!("healthy cluster ({problem})"), timeout, &roles));
            }
            tokio::time::sleep(POLL * 4).await;
        }
    }

    /// The active node if the cluster is whole, else what is still missing.
    async fn health_problem(&self) -> Result<usize, String> {
        let roles = self.roles().await;
        let active: Vec<usize> = (0..roles.len())
            .filter(|&i| roles[i] == Role::Active)
            .collect();
        let [active] = active[..] else {
            return Err(format!("{} active nodes", active.len()));
        };
        if let Some(i) = (0..roles.len()).find(|&i| i != active && roles[i] != Role::Standby) {
            return Err(format!("{} is {:?}", self.name(i), roles[i]));
        }
        let leader = self.client(active);
        let raft = leader
            .read("sys/storage/raft/configuration")
            .await
            .map_err(|e| e.to_string())?;
        let servers = raft.get("config")["servers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let voters = servers.iter().filter(|s| s["voter"] == true).count();
        if voters != self.len() {
            return Err(format!("{voters} raft voters of {}", self.len()));
        }
        let expected = self.api_addr(active);
        let leader_index = leader
            .read("sys/leader")
            .await
            .map_err(|e| e.to_string())?
            .body["raft_committed_index"]
            .as_u64()
            .unwrap_or(0);
        for i in 0..self.len() {
            let seen = self
                .client(i)
                .read("sys/leader")
                .await
                .map_err(|e| e.to_string())?;
            if seen.body["leader_address"] != Value::String(expected.clone()) {
                return Err(format!(
                    "{} follows {}",
                    self.name(i),
                    seen.body["leader_address"]
                ));
            }
            if seen.body["raft_applied_index"].as_u64().unwrap_or(0) < leader_index {
                return Err(format!("{} has not caught up", self.name(i)));
            }
            let config = self
                .client(i)
                .read(&format!("{}/config", self.spec.mount))
                .await
                .map_err(|e| e.to_string())?;
            if config.status != 200 {
                return Err(format!(
                    "{}/config on {} answers {}",
                    self.spec.mount,
                    self.name(i),
                    config.status
                ));
            }
        }
        Ok(active)
    }

    /// Starts node `i` (after a kill or stop; a no-op when it runs).
    pub async fn start(&mut self, i: usize) -> Result<(), ClusterError> {
        match &mut self.backend {
            Backend::Process(p) => p.start(i)?,
            Backend::Container(c) => c.act(i, "start").await?,
        }
        self.states[i] = NodeState::Running;
        Ok(())
    }

    /// Kills node `i` at once (SIGKILL / `docker kill`): no step-down, no goodbye to its peers.
    pub async fn kill(&mut self, i: usize) -> Result<(), ClusterError> {
        match &mut self.backend {
            Backend::Process(p) => p.kill(i)?,
            Backend::Container(c) => c.act(i, "kill").await?,
        }
        self.states[i] = NodeState::Down;
        Ok(())
    }

    /// Stops node `i` gracefully (SIGTERM / `docker stop`): an active node steps down first.
    pub async fn stop(&mut self, i: usize) -> Result<(), ClusterError> {
        match &mut self.backend {
            Backend::Process(p) => p.stop(i).await?,
            Backend::Container(c) => c.act(i, "stop").await?,
        }
        self.states[i] = NodeState::Down;
        Ok(())
    }

    /// Freezes node `i` (SIGSTOP / `docker pause`): it holds its connections but answers nothing.
    pub async fn pause(&mut self, i: usize) -> Result<(), ClusterError> {
        match &mut self.backend {
            Backend::Process(p) => p.signal(i, Signal::SIGSTOP)?,
            Backend::Container(c) => c.act(i, "pause").await?,
        }
        self.states[i] = NodeState::Paused;
        Ok(())
    }

    /// Resumes a paused node.
    pub async fn resume(&mut self, i: usize) -> Result<(), ClusterError> {
        match &mut self.backend {
            Backend::Process(p) => p.signal(i, Signal::SIGCONT)?,
            Backend::Container(c) => c.act(i, "unpause").await?,
        }
        self.states[i] = NodeState::Running;
        Ok(())
    }

    /// Cuts node `i` off from its peers and clients (`docker network disconnect`; processes:
    /// SIGSTOP, see the process backend).
    pub async fn cut_off(&mut self, i: usize) -> Result<(), ClusterError> {
        match &mut self.backend {
            Backend::Process(p) => p.signal(i, Signal::SIGSTOP)?,
            Backend::Container(c) => c.network(i, false).await?,
        }
        self.states[i] = NodeState::CutOff;
        Ok(())
    }

    /// Reconnects a node that was cut off.
    pub async fn reconnect(&mut self, i: usize) -> Result<(), ClusterError> {
        match &mut self.backend {
            Backend::Process(p) => p.signal(i, Signal::SIGCONT)?,
            Backend::Container(c) => c.network(i, true).await?,
        }
        self.states[i] = NodeState::Running;
        Ok(())
    }

    /// Undoes whatever was done to the nodes (resume, reconnect, restart) and waits until the
    /// cluster is whole again; the active node.
    pub async fn heal(&mut self) -> Result<usize, ClusterError> {
        for i in 0..self.len() {
            match self.states[i] {
                NodeState::Running => {}
                NodeState::Paused => self.resume(i).await?,
                NodeState::CutOff => self.reconnect(i).await?,
                NodeState::Down => self.start(i).await?,
            }
        }
        self.wait_healthy(FORM_TIMEOUT).await
    }

    /// Puts `artifact` into node `i`'s plugin directory as `command` (a new plugin version is
    /// installed on every node before it is registered); its sha256.
    pub async fn install_plugin(
        &self,
        i: usize,
        artifact: &Path,
        command: &str,
    ) -> Result<String, ClusterError> {
        match &self.backend {
            Backend::Process(p) => p.install_plugin(i, artifact, command),
            Backend::Container(c) => c.install_plugin(i, artifact, command),
        }
    }

    /// Compares every catalog entry of the engine (each version) with the file of that name on
    /// every node: one [`PluginCheck`] per node and version.
    pub async fn plugin_checks(&self) -> Result<Vec<PluginCheck>, ClusterError> {
        let active = self.active().await.ok_or_else(|| ClusterError::Node {
            node: "cluster".into(),
            reason: "no single active node to read the catalog from".into(),
        })?;
        let client = self.client(active);
        let catalog = client.read("sys/plugins/catalog").await?;
        let name = self.spec.engine_name.as_str();
        let versions: Vec<String> = catalog
            .get("detailed")
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["name"] == name && e["type"] == "secret" && e["builtin"] != true)
            .filter_map(|e| e["version"].as_str().map(str::to_owned))
            .collect();
        let mut checks = Vec::new();
        for version in versions {
            let entry = client
                .read_with_query(
                    &format!("sys/plugins/catalog/secret/{name}"),
                    &[("version", &version)],
                )
                .await?;
            let command = entry.get("command").as_str().unwrap_or_default().to_owned();
            let catalog_sha256 = entry.get("sha256").as_str().unwrap_or_default().to_owned();
            for i in 0..self.len() {
                let node_sha256 = match &self.backend {
                    Backend::Process(p) => p.plugin_sha256(i, &command)?,
                    Backend::Container(c) => c.plugin_sha256(i, &command)?,
                };
                checks.push(PluginCheck {
                    node: self.name(i).to_owned(),
                    version: version.clone(),
                    command: command.clone(),
                    catalog_sha256: catalog_sha256.clone(),
                    node_sha256,
                });
            }
        }
        Ok(checks)
    }

    /// Fails unless every node holds, for every catalog version of the engine, the very binary
    /// the catalog's sha256 names (a node with another binary would fail only when it first
    /// launches the plugin: on a standby read, or after a failover).
    pub async fn verify_plugin_binaries(&self) -> Result<Vec<PluginCheck>, ClusterError> {
        let checks = self.plugin_checks().await?;
        if checks.is_empty() {
            return Err(ClusterError::PluginMismatch(checks));
        }
        let bad: Vec<PluginCheck> = checks.iter().filter(|c| !c.matches()).cloned().collect();
        if bad.is_empty() {
            Ok(checks)
        } else {
            Err(ClusterError::PluginMismatch(bad))
        }
    }
}

fn new_root_token() -> String {
    format!("cluster-root-{}", hex::encode(rand::random::<[u8; 12]>()))
}

/// Runs blocking set-up work (provisioning, spawning, docker) off the async runtime.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ClusterError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ClusterError::Io {
            what: "set-up task".into(),
            source: std::io::Error::other(e),
        })
}
