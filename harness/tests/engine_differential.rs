//! The differential scenarios of `reference-plugin.md` §15, numbered as there, against the same
//! fixture (vault ids, titles, items, createdAt order). Where the engine matches the reference,
//! the response (and the Connect traffic, from the mock's journal) is an insta JSON snapshot
//! under `tests/snapshots/`. Where it deliberately differs, the test asserts the intended
//! behaviour and its comment names the reference behaviour it replaces and why.
//!
//! Connect order: the mock lists vaults and items in fixture order, which puts the newer `Shared`
//! (A2) before A and the newer `db` (Y) before X, so "first match" would be visibly wrong.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use harness::scenario::{Scenario, ids};
use harness::vault_api::VaultResponse;
use serde_json::{Value, json};

/// The parts of an answer worth comparing with the reference: status, data, warnings, errors.
fn answer(r: &VaultResponse) -> Value {
    json!({
        "status": r.status,
        "data": r.data,
        "warnings": r.warnings,
        "errors": r.errors,
    })
}

/// Snapshot with the scenario's varying parts (mount, mock address, token) replaced.
macro_rules! snapshot {
    ($s:expr, $name:expr, $value:expr) => {{
        let text = serde_json::to_string(&$value).unwrap();
        let text = text
            .replace(&$s.connect.url, "[connect]")
            .replace(&$s.connect.token, "[token]")
            .replace(&format!("{}/", $s.mount), "[mount]/");
        let value: Value = serde_json::from_str(&text).unwrap();
        insta::with_settings!({sort_maps => true}, {
            insta::assert_json_snapshot!($name, value);
        });
    }};
}

fn a_x() -> String {
    format!("vaults/{}/items/{}", ids::A, ids::X)
}

// ---------------------------------------------------------------- config and client

#[tokio::test]
async fn s01_read_config_on_a_fresh_mount() {
    let s = Scenario::unconfigured().await;
    let read = s.read("config").await;
    assert_eq!(read.status, 404);
    assert!(read.errors.is_empty(), "{:?}", read.errors);
    assert_eq!(s.connect_requests().await, 0);
}

#[tokio::test]
async fn s02_s03_requests_on_an_unconfigured_mount() {
    // Reference: 500 `Unable to fetch client` (list) and `… No config set for op backend.`
    // (read). Intended: a 400 that says what to configure — the caller can fix it, nothing
    // failed on the server.
    let s = Scenario::unconfigured().await;
    let list = s.list("vaults").await;
    s.expect_error(&list, 400, &["config"]);
    let read = s.read(&a_x()).await;
    s.expect_error(&read, 400, &["config"]);
    assert_eq!(s.connect_requests().await, 0);
}

#[tokio::test]
async fn s04_s05_write_and_read_config() {
    let s = Scenario::unconfigured().await;
    let written = s
        .write(
            "config",
            &json!({"op_connect_host": s.connect.url, "op_connect_token": s.connect.token, "bogus": 1}),
        )
        .await;
    assert!(written.is_success(), "{:?}", written.body);
    // Reference: config read shows the token in clear (§14.1). Intended: never; only whether one
    // is set.
    let read = s.read("config").await;
    snapshot!(s, "s05_config_read", answer(&read));
}

#[tokio::test]
async fn s06_op_vault_is_stored_and_changes_nothing() {
    let s = Scenario::new().await;
    let before = s.read(&a_x()).await;
    let written = s.write("config", &json!({"op_vault": "Shared"})).await;
    assert!(written.is_success());
    let data = s.expect_data(&s.read("config").await);
    assert_eq!(data["op_vault"], json!("Shared"));
    assert_eq!(data["op_connect_host"], json!(s.connect.url));
    assert_eq!(s.read(&a_x()).await.data, before.data);
}

#[tokio::test]
async fn s07_numbers_for_strings_are_weakly_decoded() {
    let s = Scenario::new().await;
    assert!(
        s.write("config", &json!({"op_vault": 12}))
            .await
            .is_success()
    );
    assert_eq!(
        s.expect_data(&s.read("config").await)["op_vault"],
        json!("12")
    );
}

