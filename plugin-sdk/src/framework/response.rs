//! The response a handler returns.

use serde_json::{Map, Value};

use crate::transport::proto::pb;

/// A successful answer: a JSON object and warnings.
///
/// Handlers return `Ok(None)` for "nothing here": OpenBao turns it into 404 for read/list and
/// 204 for writes and deletes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Response {
    /// The `data` object of the API response; `None` sends JSON `null`.
    pub data: Option<Map<String, Value>>,
    /// Top-level `warnings` of the API response.
    pub warnings: Vec<String>,
}

impl Response {
    /// A response carrying `data`.
    pub fn with_data(data: Map<String, Value>) -> Self {
        Self {
            data: Some(data),
            warnings: Vec::new(),
        }
    }

    /// A `list` response: `{"keys": [...]}`. An empty list reads as 404 in OpenBao.
    pub fn list<I, K>(keys: I) -> Self
    where
        I: IntoIterator<Item = K>,
        K: Into<String>,
    {
        let keys: Vec<Value> = keys.into_iter().map(|k| Value::String(k.into())).collect();
        let mut data = Map::with_capacity(1);
        data.insert("keys".into(), Value::Array(keys));
        Self::with_data(data)
    }

    /// Adds a warning.
    #[must_use]
    pub fn warning(mut self, text: impl Into<String>) -> Self {
        self.warnings.push(text.into());
        self
    }

    pub(crate) fn into_proto(self) -> pb::Response {
        let data = match self.data {
            // Serialising a map of JSON values cannot fail.
            Some(map) => serde_json::to_string(&map).unwrap_or_else(|_| "null".into()),
            None => "null".into(),
        };
        pb::Response {
            data,
            warnings: self.warnings,
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn data_is_always_an_object_or_null() {
        assert_eq!(Response::default().into_proto().data, "null");
        let list = Response::list(["a", "b/"]).warning("w").into_proto();
        assert_eq!(list.data, r#"{"keys":["a","b/"]}"#);
        assert_eq!(list.warnings, ["w"]);
        let Value::Object(map) = json!({"x": 1}) else {
            unreachable!()
        };
        assert_eq!(Response::with_data(map).into_proto().data, r#"{"x":1}"#);
    }
}
