//! Test controls: the request journal and fault injection.
//!
//! Both live under the `/__admin` prefix, never under `/v1`, and admin requests are neither
//! journalled nor subject to faults.
//!
//! # Fault JSON (`POST /__admin/faults`, or `--fault` as JSON)
//!
//! ```json
//! {"route": "GET /v1/vaults/{vault}/items/{item}", "latency_ms": 200, "status": 503,
//!  "body": {"status": 503, "message": "busy"}, "malformed": false, "drop": false, "times": 2}
//! ```
//!
//! - `route` (required): an optional method (`GET`, `POST`, … or `*`) and a path pattern. Pattern
//!   segments are literal, `{name}` or `*` (exactly one segment) or a final `**` (any rest,
//!   including nothing): `/v1/vaults/**` covers everything under the vaults. Paths are matched
//!   after normalisation (doubled and trailing slashes removed).
//! - `latency_ms`: delay before answering (the real handler still answers unless another action
//!   is set).
//! - `status`: answer with this status instead of calling the handler; the body is `body`
//!   (any JSON value; a JSON string is sent verbatim as `text/plain`, to imitate non-JSON
//!   errors) or the Connect error shape `{"status": N, "message": "injected fault"}`.
//! - `malformed`: answer with a truncated JSON body (status `status`, default 200).
//! - `drop`: close the connection without any response.
//! - `body_bytes`: answer with status `status` (default 200) and a generated body of this many
//!   bytes, streamed in chunks without a `Content-Length` and never held in memory: a JSON text
//!   `{"status": N, "message": "xxx…` that never ends, to imitate a hostile or broken upstream
//!   (e.g. `{"route": "GET /v1/vaults/*/items/*", "body_bytes": 1073741824}`).
//! - `times`: apply to this many matching requests only, then disappear (default: forever).
//!
//! The first matching fault applies. `--fault` also accepts a compact form:
//! `ROUTE;key=value;…`, e.g. `GET /v1/vaults/*/items/*;status=500;times=1` or
//! `/v1/**;latency_ms=50`. At most [`MAX_FAULTS`] faults are in force at once.
//!
//! # Who may use `/__admin` ([`AdminGate`])
//!
//! The admin routes can rewrite every answer the mock gives, so they are open only where nobody
//! else can reach them: with an admin token configured, every admin request must carry it as
//! `Authorization: Bearer <admin token>`; without one, they are open on a loopback address and
//! closed (403) on any other (a container's `0.0.0.0` included).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError, RwLock};

use http::Method;
use serde::{Deserialize, Serialize};

/// Default number of requests the journal keeps.
pub const DEFAULT_JOURNAL_CAPACITY: usize = 10_000;

/// Most faults in force at once: a bound on what admin callers can make the mock hold and scan
/// on every request.
pub const MAX_FAULTS: usize = 256;

/// Who may use the `/__admin` routes (see the module docs).
#[derive(Clone, PartialEq, Eq)]
pub enum AdminGate {
    /// No token; the mock listens on loopback only.
    Open,
    /// Every admin request must carry this bearer token.
    Token(String),
    /// No token, and the mock listens beyond loopback: admin routes are refused.
    Closed,
}

impl std::fmt::Debug for AdminGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token is a credential: never print it.
        f.write_str(match self {
            Self::Open => "Open",
            Self::Token(_) => "Token(..)",
            Self::Closed => "Closed",
        })
    }
}

/// Why an admin request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AdminDenied {
    /// No bearer token, or not the admin token.
    #[error("/__admin requires the admin token as 'Authorization: Bearer <token>'")]
    BadToken,
    /// Admin routes are closed on this listener.
    #[error(
        "/__admin is disabled: this mock listens beyond loopback without an admin token \
         (start it with --admin-token or MOCK_CONNECT_ADMIN_TOKEN)"
    )]
    Closed,
}

impl AdminGate {
    /// The gate for a mock listening on `addr`, with or without an admin token (an empty token
    /// counts as none).
    pub fn for_listener(addr: SocketAddr, token: Option<String>) -> Self {
        match token.filter(|t| !t.is_empty()) {
            Some(token) => Self::Token(token),
            None if addr.ip().is_loopback() => Self::Open,
            None => Self::Closed,
        }
    }

    /// Checks an admin request's `Authorization` header.
    pub fn check(&self, authorization: Option<&[u8]>) -> Result<(), AdminDenied> {
        match self {
            Self::Open => Ok(()),
            Self::Closed => Err(AdminDenied::Closed),
            Self::Token(token) => {
                let given = authorization
                    .and_then(|h| h.strip_prefix(b"Bearer "))
                    .ok_or(AdminDenied::BadToken)?;
                if constant_time_eq(given, token.as_bytes()) {
                    Ok(())
                } else {
                    Err(AdminDenied::BadToken)
                }
            }
        }
    }
}

