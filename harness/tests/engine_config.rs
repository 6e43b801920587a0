//! The `config` path and the client it builds, through a real OpenBao: write/read/delete, the
//! token never shown, host validation and normalisation, connectivity warnings, the new settings,
//! and a config change taking effect at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use harness::launch::Backend;
use harness::scenario::{Scenario, fixture, ids};
use serde_json::{Value, json};

/// Every key of a config read, with the token absent or masked.
fn assert_no_token(scenario: &Scenario, body: &Value) {
    let text = body.to_string();
    assert!(
        !text.contains(&scenario.connect.token),
        "config read shows the Connect token: {text}"
    );
}

#[tokio::test]
async fn read_before_any_write_is_404() {
    let s = Scenario::unconfigured().await;
    let read = s.read("config").await;
    assert_eq!(read.status, 404, "{:?}", read.body);
    assert_eq!(
        s.connect_requests().await,
        0,
        "a config read must not call Connect"
    );
}

#[tokio::test]
async fn write_then_read_never_returns_the_token() {
    let s = Scenario::unconfigured().await;
    let written = s.configure(json!({"op_vault": "Shared"})).await;
    assert!(written.is_success(), "{:?}", written.body);
    assert_no_token(&s, &written.body);

    let read = s.read("config").await;
    let data = s.expect_data(&read);
    assert_eq!(data["op_connect_host"], json!(s.connect.url));
    assert_eq!(data["op_vault"], json!("Shared"));
    assert_no_token(&s, &read.body);
    // The reference returned the token in clear (§14.1); ours must not, but still tells whether
    // one is set if it says anything about it.
    if let Some(token) = data.get("op_connect_token") {
        assert_ne!(token, &json!(s.connect.token));
    }
}

#[tokio::test]
async fn writes_merge_with_the_stored_config() {
    let s = Scenario::new().await;
    let written = s.write("config", &json!({"op_vault": "Other Vault"})).await;
    assert!(written.is_success(), "{:?}", written.body);
    let data = s.expect_data(&s.read("config").await);
    assert_eq!(data["op_connect_host"], json!(s.connect.url));
    assert_eq!(data["op_vault"], json!("Other Vault"));
    // The token was kept: items still read.
    let item = s.read(&format!("vaults/{}/items/{}", ids::A, ids::X)).await;
    assert_eq!(item.status, 200, "{:?}", item.body);
}

#[tokio::test]
async fn delete_removes_the_config() {
    let s = Scenario::new().await;
    let deleted = s.delete("config").await;
    assert!(
        deleted.is_success(),
        "{} {:?}",
        deleted.status,
        deleted.body
    );
    assert_eq!(s.read("config").await.status, 404);
    // Without a config the engine answers a clear client error instead of calling Connect.
    s.connect.clear_journal().await;
    let item = s.read(&format!("vaults/{}/items/{}", ids::A, ids::X)).await;
    assert!(
        (400..500).contains(&item.status),
        "{} {:?}",
        item.status,
        item.body
    );
    assert!(
        item.errors.join(" ").to_lowercase().contains("config"),
        "{:?}",
        item.errors
    );
    assert_eq!(s.connect_requests().await, 0);
}

#[tokio::test]
async fn host_without_scheme_is_rejected_naming_the_field() {
    let s = Scenario::unconfigured().await;
    let written = s
        .write(
            "config",
            &json!({"op_connect_host": "localhost:8080", "op_connect_token": "t"}),
        )
        .await;
    s.expect_error(&written, 400, &["op_connect_host"]);
    assert_eq!(s.read("config").await.status, 404, "nothing may be stored");
}

#[tokio::test]
async fn plain_http_to_a_remote_host_warns() {
    let s = Scenario::unconfigured().await;
    // 0.0.0.0 is not a loopback address, yet traffic to it never leaves the machine.
    let written = s
        .configure(json!({"op_connect_host": "http://0.0.0.0:1"}))
        .await;
    assert!(
        written.is_success(),
        "{} {:?}",
        written.status,
        written.body
    );
    let warnings = written.warnings.join(" | ").to_lowercase();
    assert!(warnings.contains("http"), "{warnings}");
    assert!(
        warnings.contains("unencrypted") || warnings.contains("https"),
        "{warnings}"
    );
}

