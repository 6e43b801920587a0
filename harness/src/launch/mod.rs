//! Bringing up what a test talks to: one way, on two backends.
//!
//! A [`Stack`] is the guide's set-up: a dev OpenBao server, the engine installed in its plugin
//! directory and registered with its sha256 and version ([`engine::NAME`], [`engine::VERSION`]),
//! optionally a Connect mock and the engine mounted at [`engine::MOUNT`] and configured against
//! it. [`StackOptions::backend`] picks where it runs:
//!
//! * [`Backend::Process`] (the default): `bao server -dev` and the mock as local processes on
//!   loopback ports ([`process`], [`mock`]);
//! * [`Backend::Container`]: OpenBao and the mock as containers of locally built images
//!   ([`container::OpenBaoImage`], [`container::MockConnectImage`], built by [`images`]), on a
//!   network of the stack's own, where the engine reaches Connect by the mock's container name.
//!
//! `HARNESS_BACKEND=process|container` chooses for every suite ([`Backend::from_env`]). The same
//! handles work on both: [`Bao`] (API address, root client, the `bao` CLI where the server runs,
//! its log, its plugin processes) and [`Connect`] (the URL the engine uses, the journal, faults).
//!
//! ```no_run
//! # async fn demo() -> Result<(), harness::launch::LaunchError> {
//! use harness::launch::{ConnectSeed, EngineSetup, Stack, StackOptions};
//! let stack = Stack::start(StackOptions {
//!     connect: Some(ConnectSeed::Demo),
//!     engine: EngineSetup::Mounted,
//!     ..StackOptions::from_env()?
//! })
//! .await?;
//! let vaults = stack.bao.client().list("op/vaults").await?;
//! assert_eq!(vaults.status, 200);
//! # Ok(()) }
//! ```
//!
//! Everything a stack starts is stopped and removed when it is dropped, pass or fail; containers
//! and networks carry [`labels::RUN`] (the run) and [`labels::PROCESS`] (this test process), and
//! a watchdog removes what a never-dropped `static` stack leaves once the process has exited.

use std::process::Child;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

pub mod bao;
pub mod cluster;
pub mod compose;
pub mod connect;
pub mod container;
pub mod images;
pub mod mock;
pub mod process;
pub mod runtime;
pub mod stack;
mod watchdog;

pub use bao::{Bao, PluginProcess};
pub use connect::{Connect, ConnectSeed};
pub use stack::{EngineSetup, Stack, StackOptions};
pub(crate) use watchdog::{Leftover, reap_when_process_exits};

use crate::plugin::PluginError;
use crate::provision::ProvisionError;
use crate::vault_api::ClientError;

/// The engine as the guide installs it: names and versions, defined once.
pub mod engine {
    use std::path::PathBuf;

    use super::Backend;
    use crate::plugin::{self, BuildTarget, Linkage, PluginError, Profile};

    /// The engine's cargo package (and binary).
    pub const PACKAGE: &str = "vault-plugin-secrets-onepassword";
    /// The catalog name the guide registers the engine under (and its file name in the plugin
    /// directory).
    pub const NAME: &str = "op-connect";
    /// The version the guide registers (`-version=v1.1.0`); the engine reports its crate version,
    /// which must be this (a test keeps the two in step).
    pub const VERSION: &str = "v1.1.0";
    /// Where the guide mounts it.
    pub const MOUNT: &str = "op";
    /// Environment variable naming a prebuilt engine binary to use instead of building one.
    pub const BIN_ENV: &str = "OP_CONNECT_ENGINE_BIN";

    /// The engine binary: [`BIN_ENV`] when set, else built with cargo in `profile`.
    pub fn artifact(profile: Profile) -> Result<PathBuf, PluginError> {
        linked_artifact(profile, Linkage::Dynamic)
    }

    /// The engine linked fully statically, as it ships: [`BIN_ENV`] when set, else built with
    /// cargo in `profile` ([`plugin::STATIC_TARGET`]).
    pub fn static_artifact(profile: Profile) -> Result<PathBuf, PluginError> {
        linked_artifact(profile, Linkage::Static)
    }

    /// The engine a `backend` runs: static in containers (the OpenBao image has no libc),
    /// dynamic on processes (the build `cargo test` makes anyway).
    pub fn artifact_for(backend: Backend, profile: Profile) -> Result<PathBuf, PluginError> {
        match backend {
            Backend::Process => artifact(profile),
            Backend::Container => static_artifact(profile),
        }
    }

    fn linked_artifact(profile: Profile, linkage: Linkage) -> Result<PathBuf, PluginError> {
        match std::env::var_os(BIN_ENV) {
            Some(path) => Ok(PathBuf::from(path)),
            None => plugin::build_linked(PACKAGE, BuildTarget::Bin(PACKAGE), profile, linkage),
        }
    }

