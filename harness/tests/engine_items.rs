//! Every path and operation of the engine through a real OpenBao: vaults, items (read flat and
//! full, create, update, patch, delete), fields, files, names that need URL-encoding, duplicate
//! titles, and what policies can express.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use harness::scenario::{
    FILE_CONTENT, FILE_NAME, ODD_TITLE, OTP_SECRET, QUOTED_TITLE, Scenario, ids,
};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};

/// A path segment, percent-encoded (everything but ASCII letters and digits).
fn seg(text: &str) -> String {
    utf8_percent_encode(text, NON_ALPHANUMERIC).to_string()
}

fn item(vault: &str, item: &str) -> String {
    format!("vaults/{}/items/{}", seg(vault), seg(item))
}

/// The value of the field labelled `label` in a `format=full` item.
fn full_field<'a>(data: &'a Value, label: &str) -> Option<&'a Value> {
    data["fields"]
        .as_array()?
        .iter()
        .find(|f| f["label"] == json!(label))
        .map(|f| &f["value"])
}

#[tokio::test]
async fn list_vaults_gives_name_and_id_keys() {
    let s = Scenario::new().await;
    let list = s.list("vaults").await;
    let data = s.expect_data(&list);
    let mut keys = list.keys();
    keys.sort();
    assert_eq!(
        keys,
        vec![
            format!("Other Vault {}", ids::B),
            format!("Shared {}", ids::A),
            format!("Shared {}", ids::A2),
        ]
    );
    assert_eq!(
        data["key_info"][format!("Shared {}", ids::A)],
        json!(ids::A)
    );
}

#[tokio::test]
async fn read_vault_by_id_and_by_title() {
    let s = Scenario::new().await;
    let by_id = s.expect_data(&s.read(&format!("vaults/{}", ids::B)).await);
    assert_eq!(by_id["id"], json!(ids::B));
    assert_eq!(by_id["name"], json!("Other Vault"));
    let by_title = s.read(&format!("vaults/{}", seg("Other Vault"))).await;
    assert_eq!(s.expect_data(&by_title)["id"], json!(ids::B));
    // Duplicate title: the oldest vault wins.
    let shared = s.read("vaults/Shared").await;
    assert_eq!(s.expect_data(&shared)["id"], json!(ids::A));
    let warnings = shared.warnings.join(" | ");
    assert!(
        warnings.contains(ids::A) && warnings.contains(ids::A2),
        "{warnings:?}"
    );
    let missing = s.read("vaults/Nope").await;
    s.expect_error(&missing, 404, &["Nope"]);
}

#[tokio::test]
async fn list_items_by_vault_title() {
    let s = Scenario::new().await;
    let list = s.list("vaults/Shared/items").await;
    let mut keys = list.keys();
    keys.sort();
    assert_eq!(
        keys,
        vec![
            format!("Some Title {}", ids::Z),
            format!("db {}", ids::X),
            format!("db {}", ids::Y),
        ],
        "{:?}",
        list.body
    );
    assert_eq!(
        list.get("key_info")[format!("db {}", ids::X)],
        json!(ids::X)
    );
}

#[tokio::test]
async fn list_items_of_an_empty_vault_and_a_missing_one() {
    let s = Scenario::new().await;
    let empty = s.list(&format!("vaults/{}/items", ids::A2)).await;
    // Vault's convention for an empty list is 404 with no errors.
    assert_eq!(empty.status, 404, "{:?}", empty.body);
    assert!(empty.errors.is_empty(), "{:?}", empty.errors);
    let missing = s.list("vaults/Nope/items").await;
    s.expect_error(&missing, 404, &["Nope"]);
}

#[tokio::test]
async fn read_item_flat_by_ids_and_by_titles() {
    let s = Scenario::new().await;
    let expected = json!({
        "": "", "notesPlain": "", "one-time password": "otpauth://totp/x?secret=ABC",
        "password": "pw-in-section", "username": "admin"
    });
    let by_id = s.expect_data(&s.read(&item(ids::A, ids::X)).await);
    assert_eq!(by_id, expected);
    let by_title = s.expect_data(&s.read(&item("Shared", "db")).await);
    assert_eq!(by_title, expected, "oldest vault and oldest item win");
}

