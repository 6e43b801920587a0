//! `harness`: the demo (`up`), the container images (`images`) and the benchmark report (`bench`).

use std::process::ExitCode;

use clap::{Parser, Subcommand};
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
    /// Run the criterion benchmarks (engine vs kv-v2, and the mock) and print their report.
    Bench {
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
        Command::Bench { filter } => run_benches(filter),
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
