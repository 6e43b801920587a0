//! `harness`: the demo (`up`) and the benchmark report (`bench`).

fn main() -> std::process::ExitCode {
    eprintln!("harness: the demo is not yet available");
    std::process::ExitCode::FAILURE
}