#[tokio::test]
async fn read_item_full_format() {
    let s = Scenario::new().await;
    let full = s
        .read_query(&item(ids::A, ids::X), &[("format", "full")])
        .await;
    let data = s.expect_data(&full);
    assert_eq!(data["id"], json!(ids::X), "{data}");
    assert_eq!(data["title"], json!("db"));
    assert_eq!(data["category"], json!("DATABASE"));
    assert_eq!(full_field(&data, "username"), Some(&json!("admin")));
    let passwords: Vec<&Value> = data["fields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["label"] == json!("password"))
        .collect();
    assert_eq!(
        passwords.len(),
        2,
        "full format keeps duplicate labels: {data}"
    );
    assert!(
        data.to_string().contains(FILE_NAME),
        "files are listed: {data}"
    );

    let bad = s
        .read_query(&item(ids::A, ids::X), &[("format", "xml")])
        .await;
    s.expect_error(&bad, 400, &["format"]);
}

#[tokio::test]
async fn missing_items_are_404() {
    let s = Scenario::new().await;
    let by_title = s.read(&item(ids::A, "missing")).await;
    s.expect_error(&by_title, 404, &["missing"]);
    let by_id = s.read(&item(ids::A, ids::MISSING)).await;
    s.expect_error(&by_id, 404, &[]);
    let vault = s.read(&item("Nope", "x")).await;
    s.expect_error(&vault, 404, &["Nope"]);
    let delete = s.delete(&item(ids::A, "nope")).await;
    s.expect_error(&delete, 404, &["nope"]);
}

#[tokio::test]
async fn item_without_fields_reads_as_empty_data() {
    let s = Scenario::new().await;
    let read = s.read(&item(ids::A, ids::Z)).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.data, Some(json!({})));
}

#[tokio::test]
async fn titles_with_spaces_and_punctuation_are_addressable() {
    let s = Scenario::new().await;
    let read = s.read(&item("Other Vault", ODD_TITLE)).await;
    let data = s.expect_data(&read);
    assert_eq!(data["api key"], json!("k-123"));
    assert_eq!(data["host name"], json!("h.example"));
    let field = s
        .read(&format!(
            "{}/fields/{}",
            item("Other Vault", ODD_TITLE),
            seg("api key")
        ))
        .await;
    assert_eq!(s.expect_data(&field)["value"], json!("k-123"));
    let list = s
        .list(&format!("vaults/{}/items", seg("Other Vault")))
        .await;
    assert!(
        list.keys().contains(&format!("{ODD_TITLE} {}", ids::ODD)),
        "{:?}",
        list.keys()
    );
}

#[tokio::test]
async fn duplicate_item_titles_pick_the_oldest_and_warn() {
    let s = Scenario::new().await;
    let read = s.read(&item(ids::A, "db")).await;
    let data = s.expect_data(&read);
    assert_eq!(
        data["username"],
        json!("admin"),
        "X (2019) is older than Y (2022)"
    );
    let warnings = read.warnings.join(" | ");
    assert!(
        warnings.contains(ids::X) && warnings.contains(ids::Y),
        "the warning names the candidates: {warnings:?}"
    );
    let vault = s.read(&item("Shared", ids::X)).await;
    let warnings = vault.warnings.join(" | ");
    assert!(
        warnings.contains(ids::A) && warnings.contains(ids::A2),
        "{warnings:?}"
    );
}