#[tokio::test]
async fn s08_empty_token() {
    // Reference: stored; every request then sends `Authorization: Bearer ` and fails with a 500.
    // Intended: the write succeeds with a warning that the token is missing, and requests fail
    // with a clear client error instead of calling Connect with no credential.
    let s = Scenario::new().await;
    let written = s.write("config", &json!({"op_connect_token": ""})).await;
    assert!(written.is_success(), "{:?}", written.body);
    assert!(
        written.warnings.join(" ").contains("op_connect_token"),
        "{:?}",
        written.warnings
    );
    s.connect.clear_journal().await;
    let list = s.list("vaults").await;
    assert!(
        (400..500).contains(&list.status),
        "{} {:?}",
        list.status,
        list.body
    );
    assert_eq!(s.connect_requests().await, 0);
}

#[tokio::test]
async fn s09_connection_refused() {
    // Reference: 500 `Unable to list vaults: Get "…": dial tcp …: connection refused`. Intended:
    // 502 (a bad gateway is exactly this) still naming the host.
    let s = Scenario::new().await;
    s.configure(json!({"op_connect_host": "http://127.0.0.1:1", "max_retries": 0}))
        .await;
    let list = s.list("vaults").await;
    s.expect_error(&list, 502, &["Unable to list vaults", "127.0.0.1:1"]);
}

#[tokio::test]
async fn s10_host_without_scheme() {
    // Reference: stored, then every request fails with `unsupported protocol scheme`. Intended:
    // rejected at write time with a 400 naming the field.
    let s = Scenario::unconfigured().await;
    let written = s
        .write(
            "config",
            &json!({"op_connect_host": "localhost:8080", "op_connect_token": "t"}),
        )
        .await;
    s.expect_error(&written, 400, &["op_connect_host"]);
}

#[tokio::test]
async fn s11_trailing_slash() {
    // Reference: `GET //v1/vaults`. Intended: the slash is dropped.
    let s = Scenario::unconfigured().await;
    let written = s
        .configure(json!({"op_connect_host": format!("{}/", s.connect.url)}))
        .await;
    assert!(written.is_success(), "{:?}", written.body);
    let data = s.expect_data(&s.read("config").await);
    assert_eq!(data["op_connect_host"], json!(s.connect.url));
    s.connect.clear_journal().await;
    assert_eq!(s.list("vaults").await.status, 200);
    assert_eq!(s.connect.journal_lines().await, vec!["GET /v1/vaults"]);
}

#[tokio::test]
async fn s12_delete_and_list_config() {
    // Reference: delete → 405 (config could not be removed). Intended: delete removes it.
    let s = Scenario::new().await;
    let deleted = s.delete("config").await;
    assert!(deleted.is_success(), "{:?}", deleted.body);
    assert_eq!(s.read("config").await.status, 404);
    let list = s.list("config").await;
    assert!(
        list.status == 404 || list.status == 405,
        "{} {:?}",
        list.status,
        list.body
    );
}

#[tokio::test]
async fn s13_object_for_a_string_config_field() {
    let s = Scenario::unconfigured().await;
    let written = s
        .write("config", &json!({"op_connect_host": {"a": 1}}))
        .await;
    s.expect_error(&written, 400, &["op_connect_host"]);
}

// ---------------------------------------------------------------- vaults

#[tokio::test]
async fn s14_list_vaults() {
    let s = Scenario::new().await;
    s.connect.clear_journal().await;
    let list = s.list("vaults").await;
    snapshot!(
        s,
        "s14_list_vaults",
        json!({"answer": answer(&list), "connect": s.connect.journal_lines().await})
    );
}

#[tokio::test]
async fn s15_no_vaults() {
    let s = Scenario::unconfigured_with(json!({"vaults": []})).await;
    s.configure(json!({})).await;
    let list = s.list("vaults").await;
    assert_eq!(list.status, 404, "{:?}", list.body);
    assert!(list.errors.is_empty());
}

#[tokio::test]
async fn s16_unsupported_operations_on_vaults() {
    let s = Scenario::new().await;
    let read = s.read("vaults").await;
    assert_eq!(read.status, 405, "{:?}", read.body);
    let write = s.write("vaults", &json!({"a": "b"})).await;
    assert_eq!(write.status, 405, "{:?}", write.body);
}

#[tokio::test]
async fn s17_html_error_page() {
    // Reference: 500 `Unable to list vaults: status 502: Bad Gateway`. Intended: 502.
    let s = Scenario::new().await;
    s.configure(json!({"max_retries": 0})).await;
    s.connect
        .fault(json!({"route": "GET /v1/vaults", "status": 502,
                      "body": "<html>Bad Gateway</html>"}))
        .await;
    let list = s.list("vaults").await;
    s.expect_error(&list, 502, &["Unable to list vaults"]);
}

