//! Client tests: HTTP-level behaviour (requests on the wire, statuses, retries, timeouts)
//! against `wiremock` servers on loopback; TLS against a small rustls stub (wiremock serves
//! plain HTTP only).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;
use wiremock::http::HeaderMap;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Respond, ResponseTemplate};

use super::*;
use crate::ConnectToken;
use crate::model::{FieldType, ItemCategory, VaultRef};

const TOKEN: &str = "eyJhbGciOiJFUzI1NiJ9.TOP-SECRET-TOKEN-PAYLOAD.sig";
const VAULT: &str = "hfnjvi6aymbsnfc2xeeoheizda";
const ITEM: &str = "wepiqdxdzncjtnvmv5fegud4qy";

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Bytes,
}

impl From<&wiremock::Request> for Seen {
    fn from(request: &wiremock::Request) -> Self {
        Seen {
            method: request.method.to_string(),
            path: request.url.path().to_owned(),
            query: request.url.query().map(str::to_owned),
            headers: request.headers.clone(),
            body: Bytes::from(request.body.clone()),
        }
    }
}

/// What the server answers.
struct Reply {
    status: u16,
    body: String,
    delay: Option<Duration>,
}

impl Reply {
    fn json(status: u16, body: serde_json::Value) -> Self {
        Self {
            status,
            body: body.to_string(),
            delay: None,
        }
    }

    fn text(status: u16, body: &str) -> Self {
        Self {
            status,
            body: body.to_owned(),
            delay: None,
        }
    }
}

/// Answers every request through `responder(request, index)`, like Connect (its version header).
struct ByIndex<F> {
    responder: F,
    next: AtomicUsize,
}

impl<F: Fn(&Seen, usize) -> Reply + Send + Sync + 'static> Respond for ByIndex<F> {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let index = self.next.fetch_add(1, Ordering::SeqCst);
        let reply = (self.responder)(&Seen::from(request), index);
        let template = ResponseTemplate::new(reply.status)
            .insert_header("1Password-Connect-Version", "1.8.1")
            .set_body_raw(reply.body, "application/json");
        match reply.delay {
            Some(delay) => template.set_delay(delay),
            None => template,
        }
    }
}

/// A wiremock server on 127.0.0.1 answering every request through `responder`.
struct Stub {
    server: MockServer,
}

impl Stub {
    async fn start(responder: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static) -> Self {
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(ByIndex {
                responder,
                next: AtomicUsize::new(0),
            })
            .mount(&server)
            .await;
        Self { server }
    }

    fn url(&self) -> String {
        self.server.uri()
    }

    /// Every request so far, oldest first.
    async fn seen(&self) -> Vec<Seen> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .map(Seen::from)
            .collect()
    }

    fn client(&self) -> Client {
        Client::new(self.config()).unwrap()
    }

    fn config(&self) -> ClientConfig {
        ClientConfig::new(format!("{}/", self.url()), TOKEN).with_retry(RetryPolicy {
            max_retries: 2,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
        })
    }
}

fn full_item() -> serde_json::Value {
    json!({
        "id": ITEM, "title": "db", "vault": {"id": VAULT}, "category": "DATABASE", "version": 2,
        "createdAt": "2022-01-17T23:41:32Z", "updatedAt": "2022-01-17T23:41:32Z",
        "fields": [{"id": "password", "type": "CONCEALED", "purpose": "PASSWORD",
                    "label": "password", "value": "hunter2"}]
    })
}

/// Every text a caller or a log could see for this error.
fn all_texts(error: &ConnectError) -> String {
    format!("{error} | {error:?} | {error:#?}")
}

fn assert_no_token(text: &str) {
    assert!(!text.contains("TOP-SECRET"), "token leaked: {text}");
}

// ----- configuration -----------------------------------------------------------------------

#[test]
fn base_url_is_normalised() {
    let cases = [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        (
            "https://connect.example:8443//",
            "https://connect.example:8443",
        ),
        (
            "http://localhost:8080/prefix/",
            "http://localhost:8080/prefix",
        ),
        ("  http://localhost  ", "http://localhost"),
    ];
    for (raw, expected) in cases {
        let client = Client::new(ClientConfig::new(raw, TOKEN)).unwrap();
        assert_eq!(client.base_url(), expected, "{raw}");
    }
}

