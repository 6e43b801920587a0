//! [`Stack`]: the guide's set-up brought up in one call, on either backend.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use serde_json::json;

use super::bao::Bao;
use super::connect::{Connect, ConnectSeed, Server};
use super::container::{ContainerBao, ContainerMock, MockConnectImage, Network, OpenBaoImage};
use super::images::{Images, Sources};
use super::mock::{MockConnectProcess, MockOptions};
use super::process::{OpenBao, OpenBaoOptions};
use super::{
    Backend, LaunchError, Leftover, blocking, engine, labels, reap_when_process_exits, runtime,
};
use crate::plugin::{self, Profile};
use crate::vault_api::VaultResponse;

/// How far the engine is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EngineSetup {
    /// In the plugin directory only (the guide's `plugin register` is left to the caller).
    Installed,
    /// Registered in the catalog as [`engine::NAME`] with its sha256 and [`engine::VERSION`].
    #[default]
    Registered,
    /// Registered, mounted at [`engine::MOUNT`] and configured against the stack's Connect
    /// (which [`StackOptions::connect`] must ask for).
    Mounted,
}

/// What [`Stack::start`] brings up.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// Processes or containers.
    pub backend: Backend,
    /// A Connect mock for the stack, seeded so; `None` for none (scenarios start their own
    /// with [`Stack::start_connect`]).
    pub connect: Option<ConnectSeed>,
    /// The token the stack's mock accepts and the engine is configured with.
    pub connect_token: String,
    /// How far the engine is set up.
    pub engine: EngineSetup,
    /// Which build of the engine and the mock (the engine from [`engine::BIN_ENV`] when set).
    pub profile: Profile,
    /// Process backend: a fixed API port (`None`: any free one).
    pub port: Option<u16>,
    /// OpenBao's `-log-level`.
    pub log_level: String,
    /// Process backend: run the stack's mock as a child process (as `harness up` does) rather
    /// than inside this process.
    pub mock_as_process: bool,
    /// Print each step as it happens (`harness up`).
    pub progress: bool,
    /// Process backend only: extra server configuration (HCL), e.g. a declarative audit device.
    pub server_hcl: Option<String>,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            backend: Backend::Process,
            connect: None,
            connect_token: format!("stack-{}", hex::encode(rand::random::<[u8; 12]>())),
            engine: EngineSetup::Registered,
            profile: Profile::Dev,
            port: None,
            log_level: "debug".into(),
            mock_as_process: false,
            progress: false,
            server_hcl: None,
        }
    }
}

impl StackOptions {
    /// The defaults, on the backend `HARNESS_BACKEND` names.
    pub fn from_env() -> Result<StackOptions, LaunchError> {
        Ok(StackOptions {
            backend: Backend::from_env()?,
            ..StackOptions::default()
        })
    }
}

/// The engine as installed in a stack's server.
#[derive(Debug, Clone)]
pub struct EngineInstall {
    /// The catalog name (and file name in the plugin directory).
    pub name: String,
    /// The sha256 of the installed file.
    pub sha256: String,
    /// The version registered, once registered.
    pub version: Option<String>,
    /// The binary it was installed from (on this machine).
    pub artifact: PathBuf,
}

/// A running stack; everything in it is stopped and removed on drop.
#[derive(Debug)]
pub struct Stack {
    /// The stack's own Connect mock, if it asked for one.
    pub connect: Option<Connect>,
    /// The OpenBao server.
    pub bao: Bao,
    /// The engine as installed (and registered).
    pub engine: EngineInstall,
    name: String,
    images: Option<Images>,
    mocks_started: AtomicU64,
    // Dropped last: the containers on it go first.
    network: Option<Network>,
}

static STACKS: AtomicU64 = AtomicU64::new(1);

/// Prints `label … done (t)` around `work` when `on`.
async fn step<T>(
    on: bool,
    label: &str,
    work: impl Future<Output = Result<T, LaunchError>>,
) -> Result<T, LaunchError> {
    if on {
        print!("  • {label} … ");
        let _ = std::io::stdout().flush();
    }
    let started = Instant::now();
    let result = work.await;
    if on {
        match &result {
            Ok(_) => println!("done ({:.1}s)", started.elapsed().as_secs_f64()),
            Err(err) => println!("FAILED\n    {err}"),
        }
    }
    result
}

