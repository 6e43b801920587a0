//! Oversized answers from Connect (issue 11, finding 2): a gigabyte item, file content or error
//! message is refused with a 502 as soon as the size limit is passed, the plugin's resident
//! memory stays flat while it happens, and the engine serves normally afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use harness::launch::bao::rss_kib;
use harness::scenario::{FILE_CONTENT, Scenario, ids};
use harness::vault_api::VaultResponse;
use serde_json::json;

/// One gibibyte: what a hostile or broken upstream sends.
const HUGE: u64 = 1 << 30;
/// The plugin must stay below this resident size throughout.
const RSS_CEILING_KIB: u64 = 128 * 1024;

fn item_x() -> String {
    format!("vaults/{}/items/{}", ids::A, ids::X)
}

/// The engine's process id (one process serves every mount of the shared server).
fn plugin_pid(s: &Scenario) -> u32 {
    let processes = s.env.stack.bao.plugin_processes();
    assert_eq!(processes.len(), 1, "one engine process: {processes:?}");
    processes[0].pid
}

/// Runs `request` while sampling the plugin's `VmRSS` every 10 ms; returns its answer and the
/// peak seen (KiB).
async fn with_peak_rss<F>(pid: u32, request: F) -> (VaultResponse, u64)
where
    F: std::future::Future<Output = VaultResponse>,
{
    let peak = Arc::new(AtomicU64::new(rss_kib(pid).unwrap_or(0)));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                if let Some(rss) = rss_kib(pid) {
                    peak.fetch_max(rss, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    let response = request.await;
    done.store(true, Ordering::Relaxed);
    sampler.await.unwrap();
    if let Some(rss) = rss_kib(pid) {
        peak.fetch_max(rss, Ordering::Relaxed);
    }
    (response, peak.load(Ordering::Relaxed))
}

/// A scenario with a request timeout the oversized answer must beat.
async fn scenario() -> Scenario {
    let s = Scenario::new().await;
    let written = s.configure(json!({"request_timeout": "20s"})).await;
    assert!(written.is_success(), "{:?}", written.body);
    s
}

fn assert_flat(what: &str, peak_kib: u64) {
    eprintln!(
        "peak plugin RSS during {what}: {peak_kib} KiB ({:.1} MiB)",
        peak_kib as f64 / 1024.0
    );
    assert!(
        peak_kib < RSS_CEILING_KIB,
        "plugin RSS reached {peak_kib} KiB during {what}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gigabyte_item_is_a_502_and_memory_stays_flat() {
    let s = scenario().await;
    let pid = plugin_pid(&s);
    s.connect
        .fault(json!({"route": "GET /v1/vaults/*/items/*", "body_bytes": HUGE, "times": 1}))
        .await;
    let (read, peak) = with_peak_rss(pid, s.read(&item_x())).await;
    s.expect_error(&read, 502, &["larger than the limit", "8388608 bytes"]);
    assert_flat("a 1 GiB item answer", peak);
    let again = s.read(&item_x()).await;
    assert_eq!(s.expect_data(&again)["password"], json!("pw-in-section"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gigabyte_file_is_a_502_and_memory_stays_flat() {
    let s = scenario().await;
    let pid = plugin_pid(&s);
    s.connect
        .fault(json!({"route": "GET /v1/vaults/*/items/*/files/*/content",
                      "body_bytes": HUGE, "times": 1}))
        .await;
    let file = format!("{}/files/{}", item_x(), ids::FILE);
    let (read, peak) = with_peak_rss(pid, s.read(&file)).await;
    s.expect_error(&read, 502, &["larger than the limit", "16777216 bytes"]);
    assert_flat("a 1 GiB file content answer", peak);
    let again = s.read(&file).await;
    use base64::Engine as _;
    assert_eq!(
        s.expect_data(&again)["content"],
        json!(base64::engine::general_purpose::STANDARD.encode(FILE_CONTENT))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gigabyte_error_message_is_dropped_and_a_long_one_cut() {
    let s = scenario().await;
    let pid = plugin_pid(&s);
    s.connect
        .fault(json!({"route": "GET /v1/vaults/*/items/*", "status": 500,
                      "body_bytes": HUGE, "times": 1}))
        .await;
    let (read, peak) = with_peak_rss(pid, s.read(&item_x())).await;
    let text = s.expect_error(&read, 502, &["status 500", "Internal Server Error"]);
    assert!(text.len() < 1024, "{} bytes of error", text.len());
    assert_flat("a 1 GiB error answer", peak);

    // A long message that is still read is echoed as a bounded excerpt only.
    let long = "m".repeat(50_000);
    s.connect
        .fault(json!({"route": "GET /v1/vaults/*/items/*", "status": 400,
                      "body": {"status": 400, "message": long}, "times": 1}))
        .await;
    let read = s.read(&item_x()).await;
    let text = s.expect_error(&read, 400, &["mmmmmmmm", "…"]);
    assert!(text.len() < 1024, "{} bytes of error", text.len());

    let again = s.read(&item_x()).await;
    assert_eq!(s.expect_data(&again)["password"], json!("pw-in-section"));
}

#[tokio::test]
async fn the_limit_is_a_config_setting() {
    let s = Scenario::new().await;
    let big = json!({"category": "password", "title": "big",
        "fields": [{"id": "notes", "type": "STRING", "label": "notes", "value": "n".repeat(4096)}]});
    let created = s.write(&format!("vaults/{}/items", ids::B), &big).await;
    s.expect_data(&created);
    let big_item = format!("vaults/{}/items/big", ids::B);
    let written = s.configure(json!({"max_response_size": 1024})).await;
    assert!(written.is_success(), "{:?}", written.body);
    let config = s.expect_data(&s.read("config").await);
    assert_eq!(config["max_response_size"], json!(1024));
    let read = s.read(&big_item).await;
    s.expect_error(&read, 502, &["larger than the limit", "1024 bytes"]);
    let config = s.expect_data(&s.read("config").await);
    assert_eq!(config["max_file_size"], json!(16 * 1024 * 1024));
    let refused = s.configure(json!({"max_response_size": 100})).await;
    s.expect_error(&refused, 400, &["max_response_size"]);
    let written = s.configure(json!({"max_response_size": 0})).await;
    assert!(written.is_success(), "{:?}", written.body);
    assert_eq!(
        s.expect_data(&s.read(&big_item).await)["notes"],
        json!("n".repeat(4096))
    );
}
