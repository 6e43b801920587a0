//! A backend: the route table, dispatch, existence checks, help and lifecycle hooks.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use regex::Captures;
use serde_json::{Map, Value};

use super::error::Error;
use super::path::{HandlerResult, Path};
use super::request::{Operation, Request};
use super::response::Response;

type Hook<S> = Arc<dyn Fn(Arc<S>) -> BoxFuture<'static, Result<(), Error>> + Send + Sync>;
type CleanupHook<S> = Arc<dyn Fn(Arc<S>) -> BoxFuture<'static, ()> + Send + Sync>;
type InvalidateHook<S> = Arc<dyn Fn(&S, &str) + Send + Sync>;
type ResolveHook<S> =
    Arc<dyn Fn(Arc<S>, Request) -> BoxFuture<'static, Result<Option<String>, Error>> + Send + Sync>;
type DeadlineHook<S> = Arc<dyn Fn(&S) -> Duration + Send + Sync>;

/// Paths with special treatment by the host (see Vault's `logical.Paths`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpecialPaths {
    /// Paths that need `sudo` capability (exact, or prefix with a trailing `*`).
    pub root: Vec<String>,
    /// Paths readable without a token.
    pub unauthenticated: Vec<String>,
    /// Paths stored locally (not replicated).
    pub local_storage: Vec<String>,
    /// Paths whose storage is seal-wrapped.
    pub seal_wrap_storage: Vec<String>,
}

/// A mounted engine: shared state `S` plus routes and hooks. Build one per mount in the
/// factory given to [`crate::serve`].
pub struct Backend<S> {
    state: Arc<S>,
    paths: Vec<Path<S>>,
    help: String,
    special_paths: SpecialPaths,
    initialize: Option<Hook<S>>,
    cleanup: Option<CleanupHook<S>>,
    invalidate: Option<InvalidateHook<S>>,
    resolve_path: Option<ResolveHook<S>>,
    deadline: Option<DeadlineHook<S>>,
}

