//! `harness up`: the whole stack of the public setup guide on one machine, ready for the guide's
//! own commands: mock-connect with demo data, a dev OpenBao, and the engine registered with its
//! sha256 and version, mounted at `op/` and configured — one [`Stack`] on the chosen backend.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::launch::{Backend, ConnectSeed, EngineSetup, LaunchError, Stack, StackOptions};
use crate::plugin::Profile;
use crate::provision;

/// The port the guide's `VAULT_ADDR` points at.
const GUIDE_PORT: u16 = 8200;

/// What `harness up` does.
#[derive(Debug, Clone, Default)]
pub struct DemoOptions {
    /// Build the engine and the mock with the release profile.
    pub release: bool,
    /// The OpenBao API port on the process backend; default 8200 when free (as in the guide),
    /// else any free port.
    pub port: Option<u16>,
    /// Processes (default) or containers.
    pub backend: Backend,
}

/// Why the demo could not come up.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The stack did not come up.
    #[error(transparent)]
    Launch(#[from] LaunchError),
    /// A local file could not be written.
    #[error("{0}")]
    Local(String),
}

/// The running demo; dropping it stops everything.
#[derive(Debug)]
pub struct Demo {
    /// OpenBao, the engine and the Connect mock.
    pub stack: Stack,
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

/// Brings the stack up, printing progress. The caller keeps the [`Demo`] alive while it is used.
pub async fn up(options: &DemoOptions) -> Result<Demo, DemoError> {
    println!(
        "Starting the op-connect demo (OpenBao {} as {})",
        provision::OPENBAO_VERSION,
        match options.backend {
            Backend::Process => "processes",
            Backend::Container => "containers",
        }
    );
    let port = match options.backend {
        Backend::Process => options.port.or_else(|| {
            std::net::TcpListener::bind(("127.0.0.1", GUIDE_PORT))
                .ok()
                .map(|_| GUIDE_PORT)
        }),
        Backend::Container => None,
    };
    let stack = Stack::start(StackOptions {
        backend: options.backend,
        connect: Some(ConnectSeed::Demo),
        connect_token: format!("demo-{}", hex::encode(rand::random::<[u8; 12]>())),
        engine: EngineSetup::Mounted,
        profile: if options.release {
            Profile::Release
        } else {
            Profile::Dev
        },
        port,
        mock_as_process: true,
        progress: true,
        ..StackOptions::default()
    })
    .await?;
    let files = match &stack.connect {
        Some(connect) => write_files(stack.bao.host_dir(), &connect.url, &connect.token)?,
        None => return Err(DemoError::Local("the stack has no Connect mock".into())),
    };
    Ok(Demo { stack, files })
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
        let bao = &self.stack.bao;
        let binary = bao.host_binary();
        let addr = bao.addr();
        let token = bao.root_token();
        let dir = bao.host_dir().display();
        let (host, connect) = match &self.stack.connect {
            Some(c) => (c.url.as_str(), c.token.as_str()),
            None => ("", ""),
        };
        format!(
            "\nThe stack is up. In another shell:\n\n\
             export VAULT_ADDR={addr} BAO_ADDR={addr}\n\
             export VAULT_TOKEN={token} BAO_TOKEN={token}\n\
             export OP_CONNECT_HOST={host} OP_CONNECT_TOKEN={connect}\n\
             alias bao={binary} vault={binary}\n\
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
            binary = binary.display(),
        )
    }
}
