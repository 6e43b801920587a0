//! The `mock-connect` binary as a child process, for the demo and for tests that want the mock
//! out of process (as the real Connect server would be).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::stop_child;

/// How long the mock may take to print its address.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the mock could not be started.
#[derive(Debug, thiserror::Error)]
pub enum MockError {
    /// Spawning failed.
    #[error("starting {binary}: {source}")]
    Spawn {
        /// The binary.
        binary: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The mock exited or never said where it listens.
    #[error("mock-connect did not start: {0}")]
    NotReady(String),
}

/// How to start the mock.
#[derive(Debug, Clone, Default)]
pub struct MockOptions {
    /// `--token` values (`TOKEN` or `TOKEN=VAULT,VAULT`).
    pub tokens: Vec<String>,
    /// Seed the built-in demo data set.
    pub demo: bool,
    /// Seed from a fixture file.
    pub fixture: Option<PathBuf>,
    /// Any further arguments.
    pub extra_args: Vec<String>,
}

/// A running `mock-connect` process; stopped on drop.
#[derive(Debug)]
pub struct MockConnectProcess {
    child: Child,
    url: String,
}

impl MockConnectProcess {
    /// Starts `binary` on a free loopback port and waits for its `listening on URL` line.
    pub fn start(binary: &Path, options: &MockOptions) -> Result<Self, MockError> {
        let mut command = Command::new(binary);
        command.args(["--addr", "127.0.0.1:0"]);
        for token in &options.tokens {
            command.args(["--token", token]);
        }
        if options.demo {
            command.arg("--demo");
        }
        if let Some(fixture) = &options.fixture {
            command.arg("--fixture").arg(fixture);
        }
        command
            .args(&options.extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = command.spawn().map_err(|source| MockError::Spawn {
            binary: binary.to_path_buf(),
            source,
        })?;
        let Some(stdout) = child.stdout.take() else {
            stop_child(&mut child);
            return Err(MockError::NotReady("no stdout".into()));
        };
        let (tx, rx) = std::sync::mpsc::channel();
        // The reader thread outlives the wait only until the pipe closes with the process.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.split("listening on ").nth(1) {
                    let _ = tx.send(url.trim().trim_end_matches('/').to_string());
                }
            }
        });
        match rx.recv_timeout(READY_TIMEOUT) {
            Ok(url) => Ok(Self { child, url }),
            Err(_) => {
                let status = child.try_wait().ok().flatten();
                stop_child(&mut child);
                Err(MockError::NotReady(match status {
                    Some(status) => format!("it exited with {status}"),
                    None => format!("no `listening on` line within {READY_TIMEOUT:?}"),
                }))
            }
        }
    }

    /// The base URL, e.g. `http://127.0.0.1:41000` (what `op_connect_host` is set to).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for MockConnectProcess {
    fn drop(&mut self) {
        stop_child(&mut self.child);
    }
}
