//! What is read from the machine: CPU time and memory of a process from `/proc`, a plugin's
//! start-up time, the machine's cores and load.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Clock ticks per second of `/proc/<pid>/stat` times (`USER_HZ`, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU time (user + system) `pid` has used so far; `None` once it is gone.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields are counted after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')': state is field 3 of the man page, utime 14 and stime 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_secs_f64(
        (utime + stime) as f64 / TICKS_PER_SECOND,
    ))
}

/// `VmRSS` and `VmHWM` (peak) of `pid` in KiB.
pub fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The processes measured around one load run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pids {
    /// The OpenBao server.
    pub server: Option<u32>,
    /// The plugin serving the target (none for kv-v2).
    pub plugin: Option<u32>,
    /// The Connect mock.
    pub mock: Option<u32>,
}

/// CPU times of [`Pids`] at one moment.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuSnapshot {
    server: Option<Duration>,
    plugin: Option<Duration>,
    mock: Option<Duration>,
}

impl CpuSnapshot {
    /// Reads the CPU time of each process now.
    pub fn take(pids: &Pids) -> CpuSnapshot {
        CpuSnapshot {
            server: pids.server.and_then(cpu_time),
            plugin: pids.plugin.and_then(cpu_time),
            mock: pids.mock.and_then(cpu_time),
        }
    }

    /// µs of CPU per request of server, plugin and mock between `self` and `later`.
    pub fn per_request(&self, later: &CpuSnapshot, requests: u64) -> [Option<f64>; 3] {
        let per = |a: Option<Duration>, b: Option<Duration>| {
            let (a, b) = (a?, b?);
            (requests > 0).then(|| b.saturating_sub(a).as_secs_f64() * 1e6 / requests as f64)
        };
        [
            per(self.server, later.server),
            per(self.plugin, later.plugin),
            per(self.mock, later.mock),
        ]
    }
}

/// A self-signed certificate for the host side of the handshake (the plugin only parses it).
fn host_certificate() -> Result<String, String> {
    let key =
        rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|e| e.to_string())?;
    let params =
        rcgen::CertificateParams::new(vec!["localhost".into()]).map_err(|e| e.to_string())?;
    Ok(params.self_signed(&key).map_err(|e| e.to_string())?.pem())
}

/// Median time from spawning `binary` the way the server does (magic cookie, protocol 5, a
/// host certificate for AutoMTLS) to its handshake line on stdout, over `runs` starts.
pub fn startup_median(binary: &Path, runs: usize) -> Result<Duration, String> {
    let certificate = host_certificate()?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let mut child = Command::new(binary)
            .env(
                "VAULT_BACKEND_PLUGIN",
                "6669da05-b1c8-4f49-97d9-c8e5bed98e20",
            )
            .env("PLUGIN_PROTOCOL_VERSIONS", "5")
            .env("PLUGIN_CLIENT_CERT", &certificate)
            .env("VAULT_PLUGIN_LOG_LEVEL", "off")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("spawning {}: {e}", binary.display()))?;
        let mut line = String::new();
        let read = match child.stdout.take() {
            Some(stdout) => BufReader::new(stdout).read_line(&mut line),
            None => Ok(0),
        };
        let elapsed = started.elapsed();
        // SIGKILL: only the time to the handshake matters; the socket file is in a temp dir.
        let _ = child.kill();
        let _ = child.wait();
        match read {
            Ok(_) if line.contains("|unix|") || line.contains("|tcp|") => times.push(elapsed),
            _ => {
                return Err(format!(
                    "no handshake line from {}: {line:?}",
                    binary.display()
                ));
            }
        }
    }
    times.sort_unstable();
    times
        .get(times.len() / 2)
        .copied()
        .ok_or_else(|| "no runs".to_owned())
}

/// Cores, load average and CPU model of this machine, for the report's header.
#[derive(Debug, Clone, Default)]
pub struct Machine {
    /// Logical CPUs.
    pub cores: usize,
    /// `/proc/loadavg`'s 1, 5 and 15 minute figures.
    pub load: String,
    /// The CPU model name.
    pub cpu: String,
    /// The kernel release.
    pub kernel: String,
}

impl Machine {
    /// Reads the facts now.
    pub fn now() -> Machine {
        let load = std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ");
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
            .unwrap_or_default();
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_owned();
        Machine {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            load,
            cpu,
            kernel,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_cpu_time_and_memory() {
        let pid = std::process::id();
        // Burn a little CPU so at least one tick is counted.
        let started = Instant::now();
        let mut x = 0u64;
        while started.elapsed() < Duration::from_millis(30) {
            x = x.wrapping_mul(31).wrapping_add(7);
        }
        std::hint::black_box(x);
        assert!(cpu_time(pid).is_some());
        let (rss, peak) = memory_kib(pid);
        assert!(rss > 0 && peak >= rss, "{rss} {peak}");
        assert!(cpu_time(u32::MAX).is_none());
    }

    #[test]
    fn per_request_divides_the_difference() {
        let a = CpuSnapshot {
            server: Some(Duration::from_millis(100)),
            plugin: Some(Duration::from_millis(10)),
            mock: None,
        };
        let b = CpuSnapshot {
            server: Some(Duration::from_millis(300)),
            plugin: Some(Duration::from_millis(60)),
            mock: None,
        };
        assert_eq!(a.per_request(&b, 1000), [Some(200.0), Some(50.0), None]);
        assert_eq!(a.per_request(&b, 0), [None, None, None]);
    }
}