#[tokio::test]
async fn loopback_http_does_not_warn() {
    let s = Scenario::unconfigured().await;
    if s.env.backend() == Backend::Container {
        // There the engine reaches Connect by the mock's container name: not loopback, so the
        // plain-HTTP warning is due (plain_http_to_a_remote_host_warns covers it).
        return test_support::skip(
            "loopback_http_does_not_warn",
            "process backend only (on containers Connect is not on loopback)",
        );
    }
    let written = s.configure(json!({})).await;
    assert!(written.is_success(), "{:?}", written.body);
    assert!(
        written.warnings.is_empty(),
        "no warning expected for a reachable loopback Connect: {:?}",
        written.warnings
    );
}

#[tokio::test]
async fn unreachable_host_is_stored_with_a_warning() {
    let s = Scenario::unconfigured().await;
    let written = s
        .configure(json!({"op_connect_host": "http://127.0.0.1:1"}))
        .await;
    assert!(
        written.is_success(),
        "{} {:?}",
        written.status,
        written.body
    );
    let warnings = written.warnings.join(" | ");
    assert!(warnings.contains("127.0.0.1:1"), "{warnings:?}");
    assert!(!warnings.contains(&s.connect.token));
    let data = s.expect_data(&s.read("config").await);
    assert_eq!(data["op_connect_host"], json!("http://127.0.0.1:1"));
}

#[tokio::test]
async fn new_settings_round_trip() {
    let s = Scenario::unconfigured().await;
    let written = s
        .configure(json!({
            "request_timeout": "3s",
            "max_retries": 1,
            "item_cache_ttl": "2s",
        }))
        .await;
    assert!(written.is_success(), "{:?}", written.body);
    let data = s.expect_data(&s.read("config").await);
    assert_eq!(data["max_retries"], json!(1), "{data}");
    assert!(
        data["request_timeout"] == json!(3) || data["request_timeout"] == json!("3s"),
        "{data}"
    );
    assert!(
        data["item_cache_ttl"] == json!(2) || data["item_cache_ttl"] == json!("2s"),
        "{data}"
    );
}

#[tokio::test]
async fn out_of_range_settings_are_rejected_naming_the_field() {
    let s = Scenario::new().await;
    for (field, value) in [
        ("max_retries", json!(1000)),
        ("max_retries", json!("many")),
        ("request_timeout", json!("forever")),
        ("item_cache_ttl", json!("-5s")),
    ] {
        let written = s.configure(json!({ field: value })).await;
        s.expect_error(&written, 400, &[field]);
    }
}

#[tokio::test]
async fn custom_ca_is_validated() {
    let s = Scenario::new().await;
    let bad = s
        .configure(json!({"ca_certificate": "-----BEGIN CERTIFICATE-----\nnot base64\n"}))
        .await;
    s.expect_error(&bad, 400, &["ca_certificate"]);

    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["connect.test".to_string()]).unwrap();
    let pem = params.self_signed(&key).unwrap().pem();
    let good = s.configure(json!({"ca_certificate": pem})).await;
    assert!(good.is_success(), "{} {:?}", good.status, good.body);
    // The CA never comes back as a secret, but the engine keeps working over plain http.
    let item = s.read(&format!("vaults/{}/items/{}", ids::A, ids::X)).await;
    assert_eq!(item.status, 200, "{:?}", item.body);
}

