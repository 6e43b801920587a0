//! Mount storage: the [`Storage`] trait, the host-backed gRPC implementation and an in-memory
//! one for unit tests.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tonic::transport::Channel;

use crate::transport::proto::pb;
use crate::transport::proto::pb::storage_client::StorageClient;

/// How long one storage call may take before it fails.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// One stored value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StorageEntry {
    /// Key relative to the mount's storage view.
    pub key: String,
    /// Raw bytes.
    pub value: Vec<u8>,
    /// Ask the host to seal-wrap the value (where supported).
    pub seal_wrap: bool,
}

impl StorageEntry {
    /// An entry holding `value` serialised as JSON.
    pub fn json<T: Serialize + ?Sized>(
        key: impl Into<String>,
        value: &T,
    ) -> Result<Self, StorageError> {
        Ok(Self {
            key: key.into(),
            value: serde_json::to_vec(value).map_err(|e| StorageError::Codec(e.to_string()))?,
            seal_wrap: false,
        })
    }

    /// Decodes the value as JSON.
    pub fn decode_json<T: DeserializeOwned>(&self) -> Result<T, StorageError> {
        serde_json::from_slice(&self.value).map_err(|e| StorageError::Codec(e.to_string()))
    }
}

/// A storage failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// The host refused the call; the text is the host's, unchanged (the host matches some
    /// texts, e.g. `cannot write to readonly storage`).
    #[error("{0}")]
    Backend(String),
    /// The call could not reach the host.
    #[error("storage call failed: {0}")]
    Transport(String),
    /// The host did not answer in time.
    #[error("storage call timed out")]
    Timeout,
    /// A value could not be (de)serialised.
    #[error("invalid stored value: {0}")]
    Codec(String),
}

/// A mount's storage view: keys are relative to the mount.
#[async_trait]
pub trait Storage: Send + Sync + 'static {
    /// The entry at `key`, or `None` when absent.
    async fn get(&self, key: &str) -> Result<Option<StorageEntry>, StorageError>;
    /// Writes (creates or replaces) an entry.
    async fn put(&self, entry: StorageEntry) -> Result<(), StorageError>;
    /// Deletes `key`; deleting an absent key succeeds.
    async fn delete(&self, key: &str) -> Result<(), StorageError>;
    /// Direct children of `prefix`, sorted; sub-folders end in `/`.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StorageError>;
}

/// JSON convenience on top of any [`Storage`].
#[async_trait]
pub trait StorageExt: Storage {
    /// Reads and decodes a JSON value.
    async fn get_json<T: DeserializeOwned + Send>(
        &self,
        key: &str,
    ) -> Result<Option<T>, StorageError> {
        match self.get(key).await? {
            Some(entry) => entry.decode_json().map(Some),
            None => Ok(None),
        }
    }

    /// Encodes and writes a JSON value.
    async fn put_json<T: Serialize + Sync + ?Sized>(
        &self,
        key: &str,
        value: &T,
    ) -> Result<(), StorageError> {
        self.put(StorageEntry::json(key, value)?).await
    }
}

impl<S: Storage + ?Sized> StorageExt for S {}

/// Storage served by the host over the broker connection.
#[derive(Debug, Clone)]
pub struct GrpcStorage {
    client: StorageClient<Channel>,
}

impl GrpcStorage {
    pub(crate) fn new(channel: Channel) -> Self {
        Self {
            client: StorageClient::new(channel)
                .max_decoding_message_size(crate::transport::MAX_MESSAGE_SIZE)
                .max_encoding_message_size(crate::transport::MAX_MESSAGE_SIZE),
        }
    }
}

async fn call<T>(
    fut: impl std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
) -> Result<T, StorageError> {
    match tokio::time::timeout(CALL_TIMEOUT, fut).await {
        Err(_) => Err(StorageError::Timeout),
        // The host reports some refusals (e.g. no storage during registration) as gRPC errors.
        Ok(Err(status)) if status.code() == tonic::Code::Unknown => {
            Err(StorageError::Backend(status.message().to_owned()))
        }
        Ok(Err(status)) => Err(StorageError::Transport(status.message().to_owned())),
        Ok(Ok(reply)) => Ok(reply.into_inner()),
    }
}

