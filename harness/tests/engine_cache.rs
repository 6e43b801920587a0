//! What the engine asks Connect, counted in the mock's journal: one request per steady-state read
//! by id or by title (a cold read by id also lists the vaults and the vault's items once, to learn
//! the canonical names policies are checked against), and caches that check themselves when the data changes behind
//! the engine's back (renames, deletes, re-creations in 1Password).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use harness::scenario::{Scenario, ids};
use reqwest::Method;
use serde_json::json;

/// Renames an item directly in Connect (behind the engine's back).
async fn rename_in_connect(s: &Scenario, vault: &str, item: &str, title: &str) {
    let (status, body) = s
        .connect
        .api(
            Method::PATCH,
            &format!("/v1/vaults/{vault}/items/{item}"),
            Some(json!([{"op": "replace", "path": "/title", "value": title}])),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn read_by_ids_costs_one_request() {
    let s = Scenario::new().await;
    let path = format!("vaults/{}/items/{}", ids::A, ids::X);
    let item = format!("GET /v1/vaults/{}/items/{}", ids::A, ids::X);
    s.connect.clear_journal().await;
    let read = s.read(&path).await;
    assert_eq!(read.status, 200);
    // Cold: the listings that give the canonical path, then the item.
    assert_eq!(
        s.connect.journal_lines().await,
        vec![
            "GET /v1/vaults".to_owned(),
            format!("GET /v1/vaults/{}/items", ids::A),
            item.clone(),
        ]
    );
    s.connect.clear_journal().await;
    let again = s.read(&path).await;
    assert_eq!(again.data, read.data);
    assert_eq!(s.connect.journal_lines().await, vec![item]);
}

#[tokio::test]
async fn steady_state_read_by_titles_costs_one_request() {
    let s = Scenario::new().await;
    s.connect.clear_journal().await;
    let first = s.read("vaults/Shared/items/db").await;
    assert_eq!(first.status, 200);
    let resolution = s.connect.journal().await.len();
    assert!(
        resolution <= 5,
        "first read by titles: at most the reference's 5 requests, got {:?}",
        s.connect.journal_lines().await
    );
    for _ in 0..3 {
        s.connect.clear_journal().await;
        let again = s.read("vaults/Shared/items/db").await;
        assert_eq!(again.data, first.data);
        assert_eq!(
            s.connect.journal_lines().await,
            vec![format!("GET /v1/vaults/{}/items/{}", ids::A, ids::X)]
        );
    }
}

#[tokio::test]
async fn renamed_item_is_not_served_under_its_old_title() {
    let s = Scenario::new().await;
    let before = s.read(&format!("vaults/{}/items/db", ids::A)).await;
    assert_eq!(
        before.get("username"),
        &json!("admin"),
        "X is the oldest db"
    );
    rename_in_connect(&s, ids::A, ids::X, "db-old").await;
    // X is no longer a "db": the only one left is Y.
    let after = s.read(&format!("vaults/{}/items/db", ids::A)).await;
    assert_eq!(
        after.data,
        Some(json!({"password": "newer"})),
        "{:?}",
        after.body
    );
    let renamed = s.read(&format!("vaults/{}/items/db-old", ids::A)).await;
    assert_eq!(renamed.get("username"), &json!("admin"));
}

#[tokio::test]
async fn deleted_item_is_404_not_stale() {
    let s = Scenario::new().await;
    let path = format!("vaults/{}/items/Some%20Title", ids::A);
    assert_eq!(s.read(&path).await.status, 200);
    let (status, _) = s
        .connect
        .api(
            Method::DELETE,
            &format!("/v1/vaults/{}/items/{}", ids::A, ids::Z),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let gone = s.read(&path).await;
    s.expect_error(&gone, 404, &["Some Title"]);
}

#[tokio::test]
async fn recreated_title_resolves_to_the_new_item() {
    let s = Scenario::new().await;
    let path = format!("vaults/{}/items/totp", ids::B);
    assert_eq!(s.read(&path).await.get("username"), &json!("otp-user"));
    let (status, _) = s
        .connect
        .api(
            Method::DELETE,
            &format!("/v1/vaults/{}/items/{}", ids::B, ids::OTP),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, body) = s
        .connect
        .api(
            Method::POST,
            &format!("/v1/vaults/{}/items", ids::B),
            Some(
                json!({"title": "totp", "category": "LOGIN", "vault": {"id": ids::B},
                        "fields": [{"id": "username", "type": "STRING", "purpose": "USERNAME",
                                    "label": "username", "value": "second-user"}]}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let read = s.read(&path).await;
    assert_eq!(
        read.get("username"),
        &json!("second-user"),
        "{:?}",
        read.body
    );
}

#[tokio::test]
async fn writes_by_title_resolve_afresh() {
    let s = Scenario::new().await;
    // Cache "db" → X, then rename X behind the engine's back.
    assert_eq!(
        s.read(&format!("vaults/{}/items/db", ids::A)).await.status,
        200
    );
    rename_in_connect(&s, ids::A, ids::X, "db-old").await;
    s.connect.clear_journal().await;
    let deleted = s.delete(&format!("vaults/{}/items/db", ids::A)).await;
    assert_eq!(deleted.status, 204, "{:?}", deleted.body);
    let deletes: Vec<String> = s
        .connect
        .journal_lines()
        .await
        .into_iter()
        .filter(|l| l.starts_with("DELETE"))
        .collect();
    assert_eq!(
        deletes,
        vec![format!("DELETE /v1/vaults/{}/items/{}", ids::A, ids::Y)],
        "the stale cached id must never be written to"
    );
}

#[tokio::test]
async fn item_cache_serves_repeat_reads_and_is_invalidated_by_writes() {
    let s = Scenario::new().await;
    let path = format!("vaults/{}/items/{}", ids::A, ids::X);
    // Off by default: every read asks Connect (once the listings are warm).
    s.read(&path).await;
    s.connect.clear_journal().await;
    s.read(&path).await;
    s.read(&path).await;
    assert_eq!(s.connect_requests().await, 2);

    let written = s.configure(json!({"item_cache_ttl": "60s"})).await;
    assert!(written.is_success(), "{:?}", written.body);
    s.connect.clear_journal().await;
    for _ in 0..3 {
        assert_eq!(s.read(&path).await.get("username"), &json!("admin"));
    }
    // The item is fetched once (the new config starts with cold listings too).
    assert_eq!(
        s.connect.journal_lines().await,
        vec![
            "GET /v1/vaults".to_owned(),
            format!("GET /v1/vaults/{}/items", ids::A),
            format!("GET /v1/vaults/{}/items/{}", ids::A, ids::X),
        ]
    );

    let patched = s
        .patch(
            &path,
            &json!({"fields": [{"label": "username", "value": "changed"}]}),
        )
        .await;
    assert!(patched.is_success(), "{:?}", patched.body);
    assert_eq!(s.read(&path).await.get("username"), &json!("changed"));
}

#[tokio::test]
async fn list_and_create_cost_what_they_must() {
    let s = Scenario::new().await;
    // The vault listing behind the canonical path, once.
    s.list(&format!("vaults/{}/items", ids::A)).await;
    s.connect.clear_journal().await;
    let list = s.list(&format!("vaults/{}/items", ids::A)).await;
    assert_eq!(list.status, 200);
    assert_eq!(
        s.connect.journal_lines().await,
        vec![format!("GET /v1/vaults/{}/items", ids::A)]
    );
    s.connect.clear_journal().await;
    let created = s
        .write(
            &format!("vaults/{}/items", ids::A),
            &json!({"category": "password", "title": "counted"}),
        )
        .await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    assert_eq!(
        s.connect.journal_lines().await,
        vec![format!("POST /v1/vaults/{}/items", ids::A)]
    );
}

/// Writes through the engine update the item listing behind canonical paths instead of
/// dropping it: however many items the vault holds, a write by id never lists them again.
#[tokio::test]
async fn writes_by_id_do_not_list_the_vault_again() {
    let s = Scenario::new().await;
    let collection = format!("vaults/{}/items", ids::B);
    // Warm: the vault and item listings behind canonical paths (a read by id).
    let warm = s.read(&format!("{collection}/{}", ids::ODD)).await;
    assert_eq!(warm.status, 200, "{:?}", warm.body);
    let listing = format!("GET /v1/vaults/{}/items", ids::B);
    let created = s
        .write(
            &collection,
            &json!({"category": "password", "title": "written by id"}),
        )
        .await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    let id = created.get("ID").as_str().unwrap().to_owned();
    let path = format!("{collection}/{id}");
    s.connect.clear_journal().await;
    for round in 0..3 {
        let updated = s
            .write(
                &path,
                &json!({"category": "password", "title": format!("renamed {round}")}),
            )
            .await;
        assert_eq!(updated.status, 200, "{:?}", updated.body);
        let patched = s
            .patch(&path, &json!({"tags": [format!("t{round}")]}))
            .await;
        assert!(patched.is_success(), "{:?}", patched.body);
        assert_eq!(s.read(&path).await.status, 200);
    }
    let read = s.read(&format!("{collection}/renamed 2")).await;
    assert_eq!(
        read.status, 200,
        "the new title is its name: {:?}",
        read.body
    );
    assert_eq!(s.delete(&path).await.status, 204);
    let lines = s.connect.journal_lines().await;
    assert!(
        !lines.contains(&listing),
        "a write by id listed the vault again: {lines:#?}"
    );
    // An id the listing no longer knows is looked up afresh once, and is gone.
    assert_eq!(s.read(&path).await.status, 404);
}
