//! The SDK's example plugin (`kv-example`) against a real OpenBao: registration and version,
//! storage round trips, create/update/patch dispatch, error mapping, large responses, logging,
//! multiplexing, and the lifecycle (reload, crash, seal/unseal, disable) without leftovers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use harness::launch::process::{OpenBao, OpenBaoOptions};
use harness::plugin::{self, BuildTarget, Profile, Registered};
use harness::vault_api::{VaultClient, VaultResponse};
use serde_json::{Value, json};

const PACKAGE: &str = "vault-plugin-sdk";
const EXAMPLE: &str = "kv-example";
/// How long to wait for something the server does asynchronously (process exit, log flush).
const SETTLE: Duration = Duration::from_secs(20);

/// The version the example reports: the SDK crate's, with the `v` prefix the SDK adds.
fn example_version() -> String {
    let manifest = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugin-sdk/Cargo.toml"),
    )
    .expect("plugin-sdk/Cargo.toml is readable");
    let version = manifest
        .lines()
        .find_map(|line| line.strip_prefix("version = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .expect("plugin-sdk/Cargo.toml has a version line");
    format!("v{version}")
}

async fn build_example() -> PathBuf {
    tokio::task::spawn_blocking(|| {
        plugin::build(PACKAGE, BuildTarget::Example(EXAMPLE), Profile::Dev)
    })
    .await
    .unwrap()
    .unwrap_or_else(|e| panic!("building {EXAMPLE} failed: {e}"))
}

/// A trace-level dev server whose (and whose plugins') temporary files, unix sockets included,
/// go to `sockets`: a killed plugin cannot remove its socket, and this directory is deleted.
async fn start_server(sockets: &tempfile::TempDir) -> OpenBao {
    let dir = sockets.path().display().to_string();
    OpenBao::start_with(OpenBaoOptions {
        log_level: "trace".into(),
        env: vec![("TMPDIR".into(), dir)],
        ..OpenBaoOptions::default()
    })
    .await
    .unwrap_or_else(|e| panic!("OpenBao did not start: {e}"))
}

/// The dev server's unseal key from its log; the banner that carries it can reach the log file
/// after the API already answers, so it is waited for (bounded).
async fn unseal_key(bao: &OpenBao) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let key = bao
            .log()
            .lines()
            .find_map(|l| l.trim().strip_prefix("Unseal Key: ").map(str::to_owned));
        match key {
            Some(key) => return key,
            None if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            None => panic!(
                "the dev server never printed its unseal key:\n{}",
                log_tail(bao)
            ),
        }
    }
}

fn socket_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("sdk-sock")
        .tempdir()
        .expect("a temporary directory")
}

async fn register(bao: &OpenBao, artifact: &Path, name: &str) -> Registered {
    plugin::register(bao, artifact, name, Some(&example_version()))
        .await
        .unwrap_or_else(|e| panic!("registering {name} failed: {e}\n{}", bao.log()))
}

async fn mount(bao: &OpenBao, path: &str, plugin_name: &str) {
    plugin::mount(&bao.client(), path, plugin_name)
        .await
        .unwrap_or_else(|e| panic!("mounting {path} failed: {e}\n{}", log_tail(bao)));
}