#[tokio::test]
async fn host_change_takes_effect_immediately() {
    let s = Scenario::new().await;
    let first = s.read(&format!("vaults/{}/items/{}", ids::A, ids::X)).await;
    assert_eq!(first.status, 200, "{:?}", first.body);

    // A second Connect with the same fixture but one changed value.
    let mut other_fixture = fixture();
    other_fixture["vaults"][1]["items"][1]["fields"][0]["value"] = json!("other-admin");
    let other = s
        .env
        .connect(other_fixture, "second-connect-token-XYZ")
        .await;
    let written = s
        .write(
            "config",
            &json!({"op_connect_host": other.url, "op_connect_token": other.token}),
        )
        .await;
    assert!(written.is_success(), "{:?}", written.body);

    s.connect.clear_journal().await;
    other.clear_journal().await;
    let second = s.read(&format!("vaults/{}/items/{}", ids::A, ids::X)).await;
    let data = s.expect_data(&second);
    assert_eq!(data["username"], json!("other-admin"));
    assert_eq!(
        s.connect_requests().await,
        0,
        "the old host must not be used"
    );
    // The new config starts with cold listings: the vaults and the vault's items, then the item.
    assert_eq!(
        other.journal_lines().await,
        vec![
            "GET /v1/vaults".to_owned(),
            format!("GET /v1/vaults/{}/items", ids::A),
            format!("GET /v1/vaults/{}/items/{}", ids::A, ids::X),
        ]
    );
}

#[tokio::test]
async fn token_change_takes_effect_immediately() {
    let s = Scenario::new().await;
    let ok = s.read(&format!("vaults/{}/items/{}", ids::A, ids::X)).await;
    assert_eq!(ok.status, 200);
    let written = s
        .write(
            "config",
            &json!({"op_connect_token": "not-the-right-token"}),
        )
        .await;
    assert!(written.is_success(), "{:?}", written.body);
    let rejected = s.read(&format!("vaults/{}/items/{}", ids::A, ids::X)).await;
    s.expect_error(&rejected, 502, &["token"]);
    assert!(
        !rejected.errors.join(" ").contains("not-the-right-token"),
        "{:?}",
        rejected.errors
    );
}

#[tokio::test]
async fn cli_flow_of_the_guide() {
    // The guide's config commands, as written, with the CLI (`vault` spelled `bao`) where the
    // server runs (inside the OpenBao container on the container backend).
    let s = Scenario::unconfigured().await;
    let config = s.path("config");
    let host_arg = format!("op_connect_host={}", s.connect.url);
    let token_arg = format!("op_connect_token={}", s.connect.token);
    s.bao(&["write", &config, &host_arg, &token_arg]).await.ok();

    let file = s.cli_file(
        "op-connect-config.json",
        json!({"op_connect_host": format!("{}/", s.connect.url), "op_connect_token": s.connect.token})
            .to_string()
            .as_bytes(),
    );
    s.bao(&["write", &config, &format!("@{file}")]).await.ok();

    let listed = s.bao(&["list", &s.path("vaults")]).await;
    let stdout = listed.ok();
    assert!(
        stdout.contains(ids::A) && stdout.contains("Other Vault"),
        "{stdout}"
    );

    let read = s.bao(&["read", "-format=json", &config]).await.json();
    assert!(!read.to_string().contains(&s.connect.token), "{read}");

    let field = s
        .bao(&["read", "-field=username", &s.path("vaults/Shared/items/db")])
        .await;
    assert_eq!(field.ok().trim(), "admin");
}

#[tokio::test]
async fn health_reports_connect_reachability() {
    let s = Scenario::new().await;
    let health = s.read("health").await;
    let data = s.expect_data(&health);
    assert!(!data.to_string().contains(&s.connect.token));
    assert!(
        s.connect
            .journal()
            .await
            .iter()
            .any(|e| e.path == "/heartbeat" || e.path == "/health"),
        "health must ask Connect"
    );

    let down = Scenario::unconfigured().await;
    let written = down
        .configure(json!({"op_connect_host": "http://127.0.0.1:1"}))
        .await;
    assert!(written.is_success());
    let health = down.read("health").await;
    assert!(
        health.status >= 500 || health.body.to_string().contains("127.0.0.1:1"),
        "an unreachable Connect must show in health: {} {:?}",
        health.status,
        health.body
    );
}

#[tokio::test]
async fn one_process_serves_every_mount() {
    // Reference: `Serve`, one process per mount (§14.14). The engine multiplexes.
    let a = Scenario::new().await;
    let b = Scenario::new().await;
    let c = Scenario::new().await;
    for s in [&a, &b, &c] {
        assert_eq!(
            s.read(&format!("vaults/{}/items/{}", ids::A, ids::X))
                .await
                .status,
            200
        );
    }
    let processes = a.env.stack.bao.plugin_processes();
    assert_eq!(processes.len(), 1, "engine processes: {processes:?}");
}

