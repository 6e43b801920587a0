//! Faults and hostile input: Connect down, slow, failing, answering garbage or rejecting the
//! token; malformed request bodies; and the Connect token never showing up anywhere (responses,
//! errors, warnings, the server log that holds the plugin's stderr).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use harness::scenario::{Scenario, ids};
use proptest::prelude::*;
use serde_json::{Value, json};

fn item_x() -> String {
    format!("vaults/{}/items/{}", ids::A, ids::X)
}

const ITEM_ROUTE: &str = "GET /v1/vaults/{vault}/items/{item}";

/// A scenario whose engine gives up quickly and does not retry, so faults show at once.
async fn impatient() -> Scenario {
    let s = Scenario::new().await;
    let written = s
        .configure(json!({"request_timeout": "1s", "max_retries": 0}))
        .await;
    assert!(written.is_success(), "{:?}", written.body);
    s.connect.clear_journal().await;
    s
}

#[tokio::test]
async fn connect_unreachable_is_502_naming_the_host() {
    let s = Scenario::new().await;
    s.configure(json!({"op_connect_host": "http://127.0.0.1:1", "max_retries": 0}))
        .await;
    let read = s.read(&item_x()).await;
    s.expect_error(&read, 502, &["127.0.0.1:1"]);
    let list = s.list("vaults").await;
    s.expect_error(&list, 502, &["127.0.0.1:1"]);
}

#[tokio::test]
async fn connect_slower_than_the_timeout_is_504_without_hanging() {
    let s = impatient().await;
    s.connect
        .fault(json!({"route": ITEM_ROUTE, "latency_ms": 8000}))
        .await;
    let read = s.read(&item_x()).await;
    s.expect_error(&read, 504, &[&s.connect.url.replace("http://", "")]);
    s.connect.clear_faults().await;
    assert_eq!(
        s.read(&item_x()).await.status,
        200,
        "recovers once Connect does"
    );
}

#[tokio::test]
async fn connect_5xx_is_502() {
    let s = impatient().await;
    s.connect
        .fault(json!({"route": ITEM_ROUTE, "status": 500,
                      "body": {"status": 500, "message": "internal trouble"}}))
        .await;
    let read = s.read(&item_x()).await;
    s.expect_error(&read, 502, &[]);
}

#[tokio::test]
async fn transient_503_is_retried() {
    let s = Scenario::new().await;
    s.configure(json!({"max_retries": 2})).await;
    s.connect.clear_journal().await;
    s.connect
        .fault(json!({"route": ITEM_ROUTE, "status": 503, "times": 1}))
        .await;
    let read = s.read(&item_x()).await;
    assert_eq!(read.status, 200, "{:?}", read.body);
    let gets = s
        .connect
        .journal()
        .await
        .iter()
        .filter(|e| e.path.ends_with(ids::X))
        .count();
    assert_eq!(gets, 2, "one failed attempt, one retry");
}

#[tokio::test]
async fn creates_are_never_retried() {
    // POST is not idempotent: a retry after a lost answer could create the item twice.
    let s = Scenario::new().await;
    s.configure(json!({"max_retries": 3})).await;
    s.connect.clear_journal().await;
    s.connect
        .fault(json!({"route": "POST /v1/vaults/{v}/items", "status": 503, "times": 1}))
        .await;
    let created = s
        .write(
            &format!("vaults/{}/items", ids::B),
            &json!({"category": "password", "title": "once"}),
        )
        .await;
    s.expect_error(&created, 502, &[]);
    let posts = s
        .connect
        .journal()
        .await
        .iter()
        .filter(|e| e.method == "POST")
        .count();
    assert_eq!(posts, 1);
}

#[tokio::test]
async fn malformed_and_dropped_answers_are_502() {
    let s = impatient().await;
    s.connect
        .fault(json!({"route": ITEM_ROUTE, "malformed": true, "times": 1}))
        .await;
    s.expect_error(&s.read(&item_x()).await, 502, &[]);
    s.connect
        .fault(json!({"route": ITEM_ROUTE, "drop": true, "times": 1}))
        .await;
    s.expect_error(&s.read(&item_x()).await, 502, &[]);
    assert_eq!(s.read(&item_x()).await.status, 200);
}

#[tokio::test]
async fn token_out_of_scope_is_403() {
    let s = impatient().await;
    s.connect
        .fault(json!({"route": ITEM_ROUTE, "status": 403,
                      "body": {"status": 403, "message": "Authorization: token does not have access to vault"}}))
        .await;
    s.expect_error(&s.read(&item_x()).await, 403, &[]);
}

