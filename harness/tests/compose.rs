//! The docker compose demo: images built locally (nothing pulled), OpenBao with the engine
//! registered declaratively, mounted and configured by self-init, mock-connect beside it. Every
//! container and network the test starts is removed, pass or fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use harness::demo::ENGINE_PACKAGE;
use harness::launch::process::free_port_pair;
use harness::plugin::{self, BuildTarget, Profile};
use harness::provision::workspace_root;
use harness::vault_api::VaultClient;

fn run(command: &mut Command) -> std::io::Result<Output> {
    command.output()
}

/// `docker-compose` (V1) or `docker compose` (V2), whichever answers.
fn compose_command() -> Option<Vec<String>> {
    let answers = |argv: &[&str]| {
        run(Command::new(argv[0]).args(&argv[1..]).arg("version")).is_ok_and(|o| o.status.success())
    };
    if answers(&["docker-compose"]) {
        Some(vec!["docker-compose".into()])
    } else if answers(&["docker", "compose"]) {
        Some(vec!["docker".into(), "compose".into()])
    } else {
        None
    }
}

fn docker_daemon_answers() -> bool {
    run(Command::new("docker").args(["version", "--format", "{{.Server.Version}}"]))
        .is_ok_and(|o| o.status.success())
}

struct Project {
    compose: Vec<String>,
    name: String,
    file: PathBuf,
    env: Vec<(String, String)>,
}

impl Project {
    fn command(&self) -> Command {
        let mut command = Command::new(&self.compose[0]);
        command
            .args(&self.compose[1..])
            .args(["-p", &self.name, "-f"])
            .arg(&self.file)
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        command
    }

    fn logs(&self) -> String {
        let out = run(self.command().args(["logs", "--no-color"])).unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = run(self
            .command()
            .args(["down", "-v", "--remove-orphans", "-t", "5"]));
    }
}

fn leftovers(project: &str) -> String {
    let containers = run(Command::new("docker").args([
        "ps",
        "-aq",
        "--filter",
        &format!("label=com.docker.compose.project={project}"),
    ]))
    .unwrap();
    let networks = run(Command::new("docker").args([
        "network",
        "ls",
        "-q",
        "--filter",
        &format!("name={project}_"),
    ]))
    .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&containers.stdout).trim(),
        String::from_utf8_lossy(&networks.stdout).trim()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compose_demo_serves_the_guide_from_local_images() {
    let (Some(compose), true) = (compose_command(), docker_daemon_answers()) else {
        return test_support::missing(
            "compose_demo_serves_the_guide_from_local_images",
            "no Docker daemon or docker compose here",
            "install Docker and docker-compose (or the compose plugin) and start the daemon",
        );
    };
    let root = workspace_root();
    // The binaries every other suite uses, so the images cost no extra compilation.
    let engine = plugin::build(
        ENGINE_PACKAGE,
        BuildTarget::Bin(ENGINE_PACKAGE),
        Profile::Dev,
    )
    .unwrap();
    let mock = plugin::build(
        "mock-connect",
        BuildTarget::Bin("mock-connect"),
        Profile::Dev,
    )
    .unwrap();
    let bao = harness::provision::openbao_binary().unwrap();
    let built = run(Command::new("bash")
        .arg(root.join("compose/build-images.sh"))
        .env("ENGINE_BIN", engine)
        .env("MOCK_BIN", mock)
        .env("BAO_BIN", bao))
    .unwrap();
    assert!(
        built.status.success(),
        "build-images.sh failed:\n{}\n{}",
        String::from_utf8_lossy(&built.stdout),
        String::from_utf8_lossy(&built.stderr)
    );

    let bao_port = free_port_pair("127.0.0.1").unwrap();
    let connect_port = free_port_pair("127.0.0.1").unwrap();
    let name = format!("opconnecttest{}", std::process::id());
    let project = Project {
        compose,
        name: name.clone(),
        file: root.join("compose/compose.yaml"),
        env: vec![
            ("OP_DEMO_BAO_PORT".into(), bao_port.to_string()),
            ("OP_DEMO_CONNECT_PORT".into(), connect_port.to_string()),
        ],
    };
    let up = run(project.command().args(["up", "-d"])).unwrap();
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );

    let client = VaultClient::new(format!("http://127.0.0.1:{bao_port}"), Some("root".into()));
    let deadline = Instant::now() + Duration::from_secs(120);
    let vaults = loop {
        if let Ok(list) = client.list("op/vaults").await
            && list.status == 200
        {
            break list;
        }
        assert!(
            Instant::now() < deadline,
            "op/vaults never answered:\n{}",
            project.logs()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(
        vaults.keys().iter().any(|k| k.starts_with("engineering")),
        "{:?}",
        vaults.body
    );
    let item = client
        .read("op/vaults/engineering/items/docker-hub-service-account")
        .await
        .unwrap();
    assert_eq!(item.status, 200, "{:?}\n{}", item.body, project.logs());

    drop(project);
    assert_eq!(leftovers(&name), "", "containers or networks left behind");
}
