//! Security properties through a real OpenBao (issue 11): the Connect token stays with the host
//! it was written with, out-of-range values are 400s naming the field, the audit log holds
//! neither the token nor a secret value in clear, and a request has an overall deadline.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use harness::launch::{Backend, ConnectSeed, EngineSetup, Stack, StackOptions};
use harness::scenario::{Scenario, fixture, ids};
use serde_json::json;

fn item_x() -> String {
    format!("vaults/{}/items/{}", ids::A, ids::X)
}

#[tokio::test]
async fn a_new_host_without_the_token_is_refused_and_never_contacted() {
    let s = Scenario::new().await;
    // Another Connect, as a writer with `update` on config but without the token would point
    // the engine at (it accepts only its own token, so any request would show as a 401).
    let other = s.env.connect(fixture(), "token-of-the-other-connect").await;

    let written = s
        .write("config", &json!({"op_connect_host": other.url}))
        .await;
    s.expect_error(&written, 400, &["op_connect_token", "op_connect_host"]);
    // Also with a trailing slash and other settings in the same write.
    let written = s
        .write(
            "config",
            &json!({"op_connect_host": format!("{}/", other.url), "max_retries": 1}),
        )
        .await;
    s.expect_error(&written, 400, &["op_connect_token"]);

    // Nothing was stored: the engine still talks to its own Connect, with its own token…
    let data = s.expect_data(&s.read("config").await);
    assert_eq!(data["op_connect_host"], json!(s.connect.url));
    assert_eq!(s.read(&item_x()).await.status, 200);
    // …and the other Connect saw no request at all (no heartbeat probe, no token check).
    assert!(
        other.journal().await.is_empty(),
        "the other Connect was contacted: {:?}",
        other.journal_lines().await
    );

    // Writing the same host again without the token stays allowed (slash and all).
    let same = s
        .write(
            "config",
            &json!({"op_connect_host": format!("{}/", s.connect.url), "op_vault": "Shared"}),
        )
        .await;
    assert!(same.is_success(), "{} {:?}", same.status, same.body);
    assert_eq!(s.read(&item_x()).await.status, 200);

    // With its own token in the same write, the move is fine; the probe reaches the other
    // Connect with the token it was paired with (the mock answers 401 to any other).
    let moved = s
        .write(
            "config",
            &json!({"op_connect_host": other.url, "op_connect_token": other.token}),
        )
        .await;
    assert!(moved.is_success(), "{} {:?}", moved.status, moved.body);
    // (On containers a plain-http warning is due: Connect is not on loopback there.)
    assert!(
        !moved
            .warnings
            .iter()
            .any(|w| w.contains("heartbeat") || w.contains("rejected")),
        "the probe with the paired token must pass: {:?}",
        moved.warnings
    );
    let seen = other.journal().await;
    assert!(!seen.is_empty(), "the probe did not reach the new host");
    assert!(
        seen.iter().all(|entry| entry.status != 401),
        "the other Connect got a token it does not accept: {:?}",
        other.journal_lines().await
    );
}

#[tokio::test]
async fn a_host_on_an_unconfigured_mount_with_a_stored_token_needs_the_token_too() {
    let s = Scenario::unconfigured().await;
    let other = s.env.connect(fixture(), "token-of-the-other-connect").await;
    // A token written first, alone (no host yet): nothing is contacted.
    let token_only = s
        .write("config", &json!({"op_connect_token": s.connect.token}))
        .await;
    assert!(token_only.is_success(), "{:?}", token_only.body);
    // Pairing a host with it later must carry the token again.
    let host_only = s
        .write("config", &json!({"op_connect_host": other.url}))
        .await;
    s.expect_error(&host_only, 400, &["op_connect_token"]);
    assert!(other.journal().await.is_empty());
    assert!(s.configure(json!({})).await.is_success());
}

