//! `_cat/indices` of target clusters for the control plane's validation, with the
//! deployment's authentication.

use async_trait::async_trait;
use backfill_core::control::ports::{ErrorKind, IndexRow, PortError, TargetClusters};

use std::sync::Arc;

use crate::{AuthSource, OpenSearchTarget, TargetConfig};

/// Reaches any target endpoint with one authentication (that of the deployment's target),
/// resolved on the first call (a secret is fetched then, once).
#[derive(Debug, Clone)]
pub struct OpenSearchClusters {
    pub auth: Arc<AuthSource>,
    pub insecure_skip_verify: bool,
}

impl OpenSearchClusters {
    pub fn new(auth: impl Into<AuthSource>) -> Self {
        OpenSearchClusters {
            auth: Arc::new(auth.into()),
            insecure_skip_verify: false,
        }
    }
}

#[async_trait]
impl TargetClusters for OpenSearchClusters {
    async fn indices(&self, endpoint: &str, refresh: bool) -> Result<Vec<IndexRow>, PortError> {
        let client = self.client(endpoint).await?;
        if refresh {
            client
                .refresh()
                .await
                .map_err(|e| PortError::from(e).context("_refresh"))?;
        }
        Ok(client.cat_indices().await?)
    }

    async fn count(&self, endpoint: &str, index: &str) -> Result<u64, PortError> {
        Ok(self.client(endpoint).await?.count(index).await?)
    }
}

impl OpenSearchClusters {
    async fn client(&self, endpoint: &str) -> Result<OpenSearchTarget, PortError> {
        OpenSearchTarget::new(TargetConfig {
            auth: self
                .auth
                .get()
                .await
                .map_err(|e| PortError::new(ErrorKind::Failed, e.to_string()))?,
            insecure_skip_verify: self.insecure_skip_verify,
            ..TargetConfig::new(endpoint)
        })
        .map_err(|e| PortError::invalid(e.to_string()))
    }
}
