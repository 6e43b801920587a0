//! The container backend: testcontainers image types for OpenBao and mock-connect, built the way
//! testcontainers modules are (one type per image, configured by builder methods), and the
//! running containers behind [`super::Bao`] and [`super::Connect`].
//!
//! Containers publish no port: the host reaches them at their address on the stack's own Docker
//! network ([`Network`]), and they reach each other by container name over it (real DNS), as an
//! engine reaches a Connect server in a deployment. Every container and network carries the
//! run's and the process's labels ([`super::labels`]).

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;
use testcontainers::core::WaitFor;
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, ContainerRequest, CopyToContainer, Image, ImageExt};

use super::bao::PluginProcess;
use super::images::{ImageRef, MOCK_PORT, OPENBAO_PORT, PLUGIN_DIR, docker};
use super::{LaunchError, io, labels};
use crate::provision;
use crate::vault_api::VaultClient;

/// How long a container may take to start and report ready.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a started OpenBao may take to answer `sys/health` with 200.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// The OpenBao image ([`super::images::OPENBAO_REPOSITORY`]) as a dev server: the engine sits in
/// its plugin directory, nothing is registered yet.
#[derive(Debug, Clone)]
pub struct OpenBaoImage {
    image: ImageRef,
    root_token: String,
    log_level: String,
    cmd: Vec<String>,
}

impl OpenBaoImage {
    /// A dev server from `image` with root token `root` and log level `debug`.
    pub fn new(image: ImageRef) -> Self {
        let mut this = Self {
            image,
            root_token: "root".into(),
            log_level: "debug".into(),
            cmd: Vec::new(),
        };
        this.cmd = this.command();
        this
    }

    /// Sets the dev root token.
    pub fn with_root_token(mut self, token: impl Into<String>) -> Self {
        self.root_token = token.into();
        self.cmd = self.command();
        self
    }

    /// Sets `-log-level`.
    pub fn with_log_level(mut self, level: impl Into<String>) -> Self {
        self.log_level = level.into();
        self.cmd = self.command();
        self
    }

    /// The root token.
    pub fn root_token(&self) -> &str {
        &self.root_token
    }

    fn command(&self) -> Vec<String> {
        vec![
            "server".into(),
            "-dev".into(),
            "-dev-no-store-token".into(),
            format!("-dev-root-token-id={}", self.root_token),
            format!("-dev-listen-address=0.0.0.0:{OPENBAO_PORT}"),
            format!("-dev-plugin-dir={PLUGIN_DIR}"),
            "-dev-plugin-init=false".into(),
            format!("-log-level={}", self.log_level),
        ]
    }
}

impl Image for OpenBaoImage {
    fn name(&self) -> &str {
        &self.image.name
    }

    fn tag(&self) -> &str {
        &self.image.tag
    }

    fn ready_conditions(&self) -> Vec<WaitFor> {
        vec![WaitFor::message_on_either_std("vault is unsealed")]
    }

    fn cmd(&self) -> impl IntoIterator<Item = impl Into<Cow<'_, str>>> {
        &self.cmd
    }
}

/// The mock-connect image ([`super::images::MOCK_REPOSITORY`]), seeded and with its tokens.
#[derive(Debug, Clone)]
pub struct MockConnectImage {
    image: ImageRef,
    cmd: Vec<String>,
    copies: Vec<CopyToContainer>,
}

/// Where a fixture is copied inside the mock container.
const FIXTURE_PATH: &str = "/tmp/fixture.json";

impl MockConnectImage {
    /// The mock from `image`, listening on [`MOCK_PORT`], with no data, any token accepted and
    /// `/__admin` behind [`super::connect::MOCK_ADMIN_TOKEN`].
    pub fn new(image: ImageRef) -> Self {
        Self {
            image,
            cmd: vec![
                "--addr".into(),
                format!("0.0.0.0:{MOCK_PORT}"),
                "--admin-token".into(),
                super::connect::MOCK_ADMIN_TOKEN.into(),
            ],
            copies: Vec::new(),
        }
    }

    /// Accepts `token` (`TOKEN` or `TOKEN=VAULT,VAULT`); repeatable.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.cmd.push("--token".into());
        self.cmd.push(token.into());
        self
    }

    /// Seeds the built-in demo data set.
    pub fn with_demo_data(mut self) -> Self {
        self.cmd.push("--demo".into());
        self
    }

    /// Seeds the mock's fixture JSON (copied into the container before it starts).
    pub fn with_fixture(mut self, fixture: &serde_json::Value) -> Self {
        self.copies.push(CopyToContainer::new(
            fixture.to_string().into_bytes(),
            FIXTURE_PATH,
        ));
        self.cmd.push("--fixture".into());
        self.cmd.push(FIXTURE_PATH.into());
        self
    }
}