fn log_tail(bao: &OpenBao) -> String {
    let log = bao.log();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

fn data(response: &VaultResponse) -> &Value {
    response
        .data
        .as_ref()
        .unwrap_or_else(|| panic!("no data in {:?}", response.body))
}

fn expect_status(response: &VaultResponse, status: u16, what: &str) {
    assert_eq!(
        response.status, status,
        "{what}: unexpected status, body {:?}",
        response.body
    );
}

/// Process ids of the plugins `bao` runs.
fn plugin_pids(bao: &OpenBao) -> Vec<u32> {
    bao.plugin_processes().iter().map(|p| p.pid).collect()
}

/// Polls `check` until it holds or [`SETTLE`] passes; returns whether it held.
async fn eventually(mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + SETTLE;
    loop {
        if check() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn info_pid(client: &VaultClient, mount: &str) -> u64 {
    let info = client.read(&format!("{mount}/info")).await.unwrap();
    expect_status(&info, 200, "info");
    data(&info)["pid"].as_u64().expect("pid is a number")
}

#[tokio::test]
async fn example_plugin_serves_through_a_real_openbao() {
    let artifact = build_example().await;
    let sockets = socket_dir();
    let bao = start_server(&sockets).await;
    let client = bao.client();
    let registered = register(&bao, &artifact, EXAMPLE).await;
    let version = example_version();

    // `bao plugin info` shows the reported version.
    let out = bao
        .cli()
        .args(["plugin", "info", "-format=json"])
        .arg(format!("-version={version}"))
        .args(["secret", EXAMPLE])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["version"], json!(version), "{info}");
    assert_eq!(info["sha256"], json!(registered.sha256), "{info}");

    // A registration whose -version disagrees with the plugin's is refused.
    let (_, sha256) = plugin::install(&artifact, &bao.plugin_dir(), "kv-example-wrong").unwrap();
    let refused =
        plugin::register_installed(&client, "kv-example-wrong", &sha256, Some("v9.9.9")).await;
    let message = format!("{refused:?}");
    assert!(refused.is_err(), "mismatching version was accepted");
    assert!(message.contains("version mismatch"), "{message}");

    mount(&bao, "kva", EXAMPLE).await;

    // Storage round trip with create/update from the existence check.
    let first = client
        .write("kva/kv/app/db", &json!({"user": "u1", "n": 1}))
        .await
        .unwrap();
    expect_status(&first, 200, "first write");
    assert_eq!(data(&first)["operation"], json!("create"));
    let second = client
        .write(
            "kva/kv/app/db",
            &json!({"user": "u2", "nested": {"a": [1, 2]}}),
        )
        .await
        .unwrap();
    expect_status(&second, 200, "second write");
    assert_eq!(data(&second)["operation"], json!("update"));
    let read = client.read("kva/kv/app/db").await.unwrap();
    expect_status(&read, 200, "read");
    assert_eq!(data(&read), &json!({"user": "u2", "nested": {"a": [1, 2]}}));

    // PATCH reaches its handler (merge) without an existence check.
    let patched = client
        .patch("kva/kv/app/db", &json!({"extra": true, "user": null}))
        .await
        .unwrap();
    expect_status(&patched, 200, "patch");
    assert_eq!(
        data(&patched),
        &json!({"nested": {"a": [1, 2]}, "extra": true})
    );
    let missing_patch = client
        .patch("kva/kv/app/none", &json!({"x": 1}))
        .await
        .unwrap();
    expect_status(&missing_patch, 404, "patch of a missing key");

    // List: folders end in `/`.
    client.write("kva/kv/top", &json!({"v": 1})).await.unwrap();
    let listed = client.list("kva/kv").await.unwrap();
    expect_status(&listed, 200, "list");
    assert_eq!(listed.keys(), ["app/", "top"]);
    let listed = client.list("kva/kv/app/").await.unwrap();
    assert_eq!(listed.keys(), ["db"]);

    // Delete, then read is 404.
    expect_status(
        &client.delete("kva/kv/app/db").await.unwrap(),
        204,
        "delete",
    );
    expect_status(
        &client.read("kva/kv/app/db").await.unwrap(),
        404,
        "read after delete",
    );

    // Each error class keeps its status and the handler's message.
    for (class, status) in [
        ("bad-request", 400),
        ("permission", 403),
        ("not-found", 404),
        ("unsupported", 405),
        ("upstream", 502),
        ("timeout", 504),
    ] {
        let message = format!("the {class} message");
        let response = client
            .read_with_query(
                &format!("kva/errors/{class}"),
                &[("message", message.as_str())],
            )
            .await
            .unwrap();
        expect_status(&response, status, class);
        assert!(
            response.errors.iter().any(|e| e.contains(&message)),
            "{class}: {:?}",
            response.errors
        );
    }
    // Framework errors: unknown path, unsupported operation, undecodable field.
    expect_status(
        &client.read("kva/no/such/route").await.unwrap(),
        404,
        "unknown path",
    );
    expect_status(
        &client.delete("kva/panic").await.unwrap(),
        405,
        "no delete handler",
    );
    let bad_int = client.read("kva/big/many").await.unwrap();
    expect_status(&bad_int, 400, "undecodable int field");
    assert!(
        bad_int.errors.iter().any(|e| e.contains("\"bytes\"")),
        "{:?}",
        bad_int.errors
    );

    // Help comes from the route's fields and synopsis.
    let help = client
        .read_with_query("kva/kv/some/key", &[("help", "1")])
        .await
        .unwrap();
    expect_status(&help, 200, "help");
    let text = help.body["help"].as_str().unwrap_or_default();
    assert!(
        text.contains("Read and write JSON objects"),
        "{:?}",
        help.body
    );

    // A panic in a handler is a 500, and the process keeps serving.
    let pid = info_pid(&client, "kva").await;
    let panicked = client.read("kva/panic").await.unwrap();
    expect_status(&panicked, 500, "panic");
    assert!(
        panicked.errors.iter().any(|e| e.contains("internal error")),
        "{:?}",
        panicked.errors
    );
    assert_eq!(
        info_pid(&client, "kva").await,
        pid,
        "the plugin restarted after a panic"
    );

    // More than 4 MiB in one response.
    let size = 5 * 1024 * 1024 + 17;
    let big = client.read(&format!("kva/big/{size}")).await.unwrap();
    expect_status(&big, 200, "big");
    assert_eq!(data(&big)["size"], json!(size));
    assert_eq!(data(&big)["blob"].as_str().map(str::len), Some(size));

    // More than 4 MiB in one request, through storage and back.
    let blob = "y".repeat(size);
    let stored = client
        .write("kva/kv/big-value", &json!({"blob": blob}))
        .await
        .unwrap();
    expect_status(&stored, 200, "big write");
    let read_back = client.read("kva/kv/big-value").await.unwrap();
    expect_status(&read_back, 200, "big read back");
    assert_eq!(data(&read_back)["blob"].as_str().map(str::len), Some(size));

    // Plugin log lines reach the server log at their level.
    for (level, tag) in [
        ("trace", "[TRACE]"),
        ("debug", "[DEBUG]"),
        ("info", "[INFO]"),
        ("warn", "[WARN]"),
        ("error", "[ERROR]"),
    ] {
        let message = format!("sdk-log-check-{level}-{}", std::process::id());
        let written = client
            .write(&format!("kva/log/{level}"), &json!({"message": message}))
            .await
            .unwrap();
        expect_status(&written, 204, level);
        let found = eventually(|| {
            bao.log()
                .lines()
                .any(|line| line.contains(&message) && line.contains(tag))
        })
        .await;
        assert!(found, "no {tag} line with {message}:\n{}", log_tail(&bao));
    }

    // Two mounts share one process (multiplexing) but not their storage.
    mount(&bao, "kvb", EXAMPLE).await;
    client
        .write("kva/kv/shared", &json!({"owner": "a"}))
        .await
        .unwrap();
    client
        .write("kvb/kv/shared", &json!({"owner": "b"}))
        .await
        .unwrap();
    assert_eq!(
        data(&client.read("kva/kv/shared").await.unwrap())["owner"],
        json!("a")
    );
    assert_eq!(
        data(&client.read("kvb/kv/shared").await.unwrap())["owner"],
        json!("b")
    );
    expect_status(
        &client.read("kvb/kv/top").await.unwrap(),
        404,
        "other mount's key",
    );
    assert_eq!(
        info_pid(&client, "kva").await,
        info_pid(&client, "kvb").await
    );
    // Each mount got its own Setup (config, backend UUID) and a working system view.
    let (info_a, info_b) = (
        client.read("kva/info").await.unwrap(),
        client.read("kvb/info").await.unwrap(),
    );
    let (info_a, info_b) = (data(&info_a), data(&info_b));
    assert_eq!(info_a["server_version"], json!("2.7.2"));
    assert_eq!(info_a["config"]["plugin_name"], json!(EXAMPLE));
    assert_ne!(info_a["backend_uuid"], info_b["backend_uuid"]);
    assert_ne!(info_a["multiplex_id"], info_b["multiplex_id"]);
    assert_eq!(plugin_pids(&bao).len(), 1, "one process for both mounts");

    // Disabling both mounts leaves no plugin process.
    for path in ["kva", "kvb"] {
        expect_status(
            &client.delete(&format!("sys/mounts/{path}")).await.unwrap(),
            204,
            "disable",
        );
    }
    assert!(
        eventually(|| plugin_pids(&bao).is_empty()).await,
        "plugin processes left after disabling every mount: {:?}",
        plugin_pids(&bao)
    );
}

#[tokio::test]
async fn started_by_hand_it_refuses_with_a_clear_message() {
    let artifact = build_example().await;
    let out = std::process::Command::new(&artifact)
        .env_remove("VAULT_BACKEND_PLUGIN")
        .output()
        .unwrap();
    assert!(!out.status.success(), "a hand start succeeded");
    assert!(
        out.stdout.is_empty(),
        "stdout: {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("VAULT_BACKEND_PLUGIN"), "{stderr}");
    assert!(stderr.contains("must be started by the server"), "{stderr}");
}

#[tokio::test]
async fn example_plugin_survives_reload_crash_and_seal() {
    let artifact = build_example().await;
    let sockets = socket_dir();
    let bao = start_server(&sockets).await;
    let client = bao.client();
    register(&bao, &artifact, EXAMPLE).await;
    mount(&bao, "life", EXAMPLE).await;
    client
        .write("life/kv/k", &json!({"v": "kept"}))
        .await
        .unwrap();
    let kept = |response: VaultResponse| {
        assert_eq!(
            response.status,
            200,
            "read after lifecycle event: {:?}\n{}",
            response.body,
            log_tail(&bao)
        );
        assert_eq!(data(&response)["v"], json!("kept"));
    };

    // Reload: a new process serves the same data.
    let before = info_pid(&client, "life").await;
    let reloaded = client
        .write("sys/plugins/reload/backend", &json!({"plugin": EXAMPLE}))
        .await
        .unwrap();
    assert!(reloaded.is_success(), "reload: {:?}", reloaded.body);
    kept(client.read("life/kv/k").await.unwrap());
    let after_reload = info_pid(&client, "life").await;
    assert_ne!(before, after_reload, "reload kept the old process");
    assert!(
        eventually(|| !plugin_pids(&bao).contains(&u32::try_from(before).unwrap())).await,
        "the reloaded process did not exit"
    );

    // Kill the process: the next request succeeds on a re-launched one.
    let victim = i32::try_from(after_reload).unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(victim),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    // Wait until the server has noticed the exit (it logs it, then marks the client dead); a
    // request racing that bookkeeping would see the dead socket instead of a re-launch.
    let exited = format!("id={victim}");
    assert!(
        eventually(|| bao
            .log()
            .lines()
            .any(|l| l.contains("plugin process exited") && l.contains(&exited)))
        .await,
        "the server did not notice the killed process:\n{}",
        log_tail(&bao)
    );
    // A request racing the server's bookkeeping may still meet the dead socket; requests must
    // resume on a re-launched process well within the settle time.
    let deadline = Instant::now() + SETTLE;
    let resumed = loop {
        let read = client.read("life/kv/k").await.unwrap();
        if read.status == 200 || Instant::now() > deadline {
            break read;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    kept(resumed);
    assert_ne!(info_pid(&client, "life").await, after_reload);

    // Seal stops the plugin; unseal brings the mount back.
    let unseal_key = unseal_key(&bao).await;
    expect_status(
        &client.write("sys/seal", &json!({})).await.unwrap(),
        204,
        "seal",
    );
    assert!(
        eventually(|| plugin_pids(&bao).is_empty()).await,
        "plugin processes left after seal: {:?}",
        plugin_pids(&bao)
    );
    let unsealed = client
        .write("sys/unseal", &json!({"key": unseal_key}))
        .await
        .unwrap();
    expect_status(&unsealed, 200, "unseal");
    assert_eq!(unsealed.body["sealed"], json!(false));
    kept(client.read("life/kv/k").await.unwrap());

    // Disable: no process and no socket of ours left behind.
    expect_status(
        &client.delete("sys/mounts/life").await.unwrap(),
        204,
        "disable",
    );
    assert!(
        eventually(|| plugin_pids(&bao).is_empty()).await,
        "plugin processes left after disable: {:?}",
        plugin_pids(&bao)
    );
}
