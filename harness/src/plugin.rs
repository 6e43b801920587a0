//! Building plugin binaries with cargo, installing them into a server's plugin directory and
//! registering and mounting them through the API, the way an operator would.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use serde_json::{Value, json};

use crate::launch::process::OpenBao;
use crate::provision::{self, ProvisionError};
use crate::vault_api::{ClientError, VaultClient, VaultResponse};

/// Which artifact of a package to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BuildTarget<'a> {
    /// A `[[bin]]` target.
    Bin(&'a str),
    /// An example under `examples/`.
    Example(&'a str),
}

/// The cargo profile to build with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Profile {
    /// The dev profile: what `cargo test` builds anyway.
    #[default]
    Dev,
    /// The release profile, for benchmarks and the demo.
    Release,
}

impl Profile {
    /// Set to `dev` to make the criterion benches build their plugins with the dev profile:
    /// CI runs the benches in quick mode only to prove they still work, and reuses the test
    /// build instead of compiling everything again optimised.
    pub const BENCH_ENV: &'static str = "HARNESS_BENCH_PROFILE";

    /// The profile the criterion benches build plugins with: release, unless
    /// [`Profile::BENCH_ENV`] says `dev`.
    pub fn for_benches() -> Profile {
        match std::env::var(Self::BENCH_ENV).as_deref() {
            Ok("dev") => Profile::Dev,
            _ => Profile::Release,
        }
    }
}

/// How the executable is linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Linkage {
    /// Against the system's shared libc: what a plain `cargo build` makes.
    #[default]
    Dynamic,
    /// Fully static (glibc's static libraries, `-C target-feature=+crt-static`): runs in an
    /// image with no libc at all, like the shipped binary (`ci/release.sh`).
    Static,
}

/// The target triple static builds name explicitly: with `--target`, `RUSTFLAGS` reach only the
/// target's units (not build scripts or proc macros, which cannot be static), and the artifacts
/// go to `target/<triple>/`, so a static build never invalidates the ordinary one.
pub const STATIC_TARGET: &str = "x86_64-unknown-linux-gnu";

/// Why a plugin could not be built, installed, registered or mounted.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// cargo could not be run or failed.
    #[error("cargo build of {what} failed: {detail}")]
    Build {
        /// The package and target.
        what: String,
        /// cargo's diagnostics.
        detail: String,
    },
    /// A file operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Hashing failed.
    #[error(transparent)]
    Hash(#[from] ProvisionError),
    /// The server could not be reached.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The server refused.
    #[error("{action} failed with {status}: {errors:?}")]
    Api {
        /// What was asked.
        action: String,
        /// HTTP status.
        status: u16,
        /// The server's error texts.
        errors: Vec<String>,
    },
}

/// Builds `target` of `package` (once per process and profile) and returns the executable's path.
///
/// The dev profile builds what `cargo test --workspace` builds (a no-op under it); the release
/// profile builds just the one target.
pub fn build(
    package: &str,
    target: BuildTarget<'_>,
    profile: Profile,
) -> Result<PathBuf, PluginError> {
    build_linked(package, target, profile, Linkage::Dynamic)
}

/// Builds `target` of `package` (once per process, profile and linkage) linked as `linkage`.
///
/// A static build compiles the package's dependencies once more, for [`STATIC_TARGET`], and
/// only this package's (`-p`); later builds are incremental.
pub fn build_linked(
    package: &str,
    target: BuildTarget<'_>,
    profile: Profile,
    linkage: Linkage,
) -> Result<PathBuf, PluginError> {
    type Built = HashMap<(Profile, Linkage), HashMap<String, PathBuf>>;
    static BUILT: OnceLock<Mutex<Built>> = OnceLock::new();
    let built = BUILT.get_or_init(Default::default);
    let mut built = built
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let key = artifact_key(package, target);
    if let Some(path) = built.get(&(profile, linkage)).and_then(|m| m.get(&key)) {
        return Ok(path.clone());
    }
    let artifacts = cargo_build(package, target, profile, linkage)?;
    let map = built.entry((profile, linkage)).or_default();
    map.extend(artifacts);
    map.get(&key).cloned().ok_or_else(|| PluginError::Build {
        what: key,
        detail: "cargo reported no such executable".into(),
    })
}

fn artifact_key(package: &str, target: BuildTarget<'_>) -> String {
    match target {
        BuildTarget::Bin(name) => format!("{package}/bin/{name}"),
        BuildTarget::Example(name) => format!("{package}/example/{name}"),
    }
}

