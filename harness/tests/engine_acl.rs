//! Policies mean what they say (issue 11, finding 3): OpenBao 2.7 asks the engine for the
//! canonical path of every request (`resolve-path`) and checks policies against it, so a deny
//! written on a vault name or item title holds for every spelling of that vault or item — by id,
//! by name, as `<name>/<id>`, in another case — while what the policy allows keeps working, reads
//! by id cost no extra Connect request once warm, and a deleted item is never served from the
//! engine's listings.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use harness::scenario::{Scenario, ids};
use harness::vault_api::VaultClient;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Method;
use serde_json::json;

/// A path segment, percent-encoded.
fn seg(text: &str) -> String {
    utf8_percent_encode(text, NON_ALPHANUMERIC).to_string()
}

/// Every spelling of item X (`db`, the oldest of that title, in the oldest vault `Shared`, id A).
fn spellings_of_x() -> Vec<String> {
    let mut paths = Vec::new();
    for vault in [
        "Shared".to_owned(),
        ids::A.to_owned(),
        format!("Shared/{}", ids::A),
        format!("Other Vault/{}", ids::A),
    ] {
        for item in [
            "db".to_owned(),
            ids::X.to_owned(),
            format!("db/{}", ids::X),
            format!("{}/{}", seg("Some Title"), ids::X),
        ] {
            let vault = vault.split('/').map(seg).collect::<Vec<_>>().join("/");
            paths.push(format!("vaults/{vault}/items/{item}"));
        }
    }
    paths
}

/// Reads `rel` as `client` and returns (status, body text).
async fn read_as(s: &Scenario, client: &VaultClient, rel: &str) -> (u16, String) {
    let response = client.read(&s.path(rel)).await.unwrap();
    (response.status, response.body.to_string())
}

/// Asserts that `rel` is refused to `client` and reveals nothing of item X.
async fn assert_refused(s: &Scenario, client: &VaultClient, rel: &str) {
    let (status, body) = read_as(s, client, rel).await;
    assert!(
        status == 403 || status == 404,
        "{rel}: {status} {body}\n{}",
        s.env.log_tail(20)
    );
    assert!(!body.contains("pw-in-section"), "{rel} leaked X: {body}");
}

/// A token whose policy (`policy`) reads and lists vault Shared's items but denies `db`: the
/// issue's example of a deny written on a title.
async fn deny_db_client(s: &Scenario, policy: &str) -> VaultClient {
    let m = &s.mount;
    s.token_with_policy(
        policy,
        &format!(
            "path \"{m}/vaults/Shared/items/*\" {{ capabilities = [\"read\", \"list\"] }}\n\
             path \"{m}/vaults/Shared/items/db\" {{ capabilities = [\"deny\"] }}"
        ),
    )
    .await
}

