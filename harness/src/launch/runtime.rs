//! The harness's background runtime.
//!
//! Each `#[tokio::test]` has its own runtime that dies with the test, so anything that must
//! outlive one test (a shared server's launch, in-process mocks) runs here instead: a small
//! multi-threaded runtime that lives as long as the process.

use std::sync::OnceLock;

/// The runtime (never shut down).
pub fn background() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        #[allow(clippy::expect_used, reason = "start-up: no runtime, no harness")]
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("harness-bg")
            .enable_all()
            .build()
            .expect("building the harness runtime")
    })
}

/// Runs `future` on the background runtime and waits for it from any runtime; a panic in it
/// resumes in the caller.
pub async fn on_background<F>(future: F) -> F::Output
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    match background().spawn(future).await {
        Ok(output) => output,
        Err(join) => std::panic::resume_unwind(join.into_panic()),
    }
}
