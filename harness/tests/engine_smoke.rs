//! The public setup guide's flow, command for command, through the `bao` CLI against a real
//! OpenBao and an in-process Connect mock holding the demo data: register `op-connect` with its
//! sha256 and version, enable it at `op/`, write the config, list vaults, list items, read an
//! item, write an item from JSON, delete it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use harness::launch::process::OpenBao;
use harness::plugin::{self, BuildTarget, Profile};
use mock_connect::MockConnect;
use mock_connect::demo::ENGINEERING_VAULT_ID;
use serde_json::{Value, json};

const TOKEN: &str = "smoke-test-connect-token-0123456789";

/// Runs `bao ARGS…` and returns (success, stdout, stderr).
async fn bao(server: &OpenBao, args: &[&str]) -> (bool, String, String) {
    let mut command = tokio::process::Command::from(server.cli());
    command.args(args).kill_on_drop(true);
    let out = command.output().await.expect("bao CLI runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs a `bao … -format=json` command that must succeed and parses its output.
async fn bao_json(server: &OpenBao, args: &[&str]) -> Value {
    let (ok, stdout, stderr) = bao(server, args).await;
    assert!(ok, "bao {args:?} failed: {stderr}\n{}", server.log());
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("bao {args:?}: {e}: {stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_setup_guide_works_as_written() {
    let mock = MockConnect::builder()
        .token(TOKEN)
        .demo()
        .spawn()
        .await
        .expect("mock Connect starts");
    let server = OpenBao::start().await.expect("OpenBao starts");

    // Installing and registering: the binary under the name op-connect, with sha256 and version.
    let artifact = plugin::build(
        "vault-plugin-secrets-onepassword",
        BuildTarget::Bin("vault-plugin-secrets-onepassword"),
        Profile::Dev,
    )
    .expect("the engine builds");
    let (_, sha256) = plugin::install(&artifact, &server.plugin_dir(), "op-connect").unwrap();
    let sha_arg = format!("-sha256={sha256}");
    let (ok, _, stderr) = bao(
        &server,
        &[
            "plugin",
            "register",
            &sha_arg,
            "-version=v1.1.0",
            "secret",
            "op-connect",
        ],
    )
    .await;
    assert!(ok, "register: {stderr}");

    // Mounting and configuring.
    let (ok, _, stderr) = bao(&server, &["secrets", "enable", "--path=op", "op-connect"]).await;
    assert!(ok, "enable: {stderr}\n{}", server.log());
    let mounts = bao_json(&server, &["secrets", "list", "-detailed", "-format=json"]).await;
    assert_eq!(mounts["op/"]["type"], "op-connect");
    assert_eq!(mounts["op/"]["running_plugin_version"], "v1.1.0");

    // A mistyped token is reported when it is written, not at the first read.
    let mistyped = server
        .client()
        .write(
            "op/config",
            &json!({"op_connect_host": mock.url(), "op_connect_token": "mistyped-token"}),
        )
        .await
        .unwrap();
    assert!(
        mistyped
            .warnings
            .iter()
            .any(|w| w.contains("rejected op_connect_token")),
        "{:?}",
        mistyped.body
    );

    let host_arg = format!("op_connect_host={}", mock.url());
    let token_arg = format!("op_connect_token={TOKEN}");
    let (ok, _, stderr) = bao(&server, &["write", "op/config", &host_arg, &token_arg]).await;
    assert!(ok, "write config: {stderr}\n{}", server.log());

    // The JSON form of the config write (the guide's host ends in a slash).
    let scratch = server.scratch_dir();
    let config_file = scratch.join("op-connect-config.json");
    std::fs::write(
        &config_file,
        json!({"op_connect_host": format!("{}/", mock.url()), "op_connect_token": TOKEN})
            .to_string(),
    )
    .unwrap();
    let config_arg = format!("@{}", config_file.display());
    let (ok, _, stderr) = bao(&server, &["write", "op/config", &config_arg]).await;
    assert!(ok, "write config @json: {stderr}");

    // The token is never shown.
    let config = bao_json(&server, &["read", "-format=json", "op/config"]).await;
    assert_eq!(config["data"]["op_connect_host"], json!(mock.url()));
    assert_eq!(config["data"]["op_connect_token_set"], json!(true));
    assert!(!config.to_string().contains(TOKEN), "{config}");

    // Discover vaults.
    let vaults = bao_json(&server, &["list", "-format=json", "op/vaults"]).await;
    let expected_key = format!("engineering {ENGINEERING_VAULT_ID}");
    assert!(
        vaults.as_array().unwrap().contains(&json!(expected_key)),
        "{vaults}"
    );

    // List items inside a vault (by name).
    let items = bao_json(
        &server,
        &["list", "-format=json", "op/vaults/engineering/items"],
    )
    .await;
    let items: Vec<String> = serde_json::from_value(items).unwrap();
    assert!(items.iter().any(|k| k.starts_with("GitHub ")), "{items:?}");

    // Read a single item (title or UUID): the guide's item, then GitHub by title and by id.
    let docker = bao_json(
        &server,
        &[
            "read",
            "-format=json",
            "op/vaults/engineering/items/docker-hub-service-account",
        ],
    )
    .await;
    assert_eq!(docker["data"]["username"], "acme-ci", "{docker}");
    let github = bao_json(
        &server,
        &["read", "-format=json", "op/vaults/engineering/items/GitHub"],
    )
    .await;
    assert_eq!(github["data"]["username"], "ci-bot");
    assert_eq!(github["data"]["password"], "gh-Demo-Passw0rd!");
    let github_id = items
        .iter()
        .find_map(|k| k.strip_prefix("GitHub "))
        .unwrap()
        .to_owned();
    let by_id_path = format!("op/vaults/{ENGINEERING_VAULT_ID}/items/{github_id}");
    let by_id = bao_json(&server, &["read", "-format=json", &by_id_path]).await;
    assert_eq!(by_id["data"], github["data"]);

    // Create an item from the guide's JSON.
    let login_file = scratch.join("login.json");
    std::fs::write(
        &login_file,
        json!({
            "category": "login",
            "title": "Example Login",
            "fields": [
                { "id": "username", "type": "STRING", "purpose": "USERNAME", "value": "my_user" },
                { "id": "password", "type": "CONCEALED", "purpose": "PASSWORD", "generate": true }
            ]
        })
        .to_string(),
    )
    .unwrap();
    let login_arg = format!("@{}", login_file.display());
    let created = bao_json(
        &server,
        &[
            "write",
            "-format=json",
            "op/vaults/engineering/items",
            &login_arg,
        ],
    )
    .await;
    assert_eq!(created["data"]["category"], "LOGIN");
    let new_id = created["data"]["ID"].as_str().unwrap().to_owned();
    assert_eq!(new_id.len(), 26, "{created}");

    let read_back = bao_json(
        &server,
        &[
            "read",
            "-format=json",
            "op/vaults/engineering/items/Example Login",
        ],
    )
    .await;
    assert_eq!(read_back["data"]["username"], "my_user");
    let generated = read_back["data"]["password"].as_str().unwrap();
    assert!(!generated.is_empty(), "{read_back}");

    // Delete it; a read afterwards is a clean 404.
    let (ok, _, stderr) = bao(
        &server,
        &["delete", "op/vaults/engineering/items/Example Login"],
    )
    .await;
    assert!(ok, "delete: {stderr}");
    let gone = server
        .client()
        .read(&format!("op/vaults/{ENGINEERING_VAULT_ID}/items/{new_id}"))
        .await
        .unwrap();
    assert_eq!(gone.status, 404, "{:?}", gone.body);

    // The guide's delete, then the item is gone.
    let (ok, _, stderr) = bao(
        &server,
        &[
            "delete",
            "op/vaults/engineering/items/docker-hub-service-account",
        ],
    )
    .await;
    assert!(ok, "delete docker-hub-service-account: {stderr}");
    let gone = server
        .client()
        .read("op/vaults/engineering/items/docker-hub-service-account")
        .await
        .unwrap();
    assert_eq!(gone.status, 404, "{:?}", gone.body);

    // Nothing the engine logged carries the token.
    assert!(
        !server.log().contains(TOKEN),
        "the token leaked into the server log"
    );
}