// ---------------------------------------------------------------- items: list

#[tokio::test]
async fn s18_list_items_by_vault_title() {
    let s = Scenario::new().await;
    s.connect.clear_journal().await;
    let list = s.list("vaults/Shared/items").await;
    snapshot!(
        s,
        "s18_list_items_by_vault_title",
        json!({"answer": answer(&list), "connect": s.connect.journal_lines().await})
    );
}

#[tokio::test]
async fn s19_list_items_of_an_empty_vault() {
    let s = Scenario::new().await;
    s.connect.clear_journal().await;
    let list = s.list(&format!("vaults/{}/items", ids::A2)).await;
    assert_eq!(list.status, 404);
    // The vault listing behind the canonical path (`Shared/<id>`), then the items.
    assert_eq!(
        s.connect.journal_lines().await,
        vec![
            "GET /v1/vaults".to_owned(),
            format!("GET /v1/vaults/{}/items", ids::A2)
        ]
    );
}

#[tokio::test]
async fn s20_list_items_of_a_missing_vault() {
    // Reference: 500. Intended: 404 with the reference's text.
    let s = Scenario::new().await;
    let list = s.list("vaults/Nope/items").await;
    s.expect_error(
        &list,
        404,
        &[
            "Unable to list items",
            "No vaults found with identifier \"Nope\"",
        ],
    );
}

#[tokio::test]
async fn s21_list_a_vault_path() {
    // The pre-2023 README form `vault list op/vaults/<v>`: unsupported in both (the engine reads
    // `vaults/<v>`, it does not list it).
    let s = Scenario::new().await;
    let list = s.list(&format!("vaults/{}", ids::A)).await;
    assert!(
        list.status == 404 || list.status == 405,
        "{} {:?}",
        list.status,
        list.body
    );
}

#[tokio::test]
async fn s22_read_the_items_collection() {
    let s = Scenario::new().await;
    let read = s.read(&format!("vaults/{}/items", ids::A)).await;
    assert_eq!(read.status, 405, "{:?}", read.body);
}

// ---------------------------------------------------------------- items: read

#[tokio::test]
async fn s23_read_item_by_ids() {
    let s = Scenario::new().await;
    s.connect.clear_journal().await;
    let read = s.read(&a_x()).await;
    snapshot!(
        s,
        "s23_read_item_by_ids",
        json!({"answer": answer(&read), "connect": s.connect.journal_lines().await})
    );
}

#[tokio::test]
async fn s24_read_item_by_titles() {
    // Same data as 23. Reference traffic: vault filter, item filter, GET Y, GET X, GET X (5).
    // Intended: the oldest is picked from the filter's rows (they carry createdAt), so fewer
    // requests, plus warnings naming the candidates (the reference only logged them).
    let s = Scenario::new().await;
    s.connect.clear_journal().await;
    let read = s.read("vaults/Shared/items/db").await;
    snapshot!(
        s,
        "s24_read_item_by_titles",
        json!({"answer": answer(&read), "connect": s.connect.journal_lines().await})
    );
}

#[tokio::test]
async fn s25_s26_s28_not_found_is_404() {
    // Reference: 500 for all three, and "Unable to update item" on a read. Intended: 404 with
    // the action that failed.
    let s = Scenario::new().await;
    let missing_title = s.read(&format!("vaults/{}/items/missing", ids::A)).await;
    s.expect_error(
        &missing_title,
        404,
        &[
            "Unable to retrieve item",
            "No items found with identifier \"missing\"",
        ],
    );
    let missing_id = s
        .read(&format!("vaults/{}/items/{}", ids::A, ids::MISSING))
        .await;
    s.expect_error(&missing_id, 404, &["Unable to retrieve item"]);
    let missing_vault = s.read("vaults/Nope/items/x").await;
    s.expect_error(
        &missing_vault,
        404,
        &[
            "Unable to retrieve item",
            "No vaults found with identifier \"Nope\"",
        ],
    );
}

#[tokio::test]
async fn s27_item_without_fields() {
    let s = Scenario::new().await;
    let read = s.read(&format!("vaults/{}/items/{}", ids::A, ids::Z)).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.data, Some(json!({})));
}

