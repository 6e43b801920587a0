//! mock-connect throughput: `GET` of one item through a keep-alive reqwest client with 32
//! requests in flight, against an in-process server (demo data, and a 10,000-item vault).
//!
//! Criterion reports the throughput as elements/s, one element per request, i.e. requests per
//! second. With `target/release/mock-connect` built (`cargo build --release -p mock-connect`),
//! the bench also starts the binary with a generated 10,000-item fixture and prints its resident
//! memory (VmRSS).

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mock_connect::MockConnect;
use mock_connect::fixture::Fixture;
use serde_json::json;

const TOKEN: &str = "bench-token";
const IN_FLIGHT: u64 = 32;

/// A fixture with one vault of `count` login items.
fn fixture(count: usize) -> Fixture {
    let items: Vec<_> = (0..count)
        .map(|n| {
            json!({
                "title": format!("Item {n}"), "category": "LOGIN", "tags": ["bench"],
                "urls": [{"primary": true, "href": format!("https://site{n}.example.com")}],
                "fields": [
                    {"id": "username", "type": "STRING", "purpose": "USERNAME", "label": "username",
                     "value": format!("user{n}")},
                    {"id": "password", "type": "CONCEALED", "purpose": "PASSWORD", "label": "password",
                     "value": format!("password-{n}-Xy7!")},
                    {"id": "notesPlain", "type": "STRING", "purpose": "NOTES", "label": "notesPlain",
                     "value": "bench item"}
                ]
            })
        })
        .collect();
    serde_json::from_value(json!({"vaults": [{"name": "bench", "items": items}]}))
        .unwrap_or_default()
}

/// Runs `total` GETs of `url` with `IN_FLIGHT` concurrent workers; returns the elapsed time.
async fn hammer(client: &reqwest::Client, url: &Arc<str>, total: u64) -> Duration {
    let start = Instant::now();
    let workers: Vec<_> = (0..IN_FLIGHT)
        .map(|worker| {
            let client = client.clone();
            let url = Arc::clone(url);
            let share = total / IN_FLIGHT + u64::from(worker < total % IN_FLIGHT);
            tokio::spawn(async move {
                for _ in 0..share {
                    let response = client.get(&*url).bearer_auth(TOKEN).send().await;
                    match response {
                        Ok(response) if response.status().is_success() => {
                            let _ = response.bytes().await;
                        }
                        other => panic!("benchmark request failed: {other:?}"),
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.await;
    }
    start.elapsed()
}

fn get_one_item(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(IN_FLIGHT as usize)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_else(|e| panic!("client: {e}"));
    let mut group = c.benchmark_group("mock_connect");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(8));

    for (name, title, builder) in [
        (
            "get_item_demo",
            "Production Database",
            MockConnect::builder().token(TOKEN).demo(),
        ),
        (
            "get_item_10k",
            "Item 5000",
            MockConnect::builder().token(TOKEN).fixture(fixture(10_000)),
        ),
    ] {
        let mock = runtime
            .block_on(builder.spawn())
            .unwrap_or_else(|e| panic!("mock: {e}"));
        let vault = mock.store().vaults()[0].clone();
        // A plain item (no OTP field, so its JSON is served pre-serialised).
        let items = vault.items();
        let item = items
            .iter()
            .find(|i| i.item().title == title)
            .unwrap_or_else(|| panic!("no item {title}"));
        let url: Arc<str> = format!(
            "{}/v1/vaults/{}/items/{}",
            mock.url(),
            vault.id(),
            item.item().id
        )
        .into();
        group.bench_function(name, |b| {
            b.to_async(&runtime)
                .iter_custom(|iters| hammer(&client, &url, iters));
        });
        drop(mock);
    }
    group.finish();
    report_rss_of_binary();
}

/// Starts the release binary with 10,000 items and prints its VmRSS.
fn report_rss_of_binary() {
    let binary =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/mock-connect");
    if !binary.exists() {
        eprintln!(
            "mock-connect RSS: skipped, build it first with `cargo build --release -p mock-connect`"
        );
        return;
    }
    let dir = std::env::temp_dir().join(format!("mock-connect-bench-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("10k.json");
    let written = serde_json::to_vec(&fixture(10_000)).map(|json| std::fs::write(&path, json));
    if !matches!(written, Ok(Ok(()))) {
        eprintln!("mock-connect RSS: could not write the fixture");
        return;
    }
    let child = std::process::Command::new(&binary)
        .args(["--addr", "127.0.0.1:0", "--token", TOKEN, "--fixture"])
        .arg(&path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn();
    let Ok(mut child) = child else {
        eprintln!("mock-connect RSS: could not start {}", binary.display());
        return;
    };
    // The first stdout line appears once the fixture is loaded and the port is bound.
    if let Some(stdout) = child.stdout.take() {
        let mut line = String::new();
        let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line);
    }
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .unwrap_or("VmRSS: unknown");
    eprintln!(
        "mock-connect RSS with 10,000 items: {}",
        rss.trim_start_matches("VmRSS:").trim()
    );
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, get_one_item);
criterion_main!(benches);
