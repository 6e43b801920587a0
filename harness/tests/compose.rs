//! The docker compose demo: the harness's own images (built locally, nothing pulled), OpenBao
//! with the engine registered declaratively, mounted and configured by self-init, mock-connect
//! beside it. Every container and network the test starts is removed, pass or fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use harness::launch::compose::{Project, compose_command, leftovers};
use harness::launch::images::Images;
use harness::launch::process::free_port_pair;
use harness::provision::workspace_root;
use harness::vault_api::VaultClient;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compose_demo_serves_the_guide_from_local_images() {
    let Some(compose) = compose_command() else {
        return test_support::missing(
            "compose_demo_serves_the_guide_from_local_images",
            "no Docker daemon or docker compose here",
            "install Docker and docker-compose (or the compose plugin) and start the daemon",
        );
    };
    // The binaries and images every other suite uses, so this costs no extra build.
    let images = tokio::task::spawn_blocking(Images::for_tests)
        .await
        .unwrap()
        .expect("the images build");

    let bao_port = free_port_pair("127.0.0.1").unwrap();
    let connect_port = free_port_pair("127.0.0.1").unwrap();
    let project = Project::demo(compose, &images, bao_port, connect_port);
    project.up().expect("compose up");

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
        // Polling a server that is still starting: the deadline above bounds it.
        tokio::time::sleep(Duration::from_millis(200)).await;
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

    let name = project.name().to_owned();
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
    let mut command = std::process::Command::new(&compose[0]);
    command
        .args(&compose[1..])
        .arg("-f")
        .arg(workspace_root().join(file))
        .args(profile.iter().flat_map(|p| ["--profile", p]))
        .arg("config")
        .envs(env.iter().copied())
        .current_dir(std::env::temp_dir());
    let out = command.output().unwrap();
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
        return test_support::missing(
            "compose_cluster_and_connect_profiles_validate",
            "no Docker daemon or docker compose here",
            "install Docker and docker-compose (or the compose plugin) and start the daemon",
        );
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
            image.starts_with("op-connect-harness/"),
            "{name}: {image} would be pulled"
        );
    }
    // Connect's two services share the credentials file and the data volume, as 1Password
    // documents; both images can be replaced.
    for service in ["connect-api", "connect-sync"] {
        let mounts = serde_yaml::to_string(&connect[service]["volumes"]).unwrap();
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
    let Some(compose) = compose_command() else {
        return test_support::missing(
            "compose_cluster_profile_forms_and_serves_on_every_node",
            "no Docker daemon or docker compose here",
            "install Docker and docker-compose (or the compose plugin) and start the daemon",
        );
    };
    let images = tokio::task::spawn_blocking(Images::for_tests)
        .await
        .unwrap()
        .expect("the images build");
    let ports: Vec<u16> = (0..4)
        .map(|_| free_port_pair("127.0.0.1").unwrap())
        .collect();
    let root_token = "compose-cluster-root";
    let project = Project::cluster(
        compose,
        &images,
        [ports[0], ports[1], ports[2]],
        ports[3],
        root_token,
    );
    // Compose waits for bao-1 to be healthy (initialised) before it starts bao-2 and bao-3.
    project.up().expect("compose up");
    let clients: Vec<VaultClient> = ports[..3]
        .iter()
        .map(|port| VaultClient::new(format!("http://127.0.0.1:{port}"), Some(root_token.into())))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(180);
    // Whole: one active node, two standbys, three voters, the engine answering on every node.
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
        // Polling a cluster that is still forming: the deadline above bounds it.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    let name = project.name().to_owned();
    drop(project);
    assert_eq!(
        leftovers(&name),
        "",
        "containers, networks or volumes left behind"
    );
}
