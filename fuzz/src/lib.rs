//! The fuzz targets' bodies, shared with `plugin/tests/fuzz_corpus.rs`, which replays the
//! committed corpus on stable Rust in every test run.
#[path = "entries.rs"]
pub mod entries;
