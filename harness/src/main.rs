//! `harness`: the demo (`up`), the container images (`images`), the benchmark report (`bench`)
//! and the criterion benches (`criterion`).

use std::process::ExitCode;

use std::time::Duration;

use clap::{Parser, Subcommand};
use harness::bench::BenchOptions;
use harness::demo::{self, DemoOptions};
use harness::launch::bao::CliSite;
use harness::launch::images::{self, Images, Sources};
use harness::launch::{Backend, LaunchError};
use harness::plugin::Profile;

/// Runs the op-connect stack locally.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start mock-connect (demo data), a dev OpenBao and the engine mounted at op/; Ctrl-C stops all.
    Up {
        /// Build the engine and the mock with the release profile.
        #[arg(long)]
        release: bool,
        /// OpenBao API port (default: 8200 when free, else any free port).
        #[arg(long)]
        port: Option<u16>,
        /// Run OpenBao and the mock as containers (default: processes; or HARNESS_BACKEND).
        #[arg(long)]
        containers: bool,
    },
    /// Build (or reuse) the container images from the workspace's binaries; nothing is pulled.
    Images {
        /// Use release builds of the engine and the mock.
        #[arg(long)]
        release: bool,
        /// Also tag them `:local` (what compose/compose.yaml runs by default).
        #[arg(long)]
        tag_local: bool,
    },
    /// Print the path of the OpenBao server binary, downloading and verifying it first if needed.
    Provision,
    /// Load-test kv-v2, the SDK's null plugin, every operation of the engine and any other
    /// plugin side by side (release builds, loopback) and write a Markdown + SVG report.
    Bench {
        /// Requests in flight (1..=256).
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Seconds measured per target (1..=120).
        #[arg(long, default_value_t = 5)]
        duration: u64,
        /// Unmeasured seconds per target before it.
        #[arg(long, default_value_t = 1.0)]
        warmup: f64,
        /// Another plugin binary to register and mount at NAME/ beside the engine, against the
        /// same mock and driven through the same paths (repeatable).
        #[arg(long = "plugin", value_name = "NAME=PATH", value_parser = parse_plugin)]
        plugins: Vec<(String, std::path::PathBuf)>,
        /// Directory for the report.
        #[arg(long, default_value = "benches/reports")]
        out: std::path::PathBuf,
        /// File stem of the report (default: today's date, UTC).
        #[arg(long)]
        name: Option<String>,
    },
    /// Run the criterion benchmarks (engine vs kv-v2, the mock, the SDK over its socket).
    Criterion {
        /// Only benchmarks whose name contains this.
        filter: Option<String>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Up {
            release,
            port,
            containers,
        } => {
            let backend = if containers {
                Ok(Backend::Container)
            } else {
                Backend::from_env()
            };
            match backend {
                Ok(backend) => {
                    run_demo(DemoOptions {
                        release,
                        port,
                        backend,
                    })
                    .await
                }
                Err(err) => {
                    eprintln!("{err}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Images { release, tag_local } => match build_images(release, tag_local) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("{err}");
                ExitCode::FAILURE
            }
        },
        Command::Provision => match harness::provision::openbao_binary() {
            Ok(path) => {
                println!("{}", path.display());
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("{err}");
                ExitCode::FAILURE
            }
        },
        Command::Bench {
            concurrency,
            duration,
            warmup,
            plugins,
            out,
            name,
        } => {
            let out = if out.is_relative() {
                harness::provision::workspace_root().join(out)
            } else {
                out
            };
            let options = BenchOptions {
                concurrency,
                duration: Duration::from_secs(duration),
                warmup: Duration::from_secs_f64(warmup.clamp(0.0, 30.0)),
                plugins,
                out_dir: out,
                stem: name,
            };
            match harness::bench::run(&options).await {
                Ok(path) => {
                    println!("report written to {}", path.display());
                    ExitCode::SUCCESS
                }
                Err(err) => {
                    eprintln!("harness bench failed: {err}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Criterion { filter } => run_benches(filter),
    }
}

async fn run_demo(options: DemoOptions) -> ExitCode {
    let demo = match demo::up(&options).await {
        Ok(demo) => demo,
        Err(err) => {
            eprintln!("\nThe demo could not start: {err}");
            return ExitCode::FAILURE;
        }
    };
    if let Ok(vaults) = demo
        .stack
        .bao
        .cli_blocking(CliSite::Host, &["list", "op/vaults"])
        && vaults.success
    {
        println!("\n$ vault list op/vaults\n{}", vaults.stdout.trim_end());
    }
    println!("{}", demo.instructions());
    wait_for_shutdown().await;
    println!("\nStopping OpenBao and mock-connect …");
    drop(demo);
    println!("Stopped.");
    ExitCode::SUCCESS
}

async fn wait_for_shutdown() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

fn build_images(release: bool, tag_local: bool) -> Result<(), LaunchError> {
    let profile = if release {
        Profile::Release
    } else {
        Profile::Dev
    };
    let built = Images::build(&Sources::workspace(profile)?)?;
    if tag_local {
        for image in [&built.openbao, &built.mock] {
            let local = format!("{}:local", image.name);
            images::docker(&["tag", &image.to_string(), &local])?;
            println!("tagged {local}");
        }
    }
    let _ = images::print_summary(&built, &mut std::io::stdout());
    Ok(())
}

/// `NAME=PATH` of `--plugin`.
fn parse_plugin(text: &str) -> Result<(String, std::path::PathBuf), String> {
    let (name, path) = text
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=PATH, got {text:?}"))?;
    Ok((name.to_owned(), std::path::PathBuf::from(path)))
}

fn run_benches(filter: Option<String>) -> ExitCode {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = std::process::Command::new(cargo);
    command
        .current_dir(harness::provision::workspace_root())
        .args(["bench", "-p", "benches"]);
    if let Some(filter) = filter {
        command.args(["--", &filter]);
    }
    match command.status() {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("cannot run cargo bench: {err}");
            ExitCode::FAILURE
        }
    }
}
