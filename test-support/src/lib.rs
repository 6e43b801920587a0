//! Dev-only helpers shared by the tests of every crate in the workspace.
//!
//! One rule decides what a test does when something it needs lives outside the repository (the
//! official Connect OpenAPI file, Docker, PyPI…): under CI ([`in_ci`]) the test fails and says
//! what to provide; anywhere else it is skipped, and the skip is printed where `cargo test` shows
//! it without `--nocapture`.
//!
//! This crate is only ever a `[dev-dependencies]` entry, so `plugin-sdk` and `connect` keep their
//! promise of depending on no crate of ours at run time.

use std::fmt::Display;
use std::io::Write as _;
use std::path::PathBuf;

/// True under CI (`CI=true` or `CI=1`, as set by `.ci/run` and by hosted CI services): a missing
/// prerequisite is then a failure, never a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Hands `found` back when the prerequisite is there. When it is missing: under CI, panics with
/// `what` is missing and how to `provide` it; elsewhere reports the skip of `test` (see [`skip`])
/// and returns `None`, so the test returns early.
pub fn require<T>(
    test: &str,
    found: Option<T>,
    what: impl Display,
    provide: impl Display,
) -> Option<T> {
    if found.is_none() {
        missing(test, what, provide);
    }
    found
}

/// The one place a missing prerequisite is handled: a panic under CI, a visible skip elsewhere.
pub fn missing(test: &str, what: impl Display, provide: impl Display) {
    if in_ci() {
        panic!("{test}: {what}; under CI this is required: {provide}");
    }
    skip(test, format!("{what} ({provide})"));
}

/// Reports that `test` was skipped and why.
///
/// libtest captures what `print!`/`eprint!` write from a test and shows it only for failures, so
/// a skip reported that way would be invisible. The line is written to the process's standard
/// error handle directly, which the capture does not intercept: it shows up in plain
/// `cargo test` output, between the `test … ok` lines.
pub fn skip(test: &str, why: impl Display) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "SKIPPED {test}: {why}");
    let _ = stderr.flush();
}

/// Prints a figure a test measured (a soak's request count, memory…) where plain `cargo test`
/// shows it, like [`skip`] does.
pub fn report(line: impl Display) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "REPORT {line}");
    let _ = stderr.flush();
}

/// Environment variable naming the official Connect OpenAPI file.
pub const OPENAPI_SPEC_ENV: &str = "CONNECT_OPENAPI_SPEC";

/// The official 1Password Connect OpenAPI file, which is not part of the repository: the path in
/// [`OPENAPI_SPEC_ENV`] if set, else `../shared/connect-openapi/spec.yaml` beside the workspace
/// when that exists. Under CI a missing file panics with what to set; elsewhere `test` is
/// reported skipped and `None` comes back.
pub fn openapi_spec(test: &str) -> Option<PathBuf> {
    let found = match std::env::var_os(OPENAPI_SPEC_ENV) {
        // An explicit path that does not exist is a mistake, never a reason to skip.
        Some(path) => {
            let path = PathBuf::from(path);
            assert!(
                path.is_file(),
                "{OPENAPI_SPEC_ENV}={} is not a file",
                path.display()
            );
            Some(path)
        }
        None => Some(workspace_root().join("../shared/connect-openapi/spec.yaml"))
            .filter(|path| path.is_file()),
    };
    require(
        test,
        found,
        "the official Connect OpenAPI file is not available",
        format_args!(
            "set {OPENAPI_SPEC_ENV} to 1Password's Connect spec (openapi/spec.yaml of \
             1Password/connect), or put it at ../shared/connect-openapi/spec.yaml beside the \
             repository"
        ),
    )
}

/// The workspace root (the directory holding the top-level `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// How many cases a property test runs, given the count CI runs (`in_ci`): `PROPTEST_CASES`
/// when set, else `ci_cases` under CI, else [`DEEP_CASES_FACTOR`] times as many — a developer's
/// `cargo test` searches deeper than CI's time budget allows.
pub fn proptest_cases(ci_cases: u32) -> u32 {
    if let Some(cases) = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
    {
        return cases;
    }
    if in_ci() {
        ci_cases
    } else {
        ci_cases.saturating_mul(DEEP_CASES_FACTOR)
    }
}

/// How many times CI's case count a property test runs outside CI.
pub const DEEP_CASES_FACTOR: u32 = 4;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workspace_root_holds_the_workspace_manifest() {
        let manifest = std::fs::read_to_string(workspace_root().join("Cargo.toml")).unwrap();
        assert!(manifest.contains("[workspace]"));
    }

    #[test]
    fn a_present_prerequisite_is_handed_back() {
        assert_eq!(require("t", Some(7), "x", "y"), Some(7));
    }
}
