//! `_cat/indices` of target clusters for the control plane's validation, with the
//! deployment's authentication.

use async_trait::async_trait;
use backfill_core::control::ports::{IndexRow, TargetClusters};

use crate::{Auth, OpenSearchTarget, TargetConfig};

/// Reaches any target endpoint with one authentication (that of the deployment's target).
#[derive(Debug, Clone)]
pub struct OpenSearchClusters {
    pub auth: Auth,
    pub insecure_skip_verify: bool,
}

impl OpenSearchClusters {
    pub fn new(auth: Auth) -> Self {
        OpenSearchClusters {
            auth,
            insecure_skip_verify: false,
        }
    }
}

#[async_trait]
impl TargetClusters for OpenSearchClusters {
    async fn indices(&self, endpoint: &str, refresh: bool) -> Result<Vec<IndexRow>, String> {
        let client = OpenSearchTarget::new(TargetConfig {
            auth: self.auth.clone(),
            insecure_skip_verify: self.insecure_skip_verify,
            ..TargetConfig::new(endpoint)
        })
        .map_err(|e| e.to_string())?;
        if refresh {
            client
                .refresh()
                .await
                .map_err(|e| format!("_refresh: {e}"))?;
        }
        client.cat_indices().await.map_err(|e| e.to_string())
    }
}
