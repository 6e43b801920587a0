//! A real `bao server -dev` as a child process on a free loopback port.
//!
//! Each server gets its own scratch directory (plugin directory, log file, home), so several can
//! run side by side in one test process. Dropping the handle stops the server: SIGTERM, so that it
//! shuts its plugins down, then SIGKILL if it lingers; only that process is signalled.

use std::fs::{self, File};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::bao::PluginProcess;
use super::{LaunchError, io, stop_child};

use crate::provision;
use crate::vault_api::VaultClient;

/// How long a dev server may take to answer `sys/health`.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Attempts at finding a port pair nobody else grabs first.
const PORT_ATTEMPTS: usize = 5;

/// How to start a dev server.
#[derive(Debug, Clone)]
pub struct OpenBaoOptions {
    /// The dev root token.
    pub root_token: String,
    /// `-log-level` (trace, debug, info, warn, error).
    pub log_level: String,
    /// Extra command-line arguments.
    pub extra_args: Vec<String>,
    /// Extra server configuration (HCL) given with `-config` next to `-dev`, e.g. a
    /// declarative audit device (OpenBao refuses to enable those through the API).
    pub config_hcl: Option<String>,
    /// Extra environment for the server (and so for its plugins).
    pub env: Vec<(String, String)>,
    /// The loopback address to listen on (`127.0.0.1` unless a suite wants its own).
    pub host: String,
    /// A fixed API port (the cluster listener takes the next one); `None` picks free ports.
    pub port: Option<u16>,
}

impl Default for OpenBaoOptions {
    fn default() -> Self {
        Self {
            root_token: "root".to_string(),
            log_level: "debug".to_string(),
            extra_args: Vec::new(),
            config_hcl: None,
            env: Vec::new(),
            host: "127.0.0.1".to_string(),
            port: None,
        }
    }
}

/// A running dev server; stopped on drop.
#[derive(Debug)]
pub struct OpenBao {
    child: Child,
    addr: String,
    root_token: String,
    binary: PathBuf,
    scratch: TempDir,
}

impl OpenBao {
    /// Starts a dev server with default options and waits until it is ready.
    pub async fn start() -> Result<Self, LaunchError> {
        Self::start_with(OpenBaoOptions::default()).await
    }

    /// Starts a dev server with `options` and waits until it is ready.
    pub async fn start_with(options: OpenBaoOptions) -> Result<Self, LaunchError> {
        let binary = tokio::task::spawn_blocking(provision::openbao_binary)
            .await
            .map_err(|e| LaunchError::Io {
                what: "provisioning task".into(),
                source: std::io::Error::other(e),
            })??;
        let mut last_error = None;
        for _ in 0..PORT_ATTEMPTS {
            let mut server = Self::spawn(&binary, &options)?;
            match server.wait_ready().await {
                Ok(()) => return Ok(server),
                Err(err)
                    if options.port.is_none()
                        && server.log().contains("address already in use") =>
                {
                    last_error = Some(err);
                }
                Err(err) => return Err(err),
            }
        }
        Err(last_error.unwrap_or_else(|| LaunchError::NotReady {
            reason: "no free port".into(),
            log: String::new(),
        }))
    }

