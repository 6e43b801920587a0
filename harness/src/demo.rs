//! `harness up`: the whole stack of the public setup guide on one machine, ready for the guide's
//! own commands: mock-connect with demo data, a dev OpenBao, and the engine registered with its
//! sha256 and version, mounted at `op/` and configured.

use std::fmt::Display;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Instant;

use serde_json::json;

use crate::launch::mock::{MockConnectProcess, MockError, MockOptions};
use crate::launch::process::{LaunchError, OpenBao, OpenBaoOptions};
use crate::plugin::{self, BuildTarget, PluginError, Profile};
use crate::provision::{self, ProvisionError};

/// The engine's package and binary.
pub const ENGINE_PACKAGE: &str = "vault-plugin-secrets-onepassword";
/// The name the guide registers the engine under.
pub const ENGINE_NAME: &str = "op-connect";
/// The version the guide registers; the engine reports its crate version, which must be this
/// (a test keeps the two in step).
pub const ENGINE_VERSION: &str = "v1.1.0";
/// The port the guide's `VAULT_ADDR` points at.
const GUIDE_PORT: u16 = 8200;

/// What `harness up` does.
#[derive(Debug, Clone, Default)]
pub struct DemoOptions {
    /// Build the engine and the mock with the release profile.
    pub release: bool,
    /// The OpenBao API port; default 8200 when free (as in the guide), else any free port.
    pub port: Option<u16>,
}

