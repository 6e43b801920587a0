//! The `mock-connect` binary as a process: port 0 prints the bound address, flags work, SIGTERM
//! stops it cleanly.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(args: &[&str]) -> (Process, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mock-connect"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (Process(child), url)
}

#[tokio::test]
async fn serves_on_a_free_port_and_stops_on_sigterm() {
    let (mut process, url) = start(&[
        "--addr",
        "127.0.0.1:0",
        "--demo",
        "--token",
        "cli-token=Private",
        "--fault",
        "GET /v1/vaults/*/items;status=500;times=1",
    ]);
    assert!(
        url.starts_with("http://127.0.0.1:") && !url.ends_with(":0"),
        "{url}"
    );
    let http = reqwest::Client::new();
    let vaults: serde_json::Value = http
        .get(format!("{url}/v1/vaults"))
        .bearer_auth("cli-token")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        vaults.as_array().unwrap().len(),
        1,
        "the token sees Private only"
    );
    let items = format!("{url}/v1/vaults/privatedemovault0000000001/items");
    let first = http
        .get(&items)
        .bearer_auth("cli-token")
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 500, "the --fault applies once");
    let second = http
        .get(&items)
        .bearer_auth("cli-token")
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 200);

    let pid = process.0.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let status = process.0.wait().unwrap();
    assert!(status.success(), "graceful shutdown exits 0, got {status}");
}

#[test]
fn help_documents_the_flags_and_faults() {
    let output = Command::new(env!("CARGO_BIN_EXE_mock-connect"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    for needle in [
        "--addr",
        "--token",
        "--fixture",
        "--demo",
        "--data",
        "--fault",
        "latency_ms",
        "drop",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}");
    }
}

#[test]
fn a_bad_fixture_is_a_clear_start_error() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = dir.path().join("bad.json");
    std::fs::write(
        &fixture,
        r#"{"vaults": [{"name": "v", "items": [{"title": "no category"}]}]}"#,
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_mock-connect"))
        .args(["--addr", "127.0.0.1:0", "--token", "t", "--fixture"])
        .arg(&fixture)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no category") && stderr.contains("category"),
        "{stderr}"
    );
}

/// Beyond loopback, `/__admin` is closed without an admin token and needs it with one; the
/// faults list is bounded either way.
#[tokio::test]
async fn admin_routes_need_the_admin_token_beyond_loopback() {
    let reachable = |url: &str| url.replace("0.0.0.0", "127.0.0.1");
    let http = reqwest::Client::new();

    let (_closed, url) = start(&["--addr", "0.0.0.0:0", "--demo"]);
    let closed = http
        .get(format!("{}/__admin/requests", reachable(&url)))
        .bearer_auth("anything")
        .send()
        .await
        .unwrap();
    assert_eq!(closed.status(), 403);
    let message = closed.text().await.unwrap();
    assert!(message.contains("--admin-token"), "{message}");
    let api = http
        .get(format!("{}/v1/vaults", reachable(&url)))
        .bearer_auth("anything")
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 200, "the Connect API itself stays open");

    let (_guarded, url) = start(&["--addr", "0.0.0.0:0", "--admin-token", "adm1n"]);
    let admin = format!("{}/__admin/faults", reachable(&url));
    for wrong in [None, Some("adm1"), Some("adm1n2")] {
        let mut request = http.get(&admin);
        if let Some(token) = wrong {
            request = request.bearer_auth(token);
        }
        assert_eq!(request.send().await.unwrap().status(), 401, "{wrong:?}");
    }
    let fault = serde_json::json!({"route": "/v1/**", "latency_ms": 1});
    let batch = |n: usize| serde_json::Value::Array(vec![fault.clone(); n]);
    let post = |body: serde_json::Value| http.post(&admin).bearer_auth("adm1n").json(&body).send();
    assert_eq!(post(batch(256)).await.unwrap().status(), 200);
    let refused = post(batch(1)).await.unwrap();
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("too many faults"));
    let listed: Vec<serde_json::Value> = http
        .get(&admin)
        .bearer_auth("adm1n")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.len(), 256);
}
