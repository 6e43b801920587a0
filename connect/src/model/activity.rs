//! API activity entries (`GET /v1/activity`, schema `APIRequest`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::lenient;
use super::{ActivityAction, ActivityResult, ResourceType, VaultRef};

/// One request the server recorded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityEntry {
    /// Request id (a UUID); the docs spell it `requestID`, also accepted.
    #[serde(
        default,
        alias = "requestID",
        deserialize_with = "lenient::null_as_default"
    )]
    pub request_id: String,
    /// When the request was processed.
    #[serde(
        default,
        deserialize_with = "lenient::timestamp",
        skip_serializing_if = "Option::is_none"
    )]
    pub timestamp: Option<DateTime<Utc>>,
    /// What was done.
    #[serde(
        default,
        deserialize_with = "lenient::empty_as_none",
        skip_serializing_if = "lenient::is_unset"
    )]
    pub action: Option<ActivityAction>,
    /// Whether it was allowed.
    #[serde(
        default,
        deserialize_with = "lenient::empty_as_none",
        skip_serializing_if = "lenient::is_unset"
    )]
    pub result: Option<ActivityResult>,
    /// Who made the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<ActivityActor>,
    /// What was accessed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<ActivityResource>,
}

/// The token and client behind an [`ActivityEntry`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityActor {
    /// Actor id.
    #[serde(default, deserialize_with = "lenient::null_as_default")]
    pub id: String,
    /// Account id.
    #[serde(default, deserialize_with = "lenient::null_as_default")]
    pub account: String,
    /// Token id (`jti` claim); never the token itself.
    #[serde(default, deserialize_with = "lenient::null_as_default")]
    pub jti: String,
    /// Client's User-Agent.
    #[serde(default, deserialize_with = "lenient::null_as_default")]
    pub user_agent: String,
    /// Client address; the docs spell it `ip`, also accepted.
    #[serde(default, alias = "ip", deserialize_with = "lenient::null_as_default")]
    pub request_ip: String,
}

/// The resource an [`ActivityEntry`] touched.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityResource {
    /// `ITEM` or `VAULT`.
    #[serde(
        rename = "type",
        default,
        deserialize_with = "lenient::empty_as_none",
        skip_serializing_if = "lenient::is_unset"
    )]
    pub resource_type: Option<ResourceType>,
    /// The vault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault: Option<VaultRef>,
    /// The item, for item resources (`{"id": …}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<ItemRef>,
    /// The item's version, for item resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_version: Option<u64>,
}

/// The `{"id": …}` reference to an item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ItemRef {
    /// 26-character item id.
    #[serde(default, deserialize_with = "lenient::null_as_default")]
    pub id: String,
}
