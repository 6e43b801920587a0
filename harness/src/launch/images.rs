//! The one place the harness's container images are assembled.
//!
//! Nothing is pulled and no base image is used: each image is a root file system assembled here
//! (the binaries, plus the shared libraries a dynamically linked binary needs and its loader, as
//! `ldd` lists them) and handed to `docker import`. A fully static binary has no libraries to
//! copy: the OpenBao image holds the static `bao` and the engine built statically as it ships
//! ([`engine::static_artifact`]), so it contains no libc, no loader and no NSS module at all, and
//! the engine resolves Connect's name itself (from the `/etc/hosts` and `/etc/resolv.conf` Docker
//! mounts). The mock stays a dynamic test binary with its libraries beside it.
//!
//! Each image is tagged with a hash of everything that goes into it (file paths, modes and
//! contents, and the image settings). An unchanged build is found by its tag and reused; a changed
//! one gets a new tag, so importing never takes a tag away from an older image and leaves no
//! untagged image behind. Builds of the same image serialise on a lock file, so two test
//! processes never import the same tag twice.
//!
//! * [`OPENBAO_REPOSITORY`]: the static OpenBao server at `/bin/bao`, the static engine at
//!   `/plugins/op-connect`, and the compose demo's declarative configurations at
//!   `/etc/openbao/demo.hcl` and, for the cluster profiles, `cluster.hcl` and `cluster-init.hcl`
//!   (used only when the command asks for them).
//! * [`MOCK_REPOSITORY`]: `mock-connect` at `/mock-connect`.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Instant;

use sha2::{Digest, Sha256};

use super::{LaunchError, engine, io, labels};
use crate::plugin::Profile;
use crate::provision;

/// Repository of the OpenBao image.
pub const OPENBAO_REPOSITORY: &str = "op-connect-harness/openbao";
/// Repository of the mock-connect image.
pub const MOCK_REPOSITORY: &str = "op-connect-harness/mock-connect";
/// The user the images run as (no root in the containers).
pub const IMAGE_USER: &str = "65532:65532";
/// Where the engine sits inside the OpenBao image.
pub const PLUGIN_DIR: &str = "/plugins";
/// The API port of the OpenBao image.
pub const OPENBAO_PORT: u16 = 8200;
/// The port the mock listens on inside its image.
pub const MOCK_PORT: u16 = 8080;

/// A local image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// The repository, e.g. `op-connect-harness/openbao`.
    pub name: String,
    /// The content-hash tag.
    pub tag: String,
}

impl std::fmt::Display for ImageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.name, self.tag)
    }
}

/// The two images a container stack runs, and what building them cost.
#[derive(Debug, Clone)]
pub struct Images {
    /// OpenBao with the engine in its plugin directory.
    pub openbao: ImageRef,
    /// mock-connect.
    pub mock: ImageRef,
    /// The engine's sha256 as installed in the image.
    pub engine_sha256: String,
    /// Wall time of [`Images::build`] in this process (mostly zero when the tags existed).
    pub build_time: std::time::Duration,
    /// Whether each image was imported now (`false`: reused by its tag).
    pub imported: [bool; 2],
}

/// Where the binaries come from.
#[derive(Debug, Clone)]
pub struct Sources {
    /// The OpenBao server binary.
    pub bao: PathBuf,
    /// The engine.
    pub engine: PathBuf,
    /// mock-connect.
    pub mock: PathBuf,
}

impl Sources {
    /// The binaries every suite uses: the provisioned OpenBao, the engine of `profile` linked
    /// statically as it ships (from `OP_CONNECT_ENGINE_BIN` when set), and the mock of `profile`.
    pub fn workspace(profile: Profile) -> Result<Sources, LaunchError> {
        Ok(Sources {
            bao: provision::openbao_binary()?,
            engine: engine::static_artifact(profile)?,
            mock: engine::mock_artifact(profile)?,
        })
    }
}

