//! The README's run command: `harness up` brings the guide's stack up, the guide's commands work
//! against it as printed, and Ctrl-C stops every process it started.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use harness::launch::process::{children_of, free_port_pair};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// How long the demo may take to come up (it may build the engine first).
const UP_DEADLINE: Duration = Duration::from_secs(600);

#[test]
fn up_serves_the_guide_and_stops_cleanly_on_ctrl_c() {
    let port = free_port_pair("127.0.0.1").unwrap();
    let mut up = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["up", "--port", &port.to_string()])
        // This test is about child processes and Ctrl-C; the demo's container mode is the
        // same stack as the container suites run.
        .env("HARNESS_BACKEND", "process")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    // Lines arrive through a channel so the deadline holds even when the child prints nothing.
    let (tx, lines) = mpsc::channel::<String>();
    let stdout = up.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut transcript = String::new();
    let deadline = Instant::now() + UP_DEADLINE;
    while let Ok(line) = lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        transcript.push_str(&line);
        transcript.push('\n');
        if line.contains("Press Ctrl-C") {
            break;
        }
    }
    if !transcript.contains("Press Ctrl-C") {
        let _ = up.kill();
        let _ = up.wait();
    }
    assert!(
        transcript.contains("Press Ctrl-C"),
        "the demo did not come up:\n{transcript}"
    );
    let export = |name: &str| -> String {
        transcript
            .split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("{name} not printed:\n{transcript}"))
            .to_string()
    };
    let (addr, token) = (export("VAULT_ADDR"), export("VAULT_TOKEN"));
    assert_eq!(addr, format!("http://127.0.0.1:{port}"));
    let bao = transcript
        .split_whitespace()
        .find_map(|w| w.strip_prefix("bao="))
        .unwrap()
        .to_string();
    let vault = |args: &[&str]| {
        let out = Command::new(&bao)
            .args(args)
            .env("VAULT_ADDR", &addr)
            .env("VAULT_TOKEN", &token)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "vault {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(vault(&["list", "op/vaults"]).contains("engineering"));
    assert!(vault(&["list", "op/vaults/engineering/items"]).contains("docker-hub-service-account"));
    vault(&[
        "read",
        "op/vaults/engineering/items/docker-hub-service-account",
    ]);

    let started = children_of(up.id());
    assert!(!started.is_empty(), "the demo runs its servers as children");
    kill(Pid::from_raw(up.id() as i32), Signal::SIGINT).unwrap();
    let status = up.wait().unwrap();
    // The pipe closes with the process, which ends the reader thread and the channel.
    let rest: String = lines.iter().collect::<Vec<_>>().join("\n");
    assert!(
        status.success(),
        "exit {status}; output after Ctrl-C:\n{rest}"
    );
    assert!(rest.contains("Stopped."), "{rest}");
    for pid in started {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "process {pid} outlived the demo"
        );
    }
}

#[test]
fn registered_version_matches_the_engine_crate() {
    let manifest =
        std::fs::read_to_string(harness::provision::workspace_root().join("plugin/Cargo.toml"))
            .unwrap();
    let version = manifest
        .lines()
        .find_map(|l| l.strip_prefix("version = "))
        .unwrap()
        .trim_matches('"');
    assert_eq!(harness::launch::engine::VERSION, format!("v{version}"));
}
