//! `mock-connect`: run the Connect mock server.

fn main() -> std::process::ExitCode {
    eprintln!("mock-connect: the server is not implemented yet");
    std::process::ExitCode::FAILURE
}
