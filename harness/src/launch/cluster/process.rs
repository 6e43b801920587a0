//! The cluster's process backend: each node is a `bao server` child process on its own loopback
//! address (`127.0.0.11`, `127.0.0.12`, …) with its own scratch directory (configuration, raft
//! data, plugin directory, log), as if on its own machine; Connect is a `mock-connect` process.
//!
//! Killing is SIGKILL, pausing SIGSTOP/SIGCONT. Loopback cannot be partitioned without touching
//! the host's firewall, so cutting a node off the network is a SIGSTOP too: to its peers a frozen
//! node and an unreachable one look the same (no heartbeats, no answers).

use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tempfile::TempDir;

use super::hcl::{self, NodeAddrs};
use super::{ClusterError, ClusterSpec, io};
use crate::launch::mock::{MockConnectProcess, MockOptions};
use crate::launch::process::free_port_pair;
use crate::launch::stop_child;
use crate::plugin;
use crate::provision;

/// How long a stopping node gets between SIGTERM and SIGKILL (an active node steps down first).
const STOP_GRACE: Duration = Duration::from_secs(15);

/// The loopback address of node `i` (0-based): `127.0.0.11` for the first.
fn node_host(i: usize) -> String {
    format!("127.0.0.{}", 11 + i)
}

/// One node: where it listens and lives, and its process while it runs.
#[derive(Debug)]
struct ProcessNode {
    name: String,
    host: String,
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl ProcessNode {
    fn config_path(&self) -> PathBuf {
        self.dir.join("bao.hcl")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    fn plugin_dir(&self) -> PathBuf {
        self.dir.join("plugins")
    }

    fn pid(&self) -> Option<Pid> {
        let child = self.child.as_ref()?;
        i32::try_from(child.id()).ok().map(Pid::from_raw)
    }
}

/// The nodes and the mock of a process cluster; everything stops on drop.
#[derive(Debug)]
pub(super) struct Processes {
    binary: PathBuf,
    nodes: Vec<ProcessNode>,
    mock: MockConnectProcess,
    // Declared last: the directory goes once the processes above have stopped.
    scratch: TempDir,
}

impl Processes {
    /// Lays out `spec.nodes` node directories (configuration, plugin, data) and starts the mock;
    /// no node runs yet. Returns the engine's sha256 as installed.
    pub(super) fn prepare(
        spec: &ClusterSpec,
        root_token: &str,
    ) -> Result<(Self, String), ClusterError> {
        let binary = provision::openbao_binary()?;
        let scratch = tempfile::Builder::new()
            .prefix("openbao-cluster-")
            .tempdir()
            .map_err(io("creating the cluster directory"))?;
        let root = scratch
            .path()
            .canonicalize()
            .map_err(io("resolving the cluster directory"))?;
        let unseal_key = root.join("unseal.key");
        fs::write(&unseal_key, rand::random::<[u8; 32]>()).map_err(io("writing the seal key"))?;
        fs::set_permissions(&unseal_key, fs::Permissions::from_mode(0o600))
            .map_err(io("restricting the seal key"))?;

        let mock = MockConnectProcess::start(
            &spec.mock,
            &MockOptions {
                tokens: spec.connect_tokens.clone(),
                demo: true,
                ..MockOptions::default()
            },
        )?;

        let mut nodes = Vec::with_capacity(spec.nodes);
        for i in 0..spec.nodes {
            let host = node_host(i);
            let port = free_port_pair(&host).map_err(|e| ClusterError::Io {
                what: format!("finding ports on {host}"),
                source: std::io::Error::other(e.to_string()),
            })?;
            let dir = root.join(format!("n{}", i + 1));
            for sub in ["data", "plugins", "home"] {
                fs::create_dir_all(dir.join(sub)).map_err(io(format!("creating {sub}")))?;
            }
            nodes.push(ProcessNode {
                name: format!("n{}", i + 1),
                host,
                port,
                dir,
                child: None,
            });
        }

        let mut sha256 = String::new();
        for node in &nodes {
            let (_, sha) = plugin::install(&spec.engine, &node.plugin_dir(), &spec.engine_name)?;
            sha256 = sha;
        }
        let addrs: Vec<NodeAddrs> = nodes
            .iter()
            .map(|node| NodeAddrs {
                node_id: node.name.clone(),
                listen: format!("{}:{}", node.host, node.port),
                cluster_listen: format!("{}:{}", node.host, node.port + 1),
                api_addr: format!("http://{}:{}", node.host, node.port),
                cluster_addr: format!("https://{}:{}", node.host, node.port + 1),
                data_dir: node.dir.join("data").display().to_string(),
                plugin_dir: node.plugin_dir().display().to_string(),
            })
            .collect();
        let configs = hcl::cluster(
            &addrs,
            &format!("file://{}", unseal_key.display()),
            &spec.declared(&sha256),
            &spec.initialize(&sha256, root_token, mock.url()),
        );
        for (node, config) in nodes.iter().zip(configs) {
            fs::write(node.config_path(), config.render()).map_err(io("writing a node config"))?;
        }
        let processes = Self {
            binary,
            nodes,
            mock,
            scratch,
        };
        processes.reap_on_exit()?;
        Ok((processes, sha256))
    }

    pub(super) fn url(&self, i: usize) -> String {
        let node = &self.nodes[i];
        format!("http://{}:{}", node.host, node.port)
    }

    pub(super) fn name(&self, i: usize) -> &str {
        &self.nodes[i].name
    }

    pub(super) fn connect_url(&self) -> &str {
        self.mock.url()
    }

    /// Starts node `i` (again), appending to its log.
    pub(super) fn start(&mut self, i: usize) -> Result<(), ClusterError> {
        let node = &mut self.nodes[i];
        if let Some(child) = node.child.as_mut()
            && matches!(child.try_wait(), Ok(None))
        {
            return Ok(());
        }
        let log = File::options()
            .create(true)
            .append(true)
            .open(node.log_path())
            .map_err(io("opening a node log"))?;
        let log_err = log.try_clone().map_err(io("duplicating a log handle"))?;
        let mut command = Command::new(&self.binary);
        command
            .arg("server")
            .arg(format!("-config={}", node.config_path().display()))
            .arg("-log-level=debug")
            .current_dir(&node.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err));
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            if key.starts_with("VAULT_") || key.starts_with("BAO_") {
                command.env_remove(key.as_ref());
            }
        }
        command.env("HOME", node.dir.join("home"));
        let child = command
            .spawn()
            .map_err(io(format!("starting {}", self.binary.display())))?;
        node.child = Some(child);
        self.write_pids()
    }

