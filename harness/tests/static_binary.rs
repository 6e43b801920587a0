//! The engine as it ships: linked fully statically (glibc's static libraries, `crt-static`, as
//! `ci/release.sh` builds it), running inside the harness's OpenBao image, which holds no libc,
//! no loader and no NSS module. Registered with its sha256 and version, it serves the guide's
//! reads from a mock-connect container that it reaches by container name over Docker's DNS:
//! glibc's getaddrinfo could not resolve that name in a static binary, the engine's own resolver
//! (hickory, reading the `/etc/hosts` and `/etc/resolv.conf` Docker provides) does. Every
//! container and network the test makes is gone when it ends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use harness::launch::{
    Backend, Bao, ConnectSeed, EngineSetup, Stack, StackOptions, engine, images, labels,
};
use harness::plugin::Profile;
use harness::provision;
use mock_connect::demo::ENGINEERING_VAULT_ID;
use serde_json::json;

const TEST: &str = "the_static_engine_serves_the_guide_from_an_image_without_libc";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_static_engine_serves_the_guide_from_an_image_without_libc() {
    if images::docker(&["version", "--format", "{{.Server.Version}}"]).is_err() {
        return test_support::missing(
            TEST,
            "no Docker daemon answers",
            "start a Docker daemon (the test runs the engine in the harness's OpenBao image)",
        );
    }
    let started = Instant::now();
    let binary = tokio::task::spawn_blocking(|| engine::static_artifact(Profile::Dev))
        .await
        .unwrap()
        .expect("the static build of the engine");
    test_support::report(format_args!(
        "static engine {}: {:.1}s to build, {:.1} MB",
        binary.display(),
        started.elapsed().as_secs_f64(),
        std::fs::metadata(&binary).unwrap().len() as f64 / 1e6
    ));
    assert_fully_static(&binary);

    // The version an operator registers is the one the binary reports.
    let version = Command::new(&binary).arg("--version").output().unwrap();
    assert!(version.status.success(), "{version:?}");
    assert_eq!(
        String::from_utf8_lossy(&version.stdout),
        format!("{} {}\n", engine::PACKAGE, engine::VERSION)
    );

    let stack = Stack::start(StackOptions {
        backend: Backend::Container,
        connect: Some(ConnectSeed::Demo),
        engine: EngineSetup::Mounted,
        ..StackOptions::default()
    })
    .await
    .expect("the container stack starts");
    let Bao::Container(server) = &stack.bao else {
        unreachable!("a container stack")
    };
    let stack_name = stack.name().to_owned();

    // The image's plugin is exactly this binary, registered with its sha256 and version.
    let sha256 = provision::sha256_file(&binary).unwrap();
    assert_eq!(stack.engine.sha256, sha256);
    let client = stack.bao.client();
    let catalog = client
        .read_with_query(
            &format!("sys/plugins/catalog/secret/{}", engine::NAME),
            &[("version", engine::VERSION)],
        )
        .await
        .unwrap();
    assert_eq!(catalog.status, 200, "{:?}", catalog.body);
    assert_eq!(catalog.get("sha256"), &json!(sha256));
    assert_eq!(catalog.get("version"), &json!(engine::VERSION));
    let mounts = client.read("sys/mounts").await.unwrap();
    let mount = &mounts.body[format!("{}/", engine::MOUNT)];
    assert_eq!(mount["running_sha256"], json!(sha256), "{mount}");
    assert_eq!(
        mount["running_plugin_version"],
        json!(engine::VERSION),
        "{mount}"
    );

    // Connect is configured by name, not by address.
    let connect = stack.connect.as_ref().unwrap();
    let host = reqwest::Url::parse(&connect.url).unwrap();
    let host = host.host_str().unwrap();
    assert!(host.parse::<IpAddr>().is_err(), "{host} is an address");
    let config = client.read("op/config").await.unwrap();
    assert_eq!(config.get("op_connect_host"), &json!(connect.url));

    // The guide's reads.
    let vaults = client.list("op/vaults").await.unwrap();
    assert_eq!(vaults.status, 200, "{:?}\n{}", vaults.body, server.log());
    assert!(
        vaults
            .keys()
            .contains(&format!("engineering {ENGINEERING_VAULT_ID}")),
        "{:?}",
        vaults.body
    );
    let items = client.list("op/vaults/engineering/items").await.unwrap();
    assert_eq!(items.status, 200, "{:?}", items.body);
    assert!(
        items.keys().iter().any(|k| k.starts_with("GitHub ")),
        "{:?}",
        items.body
    );
    let item = client
        .read("op/vaults/engineering/items/docker-hub-service-account")
        .await
        .unwrap();
    assert_eq!(item.status, 200, "{:?}", item.body);
    assert_eq!(item.get("username"), &json!("acme-ci"), "{:?}", item.body);

    // The server's file system: the two static binaries and configuration, nothing to load.
    let files = exported_files(server.id());
    assert!(
        files
            .iter()
            .any(|f| f == &format!("plugins/{}", engine::NAME)),
        "{files:?}"
    );
    let libraries: Vec<_> = files
        .iter()
        .filter(|f| f.contains(".so") || f.contains("ld-linux") || f.ends_with("nsswitch.conf"))
        .collect();
    assert!(
        libraries.is_empty(),
        "libraries in the image: {libraries:?}"
    );
    // Connect's name came from Docker's DNS: the hosts file Docker gives the server does not
    // list the mock.
    let hosts = read_in_container(server.id(), "/etc/hosts");
    assert!(!hosts.contains(host), "{hosts}");

    drop(stack);
    assert_nothing_left(&stack_name);
    test_support::report(format_args!(
        "{TEST}: {:.1}s in all",
        started.elapsed().as_secs_f64()
    ));
}

