//! The docker compose demo: images built locally (nothing pulled), OpenBao with the engine
//! registered declaratively, mounted and configured by self-init, mock-connect beside it. Every
//! container and network the test starts is removed, pass or fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;
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

/// Builds the demo images once per test binary (both compose tests use them), from the binaries
/// every other suite uses, so the images cost no extra compilation.
fn build_images() {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let engine = plugin::build(
            ENGINE_PACKAGE,
            BuildTarget::Bin(ENGINE_PACKAGE),
            Profile::Dev,
        )
        .map_err(|e| e.to_string())?;
        let mock = plugin::build(
            "mock-connect",
            BuildTarget::Bin("mock-connect"),
            Profile::Dev,
        )
        .map_err(|e| e.to_string())?;
        let bao = harness::provision::openbao_binary().map_err(|e| e.to_string())?;
        let built = run(Command::new("bash")
            .arg(workspace_root().join("compose/build-images.sh"))
            .env("ENGINE_BIN", engine)
            .env("MOCK_BIN", mock)
            .env("BAO_BIN", bao))
        .map_err(|e| e.to_string())?;
        if built.status.success() {
            Ok(())
        } else {
            Err(format!(
                "build-images.sh failed:\n{}\n{}",
                String::from_utf8_lossy(&built.stdout),
                String::from_utf8_lossy(&built.stderr)
            ))
        }
    });
    if let Err(err) = built {
        panic!("{err}");
    }
}

struct Project {
    compose: Vec<String>,
    name: String,
    file: PathBuf,
    /// `--profile` values; every command names them (V1 and V2 leave a profile's services out of
    /// `down` otherwise).
    profiles: Vec<String>,
    env: Vec<(String, String)>,
}