impl Image for MockConnectImage {
    fn name(&self) -> &str {
        &self.image.name
    }

    fn tag(&self) -> &str {
        &self.image.tag
    }

    fn ready_conditions(&self) -> Vec<WaitFor> {
        vec![WaitFor::message_on_stdout("listening on")]
    }

    fn cmd(&self) -> impl IntoIterator<Item = impl Into<Cow<'_, str>>> {
        &self.cmd
    }

    fn copy_to_sources(&self) -> impl IntoIterator<Item = &CopyToContainer> {
        &self.copies
    }
}

/// A Docker network of one stack, labelled with the run and the process; removed on drop (after
/// the containers on it, which the stack drops first).
#[derive(Debug)]
pub struct Network {
    name: String,
}

impl Network {
    /// Creates a bridge network named `name`.
    pub fn create(name: &str) -> Result<Network, LaunchError> {
        docker(&[
            "network",
            "create",
            "--driver",
            "bridge",
            "--label",
            &format!("{}={}", labels::RUN, labels::run_id()),
            "--label",
            &format!("{}={}", labels::PROCESS, labels::process_id()),
            name,
        ])?;
        Ok(Network {
            name: name.to_owned(),
        })
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        // Containers still being removed keep the network busy for a moment.
        for _ in 0..50 {
            if docker(&["network", "rm", &self.name]).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Adds what every container of a stack carries: the network, a name (its DNS name there),
/// the labels and the start-up timeout.
fn on_network<I: Image>(image: I, network: &str, name: &str) -> ContainerRequest<I> {
    image
        .with_network(network)
        .with_container_name(name)
        .with_label(labels::RUN, labels::run_id())
        .with_label(labels::PROCESS, labels::process_id())
        .with_startup_timeout(STARTUP_TIMEOUT)
}

fn start_error(what: &str, err: testcontainers::TestcontainersError) -> LaunchError {
    LaunchError::Docker {
        what: format!("starting {what}"),
        detail: err.to_string(),
    }
}

/// The container's address on its network, as this machine reaches it.
async fn address<I: Image>(container: &ContainerAsync<I>) -> Result<String, LaunchError> {
    container
        .get_bridge_ip_address()
        .await
        .map(|ip| ip.to_string())
        .map_err(|err| LaunchError::Docker {
            what: format!("address of {}", container.id()),
            detail: err.to_string(),
        })
}

/// A container removed on drop from any thread: testcontainers' removal needs a runtime
/// context, which a handle dropped outside one (a proptest's manual runtime, a static) lacks, so
/// the harness's background runtime lends it.
#[derive(Debug)]
struct Removed<I: Image>(Option<ContainerAsync<I>>);

impl<I: Image> Removed<I> {
    fn id(&self) -> &str {
        self.0.as_ref().map_or("", |c| c.id())
    }
}

impl<I: Image> Drop for Removed<I> {
    fn drop(&mut self) {
        let _context = tokio::runtime::Handle::try_current()
            .is_err()
            .then(|| super::runtime::background().enter());
        drop(self.0.take());
    }
}

/// `docker logs` of a container (stdout and stderr).
pub fn logs(id: &str) -> String {
    match Command::new("docker")
        .args(["logs", id])
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) => format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(err) => format!("(no logs: {err})"),
    }
}

/// A running OpenBao container; removed on drop.
#[derive(Debug)]
pub struct ContainerBao {
    container: Removed<OpenBaoImage>,
    addr: String,
    root_token: String,
    host_binary: PathBuf,
    scratch: TempDir,
}

impl ContainerBao {
    /// Starts `image` as `name` on `network` and waits until it answers `sys/health` with 200.
    pub async fn start(
        image: OpenBaoImage,
        network: &str,
        name: &str,
    ) -> Result<ContainerBao, LaunchError> {
        let host_binary = super::blocking(|| Ok(provision::openbao_binary()?)).await?;
        let scratch = tempfile::Builder::new()
            .prefix("opch-bao-")
            .tempdir()
            .map_err(io("creating a scratch directory"))?;
        let root_token = image.root_token().to_owned();
        let container = on_network(image, network, name)
            .start()
            .await
            .map_err(|err| start_error("OpenBao", err))?;
        let ip = address(&container).await?;
        let bao = ContainerBao {
            addr: format!("http://{ip}:{OPENBAO_PORT}"),
            container: Removed(Some(container)),
            root_token,
            host_binary,
            scratch,
        };
        bao.wait_ready().await?;
        Ok(bao)
    }