    fn spawn(binary: &Path, options: &OpenBaoOptions) -> Result<Self, LaunchError> {
        let scratch = tempfile::Builder::new()
            .prefix("openbao-")
            .tempdir()
            .map_err(io("creating a scratch directory"))?;
        let plugin_dir = scratch.path().join("plugins");
        let home = scratch.path().join("home");
        for dir in [&plugin_dir, &home] {
            fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
        }
        // OpenBao resolves symlinks in the plugin directory; give it the real path up front.
        let plugin_dir = plugin_dir
            .canonicalize()
            .map_err(io("resolving the plugin directory"))?;
        let port = match options.port {
            Some(port) => port,
            None => free_port_pair(&options.host)?,
        };
        let listen = format!("{}:{port}", options.host);
        let log_path = scratch.path().join("server.log");
        let log = File::create(&log_path).map_err(io("creating the server log"))?;
        let log_err = log.try_clone().map_err(io("duplicating the log handle"))?;

        let mut config_args = Vec::new();
        if let Some(hcl) = &options.config_hcl {
            let path = scratch.path().join("extra.hcl");
            fs::write(&path, hcl).map_err(io("writing the extra server configuration"))?;
            config_args.push(format!("-config={}", path.display()));
        }

        let mut command = Command::new(binary);
        command
            .arg("server")
            .arg("-dev")
            .arg(format!("-dev-root-token-id={}", options.root_token))
            .arg(format!("-dev-listen-address={listen}"))
            .arg(format!("-dev-plugin-dir={}", plugin_dir.display()))
            .arg("-dev-plugin-init=false")
            .arg("-dev-no-store-token")
            .arg(format!("-log-level={}", options.log_level))
            .args(&options.extra_args)
            .args(&config_args)
            .current_dir(scratch.path())
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err));
        // Settings meant for a CLI must not steer the server.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            if key.starts_with("VAULT_") || key.starts_with("BAO_") {
                command.env_remove(key.as_ref());
            }
        }
        command.env("HOME", &home);
        command.envs(options.env.iter().map(|(k, v)| (k, v)));
        let child = command
            .spawn()
            .map_err(io(format!("starting {}", binary.display())))?;
        Ok(Self {
            child,
            addr: format!("http://{listen}"),
            root_token: options.root_token.clone(),
            binary: binary.to_path_buf(),
            scratch,
        })
    }

    async fn wait_ready(&mut self) -> Result<(), LaunchError> {
        let client = self.client();
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(self.not_ready(format!("the server exited with {status}")));
            }
            if let Ok(health) = client.read("sys/health").await
                && health.status == 200
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(self.not_ready(format!("no healthy answer within {READY_TIMEOUT:?}")));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn not_ready(&self, reason: String) -> LaunchError {
        LaunchError::NotReady {
            reason,
            log: self.log(),
        }
    }

    /// The API address, e.g. `http://127.0.0.1:41234`.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The root token.
    pub fn root_token(&self) -> &str {
        &self.root_token
    }

    /// The server's plugin directory (already canonical).
    pub fn plugin_dir(&self) -> PathBuf {
        self.scratch.path().join("plugins")
    }

    /// The scratch directory that holds the plugin directory and the log.
    pub fn scratch_dir(&self) -> &Path {
        self.scratch.path()
    }

    /// The server binary in use.
    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// The server process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The path of the server log (stdout and stderr).
    pub fn log_path(&self) -> PathBuf {
        self.scratch.path().join("server.log")
    }

    /// The server log so far (plugins' stderr shows up here too).
    pub fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// A client authenticated with the root token.
    pub fn client(&self) -> VaultClient {
        VaultClient::new(self.addr.clone(), Some(self.root_token.clone()))
    }

    /// The `bao` CLI, pointed at this server with the root token (both `BAO_` and `VAULT_`
    /// variables, so the command line reads like the public guides).
    pub fn cli(&self) -> Command {
        super::bao::host_cli(
            &self.binary,
            &self.addr,
            &self.root_token,
            &self.scratch.path().join("home"),
        )
    }

    /// The engine processes this server runs: its children whose executable lives in its plugin
    /// directory.
    pub fn plugin_processes(&self) -> Vec<PluginProcess> {
        let plugin_dir = self.plugin_dir();
        children_of(self.pid())
            .into_iter()
            .filter_map(|pid| {
                let exe = fs::read_link(format!("/proc/{pid}/exe")).ok()?;
                // A replaced file shows as `… (deleted)`; it is still that plugin.
                let exe = exe.to_string_lossy();
                let exe = Path::new(exe.trim_end_matches(" (deleted)"));
                (exe.parent() == Some(plugin_dir.as_path()))
                    .then(|| PluginProcess::new(pid, exe.display().to_string()))
            })
            .collect()
    }

    /// Stops the server now (what drop does), returning once it has exited.
    pub fn stop(&mut self) {
        stop_child(&mut self.child);
    }
}

impl Drop for OpenBao {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The live children of process `parent` (from `/proc`: the fourth field of `stat`).
pub fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            // After the parenthesised command name: state, then the parent pid.
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|ppid| ppid.parse::<u32>().ok())
                == Some(parent)
        })
        .collect()
}

/// A port `p` on `host` such that `p` (API) and `p + 1` (dev cluster listener) are both free now.
pub fn free_port_pair(host: &str) -> Result<u16, LaunchError> {
    for _ in 0..100 {
        let api = TcpListener::bind((host, 0)).map_err(io(format!("binding {host}:0")))?;
        let port = api.local_addr().map_err(io("reading a bound port"))?.port();
        let Some(next) = port.checked_add(1) else {
            continue;
        };
        let cluster: Result<SocketAddr, _> = format!("{host}:{next}").parse();
        if let Ok(cluster) = cluster
            && TcpListener::bind(cluster).is_ok()
        {
            return Ok(port);
        }
    }
    Err(LaunchError::Io {
        what: format!("finding two adjacent free ports on {host}"),
        source: std::io::Error::from(std::io::ErrorKind::AddrInUse),
    })
}