#[tokio::test]
async fn field_read_by_label_and_id() {
    let s = Scenario::new().await;
    let base = item(ids::A, ids::X);
    let by_label = s.read(&format!("{base}/fields/username")).await;
    assert_eq!(s.expect_data(&by_label)["value"], json!("admin"));
    let by_id = s.read(&format!("{base}/fields/secpw")).await;
    assert_eq!(s.expect_data(&by_id)["value"], json!("pw-in-section"));
    let missing = s.read(&format!("{base}/fields/nope")).await;
    s.expect_error(&missing, 404, &["nope"]);
}

#[tokio::test]
async fn otp_field_read_gives_the_current_code() {
    let s = Scenario::new().await;
    let read = s
        .read(&format!(
            "{}/fields/{}",
            item(ids::B, ids::OTP),
            seg("one-time password")
        ))
        .await;
    let data = s.expect_data(&read);
    let totp = mock_connect::totp::Totp::parse(&format!(
        "otpauth://totp/acme:me?secret={OTP_SECRET}&issuer=acme"
    ))
    .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let acceptable: Vec<String> = [now - 30, now, now + 30]
        .iter()
        .map(|t| totp.code_at(*t))
        .collect();
    let text = data.to_string();
    assert!(
        acceptable.iter().any(|code| text.contains(code.as_str())),
        "expected one of {acceptable:?} in {data}"
    );
    // A policy granting only this field must not reveal the seed.
    assert!(!text.contains(OTP_SECRET), "the seed leaked: {data}");
}

#[tokio::test]
async fn files_list_and_read() {
    let s = Scenario::new().await;
    let base = item(ids::A, ids::X);
    let list = s.list(&format!("{base}/files")).await;
    let listing = list.body.to_string();
    assert!(
        listing.contains(ids::FILE) && listing.contains(FILE_NAME),
        "{listing}"
    );
    for addr in [ids::FILE, FILE_NAME] {
        let read = s.read(&format!("{base}/files/{}", seg(addr))).await;
        let data = s.expect_data(&read);
        let content = data["content"].as_str().expect("base64 content");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(content)
            .unwrap();
        assert_eq!(bytes, FILE_CONTENT);
    }
    let missing = s.read(&format!("{base}/files/nope.txt")).await;
    s.expect_error(&missing, 404, &["nope.txt"]);
}

#[tokio::test]
async fn create_read_update_delete_round_trip() {
    let s = Scenario::new().await;
    let created = s
        .write(
            &format!("vaults/{}/items", ids::B),
            &json!({
                "category": "login", "title": "Example Login",
                "fields": [
                    {"id": "username", "type": "STRING", "purpose": "USERNAME", "value": "my_user"},
                    {"id": "password", "type": "CONCEALED", "purpose": "PASSWORD", "generate": true}
                ]
            }),
        )
        .await;
    let data = s.expect_data(&created);
    let id = data["ID"].as_str().expect("ID").to_owned();
    assert_eq!(id.len(), 26);
    assert_eq!(data["category"], json!("LOGIN"));
    assert!(data["createdAt"].as_str().unwrap().contains('T'));

    let read = s.expect_data(&s.read(&item(ids::B, &id)).await);
    assert_eq!(read["username"], json!("my_user"));
    let generated = read["password"].as_str().unwrap();
    assert!(generated.len() >= 8, "a password was generated: {read}");

    // Full replacement: whatever is not in the body is gone.
    let updated = s
        .write(
            &item(ids::B, "Example Login"),
            &json!({"category": "login", "title": "Example Login",
                    "fields": [{"id": "username", "type": "STRING", "label": "username", "value": "u2"}]}),
        )
        .await;
    assert_eq!(s.expect_data(&updated)["ID"], json!(id));
    let read = s.expect_data(&s.read(&item(ids::B, &id)).await);
    assert_eq!(read, json!({"username": "u2"}));

    let deleted = s.delete(&item(ids::B, &id)).await;
    assert_eq!(deleted.status, 204, "{:?}", deleted.body);
    assert_eq!(s.read(&item(ids::B, &id)).await.status, 404);
}