#[test]
fn loopback_hosts_are_recognised_for_the_proxy_bypass() {
    for (raw, loopback) in [
        ("http://localhost:8080", true),
        ("http://LOCALHOST.", true),
        ("http://connect.localhost", true),
        ("http://127.0.0.1", true),
        ("http://127.8.9.10", true),
        ("http://[::1]:8080", true),
        ("https://connect.example.com", false),
        ("http://10.0.0.1", false),
        ("http://localhost.example.com", false),
    ] {
        let url = BaseUrl::parse(raw).unwrap();
        assert_eq!(url.is_loopback(), loopback, "{raw}");
    }
}

#[test]
fn invalid_configuration_is_rejected_without_the_token() {
    let bad_urls = [
        "",
        "localhost:8080",
        "ftp://localhost",
        "http://",
        "http://user:pw@localhost",
        "http://localhost/?a=b",
    ];
    for raw in bad_urls {
        let error = Client::new(ClientConfig::new(raw, TOKEN)).unwrap_err();
        assert!(
            matches!(error, ConnectError::InvalidConfig(_)),
            "{raw}: {error:?}"
        );
        assert_no_token(&all_texts(&error));
    }
    let cases = [
        ClientConfig::new("http://localhost", ""),
        ClientConfig::new("http://localhost", format!("{TOKEN}\n")),
        ClientConfig::new("http://localhost", TOKEN).with_timeout(Duration::ZERO),
        ClientConfig::new("http://localhost", TOKEN).with_user_agent("bad\nagent"),
        ClientConfig::new("http://localhost", TOKEN).with_ca_certificate_pem("not a pem"),
    ];
    for config in cases {
        let error = Client::new(config).unwrap_err();
        assert!(matches!(error, ConnectError::InvalidConfig(_)), "{error:?}");
        assert_no_token(&all_texts(&error));
    }
}

#[test]
fn debug_output_never_contains_the_token() {
    let config = ClientConfig::new("http://localhost", TOKEN);
    assert_no_token(&format!("{config:?}"));
    let client = Client::new(config).unwrap();
    assert_no_token(&format!("{client:?}"));
    assert_no_token(&format!("{:?}", ConnectToken::new(TOKEN)));
}

// ----- requests on the wire ----------------------------------------------------------------

#[tokio::test]
async fn sends_bearer_token_user_agent_and_clean_paths() {
    let stub = Stub::start(|_, _| Reply::json(200, json!([]))).await;
    let client = Client::new(stub.config().with_user_agent("vault-connect/1.1.0-test")).unwrap();
    client.list_vaults(None).await.unwrap();
    client.list_items(VAULT, None).await.unwrap();

    let seen = stub.seen().await;
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].path, "/v1/vaults");
    assert_eq!(seen[0].query, None);
    assert_eq!(seen[1].path, format!("/v1/vaults/{VAULT}/items"));
    for request in &seen {
        assert_eq!(
            request.headers["authorization"],
            format!("Bearer {TOKEN}").as_str()
        );
        assert_eq!(request.headers["user-agent"], "vault-connect/1.1.0-test");
    }
}