#[tokio::test]
async fn out_of_range_values_are_400s_naming_the_field() {
    let s = Scenario::new().await;
    let cases = [
        (json!({"request_timeout": 1e20}), "request_timeout"),
        (json!({"request_timeout": 1.7e308}), "request_timeout"),
        (json!({"request_timeout": -1}), "request_timeout"),
        (json!({"request_timeout": "-5s"}), "request_timeout"),
        (
            json!({"request_timeout": "99999999999999999999h"}),
            "request_timeout",
        ),
        (json!({"request_timeout": "NaN"}), "request_timeout"),
        (json!({"item_cache_ttl": 1e20}), "item_cache_ttl"),
        (json!({"item_cache_ttl": u64::MAX}), "item_cache_ttl"),
        (json!({"max_retries": 1e20}), "max_retries"),
        (json!({"max_retries": u64::MAX}), "max_retries"),
        (json!({"max_retries": -1}), "max_retries"),
        (
            json!({"max_retries": "99999999999999999999"}),
            "max_retries",
        ),
        (json!({"max_retries": 2.5}), "max_retries"),
    ];
    for (body, field) in cases {
        let written = s.write("config", &body).await;
        s.expect_error(&written, 400, &[field]);
    }
    // Item bodies: a generator length beyond u32, in every spelling.
    for length in [json!(1e20), json!(u64::MAX), json!(-3), json!("4294967296")] {
        let written = s
            .write(
                &format!("vaults/{}/items", ids::A),
                &json!({"title": "t", "category": "password",
                        "fields": [{"label": "p", "generate": true, "recipe": {"length": length}}]}),
            )
            .await;
        s.expect_error(&written, 400, &["fields[0].recipe.length"]);
    }
    // Nothing was stored and the engine still serves.
    let data = s.expect_data(&s.read("config").await);
    assert_eq!(data["max_retries"], json!(2));
    assert_eq!(s.read(&item_x()).await.status, 200);
}

/// A file audit device writing to the server's stdout, which is part of the server log.
/// OpenBao 2.7 refuses to enable audit devices through its API ("use declarative,
/// config-based audit device management"), so it is declared in the server's configuration.
const STDOUT_AUDIT: &str = r#"
audit "file" "security-stdout" {
  options = { file_path = "stdout" }
}
"#;

#[tokio::test]
async fn the_audit_log_holds_neither_the_token_nor_secret_values() {
    if Backend::from_env().unwrap() == Backend::Container {
        // The server's configuration is baked into the container's command line; the process
        // backend runs the same OpenBao build with the same engine.
        return test_support::skip(
            "the_audit_log_holds_neither_the_token_nor_secret_values",
            "process backend only (the audit device is declared in a server config file)",
        );
    }
    let stack = Stack::start(StackOptions {
        connect: Some(ConnectSeed::Fixture(fixture())),
        engine: EngineSetup::Mounted,
        server_hcl: Some(STDOUT_AUDIT.into()),
        ..StackOptions::default()
    })
    .await
    .expect("a stack with an audit device starts");
    let client = stack.bao.client();
    let connect = stack.connect.as_ref().expect("the stack's Connect mock");
    let token = connect.token.clone();
    let secret = format!("sv-{}-UNIQUE-SECRET-VALUE", std::process::id());

    // Config writes: a good one, one whose probe fails (a warning with upstream text), one
    // refused (an error).
    let good = json!({"op_connect_host": connect.url, "op_connect_token": token});
    assert!(client.write("op/config", &good).await.unwrap().is_success());
    let unreachable = client
        .write(
            "op/config",
            &json!({"op_connect_host": "http://127.0.0.1:1", "op_connect_token": token,
                    "max_retries": 0}),
        )
        .await
        .unwrap();
    assert!(unreachable.is_success(), "{:?}", unreachable.body);
    assert!(!unreachable.warnings.is_empty());
    assert!(client.write("op/config", &good).await.unwrap().is_success());
    let refused = client
        .write(
            "op/config",
            &json!({"op_connect_host": "http://127.0.0.1:2"}),
        )
        .await
        .unwrap();
    assert_eq!(refused.status, 400, "{:?}", refused.body);

    // An item written with a secret, then read back (flat and full).
    let created = client
        .write(
            &format!("op/vaults/{}/items", ids::A),
            &json!({"title": "audited", "category": "password",
                    "fields": [{"label": "password", "type": "CONCEALED", "value": secret}]}),
        )
        .await
        .unwrap();
    assert!(created.is_success(), "{:?}", created.body);
    let id = created.get("ID").as_str().unwrap().to_owned();
    let item = format!("op/vaults/{}/items/{id}", ids::A);
    let read = client.read(&item).await.unwrap();
    assert_eq!(read.get("password"), &json!(secret));
    let full = client
        .read_with_query(&item, &[("format", "full")])
        .await
        .unwrap();
    assert_eq!(full.status, 200);

    // The audit entries are there (so the check below looks at something); OpenBao audits the
    // canonical path the engine answered resolve-path with (vault and item by name)…
    let log = wait_for_audit(&stack, "op/vaults/Shared/items/audited").await;
    // …and neither the token nor the secret is in clear anywhere in the server log (audit
    // entries, server output, the plugin's stderr).
    assert!(
        !log.contains(&token),
        "the Connect token is in the server/audit log"
    );
    assert!(
        !log.contains(&secret),
        "a secret value is in the server/audit log"
    );
}

