//! The async Connect client: one pooled `reqwest::Client`, a bearer token, a timeout on every
//! attempt, bounded retries of idempotent calls, typed errors.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;

use crate::base_url::BaseUrl;
use crate::config::{ClientConfig, RetryPolicy};
use crate::error::{ApiError, ConnectError, excerpt};
use crate::filter::Filter;
use crate::model::{ActivityEntry, ErrorBody, File, Item, PatchOp, ServerHealth, Vault};
use crate::token::ConnectToken;

/// Most of an error answer's body that is read: Connect's `{status, message}` is tiny, and
/// anything longer is not worth holding.
const ERROR_BODY_LIMIT: usize = 64 * 1024;
/// Longest upstream text (error message, decoding error) kept in an error, in characters.
pub const MAX_UPSTREAM_TEXT: usize = 512;

/// Characters left as they are in an id path segment: RFC 3986 unreserved ones.
const ID_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A Connect API client. Cheap to clone (the connection pool is shared); use one per config.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    /// Shared by every clone and every [`Client::with_timeout`]/[`Client::with_retry`] variant.
    http: reqwest::Client,
    /// The checked base URL, e.g. `https://c.example:8443/prefix`, parsed once: each request's
    /// URL is a clone with its path set, so no request parses the scheme and host again.
    base: BaseUrl,
    /// The base URL's path without its trailing slash (`/prefix`, or empty).
    path_prefix: String,
    /// `Bearer <token>`, marked sensitive so it is never printed.
    authorization: HeaderValue,
    /// The token, only to redact it from what this client logs.
    token: ConnectToken,
    retry: RetryPolicy,
    timeout: Duration,
    max_response_size: usize,
    max_file_size: usize,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.inner.base.as_str())
            .field("timeout", &self.inner.timeout)
            .field("retry", &self.inner.retry)
            .field("max_response_size", &self.inner.max_response_size)
            .field("max_file_size", &self.inner.max_file_size)
            .finish_non_exhaustive()
    }
}