    /// Sends `signal` to node `i`'s server process (not to its plugins).
    pub(super) fn signal(&self, i: usize, signal: Signal) -> Result<(), ClusterError> {
        let node = &self.nodes[i];
        let pid = node.pid().ok_or_else(|| ClusterError::Node {
            node: node.name.clone(),
            reason: "not running".into(),
        })?;
        kill(pid, signal).map_err(|e| ClusterError::Node {
            node: node.name.clone(),
            reason: format!("{signal}: {e}"),
        })
    }

    /// SIGKILL, then reaps the process.
    pub(super) fn kill(&mut self, i: usize) -> Result<(), ClusterError> {
        self.signal(i, Signal::SIGKILL)?;
        if let Some(mut child) = self.nodes[i].child.take() {
            let _ = child.wait();
        }
        self.write_pids()
    }

    /// A graceful stop (SIGTERM: the node steps down and stops its plugins), waiting for the exit
    /// without blocking the runtime; SIGKILL if it lingers.
    pub(super) async fn stop(&mut self, i: usize) -> Result<(), ClusterError> {
        if self.nodes[i].child.is_none() {
            return Ok(());
        }
        let _ = self.signal(i, Signal::SIGCONT);
        let _ = self.signal(i, Signal::SIGTERM);
        let deadline = Instant::now() + STOP_GRACE;
        loop {
            let exited = match self.nodes[i].child.as_mut() {
                Some(child) => !matches!(child.try_wait(), Ok(None)),
                None => true,
            };
            if exited {
                self.nodes[i].child = None;
                break;
            }
            if Instant::now() > deadline {
                return self.kill(i);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // A pid that is gone must not stay listed: the watchdog would signal whoever reuses it.
        self.write_pids()
    }

    pub(super) fn log(&self, i: usize) -> String {
        fs::read_to_string(self.nodes[i].log_path()).unwrap_or_default()
    }

    /// Copies `artifact` into node `i`'s plugin directory as `command`; its sha256.
    pub(super) fn install_plugin(
        &self,
        i: usize,
        artifact: &Path,
        command: &str,
    ) -> Result<String, ClusterError> {
        let (_, sha) = plugin::install(artifact, &self.nodes[i].plugin_dir(), command)?;
        Ok(sha)
    }

    /// sha256 of `command` in node `i`'s plugin directory (`None` when it is not there).
    pub(super) fn plugin_sha256(
        &self,
        i: usize,
        command: &str,
    ) -> Result<Option<String>, ClusterError> {
        let path = self.nodes[i].plugin_dir().join(command);
        if !path.exists() {
            return Ok(None);
        }
        Ok(Some(provision::sha256_file(&path)?))
    }

    /// The file listing every process of the cluster, for the exit watchdog.
    fn pids_file(&self) -> PathBuf {
        self.scratch.path().join("pids")
    }

    fn write_pids(&self) -> Result<(), ClusterError> {
        let mut pids: Vec<String> = self
            .nodes
            .iter()
            .filter_map(|n| n.child.as_ref().map(|c| c.id().to_string()))
            .collect();
        pids.push(self.mock.pid().to_string());
        let staged = self.scratch.path().join("pids.tmp");
        fs::write(&staged, pids.join("\n") + "\n").map_err(io("writing the pid list"))?;
        fs::rename(&staged, self.pids_file()).map_err(io("writing the pid list"))
    }

    /// Starts a watchdog that stops every process of the cluster and removes its directory once
    /// this process has exited: a cluster kept in a `static` is never dropped. It only signals the
    /// pids the cluster itself wrote down.
    fn reap_on_exit(&self) -> Result<(), ClusterError> {
        self.write_pids()?;
        let script = r#"
            while kill -0 "$1" 2>/dev/null; do sleep 0.3; done
            [ -f "$2/pids" ] || exit 0
            pids=$(cat "$2/pids")
            for p in $pids; do kill -CONT "$p" 2>/dev/null; kill -TERM "$p" 2>/dev/null; done
            i=0
            while [ $i -lt 100 ]; do
              alive=0
              for p in $pids; do kill -0 "$p" 2>/dev/null && alive=1; done
              [ $alive -eq 0 ] && break
              sleep 0.1; i=$((i+1))
            done
            for p in $pids; do kill -KILL "$p" 2>/dev/null; done
            rm -rf "$2"
        "#;
        Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("cluster-watchdog")
            .arg(std::process::id().to_string())
            .arg(self.scratch.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map(drop)
            .map_err(io("starting the cluster watchdog"))
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            let _ = self.signal(i, Signal::SIGCONT);
            if let Some(mut child) = self.nodes[i].child.take() {
                stop_child(&mut child);
            }
        }
        let _ = fs::remove_file(self.pids_file());
    }
}