/// The server log once it holds the audit entries of the two reads of the item whose canonical
/// path is `item` (the audit device writes to stdout as requests finish).
async fn wait_for_audit(stack: &Stack, item: &str) -> String {
    for _ in 0..100 {
        let log = stack.bao.log();
        let audited = log
            .lines()
            .filter(|line| {
                line.contains("\"type\":\"response\"")
                    && line.contains("\"operation\":\"read\"")
                    && line.contains(&format!("\"path\":\"{item}\""))
            })
            .count();
        if audited >= 2 {
            return log;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!(
        "no audit entries for {item} in the server log:\n{}",
        stack.bao.log_tail(20)
    );
}

#[tokio::test]
async fn a_request_whose_every_attempt_is_slow_ends_with_504_at_its_deadline() {
    let s = Scenario::new().await;
    // Per attempt 5 s, ten retries: without an overall deadline one item read would take
    // 11 × 5 s plus backoffs (over the harness client's 60 s); the deadline ends it sooner.
    let written = s
        .configure(json!({"request_timeout": "5s", "max_retries": 10}))
        .await;
    assert!(written.is_success(), "{:?}", written.body);
    s.connect
        .fault(json!({"route": "GET /v1/vaults/{vault}/items/{item}", "latency_ms": 120_000}))
        .await;
    let read = s.read(&item_x()).await;
    s.expect_error(&read, 504, &["deadline"]);
    s.connect.clear_faults().await;
    assert_eq!(s.read(&item_x()).await.status, 200, "serves afterwards");
}

#[tokio::test]
async fn connect_messages_are_echoed_only_as_a_short_redacted_excerpt() {
    let s = Scenario::new().await;
    let written = s.configure(json!({"max_retries": 0})).await;
    assert!(written.is_success(), "{:?}", written.body);
    // A hostile Connect echoing the token (and its parts) in a long error message.
    let token = s.connect.token.clone();
    let message = format!("bad {token} {} {}", "x".repeat(5000), token.to_uppercase());
    s.connect
        .fault(
            json!({"route": "GET /v1/vaults/{vault}/items/{item}", "status": 400,
                      "body": {"status": 400, "message": message}}),
        )
        .await;
    let read = s.read(&item_x()).await;
    let text = s.expect_error(&read, 400, &[]);
    assert!(!text.contains(&token), "{text}");
    assert!(
        text.len() < 1000,
        "the upstream message is not bounded: {} chars",
        text.len()
    );
    let log = s.env.log();
    assert!(!log.contains(&token), "the token is in the server log");
}