impl<S: Send + Sync + 'static> Backend<S> {
    /// A backend around the mount's shared state.
    pub fn new(state: Arc<S>) -> Self {
        Self {
            state,
            paths: Vec::new(),
            help: String::new(),
            special_paths: SpecialPaths::default(),
            initialize: None,
            cleanup: None,
            invalidate: None,
            resolve_path: None,
            deadline: None,
        }
    }

    /// Adds a route. Routes are tried in the order they were added; the first match wins.
    #[must_use]
    pub fn path(mut self, path: Path<S>) -> Self {
        self.paths.push(path);
        self
    }

    /// Help for the whole backend (answered for `?help=1` on the mount root).
    #[must_use]
    pub fn help(mut self, text: impl Into<String>) -> Self {
        self.help = text.into();
        self
    }

    /// Special paths (unauthenticated, root, …).
    #[must_use]
    pub fn special_paths(mut self, paths: SpecialPaths) -> Self {
        self.special_paths = paths;
        self
    }

    /// Runs after Setup, when storage is writable (on mount, reload and unseal). An error is
    /// returned to the host, which leaves a half-mounted backend: prefer logging and retrying
    /// lazily over failing.
    #[must_use]
    pub fn on_initialize<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(Arc<S>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Error>> + Send + 'static,
    {
        self.initialize = Some(Arc::new(move |state| Box::pin(hook(state))));
        self
    }

    /// Runs when the mount goes away (unmount, reload, seal); may run more than once.
    #[must_use]
    pub fn on_cleanup<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(Arc<S>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.cleanup = Some(Arc::new(move |state| Box::pin(hook(state))));
        self
    }

    /// Called with a storage key (relative to the mount) another node changed; drop caches.
    #[must_use]
    pub fn on_invalidate<F>(mut self, hook: F) -> Self
    where
        F: Fn(&S, &str) + Send + Sync + 'static,
    {
        self.invalidate = Some(Arc::new(hook));
        self
    }

    /// Maps a request path to its canonical path, for hosts that ask (OpenBao 2.7's
    /// `resolve-path` operation, sent before every routed request): the host then checks the
    /// caller's policies against the canonical path and routes the request there. The hook gets
    /// the request (path and storage; its body is not decoded) and answers `Some(canonical)`, or
    /// `None` to keep the path as sent; an error fails the whole request with that error.
    /// Without a hook every path is kept as sent.
    #[must_use]
    pub fn on_resolve_path<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(Arc<S>, Request) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Option<String>, Error>> + Send + 'static,
    {
        self.resolve_path = Some(Arc::new(move |state, req| Box::pin(hook(state, req))));
        self
    }

    /// Whether the backend canonicalises paths (has an [`Backend::on_resolve_path`] hook).
    pub fn resolves_paths(&self) -> bool {
        self.resolve_path.is_some()
    }

    /// How long one request may take in all (read from the state when the request arrives):
    /// past it the request ends with a 504, whatever its handler is waiting for.
    #[must_use]
    pub fn deadline<F>(mut self, hook: F) -> Self
    where
        F: Fn(&S) -> Duration + Send + Sync + 'static,
    {
        self.deadline = Some(Arc::new(hook));
        self
    }

    /// The shared state.
    pub fn state(&self) -> &Arc<S> {
        &self.state
    }

    /// The special paths.
    pub fn get_special_paths(&self) -> &SpecialPaths {
        &self.special_paths
    }

    /// Reports invalid route patterns (checked at Setup so a broken engine fails to mount).
    pub fn validate(&self) -> Result<(), Error> {
        for path in &self.paths {
            if let Err(why) = &path.regex {
                return Err(Error::internal(why.clone()));
            }
        }
        Ok(())
    }

    fn route<'s, 'p>(&'s self, path: &'p str) -> Option<(&'s Path<S>, Captures<'p>)> {
        self.paths.iter().find_map(|route| {
            let regex = route.regex.as_ref().ok()?;
            regex.captures(path).map(|caps| (route, caps))
        })
    }

    /// Dispatches a request: route match, field decoding, the operation's handler. A panic
    /// anywhere in it (binding and decoding included) becomes a 500 error, never a dropped
    /// stream.
    pub async fn handle(&self, mut req: Request) -> HandlerResult {
        let deadline = self.deadline.as_ref().map(|hook| hook(&self.state));
        match req.operation {
            // Resolving may ask upstream too: the same deadline bounds it.
            Operation::ResolvePath => {
                return match deadline {
                    None => self.resolve(req).await,
                    Some(limit) => tokio::time::timeout(limit, self.resolve(req))
                        .await
                        .map_err(|_| past_deadline(limit))?,
                };
            }
            Operation::Rollback => return Ok(None),
            Operation::Help => return Ok(Some(self.help_response(&req.path))),
            _ => {}
        }
        let run = guard(async move {
            let path = std::mem::take(&mut req.path);
            let (route, captures) = self.route(&path).ok_or(Error::UnsupportedPath)?;
            let handler = route
                .handler(req.operation)
                .ok_or(Error::UnsupportedOperation)?
                .clone();
            route.bind(&mut req, &captures, true)?;
            drop(captures);
            req.path = path;
            handler(req, self.state.clone()).await
        });
        match deadline {
            None => run.await?,
            Some(limit) => tokio::time::timeout(limit, run)
                .await
                .map_err(|_| past_deadline(limit))??,
        }
    }

    /// Runs the route's existence check: `Ok(None)` when the route has none (or the input
    /// does not decode, which the request itself then reports).
    pub async fn exists(&self, mut req: Request) -> Result<Option<bool>, Error> {
        guard(async move {
            let path = std::mem::take(&mut req.path);
            let (route, captures) = self.route(&path).ok_or(Error::UnsupportedPath)?;
            let Some(check) = route.existence.clone() else {
                return Ok(None);
            };
            if route.bind(&mut req, &captures, false).is_err() {
                return Ok(None);
            }
            drop(captures);
            req.path = path;
            check(req, self.state.clone()).await.map(Some)
        })
        .await?
    }

    /// Answers `resolve-path`: `{"path": canonical}`, or "unsupported path", which makes the
    /// host keep the path as sent.
    async fn resolve(&self, req: Request) -> HandlerResult {
        let Some(hook) = self.resolve_path.clone() else {
            return Err(Error::UnsupportedPath);
        };
        let state = self.state.clone();
        match guard(async move { hook(state, req).await }).await?? {
            Some(path) => {
                let mut data = Map::with_capacity(1);
                data.insert("path".into(), Value::String(path));
                Ok(Some(Response::with_data(data)))
            }
            None => Err(Error::UnsupportedPath),
        }
    }

    fn help_response(&self, path: &str) -> Response {
        let text = match self.route(path) {
            Some((route, _)) => route.help(),
            None => self.help.clone(),
        };
        let mut data = Map::with_capacity(1);
        data.insert("help".into(), Value::String(text));
        Response::with_data(data)
    }

    pub(crate) async fn initialize(&self) -> Result<(), Error> {
        match &self.initialize {
            Some(hook) => guard(hook(self.state.clone())).await?,
            None => Ok(()),
        }
    }

    pub(crate) async fn cleanup(&self) {
        if let Some(hook) = &self.cleanup {
            let _ = guard(hook(self.state.clone())).await;
        }
    }

    pub(crate) fn invalidate(&self, key: &str) {
        if let Some(hook) = &self.invalidate {
            let hook = AssertUnwindSafe(|| hook(&self.state, key));
            if std::panic::catch_unwind(hook).is_err() {
                tracing::error!(key, "invalidate hook panicked");
            }
        }
    }
}