/// One file of a root file system: its path inside the image, its mode, where it comes from.
#[derive(Debug, Clone)]
enum Entry {
    File { source: PathBuf, mode: u32 },
    Text { contents: Vec<u8>, mode: u32 },
    Dir { mode: u32 },
}

/// A root file system under construction, plus the `docker import --change` settings.
#[derive(Debug, Default)]
struct Rootfs {
    entries: BTreeMap<String, Entry>,
    changes: Vec<String>,
}

impl Rootfs {
    fn dir(&mut self, path: &str, mode: u32) {
        self.entries.insert(path.to_owned(), Entry::Dir { mode });
    }

    fn file(&mut self, path: &str, source: &Path, mode: u32) {
        self.entries.insert(
            path.to_owned(),
            Entry::File {
                source: source.to_path_buf(),
                mode,
            },
        );
    }

    fn text(&mut self, path: &str, contents: impl Into<Vec<u8>>) {
        self.entries.insert(
            path.to_owned(),
            Entry::Text {
                contents: contents.into(),
                mode: 0o644,
            },
        );
    }

    /// `binary` at `path` with the shared libraries it links (none for a static binary).
    fn binary(&mut self, path: &str, binary: &Path) -> Result<(), LaunchError> {
        self.file(path, binary, 0o755);
        for lib in shared_libraries(binary)? {
            let real =
                fs::canonicalize(&lib).map_err(io(format!("resolving {}", lib.display())))?;
            self.file(&lib.display().to_string(), &real, 0o755);
        }
        Ok(())
    }

    fn change(&mut self, line: impl Into<String>) {
        self.changes.push(line.into());
    }

    /// A hash of every path, mode and content, and of the settings.
    fn content_hash(&self) -> Result<String, LaunchError> {
        let mut hasher = Sha256::new();
        for (path, entry) in &self.entries {
            hasher.update(path.as_bytes());
            match entry {
                Entry::File { source, mode } => {
                    hasher.update(format!(" file {mode:o} ").as_bytes());
                    hasher.update(provision::sha256_file(source)?.as_bytes());
                }
                Entry::Text { contents, mode } => {
                    hasher.update(format!(" text {mode:o} ").as_bytes());
                    hasher.update(contents);
                }
                Entry::Dir { mode } => hasher.update(format!(" dir {mode:o}").as_bytes()),
            }
            hasher.update(b"\n");
        }
        for change in &self.changes {
            hasher.update(change.as_bytes());
            hasher.update(b"\n");
        }
        Ok(hex::encode(&hasher.finalize()[..8]))
    }

    /// Writes the tree under `root` (owned by whoever runs this; `--numeric-owner` keeps ids).
    fn materialise(&self, root: &Path) -> Result<(), LaunchError> {
        use std::os::unix::fs::PermissionsExt;
        for (path, entry) in &self.entries {
            let dest = root.join(path.trim_start_matches('/'));
            if let Some(parent) = dest.parent() {
                fs::create_dir_all(parent).map_err(io(format!("creating {}", parent.display())))?;
            }
            let mode = match entry {
                Entry::Dir { mode } => {
                    fs::create_dir_all(&dest)
                        .map_err(io(format!("creating {}", dest.display())))?;
                    *mode
                }
                Entry::File { source, mode } => {
                    fs::copy(source, &dest).map_err(io(format!("copying {}", source.display())))?;
                    *mode
                }
                Entry::Text { contents, mode } => {
                    fs::write(&dest, contents)
                        .map_err(io(format!("writing {}", dest.display())))?;
                    *mode
                }
            };
            fs::set_permissions(&dest, fs::Permissions::from_mode(mode))
                .map_err(io(format!("chmod {}", dest.display())))?;
        }
        Ok(())
    }
}

