//! The engine over time, on the backend `HARNESS_BACKEND` names: a bounded soak of concurrent
//! reads and writes (no error allowed; requests and the plugin's memory at start and end are
//! reported), and an upgrade to a newly registered version (`secrets tune -plugin-version`,
//! reload) after which requests resume on the new binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use harness::launch::bao::CliSite;
use harness::launch::{ConnectSeed, EngineSetup, Stack, StackOptions, engine};
use harness::scenario::{fixture, ids};
use serde_json::json;

/// At most this many requests in the soak…
const SOAK_REQUESTS: u64 = 1500;
/// …and at most this long.
const SOAK_TIME: Duration = Duration::from_secs(30);
/// Requests in flight.
const SOAK_WORKERS: u64 = 8;

async fn stack(engine: EngineSetup) -> Stack {
    Stack::start(StackOptions {
        connect: Some(ConnectSeed::Fixture(fixture())),
        engine,
        log_level: "info".into(),
        ..StackOptions::from_env().unwrap()
    })
    .await
    .expect("the stack starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_of_concurrent_reads_and_writes_has_no_errors() {
    let stack = stack(EngineSetup::Mounted).await;
    let client = stack.bao.client();
    let by_id = format!("op/vaults/{}/items/{}", ids::A, ids::X);
    assert_eq!(client.read(&by_id).await.unwrap().status, 200);
    let start = stack.bao.plugin_processes();
    assert_eq!(start.len(), 1, "one engine process: {start:?}");

    let issued = AtomicU64::new(0);
    let errors = AtomicU64::new(0);
    let began = Instant::now();
    let worker = |w: u64| {
        let (client, by_id, issued, errors) = (&client, &by_id, &issued, &errors);
        async move {
            loop {
                let n = issued.fetch_add(1, Ordering::Relaxed);
                if n >= SOAK_REQUESTS || began.elapsed() > SOAK_TIME {
                    issued.fetch_sub(1, Ordering::Relaxed);
                    break;
                }
                // Three reads (by id, by titles, a list) for each write (a new item).
                let outcome = match n % 4 {
                    0 => client.read(by_id).await,
                    1 => client.read("op/vaults/Other Vault/items/totp").await,
                    2 => client.list(&format!("op/vaults/{}/items", ids::A)).await,
                    _ => {
                        let title = format!("soak {w}-{n}");
                        let body = json!({"category": "login", "title": title,
                            "fields": [{"id": "password", "type": "CONCEALED",
                                        "purpose": "PASSWORD", "value": "s"}]});
                        client
                            .write(&format!("op/vaults/{}/items", ids::B), &body)
                            .await
                    }
                };
                match outcome {
                    Ok(response) if response.is_success() => {}
                    Ok(response) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        eprintln!("soak request {n}: {} {:?}", response.status, response.body);
                    }
                    Err(err) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        eprintln!("soak request {n}: {err}");
                    }
                }
            }
        }
    };
    futures::future::join_all((0..SOAK_WORKERS).map(worker)).await;
    let elapsed = began.elapsed();
    let end = stack.bao.plugin_processes();
    let (requests, errors) = (issued.into_inner(), errors.into_inner());
    test_support::report(format_args!(
        "soak on {}: {requests} requests in {:.1}s ({SOAK_WORKERS} in flight), {errors} errors, \
         plugin RSS {} KiB at start, {} KiB at end",
        stack.backend().name(),
        elapsed.as_secs_f64(),
        start[0].rss_kib,
        end.first().map_or(0, |p| p.rss_kib),
    ));
    assert_eq!(errors, 0, "{}", stack.bao.log_tail(40));
    assert!(requests > 0);
    assert_eq!(end.len(), 1, "one engine process after the soak: {end:?}");
    assert_eq!(end[0].pid, start[0].pid, "the engine process was replaced");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrade_to_a_new_registered_version_resumes_requests() {
    // The engine reports its version, and OpenBao refuses a registration whose -version differs
    // from it; so the "old" release here is the unversioned registration of the same engine, and
    // the upgrade moves the mount to the versioned one, installed as a new file.
    let stack = stack(EngineSetup::Installed).await;
    let bao = &stack.bao;
    let cli = move |args: Vec<String>| async move {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        bao.cli(CliSite::Server, &args).await
    };
    let sha = format!("-sha256={}", stack.engine.sha256);
    cli(vec![
        "plugin".into(),
        "register".into(),
        sha.clone(),
        "secret".into(),
        engine::NAME.into(),
    ])
    .await
    .ok();
    stack.mount_engine(engine::MOUNT).await.unwrap();
    stack
        .configure(engine::MOUNT, stack.connect.as_ref().unwrap())
        .await
        .unwrap();
    let client = bao.client();
    let by_id = format!("op/vaults/{}/items/{}", ids::A, ids::X);
    assert_eq!(client.read(&by_id).await.unwrap().status, 200);
    let before = bao.plugin_processes();
    assert_eq!(before.len(), 1, "{before:?}");

    // The new release: its own file, registered with its version.
    let next_file = format!("{}-{}", engine::NAME, engine::VERSION);
    let next_sha = bao
        .install_plugin(&stack.engine.artifact, &next_file)
        .unwrap();
    cli(vec![
        "plugin".into(),
        "register".into(),
        format!("-sha256={next_sha}"),
        format!("-version={}", engine::VERSION),
        format!("-command={next_file}"),
        "secret".into(),
        engine::NAME.into(),
    ])
    .await
    .ok();
    cli(vec![
        "secrets".into(),
        "tune".into(),
        format!("-plugin-version={}", engine::VERSION),
        format!("{}/", engine::MOUNT),
    ])
    .await
    .ok();
    cli(vec![
        "plugin".into(),
        "reload".into(),
        format!("-plugin={}", engine::NAME),
    ])
    .await
    .ok();

    // Requests resume, on the new file, with the config kept.
    let read = client.read(&by_id).await.unwrap();
    assert_eq!(read.status, 200, "{:?}\n{}", read.body, bao.log_tail(40));
    assert_eq!(read.get("username"), &json!("admin"));
    let mounts = cli(vec![
        "secrets".into(),
        "list".into(),
        "-detailed".into(),
        "-format=json".into(),
    ])
    .await
    .json();
    let mount = &mounts[format!("{}/", engine::MOUNT)];
    assert_eq!(mount["plugin_version"], json!(engine::VERSION), "{mount}");
    assert_eq!(
        mount["running_plugin_version"],
        json!(engine::VERSION),
        "{mount}"
    );
    assert_eq!(mount["running_sha256"], json!(next_sha), "{mount}");
    let after = bao.plugin_processes();
    assert_eq!(after.len(), 1, "{after:?}");
    assert!(
        after[0].command.ends_with(&next_file),
        "still the old binary: {after:?}"
    );
    assert_ne!(after[0].pid, before[0].pid);
}
