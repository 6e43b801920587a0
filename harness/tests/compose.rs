//! The docker compose demo: the harness's own images (built locally, nothing pulled), OpenBao
//! with the engine registered declaratively, mounted and configured by self-init, mock-connect
//! beside it. Every container and network the test starts is removed, pass or fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use harness::launch::compose::{Project, compose_command, leftovers};
use harness::launch::images::Images;
use harness::launch::process::free_port_pair;
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
