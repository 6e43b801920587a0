//! `mock-connect`: run the 1Password Connect mock server.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use mock_connect::MockConnect;
use mock_connect::admin::FaultSpec;
use mock_connect::auth::TokenGrant;

/// A faithful, fast mock of the 1Password Connect REST API.
///
/// Serves /v1/vaults…, /v1/activity, /heartbeat, /health and /metrics like Connect 1.8.1, and
/// test controls under /__admin: GET/DELETE /__admin/requests (journal of
/// {method, path, query, status}), GET/POST/DELETE /__admin/faults (at most 256 in force).
/// /__admin needs --admin-token when the mock listens beyond loopback.
#[derive(Debug, Parser)]
#[command(
    version,
    after_help = "FAULTS (--fault, or POST /__admin/faults as JSON):\n  \
{\"route\": \"GET /v1/vaults/{vault}/items/{item}\", \"latency_ms\": 200, \"status\": 503,\n   \
\"body\": {...}, \"malformed\": false, \"drop\": false, \"times\": 2}\n  \
route = [METHOD ]PATTERN; segments are literal, {name} or * (one segment), final ** (any rest).\n  \
latency_ms delays; status (+ body: JSON, or a JSON string sent as text/plain) replaces the answer;\n  \
malformed sends truncated JSON; drop closes the connection unanswered; times limits the uses.\n  \
Compact flag form: 'GET /v1/vaults/*/items/*;status=500;times=1' or '/v1/**;latency_ms=50'.\n\n\
TOKENS: with no --token, any bearer token is accepted with access to every vault."
)]
struct Cli {
    /// Address to listen on; with port 0 a free port is chosen. The bound address is printed on
    /// stdout as `listening on http://HOST:PORT`.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,

    /// Accepted bearer token, repeatable: `TOKEN` sees every vault, `TOKEN=VAULT,VAULT` only those
    /// (vault ids or names).
    #[arg(long = "token", value_name = "TOKEN[=VAULT,…]")]
    tokens: Vec<TokenGrant>,

    /// Seed data: `{"vaults": [{"name", "description"?, "id"?, "items": [items as the API returns
    /// them; ids optional; files with base64 "content"]}]}`. Repeatable.
    #[arg(long = "fixture", value_name = "FILE")]
    fixtures: Vec<PathBuf>,

    /// Seed the built-in demo data (vaults "engineering" and "Private").
    #[arg(long)]
    demo: bool,

    /// Persist the data in FILE: loaded if it exists (seeds are then ignored), rewritten
    /// atomically (temp file + rename) after each change.
    #[arg(long, value_name = "FILE")]
    data: Option<PathBuf>,

    /// Token every `/__admin` request must carry as `Authorization: Bearer <token>`. Without
    /// one, `/__admin` is open on a loopback address and refused (403) on any other.
    #[arg(long, env = "MOCK_CONNECT_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,

    /// Fault in force from the start (see FAULTS below). Repeatable.
    #[arg(long = "fault", value_name = "SPEC", value_parser = parse_fault)]
    faults: Vec<FaultSpec>,
}

fn parse_fault(text: &str) -> Result<FaultSpec, String> {
    FaultSpec::parse_flag(text).map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let mut builder = MockConnect::builder().addr(cli.addr);
    for grant in cli.tokens {
        builder = builder.grant(grant);
    }
    for path in cli.fixtures {
        builder = builder.fixture_file(path);
    }
    if cli.demo {
        builder = builder.demo();
    }
    if let Some(path) = cli.data {
        builder = builder.data_file(path);
    }
    for fault in cli.faults {
        builder = builder.fault(fault);
    }
    if let Some(token) = cli.admin_token {
        builder = builder.admin_token(token);
    }
    let mock = match builder.build().await {
        Ok(mock) => mock,
        Err(error) => {
            eprintln!("mock-connect: {error}");
            return ExitCode::FAILURE;
        }
    };
    if mock.accepts_any_token() {
        eprintln!(
            "mock-connect: no --token given: accepting ANY bearer token with access to every vault"
        );
    }
    if *mock.admin_gate() == mock_connect::admin::AdminGate::Closed {
        eprintln!(
            "mock-connect: listening beyond loopback without --admin-token: /__admin is disabled"
        );
    }
    let listener = match mock.bind().await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("mock-connect: {error}");
            return ExitCode::FAILURE;
        }
    };
    let bound = match listener.local_addr() {
        Ok(addr) => addr,
        Err(error) => {
            eprintln!("mock-connect: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "listening on http://{bound}");
    let _ = stdout.flush();
    tracing::info!(addr = %bound, "mock-connect listening");
    mock.serve(listener, shutdown_signal()).await;
    tracing::info!("mock-connect stopped");
    ExitCode::SUCCESS
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
