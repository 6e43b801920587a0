//! The foundation works end to end: a real OpenBao starts, serves its builtin kv engine, and
//! leaves no process behind.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use harness::launch::process::OpenBao;
use serde_json::json;

#[tokio::test]
async fn kv_write_then_read_through_real_openbao() {
    let bao = OpenBao::start().await.expect("OpenBao starts");
    let client = bao.client();

    let written = client
        .write("secret/data/smoke", &json!({"data": {"answer": "42"}}))
        .await
        .unwrap();
    assert_eq!(written.status, 200, "{:?}\n{}", written.body, bao.log());
    assert_eq!(written.get("version"), &json!(1));

    let read = client.read("secret/data/smoke").await.unwrap();
    assert_eq!(read.status, 200);
    assert_eq!(read.get("data"), &json!({"answer": "42"}));

    let missing = client.read("secret/data/nope").await.unwrap();
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn cli_is_pointed_at_the_server() {
    let bao = OpenBao::start().await.expect("OpenBao starts");
    let out = bao
        .cli()
        .args(["kv", "put", "-mount=secret", "cli", "k=v"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = bao
        .cli()
        .args(["kv", "get", "-mount=secret", "-field=k", "cli"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "v");
}

#[tokio::test]
async fn two_servers_side_by_side_and_stopped_on_drop() {
    let (a, b) = tokio::join!(OpenBao::start(), OpenBao::start());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_ne!(a.addr(), b.addr());
    a.client()
        .write("secret/data/only-a", &json!({"data": {"x": "1"}}))
        .await
        .unwrap();
    assert_eq!(
        b.client().read("secret/data/only-a").await.unwrap().status,
        404
    );

    let pids = [a.pid(), b.pid()];
    drop(a);
    drop(b);
    for pid in pids {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "bao server {pid} is still running after drop"
        );
    }
}

#[tokio::test]
async fn unauthenticated_requests_are_refused() {
    let bao = OpenBao::start().await.expect("OpenBao starts");
    let anonymous = bao.client().with_token(None);
    let read = anonymous.read("secret/data/x").await.unwrap();
    assert_eq!(read.status, 403);
    assert!(!read.errors.is_empty());
}
