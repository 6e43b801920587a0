//! PATCH bodies: Connect's modified RFC 6902 JSON Patch (fields addressed by id, not index).

use serde::{Deserialize, Serialize};

use super::PatchOperation;

/// One patch operation; a PATCH body is a JSON array of these (`Vec<PatchOp>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchOp {
    /// `add`, `remove` or `replace`.
    pub op: PatchOperation,
    /// JSON pointer: `/`, `/title`, `/tags/1`, `/fields`, `/fields/{fieldId}`,
    /// `/fields/{fieldId}/{attr}`, …
    pub path: String,
    /// New value (absent for `remove`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
}

impl PatchOp {
    /// `add` `value` at `path`.
    pub fn add(path: impl Into<String>, value: serde_json::Value) -> Self {
        Self {
            op: PatchOperation::Add,
            path: path.into(),
            value: Some(value),
        }
    }

    /// `replace` the value at `path` with `value`.
    pub fn replace(path: impl Into<String>, value: serde_json::Value) -> Self {
        Self {
            op: PatchOperation::Replace,
            path: path.into(),
            value: Some(value),
        }
    }

    /// `remove` the value at `path`.
    pub fn remove(path: impl Into<String>) -> Self {
        Self {
            op: PatchOperation::Remove,
            path: path.into(),
            value: None,
        }
    }
}