/// Why the demo could not come up.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// Provisioning OpenBao failed.
    #[error(transparent)]
    Provision(#[from] ProvisionError),
    /// Building, installing or registering failed.
    #[error(transparent)]
    Plugin(#[from] PluginError),
    /// OpenBao did not start.
    #[error(transparent)]
    Launch(#[from] LaunchError),
    /// The mock did not start.
    #[error(transparent)]
    Mock(#[from] MockError),
    /// A `bao` command of the guide failed.
    #[error("`bao {command}` failed: {stderr}")]
    Cli {
        /// The command line after `bao`.
        command: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// A local file or task failed.
    #[error("{0}")]
    Local(String),
}

/// The running demo stack; dropping it stops everything.
#[derive(Debug)]
pub struct Demo {
    /// The dev server.
    pub bao: OpenBao,
    /// The Connect mock.
    pub mock: MockConnectProcess,
    /// The Connect token the engine was configured with.
    pub connect_token: String,
    /// Example request bodies written for the guide's commands.
    pub files: DemoFiles,
}

/// The JSON files the guide's commands refer to.
#[derive(Debug, Clone)]
pub struct DemoFiles {
    /// `login.json`: the guide's item body.
    pub login: PathBuf,
    /// `op-connect-config.json`: the guide's config body.
    pub config: PathBuf,
}

fn step<T, E: Display>(label: &str, work: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
    print!("  • {label} … ");
    let _ = std::io::stdout().flush();
    let started = Instant::now();
    let result = work();
    match &result {
        Ok(_) => println!("done ({:.1}s)", started.elapsed().as_secs_f64()),
        Err(err) => println!("FAILED\n    {err}"),
    }
    result
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, DemoError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| DemoError::Local(format!("background task failed: {e}")))
}

/// Brings the stack up, printing progress. The caller keeps the [`Demo`] alive while it is used.
pub async fn up(options: &DemoOptions) -> Result<Demo, DemoError> {
    let profile = if options.release {
        Profile::Release
    } else {
        Profile::Dev
    };
    println!("Starting the op-connect demo");

    print!("  • Provisioning OpenBao {} … ", provision::OPENBAO_VERSION);
    let _ = std::io::stdout().flush();
    let bao_binary = blocking(provision::openbao_binary).await??;
    println!("{}", bao_binary.display());

    let (engine, mock_binary) = blocking(move || {
        step("Building the engine and mock-connect (cargo build)", || {
            let engine = plugin::build(ENGINE_PACKAGE, BuildTarget::Bin(ENGINE_PACKAGE), profile)?;
            let mock = plugin::build("mock-connect", BuildTarget::Bin("mock-connect"), profile)?;
            Ok::<_, PluginError>((engine, mock))
        })
    })
    .await??;

    let connect_token = format!("demo-{}", hex::encode(rand::random::<[u8; 12]>()));
    let mock = step("Starting mock-connect with demo data", || {
        MockConnectProcess::start(
            &mock_binary,
            &MockOptions {
                tokens: vec![connect_token.clone()],
                demo: true,
                ..MockOptions::default()
            },
        )
    })?;

    print!("  • Starting a dev OpenBao server … ");
    let _ = std::io::stdout().flush();
    let port = options.port.or_else(|| {
        std::net::TcpListener::bind(("127.0.0.1", GUIDE_PORT))
            .ok()
            .map(|_| GUIDE_PORT)
    });
    let bao = OpenBao::start_with(OpenBaoOptions {
        port,
        ..OpenBaoOptions::default()
    })
    .await?;
    println!("{}", bao.addr());

    let (_, sha256) = step("Installing the engine into the plugin directory", || {
        plugin::install(&engine, &bao.plugin_dir(), ENGINE_NAME)
    })?;
    step(
        "bao plugin register -sha256=… -version=… secret op-connect",
        || {
            bao_cli(
                &bao,
                &[
                    "plugin",
                    "register",
                    &format!("-sha256={sha256}"),
                    &format!("-version={ENGINE_VERSION}"),
                    "secret",
                    ENGINE_NAME,
                ],
            )
        },
    )?;
    step("bao secrets enable --path=op op-connect", || {
        bao_cli(&bao, &["secrets", "enable", "--path=op", ENGINE_NAME])
    })?;
    step(
        "bao write op/config op_connect_host=… op_connect_token=…",
        || {
            bao_cli(
                &bao,
                &[
                    "write",
                    "op/config",
                    &format!("op_connect_host={}", mock.url()),
                    &format!("op_connect_token={connect_token}"),
                ],
            )
        },
    )?;
    let files = write_files(bao.scratch_dir(), mock.url(), &connect_token)?;
    Ok(Demo {
        bao,
        mock,
        connect_token,
        files,
    })
}

/// Runs one `bao` command against the demo server; its stdout on success.
pub fn bao_cli(bao: &OpenBao, args: &[&str]) -> Result<String, DemoError> {
    let output: Output = bao
        .cli()
        .args(args)
        .output()
        .map_err(|e| DemoError::Local(format!("running bao: {e}")))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(DemoError::Cli {
            command: args.join(" "),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        })
    }
}

fn write_files(dir: &Path, host: &str, token: &str) -> Result<DemoFiles, DemoError> {
    let login = dir.join("login.json");
    let config = dir.join("op-connect-config.json");
    let login_body = json!({
        "category": "login",
        "title": "Example Login",
        "fields": [
            { "id": "username", "type": "STRING", "purpose": "USERNAME", "value": "my_user" },
            { "id": "password", "type": "CONCEALED", "purpose": "PASSWORD", "generate": true }
        ]
    });
    let config_body = json!({ "op_connect_host": host, "op_connect_token": token });
    for (path, body) in [(&login, login_body), (&config, config_body)] {
        let text =
            serde_json::to_string_pretty(&body).map_err(|e| DemoError::Local(e.to_string()))?;
        std::fs::write(path, text + "\n")
            .map_err(|e| DemoError::Local(format!("writing {}: {e}", path.display())))?;
    }
    Ok(DemoFiles { login, config })
}

impl Demo {
    /// The shell lines a newcomer pastes to follow the guide against this stack.
    pub fn instructions(&self) -> String {
        let bao = self.bao.binary().display();
        let addr = self.bao.addr();
        let token = self.bao.root_token();
        let dir = self.bao.scratch_dir().display();
        format!(
            "\nThe stack is up. In another shell:\n\n\
             export VAULT_ADDR={addr} BAO_ADDR={addr}\n\
             export VAULT_TOKEN={token} BAO_TOKEN={token}\n\
             export OP_CONNECT_HOST={host} OP_CONNECT_TOKEN={connect}\n\
             alias bao={bao} vault={bao}\n\
             cd {dir}   # login.json and op-connect-config.json are here\n\n\
             Then follow the guide:\n\n\
             vault list op/vaults\n\
             vault list op/vaults/engineering/items\n\
             vault read op/vaults/engineering/items/docker-hub-service-account\n\
             vault write op/vaults/engineering/items @login.json\n\
             vault write op/config @op-connect-config.json\n\
             vault delete op/vaults/engineering/items/\"Example Login\"\n\n\
             And what this engine adds:\n\n\
             vault read op/health\n\
             vault read op/vaults/engineering\n\
             vault read op/vaults/engineering/items/docker-hub-service-account/fields/password\n\
             vault read op/vaults/engineering/items/docker-hub-service-account format=full\n\n\
             Press Ctrl-C to stop everything.\n",
            host = self.mock.url(),
            connect = self.connect_token,
        )
    }
}
