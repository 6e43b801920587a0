//! The cluster's container backend: each node is a container of a locally built OpenBao image on
//! one private Docker network, reached by its peers by name (`bao-1`, `bao-2`, …); Connect is a
//! `mock-connect` container known on that network as `connect`. Each node's configuration and
//! plugin directory are a host directory mounted read-only, so "the binary on every node" is a
//! file per node, as on separate machines; raft data lives in the container's own file system,
//! which survives `docker kill` and `docker start`.
//!
//! Killing is `docker kill`, pausing `docker pause`, and cutting a node off is `docker network
//! disconnect` (the node keeps running, alone). API ports are published on 127.0.0.1 only, at
//! ports fixed at creation so that they stay the same across restarts and reconnections.
//!
//! Everything carries the cluster's own label and the harness's run and process labels, and is
//! removed on drop, or by the harness's watchdog once the test process is gone (a cluster kept in
//! a `static` is never dropped); nothing else is touched.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

use super::hcl::{self, NodeAddrs};
use super::{ClusterError, ClusterSpec, io};
use crate::launch::images::Images;
use crate::launch::process::free_port_pair;
use crate::launch::{Leftover, labels, reap_when_process_exits};
use crate::plugin;
use crate::provision;

/// Label every container and network of a run carries (value: the run id).
pub const RUN_LABEL: &str = "op-connect-cluster";
/// Where a node's host directory (configuration, plugins) is mounted.
const NODE_DIR: &str = "/cluster";
/// Environment variable holding the seal key inside the nodes.
const SEAL_ENV: &str = "OP_CLUSTER_UNSEAL_KEY";
/// The port Connect listens on inside its container.
const CONNECT_PORT: u16 = 8080;

/// The images a container cluster runs.
#[derive(Debug, Clone)]
pub struct ContainerImages {
    /// An OpenBao image: `/bin/bao` as entrypoint, a writable `/tmp`, and whatever the engine
    /// binary needs to run (its shared libraries).
    pub openbao: String,
    /// A `mock-connect` image: the mock as entrypoint.
    pub mock: String,
}

impl From<&Images> for ContainerImages {
    /// The harness's own images (the engine in the OpenBao image is not used: every node gets
    /// its own copy in a mounted plugin directory).
    fn from(images: &Images) -> Self {
        Self {
            openbao: images.openbao.to_string(),
            mock: images.mock.to_string(),
        }
    }
}