/// The shared libraries (and loader) `binary` links, by the paths it asks for; none when static.
fn shared_libraries(binary: &Path) -> Result<Vec<PathBuf>, LaunchError> {
    let output = Command::new("ldd")
        .arg(binary)
        .output()
        .map_err(io("running ldd"))?;
    // ldd fails with "not a dynamic executable" for static binaries: nothing to copy.
    if !output.status.success() {
        return Ok(Vec::new());
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            // `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)` or `/lib64/ld-linux… (0x…)`
            line.split_whitespace()
                .find(|word| word.starts_with('/'))
                .map(PathBuf::from)
        })
        .collect())
}

fn openbao_rootfs(sources: &Sources, engine_sha256: &str) -> Result<Rootfs, LaunchError> {
    let mut rootfs = Rootfs::default();
    rootfs.dir("/tmp", 0o1777);
    rootfs.dir("/bin", 0o755);
    rootfs.dir(PLUGIN_DIR, 0o755);
    rootfs.binary("/bin/bao", &sources.bao)?;
    rootfs.binary(&format!("{PLUGIN_DIR}/{}", engine::NAME), &sources.engine)?;
    // The compose demo's configuration, and the cluster profiles' (shared by every node, and the
    // first node's self-initialisation).
    for (template, config) in [
        ("openbao.hcl.in", "demo.hcl"),
        ("cluster.hcl.in", "cluster.hcl"),
        ("cluster-init.hcl.in", "cluster-init.hcl"),
    ] {
        let template_path = provision::workspace_root().join("compose").join(template);
        let template = fs::read_to_string(&template_path)
            .map_err(io(format!("reading {}", template_path.display())))?;
        let config_text = template
            .replace("@SHA256@", engine_sha256)
            .replace("@VERSION@", engine::VERSION);
        rootfs.text(&format!("/etc/openbao/{config}"), config_text);
    }
    // Raft data of the cluster profiles: a named volume there copies this directory, writable by
    // the image's user.
    rootfs.dir("/var/lib/openbao", 0o1777);
    rootfs.change(r#"ENTRYPOINT ["/bin/bao"]"#);
    // The compose demo's command; the test image type gives its own.
    rootfs.change(
        r#"CMD ["server","-dev","-dev-no-store-token","-dev-root-token-id=root","-dev-listen-address=0.0.0.0:8200","-config=/etc/openbao/demo.hcl"]"#,
    );
    // No EXPOSE: published ports would listen on every interface; the harness reaches
    // containers on their own network, and compose publishes on loopback explicitly.
    rootfs.change(format!("USER {IMAGE_USER}"));
    rootfs.change(format!("LABEL {}=openbao", labels::IMAGE));
    Ok(rootfs)
}

fn mock_rootfs(sources: &Sources) -> Result<Rootfs, LaunchError> {
    let mut rootfs = Rootfs::default();
    rootfs.dir("/tmp", 0o1777);
    rootfs.binary("/mock-connect", &sources.mock)?;
    rootfs.change(r#"ENTRYPOINT ["/mock-connect"]"#);
    rootfs.change(format!(
        r#"CMD ["--addr","0.0.0.0:{MOCK_PORT}","--demo","--token","demo-connect-token"]"#
    ));
    rootfs.change(format!("USER {IMAGE_USER}"));
    rootfs.change(format!("LABEL {}=mock-connect", labels::IMAGE));
    Ok(rootfs)
}

impl Images {
    /// Builds (or finds) both images from `sources`.
    pub fn build(sources: &Sources) -> Result<Images, LaunchError> {
        let started = Instant::now();
        let engine_sha256 = provision::sha256_file(&sources.engine)?;
        let (openbao, new_openbao) = import(
            OPENBAO_REPOSITORY,
            &openbao_rootfs(sources, &engine_sha256)?,
        )?;
        let (mock, new_mock) = import(MOCK_REPOSITORY, &mock_rootfs(sources)?)?;
        Ok(Images {
            openbao,
            mock,
            engine_sha256,
            build_time: started.elapsed(),
            imported: [new_openbao, new_mock],
        })
    }

    /// The images of the workspace's dev binaries, built once per process.
    pub fn for_tests() -> Result<Images, LaunchError> {
        static BUILT: Mutex<Option<Images>> = Mutex::new(None);
        let mut built = BUILT.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(images) = built.as_ref() {
            return Ok(images.clone());
        }
        let images = Images::build(&Sources::workspace(Profile::Dev)?)?;
        *built = Some(images.clone());
        Ok(images)
    }

    /// Size in bytes of an image, as Docker reports it.
    pub fn size_of(image: &ImageRef) -> Result<u64, LaunchError> {
        let out = docker(&[
            "image",
            "inspect",
            "--format",
            "{{.Size}}",
            &image.to_string(),
        ])?;
        out.trim().parse().map_err(|_| LaunchError::Docker {
            what: format!("size of {image}"),
            detail: out,
        })
    }
}

/// Imports `rootfs` as `repository:<content hash>` unless that tag exists; returns the reference
/// and whether it was imported now.
fn import(repository: &str, rootfs: &Rootfs) -> Result<(ImageRef, bool), LaunchError> {
    let image = ImageRef {
        name: repository.to_owned(),
        tag: rootfs.content_hash()?,
    };
    // One importer at a time per machine, so a tag is never imported twice (which would leave
    // the first import untagged).
    let lock_path = std::env::temp_dir().join("op-connect-harness-images.lock");
    let lock = File::create(&lock_path).map_err(io(format!("opening {}", lock_path.display())))?;
    lock.lock().map_err(io("locking the image build"))?;
    if exists(&image) {
        return Ok((image, false));
    }
    let scratch = tempfile::Builder::new()
        .prefix("opch-rootfs-")
        .tempdir()
        .map_err(io("creating a scratch directory"))?;
    rootfs.materialise(scratch.path())?;
    let mut tar = Command::new("tar")
        .args(["--numeric-owner", "--owner=0", "--group=0", "-C"])
        .arg(scratch.path())
        .args(["-cf", "-", "."])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(io("running tar"))?;
    let mut import = Command::new("docker");
    import.arg("import");
    for change in &rootfs.changes {
        import.arg("--change").arg(change);
    }
    import.arg("-").arg(image.to_string());
    let Some(tar_out) = tar.stdout.take() else {
        return Err(LaunchError::Config("tar gave no output pipe".into()));
    };
    let imported = import
        .stdin(Stdio::from(tar_out))
        .output()
        .map_err(io("running docker import"))?;
    let tar_status = tar.wait().map_err(io("waiting for tar"))?;
    if !tar_status.success() || !imported.status.success() {
        return Err(LaunchError::Docker {
            what: format!("importing {image}"),
            detail: String::from_utf8_lossy(&imported.stderr).trim().to_owned(),
        });
    }
    Ok((image, true))
}

fn exists(image: &ImageRef) -> bool {
    docker(&[
        "image",
        "inspect",
        "--format",
        "{{.Id}}",
        &image.to_string(),
    ])
    .is_ok()
}

/// Runs the docker CLI; its stdout, or its stderr as the error.
pub fn docker(args: &[&str]) -> Result<String, LaunchError> {
    let output = Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(io("running docker"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(LaunchError::Docker {
            what: args.join(" "),
            detail: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }
}

/// Prints the images for `harness images` (the compose demo's build step).
pub fn print_summary(images: &Images, out: &mut impl std::io::Write) -> std::io::Result<()> {
    for (image, new) in [
        (&images.openbao, images.imported[0]),
        (&images.mock, images.imported[1]),
    ] {
        let size = Images::size_of(image).unwrap_or(0);
        writeln!(
            out,
            "{image} {} ({:.1} MB)",
            if new { "imported" } else { "reused" },
            size as f64 / 1e6
        )?;
    }
    writeln!(out, "engine sha256 {}", images.engine_sha256)?;
    out.flush()
}
