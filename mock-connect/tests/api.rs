//! The mock's HTTP API, driven over real HTTP against an in-process server; every JSON response
//! is validated against the official OpenAPI file (see `common`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::OnceLock;

use common::Spec;
use mock_connect::demo::{DEMO_TOTP_SECRET, ENGINEERING_VAULT_ID, PRIVATE_VAULT_ID};
use mock_connect::totp::Totp;
use mock_connect::{MockConnect, RunningMock};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const TOKEN: &str = "test-token";
const PRIVATE_ONLY: &str = "private-only";
const ENG: &str = ENGINEERING_VAULT_ID;

/// The spec every answer is checked against; loaded (or its skip reported) once per binary.
fn spec() -> Option<&'static Spec> {
    static SPEC: OnceLock<Option<Spec>> = OnceLock::new();
    SPEC.get_or_init(|| Spec::load("api: OpenAPI conformance of every answer"))
        .as_ref()
}

struct Api {
    mock: RunningMock,
    http: reqwest::Client,
}

struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Api {
    async fn start() -> Self {
        let mock = MockConnect::builder()
            .token(TOKEN)
            .scoped_token(PRIVATE_ONLY, ["private"])
            .demo()
            .spawn()
            .await
            .unwrap();
        Self {
            mock,
            http: reqwest::Client::new(),
        }
    }

    /// Sends a request; `template` names the spec operation the answer is validated against.
    async fn call(
        &self,
        method: Method,
        template: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.mock.url()));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        assert_eq!(
            headers.get("1password-connect-version").unwrap(),
            "1.8.1",
            "version header on {method} {path}"
        );
        let bytes = response.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        if let Some(spec) = spec()
            && status != StatusCode::NO_CONTENT
            && headers
                .get("content-type")
                .is_some_and(|v| v.to_str().unwrap().starts_with("application/json"))
        {
            spec.check(method.as_str(), template, status.as_u16(), &body);
        }
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn get(&self, template: &str, path: &str) -> Answer {
        self.call(Method::GET, template, path, Some(TOKEN), None)
            .await
    }
}

const VAULTS: &str = "/v1/vaults";
const VAULT: &str = "/v1/vaults/{vaultUuid}";
const ITEMS: &str = "/v1/vaults/{vaultUuid}/items";
const ITEM: &str = "/v1/vaults/{vaultUuid}/items/{itemUuid}";
const FILES: &str = "/v1/vaults/{vaultUuid}/items/{itemUuid}/files";
const FILE: &str = "/v1/vaults/{vaultUuid}/items/{itemUuid}/files/{fileUuid}";

fn titled<'a>(rows: &'a Value, title: &str) -> Vec<&'a Value> {
    rows.as_array()
        .unwrap()
        .iter()
        .filter(|r| r["title"] == title)
        .collect()
}

#[tokio::test]
async fn vaults_list_get_and_filter() {
    let api = Api::start().await;
    let all = api.get(VAULTS, "/v1/vaults").await;
    assert_eq!(all.status, 200);
    let names: Vec<&str> = all
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["engineering", "Private"]);
    assert_eq!(all.body[0]["items"], 9);

    for filter in ["name+eq+%22PRIVATE%22", "title%20eq%20%22private%22"] {
        let hit = api
            .get(VAULTS, &format!("/v1/vaults?filter={filter}"))
            .await;
        assert_eq!(hit.body.as_array().unwrap().len(), 1, "{filter}");
        assert_eq!(hit.body[0]["id"], PRIVATE_VAULT_ID);
    }
    let contains = api
        .get(VAULTS, "/v1/vaults?filter=name%20co%20%22GINEER%22")
        .await;
    assert_eq!(contains.body[0]["name"], "engineering");
    let bad = api.get(VAULTS, "/v1/vaults?filter=name%20eq%20'x'").await;
    assert_eq!(bad.status, 400);
    let bad_attr = api
        .get(VAULTS, "/v1/vaults?filter=colour%20eq%20%22x%22")
        .await;
    assert_eq!(bad_attr.status, 400);

    let one = api.get(VAULT, &format!("/v1/vaults/{ENG}")).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.body["name"], "engineering");
    assert_eq!(api.get(VAULT, "/v1/vaults/engineering").await.status, 400);
    let unknown = api
        .get(VAULT, "/v1/vaults/abcdefghijklmnop1234567890")
        .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(
        unknown.body["message"],
        "vault abcdefghijklmnop1234567890 not found"
    );

    // Trailing slash (JS SDK) and doubled leading slash (Go SDK with a host ending in /).
    assert_eq!(api.get(VAULTS, "/v1/vaults/").await.body, all.body);
    assert_eq!(api.get(VAULTS, "//v1/vaults").await.body, all.body);
}