#[tokio::test]
async fn filters_are_url_encoded_like_go_query_escape() {
    let stub = Stub::start(|_, _| Reply::json(200, json!([]))).await;
    let client = stub.client();
    client
        .list_items(VAULT, Some(&Filter::title_eq(r#"My "odd" & #1+%"#)))
        .await
        .unwrap();
    client
        .list_vaults(Some(&Filter::title_eq("Shared")))
        .await
        .unwrap();
    let seen = stub.seen().await;
    assert_eq!(
        seen[0].query.as_deref(),
        Some("filter=title+eq+%22My+%22odd%22+%26+%231%2B%25%22")
    );
    assert_eq!(seen[1].path, "/v1/vaults");
    assert_eq!(
        seen[1].query.as_deref(),
        Some("filter=title+eq+%22Shared%22")
    );
}

#[tokio::test]
async fn ids_are_percent_encoded_and_dot_segments_refused() {
    let stub = Stub::start(|_, _| Reply::json(200, full_item())).await;
    let client = stub.client();
    client.get_item(VAULT, "a/b?c").await.unwrap();
    assert_eq!(
        stub.seen().await[0].path,
        format!("/v1/vaults/{VAULT}/items/a%2Fb%3Fc")
    );
    for bad in ["", ".", ".."] {
        let error = client.get_item(VAULT, bad).await.unwrap_err();
        assert!(
            matches!(error, ConnectError::InvalidArgument(_)),
            "{error:?}"
        );
    }
    assert_eq!(stub.seen().await.len(), 1);
}

#[tokio::test]
async fn item_endpoints_round_trip() {
    let stub = Stub::start(|seen, _| match (seen.method.as_str(), seen.path.as_str()) {
        ("DELETE", _) => Reply::text(204, ""),
        ("GET", path) if path.ends_with("/items") => Reply::json(200, serde_json::Value::Null),
        _ => Reply::json(200, full_item()),
    })
    .await;
    let client = stub.client();

    let item = client.get_item(VAULT, ITEM).await.unwrap();
    assert_eq!(item.category, Some(ItemCategory::Database));
    assert_eq!(item.fields[0].field_type, FieldType::Concealed);
    assert_eq!(item.fields[0].value.as_deref(), Some("hunter2"));

    // A `null` list body is an empty list, as with the Go SDK.
    assert!(client.list_items(VAULT, None).await.unwrap().is_empty());

    let new_item = Item {
        title: "db".into(),
        vault: VaultRef::new(VAULT),
        category: Some(ItemCategory::Database),
        ..Item::default()
    };
    client.create_item(VAULT, &new_item).await.unwrap();
    client.replace_item(VAULT, ITEM, &new_item).await.unwrap();
    client
        .patch_item(VAULT, ITEM, &[PatchOp::replace("/title", json!("x"))])
        .await
        .unwrap();
    client.delete_item(VAULT, ITEM).await.unwrap();

    let seen = stub.seen().await;
    let item_path = format!("/v1/vaults/{VAULT}/items/{ITEM}");
    let calls: Vec<(&str, &str)> = seen
        .iter()
        .map(|s| (s.method.as_str(), s.path.as_str()))
        .collect();
    let items_path = format!("/v1/vaults/{VAULT}/items");
    assert_eq!(
        calls,
        [
            ("GET", item_path.as_str()),
            ("GET", items_path.as_str()),
            ("POST", items_path.as_str()),
            ("PUT", item_path.as_str()),
            ("PATCH", item_path.as_str()),
            ("DELETE", item_path.as_str()),
        ]
    );
    let posted: serde_json::Value = serde_json::from_slice(&seen[2].body).unwrap();
    assert_eq!(
        posted,
        json!({"title": "db", "vault": {"id": VAULT}, "category": "DATABASE"})
    );
    assert_eq!(seen[2].headers["content-type"], "application/json");
    let patched: serde_json::Value = serde_json::from_slice(&seen[4].body).unwrap();
    assert_eq!(
        patched,
        json!([{"op": "replace", "path": "/title", "value": "x"}])
    );
}

#[tokio::test]
async fn vault_file_and_server_endpoints() {
    let stub = Stub::start(|seen, _| {
        let path = seen.path.as_str();
        if path == "/heartbeat" {
            Reply::text(200, ".")
        } else if path == "/health" {
            Reply::json(
                200,
                json!({"name": "1Password Connect API", "version": "1.8.1",
                       "dependencies": [{"service": "sqlite", "status": "ACTIVE"}]}),
            )
        } else if path.ends_with("/content") {
            Reply::text(200, "raw\u{0}bytes")
        } else if path.ends_with("/files") {
            Reply::json(
                200,
                json!([{"id": "f1", "name": "a.txt", "size": 3,
                "content_path": format!("/v1/vaults/{VAULT}/items/{ITEM}/files/f1/content"),
                "content": "YWJj"}]),
            )
        } else if path.contains("/files/") {
            Reply::json(
                200,
                json!({"id": "f1", "name": "a.txt", "size": 3, "content_path": "/x"}),
            )
        } else if path == "/v1/activity" {
            Reply::json(
                200,
                json!([{"requestId": "r", "action": "READ", "result": "SUCCESS"}]),
            )
        } else {
            Reply::json(
                200,
                json!({"id": VAULT, "name": "Shared", "type": "USER_CREATED",
                                    "attributeVersion": 1, "contentVersion": 2, "items": 3}),
            )
        }
    })
    .await;
    let client = stub.client();
    assert_eq!(client.get_vault(VAULT).await.unwrap().name, "Shared");
    let files = client.list_files(VAULT, ITEM, true).await.unwrap();
    assert_eq!(files[0].decoded_content().unwrap().unwrap(), b"abc");
    assert_eq!(
        client
            .get_file(VAULT, ITEM, "f1", false)
            .await
            .unwrap()
            .size,
        3
    );
    let content = client.get_file_content(VAULT, ITEM, "f1").await.unwrap();
    assert_eq!(&content[..], b"raw\0bytes");
    assert_eq!(client.activity(10, 5).await.unwrap().len(), 1);
    client.heartbeat().await.unwrap();
    assert_eq!(client.health().await.unwrap().version, "1.8.1");

    let seen = stub.seen().await;
    assert_eq!(
        seen[1].query.as_deref(),
        Some("inline_files=true&inline_content=true")
    );
    assert_eq!(
        seen[2].path,
        format!("/v1/vaults/{VAULT}/items/{ITEM}/files/f1")
    );
    assert_eq!(seen[2].query, None);
    assert_eq!(seen[4].query.as_deref(), Some("limit=10&offset=5"));
    assert_eq!(seen[5].path, "/heartbeat");
    assert_eq!(seen[6].path, "/health");
}

#[tokio::test]
async fn heartbeat_rejects_other_bodies() {
    let stub = Stub::start(|_, _| Reply::text(200, "<html>proxy</html>")).await;
    let error = stub.client().heartbeat().await.unwrap_err();
    assert!(matches!(error, ConnectError::BadResponse(_)), "{error:?}");
}

// ----- errors ------------------------------------------------------------------------------

#[tokio::test]
async fn error_bodies_are_parsed_and_classified() {
    let stub = Stub::start(|seen, _| match seen.path.rsplit('/').next().unwrap_or("") {
        "e401" => Reply::json(401, json!({"status": 401, "message": "Invalid token signature"})),
        "e403" => Reply::json(
            403,
            json!({"status": 403, "message": "Authorization: token does not have access to vault x"}),
        ),
        "e404" => Reply::json(404, json!({"status": 404, "message": "item e404 not found"})),
        "e400" => Reply::text(400, "plain text oops"),
        "e409" => Reply::json(409, json!({"status": 409, "message": "conflict"})),
        "array" => Reply::json(500, json!([1, 2])),
        "badjson" => Reply::text(200, "{not json"),
        _ => Reply::json(200, full_item()),
    })
    .await;
    let client = stub.client();
    let get = |id: &'static str| {
        let client = client.clone();
        async move { client.get_item(VAULT, id).await.unwrap_err() }
    };

    let error = get("e401").await;
    assert!(matches!(error, ConnectError::Unauthorized(_)), "{error:?}");
    assert_eq!(error.to_string(), "status 401: Invalid token signature");

    let error = get("e403").await;
    assert!(matches!(error, ConnectError::Unauthorized(_)), "{error:?}");
    assert_eq!(error.http_status(), Some(403));

    let error = get("e404").await;
    assert!(error.is_not_found());
    assert_eq!(error.to_string(), "status 404: item e404 not found");
    assert_eq!(
        error.api_error(),
        Some(&ApiError {
            http_status: 404,
            status: 404,
            message: "item e404 not found".into()
        })
    );

    let error = get("e400").await;
    assert!(matches!(error, ConnectError::Http(_)), "{error:?}");
    assert_eq!(error.to_string(), "status 400: Bad Request");

    assert_eq!(get("e409").await.to_string(), "status 409: conflict");
    assert_eq!(
        get("array").await.to_string(),
        "status 500: Internal Server Error"
    );

    let error = get("badjson").await;
    assert!(matches!(error, ConnectError::BadResponse(_)), "{error:?}");
    assert!(error.to_string().starts_with("decoding response: "));

    // 4xx and 500 are answers, not transient failures: one attempt each.
    assert_eq!(stub.seen().await.len(), 7);
}

#[tokio::test]
async fn unreachable_server_names_the_host_not_the_token() {
    // A port that was just free: nothing listens there any more.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let config = ClientConfig::new(format!("http://{addr}"), TOKEN).with_retry(RetryPolicy {
        max_retries: 1,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(1),
    });
    let error = Client::new(config)
        .unwrap()
        .get_item(VAULT, ITEM)
        .await
        .unwrap_err();
    match &error {
        ConnectError::Unreachable { host, reason } => {
            assert_eq!(host, &format!("http://{addr}"));
            assert!(!reason.is_empty());
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
    assert!(error.to_string().contains(&addr.to_string()));
    assert_no_token(&all_texts(&error));
}

#[tokio::test]
async fn a_slow_server_gives_a_timeout_error() {
    let stub = Stub::start(|_, _| Reply {
        status: 200,
        body: full_item().to_string(),
        delay: Some(Duration::from_secs(30)),
    })
    .await;
    let client = Client::new(
        stub.config()
            .with_timeout(Duration::from_millis(200))
            .with_retry(RetryPolicy {
                max_retries: 1,
                initial_backoff: Duration::from_millis(1),
                max_backoff: Duration::from_millis(1),
            }),
    )
    .unwrap();
    let error = client.get_item(VAULT, ITEM).await.unwrap_err();
    match &error {
        ConnectError::Timeout { host, timeout } => {
            assert_eq!(host, &stub.url());
            assert_eq!(*timeout, Duration::from_millis(200));
        }
        other => panic!("expected Timeout, got {other:?}"),
    }
    assert_no_token(&all_texts(&error));
    // The GET was retried once after timing out.
    assert_eq!(stub.seen().await.len(), 2);
}

// ----- retries -----------------------------------------------------------------------------

#[tokio::test]
async fn only_idempotent_calls_are_retried_and_retries_are_bounded() {
    let stub =
        Stub::start(|_, _| Reply::json(503, json!({"status": 503, "message": "unavailable"})))
            .await;
    let client = stub.client(); // max_retries = 2
    let item = Item {
        title: "t".into(),
        vault: VaultRef::new(VAULT),
        ..Item::default()
    };

    let count_for = async |method: &str| {
        stub.seen()
            .await
            .iter()
            .filter(|seen| seen.method == method)
            .count()
    };

    let error = client.get_item(VAULT, ITEM).await.unwrap_err();
    assert_eq!(error.http_status(), Some(503));
    assert_eq!(count_for("GET").await, 3);
    client.replace_item(VAULT, ITEM, &item).await.unwrap_err();
    assert_eq!(count_for("PUT").await, 3);
    client.delete_item(VAULT, ITEM).await.unwrap_err();
    assert_eq!(count_for("DELETE").await, 3);
    client.create_item(VAULT, &item).await.unwrap_err();
    assert_eq!(count_for("POST").await, 1);
    client.patch_item(VAULT, ITEM, &[]).await.unwrap_err();
    assert_eq!(count_for("PATCH").await, 1);

    // Every retried attempt carried the same body.
    let puts: Vec<Seen> = stub
        .seen()
        .await
        .into_iter()
        .filter(|seen| seen.method == "PUT")
        .collect();
    assert!(
        puts.iter()
            .all(|put| put.body == puts[0].body && !put.body.is_empty())
    );
}

#[tokio::test]
async fn transient_gateway_errors_are_retried_until_success() {
    let stub = Stub::start(|_, index| match index {
        0 => Reply::text(502, "bad gateway"),
        1 => Reply::text(504, ""),
        _ => Reply::json(200, full_item()),
    })
    .await;
    let item = stub.client().get_item(VAULT, ITEM).await.unwrap();
    assert_eq!(item.id, ITEM);
    assert_eq!(stub.seen().await.len(), 3);
}

#[tokio::test]
async fn retries_can_be_disabled() {
    let stub = Stub::start(|_, _| Reply::text(503, "")).await;
    let client = Client::new(stub.config().with_retry(RetryPolicy::none())).unwrap();
    client.list_vaults(None).await.unwrap_err();
    assert_eq!(stub.seen().await.len(), 1);
}

// ----- TLS with a private CA ---------------------------------------------------------------

/// A TLS server signed by a fresh private CA, answering every request with the heartbeat `.`.
struct TlsStub {
    addr: SocketAddr,
    ca_pem: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TlsStub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TlsStub {
    /// `self_signed`: the server certificate signs itself (and is what the client must trust)
    /// instead of being issued by a CA.
    async fn start(self_signed: bool) -> Self {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
        use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let leaf_key = KeyPair::generate().unwrap();
        let leaf_params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        let leaf = if self_signed {
            leaf_params.self_signed(&leaf_key).unwrap()
        } else {
            leaf_params.signed_by(&leaf_key, &ca).unwrap()
        };
        let trusted_pem = if self_signed { leaf.pem() } else { ca.pem() };

        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let server_config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
            )
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A failed handshake (untrusted CA on the client side) just ends here.
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut request = Vec::new();
                    let mut buffer = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tls.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buffer[..n]),
                        }
                    }
                    let response = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\
                                    content-length: 1\r\nconnection: close\r\n\r\n.";
                    let _ = tls.write_all(response.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        Self {
            addr,
            ca_pem: trusted_pem,
            task,
        }
    }
}