#[tokio::test]
async fn fields_at_file_sent_by_the_cli_is_400() {
    // The natural mistake `fields=@fields.json` sends the file's text as one string; it must not
    // crash anything.
    let s = Scenario::new().await;
    let fields = s.cli_file("fields.json", b"not json at all");
    let items = s.path(&format!("vaults/{}/items", ids::A));
    let fields_arg = format!("fields=@{fields}");
    let written = s
        .bao(&["write", &items, "category=login", "title=Bad", &fields_arg])
        .await;
    let stderr = written.failed();
    assert!(
        stderr.contains("Code: 400") && stderr.contains("fields"),
        "{stderr}"
    );
    assert_eq!(s.list("vaults").await.status, 200);
}

#[tokio::test]
async fn the_token_never_appears_anywhere() {
    let s = Scenario::new().await;
    let token = s.connect.token.clone();
    let mut bodies: Vec<Value> = Vec::new();
    let mut keep = |r: harness::vault_api::VaultResponse| bodies.push(r.body);
    keep(s.read("config").await);
    keep(s.read(&item_x()).await);
    keep(s.read("vaults/Shared/items/db").await);
    keep(s.read("vaults/Nope/items/x").await);
    keep(s.read("health").await);
    keep(
        s.write(
            &format!("vaults/{}/items", ids::A),
            &json!({"fields": "notamap"}),
        )
        .await,
    );
    s.connect
        .fault(json!({"route": "/v1/**", "status": 401,
                      "body": {"status": 401, "message": format!("bad token {token}")}}))
        .await;
    keep(s.read(&item_x()).await);
    keep(s.configure(json!({})).await);
    s.connect.clear_faults().await;
    keep(
        s.configure(json!({"op_connect_host": "http://127.0.0.1:1"}))
            .await,
    );
    keep(s.read(&item_x()).await);
    for body in &bodies {
        assert!(!body.to_string().contains(&token), "token in {body}");
    }
    // The plugin's stderr goes to the server log (debug level).
    let log = s.env.log();
    assert!(
        !log.contains(&token),
        "the Connect token appears in the server log:\n{}",
        log.lines()
            .filter(|l| l.contains(&token))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Arbitrary JSON values, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[ -~]{0,12}".prop_map(Value::from),
        "\\PC{0,6}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("id".to_string()),
                    Just("label".to_string()),
                    Just("value".to_string()),
                    Just("type".to_string()),
                    Just("section".to_string()),
                    Just("recipe".to_string()),
                    Just("generate".to_string()),
                    "[a-z]{1,6}"
                ],
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Arbitrary item-create bodies: known keys with arbitrary values, plus stray keys.
fn item_body() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(
        prop_oneof![
            Just("category".to_string()),
            Just("title".to_string()),
            Just("url".to_string()),
            Just("fields".to_string()),
            Just("sections".to_string()),
            Just("tags".to_string()),
            Just("vault".to_string()),
            Just("id".to_string()),
            "[a-z_]{1,8}",
        ],
        json_value(),
        0..6,
    )
    .prop_map(|m| Value::Object(m.into_iter().collect()))
}

#[test]
fn arbitrary_create_bodies_never_give_5xx() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let s = runtime.block_on(Scenario::new());
    let collection = format!("vaults/{}/items", ids::B);
    let config = ProptestConfig {
        cases: test_support::proptest_cases(32),
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(body in item_body())| {
        let response = runtime.block_on(s.write(&collection, &body));
        prop_assert!(
            response.status < 500,
            "{} for {}: {:?}", response.status, body, response.body
        );
        prop_assert!(!response.body.to_string().contains(&s.connect.token));
    });
    let still = runtime.block_on(s.list("vaults"));
    assert_eq!(still.status, 200, "the plugin is still up");
}

#[test]
fn arbitrary_patch_bodies_never_give_5xx() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let s = runtime.block_on(Scenario::new());
    let path = format!("vaults/{}/items/{}", ids::B, ids::ODD);
    let config = ProptestConfig {
        cases: test_support::proptest_cases(24),
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let body = prop::collection::btree_map(
        prop_oneof![
            Just("title".to_string()),
            Just("url".to_string()),
            Just("tags".to_string()),
            Just("fields".to_string()),
            Just("remove_fields".to_string()),
            Just("category".to_string()),
            "[a-z_]{1,8}",
        ],
        json_value(),
        0..4,
    )
    .prop_map(|m| Value::Object(m.into_iter().collect()));
    proptest!(config, |(body in body)| {
        let response = runtime.block_on(s.patch(&path, &body));
        prop_assert!(
            response.status < 500,
            "{} for {}: {:?}", response.status, body, response.body
        );
    });
    let still = runtime.block_on(s.read(&path));
    assert_eq!(still.status, 200, "the item and the plugin are still there");
}
