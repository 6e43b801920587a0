//! Questions a mount asks the host about its environment.

use std::time::Duration;

use async_trait::async_trait;
use tonic::transport::Channel;

use crate::transport::proto::pb;
use crate::transport::proto::pb::system_view_client::SystemViewClient;

/// How long one system-view call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// A failed system-view call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SystemViewError {
    /// The host answered with an error (its text, unchanged).
    #[error("{0}")]
    Host(String),
    /// The host could not be reached or did not answer in time.
    #[error("system view call failed: {0}")]
    Transport(String),
}

/// Version information about the host server.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PluginEnvironment {
    /// Server version, e.g. `2.7.2`.
    pub vault_version: String,
    /// Pre-release part of the version, if any.
    pub vault_version_prerelease: String,
    /// Build metadata of the version, if any.
    pub vault_version_metadata: String,
}

/// The host's view of the system, scoped to one mount.
#[async_trait]
pub trait SystemView: Send + Sync + 'static {
    /// The mount's default lease TTL.
    async fn default_lease_ttl(&self) -> Result<Duration, SystemViewError>;
    /// The mount's maximum lease TTL.
    async fn max_lease_ttl(&self) -> Result<Duration, SystemViewError>;
    /// Whether the mount is being unmounted.
    async fn tainted(&self) -> Result<bool, SystemViewError>;
    /// Whether caching is disabled server-wide.
    async fn caching_disabled(&self) -> Result<bool, SystemViewError>;
    /// The replication state bit set.
    async fn replication_state(&self) -> Result<i32, SystemViewError>;
    /// Whether the mount is local (not replicated).
    async fn local_mount(&self) -> Result<bool, SystemViewError>;
    /// Server version information.
    async fn plugin_env(&self) -> Result<PluginEnvironment, SystemViewError>;
}

/// The system view served by the host over the broker connection.
#[derive(Debug, Clone)]
pub struct GrpcSystemView {
    client: SystemViewClient<Channel>,
}

impl GrpcSystemView {
    pub(crate) fn new(channel: Channel) -> Self {
        Self {
            client: SystemViewClient::new(channel),
        }
    }
}

async fn call<T>(
    fut: impl std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
) -> Result<T, SystemViewError> {
    match tokio::time::timeout(CALL_TIMEOUT, fut).await {
        Err(_) => Err(SystemViewError::Transport("timed out".into())),
        Ok(Err(status)) => Err(SystemViewError::Transport(status.message().to_owned())),
        Ok(Ok(reply)) => Ok(reply.into_inner()),
    }
}

/// Go `time.Duration` nanoseconds (never negative in practice) to a [`Duration`].
fn nanos(ttl: i64) -> Duration {
    Duration::from_nanos(u64::try_from(ttl).unwrap_or(0))
}

#[async_trait]
impl SystemView for GrpcSystemView {
    async fn default_lease_ttl(&self) -> Result<Duration, SystemViewError> {
        let mut c = self.client.clone();
        Ok(nanos(call(c.default_lease_ttl(pb::Empty {})).await?.ttl))
    }

    async fn max_lease_ttl(&self) -> Result<Duration, SystemViewError> {
        let mut c = self.client.clone();
        Ok(nanos(call(c.max_lease_ttl(pb::Empty {})).await?.ttl))
    }

    async fn tainted(&self) -> Result<bool, SystemViewError> {
        let mut c = self.client.clone();
        Ok(call(c.tainted(pb::Empty {})).await?.tainted)
    }

    async fn caching_disabled(&self) -> Result<bool, SystemViewError> {
        let mut c = self.client.clone();
        Ok(call(c.caching_disabled(pb::Empty {})).await?.disabled)
    }

    async fn replication_state(&self) -> Result<i32, SystemViewError> {
        let mut c = self.client.clone();
        Ok(call(c.replication_state(pb::Empty {})).await?.state)
    }

    async fn local_mount(&self) -> Result<bool, SystemViewError> {
        let mut c = self.client.clone();
        Ok(call(c.local_mount(pb::Empty {})).await?.local)
    }

    async fn plugin_env(&self) -> Result<PluginEnvironment, SystemViewError> {
        let mut c = self.client.clone();
        let reply = call(c.plugin_env(pb::Empty {})).await?;
        if !reply.err.is_empty() {
            return Err(SystemViewError::Host(reply.err));
        }
        let env = reply.plugin_environment.unwrap_or_default();
        Ok(PluginEnvironment {
            vault_version: env.vault_version,
            vault_version_prerelease: env.vault_version_prerelease,
            vault_version_metadata: env.vault_version_metadata,
        })
    }
}

/// Fixed answers, for unit tests of engines.
#[derive(Debug, Clone, Default)]
pub struct StaticSystemView {
    /// Answer of [`SystemView::default_lease_ttl`].
    pub default_lease_ttl: Duration,
    /// Answer of [`SystemView::max_lease_ttl`].
    pub max_lease_ttl: Duration,
    /// Answer of [`SystemView::plugin_env`].
    pub plugin_env: PluginEnvironment,
}

#[async_trait]
impl SystemView for StaticSystemView {
    async fn default_lease_ttl(&self) -> Result<Duration, SystemViewError> {
        Ok(self.default_lease_ttl)
    }
    async fn max_lease_ttl(&self) -> Result<Duration, SystemViewError> {
        Ok(self.max_lease_ttl)
    }
    async fn tainted(&self) -> Result<bool, SystemViewError> {
        Ok(false)
    }
    async fn caching_disabled(&self) -> Result<bool, SystemViewError> {
        Ok(false)
    }
    async fn replication_state(&self) -> Result<i32, SystemViewError> {
        Ok(0)
    }
    async fn local_mount(&self) -> Result<bool, SystemViewError> {
        Ok(false)
    }
    async fn plugin_env(&self) -> Result<PluginEnvironment, SystemViewError> {
        Ok(self.plugin_env.clone())
    }
}