#[tokio::test]
async fn custom_ca_certificate_is_trusted() {
    let stub = TlsStub::start(false).await;
    let url = format!("https://localhost:{}/", stub.addr.port());
    let trusting = Client::new(
        ClientConfig::new(url.clone(), TOKEN).with_ca_certificate_pem(stub.ca_pem.clone()),
    )
    .unwrap();
    trusting.heartbeat().await.unwrap();

    // Without the CA the same server is refused, and the error names the host, not the token.
    let default_roots =
        Client::new(ClientConfig::new(url, TOKEN).with_retry(RetryPolicy::none())).unwrap();
    let error = default_roots.heartbeat().await.unwrap_err();
    assert!(
        matches!(error, ConnectError::Unreachable { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("localhost"));
    assert_no_token(&all_texts(&error));
}

#[tokio::test]
async fn a_self_signed_server_certificate_can_be_trusted_directly() {
    let stub = TlsStub::start(true).await;
    let url = format!("https://127.0.0.1:{}", stub.addr.port());
    let client =
        Client::new(ClientConfig::new(url, TOKEN).with_ca_certificate_pem(stub.ca_pem.clone()))
            .unwrap();
    client.heartbeat().await.unwrap();
}

#[tokio::test]
async fn a_retried_delete_that_finds_the_item_gone_succeeds() {
    let stub = Stub::start(|_, index| match index {
        0 => Reply::text(504, "gateway timeout"),
        _ => Reply::json(404, json!({"status": 404, "message": "item x not found"})),
    })
    .await;
    stub.client().delete_item(VAULT, ITEM).await.unwrap();
    assert_eq!(stub.seen().await.len(), 2);

    // Without an earlier ambiguous attempt a 404 stays a 404.
    let stub =
        Stub::start(|_, _| Reply::json(404, json!({"status": 404, "message": "item x not found"})))
            .await;
    let error = stub.client().delete_item(VAULT, ITEM).await.unwrap_err();
    assert!(error.is_not_found(), "{error:?}");
}

#[tokio::test]
async fn a_derived_client_uses_its_own_timeout_and_retries() {
    let stub = Stub::start(|_, _| Reply {
        status: 200,
        body: full_item().to_string(),
        delay: Some(Duration::from_secs(30)),
    })
    .await;
    let base = stub.client();
    let quick = base
        .with_timeout(Duration::from_millis(100))
        .with_retry(RetryPolicy::none());
    match quick.get_item(VAULT, ITEM).await.unwrap_err() {
        ConnectError::Timeout { timeout, .. } => assert_eq!(timeout, Duration::from_millis(100)),
        other => panic!("expected Timeout, got {other:?}"),
    }
    assert_eq!(stub.seen().await.len(), 1);
    assert_eq!(quick.base_url(), base.base_url());
}

// ----- size limits -------------------------------------------------------------------------

/// A raw HTTP/1.1 server answering every request with a chunked 200 body of `total` bytes and
/// no `Content-Length`, so only reading the body can find its size. Returns its address and the
/// number of bytes it managed to write (the client hangs up early when it enforces a limit).
async fn endless_chunked_server(total: usize) -> (SocketAddr, Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let written = Arc::new(AtomicUsize::new(0));
    let counter = written.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = vec![b' '; 64 * 1024];
                let mut sent = 0;
                while sent < total {
                    let frame = format!("{:x}\r\n", chunk.len());
                    let ok = socket.write_all(frame.as_bytes()).await.is_ok()
                        && socket.write_all(&chunk).await.is_ok()
                        && socket.write_all(b"\r\n").await.is_ok();
                    if !ok {
                        return;
                    }
                    sent += chunk.len();
                    counter.store(sent, Ordering::SeqCst);
                }
                let _ = socket.write_all(b"0\r\n\r\n").await;
            });
        }
    });
    (addr, written)
}