#[tokio::test]
async fn create_with_weakly_typed_body() {
    // §9: a single object where a list is expected is a one-element list; numbers for strings are
    // strings.
    let s = Scenario::new().await;
    let created = s
        .write(
            &format!("vaults/{}/items", ids::B),
            &json!({"category": "password", "title": 12345,
                    "fields": {"id": "password", "type": "CONCEALED", "purpose": "PASSWORD",
                               "label": "password", "value": "p"}}),
        )
        .await;
    let data = s.expect_data(&created);
    let id = data["ID"].as_str().unwrap().to_owned();
    assert_eq!(data["category"], json!("PASSWORD"));
    let full = s
        .read_query(&item(ids::B, &id), &[("format", "full")])
        .await;
    let full = s.expect_data(&full);
    assert_eq!(full["title"], json!("12345"));
    assert_eq!(full_field(&full, "password"), Some(&json!("p")));
}

#[tokio::test]
async fn create_by_the_guide_with_the_cli() {
    let s = Scenario::new().await;
    let login = s.cli_file(
        "login.json",
        json!({"category": "login", "title": "Example Login", "fields": [
            {"id": "username", "type": "STRING", "purpose": "USERNAME", "value": "my_user"},
            {"id": "password", "type": "CONCEALED", "purpose": "PASSWORD", "generate": true}]})
        .to_string()
        .as_bytes(),
    );
    // The CLI URL-encodes the path itself: names are given as they are.
    let items = s.path("vaults/Other Vault/items");
    s.bao(&["write", "-format=json", &items, &format!("@{login}")])
        .await
        .ok();
    let created = s.path("vaults/Other Vault/items/Example Login");
    let username = s.bao(&["read", "-field=username", &created]).await;
    assert_eq!(username.ok().trim(), "my_user");
    s.bao(&["delete", &created]).await.ok();
}

#[tokio::test]
async fn patch_changes_only_what_it_names() {
    let s = Scenario::new().await;
    let path = item(ids::A, ids::X);
    let patched = s
        .patch(
            &path,
            &json!({"fields": [{"label": "username", "value": "root"}]}),
        )
        .await;
    assert!(
        patched.is_success(),
        "{} {:?}\n{}",
        patched.status,
        patched.body,
        s.env.log_tail(20)
    );
    let journal = s.connect.journal().await;
    assert!(
        journal.iter().any(|e| e.method == "PATCH"),
        "a patch goes to Connect as PATCH: {journal:?}"
    );
    assert!(!journal.iter().any(|e| e.method == "PUT"));
    let read = s.expect_data(&s.read(&path).await);
    assert_eq!(read["username"], json!("root"));
    assert_eq!(read["notesPlain"], json!(""));
    assert_eq!(
        read["one-time password"],
        json!("otpauth://totp/x?secret=ABC")
    );

    let unknown = s
        .patch(&path, &json!({"remove_fields": ["no such field"]}))
        .await;
    s.expect_error(&unknown, 400, &["remove_fields", "no such field"]);
    let nothing = s.patch(&path, &json!({})).await;
    s.expect_error(&nothing, 400, &[]);
}

#[tokio::test]
async fn item_create_needs_the_create_capability() {
    // §15.42 / §4.1: a write to the collection is dispatched as `create`.
    let s = Scenario::new().await;
    let m = &s.mount;
    let update_only = s
        .token_with_policy(
            "update-only",
            &format!("path \"{m}/vaults/+/items\" {{ capabilities = [\"update\"] }}"),
        )
        .await;
    let body = json!({"category": "password", "title": "policy-test"});
    s.connect.clear_journal().await;
    let denied = update_only
        .write(&s.path(&format!("vaults/{}/items", ids::B)), &body)
        .await
        .unwrap();
    assert_eq!(denied.status, 403, "{:?}", denied.body);
    // Only the vault listing that gives the canonical path was asked for: nothing was created.
    assert_eq!(s.connect.journal_lines().await, vec!["GET /v1/vaults"]);

    let create = s
        .token_with_policy(
            "create",
            &format!("path \"{m}/vaults/+/items\" {{ capabilities = [\"create\"] }}"),
        )
        .await;
    let allowed = create
        .write(&s.path(&format!("vaults/{}/items", ids::B)), &body)
        .await
        .unwrap();
    assert_eq!(allowed.status, 200, "{:?}", allowed.body);
}

