//! Cleanup for what a `static` owns: a static is never dropped, so its `Drop` cannot stop the
//! servers it holds. A small `sh` watchdog waits for this test process to exit and then removes
//! them (only them: one pid, or the containers and networks labelled with this process's id).

use std::path::Path;
use std::process::{Command, Stdio};

use super::labels;

/// What the watchdog removes once this process is gone.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Leftover<'a> {
    /// A server process (SIGTERM, then SIGKILL) and its scratch directory.
    Process {
        /// The server's pid.
        pid: u32,
        /// Its scratch directory.
        scratch: &'a Path,
    },
    /// Every container and network labelled with this process's id, and a host scratch
    /// directory.
    Docker {
        /// The host scratch directory of the stack.
        scratch: &'a Path,
    },
}

const WAIT_FOR_PARENT: &str = r#"while kill -0 "$1" 2>/dev/null; do sleep 0.3; done"#;

/// Starts the watchdog for `leftover`.
pub(crate) fn reap_when_process_exits(leftover: Leftover<'_>) {
    let me = std::process::id().to_string();
    let mut command = Command::new("sh");
    match leftover {
        Leftover::Process { pid, scratch } => {
            let script = format!(
                r#"{WAIT_FOR_PARENT}
                kill -TERM "$2" 2>/dev/null
                i=0
                while kill -0 "$2" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
                kill -KILL "$2" 2>/dev/null
                rm -rf "$3""#
            );
            command
                .arg("-c")
                .arg(script)
                .arg("watchdog")
                .arg(&me)
                .arg(pid.to_string())
                .arg(scratch);
        }
        Leftover::Docker { scratch } => {
            let script = format!(
                r#"{WAIT_FOR_PARENT}
                docker ps -aq --filter "label=$2" | xargs -r docker rm -f -v >/dev/null 2>&1
                docker network ls -q --filter "label=$2" | xargs -r docker network rm >/dev/null 2>&1
                rm -rf "$3""#
            );
            command
                .arg("-c")
                .arg(script)
                .arg("watchdog")
                .arg(&me)
                .arg(format!("{}={}", labels::PROCESS, labels::process_id()))
                .arg(scratch);
        }
    }
    let spawned = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    if let Err(err) = spawned {
        tracing::warn!(%err, "cannot start the cleanup watchdog");
    }
}
