//! The API activity log behind `GET /v1/activity`: newest first, bounded.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};
use http::Method;
use onepassword_connect::model::{
    ActivityAction, ActivityActor, ActivityEntry, ActivityResource, ActivityResult, ItemRef,
    ResourceType, VaultRef,
};

/// Number of entries kept.
pub const ACTIVITY_CAPACITY: usize = 10_000;

/// Account id shown in activity actors.
pub const MOCK_ACCOUNT_ID: &str = "MOCKACCOUNTAAAAAAAAAAAAAAA";

/// The version of the item a response is about, attached to responses as an extension so the
/// activity log can show `itemVersion`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemVersion(pub u64);

/// What the edge knows about one `/v1` request.
#[derive(Debug, Clone)]
pub struct RequestFacts<'a> {
    /// Method.
    pub method: &'a Method,
    /// Normalised path.
    pub path: &'a str,
    /// Answered status.
    pub status: u16,
    /// Token id (never the token).
    pub token_id: &'a str,
    /// User-Agent header.
    pub user_agent: &'a str,
    /// Peer address.
    pub request_ip: IpAddr,
    /// Item version from the response, if any.
    pub item_version: Option<u64>,
}

/// A request as recorded on the hot path; turned into an [`ActivityEntry`] only when read.
#[derive(Debug)]
struct Recorded {
    request_id: u128,
    at: DateTime<Utc>,
    method: Method,
    path: Box<str>,
    status: u16,
    token_id: Box<str>,
    user_agent: Box<str>,
    ip: IpAddr,
    item_version: Option<u64>,
}

impl Recorded {
    fn to_entry(&self) -> ActivityEntry {
        let segments: Vec<&str> = self.path.split('/').filter(|s| !s.is_empty()).collect();
        let action = match self.method {
            Method::POST => ActivityAction::Create,
            Method::PUT | Method::PATCH => ActivityAction::Update,
            Method::DELETE => ActivityAction::Delete,
            _ => ActivityAction::Read,
        };
        let item = segments.get(4).map(|id| ItemRef {
            id: (*id).to_owned(),
        });
        let resource = ActivityResource {
            resource_type: Some(if item.is_some() {
                ResourceType::Item
            } else {
                ResourceType::Vault
            }),
            vault: segments.get(2).map(|id| VaultRef::new(*id)),
            item,
            item_version: self.item_version,
        };
        ActivityEntry {
            request_id: uuid_v4(self.request_id),
            timestamp: Some(self.at),
            action: Some(action),
            result: Some(if self.status < 400 {
                ActivityResult::Success
            } else {
                ActivityResult::Deny
            }),
            actor: Some(ActivityActor {
                id: self.token_id.to_string(),
                account: MOCK_ACCOUNT_ID.to_owned(),
                jti: self.token_id.to_string(),
                user_agent: self.user_agent.to_string(),
                request_ip: self.ip.to_string(),
            }),
            resource: Some(resource),
        }
    }
}

/// A bounded activity log.
#[derive(Debug, Default)]
pub struct ActivityLog {
    entries: Mutex<VecDeque<Recorded>>,
}

impl ActivityLog {
    /// Records a request about vaults or items; other paths are ignored.
    pub fn record(&self, facts: &RequestFacts<'_>) {
        if facts.path != "/v1/vaults" && !facts.path.starts_with("/v1/vaults/") {
            return;
        }
        let recorded = Recorded {
            request_id: rand::random(),
            at: crate::item_rules::now(),
            method: facts.method.clone(),
            path: facts.path.into(),
            status: facts.status,
            token_id: facts.token_id.into(),
            user_agent: facts.user_agent.into(),
            ip: facts.request_ip,
            item_version: facts.item_version,
        };
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() == ACTIVITY_CAPACITY {
            entries.pop_back();
        }
        entries.push_front(recorded);
    }

    /// A page, newest first, and the total number of entries.
    pub fn page(&self, offset: usize, limit: usize) -> (Vec<ActivityEntry>, usize) {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let page = entries
            .iter()
            .skip(offset)
            .take(limit)
            .map(Recorded::to_entry)
            .collect();
        (page, entries.len())
    }
}

fn uuid_v4(random: u128) -> String {
    let mut bytes = random.to_be_bytes();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(method: &'a Method, path: &'a str, status: u16) -> RequestFacts<'a> {
        RequestFacts {
            method,
            path,
            status,
            token_id: "tok",
            user_agent: "ua",
            request_ip: IpAddr::from([127, 0, 0, 1]),
            item_version: None,
        }
    }

    #[test]
    fn records_vault_and_item_requests_newest_first() {
        let log = ActivityLog::default();
        log.record(&facts(&Method::GET, "/v1/vaults", 200));
        log.record(&facts(&Method::DELETE, "/v1/vaults/v/items/i", 204));
        log.record(&facts(&Method::GET, "/health", 200));
        log.record(&facts(&Method::GET, "/v1/vaults/v", 403));
        let (page, total) = log.page(0, 50);
        assert_eq!(total, 3);
        assert_eq!(page[0].result, Some(ActivityResult::Deny));
        assert_eq!(page[1].action, Some(ActivityAction::Delete));
        assert_eq!(
            page[1].resource.as_ref().unwrap().item.as_ref().unwrap().id,
            "i"
        );
        assert_eq!(page[0].request_id.len(), 36);
        assert_eq!(log.page(2, 5).0.len(), 1);
    }
}
