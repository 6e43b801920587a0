//! Item reads through OpenBao and the op-connect engine, against OpenBao's builtin kv-v2 read of
//! a secret of the same size, all over HTTP with keep-alive and 16 requests in flight.
//!
//! Set-up: a real `bao server -dev`, the engine built in release mode, registered and mounted at
//! `op/`, configured against an in-process mock-connect seeded with the §15 fixture. The mock
//! runs on its own runtime threads (the harness's scenario runtime), the client on a
//! current-thread runtime, so the mock is never the bottleneck. Besides criterion's timings the
//! bench prints requests per second of each path, the ratios to kv-v2, and the plugin's resident
//! memory under that load.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use harness::launch::{self, ConnectSeed, EngineSetup, StackOptions};
use harness::plugin::Profile;
use harness::scenario::{self, ids};
use serde_json::json;

/// Requests in flight.
const CONCURRENCY: usize = 16;
/// Length of the plain throughput runs printed besides criterion's figures.
const RPS_WINDOW: Duration = Duration::from_secs(3);

struct Stack {
    stack: launch::Stack,
    http: reqwest::Client,
}

impl Stack {
    async fn start() -> Stack {
        // The release engine on processes, mounted at op/ against an in-process mock.
        let stack = launch::Stack::start(StackOptions {
            connect: Some(ConnectSeed::Fixture(scenario::fixture())),
            connect_token: "bench-connect-token".into(),
            engine: EngineSetup::Mounted,
            profile: Profile::for_benches(),
            log_level: "warn".into(),
            ..StackOptions::default()
        })
        .await
        .expect("the stack starts");
        let client = stack.bao.client();

        // A kv-v2 secret holding exactly what the item read returns.
        let item = client
            .read(&format!("op/vaults/{}/items/{}", ids::A, ids::X))
            .await
            .unwrap();
        assert_eq!(item.status, 200, "{:?}", item.body);
        let data = item.data.clone().unwrap();
        let kv = client
            .write("secret/data/bench", &json!({ "data": data }))
            .await
            .unwrap();
        assert!(kv.is_success(), "{:?}", kv.body);

        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(CONCURRENCY * 2)
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Stack { stack, http }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v1/{path}", self.stack.bao.addr())
    }

    async fn get(&self, url: &str) {
        let response = self
            .http
            .get(url)
            .header("X-Vault-Token", self.stack.bao.root_token())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{url}");
        std::hint::black_box(response.bytes().await.unwrap());
    }

    /// `n` rounds of [`CONCURRENCY`] concurrent GETs of `url`; the wall time.
    async fn rounds(&self, url: &str, n: u64) -> Duration {
        let start = Instant::now();
        for _ in 0..n {
            futures::future::join_all((0..CONCURRENCY).map(|_| self.get(url))).await;
        }
        start.elapsed()
    }

    /// Requests per second with [`CONCURRENCY`] workers looping for [`RPS_WINDOW`].
    async fn rps(&self, url: &str) -> f64 {
        let start = Instant::now();
        let worker = || async {
            let mut done = 0u64;
            while start.elapsed() < RPS_WINDOW {
                self.get(url).await;
                done += 1;
            }
            done
        };
        let counts = futures::future::join_all((0..CONCURRENCY).map(|_| worker())).await;
        counts.iter().sum::<u64>() as f64 / start.elapsed().as_secs_f64()
    }
}

/// `VmRSS` and `VmHWM` (peak) of `pid`, as printed in /proc.
fn memory(pid: u32) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .filter(|l| l.starts_with("VmRSS") || l.starts_with("VmHWM"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join(", ")
}

fn engine(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let stack = rt.block_on(Stack::start());
    let paths: [(&str, String); 3] = [
        ("kv_v2", stack.url("secret/data/bench")),
        (
            "op_by_id",
            stack.url(&format!("op/vaults/{}/items/{}", ids::A, ids::X)),
        ),
        ("op_by_title", stack.url("op/vaults/Shared/items/db")),
    ];

    let mut group = c.benchmark_group("engine_read");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(CONCURRENCY as u64));
    for (name, url) in &paths {
        group.bench_function(*name, |b| {
            b.to_async(&rt).iter_custom(|n| stack.rounds(url, n));
        });
    }
    group.finish();

    // Two interleaved rounds, best of each: the machine is shared, so take the least disturbed.
    let mut rps: Vec<(String, f64)> = paths.iter().map(|(n, _)| (n.to_string(), 0.0)).collect();
    for _ in 0..2 {
        for ((_, url), (_, best)) in paths.iter().zip(rps.iter_mut()) {
            *best = best.max(rt.block_on(stack.rps(url)));
        }
    }
    let kv = rps[0].1;
    println!("\nthroughput with {CONCURRENCY} requests in flight over keep-alive HTTP:");
    for (name, value) in &rps {
        println!(
            "  {name:<12} {value:>9.0} req/s   ratio to kv-v2 {:.2}",
            value / kv
        );
    }
    match stack.stack.bao.plugin_processes().first() {
        Some(process) => println!("plugin process {}: {}", process.pid, memory(process.pid)),
        None => println!("plugin process not found under the server"),
    }
    let summary: serde_json::Value = json!(rps);
    println!("summary {summary}");
}

criterion_group!(benches, engine);
criterion_main!(benches);