#[tokio::test]
async fn an_oversized_streamed_answer_stops_at_the_limit_without_reading_the_rest() {
    let total = 256 * 1024 * 1024;
    let (addr, written) = endless_chunked_server(total).await;
    let config = ClientConfig::new(format!("http://{addr}"), TOKEN)
        .with_max_response_size(1024 * 1024)
        .with_retry(RetryPolicy {
            max_retries: 2,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(1),
        });
    let error = Client::new(config)
        .unwrap()
        .get_item(VAULT, ITEM)
        .await
        .unwrap_err();
    match &error {
        ConnectError::ResponseTooLarge { host, limit } => {
            assert_eq!(host, &format!("http://{addr}"));
            assert_eq!(*limit, 1024 * 1024);
        }
        other => panic!("expected ResponseTooLarge, got {other:?}"),
    }
    assert!(error.to_string().contains("1048576 bytes"), "{error}");
    // The client hung up long before the server could send everything (socket buffers let it
    // get somewhat ahead of the reader, never 256 MiB).
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        written.load(Ordering::SeqCst) < total / 2,
        "{} bytes",
        written.load(Ordering::SeqCst)
    );
}

#[tokio::test]
async fn an_announced_oversized_answer_fails_once_and_is_not_retried() {
    let big = format!("\"{}\"", "x".repeat(4096));
    let stub = Stub::start(move |_, _| Reply::text(200, &big)).await;
    let client = Client::new(stub.config().with_max_response_size(1024)).unwrap();
    let error = client.list_vaults(None).await.unwrap_err();
    assert!(
        matches!(error, ConnectError::ResponseTooLarge { limit: 1024, .. }),
        "{error:?}"
    );
    assert_eq!(stub.seen().await.len(), 1);
}