/// Runs `docker ARGS`; its stdout, or an error naming the command and its stderr.
fn docker(args: &[&str]) -> Result<String, ClusterError> {
    let output: Output = Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(io("running docker"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    } else {
        Err(ClusterError::Node {
            node: "docker".into(),
            reason: format!(
                "docker {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        })
    }
}

/// [`docker`] off the async runtime.
async fn docker_async(args: Vec<String>) -> Result<String, ClusterError> {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        docker(&args)
    })
    .await
    .map_err(|e| ClusterError::Io {
        what: "docker task".into(),
        source: std::io::Error::other(e),
    })?
}

#[derive(Debug)]
struct ContainerNode {
    /// Name on the network (`bao-1`).
    name: String,
    /// Container name (unique per run).
    container: String,
    /// Published API port on 127.0.0.1.
    port: u16,
    /// Host directory mounted at [`NODE_DIR`].
    dir: PathBuf,
}

/// The nodes, the mock and the network of a container cluster; all removed on drop.
#[derive(Debug)]
pub(super) struct Containers {
    run: String,
    network: String,
    images: ContainerImages,
    seal_key: String,
    nodes: Vec<ContainerNode>,
    mock_container: String,
    mock_port: u16,
    scratch: TempDir,
}

impl Containers {
    /// Creates the network, starts the mock, lays out every node's directory and creates (not
    /// starts) the node containers. Returns the engine's sha256 as installed.
    pub(super) fn prepare(
        spec: &ClusterSpec,
        images: &ContainerImages,
        root_token: &str,
    ) -> Result<(Self, String), ClusterError> {
        let run = format!(
            "opc{}-{}",
            std::process::id(),
            hex::encode(rand::random::<[u8; 4]>())
        );
        let scratch = tempfile::Builder::new()
            .prefix("openbao-cluster-")
            .tempdir()
            .map_err(io("creating the cluster directory"))?;
        let network = format!("{run}-net");
        let mut containers = Self {
            run: run.clone(),
            network: network.clone(),
            images: images.clone(),
            seal_key: hex::encode(rand::random::<[u8; 32]>()),
            nodes: Vec::new(),
            mock_container: format!("{run}-connect"),
            mock_port: free_port("127.0.0.1")?,
            scratch,
        };
        reap_when_process_exits(Leftover::Docker {
            scratch: containers.scratch.path(),
        });
        let label = format!("{RUN_LABEL}={run}");
        let labels = containers.harness_labels();
        docker(&[
            "network", "create", "--label", &label, "--label", &labels[0], "--label", &labels[1],
            &network,
        ])?;

        let publish = format!("127.0.0.1:{}:{CONNECT_PORT}", containers.mock_port);
        let listen = format!("0.0.0.0:{CONNECT_PORT}");
        let mut args = vec![
            "run",
            "-d",
            "--name",
            &containers.mock_container,
            "--label",
            &label,
            "--label",
            &labels[0],
            "--label",
            &labels[1],
            "--network",
            &network,
            "--network-alias",
            "connect",
            "-p",
            &publish,
            &images.mock,
            "--addr",
            &listen,
            "--demo",
            "--admin-token",
            crate::launch::connect::MOCK_ADMIN_TOKEN,
        ];
        for token in &spec.connect_tokens {
            args.extend(["--token", token.as_str()]);
        }
        docker(&args)?;

        let root = containers.scratch.path().to_path_buf();
        let mut sha256 = String::new();
        for i in 0..spec.nodes {
            let name = format!("bao-{}", i + 1);
            let dir = root.join(&name);
            fs::create_dir_all(dir.join("plugins")).map_err(io("creating a node directory"))?;
            let (_, sha) = plugin::install(&spec.engine, &dir.join("plugins"), &spec.engine_name)?;
            sha256 = sha;
            containers.nodes.push(ContainerNode {
                container: format!("{run}-{name}"),
                name,
                port: free_port("127.0.0.1")?,
                dir,
            });
        }
        let addrs: Vec<NodeAddrs> = containers
            .nodes
            .iter()
            .map(|node| NodeAddrs {
                node_id: node.name.clone(),
                listen: "0.0.0.0:8200".into(),
                cluster_listen: "0.0.0.0:8201".into(),
                api_addr: format!("http://{}:8200", node.name),
                cluster_addr: format!("https://{}:8201", node.name),
                // The container's own file system: kept across kill and start.
                data_dir: "/tmp/raft".into(),
                plugin_dir: format!("{NODE_DIR}/plugins"),
            })
            .collect();
        let configs = hcl::cluster(
            &addrs,
            &format!("env://{SEAL_ENV}"),
            &spec.declared(&sha256),
            &spec.initialize(
                &sha256,
                root_token,
                &format!("http://connect:{CONNECT_PORT}"),
            ),
        );
        for (i, config) in configs.into_iter().enumerate() {
            fs::write(containers.nodes[i].dir.join("bao.hcl"), config.render())
                .map_err(io("writing a node config"))?;
            containers.create(i)?;
        }
        Ok((containers, sha256))
    }

    fn create(&self, i: usize) -> Result<(), ClusterError> {
        let node = &self.nodes[i];
        let label = format!("{RUN_LABEL}={}", self.run);
        let publish = format!("127.0.0.1:{}:8200", node.port);
        let mount = format!("{}:{NODE_DIR}:ro", node.dir.display());
        let seal = format!("{SEAL_ENV}={}", self.seal_key);
        let config = format!("-config={NODE_DIR}/bao.hcl");
        let labels = self.harness_labels();
        docker(&[
            "create",
            "--name",
            &node.container,
            "--label",
            &label,
            "--label",
            &labels[0],
            "--label",
            &labels[1],
            "--network",
            &self.network,
            "--network-alias",
            &node.name,
            "-p",
            &publish,
            "-v",
            &mount,
            "-e",
            &seal,
            "--entrypoint",
            "/bin/bao",
            &self.images.openbao,
            "server",
            &config,
            "-log-level=debug",
        ])
        .map(drop)
    }

    pub(super) fn url(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.nodes[i].port)
    }

    pub(super) fn api_addr(&self, i: usize) -> String {
        format!("http://{}:8200", self.nodes[i].name)
    }

    pub(super) fn name(&self, i: usize) -> &str {
        &self.nodes[i].name
    }

    pub(super) fn connect_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.mock_port)
    }

    /// `docker ACTION <node i>` (start, kill, pause, unpause, stop).
    pub(super) async fn act(&self, i: usize, action: &str) -> Result<(), ClusterError> {
        let mut args = vec![action.to_owned()];
        if action == "stop" {
            args.extend(["-t".to_owned(), "15".to_owned()]);
        }
        args.push(self.nodes[i].container.clone());
        docker_async(args).await.map(drop)
    }

    /// Takes node `i` off the network (`connect == false`) or puts it back under its name.
    pub(super) async fn network(&self, i: usize, connect: bool) -> Result<(), ClusterError> {
        let node = &self.nodes[i];
        let args: Vec<String> = if connect {
            vec![
                "network".into(),
                "connect".into(),
                "--alias".into(),
                node.name.clone(),
                self.network.clone(),
                node.container.clone(),
            ]
        } else {
            vec![
                "network".into(),
                "disconnect".into(),
                self.network.clone(),
                node.container.clone(),
            ]
        };
        docker_async(args).await.map(drop)
    }

    /// The container's output (server log, plugin stderr and audit log), stdout and stderr
    /// interleaved in the order they were written, as a process's log file would have them.
    pub(super) fn log(&self, i: usize) -> String {
        let path = self
            .scratch
            .path()
            .join(format!("{}.log", self.nodes[i].name));
        let Ok(file) = fs::File::create(&path) else {
            return String::new();
        };
        let Ok(err) = file.try_clone() else {
            return String::new();
        };
        let _ = Command::new("docker")
            .args(["logs", &self.nodes[i].container])
            .stdin(Stdio::null())
            .stdout(Stdio::from(file))
            .stderr(Stdio::from(err))
            .status();
        fs::read_to_string(&path).unwrap_or_default()
    }

    /// Copies `artifact` into node `i`'s plugin directory as `command`; its sha256.
    pub(super) fn install_plugin(
        &self,
        i: usize,
        artifact: &Path,
        command: &str,
    ) -> Result<String, ClusterError> {
        let (_, sha) = plugin::install(artifact, &self.nodes[i].dir.join("plugins"), command)?;
        Ok(sha)
    }

    /// sha256 of `command` in node `i`'s plugin directory (`None` when it is not there).
    pub(super) fn plugin_sha256(
        &self,
        i: usize,
        command: &str,
    ) -> Result<Option<String>, ClusterError> {
        let path = self.nodes[i].dir.join("plugins").join(command);
        if !path.exists() {
            return Ok(None);
        }
        Ok(Some(provision::sha256_file(&path)?))
    }

    /// Removes every container and the network of this run (by label and name only).
    fn remove_all(&self) {
        let label = format!("label={RUN_LABEL}={}", self.run);
        if let Ok(ids) = docker(&["ps", "-aq", "--filter", &label]) {
            let ids: Vec<&str> = ids.split_whitespace().collect();
            if !ids.is_empty() {
                let mut args = vec!["rm", "-f", "-v"];
                args.extend(ids);
                let _ = docker(&args);
            }
        }
        let _ = docker(&["network", "rm", &self.network]);
    }

    /// The harness's labels (run and test process), which its cleanup and CI checks go by.
    fn harness_labels(&self) -> [String; 2] {
        [
            format!("{}={}", labels::RUN, labels::run_id()),
            format!("{}={}", labels::PROCESS, labels::process_id()),
        ]
    }
}

impl Drop for Containers {
    fn drop(&mut self) {
        self.remove_all();
    }
}

fn free_port(host: &str) -> Result<u16, ClusterError> {
    free_port_pair(host).map_err(|e| ClusterError::Io {
        what: format!("finding a port on {host}"),
        source: std::io::Error::other(e.to_string()),
    })
}