impl Stack {
    /// Brings up a stack as `options` say and waits until every part is ready.
    pub async fn start(options: StackOptions) -> Result<Stack, LaunchError> {
        let progress = options.progress;
        let profile = options.profile;
        let name = format!(
            "{}-s{}",
            labels::name_prefix(),
            STACKS.fetch_add(1, Ordering::Relaxed)
        );
        let backend = options.backend;
        let artifact = step(progress, "Building the engine (cargo build)", async {
            blocking(move || Ok(engine::artifact_for(backend, profile)?)).await
        })
        .await?;
        let (bao, images, network) = match options.backend {
            Backend::Process => {
                let bao = step(progress, "Starting a dev OpenBao server", async {
                    OpenBao::start_with(OpenBaoOptions {
                        port: options.port,
                        log_level: options.log_level.clone(),
                        config_hcl: options.server_hcl.clone(),
                        ..OpenBaoOptions::default()
                    })
                    .await
                })
                .await?;
                (Bao::Process(bao), None, None)
            }
            Backend::Container if options.server_hcl.is_some() => {
                return Err(LaunchError::Config(
                    "extra server configuration is supported on the process backend only".into(),
                ));
            }
            Backend::Container => {
                let images = step(progress, "Building the images (docker import)", async {
                    blocking(move || match profile {
                        Profile::Dev if std::env::var_os(engine::BIN_ENV).is_none() => {
                            Images::for_tests()
                        }
                        _ => Images::build(&Sources::workspace(profile)?),
                    })
                    .await
                })
                .await?;
                let network_name = name.clone();
                let network = blocking(move || Network::create(&network_name)).await?;
                let image = OpenBaoImage::new(images.openbao.clone())
                    .with_log_level(options.log_level.clone());
                let (network_name, container_name) =
                    (network.name().to_owned(), format!("{name}-openbao"));
                let bao = step(progress, "Starting the OpenBao container", async {
                    // Docker API calls run on the background runtime: the Docker client pools
                    // connections, which must not belong to a test's short-lived runtime.
                    runtime::on_background(async move {
                        ContainerBao::start(image, &network_name, &container_name).await
                    })
                    .await
                })
                .await?;
                (Bao::Container(Box::new(bao)), Some(images), Some(network))
            }
        };
        let sha256 = match &images {
            // Already in the image's plugin directory.
            Some(images) => images.engine_sha256.clone(),
            None => {
                step(
                    progress,
                    "Installing the engine into the plugin directory",
                    async { bao.install_plugin(&artifact, engine::NAME) },
                )
                .await?
            }
        };
        let mut stack = Stack {
            connect: None,
            bao,
            engine: EngineInstall {
                name: engine::NAME.to_owned(),
                sha256,
                version: None,
                artifact,
            },
            name,
            images,
            mocks_started: AtomicU64::new(0),
            network,
        };
        if let Some(seed) = options.connect.clone() {
            let connect = step(progress, "Starting mock-connect", async {
                if options.mock_as_process && options.backend == Backend::Process {
                    stack
                        .start_connect_process(&seed, &options.connect_token, profile)
                        .await
                } else {
                    stack
                        .start_connect(seed.clone(), &options.connect_token)
                        .await
                }
            })
            .await?;
            stack.connect = Some(connect);
        }
        if options.engine != EngineSetup::Installed {
            let label = format!(
                "Registering {} {} with its sha256",
                engine::NAME,
                engine::VERSION
            );
            step(
                progress,
                &label,
                stack.register_engine(engine::NAME, Some(engine::VERSION)),
            )
            .await?;
            stack.engine.version = Some(engine::VERSION.to_owned());
        }
        if options.engine == EngineSetup::Mounted {
            let Some(connect) = &stack.connect else {
                return Err(LaunchError::Config(
                    "EngineSetup::Mounted needs StackOptions::connect".into(),
                ));
            };
            let label = format!("Mounting at {}/ and writing its config", engine::MOUNT);
            step(progress, &label, async {
                stack.mount_engine(engine::MOUNT).await?;
                stack.configure(engine::MOUNT, connect).await?;
                Ok(())
            })
            .await?;
        }
        Ok(stack)
    }

    /// Which backend runs the stack.
    pub fn backend(&self) -> Backend {
        self.bao.backend()
    }