/// Equality whose time does not depend on where two equally long values first differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// One request seen by the API (admin requests are not recorded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// HTTP method, e.g. `GET`.
    pub method: String,
    /// The path exactly as the client sent it (before slash normalisation).
    pub path: String,
    /// The raw (still percent-encoded) query string, if any.
    pub query: Option<String>,
    /// Status answered; `0` when a fault dropped the connection.
    pub status: u16,
}

/// A bounded ring of recent requests; appends take a short mutex.
#[derive(Debug)]
pub struct Journal {
    entries: Mutex<VecDeque<JournalEntry>>,
    capacity: usize,
}

impl Journal {
    /// A journal keeping the last `capacity` requests.
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(VecDeque::with_capacity(capacity.min(1024))),
            capacity: capacity.max(1),
        }
    }

    /// Records one request, evicting the oldest when full.
    pub fn record(&self, entry: JournalEntry) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() == self.capacity {
            entries.pop_front();
        }
        entries.push_back(entry);
    }

    /// The recorded requests, oldest first.
    pub fn snapshot(&self) -> Vec<JournalEntry> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.iter().cloned().collect()
    }

    /// Forgets every recorded request.
    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

/// A fault as configured (the JSON documented in the module docs).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// `[METHOD ]PATTERN`.
    pub route: String,
    /// Added latency in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// Status to answer with instead of the handler.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Body for `status` (defaults to the Connect error shape).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
    /// Answer with a truncated JSON body.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub malformed: bool,
    /// Close the connection without answering.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub drop: bool,
    /// Answer with a generated (streamed) body of this many bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_bytes: Option<u64>,
    /// Number of matching requests the fault applies to (absent: unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
}

/// A fault specification that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultError {
    /// The JSON or compact form does not parse.
    #[error("invalid fault: {0}")]
    Invalid(String),
    /// Adding these faults would pass [`MAX_FAULTS`].
    #[error(
        "too many faults: at most {MAX_FAULTS} may be in force (DELETE /__admin/faults clears them)"
    )]
    TooMany,
}

impl FaultSpec {
    /// Parses the `--fault` flag: JSON (starting with `{`) or `ROUTE;key=value;…`.
    pub fn parse_flag(text: &str) -> Result<Self, FaultError> {
        let text = text.trim();
        let spec = if text.starts_with('{') {
            serde_json::from_str(text).map_err(|e| FaultError::Invalid(e.to_string()))?
        } else {
            let mut parts = text.split(';');
            let mut spec = Self {
                route: parts.next().unwrap_or_default().trim().to_owned(),
                ..Self::default()
            };
            for part in parts.filter(|p| !p.trim().is_empty()) {
                let (key, value) = part.split_once('=').unwrap_or((part, "true"));
                let (key, value) = (key.trim(), value.trim());
                let bad = || FaultError::Invalid(format!("bad value for {key}: {value}"));
                match key {
                    "latency_ms" => spec.latency_ms = Some(value.parse().map_err(|_| bad())?),
                    "status" => spec.status = Some(value.parse().map_err(|_| bad())?),
                    "times" => spec.times = Some(value.parse().map_err(|_| bad())?),
                    "malformed" => spec.malformed = value.parse().map_err(|_| bad())?,
                    "drop" => spec.drop = value.parse().map_err(|_| bad())?,
                    "body_bytes" => spec.body_bytes = Some(value.parse().map_err(|_| bad())?),
                    "body" => {
                        spec.body = Some(
                            serde_json::from_str(value)
                                .unwrap_or_else(|_| serde_json::Value::String(value.to_owned())),
                        );
                    }
                    _ => return Err(FaultError::Invalid(format!("unknown key {key}"))),
                }
            }
            spec
        };
        spec.validate()?;
        Ok(spec)
    }

    /// Checks the route and status.
    pub fn validate(&self) -> Result<(), FaultError> {
        RoutePattern::parse(&self.route)?;
        if let Some(status) = self.status
            && !(100..=599).contains(&status)
        {
            return Err(FaultError::Invalid(format!("status {status} out of range")));
        }
        Ok(())
    }
}

/// What the middleware must do for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultAction {
    /// Delay before anything else.
    pub latency_ms: Option<u64>,
    /// Replace the handler's answer with this status (and body).
    pub status: Option<u16>,
    /// Body to send with `status`.
    pub body: Option<serde_json::Value>,
    /// Send a truncated JSON body.
    pub malformed: bool,
    /// Close the connection.
    pub drop: bool,
    /// Stream a generated body of this many bytes.
    pub body_bytes: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct RoutePattern {
    method: Option<Method>,
    segments: Vec<String>,
}