fn cargo_build(
    package: &str,
    target: BuildTarget<'_>,
    profile: Profile,
    linkage: Linkage,
) -> Result<HashMap<String, PathBuf>, PluginError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(provision::workspace_root()).args([
        "build",
        "--message-format=json-render-diagnostics",
        "--quiet",
    ]);
    if linkage == Linkage::Static {
        // Added to whatever the caller set, never replacing it.
        let mut flags = std::env::var("RUSTFLAGS").unwrap_or_default();
        // The same linkage as ci/release.sh: static glibc, non-PIE (see the script for why).
        flags.push_str(" -C target-feature=+crt-static -C relocation-model=static");
        command
            .env("RUSTFLAGS", flags.trim_start())
            .args(["--target", STATIC_TARGET]);
    }
    match (profile, linkage) {
        // Exactly the units `cargo test --workspace` builds, so there this is a no-op: building
        // one package alone resolves other feature sets and recompiles much of the dependency
        // tree (six minutes of CI on two cores).
        (Profile::Dev, Linkage::Dynamic) => {
            command.args(["--workspace", "--lib", "--bins", "--tests", "--examples"]);
        }
        (Profile::Dev, Linkage::Static) | (Profile::Release, _) => {
            if profile == Profile::Release {
                command.arg("--release");
            }
            command.args(["-p", package]);
            match target {
                BuildTarget::Bin(name) => command.args(["--bin", name]),
                BuildTarget::Example(name) => command.args(["--example", name]),
            };
        }
    }
    let what = artifact_key(package, target);
    let output = command.output().map_err(|e| PluginError::Build {
        what: what.clone(),
        detail: format!("cannot run cargo: {e}"),
    })?;
    if !output.status.success() {
        return Err(PluginError::Build {
            what,
            detail: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    let mut artifacts = HashMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        // `--tests` also builds each binary as its unit-test harness; skip those.
        if message["reason"] != "compiler-artifact" || message["profile"]["test"] == true {
            continue;
        }
        let (Some(executable), Some(kinds), Some(name)) = (
            message["executable"].as_str(),
            message["target"]["kind"].as_array(),
            message["target"]["name"].as_str(),
        ) else {
            continue;
        };
        let package_name = package_name_of(&message);
        for kind in kinds.iter().filter_map(Value::as_str) {
            let target = match kind {
                "bin" => BuildTarget::Bin(name),
                "example" => BuildTarget::Example(name),
                _ => continue,
            };
            artifacts.insert(
                artifact_key(&package_name, target),
                PathBuf::from(executable),
            );
        }
    }
    Ok(artifacts)
}

/// The package name from a cargo message's `package_id` (`path+file:///…/dir#name@1.0.0` or
/// `…#1.0.0` where the name is the directory).
fn package_name_of(message: &Value) -> String {
    let id = message["package_id"].as_str().unwrap_or_default();
    let fragment = id.rsplit('#').next().unwrap_or_default();
    match fragment.split_once('@') {
        Some((name, _)) => name.to_string(),
        None => {
            let path = id.split('#').next().unwrap_or_default();
            path.rsplit('/').next().unwrap_or_default().to_string()
        }
    }
}

/// Writes to `dest` a copy of the plugin `artifact` in which every occurrence of the version
/// string `from` reads `to` (same length), and returns how many were replaced.
///
/// A plugin reports the version compiled into it, and OpenBao registers a version only when the
/// binary reports exactly that; a rolling upgrade needs a second version of the engine. Rebuilding
/// the workspace with a bumped version would cost CI minutes, so tests restamp a copy instead: the
/// same code, reporting (and sending in its User-Agent) `to`, with its own sha256.
pub fn restamp_version(
    artifact: &Path,
    dest: &Path,
    from: &str,
    to: &str,
) -> Result<usize, PluginError> {
    let io = |what: String| move |source| PluginError::Io { what, source };
    if from.len() != to.len() || from.is_empty() {
        return Err(PluginError::Io {
            what: format!("restamping {from} as {to}"),
            source: std::io::Error::other("the versions must have the same, non-zero length"),
        });
    }
    let mut bytes = fs::read(artifact).map_err(io(format!("reading {}", artifact.display())))?;
    let (from, to) = (from.as_bytes(), to.as_bytes());
    let mut replaced = 0;
    let mut at = 0;
    while let Some(found) = bytes[at..].windows(from.len()).position(|w| w == from) {
        let start = at + found;
        bytes[start..start + to.len()].copy_from_slice(to);
        replaced += 1;
        at = start + to.len();
    }
    if replaced == 0 {
        return Err(PluginError::Io {
            what: format!("restamping {}", artifact.display()),
            source: std::io::Error::other("the version string does not occur in the binary"),
        });
    }
    fs::write(dest, &bytes).map_err(io(format!("writing {}", dest.display())))?;
    fs::set_permissions(dest, fs::Permissions::from_mode(0o755))
        .map_err(io(format!("chmod {}", dest.display())))?;
    Ok(replaced)
}

/// A plugin in a server's catalog.
#[derive(Debug, Clone)]
pub struct Registered {
    /// The catalog name (and the file name in the plugin directory).
    pub name: String,
    /// The sha256 registered.
    pub sha256: String,
    /// The version registered, if any.
    pub version: Option<String>,
    /// The installed file.
    pub path: PathBuf,
}

/// Copies `artifact` into `plugin_dir` as `name` (through a temporary name and a rename, because
/// a running plugin's file cannot be overwritten) and returns its path and sha256.
pub fn install(
    artifact: &Path,
    plugin_dir: &Path,
    name: &str,
) -> Result<(PathBuf, String), PluginError> {
    let io = |what: String| move |source| PluginError::Io { what, source };
    let staged = plugin_dir.join(format!(".{name}.tmp"));
    fs::copy(artifact, &staged).map_err(io(format!("copying {}", artifact.display())))?;
    fs::set_permissions(&staged, fs::Permissions::from_mode(0o755))
        .map_err(io(format!("chmod {}", staged.display())))?;
    let dest = plugin_dir.join(name);
    fs::rename(&staged, &dest).map_err(io(format!("installing {}", dest.display())))?;
    let sha256 = provision::sha256_file(&dest)?;
    Ok((dest, sha256))
}

/// Installs `artifact` into `bao`'s plugin directory and registers it as a secrets plugin.
pub async fn register(
    bao: &OpenBao,
    artifact: &Path,
    name: &str,
    version: Option<&str>,
) -> Result<Registered, PluginError> {
    let (path, sha256) = install(artifact, &bao.plugin_dir(), name)?;
    register_installed(&bao.client(), name, &sha256, version).await?;
    Ok(Registered {
        name: name.to_string(),
        sha256,
        version: version.map(str::to_owned),
        path,
    })
}

/// Registers an already installed file `name` with `sha256` (and `version`) in the catalog.
pub async fn register_installed(
    client: &VaultClient,
    name: &str,
    sha256: &str,
    version: Option<&str>,
) -> Result<VaultResponse, PluginError> {
    let mut body = json!({ "sha256": sha256, "command": name });
    if let Some(version) = version {
        body["version"] = json!(version);
    }
    let response = client
        .write(&format!("sys/plugins/catalog/secret/{name}"), &body)
        .await?;
    expect_success(format!("registering {name}"), response)
}

/// Mounts plugin `plugin` at `path` (`vault secrets enable -path=PATH PLUGIN`).
pub async fn mount(
    client: &VaultClient,
    path: &str,
    plugin: &str,
) -> Result<VaultResponse, PluginError> {
    mount_with(client, path, json!({ "type": plugin })).await
}

/// Mounts at `path` with a full `sys/mounts` body (type, options, plugin_version, config…).
pub async fn mount_with(
    client: &VaultClient,
    path: &str,
    body: Value,
) -> Result<VaultResponse, PluginError> {
    let response = client
        .write(&format!("sys/mounts/{}", path.trim_end_matches('/')), &body)
        .await?;
    expect_success(format!("mounting {path}"), response)
}

fn expect_success(action: String, response: VaultResponse) -> Result<VaultResponse, PluginError> {
    if response.is_success() {
        Ok(response)
    } else {
        Err(PluginError::Api {
            action,
            status: response.status,
            errors: response.errors,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names_from_cargo_ids() {
        let named =
            json!({"package_id": "path+file:///w/plugin#vault-plugin-secrets-onepassword@1.1.0"});
        assert_eq!(package_name_of(&named), "vault-plugin-secrets-onepassword");
        let bare = json!({"package_id": "path+file:///w/harness#0.1.0"});
        assert_eq!(package_name_of(&bare), "harness");
    }

    #[test]
    fn restamping_replaces_every_occurrence_of_the_version() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        fs::write(&src, b"\x00v1.1.0\x00agent/1.1.0;1.1.0").unwrap();
        let dest = dir.path().join("dest");
        assert_eq!(restamp_version(&src, &dest, "1.1.0", "1.1.1").unwrap(), 3);
        assert_eq!(fs::read(&dest).unwrap(), b"\x00v1.1.1\x00agent/1.1.1;1.1.1");
        assert!(restamp_version(&src, &dest, "9.9.9", "9.9.8").is_err());
        assert!(restamp_version(&src, &dest, "1.1.0", "1.10.0").is_err());
    }

    #[test]
    fn install_copies_executable_and_hashes() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        fs::write(&src, b"abc").unwrap();
        let plugins = dir.path().join("plugins");
        fs::create_dir(&plugins).unwrap();
        let (dest, sha) = install(&src, &plugins, "p").unwrap();
        assert_eq!(dest, plugins.join("p"));
        assert_eq!(
            sha,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            fs::metadata(&dest).unwrap().permissions().mode() & 0o777,
            0o755
        );
    }
}
