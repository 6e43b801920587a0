//! `vault-plugin-secrets-onepassword`: the op-connect secrets engine for Vault and OpenBao.

use vault_plugin_secrets_onepassword::backend::factory;
use vault_plugin_secrets_onepassword::engine::VERSION;

fn main() -> std::process::ExitCode {
    vault_plugin_sdk::run(VERSION, factory)
}
