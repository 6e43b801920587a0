//! The official Python SDK (`onepasswordconnectsdk` from PyPI) against the mock.
//!
//! The SDK is installed once into a virtualenv under the workspace's `target/` and reused; the
//! driver `tests/python/sdk_driver.py` calls every public client function against an in-process
//! mock seeded with the demo data. Without python3 (or PyPI) the test fails under `CI=true` and
//! is skipped, visibly, otherwise.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use mock_connect::MockConnect;

const SDK: &str = "onepasswordconnectsdk==2.1.1";
const TOKEN: &str = "python-sdk-token";

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// The venv's python with the SDK installed, creating it on first use.
fn sdk_python() -> Result<PathBuf, String> {
    let venv = target_dir().join("python-sdk-venv");
    let python = venv.join("bin/python");
    let ready = |python: &Path| {
        Command::new(python)
            .args(["-c", "import onepasswordconnectsdk, httpx"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if python.exists() && ready(&python) {
        return Ok(python);
    }
    let created = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .output()
        .map_err(|e| {
            format!("python3 is not available ({e}); it is needed to run the official Python SDK")
        })?;
    if !created.status.success() {
        return Err(format!(
            "python3 -m venv failed: {}",
            String::from_utf8_lossy(&created.stderr)
        ));
    }
    let installed = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            SDK,
        ])
        .output()
        .map_err(|e| format!("pip could not run: {e}"))?;
    if !installed.status.success() || !ready(&python) {
        return Err(format!(
            "pip install {SDK} failed: {}",
            String::from_utf8_lossy(&installed.stderr)
        ));
    }
    Ok(python)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_sdk_works_against_the_mock() {
    let python = match tokio::task::spawn_blocking(sdk_python).await.unwrap() {
        Ok(python) => python,
        Err(message) => {
            return test_support::missing(
                "official_python_sdk_works_against_the_mock",
                message,
                "install python3 with venv and pip, and let it reach PyPI",
            );
        }
    };
    let mock = MockConnect::builder()
        .token(TOKEN)
        .demo()
        .spawn()
        .await
        .unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/sdk_driver.py");
    let run = tokio::process::Command::new(&python)
        .arg(&script)
        .env("OP_CONNECT_HOST", mock.url())
        .env("OP_CONNECT_TOKEN", TOKEN)
        .env("OP_CONNECT_CLIENT_REQ_TIMEOUT", "30")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(180), run)
        .await
        .expect("the Python driver did not finish within 180 s")
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the Python SDK driver failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stdout.starts_with("OK "),
        "unexpected driver output: {stdout}"
    );
    eprintln!("python SDK driver: {}", stdout.trim());
}