impl RoutePattern {
    fn parse(route: &str) -> Result<Self, FaultError> {
        let route = route.trim();
        let (method, path) = match route.split_once(char::is_whitespace) {
            Some((method, path)) => (Some(method), path.trim()),
            None => (None, route),
        };
        if !path.starts_with('/') {
            return Err(FaultError::Invalid(format!(
                "route `{route}` must be `[METHOD ]/path/pattern`"
            )));
        }
        let method = match method {
            None | Some("*") => None,
            Some(m) => Some(
                Method::from_bytes(m.to_ascii_uppercase().as_bytes())
                    .map_err(|_| FaultError::Invalid(format!("bad method {m}")))?,
            ),
        };
        Ok(Self {
            method,
            segments: path
                .split('/')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        })
    }

    fn matches(&self, method: &Method, path: &str) -> bool {
        if self.method.as_ref().is_some_and(|m| m != method) {
            return false;
        }
        let mut actual = path.split('/').filter(|s| !s.is_empty());
        for (index, pattern) in self.segments.iter().enumerate() {
            if pattern == "**" && index == self.segments.len() - 1 {
                return true;
            }
            let Some(segment) = actual.next() else {
                return false;
            };
            let wildcard = pattern == "*" || (pattern.starts_with('{') && pattern.ends_with('}'));
            if !wildcard && pattern != segment {
                return false;
            }
        }
        actual.next().is_none()
    }
}

#[derive(Debug)]
struct ActiveFault {
    spec: FaultSpec,
    pattern: RoutePattern,
    used: AtomicU64,
}

impl ActiveFault {
    /// Whether uses remain.
    fn in_force(&self) -> bool {
        self.spec
            .times
            .is_none_or(|t| self.used.load(Ordering::Relaxed) < t)
    }
}

/// The faults in force; a lock-free flag skips all work when there are none.
#[derive(Debug, Default)]
pub struct Faults {
    any: AtomicBool,
    faults: RwLock<Vec<ActiveFault>>,
}

impl Faults {
    /// Adds a fault (after the existing ones).
    pub fn add(&self, spec: FaultSpec) -> Result<(), FaultError> {
        self.add_all(vec![spec])
    }

    /// Adds these faults in order, or none of them if one is invalid or they would pass
    /// [`MAX_FAULTS`] (faults whose `times` are used up no longer count).
    pub fn add_all(&self, specs: Vec<FaultSpec>) -> Result<(), FaultError> {
        let mut parsed = Vec::with_capacity(specs.len().min(MAX_FAULTS));
        for spec in specs {
            spec.validate()?;
            let pattern = RoutePattern::parse(&spec.route)?;
            parsed.push(ActiveFault {
                spec,
                pattern,
                used: AtomicU64::new(0),
            });
        }
        let mut faults = self.faults.write().unwrap_or_else(PoisonError::into_inner);
        faults.retain(ActiveFault::in_force);
        if faults.len() + parsed.len() > MAX_FAULTS {
            return Err(FaultError::TooMany);
        }
        faults.extend(parsed);
        self.any.store(!faults.is_empty(), Ordering::Release);
        Ok(())
    }

    /// Removes every fault.
    pub fn clear(&self) {
        let mut faults = self.faults.write().unwrap_or_else(PoisonError::into_inner);
        faults.clear();
        self.any.store(false, Ordering::Release);
    }

    /// The faults still in force.
    pub fn list(&self) -> Vec<FaultSpec> {
        let faults = self.faults.read().unwrap_or_else(PoisonError::into_inner);
        faults
            .iter()
            .filter(|f| f.in_force())
            .map(|f| f.spec.clone())
            .collect()
    }