impl Project {
    fn command(&self) -> Command {
        let mut command = Command::new(&self.compose[0]);
        command
            .args(&self.compose[1..])
            .args(["-p", &self.name, "-f"])
            .arg(&self.file)
            .args(self.profiles.iter().flat_map(|p| ["--profile", p.as_str()]))
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
    let volumes = run(Command::new("docker").args([
        "volume",
        "ls",
        "-q",
        "--filter",
        &format!("label=com.docker.compose.project={project}"),
    ]))
    .unwrap();
    format!(
        "{}{}{}",
        String::from_utf8_lossy(&containers.stdout).trim(),
        String::from_utf8_lossy(&networks.stdout).trim(),
        String::from_utf8_lossy(&volumes.stdout).trim()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compose_demo_serves_the_guide_from_local_images() {
    let (Some(compose), true) = (compose_command(), docker_daemon_answers()) else {
        let why = "no Docker daemon or docker compose here";
        assert!(!harness::in_ci(), "{why}; CI machines have both");
        eprintln!("SKIPPED (not in CI): {why}");
        return;
    };
    let root = workspace_root();
    build_images();

    let bao_port = free_port_pair("127.0.0.1").unwrap();
    let connect_port = free_port_pair("127.0.0.1").unwrap();
    let name = format!("opconnecttest{}", std::process::id());
    let project = Project {
        compose,
        name: name.clone(),
        file: root.join("compose/compose.yaml"),
        profiles: Vec::new(),
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

/// The services `profile` enables in `file` (those with no profile, or with this one), from
/// `docker-compose config`, which also validates the file; their resolved definitions.
fn services_of(
    compose: &[String],
    file: &str,
    profile: Option<&str>,
    env: &[(&str, &str)],
) -> BTreeMap<String, serde_yaml::Value> {
    let mut command = Command::new(&compose[0]);
    command
        .args(&compose[1..])
        .arg("-f")
        .arg(workspace_root().join(file))
        .args(profile.iter().flat_map(|p| ["--profile", p]))
        .arg("config")
        .envs(env.iter().copied())
        .current_dir(std::env::temp_dir());
    let out = run(&mut command).unwrap();
    assert!(
        out.status.success(),
        "{file} {profile:?} does not validate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config: serde_yaml::Value = serde_yaml::from_slice(&out.stdout).unwrap();
    let services = config["services"].as_mapping().unwrap();
    services
        .iter()
        .filter(|(_, service)| match service["profiles"].as_sequence() {
            None => true,
            Some(profiles) => profile.is_some_and(|p| profiles.iter().any(|x| x == p)),
        })
        .map(|(name, service)| (name.as_str().unwrap().to_owned(), service.clone()))
        .collect()
}

#[test]
fn compose_cluster_and_connect_profiles_validate() {
    let Some(compose) = compose_command() else {
        let why = "no docker-compose or docker compose here";
        assert!(!harness::in_ci(), "{why}; CI machines have it");
        eprintln!("SKIPPED (not in CI): {why}");
        return;
    };
    let names = |services: &BTreeMap<String, serde_yaml::Value>| -> Vec<String> {
        services.keys().cloned().collect()
    };
    let demo = services_of(&compose, "compose/compose.yaml", None, &[]);
    assert_eq!(names(&demo), ["mock-connect", "openbao"]);
    let cluster = services_of(&compose, "compose/cluster.yaml", Some("cluster"), &[]);
    assert_eq!(names(&cluster), ["bao-1", "bao-2", "bao-3", "mock-connect"]);
    let connect = services_of(&compose, "compose/cluster.yaml", Some("connect"), &[]);
    assert_eq!(
        names(&connect),
        ["bao-1", "bao-2", "bao-3", "connect-api", "connect-sync"]
    );
    // Nothing runs without a profile: the cluster file is all opt-in.
    assert!(services_of(&compose, "compose/cluster.yaml", None, &[]).is_empty());

    for services in [&demo, &cluster, &connect] {
        for (name, service) in services {
            let image = service["image"].as_str().unwrap();
            assert!(
                !image.ends_with(":latest") && image.contains(':'),
                "{name}: {image}"
            );
            for port in service["ports"].as_sequence().into_iter().flatten() {
                let published = serde_yaml::to_string(port).unwrap();
                assert!(
                    published.contains("127.0.0.1"),
                    "{name} publishes {published}"
                );
            }
        }
    }
    for (name, service) in &cluster {
        let image = service["image"].as_str().unwrap();
        assert!(
            image.starts_with("op-connect-demo/"),
            "{name}: {image} would be pulled"
        );
    }
    // Connect's two services share the credentials file and the data volume, as 1Password
    // documents; both images can be replaced.
    let mounts = |service: &serde_yaml::Value| serde_yaml::to_string(&service["volumes"]).unwrap();
    for service in ["connect-api", "connect-sync"] {
        let mounts = mounts(&connect[service]);
        assert!(
            mounts.contains("/home/opuser/.op/1password-credentials.json"),
            "{mounts}"
        );
        assert!(mounts.contains("/home/opuser/.op/data"), "{mounts}");
    }
    let overridden = services_of(
        &compose,
        "compose/cluster.yaml",
        Some("connect"),
        &[
            ("OP_CONNECT_API_IMAGE", "registry.example/connect-api:9.9.9"),
            (
                "OP_CONNECT_SYNC_IMAGE",
                "registry.example/connect-sync:9.9.9",
            ),
        ],
    );
    assert_eq!(
        overridden["connect-api"]["image"].as_str(),
        Some("registry.example/connect-api:9.9.9")
    );
    assert_eq!(
        overridden["connect-sync"]["image"].as_str(),
        Some("registry.example/connect-sync:9.9.9")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compose_cluster_profile_forms_and_serves_on_every_node() {
    let (Some(compose), true) = (compose_command(), docker_daemon_answers()) else {
        let why = "no Docker daemon or docker compose here";
        assert!(!harness::in_ci(), "{why}; CI machines have both");
        eprintln!("SKIPPED (not in CI): {why}");
        return;
    };
    build_images();
    let ports: Vec<u16> = (0..4)
        .map(|_| free_port_pair("127.0.0.1").unwrap())
        .collect();
    let name = format!("opconnectcluster{}", std::process::id());
    let project = Project {
        compose,
        name: name.clone(),
        file: workspace_root().join("compose/cluster.yaml"),
        profiles: vec!["cluster".into()],
        env: vec![
            ("OP_CLUSTER_PORT_1".into(), ports[0].to_string()),
            ("OP_CLUSTER_PORT_2".into(), ports[1].to_string()),
            ("OP_CLUSTER_PORT_3".into(), ports[2].to_string()),
            ("OP_DEMO_CONNECT_PORT".into(), ports[3].to_string()),
            (
                "OP_CLUSTER_ROOT_TOKEN".into(),
                "compose-cluster-root".into(),
            ),
        ],
    };
    // V1 waits for bao-1 to be healthy before it starts bao-2 and bao-3.
    let up = run(project.command().args(["up", "-d"])).unwrap();
    assert!(
        up.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&up.stderr),
        project.logs()
    );
    let clients: Vec<VaultClient> = ports[..3]
        .iter()
        .map(|port| {
            VaultClient::new(
                format!("http://127.0.0.1:{port}"),
                Some("compose-cluster-root".into()),
            )
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(180);
    // Whole: one active node, two standbys, three voters, the engine answering on each node.
    loop {
        let mut statuses = Vec::new();
        let mut served = 0;
        for client in &clients {
            let health = client
                .read("sys/health")
                .await
                .map(|h| h.status)
                .unwrap_or(0);
            statuses.push(health);
            if let Ok(list) = client.list("op/vaults").await
                && list.status == 200
                && list.keys().iter().any(|k| k.starts_with("engineering"))
            {
                served += 1;
            }
        }
        let voters = clients[0]
            .read("sys/storage/raft/configuration")
            .await
            .ok()
            .and_then(|r| r.get("config")["servers"].as_array().cloned())
            .map(|servers| servers.iter().filter(|s| s["voter"] == true).count())
            .unwrap_or(0);
        let mut sorted = statuses.clone();
        sorted.sort();
        if sorted == [200, 429, 429] && served == 3 && voters == 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "cluster not whole: health {statuses:?}, {served} nodes serve op/, {voters} voters\n{}",
            project.logs()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    drop(project);
    assert_eq!(
        leftovers(&name),
        "",
        "containers, networks or volumes left behind"
    );
}
