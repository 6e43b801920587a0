//! [`Bao`]: a running OpenBao server on either backend, behind one set of methods.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::container::ContainerBao;
use super::process::OpenBao;
use super::{Backend, LaunchError};
use crate::vault_api::VaultClient;

/// A running dev server, as a process or as a container; stopped (and removed) on drop.
#[derive(Debug)]
pub enum Bao {
    /// `bao server -dev` as a child process.
    Process(OpenBao),
    /// The OpenBao image as a container (boxed: the handle is large).
    Container(Box<ContainerBao>),
}

/// One plugin process the server runs, as seen from this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginProcess {
    /// Its process id on this machine (containers included: their processes are ours too).
    pub pid: u32,
    /// Resident memory (`VmRSS`) in KiB when it was looked up; 0 if it was gone by then.
    pub rss_kib: u64,
    /// The executable it runs, as the server's side sees it (e.g. `/plugins/op-connect`).
    pub command: String,
}

impl PluginProcess {
    /// Looks up the resident memory of `pid` (running `command`) now.
    pub fn new(pid: u32, command: impl Into<String>) -> PluginProcess {
        PluginProcess {
            pid,
            rss_kib: rss_kib(pid).unwrap_or(0),
            command: command.into(),
        }
    }

    /// Whether the process still exists.
    pub fn is_alive(&self) -> bool {
        Path::new(&format!("/proc/{}", self.pid)).exists()
    }
}

/// `VmRSS` of `pid` in KiB, from `/proc/<pid>/status`.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
}

/// What one `bao` CLI run gave back.
#[derive(Debug, Clone)]
pub struct CliOutput {
    /// The arguments after `bao`.
    pub args: Vec<String>,
    /// Whether it exited 0.
    pub success: bool,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

impl CliOutput {
    fn from_output(args: &[&str], output: &Output) -> CliOutput {
        CliOutput {
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            success: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Standard output, panicking with the command and its stderr unless it succeeded.
    pub fn ok(&self) -> &str {
        assert!(
            self.success,
            "`bao {}` failed:\n{}",
            self.args.join(" "),
            self.stderr.trim()
        );
        &self.stdout
    }

    /// The standard output parsed as JSON (for `-format=json`), panicking unless it succeeded.
    pub fn json(&self) -> serde_json::Value {
        let stdout = self.ok();
        serde_json::from_str(stdout).unwrap_or_else(|err| {
            panic!(
                "`bao {}` printed no JSON ({err}):\n{stdout}",
                self.args.join(" ")
            )
        })
    }

    /// Standard error, panicking unless the command failed.
    pub fn failed(&self) -> &str {
        assert!(
            !self.success,
            "`bao {}` succeeded but should have failed:\n{}",
            self.args.join(" "),
            self.stdout.trim()
        );
        &self.stderr
    }
}

/// Where a `bao` CLI command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CliSite {
    /// The host's `bao` binary, pointed at the server's published address.
    Host,
    /// Where the server runs: the host for a process, inside the container (`docker exec`) for
    /// a container.
    Server,
}

impl Bao {
    /// The server's process id on the process backend (`None` on containers).
    pub fn pid(&self) -> Option<u32> {
        match self {
            Bao::Process(bao) => Some(bao.pid()),
            Bao::Container(_) => None,
        }
    }

    /// Which backend runs it.
    pub fn backend(&self) -> Backend {
        match self {
            Bao::Process(_) => Backend::Process,
            Bao::Container(_) => Backend::Container,
        }
    }

    /// The API address this machine reaches it at, e.g. `http://127.0.0.1:41234`.
    pub fn addr(&self) -> &str {
        match self {
            Bao::Process(bao) => bao.addr(),
            Bao::Container(bao) => bao.addr(),
        }
    }

    /// The root token.
    pub fn root_token(&self) -> &str {
        match self {
            Bao::Process(bao) => bao.root_token(),
            Bao::Container(bao) => bao.root_token(),
        }
    }

    /// A client authenticated with the root token.
    pub fn client(&self) -> VaultClient {
        VaultClient::new(self.addr(), Some(self.root_token().to_owned()))
    }

    /// The server log so far (the plugins' stderr shows up here too).
    pub fn log(&self) -> String {
        match self {
            Bao::Process(bao) => bao.log(),
            Bao::Container(bao) => bao.log(),
        }
    }