    /// The action for this request, consuming one use of the matching fault.
    pub fn take(&self, method: &Method, path: &str) -> Option<FaultAction> {
        if !self.any.load(Ordering::Acquire) {
            return None;
        }
        let faults = self.faults.read().unwrap_or_else(PoisonError::into_inner);
        for fault in faults.iter() {
            if !fault.pattern.matches(method, path) {
                continue;
            }
            let previous = fault.used.fetch_add(1, Ordering::AcqRel);
            if fault.spec.times.is_some_and(|t| previous >= t) {
                continue;
            }
            return Some(FaultAction {
                latency_ms: fault.spec.latency_ms,
                status: fault.spec.status,
                body: fault.spec.body.clone(),
                malformed: fault.spec.malformed,
                drop: fault.spec.drop,
                body_bytes: fault.spec.body_bytes,
            });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_bounded_and_added_all_or_none() {
        let faults = Faults::default();
        let spec = |times| FaultSpec {
            route: "/v1/**".into(),
            times,
            ..FaultSpec::default()
        };
        faults
            .add_all((0..MAX_FAULTS - 1).map(|_| spec(None)).collect())
            .unwrap();
        assert_eq!(
            faults.add_all(vec![spec(None), spec(None)]),
            Err(FaultError::TooMany)
        );
        assert_eq!(
            faults.list().len(),
            MAX_FAULTS - 1,
            "nothing of a refused batch stays"
        );
        faults.add(spec(Some(1))).unwrap();
        assert_eq!(faults.add(spec(None)), Err(FaultError::TooMany));
        // A fault whose uses are spent makes room again.
        let method = Method::GET;
        for _ in 0..MAX_FAULTS {
            let _ = faults.take(&method, "/v1/vaults");
        }
        faults.clear();
        faults.add(spec(Some(1))).unwrap();
        assert!(faults.take(&method, "/v1/vaults").is_some());
        faults
            .add_all((0..MAX_FAULTS).map(|_| spec(None)).collect())
            .unwrap();
    }

    #[test]
    fn admin_gate_follows_the_listener_and_the_token() {
        let loopback: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let anywhere: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        assert_eq!(AdminGate::for_listener(loopback, None).check(None), Ok(()));
        assert_eq!(
            AdminGate::for_listener(anywhere, None).check(Some(b"Bearer x")),
            Err(AdminDenied::Closed)
        );
        assert_eq!(
            AdminGate::for_listener(anywhere, Some(String::new())),
            AdminGate::Closed
        );
        for addr in [loopback, anywhere] {
            let gate = AdminGate::for_listener(addr, Some("s3cret".into()));
            assert_eq!(gate.check(Some(b"Bearer s3cret")), Ok(()));
            for wrong in [
                &b"Bearer s3cre"[..],
                b"Bearer s3cret2",
                b"s3cret",
                b"Bearer ",
            ] {
                assert_eq!(gate.check(Some(wrong)), Err(AdminDenied::BadToken));
            }
            assert_eq!(gate.check(None), Err(AdminDenied::BadToken));
            assert!(!format!("{gate:?}").contains("s3cret"));
        }
    }

    #[test]
    fn journal_is_bounded() {
        let journal = Journal::new(2);
        for status in [200, 201, 202] {
            journal.record(JournalEntry {
                method: "GET".into(),
                path: "/v1/vaults".into(),
                query: None,
                status,
            });
        }
        let statuses: Vec<u16> = journal.snapshot().iter().map(|e| e.status).collect();
        assert_eq!(statuses, [201, 202]);
        journal.clear();
        assert!(journal.snapshot().is_empty());
    }

    #[test]
    fn patterns_match_segments() {
        let p = RoutePattern::parse("GET /v1/vaults/{vault}/items/*").unwrap();
        assert!(p.matches(&Method::GET, "/v1/vaults/abc/items/def"));
        assert!(!p.matches(&Method::PUT, "/v1/vaults/abc/items/def"));
        assert!(!p.matches(&Method::GET, "/v1/vaults/abc/items"));
        assert!(!p.matches(&Method::GET, "/v1/vaults/abc/items/def/files"));
        let rest = RoutePattern::parse("/v1/**").unwrap();
        assert!(rest.matches(&Method::DELETE, "/v1/vaults/x"));
        assert!(rest.matches(&Method::GET, "/v1"));
        assert!(!rest.matches(&Method::GET, "/health"));
        assert!(RoutePattern::parse("GET vaults").is_err());
    }

    #[test]
    fn times_limits_a_fault() {
        let faults = Faults::default();
        faults
            .add(FaultSpec::parse_flag("GET /v1/vaults;status=503;times=2").unwrap())
            .unwrap();
        assert_eq!(
            faults.take(&Method::GET, "/v1/vaults").unwrap().status,
            Some(503)
        );
        assert_eq!(faults.list().len(), 1);
        assert!(faults.take(&Method::GET, "/v1/vaults").is_some());
        assert!(faults.take(&Method::GET, "/v1/vaults").is_none());
        assert!(faults.list().is_empty());
        faults.clear();
        assert!(faults.take(&Method::GET, "/v1/vaults").is_none());
    }

    #[test]
    fn flag_forms() {
        let json = FaultSpec::parse_flag(r#"{"route": "/v1/**", "drop": true}"#).unwrap();
        assert!(json.drop);
        let compact = FaultSpec::parse_flag("/v1/**;latency_ms=20;malformed;body=oops").unwrap();
        assert_eq!(compact.latency_ms, Some(20));
        assert!(compact.malformed);
        assert_eq!(compact.body, Some(serde_json::json!("oops")));
        let huge = FaultSpec::parse_flag("/v1/**;body_bytes=1073741824").unwrap();
        assert_eq!(huge.body_bytes, Some(1 << 30));
        assert!(FaultSpec::parse_flag("/v1;status=999").is_err());
        assert!(FaultSpec::parse_flag("/v1;colour=red").is_err());
        assert!(FaultSpec::parse_flag(r#"{"route": "/v1", "color": 1}"#).is_err());
    }
}
