//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) and every input that once made a
//! target fail (`fuzz/regressions/<target>/`) through the same code the fuzz targets run, so a
//! regression shows in every test run on stable Rust, not only when someone fuzzes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../fuzz/src/entries.rs"]
mod entries;

use std::path::{Path, PathBuf};

fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz")
        .join(kind)
        .join(target);
    match std::fs::read_dir(&dir) {
        Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    }
}

fn replay(target: &str, run: fn(&[u8])) {
    let corpus = inputs("corpus", target);
    assert!(
        corpus.len() >= 10,
        "fuzz/corpus/{target} holds {} inputs; the committed corpus is missing",
        corpus.len()
    );
    for path in corpus.iter().chain(&inputs("regressions", target)) {
        let data = std::fs::read(path).unwrap();
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(outcome.is_ok(), "{} panics", path.display());
    }
}

#[test]
fn item_body_corpus() {
    replay("item_body", entries::item_body);
}

#[test]
fn field_decode_corpus() {
    replay("field_decode", entries::field_decode);
}

#[test]
fn path_match_corpus() {
    replay("path_match", entries::path_match);
}
