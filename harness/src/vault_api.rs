//! A small typed client for the Vault/OpenBao HTTP API, the way tests want it: every answer,
//! success or error, comes back as a [`VaultResponse`] to assert on; only transport failures are
//! errors.

use std::time::Duration;

use reqwest::{Method, header};
use serde_json::Value;

/// Default per-request timeout: generous, because a first request may launch a plugin.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The request could not be sent or its answer not read.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Connecting, sending or receiving failed.
    #[error("{method} {url}: {source}")]
    Transport {
        /// The HTTP method.
        method: Method,
        /// The URL requested.
        url: String,
        /// The underlying error.
        source: reqwest::Error,
    },
}

/// One answer from the Vault API.
#[derive(Debug, Clone)]
pub struct VaultResponse {
    /// The HTTP status.
    pub status: u16,
    /// The `data` object of the body, if any.
    pub data: Option<Value>,
    /// The `warnings` of the body.
    pub warnings: Vec<String>,
    /// The `errors` of the body.
    pub errors: Vec<String>,
    /// The whole body (`Value::Null` when empty, a string when not JSON).
    pub body: Value,
}

impl VaultResponse {
    /// True for 2xx statuses.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// `data[key]`, or `Value::Null`.
    pub fn get(&self, key: &str) -> &Value {
        self.data
            .as_ref()
            .and_then(|d| d.get(key))
            .unwrap_or(&Value::Null)
    }

    /// The `keys` of a list response.
    pub fn keys(&self) -> Vec<String> {
        self.get("keys")
            .as_array()
            .map(|keys| {
                keys.iter()
                    .filter_map(|k| k.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A client bound to one server address and (optionally) one token.
#[derive(Debug, Clone)]
pub struct VaultClient {
    http: reqwest::Client,
    addr: String,
    token: Option<String>,
}

impl VaultClient {
    /// A client for `addr` (e.g. `http://127.0.0.1:8200`) sending `token`, if any.
    pub fn new(addr: impl Into<String>, token: Option<String>) -> Self {
        #[allow(
            clippy::expect_used,
            reason = "a default client with a timeout always builds"
        )]
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            // Standbys answer 307; tests want to see that, not follow it.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("building an HTTP client");
        Self {
            http,
            addr: addr.into().trim_end_matches('/').to_string(),
            token,
        }
    }

    /// The same server, another token (`None`: unauthenticated).
    pub fn with_token(&self, token: Option<String>) -> Self {
        Self {
            http: self.http.clone(),
            addr: self.addr.clone(),
            token,
        }
    }

    /// The server address.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// `GET /v1/<path>`.
    pub async fn read(&self, path: &str) -> Result<VaultResponse, ClientError> {
        self.request(Method::GET, path, None).await
    }

    /// `GET /v1/<path>?<query>`.
    pub async fn read_with_query(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<VaultResponse, ClientError> {
        let url = self.url(path);
        let builder = self.http.get(&url).query(query);
        self.send(Method::GET, url, builder).await
    }

    /// `LIST /v1/<path>`.
    pub async fn list(&self, path: &str) -> Result<VaultResponse, ClientError> {
        #[allow(clippy::expect_used, reason = "LIST is a valid method token")]
        let list = Method::from_bytes(b"LIST").expect("LIST method");
        self.request(list, path, None).await
    }

    /// `PUT /v1/<path>` with a JSON body (what `vault write` does).
    pub async fn write(&self, path: &str, body: &Value) -> Result<VaultResponse, ClientError> {
        self.request(Method::PUT, path, Some(body)).await
    }

    /// `PATCH /v1/<path>` with a JSON merge-patch body (what `vault patch` does).
    pub async fn patch(&self, path: &str, body: &Value) -> Result<VaultResponse, ClientError> {
        self.request(Method::PATCH, path, Some(body)).await
    }

    /// `DELETE /v1/<path>`.
    pub async fn delete(&self, path: &str) -> Result<VaultResponse, ClientError> {
        self.request(Method::DELETE, path, None).await
    }

    /// Any method on `/v1/<path>`, with an optional JSON body.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<VaultResponse, ClientError> {
        let url = self.url(path);
        let mut builder = self.http.request(method.clone(), &url);
        if let Some(body) = body {
            let content_type = if method == Method::PATCH {
                "application/merge-patch+json"
            } else {
                "application/json"
            };
            builder = builder
                .header(header::CONTENT_TYPE, content_type)
                .body(body.to_string());
        }
        self.send(method, url, builder).await
    }

    /// Sends a raw body (for tests of malformed input).
    pub async fn request_raw(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Result<VaultResponse, ClientError> {
        let url = self.url(path);
        let builder = self
            .http
            .request(method.clone(), &url)
            .header(header::CONTENT_TYPE, content_type)
            .body(body);
        self.send(method, url, builder).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v1/{}", self.addr, path.trim_start_matches('/'))
    }

    async fn send(
        &self,
        method: Method,
        url: String,
        mut builder: reqwest::RequestBuilder,
    ) -> Result<VaultResponse, ClientError> {
        if let Some(token) = &self.token {
            builder = builder.header("X-Vault-Token", token);
        }
        let transport = |source| ClientError::Transport {
            method: method.clone(),
            url: url.clone(),
            source,
        };
        let response = builder.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(transport)?;
        Ok(parse_response(status, &text))
    }
}

fn parse_response(status: u16, text: &str) -> VaultResponse {
    let body = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
    };
    let strings = |key: &str| -> Vec<String> {
        body.get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    VaultResponse {
        status,
        data: body.get("data").filter(|d| !d.is_null()).cloned(),
        warnings: strings("warnings"),
        errors: strings("errors"),
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_data_warnings_and_errors() {
        let r = parse_response(
            200,
            &json!({"data": {"keys": ["a", "b/"]}, "warnings": ["w"]}).to_string(),
        );
        assert_eq!(r.keys(), vec!["a", "b/"]);
        assert_eq!(r.warnings, vec!["w"]);
        assert!(r.errors.is_empty());
        let e = parse_response(400, r#"{"errors":["bad"]}"#);
        assert_eq!(e.errors, vec!["bad"]);
        assert!(e.data.is_none() && !e.is_success());
    }

    #[test]
    fn empty_and_non_json_bodies() {
        assert_eq!(parse_response(204, "").body, Value::Null);
        assert_eq!(parse_response(502, "oops").body, json!("oops"));
    }
}