/// No program interpreter and no shared library needed (`readelf`, as `ci/release.sh` checks).
fn assert_fully_static(binary: &Path) {
    let readelf = |flag: &str| {
        let out = Command::new("readelf")
            .args([flag, "--wide"])
            .arg(binary)
            .output()
            .expect("running readelf");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let headers = readelf("--program-headers");
    assert!(!headers.contains("INTERP"), "{headers}");
    let dynamic = readelf("--dynamic");
    assert!(!dynamic.contains("(NEEDED)"), "{dynamic}");
}

/// The paths in a container's file system (`docker export`), without the leading `./`.
fn exported_files(container: &str) -> Vec<String> {
    let mut export = Command::new("docker")
        .args(["export", container])
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let listing = Command::new("tar")
        .arg("-t")
        .stdin(Stdio::from(export.stdout.take().unwrap()))
        .output()
        .unwrap();
    assert!(export.wait().unwrap().success());
    assert!(listing.status.success(), "{listing:?}");
    String::from_utf8_lossy(&listing.stdout)
        .lines()
        .map(|l| l.trim_start_matches("./").to_owned())
        .collect()
}

/// A file of a container (which has no shell or `cat`), through `docker cp` to stdout (a tar).
fn read_in_container(container: &str, path: &str) -> String {
    let mut copy = Command::new("docker")
        .args(["cp", &format!("{container}:{path}"), "-"])
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let contents = Command::new("tar")
        .arg("-xO")
        .stdin(Stdio::from(copy.stdout.take().unwrap()))
        .output()
        .unwrap();
    assert!(copy.wait().unwrap().success());
    String::from_utf8_lossy(&contents.stdout).into_owned()
}

/// The stack's containers and network are removed once it is dropped.
fn assert_nothing_left(stack_name: &str) {
    let process = format!("label={}={}", labels::PROCESS, labels::process_id());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let containers = images::docker(&["ps", "-aq", "--filter", &process]).unwrap();
        let networks = images::docker(&["network", "ls", "-q", "--filter", &process]).unwrap();
        if containers.trim().is_empty() && networks.trim().is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "left behind by {stack_name}: containers {containers:?}, networks {networks:?}"
        );
        // Removal runs in the background once the handles drop; the deadline bounds the wait.
        std::thread::sleep(Duration::from_millis(200));
    }
}
