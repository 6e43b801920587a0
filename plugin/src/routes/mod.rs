//! One module per route family; each exposes the `Path`s it serves.

pub mod config;
pub mod fields;
pub mod files;
pub mod health;
pub mod items;
pub mod vaults;

use std::sync::Arc;

use serde_json::{Map, Value};
use vault_plugin_sdk::{Error, Request, Response};

use crate::engine::{Engine, Live};
use crate::render::object;

/// A path segment for a vault, item, field or file: anything but `/` (spaces included; clients
/// send them URL-encoded and the server decodes them before routing).
pub(crate) fn segment(name: &str) -> String {
    format!("(?P<{name}>[^/]+)")
}

/// A path segment for a vault or item: a name, an id, or `<name>/<id>` (the canonical spelling
/// of an object whose name is shared, see [`crate::canonical`]).
pub(crate) fn object_segment(name: &str) -> String {
    format!("(?P<{name}>[^/]+(?:/[a-z0-9]{{26}})?)")
}

/// The live state for a request.
pub(crate) async fn live(req: &Request, engine: &Arc<Engine>) -> Result<Arc<Live>, Error> {
    engine.live(req.storage().as_ref()).await
}

/// A captured path segment (always present when the route matched).
pub(crate) fn captured<'r>(req: &'r Request, name: &str) -> Result<&'r str, Error> {
    req.get_str(name)
        .ok_or_else(|| Error::internal(format!("route without the {name:?} capture")))
}

/// The warnings the reference's framework adds to write responses: body keys the route does not
/// know, and body keys overridden by path captures.
pub(crate) fn param_warnings(
    body: &Map<String, Value>,
    known: &[&str],
    captures: &[&str],
) -> Vec<String> {
    let mut unknown: Vec<&str> = Vec::new();
    let mut replaced: Vec<&str> = Vec::new();
    for key in body.keys() {
        if captures.contains(&key.as_str()) {
            replaced.push(key);
        } else if !known.contains(&key.as_str()) {
            unknown.push(key);
        }
    }
    unknown.sort_unstable();
    replaced.sort_unstable();
    let mut warnings = Vec::new();
    if !unknown.is_empty() {
        warnings.push(format!(
            "Endpoint ignored these unrecognized parameters: [{}]",
            unknown.join(" ")
        ));
    }
    if !replaced.is_empty() {
        warnings.push(format!(
            "Endpoint replaced the value of these parameters with the values captured from the endpoint's path: [{}]",
            replaced.join(" ")
        ));
    }
    warnings
}

/// A response with `data` and `warnings`.
pub(crate) fn respond(data: Map<String, Value>, warnings: Vec<String>) -> Response {
    Response {
        data: Some(data),
        warnings,
    }
}

/// A list response with `keys` and `key_info`, in the given order; `None` (404) when empty,
/// as the reference answers.
pub(crate) fn list_response(
    entries: Vec<(String, Value)>,
    warnings: Vec<String>,
) -> Option<Response> {
    if entries.is_empty() {
        return None;
    }
    let mut keys = Vec::with_capacity(entries.len());
    let mut info = Map::with_capacity(entries.len());
    for (key, value) in entries {
        keys.push(Value::String(key.clone()));
        info.insert(key, value);
    }
    Some(respond(
        object([
            ("keys", Value::Array(keys)),
            ("key_info", Value::Object(info)),
        ]),
        warnings,
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn warnings_match_the_references_wording() {
        let Value::Object(body) = json!({"tags": 1, "zeta": 2, "vault": "x", "title": "t"}) else {
            unreachable!()
        };
        let warnings = param_warnings(&body, &["title"], &["vault"]);
        assert_eq!(
            warnings,
            [
                "Endpoint ignored these unrecognized parameters: [tags zeta]",
                "Endpoint replaced the value of these parameters with the values captured from the endpoint's path: [vault]",
            ]
        );
    }
}