#[tokio::test]
async fn s29_names_outside_the_reference_regex() {
    // Reference: `a b` and `-a` are "unsupported path" (404 from the router). Intended: any name
    // without `/` is addressable (URL-encoded), so these reach the lookup and are not found.
    let s = Scenario::new().await;
    s.connect.clear_journal().await;
    let spaced = s.read("vaults/a%20b/items/c").await;
    s.expect_error(&spaced, 404, &["\"a b\""]);
    let dashed = s.read("vaults/-a/items/c").await;
    s.expect_error(&dashed, 404, &["\"-a\""]);
    let dotted = s.read("vaults/a.b-c_d/items/e.f").await;
    s.expect_error(&dotted, 404, &["a.b-c_d"]);
    let lines = s.connect.journal_lines().await;
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("GET /v1/vaults?") && l.contains("a.b-c_d")),
        "{lines:?}"
    );
}

#[tokio::test]
async fn s30_id_shaped_vault_segment() {
    let s = Scenario::new().await;
    s.connect.clear_journal().await;
    let read = s.read("vaults/abcdefghijklmnopqrstuvwxyz/items/x").await;
    assert_eq!(read.status, 404, "{:?}", read.body);
    let lines = s.connect.journal_lines().await;
    assert!(
        !lines.iter().any(|l| l.starts_with("GET /v1/vaults?")),
        "an id needs no vault lookup: {lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("GET /v1/vaults/abcdefghijklmnopqrstuvwxyz/items")),
        "{lines:?}"
    );
}

#[tokio::test]
async fn s31_malformed_json_from_connect() {
    // Reference: 500 `… decoding response: invalid character …`. Intended: 502.
    let s = Scenario::new().await;
    s.configure(json!({"max_retries": 0})).await;
    s.connect
        .fault(json!({"route": "GET /v1/vaults/{v}/items/{i}", "malformed": true}))
        .await;
    s.expect_error(&s.read(&a_x()).await, 502, &["Unable to retrieve item"]);
}

#[tokio::test]
async fn s32_token_rejected() {
    // Reference: 500 `Unable to retrieve item: status 401: Invalid token signature`. Intended:
    // 502 saying the configured token was rejected.
    let s = Scenario::new().await;
    s.connect
        .fault(json!({"route": "/v1/**", "status": 401,
                      "body": {"status": 401, "message": "Invalid token signature"}}))
        .await;
    let read = s.read("vaults/Shared/items/db").await;
    s.expect_error(&read, 502, &["rejected", "token"]);
}

// ---------------------------------------------------------------- items: create

fn login_json() -> Value {
    json!({
        "category": "login", "title": "New", "url": "https://example.com",
        "sections": [{"id": "s1", "label": "S1"}],
        "fields": [
            {"id": "username", "type": "STRING", "purpose": "USERNAME", "label": "username", "value": "u"},
            {"id": "password", "type": "CONCEALED", "purpose": "PASSWORD", "label": "password",
             "generate": true, "recipe": {"length": 20, "characterSets": ["LETTERS", "DIGITS"]}},
            {"id": "c", "section": {"id": "s1"}, "type": "STRING", "label": "c", "value": "v", "junk": 1}
        ],
        "tags": ["a"]
    })
}

