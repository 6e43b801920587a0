//! `startup-probe`: measures a plugin binary's spawn → handshake-line time and its resident
//! memory after the handshake, by launching it the way the server does (cookie, protocol 5,
//! a host certificate) without a server.
//!
//! `cargo run --release -p vault-plugin-sdk --example startup-probe -- <plugin binary> [runs]`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn main() {
    let mut args = std::env::args().skip(1);
    let binary = args
        .next()
        .expect("usage: startup-probe <plugin binary> [runs]");
    let runs: usize = args
        .next()
        .map_or(20, |r| r.parse().expect("runs is a number"));
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).unwrap();
    let host_cert = rcgen::CertificateParams::new(vec!["localhost".into()])
        .unwrap()
        .self_signed(&key)
        .unwrap()
        .pem();

    let mut handshakes = Vec::with_capacity(runs);
    let mut rss = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let mut child = Command::new(&binary)
            .env(
                "VAULT_BACKEND_PLUGIN",
                "6669da05-b1c8-4f49-97d9-c8e5bed98e20",
            )
            .env("PLUGIN_PROTOCOL_VERSIONS", "5")
            .env("PLUGIN_CLIENT_CERT", &host_cert)
            .env("VAULT_PLUGIN_LOG_LEVEL", "off")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawning the plugin");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        handshakes.push(started.elapsed());
        assert!(
            line.starts_with("1|5|unix|"),
            "unexpected handshake {line:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
        rss.push(rss_kib(child.id()).unwrap_or(0));
        // SIGTERM lets the plugin remove its socket.
        Command::new("kill")
            .arg(child.id().to_string())
            .status()
            .unwrap();
        child.wait().unwrap();
    }
    handshakes.sort();
    rss.sort_unstable();
    let median = |v: &[Duration]| v[v.len() / 2];
    println!(
        "runs={runs} handshake median={:?} min={:?} max={:?}; idle RSS median={} KiB",
        median(&handshakes),
        handshakes[0],
        handshakes[handshakes.len() - 1],
        rss[rss.len() / 2]
    );
}