    async fn wait_ready(&self) -> Result<(), LaunchError> {
        let client = VaultClient::new(self.addr.clone(), Some(self.root_token.clone()));
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Ok(health) = client.read("sys/health").await
                && health.status == 200
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(LaunchError::NotReady {
                    reason: format!(
                        "no healthy answer from {} within {READY_TIMEOUT:?}",
                        self.addr
                    ),
                    log: self.log(),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The API address on the stack's network, e.g. `http://172.18.0.2:8200`.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The root token.
    pub fn root_token(&self) -> &str {
        &self.root_token
    }

    /// The container id.
    pub fn id(&self) -> &str {
        self.container.id()
    }

    /// A scratch directory on this machine, removed with the handle.
    pub fn scratch_dir(&self) -> &Path {
        self.scratch.path()
    }

    /// The host's `bao` binary (the same release as the one in the image).
    pub fn host_binary(&self) -> &Path {
        &self.host_binary
    }

    /// The container's log.
    pub fn log(&self) -> String {
        logs(self.id())
    }

    /// The `bao` CLI inside the container (`docker exec`), pointed at the server with the root
    /// token; add the arguments.
    pub fn exec_cli(&self) -> Command {
        let addr = format!("http://127.0.0.1:{OPENBAO_PORT}");
        let mut command = Command::new("docker");
        command.args(["exec", "-i"]);
        for (key, value) in [
            ("BAO_ADDR", addr.as_str()),
            ("VAULT_ADDR", addr.as_str()),
            ("BAO_TOKEN", self.root_token.as_str()),
            ("VAULT_TOKEN", self.root_token.as_str()),
            ("HOME", "/tmp"),
            ("NO_COLOR", "1"),
        ] {
            command.arg("-e").arg(format!("{key}={value}"));
        }
        command.arg(self.id()).arg("/bin/bao").stdin(Stdio::null());
        command
    }

    /// Copies the host file `path` to `/tmp/<name>` in the container; returns that path.
    pub fn copy_in(&self, path: &Path, name: &str) -> Result<String, LaunchError> {
        let inside = format!("/tmp/{name}");
        docker(&[
            "cp",
            &path.display().to_string(),
            &format!("{}:{inside}", self.id()),
        ])?;
        Ok(inside)
    }

    /// Copies `artifact` into the plugin directory as `name`; its sha256.
    pub fn install_plugin(&self, artifact: &Path, name: &str) -> Result<String, LaunchError> {
        docker(&[
            "cp",
            &artifact.display().to_string(),
            &format!("{}:{PLUGIN_DIR}/{name}", self.id()),
        ])?;
        Ok(provision::sha256_file(artifact)?)
    }

    /// The engine processes in the container (host pids, from `docker top`): those whose command
    /// lives in the plugin directory.
    pub fn plugin_processes(&self) -> Vec<PluginProcess> {
        let Ok(table) = docker(&["top", self.id(), "-o", "pid,args"]) else {
            return Vec::new();
        };
        table
            .lines()
            .skip(1)
            .filter_map(|line| {
                let (pid, args) = line.trim().split_once(char::is_whitespace)?;
                let command = args.split_whitespace().next()?;
                command
                    .starts_with(&format!("{PLUGIN_DIR}/"))
                    .then(|| Some(PluginProcess::new(pid.parse().ok()?, command)))
                    .flatten()
            })
            .collect()
    }
}

/// A running mock-connect container; removed on drop.
#[derive(Debug)]
pub struct ContainerMock {
    container: Removed<MockConnectImage>,
    /// The URL the engine uses: the container name on the stack's network.
    service_url: String,
    /// The URL this machine uses.
    host_url: String,
}

impl ContainerMock {
    /// Starts `image` as `name` on `network`.
    pub async fn start(
        image: MockConnectImage,
        network: &str,
        name: &str,
    ) -> Result<ContainerMock, LaunchError> {
        let container = on_network(image, network, name)
            .start()
            .await
            .map_err(|err| start_error("mock-connect", err))?;
        let ip = address(&container).await?;
        Ok(ContainerMock {
            container: Removed(Some(container)),
            service_url: format!("http://{name}:{MOCK_PORT}"),
            host_url: format!("http://{ip}:{MOCK_PORT}"),
        })
    }

    /// The URL the engine is configured with, e.g. `http://opch-…-connect-3:8080`.
    pub fn service_url(&self) -> &str {
        &self.service_url
    }

    /// The URL this machine reaches the mock at.
    pub fn host_url(&self) -> &str {
        &self.host_url
    }

    /// The container id.
    pub fn id(&self) -> &str {
        self.container.id()
    }

    /// The container's log.
    pub fn log(&self) -> String {
        logs(self.id())
    }
}