#[tokio::test]
async fn tokens_and_scopes() {
    let api = Api::start().await;
    let missing = api
        .call(Method::GET, VAULTS, "/v1/vaults", None, None)
        .await;
    assert_eq!(missing.status, 401);
    let wrong = api
        .call(Method::GET, VAULTS, "/v1/vaults", Some("nope"), None)
        .await;
    assert_eq!(
        (wrong.status, wrong.body["message"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("Invalid token signature"))
    );

    let scoped = api
        .call(Method::GET, VAULTS, "/v1/vaults", Some(PRIVATE_ONLY), None)
        .await;
    assert_eq!(scoped.body.as_array().unwrap().len(), 1);
    assert_eq!(scoped.body[0]["name"], "Private");
    let forbidden = api
        .call(
            Method::GET,
            ITEMS,
            &format!("/v1/vaults/{ENG}/items"),
            Some(PRIVATE_ONLY),
            None,
        )
        .await;
    assert_eq!(forbidden.status, 403);
    assert_eq!(
        forbidden.body["message"],
        format!("Authorization: token does not have access to vault {ENG}")
    );
    let allowed = api
        .call(
            Method::GET,
            ITEMS,
            &format!("/v1/vaults/{PRIVATE_VAULT_ID}/items"),
            Some(PRIVATE_ONLY),
            None,
        )
        .await;
    assert_eq!(allowed.status, 200);
    // Health endpoints need no token.
    let health = api
        .call(Method::GET, "/health", "/health", None, None)
        .await;
    assert_eq!(health.body["version"], "1.8.1");
}

#[tokio::test]
async fn items_list_filter_and_get() {
    let api = Api::start().await;
    let list = api.get(ITEMS, &format!("/v1/vaults/{ENG}/items")).await;
    assert_eq!(list.status, 200);
    let rows = list.body.as_array().unwrap();
    assert_eq!(rows.len(), 9);
    for row in rows {
        assert_eq!(row["vault"]["id"], ENG);
        assert!(row.get("fields").is_none() && row.get("sections").is_none());
        assert_eq!(row["version"], 1);
    }
    // Duplicate titles are listed, oldest first.
    let builds = titled(&list.body, "Build Server");
    assert_eq!(builds.len(), 2);
    assert!(builds[0]["createdAt"].as_str() < builds[1]["createdAt"].as_str());

    let go = api
        .get(
            ITEMS,
            &format!("/v1/vaults/{ENG}/items?filter=title+eq+%22build+server%22"),
        )
        .await;
    assert_eq!(go.body.as_array().unwrap().len(), 2);
    let py = api
        .get(
            ITEMS,
            &format!("/v1/vaults/{ENG}/items?filter=title%20eq%20%22Production%20Database%22"),
        )
        .await;
    assert_eq!(py.body.as_array().unwrap().len(), 1);
    let js = api
        .get(
            ITEMS,
            &format!("/v1/vaults/{ENG}/items/?filter=title%20co%20%22server%22"),
        )
        .await;
    assert_eq!(js.body.as_array().unwrap().len(), 2);
    let tag = api
        .get(
            ITEMS,
            &format!("/v1/vaults/{ENG}/items?filter=tag%20eq%20%22PROD%22"),
        )
        .await;
    let mut tagged: Vec<&str> = tag
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap())
        .collect();
    tagged.sort_unstable();
    assert_eq!(tagged, ["Production Database", "TLS Certificate"]);
    assert_eq!(
        api.get(
            ITEMS,
            &format!("/v1/vaults/{ENG}/items?filter=title%20sw%20%22x%22")
        )
        .await
        .status,
        400
    );
    assert_eq!(
        api.get(ITEMS, "/v1/vaults/abcdefghijklmnop1234567890/items")
            .await
            .status,
        404
    );

    let github_id = titled(&list.body, "GitHub")[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let github = api
        .get(ITEM, &format!("/v1/vaults/{ENG}/items/{github_id}"))
        .await;
    assert_eq!(github.status, 200);
    assert_eq!(github.body["category"], "LOGIN");
    let otp = github.body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["type"] == "OTP")
        .unwrap();
    let code = otp["totp"].as_str().unwrap();
    let expected = Totp::parse(DEMO_TOTP_SECRET).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // The code may have rolled over between the answer and now.
    assert!(
        [expected.code_at(now), expected.code_at(now - 30)].contains(&code.to_owned()),
        "totp {code}"
    );
    let password = github.body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["purpose"] == "PASSWORD")
        .unwrap();
    assert!(password["entropy"].as_f64().unwrap() > 0.0);

    let bad_item = api
        .get(ITEM, &format!("/v1/vaults/{ENG}/items/not-an-id"))
        .await;
    assert_eq!(
        (bad_item.status, bad_item.body["message"].as_str()),
        (StatusCode::BAD_REQUEST, Some("Invalid Item UUID"))
    );
    let unknown = api
        .get(
            ITEM,
            &format!("/v1/vaults/{ENG}/items/abcdefghijklmnop1234567890"),
        )
        .await;
    assert_eq!(
        (unknown.status, unknown.body["message"].as_str()),
        (
            StatusCode::NOT_FOUND,
            Some("item abcdefghijklmnop1234567890 not found")
        )
    );
}

