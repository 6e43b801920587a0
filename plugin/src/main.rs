//! `vault-plugin-secrets-onepassword`: the op-connect secrets engine.

fn main() -> std::process::ExitCode {
    eprintln!("vault-plugin-secrets-onepassword: the engine is not implemented yet");
    std::process::ExitCode::FAILURE
}