#[tokio::test]
async fn config_survives_a_plugin_reload() {
    let s = Scenario::new().await;
    let reloaded = s
        .client
        .write(
            "sys/plugins/reload/backend",
            &json!({"mounts": [format!("{}/", s.mount)]}),
        )
        .await
        .unwrap();
    assert!(reloaded.is_success(), "{:?}", reloaded.body);
    let read = s.read(&format!("vaults/{}/items/{}", ids::A, ids::X)).await;
    assert_eq!(read.get("username"), &json!("admin"), "{:?}", read.body);
    let config = s.expect_data(&s.read("config").await);
    assert_eq!(config["op_connect_host"], json!(s.connect.url));
}

#[tokio::test]
async fn no_read_uses_the_old_host_once_a_config_write_returned() {
    // §5.3's race: a read that builds a client from the old config while a write is under way
    // must not leave that client cached.
    let s = Scenario::new().await;
    let path = format!("vaults/{}/items/{}", ids::A, ids::X);
    let mut current = s.env.connect(fixture(), "rotating-token-0").await;
    for round in 1..=4 {
        let next = s
            .env
            .connect(fixture(), &format!("rotating-token-{round}"))
            .await;
        let reads = futures::future::join_all((0..8).map(|_| s.read(&path)));
        let body = json!({"op_connect_host": next.url, "op_connect_token": next.token});
        let write = s.write("config", &body);
        let (_, written) = tokio::join!(reads, write);
        assert!(written.is_success(), "{:?}", written.body);
        current.clear_journal().await;
        s.connect.clear_journal().await;
        for _ in 0..4 {
            assert_eq!(s.read(&path).await.status, 200);
        }
        assert!(
            current.journal().await.is_empty() && s.connect.journal().await.is_empty(),
            "round {round}: a read went to a replaced Connect"
        );
        // The 4 reads and the write's heartbeat, plus any concurrent read that ran after the
        // config was stored.
        assert!(next.journal().await.len() >= 5, "round {round}");
        current = next;
    }
}

/// A TLS front for `backend` (a plain-HTTP mock) with a certificate for `localhost` signed by a
/// fresh private CA; returns the port and the CA's PEM. The proxy lives on the test's runtime.
async fn tls_front(backend: &str) -> (u16, String) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let backend = backend.trim_start_matches("http://").to_string();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let backend = backend.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(socket).await else {
                    return;
                };
                let Ok(mut plain) = tokio::net::TcpStream::connect(&backend).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    (port, ca.pem())
}

#[tokio::test]
async fn custom_ca_is_trusted_for_https_connect() {
    let s = Scenario::unconfigured().await;
    if s.env.backend() == Backend::Container {
        // The TLS front is a proxy in this test process on the host's loopback, which an engine
        // inside a container cannot reach; this scenario runs on the process backend only.
        return test_support::skip(
            "custom_ca_is_trusted_for_https_connect",
            "process backend only (its TLS front listens on the host's loopback)",
        );
    }
    let (port, ca_pem) = tls_front(&s.connect.url).await;
    let host = format!("https://localhost:{port}");
    let path = format!("vaults/{}/items/{}", ids::A, ids::X);

    // Without the CA the certificate is unknown: the write warns, reads fail as a bad gateway.
    let written = s
        .configure(json!({"op_connect_host": host, "max_retries": 0}))
        .await;
    assert!(written.is_success(), "{:?}", written.body);
    assert!(
        written
            .warnings
            .join(" ")
            .contains(&format!("localhost:{port}")),
        "{:?}",
        written.warnings
    );
    s.expect_error(&s.read(&path).await, 502, &[&format!("localhost:{port}")]);

    // With it, everything works over TLS.
    let written = s.configure(json!({"ca_certificate": ca_pem})).await;
    assert!(written.is_success(), "{:?}", written.body);
    assert!(written.warnings.is_empty(), "{:?}", written.warnings);
    let read = s.read(&path).await;
    assert_eq!(s.expect_data(&read)["username"], json!("admin"));
}
