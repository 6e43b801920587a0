//! The public setup guide's flow, command for command, through the real `bao` CLI against a
//! real OpenBao and a Connect mock holding the demo data: register `op-connect` with its sha256
//! and version, enable it at `op/`, write the config, list vaults, list items, read an item,
//! write an item from JSON, delete it. On the container backend the CLI runs both on the host
//! and inside the OpenBao container (`docker exec`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use harness::launch::bao::CliSite;
use harness::launch::{Backend, ConnectSeed, EngineSetup, Stack, StackOptions, engine};
use mock_connect::demo::ENGINEERING_VAULT_ID;
use serde_json::json;

const TOKEN: &str = "smoke-test-connect-token-0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_setup_guide_works_with_the_cli_on_the_host() {
    the_setup_guide_works_as_written(CliSite::Host).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_setup_guide_works_with_the_cli_inside_the_server_container() {
    if Backend::from_env().unwrap() == Backend::Process {
        return test_support::skip(
            "the_setup_guide_works_with_the_cli_inside_the_server_container",
            "container backend only (on processes the server's CLI is the host's: see \
             the_setup_guide_works_with_the_cli_on_the_host)",
        );
    }
    the_setup_guide_works_as_written(CliSite::Server).await;
}

async fn the_setup_guide_works_as_written(site: CliSite) {
    let stack = Stack::start(StackOptions {
        connect: Some(ConnectSeed::Demo),
        connect_token: TOKEN.into(),
        engine: EngineSetup::Installed,
        ..StackOptions::from_env().unwrap()
    })
    .await
    .expect("the stack starts");
    let server = &stack.bao;
    let connect = stack.connect.as_ref().unwrap();
    let bao = move |args: &'static [&'static str]| server.cli(site, args);

    // Registering: the binary under the name op-connect, with sha256 and version.
    let sha_arg = format!("-sha256={}", stack.engine.sha256);
    let version_arg = format!("-version={}", engine::VERSION);
    server
        .cli(
            site,
            &[
                "plugin",
                "register",
                &sha_arg,
                &version_arg,
                "secret",
                engine::NAME,
            ],
        )
        .await
        .ok();

    // Mounting and configuring.
    bao(&["secrets", "enable", "--path=op", "op-connect"])
        .await
        .ok();
    let mounts = bao(&["secrets", "list", "-detailed", "-format=json"])
        .await
        .json();
    assert_eq!(mounts["op/"]["type"], "op-connect");
    assert_eq!(mounts["op/"]["running_plugin_version"], engine::VERSION);

    // A mistyped token is reported when it is written, not at the first read.
    let mistyped = server
        .client()
        .write(
            "op/config",
            &json!({"op_connect_host": connect.url, "op_connect_token": "mistyped-token"}),
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

    let host_arg = format!("op_connect_host={}", connect.url);
    let token_arg = format!("op_connect_token={TOKEN}");
    server
        .cli(site, &["write", "op/config", &host_arg, &token_arg])
        .await
        .ok();

    // The JSON form of the config write (the guide's host ends in a slash).
    let config_body =
        json!({"op_connect_host": format!("{}/", connect.url), "op_connect_token": TOKEN});
    let config_file = server
        .put_file(
            site,
            "op-connect-config.json",
            config_body.to_string().as_bytes(),
        )
        .unwrap();
    let config_arg = format!("@{config_file}");
    server
        .cli(site, &["write", "op/config", &config_arg])
        .await
        .ok();

    // The token is never shown.
    let config = bao(&["read", "-format=json", "op/config"]).await.json();
    assert_eq!(config["data"]["op_connect_host"], json!(connect.url));
    assert_eq!(config["data"]["op_connect_token_set"], json!(true));
    assert!(!config.to_string().contains(TOKEN), "{config}");

    // Discover vaults.
    let vaults = bao(&["list", "-format=json", "op/vaults"]).await.json();
    let expected_key = format!("engineering {ENGINEERING_VAULT_ID}");
    assert!(
        vaults.as_array().unwrap().contains(&json!(expected_key)),
        "{vaults}"
    );

    // List items inside a vault (by name).
    let items = bao(&["list", "-format=json", "op/vaults/engineering/items"])
        .await
        .json();
    let items: Vec<String> = serde_json::from_value(items).unwrap();
    assert!(items.iter().any(|k| k.starts_with("GitHub ")), "{items:?}");

    // Read a single item (title or UUID): the guide's item, then GitHub by title and by id.
    let docker = bao(&[
        "read",
        "-format=json",
        "op/vaults/engineering/items/docker-hub-service-account",
    ])
    .await
    .json();
    assert_eq!(docker["data"]["username"], "acme-ci", "{docker}");
    let github = bao(&["read", "-format=json", "op/vaults/engineering/items/GitHub"])
        .await
        .json();
    assert_eq!(github["data"]["username"], "ci-bot");
    assert_eq!(github["data"]["password"], "gh-Demo-Passw0rd!");
    let github_id = items
        .iter()
        .find_map(|k| k.strip_prefix("GitHub "))
        .unwrap()
        .to_owned();
    let by_id_path = format!("op/vaults/{ENGINEERING_VAULT_ID}/items/{github_id}");
    let by_id = server
        .cli(site, &["read", "-format=json", &by_id_path])
        .await
        .json();
    assert_eq!(by_id["data"], github["data"]);

    // Create an item from the guide's JSON.
    let login_body = json!({
        "category": "login",
        "title": "Example Login",
        "fields": [
            { "id": "username", "type": "STRING", "purpose": "USERNAME", "value": "my_user" },
            { "id": "password", "type": "CONCEALED", "purpose": "PASSWORD", "generate": true }
        ]
    });
    let login_file = server
        .put_file(site, "login.json", login_body.to_string().as_bytes())
        .unwrap();
    let login_arg = format!("@{login_file}");
    let created = server
        .cli(
            site,
            &[
                "write",
                "-format=json",
                "op/vaults/engineering/items",
                &login_arg,
            ],
        )
        .await
        .json();
    assert_eq!(created["data"]["category"], "LOGIN");
    let new_id = created["data"]["ID"].as_str().unwrap().to_owned();
    assert_eq!(new_id.len(), 26, "{created}");

    let read_back = bao(&[
        "read",
        "-format=json",
        "op/vaults/engineering/items/Example Login",
    ])
    .await
    .json();
    assert_eq!(read_back["data"]["username"], "my_user");
    let generated = read_back["data"]["password"].as_str().unwrap();
    assert!(!generated.is_empty(), "{read_back}");

    // Delete it; a read afterwards is a clean 404.
    bao(&["delete", "op/vaults/engineering/items/Example Login"])
        .await
        .ok();
    let gone = server
        .client()
        .read(&format!("op/vaults/{ENGINEERING_VAULT_ID}/items/{new_id}"))
        .await
        .unwrap();
    assert_eq!(gone.status, 404, "{:?}", gone.body);

    // The guide's delete, then the item is gone.
    bao(&[
        "delete",
        "op/vaults/engineering/items/docker-hub-service-account",
    ])
    .await
    .ok();
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