#[tokio::test]
async fn a_deny_on_an_item_title_holds_for_every_spelling() {
    let s = Scenario::new().await;
    // The example: everything in the vault but one item, named.
    let client = deny_db_client(&s, "deny-db").await;
    for path in spellings_of_x() {
        let (status, body) = read_as(&s, &client, &path).await;
        assert_eq!(status, 403, "{path}: {body}");
    }
    // Other case: another title (no such item), never X.
    for path in ["vaults/Shared/items/DB", "vaults/shared/items/db"] {
        assert_refused(&s, &client, path).await;
    }
    assert_refused(&s, &client, &format!("vaults/SHARED/items/{}", ids::X)).await;

    // What the policy allows keeps working, by name and by id.
    for path in [
        format!("vaults/Shared/items/{}", seg("Some Title")),
        format!("vaults/{}/items/{}", ids::A, ids::Z),
        format!("vaults/Shared/items/{}", ids::Z),
    ] {
        let (status, body) = read_as(&s, &client, &path).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    // The newer `db` is another item: addressable by id, its canonical path is `db/<id>`.
    let newer = client
        .read(&s.path(&format!("vaults/{}/items/{}", ids::A, ids::Y)))
        .await
        .unwrap();
    assert_eq!(newer.status, 200, "{:?}", newer.body);
    assert_eq!(newer.get("password"), &json!("newer"));
    let pinned = client
        .read(&s.path(&format!("vaults/Shared/items/db/{}", ids::Y)))
        .await
        .unwrap();
    assert_eq!(pinned.get("password"), &json!("newer"));
}

#[tokio::test]
async fn a_deny_on_a_title_and_below_covers_fields_files_and_namesakes() {
    let s = Scenario::new().await;
    let m = &s.mount;
    let client = s
        .token_with_policy(
            "deny-db-tree",
            &format!(
                "path \"{m}/vaults/+/items/*\" {{ capabilities = [\"read\", \"list\"] }}\n\
                 path \"{m}/vaults/Shared/items/db\" {{ capabilities = [\"deny\"] }}\n\
                 path \"{m}/vaults/Shared/items/db/*\" {{ capabilities = [\"deny\"] }}"
            ),
        )
        .await;
    for item in [ids::X, ids::Y] {
        for rest in ["", "/fields/password", "/fields/", "/files/"] {
            let path = format!("vaults/{}/items/{item}{rest}", ids::A);
            let response = if rest.ends_with('/') {
                client.list(&s.path(&path)).await.unwrap()
            } else {
                client.read(&s.path(&path)).await.unwrap()
            };
            assert_eq!(response.status, 403, "{path}: {:?}", response.body);
        }
    }
    let file = format!("vaults/{}/items/{}/files/{}", ids::A, ids::X, ids::FILE);
    assert_eq!(client.read(&s.path(&file)).await.unwrap().status, 403);
    let allowed = format!("vaults/{}/items/{}", ids::B, ids::OTP);
    let (status, body) = read_as(&s, &client, &allowed).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_deny_on_a_vault_name_holds_for_its_id() {
    let s = Scenario::new().await;
    let m = &s.mount;
    let client = s
        .token_with_policy(
            "deny-vault",
            &format!(
                "path \"{m}/vaults/*\" {{ capabilities = [\"read\", \"list\"] }}\n\
                 path \"{m}/vaults/Other Vault\" {{ capabilities = [\"deny\"] }}\n\
                 path \"{m}/vaults/Other Vault/*\" {{ capabilities = [\"deny\"] }}"
            ),
        )
        .await;
    for vault in [
        ids::B.to_owned(),
        seg("Other Vault"),
        format!("Shared/{}", ids::B),
    ] {
        for rest in ["", "/items/totp", &format!("/items/{}", ids::OTP)] {
            let path = format!("vaults/{vault}{rest}");
            let response = if rest.is_empty() {
                client.list(&s.path(&path)).await.unwrap()
            } else {
                client.read(&s.path(&path)).await.unwrap()
            };
            assert_eq!(response.status, 403, "{path}: {:?}", response.body);
        }
    }
    assert_refused(&s, &client, "vaults/other vault/items/totp").await;
    // The other vaults stay readable, by name and id; the newer `Shared` by `Shared/<id>`.
    for path in [
        format!("vaults/Shared/items/{}", seg("Some Title")),
        format!("vaults/{}/items/{}", ids::A, ids::X),
    ] {
        let (status, body) = read_as(&s, &client, &path).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    let newer_vault = client
        .list(&s.path(&format!("vaults/{}", ids::A2)))
        .await
        .unwrap();
    // Vault A2 has no items: the list is a 404, but not a 403.
    assert_eq!(newer_vault.status, 404, "{:?}", newer_vault.body);
}

#[tokio::test]
async fn reads_by_id_cost_no_extra_request_once_warm() {
    let s = Scenario::new().await;
    let by_id = format!("vaults/{}/items/{}", ids::A, ids::X);
    s.expect_data(&s.read(&by_id).await);
    s.connect.clear_journal().await;
    for _ in 0..3 {
        s.expect_data(&s.read(&by_id).await);
    }
    let item = format!("GET /v1/vaults/{}/items/{}", ids::A, ids::X);
    assert_eq!(
        s.connect.journal_lines().await,
        vec![item.clone(), item.clone(), item]
    );
}

#[tokio::test]
async fn a_deleted_item_is_not_served_from_the_listings() {
    let s = Scenario::new().await;
    let z = format!("vaults/{}/items/{}", ids::A, ids::Z);
    s.expect_data(&s.read(&z).await);
    // Deleted through the engine…
    let deleted = s
        .delete(&format!("vaults/Shared/items/{}", seg("Some Title")))
        .await;
    assert!(deleted.is_success(), "{:?}", deleted.body);
    s.expect_error(&s.read(&z).await, 404, &[]);
    s.expect_error(&s.read("vaults/Shared/items/Some Title").await, 404, &[]);

    // …and behind its back, after the listing knew it.
    let y = format!("vaults/{}/items/{}", ids::A, ids::Y);
    s.expect_data(&s.read(&y).await);
    let (status, body) = s
        .connect
        .api(
            Method::DELETE,
            &format!("/v1/vaults/{}/items/{}", ids::A, ids::Y),
            None,
        )
        .await;
    assert_eq!(status, 204, "{body}");
    s.expect_error(&s.read(&y).await, 404, &[]);
    s.expect_error(
        &s.read(&format!("vaults/Shared/items/db/{}", ids::Y)).await,
        404,
        &[],
    );
}

#[tokio::test]
async fn a_rename_behind_the_engines_back_does_not_open_the_denied_item() {
    let s = Scenario::new().await;
    let m = &s.mount;
    let client = s
        .token_with_policy(
            "deny-renamed",
            &format!(
                "path \"{m}/vaults/Shared/items/*\" {{ capabilities = [\"read\"] }}\n\
                 path \"{m}/vaults/Shared/items/prod db\" {{ capabilities = [\"deny\"] }}"
            ),
        )
        .await;
    let z = format!("vaults/{}/items/{}", ids::A, ids::Z);
    assert_eq!(read_as(&s, &client, &z).await.0, 200);
    // Z becomes "prod db" in 1Password; the engine's listing still says "Some Title".
    let (status, mut item) = s
        .connect
        .api(
            Method::GET,
            &format!("/v1/vaults/{}/items/{}", ids::A, ids::Z),
            None,
        )
        .await;
    assert_eq!(status, 200, "{item}");
    item["title"] = json!("prod db");
    let (status, body) = s
        .connect
        .api(
            Method::PUT,
            &format!("/v1/vaults/{}/items/{}", ids::A, ids::Z),
            Some(item),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // The stale canonical path names a title Z no longer has: not served…
    assert_refused(&s, &client, &z).await;
    // …and the next request sees the new title, which the policy denies.
    let (status, body) = read_as(&s, &client, &z).await;
    assert_eq!(status, 403, "{body}");
}

#[tokio::test]
async fn a_write_by_id_never_lands_on_another_item_after_a_rename_behind_the_engines_back() {
    let s = Scenario::new().await;
    let x = format!("vaults/{}/items/{}", ids::A, ids::X);
    s.expect_data(&s.read(&x).await);
    // X leaves the title `db` in 1Password; Y (the newer `db`) now owns it. The engine's
    // listing still says X is `db`, so the request reaches the engine as `…/items/db`.
    let (status, body) = s
        .connect
        .api(
            Method::PATCH,
            &format!("/v1/vaults/{}/items/{}", ids::A, ids::X),
            Some(json!([{"op": "replace", "path": "/title", "value": "db-old"}])),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    s.connect.clear_journal().await;
    let body = json!({"category": "password", "title": "db-old",
        "fields": [{"id": "password", "type": "CONCEALED", "purpose": "PASSWORD", "value": "new"}]});
    let first = s.write(&x, &body).await;
    let y_item = format!("/v1/vaults/{}/items/{}", ids::A, ids::Y);
    let touched_y = |lines: &[String]| {
        lines
            .iter()
            .any(|l| !l.starts_with("GET") && l.contains(&y_item))
    };
    let lines = s.connect.journal_lines().await;
    assert!(!touched_y(&lines), "wrote to Y: {lines:?}");
    if !first.is_success() {
        s.expect_error(&first, 409, &["retry"]);
        let retried = s.write(&x, &body).await;
        assert!(retried.is_success(), "{:?}", retried.body);
    }
    let lines = s.connect.journal_lines().await;
    assert!(!touched_y(&lines), "wrote to Y: {lines:?}");
    assert!(
        lines.contains(&format!("PUT /v1/vaults/{}/items/{}", ids::A, ids::X)),
        "{lines:?}"
    );
    let y = s.read(&format!("vaults/{}/items/{}", ids::A, ids::Y)).await;
    assert_eq!(y.get("password"), &json!("newer"));
}

#[tokio::test]
async fn vault_names_match_exactly_like_titles() {
    // Connect's title filter ignores case; another case is another (missing) vault or item.
    let s = Scenario::new().await;
    for path in [
        "vaults/shared".to_owned(),
        "vaults/SHARED/items/db".to_owned(),
        format!("vaults/{}/items/DB", ids::A),
        format!("vaults/{}", seg("other vault")),
    ] {
        let response = if path.contains("/items/") {
            s.read(&path).await
        } else {
            s.list(&path).await
        };
        s.expect_error(&response, 404, &[]);
    }
    assert_eq!(
        s.read("vaults/Shared/items/db").await.get("password"),
        &json!("pw-in-section")
    );
}

/// The fixture with `fillers` more items, each titled alone, in vault `Shared` (id A).
fn fixture_with_fillers(fillers: usize) -> serde_json::Value {
    let mut fixture = harness::scenario::fixture();
    let vault = fixture["vaults"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|vault| vault["id"] == json!(ids::A))
        .unwrap();
    let items = vault["items"].as_array_mut().unwrap();
    for i in 0..fillers {
        items.push(json!({
            "id": format!("f{i:025}"), "title": format!("filler {i}"), "category": "SECURE_NOTE",
            "createdAt": "2023-01-01T00:00:00Z", "updatedAt": "2023-01-01T00:00:00Z"
        }));
    }
    fixture
}

#[tokio::test]
async fn in_a_vault_too_large_to_list_ids_keep_their_canonical_paths() {
    // 400 more items make vault A's listing (~100 KiB) larger than a 64 KiB limit, while one
    // item, or the items sharing one title, stay well below it: a large vault, for real.
    let s = Scenario::unconfigured_with(fixture_with_fillers(400)).await;
    let written = s.configure(json!({"max_response_size": 65536})).await;
    assert!(written.is_success(), "{:?}", written.body);
    let too_large = s.list(&format!("vaults/{}/items", ids::A)).await;
    s.expect_error(&too_large, 502, &["larger than the limit"]);

    let client = deny_db_client(&s, "deny-db-large").await;
    // Every spelling of X (the oldest `db`) is still the denied name…
    for path in spellings_of_x() {
        let (status, body) = read_as(&s, &client, &path).await;
        assert_eq!(status, 403, "{path}: {body}\n{}", s.env.log_tail(20));
    }
    // …while the newer `db` is `db/<id>`, and the other items their titles, all readable by id.
    let newer = client
        .read(&s.path(&format!("vaults/{}/items/{}", ids::A, ids::Y)))
        .await
        .unwrap();
    assert_eq!(newer.status, 200, "{:?}", newer.body);
    assert_eq!(newer.get("password"), &json!("newer"));
    for path in [
        format!("vaults/{}/items/{}", ids::A, ids::Z),
        format!("vaults/Shared/items/{}", ids::Z),
        format!("vaults/{}/items/f{:025}", ids::A, 7),
    ] {
        let (status, body) = read_as(&s, &client, &path).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    // A pinned spelling is served only while the item carries that name.
    let (status, body) = read_as(&s, &client, &format!("vaults/Shared/items/db/{}", ids::Y)).await;
    assert_eq!(status, 200, "{body}");
    let wrong = s
        .read(&format!(
            "vaults/Shared/items/{}/{}",
            seg("filler 7"),
            ids::Y
        ))
        .await;
    assert_eq!(
        wrong.status, 200,
        "by id, as for listed vaults: {:?}",
        wrong.body
    );
    assert_eq!(wrong.get("password"), &json!("newer"));
    s.expect_error(
        &s.read(&format!("vaults/{}/items/{}", ids::A, ids::MISSING))
            .await,
        404,
        &[],
    );

    // A read by id (as root) is the oldest `db`, with the duplicates warning a read by title
    // carries; and it costs no listing of the whole vault, only the two bounded requests.
    s.connect.clear_journal().await;
    let x = s.read(&format!("vaults/{}/items/{}", ids::A, ids::X)).await;
    assert_eq!(s.expect_data(&x)["password"], json!("pw-in-section"));
    assert!(
        x.warnings
            .iter()
            .any(|w| w.contains("2 items are titled \"db\"")),
        "{:?}",
        x.warnings
    );
    let whole = format!("GET /v1/vaults/{}/items", ids::A);
    let lines = s.connect.journal_lines().await;
    assert!(!lines.contains(&whole), "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("{whole}?filter="))),
        "{lines:?}"
    );
}