#[tokio::test]
async fn a_policy_can_grant_one_field_and_not_the_item() {
    // Policies name the canonical path (vault name, item title); the requests spell ids.
    let s = Scenario::new().await;
    let m = &s.mount;
    let client = s
        .token_with_policy(
            "one-field",
            &format!(
                "path \"{m}/vaults/Shared/items/db/fields/username\" {{ capabilities = [\"read\"] }}"
            ),
        )
        .await;
    let field = client
        .read(&s.path(&format!("{}/fields/username", item(ids::A, ids::X))))
        .await
        .unwrap();
    assert_eq!(field.status, 200, "{:?}", field.body);
    assert_eq!(field.get("value"), &json!("admin"));
    for denied in [
        item(ids::A, ids::X),
        format!("{}/fields/password", item(ids::A, ids::X)),
    ] {
        let r = client.read(&s.path(&denied)).await.unwrap();
        assert_eq!(r.status, 403, "{denied}: {:?}", r.body);
    }
}

#[tokio::test]
async fn titles_with_quotes_and_url_metacharacters() {
    let s = Scenario::new().await;
    let read = s.read(&item("Other Vault", QUOTED_TITLE)).await;
    assert_eq!(s.expect_data(&read)["password"], json!("quoted-secret"));
    // Written and deleted by that title too.
    let updated = s
        .write(
            &item(ids::B, QUOTED_TITLE),
            &json!({"category": "password", "title": QUOTED_TITLE,
                    "fields": [{"id": "password", "label": "password", "value": "v2"}]}),
        )
        .await;
    assert_eq!(s.expect_data(&updated)["ID"], json!(ids::QUOTED));
    let deleted = s.delete(&item(ids::B, QUOTED_TITLE)).await;
    assert_eq!(deleted.status, 204, "{:?}", deleted.body);
}

#[tokio::test]
async fn a_title_cannot_smuggle_a_second_filter_clause() {
    // The title is one filter value; quotes inside it must not widen the match.
    let s = Scenario::new().await;
    for title in [
        r#"db" or title eq "Some Title"#,
        r#"x" or title pr ""#,
        r#"Some Title" "#,
    ] {
        let read = s.read(&item(ids::A, title)).await;
        assert_eq!(read.status, 404, "{title}: {:?}", read.body);
        let delete = s.delete(&item(ids::A, title)).await;
        assert_eq!(delete.status, 404, "{title}: {:?}", delete.body);
    }
    // Nothing was deleted.
    let list = s.list(&format!("vaults/{}/items", ids::A)).await;
    assert_eq!(list.keys().len(), 3, "{:?}", list.keys());
}

#[tokio::test]
async fn cli_fields_from_a_json_file() {
    // `fields=@fields.json` sends the file's text as one string: the reference crashed; the
    // engine reads the JSON list in it.
    let s = Scenario::new().await;
    let fields = s.cli_file(
        "fields.json",
        json!([{"id": "username", "type": "STRING", "label": "username", "value": "from-file"}])
            .to_string()
            .as_bytes(),
    );
    let items = s.path(&format!("vaults/{}/items", ids::B));
    let fields_arg = format!("fields=@{fields}");
    s.bao(&[
        "write",
        &items,
        "category=login",
        "title=FromFile",
        &fields_arg,
    ])
    .await
    .ok();
    let read = s.read(&item(ids::B, "FromFile")).await;
    assert_eq!(s.expect_data(&read)["username"], json!("from-file"));
}