/// One piece of an API path: fixed text or an id that gets percent-encoded.
enum Seg<'a> {
    Lit(&'static str),
    Id(&'a str),
}

/// Why one attempt failed, and whether another attempt may help.
struct Failure {
    error: ConnectError,
    retryable: bool,
    /// The server may have carried the request out although the attempt failed (timeout,
    /// gateway error, connection lost after sending); false when no connection was made.
    maybe_applied: bool,
}

impl Client {
    /// Builds a client; fails with [`ConnectError::InvalidConfig`] on a bad URL, an empty token,
    /// a zero timeout, an invalid User-Agent or an unusable CA certificate.
    pub fn new(config: ClientConfig) -> Result<Self, ConnectError> {
        let base = BaseUrl::parse(&config.base_url)
            .map_err(|err| ConnectError::InvalidConfig(err.to_string()))?;
        let path_prefix = base.url().path().trim_end_matches('/').to_owned();
        if config.token.is_empty() {
            return Err(ConnectError::InvalidConfig("the token is empty".into()));
        }
        let bearer = zeroize::Zeroizing::new(format!("Bearer {}", config.token.expose_secret()));
        let mut authorization = HeaderValue::try_from(bearer.as_str()).map_err(|_| {
            ConnectError::InvalidConfig(
                "the token contains characters not allowed in an HTTP header".into(),
            )
        })?;
        authorization.set_sensitive(true);
        if config.timeout.is_zero() || config.connect_timeout.is_zero() {
            return Err(ConnectError::InvalidConfig(
                "timeouts must be greater than zero".into(),
            ));
        }
        let user_agent = HeaderValue::try_from(config.user_agent.as_str()).map_err(|_| {
            ConnectError::InvalidConfig(format!("invalid User-Agent {:?}", config.user_agent))
        })?;

        let loopback = base.is_loopback();
        let builder = || {
            let builder = reqwest::Client::builder()
                .user_agent(user_agent.clone())
                .timeout(config.timeout)
                .connect_timeout(config.connect_timeout)
                // Connect never redirects; following one could carry the token elsewhere.
                .redirect(reqwest::redirect::Policy::none())
                // Resolve in-process (hickory: /etc/hosts, then the servers of
                // /etc/resolv.conf) rather than through getaddrinfo: the release binary is
                // statically linked, and static glibc cannot load the NSS modules getaddrinfo
                // needs, so a Connect host given by name would never resolve in a FROM scratch
                // image. Set explicitly so every build resolves the same way.
                .hickory_dns(true);
            if loopback {
                // Like Go's ProxyFromEnvironment (the reference plugin's transport): HTTP(S)_PROXY
                // applies to remote Connect servers, never to loopback ones.
                builder.no_proxy()
            } else {
                builder
            }
        };
        let built = match &config.ca_certificate_pem {
            Some(pem) => {
                let certificates = reqwest::Certificate::from_pem_bundle(pem).map_err(|err| {
                    ConnectError::InvalidConfig(format!(
                        "invalid CA certificate PEM: {}",
                        describe(&err)
                    ))
                })?;
                if certificates.is_empty() {
                    return Err(ConnectError::InvalidConfig(
                        "the CA certificate PEM contains no certificate".into(),
                    ));
                }
                builder().tls_certs_only(certificates).build()
            }
            // A minimal container (FROM scratch, distroless) has no system CA store, and the
            // platform verifier refuses to start without one; Mozilla's roots, bundled, still
            // let the engine reach a Connect server with a public certificate.
            None => builder().build().or_else(|err| {
                tracing::warn!(
                    reason = %describe(&err),
                    "no usable system CA store; trusting the bundled Mozilla roots for Connect"
                );
                builder().tls_certs_only(bundled_roots()).build()
            }),
        };
        let http = built.map_err(|err| {
            ConnectError::InvalidConfig(format!("cannot build the HTTP client: {}", describe(&err)))
        })?;

        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base,
                path_prefix,
                authorization,
                token: config.token.clone(),
                retry: config.retry,
                timeout: config.timeout,
                max_response_size: config.max_response_size,
                max_file_size: config.max_file_size,
            }),
        })
    }

    /// The same client (same connection pool) with another per-attempt timeout, e.g. for a
    /// quick health probe.
    pub fn with_timeout(&self, timeout: Duration) -> Self {
        let mut inner = (*self.inner).clone();
        inner.timeout = timeout;
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The same client (same connection pool) with another retry policy.
    pub fn with_retry(&self, retry: RetryPolicy) -> Self {
        let mut inner = (*self.inner).clone();
        inner.retry = retry;
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The normalised base URL (no trailing slash).
    pub fn base_url(&self) -> &str {
        self.inner.base.as_str()
    }

    // ----- vaults -------------------------------------------------------------------------

    /// `GET /v1/vaults[?filter=…]`: the vaults the token can see.
    pub async fn list_vaults(&self, filter: Option<&Filter>) -> Result<Vec<Vault>, ConnectError> {
        let url = self.url(&[Seg::Lit("/v1/vaults")])?;
        let body = self
            .execute(Method::GET, &url, &filter_query(filter), None)
            .await?;
        decode_list(&body)
    }

    /// `GET /v1/vaults/{vault_id}`.
    pub async fn get_vault(&self, vault_id: &str) -> Result<Vault, ConnectError> {
        let url = self.url(&[Seg::Lit("/v1/vaults/"), Seg::Id(vault_id)])?;
        decode(&self.execute(Method::GET, &url, &[], None).await?)
    }

    // ----- items --------------------------------------------------------------------------

    /// `GET /v1/vaults/{vault_id}/items[?filter=…]`: item summaries (no fields/sections/files).
    pub async fn list_items(
        &self,
        vault_id: &str,
        filter: Option<&Filter>,
    ) -> Result<Vec<Item>, ConnectError> {
        let url = self.url(&[
            Seg::Lit("/v1/vaults/"),
            Seg::Id(vault_id),
            Seg::Lit("/items"),
        ])?;
        let body = self
            .execute(Method::GET, &url, &filter_query(filter), None)
            .await?;
        decode_list(&body)
    }

    /// `GET /v1/vaults/{vault_id}/items/{item_id}`: the full item. The hot path: one request,
    /// the body read once and parsed straight from the bytes.
    pub async fn get_item(&self, vault_id: &str, item_id: &str) -> Result<Item, ConnectError> {
        let url = self.item_url(vault_id, item_id)?;
        decode(&self.execute(Method::GET, &url, &[], None).await?)
    }

    /// `POST /v1/vaults/{vault_id}/items`: creates `item` (its `vault.id` should be `vault_id`)
    /// and returns it as stored. Never retried.
    pub async fn create_item(&self, vault_id: &str, item: &Item) -> Result<Item, ConnectError> {
        let url = self.url(&[
            Seg::Lit("/v1/vaults/"),
            Seg::Id(vault_id),
            Seg::Lit("/items"),
        ])?;
        let body = encode(item)?;
        decode(&self.execute(Method::POST, &url, &[], Some(body)).await?)
    }

    /// `PUT /v1/vaults/{vault_id}/items/{item_id}`: replaces the item with `item`.
    pub async fn replace_item(
        &self,
        vault_id: &str,
        item_id: &str,
        item: &Item,
    ) -> Result<Item, ConnectError> {
        let url = self.item_url(vault_id, item_id)?;
        let body = encode(item)?;
        decode(&self.execute(Method::PUT, &url, &[], Some(body)).await?)
    }

    /// `PATCH /v1/vaults/{vault_id}/items/{item_id}` with JSON Patch operations. Never retried.
    pub async fn patch_item(
        &self,
        vault_id: &str,
        item_id: &str,
        operations: &[PatchOp],
    ) -> Result<Item, ConnectError> {
        let url = self.item_url(vault_id, item_id)?;
        let body = encode(&operations)?;
        decode(&self.execute(Method::PATCH, &url, &[], Some(body)).await?)
    }

    /// `DELETE /v1/vaults/{vault_id}/items/{item_id}` (permanent).
    pub async fn delete_item(&self, vault_id: &str, item_id: &str) -> Result<(), ConnectError> {
        let url = self.item_url(vault_id, item_id)?;
        self.execute(Method::DELETE, &url, &[], None).await?;
        Ok(())
    }

    // ----- files --------------------------------------------------------------------------

    /// `GET …/items/{item_id}/files`; with `inline_content` the files carry base64 `content`.
    pub async fn list_files(
        &self,
        vault_id: &str,
        item_id: &str,
        inline_content: bool,
    ) -> Result<Vec<File>, ConnectError> {
        let url = self.url(&[
            Seg::Lit("/v1/vaults/"),
            Seg::Id(vault_id),
            Seg::Lit("/items/"),
            Seg::Id(item_id),
            Seg::Lit("/files"),
        ])?;
        let body = self
            .execute_limited(
                Method::GET,
                &url,
                inline_query(inline_content),
                None,
                self.json_limit(inline_content),
            )
            .await?;
        decode_list(&body)
    }

    /// `GET …/items/{item_id}/files/{file_id}`; with `inline_content` it carries `content`.
    pub async fn get_file(
        &self,
        vault_id: &str,
        item_id: &str,
        file_id: &str,
        inline_content: bool,
    ) -> Result<File, ConnectError> {
        let url = self.file_url(vault_id, item_id, file_id, "")?;
        decode(
            &self
                .execute_limited(
                    Method::GET,
                    &url,
                    inline_query(inline_content),
                    None,
                    self.json_limit(inline_content),
                )
                .await?,
        )
    }

    /// `GET …/items/{item_id}/files/{file_id}/content`: the raw bytes, at most the configured
    /// `max_file_size` ([`ConnectError::ResponseTooLarge`] beyond).
    pub async fn get_file_content(
        &self,
        vault_id: &str,
        item_id: &str,
        file_id: &str,
    ) -> Result<Bytes, ConnectError> {
        let url = self.file_url(vault_id, item_id, file_id, "/content")?;
        self.execute_limited(Method::GET, &url, &[], None, self.inner.max_file_size)
            .await
    }

    // ----- server -------------------------------------------------------------------------

    /// `GET /v1/activity?limit=…&offset=…`: recent API requests, newest first.
    pub async fn activity(
        &self,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<ActivityEntry>, ConnectError> {
        let url = self.url(&[Seg::Lit("/v1/activity")])?;
        let (limit, offset) = (limit.to_string(), offset.to_string());
        let query = [("limit", limit.as_str()), ("offset", offset.as_str())];
        decode_list(&self.execute(Method::GET, &url, &query, None).await?)
    }

    /// `GET /heartbeat`: succeeds when the server answers 200 with its `.` body.
    pub async fn heartbeat(&self) -> Result<(), ConnectError> {
        let url = self.url(&[Seg::Lit("/heartbeat")])?;
        let body = self.execute(Method::GET, &url, &[], None).await?;
        if body.trim_ascii() == b"." {
            Ok(())
        } else {
            Err(ConnectError::BadResponse(format!(
                "heartbeat answered {:?} instead of \".\"",
                String::from_utf8_lossy(&body[..body.len().min(64)])
            )))
        }
    }

    /// `GET /health`: server name, version and dependency states.
    pub async fn health(&self) -> Result<ServerHealth, ConnectError> {
        let url = self.url(&[Seg::Lit("/health")])?;
        decode(&self.execute(Method::GET, &url, &[], None).await?)
    }

    // ----- plumbing -----------------------------------------------------------------------

    /// The limit for a JSON answer; one carrying inline file content may hold a whole file,
    /// base64-encoded.
    fn json_limit(&self, inline_content: bool) -> usize {
        if inline_content {
            let encoded = self.inner.max_file_size.div_ceil(3).saturating_mul(4);
            self.inner.max_response_size.saturating_add(encoded)
        } else {
            self.inner.max_response_size
        }
    }

    fn item_url(&self, vault_id: &str, item_id: &str) -> Result<url::Url, ConnectError> {
        self.url(&[
            Seg::Lit("/v1/vaults/"),
            Seg::Id(vault_id),
            Seg::Lit("/items/"),
            Seg::Id(item_id),
        ])
    }

    fn file_url(
        &self,
        vault_id: &str,
        item_id: &str,
        file_id: &str,
        suffix: &'static str,
    ) -> Result<url::Url, ConnectError> {
        self.url(&[
            Seg::Lit("/v1/vaults/"),
            Seg::Id(vault_id),
            Seg::Lit("/items/"),
            Seg::Id(item_id),
            Seg::Lit("/files/"),
            Seg::Id(file_id),
            Seg::Lit(suffix),
        ])
    }

    /// Base URL + path; ids are percent-encoded and must not be empty, `.` or `..`.
    fn url(&self, segments: &[Seg<'_>]) -> Result<url::Url, ConnectError> {
        let mut path = String::with_capacity(self.inner.path_prefix.len() + 96);
        path.push_str(&self.inner.path_prefix);
        for segment in segments {
            match segment {
                Seg::Lit(text) => path.push_str(text),
                Seg::Id(id) => {
                    if id.is_empty() || *id == "." || *id == ".." {
                        return Err(ConnectError::InvalidArgument(format!(
                            "{id:?} is not a valid id"
                        )));
                    }
                    path.extend(utf8_percent_encode(id, ID_SEGMENT));
                }
            }
        }
        // The path is already percent-encoded; `set_path` keeps `%XX` as it is.
        let mut url = self.inner.base.url().clone();
        url.set_path(&path);
        Ok(url)
    }

    /// [`Client::execute_limited`] with the JSON answer limit.
    async fn execute(
        &self,
        method: Method,
        url: &url::Url,
        query: &[(&str, &str)],
        body: Option<Bytes>,
    ) -> Result<Bytes, ConnectError> {
        self.execute_limited(method, url, query, body, self.inner.max_response_size)
            .await
    }

    /// Sends the request, retrying idempotent methods per the [`RetryPolicy`]; returns the body
    /// of a 2xx answer, which is at most `limit` bytes.
    async fn execute_limited(
        &self,
        method: Method,
        url: &url::Url,
        query: &[(&str, &str)],
        body: Option<Bytes>,
        limit: usize,
    ) -> Result<Bytes, ConnectError> {
        let idempotent = matches!(method, Method::GET | Method::PUT | Method::DELETE);
        let max_retries = if idempotent {
            self.inner.retry.max_retries
        } else {
            0
        };
        let mut retry = 0;
        let mut maybe_applied = false;
        loop {
            match self
                .attempt(method.clone(), url, query, body.clone(), limit)
                .await
            {
                Ok(bytes) => return Ok(bytes),
                Err(failure) if failure.retryable && retry < max_retries => {
                    maybe_applied |= failure.maybe_applied;
                    retry += 1;
                    let delay = jittered(self.inner.retry.backoff_bound(retry));
                    tracing::warn!(
                        %method,
                        retry,
                        max_retries,
                        delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                        error = %self.inner.token.excerpt(&failure.error.to_string()),
                        "1Password Connect call failed, retrying"
                    );
                    tokio::time::sleep(delay).await;
                }
                // An earlier DELETE may have gone through with its answer lost: the item being
                // gone now is the outcome the caller asked for.
                Err(failure)
                    if method == Method::DELETE
                        && maybe_applied
                        && failure.error.is_not_found() =>
                {
                    return Ok(Bytes::new());
                }
                Err(failure) => return Err(failure.error),
            }
        }
    }

    async fn attempt(
        &self,
        method: Method,
        url: &url::Url,
        query: &[(&str, &str)],
        body: Option<Bytes>,
        limit: usize,
    ) -> Result<Bytes, Failure> {
        let mut request = self
            .inner
            .http
            .request(method, url.clone())
            .timeout(self.inner.timeout)
            .header(AUTHORIZATION, self.inner.authorization.clone());
        if !query.is_empty() {
            request = request.query(query);
        }
        if let Some(body) = body {
            request = request
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(body);
        }
        let response = request
            .send()
            .await
            .map_err(|err| self.transport_failure(err))?;
        let status = response.status();
        if status.is_success() {
            return match read_bounded(response, limit).await {
                Ok(body) => Ok(body),
                Err(BodyError::TooLarge) => Err(Failure {
                    error: ConnectError::ResponseTooLarge {
                        host: self.inner.base.origin().to_owned(),
                        limit,
                    },
                    // The same request would get the same answer.
                    retryable: false,
                    maybe_applied: true,
                }),
                Err(BodyError::Transport(err)) => Err(self.transport_failure(err)),
            };
        }
        let retryable = matches!(
            status,
            StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT
        );
        // An unreadable or oversized error body still leaves the status, which is what matters.
        let body = read_bounded(response, ERROR_BODY_LIMIT)
            .await
            .unwrap_or_default();
        Err(Failure {
            error: api_error(status, &body),
            retryable,
            maybe_applied: retryable,
        })
    }

    fn transport_failure(&self, err: reqwest::Error) -> Failure {
        let err = err.without_url();
        if err.is_builder() {
            return Failure {
                error: ConnectError::InvalidArgument(describe(&err)),
                retryable: false,
                maybe_applied: false,
            };
        }
        let maybe_applied = !err.is_connect();
        let error = if err.is_timeout() {
            ConnectError::Timeout {
                host: self.inner.base.origin().to_owned(),
                timeout: self.inner.timeout,
            }
        } else {
            ConnectError::Unreachable {
                host: self.inner.base.origin().to_owned(),
                reason: describe(&err),
            }
        };
        Failure {
            error,
            retryable: true,
            maybe_applied,
        }
    }
}

/// Why a body could not be read whole.
enum BodyError {
    /// It is longer than the limit (announced or seen); the rest was left unread.
    TooLarge,
    Transport(reqwest::Error),
}

/// Reads the body chunk by chunk, giving up as soon as it passes `limit` bytes, so that an
/// oversized answer never costs more than the limit in memory. An announced `Content-Length`
/// above the limit fails before anything is read. Dropping the response closes the connection.
async fn read_bounded(mut response: reqwest::Response, limit: usize) -> Result<Bytes, BodyError> {
    let announced = response.content_length();
    if announced.is_some_and(|length| length > limit as u64) {
        return Err(BodyError::TooLarge);
    }
    // Trust the announced length for the first allocation only up to a modest size.
    let initial = announced.map_or(8 * 1024, |length| {
        usize::try_from(length).unwrap_or(limit).min(256 * 1024)
    });
    let mut body = bytes::BytesMut::with_capacity(initial);
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if chunk.len() > limit.saturating_sub(body.len()) {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn filter_query(filter: Option<&Filter>) -> Vec<(&'static str, &str)> {
    filter
        .map(|filter| vec![("filter", filter.as_str())])
        .unwrap_or_default()
}

fn inline_query(inline_content: bool) -> &'static [(&'static str, &'static str)] {
    if inline_content {
        // The spec names the parameter `inline_files`, the docs `inline_content`; send both.
        &[("inline_files", "true"), ("inline_content", "true")]
    } else {
        &[]
    }
}

fn encode<T: serde::Serialize + ?Sized>(value: &T) -> Result<Bytes, ConnectError> {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .map_err(|err| ConnectError::InvalidArgument(format!("cannot encode the body: {err}")))
}

fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, ConnectError> {
    // serde's messages quote the offending value, which came from upstream: keep an excerpt.
    serde_json::from_slice(body)
        .map_err(|err| ConnectError::BadResponse(excerpt(&err.to_string(), MAX_UPSTREAM_TEXT)))
}

/// Lists: a `null` body means an empty list (as the Go SDK treats it).
fn decode_list<T: DeserializeOwned>(body: &[u8]) -> Result<Vec<T>, ConnectError> {
    Ok(decode::<Option<Vec<T>>>(body)?.unwrap_or_default())
}

/// Maps an error answer: Connect's JSON `{status, message}` when present, else the reason phrase.
fn api_error(status: StatusCode, body: &[u8]) -> ConnectError {
    let http_status = status.as_u16();
    let (reported, message) = match serde_json::from_slice::<ErrorBody>(body) {
        Ok(parsed) if parsed.status != 0 || !parsed.message.is_empty() => (
            if parsed.status == 0 {
                http_status
            } else {
                parsed.status
            },
            excerpt(&parsed.message, MAX_UPSTREAM_TEXT),
        ),
        _ => (
            http_status,
            status
                .canonical_reason()
                .unwrap_or("unknown status")
                .to_owned(),
        ),
    };
    let api = ApiError {
        http_status,
        status: reported,
        message,
    };
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => ConnectError::Unauthorized(api),
        StatusCode::NOT_FOUND => ConnectError::NotFound(api),
        _ => ConnectError::Http(api),
    }
}

/// The error and its causes, without the URL (ids are fine, but keep messages short).
/// The Mozilla root certificates compiled into the binary.
fn bundled_roots() -> Vec<reqwest::Certificate> {
    webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .filter_map(|der| reqwest::Certificate::from_der(der).ok())
        .collect()
}

fn describe(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = String::new();
    let mut current = Some(err);
    while let Some(error) = current {
        let message = error.to_string();
        if !text.contains(&message) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&message);
        }
        current = error.source();
    }
    text
}

/// Equal jitter: half the bound plus a random part of the other half.
fn jittered(bound: Duration) -> Duration {
    let half = bound / 2;
    let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
    half + Duration::from_nanos(rand::random_range(0..=nanos))
}

#[cfg(test)]
mod tests;