    /// The last `lines` lines of the server log, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = self.log();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// The engine processes the server runs right now (with their memory).
    pub fn plugin_processes(&self) -> Vec<PluginProcess> {
        match self {
            Bao::Process(bao) => bao.plugin_processes(),
            Bao::Container(bao) => bao.plugin_processes(),
        }
    }

    /// Puts `artifact` into the server's plugin directory as `name` (a running plugin's file is
    /// replaced, never overwritten in place) and returns its sha256.
    pub fn install_plugin(&self, artifact: &Path, name: &str) -> Result<String, LaunchError> {
        match self {
            Bao::Process(bao) => Ok(crate::plugin::install(artifact, &bao.plugin_dir(), name)?.1),
            Bao::Container(bao) => bao.install_plugin(artifact, name),
        }
    }

    /// Writes `contents` to a file the `bao` CLI at `site` can read as `@<path>`, and returns that
    /// path (the guide's `vault write … @login.json`).
    pub fn put_file(
        &self,
        site: CliSite,
        name: &str,
        contents: &[u8],
    ) -> Result<String, LaunchError> {
        let on_host = self.host_dir().join(name);
        std::fs::write(&on_host, contents)
            .map_err(super::io(format!("writing {}", on_host.display())))?;
        match (self, site) {
            (Bao::Container(bao), CliSite::Server) => bao.copy_in(&on_host, name),
            _ => Ok(on_host.display().to_string()),
        }
    }

    /// A scratch directory on this machine that lives as long as the server.
    pub fn host_dir(&self) -> &Path {
        match self {
            Bao::Process(bao) => bao.scratch_dir(),
            Bao::Container(bao) => bao.scratch_dir(),
        }
    }

    /// The host's `bao` binary.
    pub fn host_binary(&self) -> PathBuf {
        match self {
            Bao::Process(bao) => bao.binary().to_path_buf(),
            Bao::Container(bao) => bao.host_binary().to_path_buf(),
        }
    }

    /// The `bao` CLI at `site`, pointed at this server with the root token (both `BAO_` and
    /// `VAULT_` variables, so command lines read like the public guides); add the arguments.
    pub fn cli_command(&self, site: CliSite) -> Command {
        match (self, site) {
            (Bao::Process(bao), _) => bao.cli(),
            (Bao::Container(bao), CliSite::Host) => host_cli(
                bao.host_binary(),
                bao.addr(),
                bao.root_token(),
                bao.scratch_dir(),
            ),
            (Bao::Container(bao), CliSite::Server) => bao.exec_cli(),
        }
    }

    /// Runs `bao ARGS…` at `site` without blocking the runtime and returns what it gave back;
    /// assert on it with [`CliOutput::ok`], [`CliOutput::json`] or [`CliOutput::failed`].
    pub async fn cli(&self, site: CliSite, args: &[&str]) -> CliOutput {
        let mut command = tokio::process::Command::from(self.cli_command(site));
        command.args(args).kill_on_drop(true);
        match command.output().await {
            Ok(output) => CliOutput::from_output(args, &output),
            Err(err) => panic!("cannot run `bao {}`: {err}", args.join(" ")),
        }
    }

    /// [`Bao::cli`] for use outside a runtime (start-up, the demo).
    pub fn cli_blocking(&self, site: CliSite, args: &[&str]) -> Result<CliOutput, LaunchError> {
        let output = self
            .cli_command(site)
            .args(args)
            .output()
            .map_err(super::io(format!("running bao {}", args.join(" "))))?;
        Ok(CliOutput::from_output(args, &output))
    }
}

/// The host's `bao` pointed at `addr` with `token`; `BAO_*`/`VAULT_*` of the caller removed so
/// they cannot steer it.
pub(crate) fn host_cli(binary: &Path, addr: &str, token: &str, home: &Path) -> Command {
    let mut command = Command::new(binary);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("VAULT_") || key.starts_with("BAO_") {
            command.env_remove(key.as_ref());
        }
    }
    command
        .env("BAO_ADDR", addr)
        .env("VAULT_ADDR", addr)
        .env("BAO_TOKEN", token)
        .env("VAULT_TOKEN", token)
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null());
    command
}