#[tokio::test]
async fn cli_patch_changes_one_value() {
    let s = Scenario::new().await;
    let odd = s.path(&format!("vaults/{}/items/{}", ids::B, ids::ODD));
    s.bao(&["patch", &odd, "title=Renamed by patch"]).await.ok();
    let read = s.read(&item("Other Vault", "Renamed by patch")).await;
    let data = s.expect_data(&read);
    assert_eq!(data["api key"], json!("k-123"), "fields untouched: {data}");
    assert_eq!(s.read(&item("Other Vault", ODD_TITLE)).await.status, 404);
}

#[tokio::test]
async fn files_of_an_item_without_files() {
    let s = Scenario::new().await;
    let list = s.list(&format!("{}/files", item(ids::A, ids::Y))).await;
    assert_eq!(list.status, 404, "{:?}", list.body);
    assert!(list.errors.is_empty(), "{:?}", list.errors);
}

#[tokio::test]
async fn large_file_reads_whole() {
    // 3 MiB of content is 4 MiB of base64: more than gRPC's default 4 MiB message limit.
    let content: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&content);
    let mut fixture = harness::scenario::fixture();
    fixture["vaults"][2]["items"][0]["files"] =
        json!([{"id": "llllllllllllllllllllllllll", "name": "big.bin", "content": b64}]);
    let s = Scenario::unconfigured_with(fixture).await;
    assert!(s.configure(json!({})).await.is_success());
    let read = s
        .read(&format!("{}/files/big.bin", item(ids::B, ids::ODD)))
        .await;
    let data = s.expect_data(&read);
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data["content"].as_str().unwrap())
        .unwrap();
    assert!(bytes == content, "content differs ({} bytes)", bytes.len());
}

#[tokio::test]
async fn item_writes_and_patches_need_their_own_capabilities() {
    // A write to an item path is dispatched as `create` (as with the reference, §4.1), so
    // `update` alone is not enough; a patch needs `patch`.
    let s = Scenario::new().await;
    let m = &s.mount;
    let path = s.path(&item(ids::A, ids::X));
    let rule = |caps: &str| format!("path \"{m}/vaults/+/items/+\" {{ capabilities = [{caps}] }}");
    let body = json!({"category": "password", "title": "T"});
    let patch = json!({"title": "patched"});

    let update_only = s.token_with_policy("upd", &rule("\"update\"")).await;
    assert_eq!(update_only.write(&path, &body).await.unwrap().status, 403);
    assert_eq!(update_only.patch(&path, &patch).await.unwrap().status, 403);

    let patch_only = s
        .token_with_policy("pat", &rule("\"patch\", \"read\""))
        .await;
    assert_eq!(patch_only.write(&path, &body).await.unwrap().status, 403);
    let patched = patch_only.patch(&path, &patch).await.unwrap();
    assert_eq!(patched.status, 200, "{:?}", patched.body);

    let create = s.token_with_policy("cre", &rule("\"create\"")).await;
    let written = create.write(&path, &body).await.unwrap();
    assert_eq!(written.status, 200, "{:?}", written.body);
}

#[tokio::test]
async fn concurrent_first_reads_by_title_agree() {
    let s = Scenario::new().await;
    let path = item("Shared", "db");
    let reads = futures::future::join_all((0..24).map(|_| s.read(&path))).await;
    for read in &reads {
        assert_eq!(read.status, 200, "{:?}", read.body);
        assert_eq!(read.get("username"), &json!("admin"));
    }
}