#[tokio::test]
async fn item_lifecycle_create_replace_patch_delete() {
    let api = Api::start().await;
    let items = format!("/v1/vaults/{ENG}/items");
    let created = api
        .call(Method::POST, ITEMS, &items, Some(TOKEN), Some(json!({
            "id": "", "title": "New Login", "vault": {"id": ENG}, "category": "LOGIN",
            "createdAt": "0001-01-01T00:00:00Z", "trashed": false, "favorite": false,
            "urls": [{"primary": true, "href": ""}],
            "sections": [{"id": "extra", "label": "Extra"}],
            "fields": [
                {"id": "", "purpose": "username", "type": "", "value": "bob", "section": null},
                {"purpose": "PASSWORD", "type": "STRING", "generate": true,
                 "recipe": {"length": 24, "characterSets": ["LETTERS", "DIGITS"], "excludeCharacters": "abcXYZ019"}},
                {"label": "pin", "type": "concealed", "value": "1234", "section": {"id": "extra"}}
            ]
        })))
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 26);
    assert_eq!(created.body["version"], 1);
    let fields = created.body["fields"].as_array().unwrap();
    let password = fields.iter().find(|f| f["purpose"] == "PASSWORD").unwrap();
    let value = password["value"].as_str().unwrap();
    assert_eq!(value.len(), 24);
    assert!(
        value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() && !"abcXYZ019".contains(c)),
        "{value}"
    );
    assert_eq!(password["type"], "CONCEALED");
    assert!(password.get("generate").is_none());
    assert!(fields.iter().all(|f| !f["id"].as_str().unwrap().is_empty()));
    assert!(
        chrono::DateTime::parse_from_rfc3339(created.body["createdAt"].as_str().unwrap()).is_ok()
    );

    // Duplicate titles are allowed.
    let again = api
        .call(
            Method::POST,
            ITEMS,
            &items,
            Some(TOKEN),
            Some(json!({"title": "New Login", "vault": {"id": ENG}, "category": "PASSWORD"})),
        )
        .await;
    assert_eq!(again.status, 200);
    assert_ne!(again.body["id"], created.body["id"]);

    let item = format!("{items}/{id}");
    let fetched = api.get(ITEM, &item).await;
    assert_eq!(fetched.body, created.body);

    let mut replacement = created.body.clone();
    replacement["title"] = json!("Renamed");
    replacement["tags"] = json!(["x"]);
    let replaced = api
        .call(Method::PUT, ITEM, &item, Some(TOKEN), Some(replacement))
        .await;
    assert_eq!(replaced.status, 200);
    assert_eq!(replaced.body["version"], 2);
    assert_eq!(replaced.body["title"], "Renamed");
    assert_eq!(replaced.body["createdAt"], created.body["createdAt"]);

    let patched = api
        .call(Method::PATCH, ITEM, &item, Some(TOKEN), Some(json!([
            {"op": "replace", "path": "/favorite", "value": true},
            {"op": "replace", "path": "/fields/username/value", "value": "carol"},
            {"op": "add", "path": "/fields", "value": {"label": "New Field", "type": "string", "value": "hunter2"}}
        ])))
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["version"], 3);
    assert_eq!(patched.body["favorite"], true);
    let fields = patched.body["fields"].as_array().unwrap();
    assert!(
        fields
            .iter()
            .any(|f| f["id"] == "username" && f["value"] == "carol")
    );
    assert!(
        fields
            .iter()
            .any(|f| f["label"] == "New Field" && f["type"] == "STRING")
    );
    let not_array = api
        .call(
            Method::PATCH,
            ITEM,
            &item,
            Some(TOKEN),
            Some(json!({"op": "replace"})),
        )
        .await;
    assert_eq!(not_array.status, 400);

    let deleted = api
        .call(Method::DELETE, ITEM, &item, Some(TOKEN), None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(deleted.body, Value::Null);
    assert_eq!(api.get(ITEM, &item).await.status, 404);
    assert_eq!(
        api.call(Method::DELETE, ITEM, &item, Some(TOKEN), None)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn invalid_writes_are_400() {
    let api = Api::start().await;
    let items = format!("/v1/vaults/{ENG}/items");
    for body in [
        json!({"title": "c", "category": "CUSTOM"}),
        json!({"title": "d", "category": "DOCUMENT"}),
        json!({"title": "n"}),
        json!({"title": "p", "category": "LOGIN", "fields": [
            {"purpose": "PASSWORD", "value": "a"}, {"purpose": "PASSWORD", "value": "b"}]}),
        json!({"title": "r", "category": "LOGIN", "fields": [{"generate": true, "recipe": {"length": 65}}]}),
        json!({"title": "date", "category": "LOGIN", "fields": [{"type": "DATE", "value": "tomorrow"}]}),
        json!("not an item"),
    ] {
        let answer = api
            .call(Method::POST, ITEMS, &items, Some(TOKEN), Some(body.clone()))
            .await;
        assert_eq!(answer.status, 400, "{body}");
    }
    let category = api
        .call(
            Method::POST,
            ITEMS,
            &items,
            Some(TOKEN),
            Some(json!({"category": "CUSTOM"})),
        )
        .await;
    assert_eq!(category.body["message"], "Invalid item category");
    let vault_name = api
        .call(
            Method::POST,
            ITEMS,
            "/v1/vaults/engineering/items",
            Some(TOKEN),
            Some(json!({"category": "LOGIN"})),
        )
        .await;
    assert_eq!(vault_name.body["message"], "Invalid Vault UUID");
    let unknown = api
        .call(
            Method::PUT,
            ITEM,
            &format!("{items}/abcdefghijklmnop1234567890"),
            Some(TOKEN),
            Some(json!({"category": "LOGIN"})),
        )
        .await;
    assert_eq!(unknown.status, 404);
    let huge = json!({"category": "LOGIN", "title": "x".repeat(3 * 1024 * 1024)});
    let too_large = api
        .call(Method::POST, ITEMS, &items, Some(TOKEN), Some(huge))
        .await;
    assert_eq!(too_large.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn files_list_get_inline_and_content() {
    let api = Api::start().await;
    let list = api
        .get(
            ITEMS,
            &format!("/v1/vaults/{ENG}/items?filter=title%20eq%20%22TLS%20Certificate%22"),
        )
        .await;
    let item_id = list.body[0]["id"].as_str().unwrap().to_owned();
    let item = api
        .get(ITEM, &format!("/v1/vaults/{ENG}/items/{item_id}"))
        .await;
    let file = &item.body["files"][0];
    let file_id = file["id"].as_str().unwrap().to_owned();
    let content_path = format!("/v1/vaults/{ENG}/items/{item_id}/files/{file_id}/content");
    assert_eq!(file["content_path"], content_path);

    let files = api
        .get(FILES, &format!("/v1/vaults/{ENG}/items/{item_id}/files"))
        .await;
    assert_eq!(files.body.as_array().unwrap().len(), 1);
    assert!(files.body[0].get("content").is_none());
    for query in ["inline_files=true", "inline_content=true"] {
        let inline = api
            .get(
                FILES,
                &format!("/v1/vaults/{ENG}/items/{item_id}/files/?{query}"),
            )
            .await;
        assert!(
            inline.body[0]["content"]
                .as_str()
                .unwrap()
                .starts_with("LS0t"),
            "{query}"
        );
    }
    let one = api
        .get(
            FILE,
            &format!("/v1/vaults/{ENG}/items/{item_id}/files/{file_id}"),
        )
        .await;
    assert_eq!(one.body["name"], "cert.pem");
    assert_eq!(
        api.get(
            FILE,
            &format!("/v1/vaults/{ENG}/items/{item_id}/files/abcdefghijklmnop1234567890")
        )
        .await
        .status,
        404
    );

    let raw = api
        .http
        .get(format!("{}{content_path}", api.mock.url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 200);
    assert_eq!(raw.headers()["content-type"], "application/octet-stream");
    assert_eq!(
        raw.headers()["content-disposition"],
        "attachment; filename=\"cert.pem\""
    );
    let size = file["size"].as_u64().unwrap();
    assert_eq!(raw.headers()["content-length"], size.to_string().as_str());
    let bytes = raw.bytes().await.unwrap();
    assert!(bytes.starts_with(b"-----BEGIN CERTIFICATE-----"));
    assert_eq!(bytes.len() as u64, size);
}

#[tokio::test]
async fn activity_health_metrics_and_unknown_routes() {
    let api = Api::start().await;
    api.get(VAULTS, "/v1/vaults").await;
    api.get(VAULT, &format!("/v1/vaults/{ENG}")).await;
    api.get(ITEMS, &format!("/v1/vaults/{ENG}/items")).await;
    let activity = api.get("/v1/activity", "/v1/activity?limit=2").await;
    assert_eq!(activity.status, 200);
    assert_eq!(activity.body.as_array().unwrap().len(), 2);
    assert_eq!(activity.headers["content-range"], "1-2/3");
    assert_eq!(activity.body[0]["action"], "READ");
    assert_eq!(activity.body[0]["resource"]["vault"]["id"], ENG);
    let rest = api.get("/v1/activity", "/v1/activity?offset=2").await;
    assert_eq!(rest.headers["content-range"], "3-3/3");

    let heartbeat = api
        .http
        .get(format!("{}/heartbeat", api.mock.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(heartbeat.headers()["1password-connect-version"], "1.8.1");
    assert_eq!(heartbeat.text().await.unwrap(), ".");
    let health = api
        .call(Method::GET, "/health", "/health", None, None)
        .await;
    assert_eq!(health.body["dependencies"][0]["status"], "ACTIVE");
    let metrics = api
        .http
        .get(format!("{}/metrics", api.mock.url()))
        .send()
        .await
        .unwrap();
    assert!(
        metrics
            .text()
            .await
            .unwrap()
            .contains("mock_connect_items 12")
    );

    let unknown = api
        .http
        .get(format!("{}/v2/nothing", api.mock.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(unknown.headers()["1password-connect-version"], "1.8.1");
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(body["status"], 404);
    let wrong_method = api
        .http
        .delete(format!("{}/v1/vaults", api.mock.url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.status(), 405);
    assert_eq!(wrong_method.json::<Value>().await.unwrap()["status"], 405);
}

#[tokio::test]
async fn journal_and_faults() {
    let api = Api::start().await;
    let admin = |path: &str| format!("{}/__admin/{path}", api.mock.url());
    api.get(VAULTS, "/v1/vaults?filter=name%20eq%20%22Private%22")
        .await;
    api.get(ITEMS, &format!("/v1/vaults/{ENG}/items/")).await;
    let journal: Value = api
        .http
        .get(admin("requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        journal,
        json!([
            {"method": "GET", "path": "/v1/vaults", "query": "filter=name%20eq%20%22Private%22", "status": 200},
            {"method": "GET", "path": format!("/v1/vaults/{ENG}/items/"), "query": null, "status": 200}
        ])
    );
    assert_eq!(
        api.http
            .delete(admin("requests"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(api.mock.journal().snapshot().len(), 0);

    // An error status, twice, then back to normal.
    let added = api
        .http
        .post(admin("faults"))
        .json(&json!({"route": "GET /v1/vaults/{vault}", "status": 503, "times": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 200);
    let vault = format!("/v1/vaults/{ENG}");
    for _ in 0..2 {
        let faulty = api.get(VAULT, &vault).await;
        assert_eq!(
            (faulty.status, faulty.body["status"].as_i64()),
            (StatusCode::SERVICE_UNAVAILABLE, Some(503))
        );
    }
    assert_eq!(api.get(VAULT, &vault).await.status, 200);

    // Malformed body, latency, dropped connection.
    api.http
        .post(admin("faults"))
        .json(&json!([
            {"route": "/v1/vaults", "malformed": true, "times": 1},
            {"route": "GET /v1/vaults/*/items", "latency_ms": 20, "times": 1},
            {"route": "/v1/vaults/*/items/**", "drop": true}
        ]))
        .send()
        .await
        .unwrap();
    let malformed = api
        .http
        .get(format!("{}/v1/vaults", api.mock.url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 200);
    assert!(malformed.json::<Value>().await.is_err());
    assert_eq!(
        api.get(ITEMS, &format!("/v1/vaults/{ENG}/items"))
            .await
            .status,
        200
    );
    let dropped = api
        .http
        .get(format!(
            "{}/v1/vaults/{ENG}/items/abcdefghijklmnop1234567890",
            api.mock.url()
        ))
        .bearer_auth(TOKEN)
        .send()
        .await;
    assert!(dropped.is_err(), "the connection should have been dropped");
    let listed: Value = api
        .http
        .get(admin("faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(
        api.http
            .delete(admin("faults"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let ok = api
        .get(
            ITEM,
            &format!("/v1/vaults/{ENG}/items/abcdefghijklmnop1234567890"),
        )
        .await;
    assert_eq!(ok.status, 404);

    let statuses: Vec<u64> = api
        .mock
        .journal()
        .snapshot()
        .iter()
        .map(|e| u64::from(e.status))
        .collect();
    assert_eq!(statuses, [503, 503, 200, 200, 200, 0, 404]);
    let bad = api
        .http
        .post(admin("faults"))
        .json(&json!({"route": "nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn data_file_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store.json");
    let first = MockConnect::builder()
        .token(TOKEN)
        .demo()
        .data_file(&data)
        .spawn()
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let created: Value = http
        .post(format!("{}/v1/vaults/{PRIVATE_VAULT_ID}/items", first.url()))
        .bearer_auth(TOKEN)
        .json(&json!({"title": "Persisted", "category": "PASSWORD", "fields": [{"purpose": "PASSWORD", "generate": true}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    first.shutdown().await;
    assert!(
        std::fs::read_to_string(&data)
            .unwrap()
            .contains("Persisted")
    );

    // Seeds are ignored when the data file exists: the demo is not loaded twice.
    let second = MockConnect::builder()
        .token(TOKEN)
        .demo()
        .data_file(&data)
        .spawn()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let again: Value = http
        .get(format!(
            "{}/v1/vaults/{PRIVATE_VAULT_ID}/items/{id}",
            second.url()
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again, created);
    assert_eq!(second.store().vault(PRIVATE_VAULT_ID).unwrap().len(), 4);
    assert_eq!(second.store().vaults().len(), 2);
}

#[test]
fn the_spec_checker_rejects_wrong_bodies() {
    let Some(spec) = spec() else { return };
    let wrong_vault = json!({"id": "NOT-AN-ID", "name": "x", "type": "SPACESHIP"});
    let result = std::panic::catch_unwind(|| spec.check("GET", VAULT, 200, &wrong_vault));
    assert!(
        result.is_err(),
        "an invalid vault must not pass the spec check"
    );
    let wrong_error = json!({"status": "404", "message": 1});
    assert!(std::panic::catch_unwind(|| spec.check("GET", ITEM, 404, &wrong_error)).is_err());
    let no_slash = json!([{"id": "a", "name": "n", "size": 1,
        "content_path": "v1/vaults/aaaaaaaaaaaaaaaaaaaaaaaaaa/items/aaaaaaaaaaaaaaaaaaaaaaaaaa/files/aaaaaaaaaaaaaaaaaaaaaaaaaa/content"}]);
    assert!(std::panic::catch_unwind(|| spec.check("GET", FILES, 200, &no_slash)).is_err());
    spec.check(
        "GET",
        VAULT,
        200,
        &json!({"id": ENG, "name": "engineering", "type": "USER_CREATED"}),
    );
}
