//! `vault-plugin-secrets-onepassword`: the op-connect secrets engine for Vault and OpenBao.

use vault_plugin_secrets_onepassword::backend::factory;
use vault_plugin_secrets_onepassword::engine::VERSION;

fn main() -> std::process::ExitCode {
    // An operator checks a downloaded release before registering it (`-version=v1.1.0` must be
    // what the binary reports to the host); the host itself never passes arguments.
    if std::env::args().nth(1).as_deref() == Some("--version") {
        println!("{} v{VERSION}", env!("CARGO_PKG_NAME"));
        return std::process::ExitCode::SUCCESS;
    }
    vault_plugin_sdk::run(VERSION, factory)
}
