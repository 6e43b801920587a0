//! The request a handler receives.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use super::field::{Field, FieldValue};
use crate::storage::Storage;

/// What the client asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// HTTP GET.
    Read,
    /// HTTP LIST or GET with `?list=true`.
    List,
    /// PUT/POST on something the existence check reported absent.
    Create,
    /// PUT/POST (on something that exists, or without an existence check).
    Update,
    /// HTTP PATCH.
    Patch,
    /// HTTP DELETE.
    Delete,
    /// `?help=1`.
    Help,
    /// Periodic rollback by the host.
    Rollback,
    /// Canonical-path lookup before every request (OpenBao 2.7+).
    ResolvePath,
    /// Lease renewal.
    Renew,
    /// Lease revocation.
    Revoke,
    /// Anything else the host may send.
    Other,
}

impl Operation {
    /// Parses the wire name (`read`, `update`, `resolve-path` …).
    pub fn from_wire(name: &str) -> Self {
        match name {
            "read" => Self::Read,
            "list" => Self::List,
            "create" => Self::Create,
            "update" => Self::Update,
            "patch" => Self::Patch,
            "delete" => Self::Delete,
            "help" => Self::Help,
            "rollback" => Self::Rollback,
            "resolve-path" => Self::ResolvePath,
            "renew" => Self::Renew,
            "revoke" => Self::Revoke,
            _ => Self::Other,
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::List => "list",
            Self::Create => "create",
            Self::Update => "update",
            Self::Patch => "patch",
            Self::Delete => "delete",
            Self::Help => "help",
            Self::Rollback => "rollback",
            Self::ResolvePath => "resolve-path",
            Self::Renew => "renew",
            Self::Revoke => "revoke",
            Self::Other => "other",
        }
    }

    /// Whether the operation writes (create, update, patch).
    pub fn is_write(self) -> bool {
        matches!(self, Self::Create | Self::Update | Self::Patch)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request routed to a handler: the raw body, the route's decoded fields and metadata.
pub struct Request {
    /// The operation.
    pub operation: Operation,
    /// Path relative to the mount (`kv/foo`; the mount root is `""`).
    pub path: String,
    /// The raw request body (an empty map when there was none).
    pub data: Map<String, Value>,
    /// Request id from the host (empty for `resolve-path`).
    pub id: String,
    /// The mount's path, e.g. `op/`.
    pub mount_point: String,
    /// The mount's type (the plugin's registered name).
    pub mount_type: String,
    /// Display name of the caller's token.
    pub display_name: String,
    /// Identity entity of the caller, if any.
    pub entity_id: String,
    /// True when the path is listed as unauthenticated and no token was used.
    pub unauthenticated: bool,
    /// Headers the mount is configured to pass through, by lower-case name.
    pub headers: HashMap<String, Vec<String>>,
    pub(crate) fields: Arc<[Field]>,
    pub(crate) values: Vec<Option<FieldValue>>,
    pub(crate) supplied: Vec<bool>,
    pub(crate) storage: Arc<dyn Storage>,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("operation", &self.operation)
            .field("path", &self.path)
            .field("id", &self.id)
            .field("mount_point", &self.mount_point)
            .finish_non_exhaustive()
    }
}

/// The shared empty field list, so building a request does not allocate one.
fn no_fields() -> Arc<[Field]> {
    static EMPTY: std::sync::OnceLock<Arc<[Field]>> = std::sync::OnceLock::new();
    EMPTY.get_or_init(|| Arc::from(Vec::new())).clone()
}

impl Request {
    /// A request for unit tests of handlers: fields are decoded by [`crate::Backend::handle`],
    /// so normally build it through that.
    pub fn new(
        operation: Operation,
        path: impl Into<String>,
        data: Map<String, Value>,
        storage: Arc<dyn Storage>,
    ) -> Self {
        Self {
            operation,
            path: path.into(),
            data,
            id: String::new(),
            mount_point: String::new(),
            mount_type: String::new(),
            display_name: String::new(),
            entity_id: String::new(),
            unauthenticated: false,
            headers: HashMap::new(),
            fields: no_fields(),
            values: Vec::new(),
            supplied: Vec::new(),
            storage,
        }
    }

    /// The mount's storage.
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    /// The decoded value of a declared field (from the path captures, else the body, else the
    /// field's default); `None` when absent without default or when the field is not declared.
    pub fn get(&self, name: &str) -> Option<&FieldValue> {
        let index = self.fields.iter().position(|f| f.name == name)?;
        self.values.get(index)?.as_ref()
    }

    /// Whether the request itself carried the field (captures or body; defaults don't count).
    pub fn has(&self, name: &str) -> bool {
        self.data.contains_key(name)
            || self
                .fields
                .iter()
                .position(|f| f.name == name)
                .and_then(|i| self.supplied.get(i).copied())
                .unwrap_or(false)
    }

    /// A string field.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        match self.get(name)? {
            FieldValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// An int field.
    pub fn get_int(&self, name: &str) -> Option<i64> {
        match self.get(name)? {
            FieldValue::Int(v) => Some(*v),
            _ => None,
        }
    }

    /// A bool field.
    pub fn get_bool(&self, name: &str) -> Option<bool> {
        match self.get(name)? {
            FieldValue::Bool(v) => Some(*v),
            _ => None,
        }
    }

    /// A duration field.
    pub fn get_duration(&self, name: &str) -> Option<Duration> {
        match self.get(name)? {
            FieldValue::Duration(v) => Some(*v),
            _ => None,
        }
    }

    /// A map field.
    pub fn get_map(&self, name: &str) -> Option<&Map<String, Value>> {
        match self.get(name)? {
            FieldValue::Map(v) => Some(v),
            _ => None,
        }
    }

    /// A string-slice field.
    pub fn get_strings(&self, name: &str) -> Option<&[String]> {
        match self.get(name)? {
            FieldValue::StringSlice(v) => Some(v),
            _ => None,
        }
    }

    /// An object-list field.
    pub fn get_objects(&self, name: &str) -> Option<&[Map<String, Value>]> {
        match self.get(name)? {
            FieldValue::ObjectList(v) => Some(v),
            _ => None,
        }
    }

    /// A raw JSON field.
    pub fn get_json(&self, name: &str) -> Option<&Value> {
        match self.get(name)? {
            FieldValue::Json(v) => Some(v),
            _ => None,
        }
    }
}