/// `12s`, `1.5s`: a duration as people read it.
fn seconds(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{:.1}s", duration.as_secs_f64())
    }
}

/// The error of a request that ran past its deadline.
fn past_deadline(limit: Duration) -> Error {
    Error::upstream(
        504,
        format!(
            "the request did not complete within its deadline of {}",
            seconds(limit)
        ),
    )
}

/// Turns a panic inside `fut` into a 500 error.
async fn guard<T>(fut: impl Future<Output = T>) -> Result<T, Error> {
    AssertUnwindSafe(fut).catch_unwind().await.map_err(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        tracing::error!(panic = %what, "handler panicked");
        Error::internal("internal error: the request handler failed unexpectedly")
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::framework::field::Field;
    use crate::storage::InMemoryStorage;
    use serde_json::json;

    struct State {
        prefix: String,
    }

    fn backend() -> Backend<State> {
        Backend::new(Arc::new(State {
            prefix: "p:".into(),
        }))
        .path(
            Path::new("items/(?P<name>[a-z]+)")
                .field(Field::string("name"))
                .field(Field::int("count").default(json!(1)))
                .field(Field::bool("flag").required())
                .read(|req: Request, state: Arc<State>| async move {
                    let mut data = Map::new();
                    let name = req.get_str("name").unwrap_or_default();
                    data.insert("name".into(), json!(format!("{}{name}", state.prefix)));
                    data.insert("count".into(), json!(req.get_int("count")));
                    data.insert("has_count".into(), json!(req.has("count")));
                    Ok(Some(Response::with_data(data)))
                })
                .update(|_, _| async { Ok(None) })
                .exists(|req: Request, _| async move { Ok(req.get_str("name") == Some("old")) }),
        )
        .path(Path::new("boom").read(|_, _| async { panic!("kaboom") }))
    }

    fn request(op: Operation, path: &str, data: Value) -> Request {
        let Value::Object(data) = data else {
            panic!("object expected")
        };
        Request::new(op, path, data, Arc::new(InMemoryStorage::new()))
    }

    #[tokio::test]
    async fn dispatch_decodes_fields_with_defaults_and_captures() {
        let b = backend();
        let resp = b
            .handle(request(
                Operation::Read,
                "items/abc",
                json!({"name": "ignored"}),
            ))
            .await
            .unwrap()
            .unwrap();
        let data = resp.data.unwrap();
        assert_eq!(data["name"], json!("p:abc"));
        assert_eq!(data["count"], json!(1));
        assert_eq!(data["has_count"], json!(false));
        let resp = b
            .handle(request(Operation::Read, "items/abc", json!({"count": "5"})))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(resp.data.unwrap()["count"], json!(5));
    }

    #[tokio::test]
    async fn errors_for_bad_input_paths_and_operations() {
        let b = backend();
        let bad = b
            .handle(request(Operation::Read, "items/abc", json!({"count": "x"})))
            .await
            .unwrap_err();
        assert_eq!(bad.http_status(), 400);
        let missing = b
            .handle(request(Operation::Update, "items/abc", json!({})))
            .await
            .unwrap_err();
        assert_eq!(missing.http_status(), 400);
        assert!(missing.to_string().contains("flag"));
        assert_eq!(
            b.handle(request(Operation::Read, "nope", json!({})))
                .await
                .unwrap_err(),
            Error::UnsupportedPath
        );
        assert_eq!(
            b.handle(request(Operation::Delete, "items/abc", json!({})))
                .await
                .unwrap_err(),
            Error::UnsupportedOperation
        );
        assert_eq!(
            b.handle(request(Operation::ResolvePath, "items/abc", json!({})))
                .await
                .unwrap_err(),
            Error::UnsupportedPath
        );
        assert_eq!(
            b.handle(request(Operation::Rollback, "", json!({})))
                .await
                .unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn a_resolve_hook_answers_canonical_paths() {
        let b = backend().on_resolve_path(|state: Arc<State>, req: Request| async move {
            match req.path.strip_prefix("alias/") {
                Some("boom") => panic!("kaboom"),
                Some("gone") => Err(Error::not_found("no such alias")),
                Some(name) => Ok(Some(format!("items/{}{name}", state.prefix.len()))),
                None => Ok(None),
            }
        });
        assert!(b.resolves_paths());
        assert!(!backend().resolves_paths());
        let resolve = |path: &str| b.handle(request(Operation::ResolvePath, path, json!({})));
        let canonical = resolve("alias/abc").await.unwrap().unwrap();
        assert_eq!(canonical.data.unwrap()["path"], json!("items/2abc"));
        assert_eq!(
            resolve("items/abc").await.unwrap_err(),
            Error::UnsupportedPath
        );
        assert_eq!(resolve("alias/gone").await.unwrap_err().http_status(), 404);
        assert_eq!(resolve("alias/boom").await.unwrap_err().http_status(), 500);

        let slow = backend()
            .on_resolve_path(|_: Arc<State>, _: Request| async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok(None)
            })
            .deadline(|_| Duration::from_millis(50));
        let late = slow
            .handle(request(Operation::ResolvePath, "alias/x", json!({})))
            .await
            .unwrap_err();
        assert_eq!(late.http_status(), 504, "{late}");
    }

    #[tokio::test]
    async fn a_request_past_its_deadline_is_504() {
        let b = Backend::new(Arc::new(State { prefix: "p".into() }))
            .path(Path::new("slow").read(|_, _| async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok(None)
            }))
            .path(Path::new("quick").read(|_, _| async { Ok(None) }))
            .deadline(|_| Duration::from_millis(50));
        let storage: Arc<dyn crate::storage::Storage> = Arc::new(InMemoryStorage::new());
        let slow = b
            .handle(Request::new(
                Operation::Read,
                "slow",
                Map::new(),
                storage.clone(),
            ))
            .await
            .unwrap_err();
        assert_eq!(slow.http_status(), 504);
        assert!(slow.to_string().contains("deadline"), "{slow}");
        let quick = b
            .handle(Request::new(Operation::Read, "quick", Map::new(), storage))
            .await;
        assert!(quick.is_ok());
    }

    #[tokio::test]
    async fn panics_become_internal_errors() {
        let err = backend()
            .handle(request(Operation::Read, "boom", json!({})))
            .await
            .unwrap_err();
        assert_eq!(err.http_status(), 500);
    }

    #[tokio::test]
    async fn existence_checks_and_help() {
        let b = backend();
        assert_eq!(
            b.exists(request(Operation::Update, "items/old", json!({})))
                .await
                .unwrap(),
            Some(true)
        );
        assert_eq!(
            b.exists(request(Operation::Update, "items/new", json!({})))
                .await
                .unwrap(),
            Some(false)
        );
        assert_eq!(
            b.exists(request(Operation::Update, "boom", json!({})))
                .await
                .unwrap(),
            None
        );
        let help = b
            .handle(request(Operation::Help, "items/abc", json!({})))
            .await
            .unwrap()
            .unwrap();
        let text = help.data.unwrap()["help"].as_str().unwrap().to_owned();
        assert!(text.contains("count"), "{text}");
    }
}