    /// The stack's name (its network's name on containers).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The images in use (containers only).
    pub fn images(&self) -> Option<&Images> {
        self.images.as_ref()
    }

    /// Starts another Connect mock on this stack, seeded with `seed` and accepting only `token`:
    /// in this process on the process backend, a container on the stack's network (reached by
    /// its name) on the container backend.
    pub async fn start_connect(
        &self,
        seed: ConnectSeed,
        token: &str,
    ) -> Result<Connect, LaunchError> {
        let (Some(network), Some(images)) = (&self.network, &self.images) else {
            return Connect::in_process(seed, token).await;
        };
        let n = self.mocks_started.fetch_add(1, Ordering::Relaxed) + 1;
        let mut image = MockConnectImage::new(images.mock.clone()).with_token(token);
        image = match &seed {
            ConnectSeed::Demo => image.with_demo_data(),
            ConnectSeed::Fixture(fixture) => image.with_fixture(fixture),
        };
        let name = format!("{}-connect-{n}", self.name);
        let network_name = network.name().to_owned();
        // On the background runtime, as for OpenBao (see `Stack::start`).
        let mock = runtime::on_background(async move {
            ContainerMock::start(image, &network_name, &name).await
        })
        .await?;
        Connect::new(Server::Container(Box::new(mock)), token)
    }

    /// The `mock-connect` binary as a child process (process backend; `harness up`).
    async fn start_connect_process(
        &self,
        seed: &ConnectSeed,
        token: &str,
        profile: Profile,
    ) -> Result<Connect, LaunchError> {
        let (demo, fixture_json) = match seed {
            ConnectSeed::Demo => (true, None),
            ConnectSeed::Fixture(fixture) => (false, Some(fixture.to_string())),
        };
        let fixture = match fixture_json {
            Some(json) => {
                let path = self.bao.host_dir().join("connect-fixture.json");
                std::fs::write(&path, json)
                    .map_err(super::io(format!("writing {}", path.display())))?;
                Some(path)
            }
            None => None,
        };
        let tokens = vec![token.to_owned()];
        let mock = blocking(move || {
            let binary = engine::mock_artifact(profile)?;
            Ok(MockConnectProcess::start(
                &binary,
                &MockOptions {
                    tokens,
                    demo,
                    fixture,
                    ..MockOptions::default()
                },
            )?)
        })
        .await?;
        Connect::new(Server::Process(mock), token)
    }

    /// Registers the installed engine as secrets plugin `name` (with `version`), by the API.
    pub async fn register_engine(
        &self,
        name: &str,
        version: Option<&str>,
    ) -> Result<VaultResponse, LaunchError> {
        Ok(
            plugin::register_installed(&self.bao.client(), name, &self.engine.sha256, version)
                .await?,
        )
    }

    /// Mounts the engine at `path` (`secrets enable -path=PATH op-connect`).
    pub async fn mount_engine(&self, path: &str) -> Result<VaultResponse, LaunchError> {
        Ok(plugin::mount(&self.bao.client(), path, &self.engine.name).await?)
    }

    /// Writes `<path>/config` for `connect` (its URL as the engine reaches it, its token).
    pub async fn configure(
        &self,
        path: &str,
        connect: &Connect,
    ) -> Result<VaultResponse, LaunchError> {
        let written = self
            .bao
            .client()
            .write(
                &format!("{path}/config"),
                &json!({"op_connect_host": connect.url, "op_connect_token": connect.token}),
            )
            .await?;
        if written.is_success() {
            Ok(written)
        } else {
            Err(LaunchError::Refused {
                step: format!("writing {path}/config"),
                status: written.status,
                errors: written.errors,
            })
        }
    }

    /// For a stack held in a `static` (never dropped): removes what it started once this
    /// process has exited.
    pub fn clean_up_at_exit(&self) {
        match &self.bao {
            Bao::Process(bao) => reap_when_process_exits(Leftover::Process {
                pid: bao.pid(),
                scratch: bao.scratch_dir(),
            }),
            Bao::Container(bao) => reap_when_process_exits(Leftover::Docker {
                scratch: bao.scratch_dir(),
            }),
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if std::thread::panicking() && self.backend() == Backend::Container {
            eprintln!(
                "--- log of the OpenBao container of {} ---\n{}",
                self.name,
                self.bao.log_tail(200)
            );
        }
    }
}
