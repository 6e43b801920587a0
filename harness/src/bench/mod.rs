//! `harness bench`: one load run over OpenBao's builtin kv-v2, a null plugin, this engine's
//! operations and any other plugin given, written as a Markdown report with SVG charts.
//!
//! Everything runs on this machine over loopback: a release `bao server -dev`, the release
//! engine registered and mounted at `op/` (and at `op-cached/` with `item_cache_ttl`), the
//! SDK's null plugin at `null/`, and a release `mock-connect` child process as Connect. Each
//! target gets a warm-up, then a fixed-duration run with a fixed number of clients; CPU per
//! request of each process comes from `/proc`, Connect requests per operation from the mock's
//! journal over a short sequential sample.

pub mod load;
pub mod measure;
pub mod report;
pub mod svg;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use crate::launch::{ConnectSeed, EngineSetup, LaunchError, Stack, StackOptions, engine};
use crate::plugin::{self, BuildTarget, PluginError, Profile};
use crate::scenario::{self, ids};
use load::{Load, LoadResult, Op};
use measure::{CpuSnapshot, Machine, Pids};

/// Bounds on the flags, so a run always ends and stays on one machine's loopback.
const MAX_CONCURRENCY: usize = 256;
const MAX_DURATION: Duration = Duration::from_secs(120);
/// Requests in the Connect-requests-per-operation sample.
const CONNECT_SAMPLE: u64 = 40;
/// Start-ups per plugin for the start-up median.
const STARTUP_RUNS: usize = 15;
/// The null plugin's catalog name and mount.
const NULL_NAME: &str = "null-plugin";
const NULL_MOUNT: &str = "null";
/// The null plugin's read through a path its resolve-path re-routes.
const NULL_REROUTED: &str = "null plugin: read, re-routed";
/// The second mount of the engine, with the item cache on.
const CACHED_MOUNT: &str = "op-cached";

/// What `harness bench` was asked for.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Requests in flight.
    pub concurrency: usize,
    /// Measured time per target.
    pub duration: Duration,
    /// Unmeasured time per target before it.
    pub warmup: Duration,
    /// Other plugins: catalog/mount name and binary.
    pub plugins: Vec<(String, PathBuf)>,
    /// Where the report goes.
    pub out_dir: PathBuf,
    /// The report's file stem (default: today's date).
    pub stem: Option<String>,
}

