//! The load generator: a fixed number of workers sending one kind of request back to back over
//! keep-alive HTTP for a fixed time, recording each request's latency.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use reqwest::{Method, header};
use serde_json::Value;

/// One kind of request, repeated.
#[derive(Debug, Clone)]
pub enum Op {
    /// `GET /v1/<path>`.
    Read(String),
    /// `LIST /v1/<path>` (sent as `GET ?list=true`).
    List(String),
    /// `POST /v1/<path>` with `body`, its `title` suffixed with a counter (` 17`) so that created
    /// items carry distinct titles, as in real vaults; the `ID` each answer carries is queued for
    /// [`Op::Delete`].
    Create(String, Value),
    /// `PUT /v1/<path>` with `body`.
    Update(String, Value),
    /// `PATCH /v1/<path>` (JSON merge patch) with `body`.
    Patch(String, Value),
    /// `DELETE /v1/<prefix><id>` for ids taken from the queue [`Op::Create`] filled; the run
    /// ends early when the queue is empty.
    Delete(String),
}

/// What one load run gave.
#[derive(Debug, Clone, Default)]
pub struct LoadResult {
    /// Requests answered with a 2xx.
    pub ok: u64,
    /// Requests answered otherwise, or not at all.
    pub failed: u64,
    /// The first failure seen, for the report.
    pub first_failure: Option<String>,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Latency of every request, sorted.
    pub latencies: Vec<Duration>,
}

impl LoadResult {
    /// Requests (answered or not) per second.
    pub fn rps(&self) -> f64 {
        (self.ok + self.failed) as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The `q` quantile (0..=1) of latency.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let index = ((self.latencies.len() - 1) as f64 * q).round() as usize;
        self.latencies[index.min(self.latencies.len() - 1)]
    }
}

/// Sends requests to one OpenBao server.
#[derive(Debug, Clone)]
pub struct Load {
    http: reqwest::Client,
    addr: String,
    token: String,
    /// Ids of items created by [`Op::Create`], consumed by [`Op::Delete`].
    created: Arc<Mutex<VecDeque<String>>>,
    /// The suffix of the next created item's title.
    serial: Arc<AtomicU64>,
}

/// How long one request may take before it counts as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

impl Load {
    /// A generator for the server at `addr` (loopback) with `token`, keeping up to
    /// `concurrency` connections open.
    pub fn new(addr: &str, token: &str, concurrency: usize) -> Result<Load, reqwest::Error> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(concurrency * 2)
            .timeout(REQUEST_TIMEOUT)
            .no_proxy()
            .build()?;
        Ok(Load {
            http,
            addr: addr.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            created: Arc::default(),
            serial: Arc::default(),
        })
    }

    /// Ids created so far and not yet deleted.
    pub fn created(&self) -> usize {
        self.created
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// One request; `Err` describes a failure.
    async fn send(&self, op: &Op) -> Result<(), String> {
        let (method, path, body) = match op {
            Op::Read(path) => (Method::GET, path.clone(), None),
            Op::List(path) => (Method::GET, format!("{path}?list=true"), None),
            Op::Create(path, body) => {
                let mut body = body.clone();
                let serial = self.serial.fetch_add(1, Ordering::Relaxed);
                let title = body["title"].as_str().unwrap_or_default().to_owned();
                body["title"] = Value::String(format!("{title} {serial}"));
                (Method::POST, path.clone(), Some(Cow::Owned(body)))
            }
            Op::Update(path, body) => (Method::PUT, path.clone(), Some(Cow::Borrowed(body))),
            Op::Patch(path, body) => (Method::PATCH, path.clone(), Some(Cow::Borrowed(body))),
            Op::Delete(prefix) => {
                let id = self
                    .created
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .pop_front()
                    .ok_or_else(|| "nothing left to delete".to_owned())?;
                (Method::DELETE, format!("{prefix}{id}"), None)
            }
        };
        let mut request = self
            .http
            .request(method.clone(), format!("{}/v1/{path}", self.addr))
            .header("X-Vault-Token", &self.token);
        if let Some(body) = body {
            let content_type = if method == Method::PATCH {
                "application/merge-patch+json"
            } else {
                "application/json"
            };
            request = request
                .header(header::CONTENT_TYPE, content_type)
                .body(body.to_string());
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("{method} {path}: {e}"))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| format!("{method} {path}: {e}"))?;
        if !status.is_success() {
            return Err(format!(
                "{method} {path}: {status} {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
            ));
        }
        if matches!(op, Op::Create(..))
            && let Ok(answer) = serde_json::from_slice::<Value>(&bytes)
            && let Some(id) = answer["data"]["ID"].as_str()
        {
            self.created
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push_back(id.to_owned());
        }
        Ok(())
    }

    /// Deletes, `concurrency` at a time and unmeasured, every item [`Op::Create`] made and no
    /// delete removed, so the next mount starts from the vault state this one started from;
    /// how many deletes failed.
    pub async fn remove_created(&self, prefix: &str, concurrency: usize) -> u64 {
        let op = Op::Delete(prefix.to_owned());
        // Every request takes one id off the queue, so this ends well before the bound.
        let bound = Duration::from_secs(600);
        self.run(&op, concurrency, bound).await.failed
    }

    /// `op` exactly `n` times one after the other (the Connect-requests-per-operation sample);
    /// how many succeeded.
    pub async fn repeat(&self, op: &Op, n: u64) -> u64 {
        let mut ok = 0;
        for _ in 0..n {
            if self.send(op).await.is_ok() {
                ok += 1;
            }
        }
        ok
    }

    /// `concurrency` workers repeating `op` for `duration` (or until a delete run has nothing
    /// left to delete).
    pub async fn run(&self, op: &Op, concurrency: usize, duration: Duration) -> LoadResult {
        let started = Instant::now();
        let worker = || async {
            let mut result = LoadResult::default();
            while started.elapsed() < duration {
                let sent = Instant::now();
                match self.send(op).await {
                    Ok(()) => result.ok += 1,
                    Err(_) if matches!(op, Op::Delete(_)) && self.created() == 0 => break,
                    Err(why) => {
                        result.failed += 1;
                        result.first_failure.get_or_insert(why);
                    }
                }
                result.latencies.push(sent.elapsed());
            }
            result
        };
        let parts = futures::future::join_all((0..concurrency).map(|_| worker())).await;
        let mut total = LoadResult {
            elapsed: started.elapsed(),
            ..LoadResult::default()
        };
        for part in parts {
            total.ok += part.ok;
            total.failed += part.failed;
            if total.first_failure.is_none() {
                total.first_failure = part.first_failure;
            }
            total.latencies.extend(part.latencies);
        }
        total.latencies.sort_unstable();
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_of_sorted_latencies() {
        let result = LoadResult {
            ok: 100,
            elapsed: Duration::from_secs(2),
            latencies: (1..=100).map(Duration::from_millis).collect(),
            ..LoadResult::default()
        };
        assert_eq!(result.quantile(0.5), Duration::from_millis(51));
        assert_eq!(result.quantile(0.99), Duration::from_millis(99));
        assert_eq!(result.rps(), 50.0);
        assert_eq!(LoadResult::default().quantile(0.5), Duration::ZERO);
    }
}