#[tokio::test]
async fn s33_create_login() {
    let s = Scenario::new().await;
    s.connect.clear_journal().await;
    let created = s
        .write(&format!("vaults/{}/items", ids::A), &login_json())
        .await;
    let data = s.expect_data(&created);
    let id = data["ID"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 26);
    chrono::DateTime::parse_from_rfc3339(data["createdAt"].as_str().unwrap()).unwrap();
    let mut shown = answer(&created);
    shown["data"]["ID"] = json!("[id]");
    shown["data"]["createdAt"] = json!("[createdAt]");
    snapshot!(
        s,
        "s33_create_login",
        json!({"answer": shown, "connect": s.connect.journal_lines().await})
    );
    // What Connect stored, read back in full.
    let full = s
        .read_query(
            &format!("vaults/{}/items/{id}", ids::A),
            &[("format", "full")],
        )
        .await;
    let full = s.expect_data(&full);
    let password = full["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == json!("password"))
        .unwrap();
    assert_eq!(password["value"].as_str().unwrap().len(), 20);
    assert_eq!(
        full["urls"][0]["href"],
        json!("https://example.com"),
        "{full}"
    );
}

#[tokio::test]
async fn s34_create_without_category() {
    // The body has no category: Connect decides (the mock, like Connect, requires one → 400),
    // and `vault` in the body is replaced by the path's, with the reference's warning.
    let s = Scenario::new().await;
    let created = s
        .write(
            &format!("vaults/{}/items", ids::A),
            &json!({"title": "NoCat", "vault": "zzz"}),
        )
        .await;
    assert_eq!(created.status, 400, "{:?}", created.body);
}

#[tokio::test]
async fn s35_upper_case_category() {
    // Reference: `LOGIN` (not `login`) silently dropped the category. Intended: categories are
    // case-insensitive.
    let s = Scenario::new().await;
    let created = s
        .write(
            &format!("vaults/{}/items", ids::A),
            &json!({"category": "LOGIN", "title": "Upper"}),
        )
        .await;
    assert_eq!(s.expect_data(&created)["category"], json!("LOGIN"));
}

#[tokio::test]
async fn s36_single_object_fields() {
    let s = Scenario::new().await;
    let created = s
        .write(
            &format!("vaults/{}/items", ids::A),
            &json!({"category": "password", "title": "One",
                    "fields": {"id": "a", "label": "a", "value": "b"}}),
        )
        .await;
    let id = s.expect_data(&created)["ID"].as_str().unwrap().to_owned();
    let read = s.read(&format!("vaults/{}/items/{id}", ids::A)).await;
    assert_eq!(read.data, Some(json!({"a": "b"})));
}

#[tokio::test]
async fn s37_fields_not_a_map() {
    // Reference: the plugin process panics (§9.4). Intended: 400 naming `fields` (or
    // `sections`), nothing sent to Connect, and the plugin still serving.
    let s = Scenario::new().await;
    let collection = format!("vaults/{}/items", ids::A);
    for body in [
        json!({"category": "login", "title": "Bad", "fields": "notamap"}),
        json!({"category": "login", "title": "Bad", "fields": "[{\"id\": \"x\", "}),
        json!({"category": "login", "title": "Bad", "fields": ["x"]}),
        json!({"category": "login", "title": "Bad", "fields": [1]}),
        json!({"category": "login", "title": "Bad", "sections": ["s"]}),
        json!({"category": "login", "title": "Bad", "fields": [{"value": {"a": 1}}]}),
    ] {
        let created = s.write(&collection, &body).await;
        let key = if body.get("sections").is_some() {
            "sections"
        } else {
            "fields"
        };
        s.expect_error(&created, 400, &[key]);
        let vaults = s.list("vaults").await;
        assert_eq!(vaults.status, 200, "the plugin still serves after {body}");
    }
    assert!(
        !s.connect.journal().await.iter().any(|e| e.method == "POST"),
        "nothing invalid reaches Connect"
    );
}

#[tokio::test]
async fn s38_number_for_a_field_value() {
    // Reference: 500 `json: cannot unmarshal number …`. Intended: a number is weakly decoded to
    // its text, like every other string the reference accepts.
    let s = Scenario::new().await;
    let created = s
        .write(
            &format!("vaults/{}/items", ids::A),
            &json!({"category": "password", "title": "Num", "fields": [{"label": "pin", "value": 5}]}),
        )
        .await;
    let id = s.expect_data(&created)["ID"].as_str().unwrap().to_owned();
    let read = s.read(&format!("vaults/{}/items/{id}", ids::A)).await;
    assert_eq!(read.get("pin"), &json!("5"));
}

#[tokio::test]
async fn s39_object_for_the_title() {
    let s = Scenario::new().await;
    s.connect.clear_journal().await;
    let created = s
        .write(
            &format!("vaults/{}/items", ids::A),
            &json!({"category": "login", "title": {"x": 1}}),
        )
        .await;
    s.expect_error(&created, 400, &["title"]);
    let created = s
        .write(
            &format!("vaults/{}/items", ids::A),
            &json!({"category": "no-such-category", "title": "t"}),
        )
        .await;
    s.expect_error(&created, 400, &["category"]);
    // Only the vault listing behind the canonical path; no item is sent.
    assert_eq!(
        s.connect.journal_lines().await,
        vec!["GET /v1/vaults".to_owned()],
        "nothing sent to Connect"
    );
}

#[tokio::test]
async fn s40_connect_rejects_the_item() {
    // Reference: 500 `Unable to create item: status 400: M`. Intended: 400 with M.
    let s = Scenario::new().await;
    s.connect
        .fault(json!({"route": "POST /v1/vaults/{v}/items", "status": 400,
                      "body": {"status": 400, "message": "Invalid item: the M message"}}))
        .await;
    let created = s
        .write(
            &format!("vaults/{}/items", ids::A),
            &json!({"category": "login", "title": "x"}),
        )
        .await;
    s.expect_error(&created, 400, &["Unable to create item", "the M message"]);
}

#[tokio::test]
async fn s41_create_in_a_missing_vault() {
    let s = Scenario::new().await;
    let created = s
        .write("vaults/Nope/items", &json!({"category": "login"}))
        .await;
    s.expect_error(
        &created,
        404,
        &[
            "Unable to create item",
            "No vaults found with identifier \"Nope\"",
        ],
    );
}

// ---------------------------------------------------------------- items: update

#[tokio::test]
async fn s43_update_by_title() {
    let s = Scenario::new().await;
    s.connect.clear_journal().await;
    let updated = s
        .write(
            &format!("vaults/{}/items/db", ids::A),
            &json!({"category": "database",
                    "fields": [{"id": "password", "label": "password", "value": "new"}],
                    "id": "ignored"}),
        )
        .await;
    let mut shown = answer(&updated);
    assert!(
        shown["data"]["createdAt"]
            .as_str()
            .unwrap()
            .starts_with("2019-01-01")
    );
    shown["data"]["createdAt"] = json!("[createdAt]");
    snapshot!(
        s,
        "s43_update_by_title",
        json!({"answer": shown, "connect": s.connect.journal_lines().await})
    );
    // Full replacement: the title is now empty and only the given field is left.
    let full = s.read_query(&a_x(), &[("format", "full")]).await;
    let full = s.expect_data(&full);
    assert_eq!(full["title"], json!(""));
    assert_eq!(full["fields"].as_array().unwrap().len(), 1, "{full}");
}

#[tokio::test]
async fn s44_update_by_ids_is_one_put_after_its_title_is_checked() {
    // The reference sends one PUT. Here the request reaches the engine under its canonical
    // title (policies are checked against it), and a write resolves a title afresh: one lookup,
    // then the PUT to the very id that was asked for.
    let s = Scenario::new().await;
    s.expect_data(&s.read(&a_x()).await);
    s.connect.clear_journal().await;
    let updated = s
        .write(&a_x(), &json!({"category": "password", "title": "T"}))
        .await;
    assert_eq!(updated.status, 200, "{:?}", updated.body);
    assert_eq!(
        s.connect.journal_lines().await,
        vec![
            format!("GET /v1/vaults/{}/items?filter=title+eq+%22db%22", ids::A),
            format!("PUT /v1/vaults/{}/items/{}", ids::A, ids::X)
        ]
    );
}

#[tokio::test]
async fn s45_s46_update_missing() {
    let s = Scenario::new().await;
    let item = s
        .write(
            &format!("vaults/{}/items/nope", ids::A),
            &json!({"category": "login"}),
        )
        .await;
    s.expect_error(
        &item,
        404,
        &[
            "Unable to update item",
            "No items found with identifier \"nope\"",
        ],
    );
    let vault = s
        .write("vaults/Nope/items/x", &json!({"category": "login"}))
        .await;
    s.expect_error(
        &vault,
        404,
        &[
            "Unable to update item",
            "No vaults found with identifier \"Nope\"",
        ],
    );
}

#[tokio::test]
async fn s47_unknown_category_from_connect_reads_as_custom() {
    let s = Scenario::new().await;
    s.connect
        .fault(
            json!({"route": "PUT /v1/vaults/{v}/items/{i}", "status": 200,
                      "body": {"id": ids::X, "title": "T", "vault": {"id": ids::A},
                               "category": "WEIRD_NEW"}}),
        )
        .await;
    let updated = s
        .write(&a_x(), &json!({"category": "password", "title": "T"}))
        .await;
    let data = s.expect_data(&updated);
    assert_eq!(data["category"], json!("CUSTOM"));
    assert_eq!(data["createdAt"], json!("0001-01-01T00:00:00Z"));
}

// ---------------------------------------------------------------- items: delete

#[tokio::test]
async fn s48_delete_by_title_deletes_the_oldest() {
    let s = Scenario::new().await;
    s.connect.clear_journal().await;
    let deleted = s.delete(&format!("vaults/{}/items/db", ids::A)).await;
    assert_eq!(deleted.status, 204, "{:?}", deleted.body);
    let lines = s.connect.journal_lines().await;
    assert_eq!(
        lines.last().unwrap(),
        &format!("DELETE /v1/vaults/{}/items/{}", ids::A, ids::X),
        "{lines:?}"
    );
    assert_eq!(
        s.read(&format!("vaults/{}/items/db", ids::A))
            .await
            .get("password"),
        &json!("newer")
    );
}

#[tokio::test]
async fn s49_delete_by_ids_is_one_request_after_its_title_is_checked() {
    // As s44: the canonical title is resolved afresh, then the asked-for id deleted.
    let s = Scenario::new().await;
    s.expect_data(&s.read(&a_x()).await);
    s.connect.clear_journal().await;
    assert_eq!(s.delete(&a_x()).await.status, 204);
    assert_eq!(
        s.connect.journal_lines().await,
        vec![
            format!("GET /v1/vaults/{}/items?filter=title+eq+%22db%22", ids::A),
            format!("DELETE /v1/vaults/{}/items/{}", ids::A, ids::X)
        ]
    );
}

#[tokio::test]
async fn s50_s51_s52_delete_missing() {
    let s = Scenario::new().await;
    s.expect_error(
        &s.delete(&format!("vaults/{}/items/nope", ids::A)).await,
        404,
        &["No items found with identifier \"nope\""],
    );
    s.expect_error(
        &s.delete("vaults/Nope/items/x").await,
        404,
        &["No vaults found with identifier \"Nope\""],
    );
    s.expect_error(
        &s.delete(&format!("vaults/{}/items/{}", ids::A, ids::MISSING))
            .await,
        404,
        &["Unable to delete item"],
    );
}

#[tokio::test]
async fn s52_connect_404_on_delete() {
    // Reference: 500 `Unable to delete item: status 404: …`. Intended: 404.
    let s = Scenario::new().await;
    s.connect
        .fault(
            json!({"route": "DELETE /v1/vaults/{v}/items/{i}", "status": 404,
                      "body": {"status": 404, "message": "item not found"}}),
        )
        .await;
    s.expect_error(&s.delete(&a_x()).await, 404, &["Unable to delete item"]);
}

#[tokio::test]
async fn s53_delete_answered_200_with_an_empty_body() {
    // Reference: 500 `Unable to delete item: status 200: OK` (its SDK insisted on 204).
    // Intended: any 2xx from Connect means the item is gone.
    let s = Scenario::new().await;
    s.connect
        .fault(json!({"route": "DELETE /v1/vaults/{v}/items/{i}", "status": 200, "body": ""}))
        .await;
    let deleted = s.delete(&a_x()).await;
    assert_eq!(deleted.status, 204, "{:?}", deleted.body);
}

// ---------------------------------------------------------------- help and metadata

#[tokio::test]
async fn s54_path_help() {
    let s = Scenario::new().await;
    let help = s.bao(&["path-help", &s.path("config")]).await;
    let text = help.ok();
    assert!(
        text.contains("Configure the 1Password Connect backend."),
        "{text}"
    );
    for field in ["op_connect_host", "op_connect_token", "op_vault"] {
        assert!(text.contains(field), "{field} missing from:\n{text}");
    }
    let help = s.bao(&["path-help", &s.path("vaults/x/items/y")]).await;
    let text = help.ok();
    for field in ["category", "fields", "sections", "title", "url"] {
        assert!(text.contains(field), "{field} missing from:\n{text}");
    }
}

#[tokio::test]
async fn s55_mount_metadata() {
    // Reference: no running version. Intended: the engine reports its version, so
    // `-version=v1.1.0` registration matches and `secrets list -detailed` shows it.
    let s = Scenario::new().await;
    let mounts = s.client.read("sys/mounts").await.unwrap();
    let mount = &mounts.body[format!("{}/", s.mount)];
    assert_eq!(mount["type"], json!("op-connect"), "{mount}");
    assert_eq!(mount["running_plugin_version"], json!("v1.1.0"), "{mount}");
}
