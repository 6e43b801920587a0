//! The compose demo (`compose/compose.yaml`) as a project: up, logs, and `down` on drop.
//!
//! Compose V1 (`docker-compose`, as on these machines) and V2 (`docker compose`) both work; the
//! images are the harness's own ([`super::images`]), named to compose through environment
//! variables, so nothing is pulled.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use super::images::Images;
use super::{LaunchError, io, labels};
use crate::provision::workspace_root;

/// `docker-compose` (V1) or `docker compose` (V2), whichever answers; `None` without either or
/// without a Docker daemon.
pub fn compose_command() -> Option<Vec<String>> {
    let answers = |argv: &[&str]| {
        Command::new(argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !answers(&["docker", "version", "--format", "{{.Server.Version}}"]) {
        return None;
    }
    if answers(&["docker-compose", "version"]) {
        Some(vec!["docker-compose".into()])
    } else if answers(&["docker", "compose", "version"]) {
        Some(vec!["docker".into(), "compose".into()])
    } else {
        None
    }
}

/// A compose project of the demo; `down -v --remove-orphans` on drop.
#[derive(Debug)]
pub struct Project {
    compose: Vec<String>,
    name: String,
    file: PathBuf,
    /// `--profile` values, named on every command (Compose leaves a profile's services out of
    /// `down` otherwise).
    profiles: Vec<String>,
    env: Vec<(String, String)>,
}

impl Project {
    /// The demo project on `images`, publishing OpenBao on loopback port `bao_port` and the mock
    /// on `connect_port`; nothing is started yet.
    pub fn demo(compose: Vec<String>, images: &Images, bao_port: u16, connect_port: u16) -> Self {
        // Compose project names: lowercase letters and digits.
        let name: String = format!("opch{}", labels::process_id())
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        Self {
            compose,
            name,
            file: workspace_root().join("compose/compose.yaml"),
            profiles: Vec::new(),
            env: vec![
                ("OP_DEMO_BAO_PORT".into(), bao_port.to_string()),
                ("OP_DEMO_CONNECT_PORT".into(), connect_port.to_string()),
                ("OP_DEMO_OPENBAO_IMAGE".into(), images.openbao.to_string()),
                ("OP_DEMO_MOCK_IMAGE".into(), images.mock.to_string()),
                ("OP_DEMO_RUN_ID".into(), labels::run_id().to_owned()),
            ],
        }
    }

    /// The `cluster` profile of `compose/cluster.yaml` (three raft nodes and the mock) on
    /// `images`, publishing the nodes on loopback `node_ports` and the mock on `connect_port`, with
    /// `root_token` as the root token; nothing is started yet.
    pub fn cluster(
        compose: Vec<String>,
        images: &Images,
        node_ports: [u16; 3],
        connect_port: u16,
        root_token: &str,
    ) -> Self {
        let name: String = format!("opchc{}", labels::process_id())
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        let mut env = vec![
            ("OP_DEMO_CONNECT_PORT".into(), connect_port.to_string()),
            (
                "OP_CLUSTER_OPENBAO_IMAGE".into(),
                images.openbao.to_string(),
            ),
            ("OP_CLUSTER_MOCK_IMAGE".into(), images.mock.to_string()),
            ("OP_CLUSTER_ROOT_TOKEN".into(), root_token.to_owned()),
            ("OP_DEMO_RUN_ID".into(), labels::run_id().to_owned()),
        ];
        for (i, port) in node_ports.iter().enumerate() {
            env.push((format!("OP_CLUSTER_PORT_{}", i + 1), port.to_string()));
        }
        Self {
            compose,
            name,
            file: workspace_root().join("compose/cluster.yaml"),
            profiles: vec!["cluster".into()],
            env,
        }
    }

    /// The project name (`-p`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The compose CLI for this project; add the subcommand.
    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.compose[0]);
        command
            .args(&self.compose[1..])
            .args(["-p", &self.name, "-f"])
            .arg(&self.file)
            .args(self.profiles.iter().flat_map(|p| ["--profile", p.as_str()]))
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null());
        command
    }

    fn run(&self, args: &[&str]) -> Result<Output, LaunchError> {
        self.command()
            .args(args)
            .output()
            .map_err(io(format!("running compose {}", args.join(" "))))
    }

    /// `up -d`.
    pub fn up(&self) -> Result<(), LaunchError> {
        let out = self.run(&["up", "-d"])?;
        if out.status.success() {
            Ok(())
        } else {
            Err(LaunchError::Docker {
                what: format!("compose up of {}", self.name),
                detail: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            })
        }
    }

    /// The services' logs.
    pub fn logs(&self) -> String {
        match self.run(&["logs", "--no-color"]) {
            Ok(out) => String::from_utf8_lossy(&out.stdout).into_owned(),
            Err(err) => format!("(no logs: {err})"),
        }
    }
}

/// Containers, networks and volumes of compose project `project` still present (empty once it
/// is down).
pub fn leftovers(project: &str) -> String {
    let list = |args: &[&str]| {
        Command::new("docker")
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default()
    };
    let label = format!("label=com.docker.compose.project={project}");
    let network = format!("name={project}_");
    format!(
        "{}{}{}",
        list(&["ps", "-aq", "--filter", &label]),
        list(&["network", "ls", "-q", "--filter", &network]),
        list(&["volume", "ls", "-q", "--filter", &label])
    )
}

impl Drop for Project {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- logs of compose project {} ---\n{}",
                self.name,
                self.logs()
            );
        }
        let _ = self.run(&["down", "-v", "--remove-orphans", "-t", "5"]);
    }
}