/// The shapes of the engine's own (non-reference) answers, pinned as snapshots.
#[tokio::test]
async fn shapes_of_the_new_answers() {
    let s = Scenario::new().await;
    let base = item(ids::A, ids::X);
    let shown = |r: &harness::vault_api::VaultResponse| {
        let text = serde_json::to_string(
            &json!({"status": r.status, "data": r.data, "warnings": r.warnings}),
        )
        .unwrap()
        .replace(&s.connect.url, "[connect]");
        serde_json::from_str::<Value>(&text).unwrap()
    };
    let full = shown(&s.read_query(&base, &[("format", "full")]).await);
    let vault = shown(&s.read(&format!("vaults/{}", ids::A)).await);
    let field = shown(&s.read(&format!("{base}/fields/username")).await);
    let files = shown(&s.list(&format!("{base}/files")).await);
    let mut file = shown(&s.read(&format!("{base}/files/{}", ids::FILE)).await);
    file["data"]["content"] = json!("[base64]");
    insta::with_settings!({sort_maps => true}, {
        insta::assert_json_snapshot!("item_full_format", full);
        insta::assert_json_snapshot!("vault_read", vault, {".data.updated_at" => "[ts]"});
        insta::assert_json_snapshot!("field_read", field);
        insta::assert_json_snapshot!("files_list", files);
        insta::assert_json_snapshot!("file_read", file);
    });
}

#[tokio::test]
async fn list_fields_of_an_item() {
    let s = Scenario::new().await;
    let list = s.list(&format!("{}/fields", item("Shared", "db"))).await;
    let data = s.expect_data(&list);
    let keys = list.keys();
    for key in [
        "username username",
        "password password",
        "password secpw",
        "notesPlain notesPlain",
        "one-time password otp",
        "unlabelled",
    ] {
        assert!(keys.contains(&key.to_string()), "{key:?} not in {keys:?}");
    }
    assert_eq!(keys.len(), 6, "{keys:?}");
    assert_eq!(data["key_info"]["password secpw"], json!("secpw"));
    assert!(
        !list.body.to_string().contains("pw-in-section"),
        "a list shows no values"
    );
}

#[tokio::test]
async fn a_title_is_looked_up_in_its_vault_only() {
    let s = Scenario::new().await;
    // `totp` lives in Other Vault, not in Shared.
    let read = s.read(&item("Shared", "totp")).await;
    s.expect_error(&read, 404, &["totp"]);
}

#[tokio::test]
async fn long_lists_are_complete() {
    let items: Vec<serde_json::Value> = (0..400)
        .map(|i| {
            json!({"title": format!("item {i:03}"), "category": "PASSWORD",
                        "fields": [{"id": "password", "type": "CONCEALED", "label": "password",
                                    "value": format!("v{i}")}]})
        })
        .collect();
    let fixture = json!({"vaults": [{"id": ids::B, "name": "Big", "items": items}]});
    let s = Scenario::unconfigured_with(fixture).await;
    assert!(s.configure(json!({})).await.is_success());
    let list = s.list("vaults/Big/items").await;
    assert_eq!(list.keys().len(), 400, "{:?}", list.status);
    let read = s.read(&item("Big", "item 399")).await;
    assert_eq!(s.expect_data(&read)["password"], json!("v399"));
}

#[tokio::test]
async fn the_guides_read_only_policy() {
    // The guide's "minimal, read-only policy", for one vault (addressed by name, as a user would).
    let s = Scenario::new().await;
    let m = &s.mount;
    let client = s
        .token_with_policy(
            "guide",
            &format!(
                "path \"{m}/data\" {{ capabilities = [\"list\"] }}\n\
                 path \"{m}/vaults/Other Vault/*\" {{ capabilities = [\"read\", \"list\"] }}"
            ),
        )
        .await;
    let list = client
        .list(&s.path(&format!("vaults/{}/items", seg("Other Vault"))))
        .await
        .unwrap();
    assert_eq!(list.status, 200, "{:?}", list.body);
    let read = client
        .read(&s.path(&item("Other Vault", "totp")))
        .await
        .unwrap();
    assert_eq!(read.get("username"), &json!("otp-user"));
    let write = client
        .write(
            &s.path(&format!("vaults/{}/items", seg("Other Vault"))),
            &json!({"category": "password", "title": "nope"}),
        )
        .await
        .unwrap();
    assert_eq!(write.status, 403);
    let other = client.read(&s.path(&item("Shared", "db"))).await.unwrap();
    assert_eq!(other.status, 403);
}