    /// The `mock-connect` binary, built with cargo in `profile`.
    pub fn mock_artifact(profile: Profile) -> Result<PathBuf, PluginError> {
        plugin::build("mock-connect", BuildTarget::Bin("mock-connect"), profile)
    }
}

/// Labels on everything the container backend creates, so that cleanup and the CI check touch
/// only what this run made (other runs share the Docker daemon).
pub mod labels {
    use std::sync::OnceLock;

    /// Label key naming the run: `HARNESS_RUN_ID` when set (CI sets one for the whole run), else
    /// this process's id.
    pub const RUN: &str = "op-connect-harness.run";
    /// Label key naming the test process that created the object (for the exit watchdog).
    pub const PROCESS: &str = "op-connect-harness.process";
    /// Label key on the images the harness builds (value: which image).
    pub const IMAGE: &str = "op-connect-harness.image";
    /// Environment variable that names the run.
    pub const RUN_ENV: &str = "HARNESS_RUN_ID";

    /// This run's id.
    pub fn run_id() -> &'static str {
        static ID: OnceLock<String> = OnceLock::new();
        ID.get_or_init(|| match std::env::var(RUN_ENV) {
            Ok(id) if !id.is_empty() => id,
            _ => format!("p{}", std::process::id()),
        })
    }

    /// This process's id for [`PROCESS`]: pid plus start time, so a reused pid never matches.
    pub fn process_id() -> &'static str {
        static ID: OnceLock<String> = OnceLock::new();
        ID.get_or_init(|| {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            format!("{}-{:x}", std::process::id(), nanos)
        })
    }

    /// A short name prefix unique to this process, for containers and networks.
    pub fn name_prefix() -> &'static str {
        static PREFIX: OnceLock<String> = OnceLock::new();
        PREFIX.get_or_init(|| format!("opch-{}", process_id()))
    }
}

/// Where a stack runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// Local processes on loopback ports.
    #[default]
    Process,
    /// Containers of locally built images on a Docker network of the stack's own.
    Container,
}

impl Backend {
    /// The environment variable that selects the backend (`process` or `container`).
    pub const ENV: &str = "HARNESS_BACKEND";

    /// The backend named by [`Backend::ENV`]; `process` when unset.
    pub fn from_env() -> Result<Backend, LaunchError> {
        match std::env::var(Self::ENV).as_deref() {
            Err(_) | Ok("") | Ok("process") => Ok(Backend::Process),
            Ok("container") => Ok(Backend::Container),
            Ok(other) => Err(LaunchError::Config(format!(
                "{}={other}: expected `process` or `container`",
                Self::ENV
            ))),
        }
    }

    /// `process` or `container`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Process => "process",
            Backend::Container => "container",
        }
    }
}

/// Why a stack (or one of its parts) could not be brought up.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// No OpenBao binary.
    #[error(transparent)]
    Provision(#[from] ProvisionError),
    /// Building, installing, registering or mounting the engine failed.
    #[error(transparent)]
    Plugin(#[from] PluginError),
    /// The server could not be reached.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// A local resource (temp dir, port, log file, spawn) failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The server exited or never became ready.
    #[error("OpenBao did not become ready: {reason}\n--- server log ---\n{log}")]
    NotReady {
        /// What was observed.
        reason: String,
        /// The server's log so far.
        log: String,
    },
    /// The mock process did not start.
    #[error(transparent)]
    Mock(#[from] mock::MockError),
    /// Docker refused or failed (image build, container, network, exec).
    #[error("docker: {what}: {detail}")]
    Docker {
        /// What was being done.
        what: String,
        /// Docker's answer.
        detail: String,
    },
    /// A bad setting (environment or options).
    #[error("{0}")]
    Config(String),
    /// A step of the set-up was refused by the server.
    #[error("{step} failed with {status}: {errors:?}")]
    Refused {
        /// What was asked.
        step: String,
        /// HTTP status.
        status: u16,
        /// The server's error texts.
        errors: Vec<String>,
    },
}

pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> LaunchError {
    let what = what.into();
    move |source| LaunchError::Io { what, source }
}

/// Runs blocking work (cargo, docker CLI, file copies) off the async runtime.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, LaunchError> + Send + 'static,
) -> Result<T, LaunchError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(join) => Err(LaunchError::Io {
            what: "background task".into(),
            source: std::io::Error::other(join.to_string()),
        }),
    }
}

/// How long a stopping child gets between SIGTERM and SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Stops `child` and reaps it: SIGTERM first so it can shut down what it started (OpenBao stops
/// its plugins), SIGKILL if it lingers. Only that process is signalled.
pub(crate) fn stop_child(child: &mut Child) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    let Ok(raw) = i32::try_from(child.id()) else {
        let _ = child.kill();
        let _ = child.wait();
        return;
    };
    if kill(Pid::from_raw(raw), Signal::SIGTERM).is_ok() {
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}