#[tokio::test]
async fn file_content_has_its_own_limit() {
    let content = "y".repeat(10_000);
    let stub = Stub::start(move |_, _| Reply::text(200, &content)).await;
    let config = stub.config().with_max_response_size(1000);
    let roomy = Client::new(config.clone().with_max_file_size(10_000)).unwrap();
    let bytes = roomy.get_file_content(VAULT, ITEM, "f1").await.unwrap();
    assert_eq!(bytes.len(), 10_000);
    let tight = Client::new(config.with_max_file_size(9_999)).unwrap();
    let error = tight.get_file_content(VAULT, ITEM, "f1").await.unwrap_err();
    assert!(
        matches!(error, ConnectError::ResponseTooLarge { limit: 9_999, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn upstream_messages_are_cut_to_an_excerpt() {
    let stub = Stub::start(|seen, _| {
        if seen.path.ends_with("/long") {
            Reply::json(400, json!({"status": 400, "message": "m".repeat(50_000)}))
        } else {
            Reply::json(
                400,
                json!({"status": 400, "message": "z".repeat(1_000_000)}),
            )
        }
    })
    .await;
    let client = stub.client();
    let long = client.get_item(VAULT, "long").await.unwrap_err();
    let message = &long.api_error().unwrap().message;
    assert!(
        message.starts_with(&"m".repeat(MAX_UPSTREAM_TEXT)),
        "{message}"
    );
    assert!(
        message.len() < MAX_UPSTREAM_TEXT + 64,
        "{} bytes",
        message.len()
    );
    assert!(message.contains("more bytes not shown"), "{message}");
    // An error body beyond what is read at all leaves the status and its reason phrase.
    let huge = client.get_item(VAULT, "huge").await.unwrap_err();
    assert_eq!(huge.to_string(), "status 400: Bad Request");
}

#[test]
fn excerpts_cut_on_character_boundaries() {
    assert_eq!(excerpt("short", 10), "short");
    let cut = excerpt("ééééé", 2);
    assert!(cut.starts_with("éé… ("), "{cut}");
    assert!(cut.contains("6 more bytes"), "{cut}");
}