/// Why a bench run failed.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// Bad flags.
    #[error("{0}")]
    Options(String),
    /// The stack did not come up.
    #[error(transparent)]
    Launch(#[from] LaunchError),
    /// Building, registering or mounting a plugin failed.
    #[error(transparent)]
    Plugin(#[from] PluginError),
    /// A set-up request failed.
    #[error("set-up: {0}")]
    Setup(String),
    /// Writing the report failed.
    #[error("writing the report: {0}")]
    Io(#[from] std::io::Error),
}

/// One measured target.
#[derive(Debug, Clone)]
pub struct Row {
    /// What was driven (`<mount>: <operation>`).
    pub label: String,
    /// The load run.
    pub load: LoadResult,
    /// µs of CPU per request: server, plugin, mock.
    pub cpu: [Option<f64>; 3],
    /// Connect requests per operation (sequential sample).
    pub connect_per_op: Option<f64>,
}

/// Facts about one plugin binary.
#[derive(Debug, Clone)]
pub struct PluginFacts {
    /// Its catalog name.
    pub name: String,
    /// Size of the binary on disk.
    pub size_bytes: u64,
    /// Median spawn → handshake line.
    pub startup: Option<Duration>,
    /// `VmRSS` right after its last read target (before any write), KiB.
    pub rss_reads_kib: u64,
    /// `VmRSS` after all its load runs, KiB.
    pub rss_kib: u64,
    /// `VmHWM` (peak RSS), KiB.
    pub peak_kib: u64,
}

/// Everything a report shows.
#[derive(Debug, Clone)]
pub struct Results {
    /// The day of the run (UTC).
    pub date: String,
    /// Requests in flight.
    pub concurrency: usize,
    /// Measured time per target.
    pub duration: Duration,
    /// Warm-up per target.
    pub warmup: Duration,
    /// The machine when the run started.
    pub machine_before: Machine,
    /// The machine when the run ended.
    pub machine_after: Machine,
    /// OpenBao's version.
    pub server_version: String,
    /// Every target, in run order.
    pub rows: Vec<Row>,
    /// Every plugin.
    pub plugins: Vec<PluginFacts>,
    /// Names of the other plugins (`--plugin`).
    pub others: Vec<String>,
}

/// A target: a label, the request, and which plugin serves it.
struct Target {
    label: String,
    op: Op,
    plugin: Option<String>,
}

fn setup_error(what: &str, response: &crate::vault_api::VaultResponse) -> BenchError {
    BenchError::Setup(format!("{what}: {} {:?}", response.status, response.errors))
}

/// The body every create and update sends: a login like the ones the guide shows.
fn item_body(title: &str) -> Value {
    json!({
        "category": "login", "title": title,
        "fields": [
            {"id": "username", "type": "STRING", "purpose": "USERNAME", "label": "username", "value": "bench"},
            {"id": "password", "type": "CONCEALED", "purpose": "PASSWORD", "label": "password", "value": "s3cr3t-p4ss"}
        ]
    })
}

/// The engine's operations on `mount` (this engine, or another implementation of it);
/// `update_id` is an item in vault B, titled `update_title`, that update and patch rewrite
/// (keeping its title, so every mount's target stays the only item with its title).
///
/// Update and patch run before create, in the vault as every mount finds it; create makes items
/// with distinct titles, as real vaults hold; delete removes some of them, and the run removes
/// the rest afterwards (unmeasured), so the next mount starts from the same vault.
fn engine_targets(
    name: &str,
    mount: &str,
    (update_id, update_title): (&str, &str),
    plugin: &str,
) -> Vec<Target> {
    let item = |id: &str| format!("{mount}/vaults/{}/items/{id}", ids::A);
    let t = |what: &str, op: Op| Target {
        label: format!("{name}: {what}"),
        op,
        plugin: Some(plugin.to_owned()),
    };
    vec![
        t("config read", Op::Read(format!("{mount}/config"))),
        t("item by id", Op::Read(item(ids::X))),
        t(
            "item by title",
            Op::Read(format!("{mount}/vaults/Shared/items/db")),
        ),
        t(
            "field read",
            Op::Read(format!("{}/fields/username", item(ids::X))),
        ),
        t(
            "list items",
            Op::List(format!("{mount}/vaults/{}/items", ids::A)),
        ),
        t(
            "update",
            Op::Update(
                format!("{mount}/vaults/{}/items/{update_id}", ids::B),
                item_body(update_title),
            ),
        ),
        t(
            "patch",
            Op::Patch(
                format!("{mount}/vaults/{}/items/{update_id}", ids::B),
                json!({"fields": [{"label": "username", "value": "patched"}]}),
            ),
        ),
        t(
            "create",
            Op::Create(
                format!("{mount}/vaults/{}/items", ids::B),
                item_body("bench item"),
            ),
        ),
        t(
            "delete",
            Op::Delete(format!("{mount}/vaults/{}/items/", ids::B)),
        ),
    ]
}

fn progress(text: &str) {
    print!("{text}");
    let _ = std::io::stdout().flush();
}

fn today() -> String {
    chrono::Utc::now().format("%Y-%m-%d").to_string()
}

/// Runs the whole benchmark and writes the report; returns the Markdown file's path.
pub async fn run(options: &BenchOptions) -> Result<PathBuf, BenchError> {
    if !(1..=MAX_CONCURRENCY).contains(&options.concurrency) {
        return Err(BenchError::Options(format!(
            "--concurrency must be 1..={MAX_CONCURRENCY}"
        )));
    }
    if options.duration.is_zero() || options.duration > MAX_DURATION {
        return Err(BenchError::Options(format!(
            "--duration must be 1..={} seconds",
            MAX_DURATION.as_secs()
        )));
    }
    for (name, path) in &options.plugins {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            || [
                engine::MOUNT,
                CACHED_MOUNT,
                NULL_MOUNT,
                NULL_NAME,
                engine::NAME,
            ]
            .contains(&name.as_str())
        {
            return Err(BenchError::Options(format!(
                "--plugin {name}=…: the name must be letters, digits, - or _, and not one the bench uses"
            )));
        }
        if !path.is_file() {
            return Err(BenchError::Options(format!(
                "--plugin {name}={}: no such file",
                path.display()
            )));
        }
    }
    let machine_before = Machine::now();
    println!(
        "harness bench: {} cores, load average {}; {} in flight, {} s per target",
        machine_before.cores,
        machine_before.load,
        options.concurrency,
        options.duration.as_secs()
    );
    let stack = Stack::start(StackOptions {
        connect: Some(ConnectSeed::Fixture(scenario::fixture())),
        connect_token: format!("bench-{}", hex::encode(rand::random::<[u8; 8]>())),
        engine: EngineSetup::Mounted,
        profile: Profile::Release,
        log_level: "warn".into(),
        mock_as_process: true,
        progress: true,
        ..StackOptions::default()
    })
    .await?;
    let Some(connect) = &stack.connect else {
        return Err(BenchError::Setup("the stack has no Connect mock".into()));
    };
    let client = stack.bao.client();

    progress("  • Building and mounting the null plugin … ");
    let null_binary = crate::launch::blocking(|| {
        Ok(plugin::build(
            "vault-plugin-sdk",
            BuildTarget::Example(NULL_NAME),
            Profile::Release,
        )?)
    })
    .await?;
    let sha = stack.bao.install_plugin(&null_binary, NULL_NAME)?;
    plugin::register_installed(&client, NULL_NAME, &sha, None).await?;
    plugin::mount(&client, NULL_MOUNT, NULL_NAME).await?;
    println!("done");

    progress("  • Mounting op-cached/ (item_cache_ttl=300s), kv-v2 secret, other plugins … ");
    stack.mount_engine(CACHED_MOUNT).await?;
    let cached = client
        .write(
            &format!("{CACHED_MOUNT}/config"),
            &json!({"op_connect_host": connect.url, "op_connect_token": connect.token, "item_cache_ttl": "300s"}),
        )
        .await
        .map_err(|e| BenchError::Setup(e.to_string()))?;
    if !cached.is_success() {
        return Err(setup_error("configuring op-cached/", &cached));
    }
    // A kv-v2 secret holding exactly what the engine's item read returns.
    let item = client
        .read(&format!("op/vaults/{}/items/{}", ids::A, ids::X))
        .await
        .map_err(|e| BenchError::Setup(e.to_string()))?;
    let data = item
        .data
        .clone()
        .ok_or_else(|| setup_error("reading the bench item", &item))?;
    let kv = client
        .write("secret/data/bench", &json!({ "data": data }))
        .await
        .map_err(|e| BenchError::Setup(e.to_string()))?;
    if !kv.is_success() {
        return Err(setup_error("writing the kv-v2 secret", &kv));
    }
    let mut binaries: Vec<(String, PathBuf)> = vec![
        (NULL_NAME.to_owned(), null_binary.clone()),
        (engine::NAME.to_owned(), stack.engine.artifact.clone()),
    ];
    for (name, path) in &options.plugins {
        let sha = stack.bao.install_plugin(path, name)?;
        plugin::register_installed(&client, name, &sha, None).await?;
        plugin::mount(&client, name, name).await?;
        stack.configure(name, connect).await?;
        binaries.push((name.clone(), path.clone()));
    }
    println!("done");

    // Update and patch rewrite one item per mount, created through that mount.
    let mut targets = vec![
        Target {
            label: "kv-v2 read".into(),
            op: Op::Read("secret/data/bench".into()),
            plugin: None,
        },
        Target {
            label: "null plugin: read".into(),
            op: Op::Read(format!("{NULL_MOUNT}/item")),
            plugin: Some(NULL_NAME.into()),
        },
        // The same read spelled `alias/item`, which the null plugin's resolve-path maps to
        // `item`: what the server's re-routing to a canonical path costs (reads by id pay it).
        Target {
            label: NULL_REROUTED.into(),
            op: Op::Read(format!("{NULL_MOUNT}/alias/item")),
            plugin: Some(NULL_NAME.into()),
        },
    ];
    let mut mounts = vec![(
        "op".to_owned(),
        engine::MOUNT.to_owned(),
        engine::NAME.to_owned(),
    )];
    mounts.extend(
        options
            .plugins
            .iter()
            .map(|(name, _)| (name.clone(), name.clone(), name.clone())),
    );
    for (name, mount, plugin_name) in &mounts {
        let title = format!("bench update target {name}");
        let created = client
            .write(
                &format!("{mount}/vaults/{}/items", ids::B),
                &item_body(&title),
            )
            .await
            .map_err(|e| BenchError::Setup(e.to_string()))?;
        let id = created
            .data
            .as_ref()
            .and_then(|d| d["ID"].as_str().or_else(|| d["id"].as_str()))
            .map(str::to_owned)
            .ok_or_else(|| setup_error(&format!("creating an item through {mount}/"), &created))?;
        let mut more = engine_targets(name, mount, (&id, &title), plugin_name);
        if name == "op" {
            more.insert(
                3,
                Target {
                    label: "op: item by id, item_cache_ttl".into(),
                    op: Op::Read(format!("{CACHED_MOUNT}/vaults/{}/items/{}", ids::A, ids::X)),
                    plugin: Some(engine::NAME.into()),
                },
            );
        }
        targets.extend(more);
    }

    let load = Load::new(
        stack.bao.addr(),
        stack.bao.root_token(),
        options.concurrency,
    )
    .map_err(|e| BenchError::Setup(e.to_string()))?;
    let server = stack.bao.pid();
    let mock = connect.pid();
    let mut rows = Vec::with_capacity(targets.len());
    // Each plugin's VmRSS (KiB) right after its last read target, before any write.
    let mut rss_after_reads: std::collections::HashMap<String, u64> =
        std::collections::HashMap::new();
    let total = targets.len();
    for (i, target) in targets.iter().enumerate() {
        progress(&format!("  [{:>2}/{total}] {:<36} ", i + 1, target.label));
        // The first request starts a mount's plugin; look its process up after it.
        if !matches!(target.op, Op::Delete(_)) {
            load.run(&target.op, options.concurrency, options.warmup)
                .await;
        }
        let plugin = target
            .plugin
            .as_deref()
            .and_then(|name| plugin_pid(&stack, name));
        connect.clear_journal().await;
        let sampled = load.repeat(&target.op, CONNECT_SAMPLE).await;
        let connect_per_op = if sampled > 0 {
            Some(connect.journal().await.len() as f64 / sampled as f64)
        } else {
            None
        };
        let pids = Pids {
            server,
            plugin,
            mock,
        };
        let before = CpuSnapshot::take(&pids);
        let result = load
            .run(&target.op, options.concurrency, options.duration)
            .await;
        let after = CpuSnapshot::take(&pids);
        let cpu = before.per_request(&after, result.ok + result.failed);
        println!(
            "{:>7} req/s  p50 {:>6.2} ms  plugin {:>5} µs/req{}",
            svg::thousands(result.rps()),
            result.quantile(0.5).as_secs_f64() * 1e3,
            cpu[1].map_or_else(|| "—".into(), |v| format!("{v:.0}")),
            if result.failed > 0 {
                format!("  ({} failed)", result.failed)
            } else {
                String::new()
            }
        );
        if let (Op::Read(_) | Op::List(_), Some(name), Some(pid)) =
            (&target.op, &target.plugin, plugin)
        {
            rss_after_reads.insert(name.clone(), measure::memory_kib(pid).0);
        }
        if let Op::Delete(prefix) = &target.op {
            let left = load.created();
            let failed = load.remove_created(prefix, options.concurrency).await;
            println!(
                "         removed the {left} items the create run left{}",
                if failed > 0 {
                    format!(" ({failed} deletes failed)")
                } else {
                    String::new()
                }
            );
        }
        rows.push(Row {
            label: target.label.clone(),
            load: result,
            cpu,
            connect_per_op,
        });
    }

    let mut plugins = Vec::new();
    for (name, binary) in &binaries {
        progress(&format!(
            "  • Start-up of {name} (median of {STARTUP_RUNS}) … "
        ));
        let (rss_kib, peak_kib) = plugin_pid(&stack, name).map_or((0, 0), measure::memory_kib);
        let path = binary.clone();
        let startup =
            tokio::task::spawn_blocking(move || measure::startup_median(&path, STARTUP_RUNS))
                .await
                .map_err(|e| BenchError::Setup(e.to_string()))?;
        match &startup {
            Ok(d) => println!("{:.2} ms", d.as_secs_f64() * 1e3),
            Err(why) => println!("not measured: {why}"),
        }
        plugins.push(PluginFacts {
            name: name.clone(),
            size_bytes: std::fs::metadata(binary).map_or(0, |m| m.len()),
            startup: startup.ok(),
            rss_reads_kib: rss_after_reads.get(name).copied().unwrap_or(0),
            rss_kib,
            peak_kib,
        });
    }

    let server_version = client
        .read("sys/seal-status")
        .await
        .ok()
        .and_then(|r| r.body["version"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "2.7.2".into());
    let results = Results {
        date: today(),
        concurrency: options.concurrency,
        duration: options.duration,
        warmup: options.warmup,
        machine_before,
        machine_after: Machine::now(),
        server_version,
        rows,
        plugins,
        others: options.plugins.iter().map(|(n, _)| n.clone()).collect(),
    };
    let stem = options.stem.clone().unwrap_or_else(today);
    Ok(results.write(&options.out_dir, &stem)?)
}

/// The pid of the server's process for plugin `name` (its command ends with `/<name>`).
fn plugin_pid(stack: &Stack, name: &str) -> Option<u32> {
    stack
        .bao
        .plugin_processes()
        .into_iter()
        .find(|p| Path::new(&p.command).file_name().is_some_and(|f| f == name))
        .map(|p| p.pid)
}