fn host_err(err: String) -> Result<(), StorageError> {
    if err.is_empty() {
        Ok(())
    } else {
        Err(StorageError::Backend(err))
    }
}

#[async_trait]
impl Storage for GrpcStorage {
    async fn get(&self, key: &str) -> Result<Option<StorageEntry>, StorageError> {
        let mut client = self.client.clone();
        let reply = call(client.get(pb::StorageGetArgs {
            key: key.to_owned(),
        }))
        .await?;
        host_err(reply.err)?;
        Ok(reply.entry.map(|e| StorageEntry {
            key: e.key,
            value: e.value,
            seal_wrap: e.seal_wrap,
        }))
    }

    async fn put(&self, entry: StorageEntry) -> Result<(), StorageError> {
        let mut client = self.client.clone();
        let args = pb::StoragePutArgs {
            entry: Some(pb::StorageEntry {
                key: entry.key,
                value: entry.value,
                seal_wrap: entry.seal_wrap,
            }),
        };
        host_err(call(client.put(args)).await?.err)
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        let mut client = self.client.clone();
        let args = pb::StorageDeleteArgs {
            key: key.to_owned(),
        };
        host_err(call(client.delete(args)).await?.err)
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        let mut client = self.client.clone();
        let args = pb::StorageListArgs {
            prefix: prefix.to_owned(),
        };
        let reply = call(client.list(args)).await?;
        host_err(reply.err)?;
        Ok(reply.keys)
    }
}

/// In-process storage for unit tests, with the host's list semantics.
#[derive(Debug, Clone, Default)]
pub struct InMemoryStorage {
    entries: Arc<RwLock<BTreeMap<String, StorageEntry>>>,
}

impl InMemoryStorage {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, StorageEntry>> {
        self.entries
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, StorageEntry>> {
        self.entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl Storage for InMemoryStorage {
    async fn get(&self, key: &str) -> Result<Option<StorageEntry>, StorageError> {
        Ok(self.read().get(key).cloned())
    }

    async fn put(&self, entry: StorageEntry) -> Result<(), StorageError> {
        self.write().insert(entry.key.clone(), entry);
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        self.write().remove(key);
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StorageError> {
        let entries = self.read();
        let mut keys: Vec<String> = Vec::new();
        for key in entries.keys() {
            let Some(rest) = key.strip_prefix(prefix) else {
                if key.as_str() > prefix {
                    break;
                }
                continue;
            };
            let child = match rest.find('/') {
                Some(slash) => &rest[..=slash],
                None => rest,
            };
            if keys.last().map(String::as_str) != Some(child) {
                keys.push(child.to_owned());
            }
        }
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn in_memory_round_trip_and_list() {
        let store = InMemoryStorage::new();
        assert_eq!(store.get("a").await.unwrap(), None);
        for key in ["a", "b/c", "b/d/e", "b/d/f", "c"] {
            store.put_json(key, &key).await.unwrap();
        }
        assert_eq!(
            store.get_json::<String>("b/c").await.unwrap().as_deref(),
            Some("b/c")
        );
        assert_eq!(store.list("").await.unwrap(), ["a", "b/", "c"]);
        assert_eq!(store.list("b/").await.unwrap(), ["c", "d/"]);
        assert_eq!(store.list("b/d/").await.unwrap(), ["e", "f"]);
        assert!(store.list("zzz/").await.unwrap().is_empty());
        store.delete("b/c").await.unwrap();
        store.delete("missing").await.unwrap();
        assert_eq!(store.list("b/").await.unwrap(), ["d/"]);
        assert_eq!(store.get("b/c").await.unwrap(), None);
    }

    #[tokio::test]
    async fn codec_errors_are_reported() {
        let store = InMemoryStorage::new();
        store
            .put(StorageEntry {
                key: "k".into(),
                value: b"not json".to_vec(),
                seal_wrap: false,
            })
            .await
            .unwrap();
        assert!(matches!(
            store.get_json::<u32>("k").await,
            Err(StorageError::Codec(_))
        ));
    }
}
