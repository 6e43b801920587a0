//! Small helpers for building responses and reading requests.

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::StatusCode;
use http::header::{CONTENT_TYPE, HeaderValue};

/// Version of Connect the mock imitates, sent as `1Password-Connect-Version` on every response
/// (the Go SDK's file functions refuse servers without it) and reported by `/health`.
pub const CONNECT_VERSION: &str = "1.8.1";

/// Name of the version header.
pub const VERSION_HEADER: &str = "1password-connect-version";

/// A response with a JSON body that is already serialised.
pub fn json_response(status: StatusCode, body: Bytes) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Serialises `value` into a 200 JSON response.
pub fn json_ok<T: serde::Serialize>(value: &T) -> Response {
    json_response(
        StatusCode::OK,
        serde_json::to_vec(value).unwrap_or_default().into(),
    )
}

/// A JSON array from already-serialised elements.
pub fn json_array<'a>(elements: impl IntoIterator<Item = &'a Bytes>) -> Bytes {
    let mut out = Vec::with_capacity(256);
    out.push(b'[');
    for (index, element) in elements.into_iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        out.extend_from_slice(element);
    }
    out.push(b']');
    out.into()
}

/// Collapses doubled slashes and drops a trailing slash (`//v1/vaults/` → `/v1/vaults`); `None`
/// when the path is already normal, which is the common case.
pub fn normalize_path(path: &str) -> Option<String> {
    let needs = path.contains("//") || (path.len() > 1 && path.ends_with('/'));
    if !needs {
        return None;
    }
    let mut out = String::with_capacity(path.len());
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        out.push('/');
        out.push_str(segment);
    }
    if out.is_empty() {
        out.push('/');
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalised() {
        assert_eq!(normalize_path("/v1/vaults"), None);
        assert_eq!(normalize_path("/"), None);
        assert_eq!(normalize_path("/v1/vaults/").as_deref(), Some("/v1/vaults"));
        assert_eq!(normalize_path("//v1/vaults").as_deref(), Some("/v1/vaults"));
        assert_eq!(normalize_path("//").as_deref(), Some("/"));
    }

    #[test]
    fn arrays_join() {
        let parts = [Bytes::from_static(b"1"), Bytes::from_static(b"{}")];
        assert_eq!(&json_array(&parts)[..], b"[1,{}]");
        assert_eq!(&json_array(&[])[..], b"[]");
    }
}
